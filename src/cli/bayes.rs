//! `bayesrg bayes FILE.toml --out DIR`: dynamical Bayes (eqs. 32–36).
//!
//! Exit status: 0 when every check passes; 1 when a check fails or the
//! computation itself fails on valid input (a step control that does not
//! converge, a NaN that arises: `bayesrg_core::Error::Failed`); 2 on bad input.

use super::Status;
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `bayesrg bayes`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file (TOML; see docs/bayes.md).
    file: PathBuf,
    /// The result folder (CSV, PNG, summary.json).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Whether an error is a failed computation (exit 1) rather than bad input.
fn is_failed_computation(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<bayesrg_core::Error>(),
            Some(bayesrg_core::Error::Failed { .. })
        )
    })
}

pub fn run(args: Args) -> Result<Status> {
    match bayesrg::commands::bayes::run_file(&args.file, args.out.as_deref()) {
        Ok(s) => {
            super::print_checks(&s);
            Ok(Status::from_ok(s.pass))
        }
        Err(e) if is_failed_computation(&e) => {
            eprintln!("error (failed computation): {e:#}");
            Ok(Status::Fail)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_computations_are_told_apart_from_bad_input() {
        let failed = anyhow::Error::new(bayesrg_core::Error::failed("eq. (33)", "NaN"))
            .context("examples/x.toml");
        assert!(is_failed_computation(&failed));
        let bad = anyhow::Error::new(bayesrg_core::Error::setting("t", "is empty"))
            .context("examples/x.toml");
        assert!(!is_failed_computation(&bad));
        assert!(!is_failed_computation(&anyhow::anyhow!("bad input")));
    }
}

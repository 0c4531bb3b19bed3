//! `bayesrg bayes FILE.toml --out DIR`: dynamical Bayes (eqs. 32–36).

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

pub fn run(args: Args) -> Result<Status> {
    let s = crate::commands::bayes::run_file(&args.file, args.out.as_deref())?;
    super::print_checks(&s);
    Ok(Status::from_ok(s.pass))
}

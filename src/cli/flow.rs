//! `bayesrg flow FILE.toml --out DIR`: a DB-RG flow over a τ grid (eqs. 38–45).

use super::Status;
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `bayesrg flow`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file (TOML; see docs/bayes.md).
    file: PathBuf,
    /// The result folder (CSV, PNG, summary.json).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<Status> {
    let s = crate::commands::flow::run_file(&args.file, args.out.as_deref())?;
    super::print_checks(&s);
    Ok(Status::from_ok(s.pass))
}

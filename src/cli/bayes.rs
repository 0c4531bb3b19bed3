//! `bayesrg bayes FILE.toml --out DIR`: dynamical Bayes (eqs. 32–36).

use super::Status;
use anyhow::Result;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Arguments of `bayesrg bayes`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file (TOML; see docs/bayes.md).
    file: PathBuf,
    /// The result folder (CSV, PNG, summary.json).
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<Status> {
    let spec = crate::commands::bayes::load(&args.file)?;
    let progress = !args.quiet && std::io::stderr().is_terminal();
    let origin = args.file.display().to_string();
    let s = crate::commands::bayes::run(&spec, Some(&origin), args.out.as_deref(), progress)?;
    super::print_checks(&s);
    Ok(Status::from_ok(s.pass))
}

//! `bayesrg bayes` (dynamical Bayes, eqs. 32–36) and `bayesrg flow` (a DB-RG
//! flow over a τ grid, eqs. 38–45): a config file in, a result folder out,
//! the checks printed.

use super::Status;
use crate::commands::{self, Command};
use anyhow::Result;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Arguments of `bayesrg bayes` and `bayesrg flow`.
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

/// Runs the command `C` on the config of `args`.
pub fn run<C: Command>(args: Args) -> Result<Status> {
    let spec = commands::load::<C>(&args.file)?;
    let progress = !args.quiet && std::io::stderr().is_terminal();
    let origin = Some(args.file.display().to_string());
    let s = commands::execute::<C>(&spec, origin, args.out.as_deref(), progress)?.summary;
    super::print_checks(&s);
    Ok(Status::from_ok(s.pass))
}

//! Subcommands of the `bayesrg` program, one module each.

use anyhow::Result;
use clap::{Parser, Subcommand};

mod models;

/// How a subcommand ended, when it did not fail on bad input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every check passed (exit status 0).
    Pass,
    /// A check failed (exit status 1).
    Fail,
}

impl Status {
    /// `Pass` if `ok`, else `Fail`.
    pub fn from_ok(ok: bool) -> Self {
        if ok { Status::Pass } else { Status::Fail }
    }
}

/// bayesrg: information geometry and Bayesian renormalization.
#[derive(Debug, Parser)]
#[command(name = "bayesrg", version, about, long_about = None)]
pub struct Cli {
    /// Load a run-time model plugin (a shared library) before running; repeatable.
    /// Loading a plugin runs its code: name only libraries you trust.
    #[arg(long = "plugin", global = true, value_name = "PATH")]
    plugins: Vec<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every registered model type with its parameters.
    Models(models::Args),
}

/// Runs the parsed command line: checks the catalogue for duplicate tags, loads
/// the `--plugin` libraries, runs the subcommand, and reports a fault recorded
/// by a plugin function as an error.
pub fn run(cli: Cli) -> Result<Status> {
    bayesrg::core::registry::models().map_err(anyhow::Error::msg)?;
    bayesrg::plugins::load_all(&cli.plugins)?;
    let result = dispatch(cli.command);
    if let Some(fault) = bayesrg::plugins::take_fault() {
        return Err(anyhow::Error::msg(fault));
    }
    result
}

fn dispatch(command: Command) -> Result<Status> {
    match command {
        Command::Models(a) => models::run(a),
    }
}

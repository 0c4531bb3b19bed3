//! Subcommands of the `bayesrg` program, one module each.

use anyhow::Result;
use clap::{Parser, Subcommand};

mod fisher;
mod models;
mod reproduce;
mod sde;

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
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every registered model type with its parameters.
    Models(models::Args),
    /// Validate a model's Fisher metric at a point θ (config: docs/fisher.md).
    Fisher(fisher::Args),
    /// Run every check of the toolkit against the paper and write a report.
    Reproduce(reproduce::Args),
    /// Simulate an SDE ensemble and check it against its exact law.
    Sde(sde::Args),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<Status> {
    match cli.command {
        Command::Models(a) => models::run(a),
        Command::Fisher(a) => fisher::run(a),
        Command::Reproduce(a) => reproduce::run(a),
        Command::Sde(a) => sde::run(a),
    }
}

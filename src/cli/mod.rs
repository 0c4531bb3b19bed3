//! Subcommands of the `bayesrg` program, one module each.

use anyhow::Result;
use clap::{Parser, Subcommand};

mod models;
mod prune;

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
    /// Coarse-grain a trained MNIST autoencoder by the information shell (eq. 55).
    Prune(prune::Args),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<Status> {
    match cli.command {
        Command::Models(a) => models::run(a),
        Command::Prune(a) => prune::run(a),
    }
}

//! Subcommands of the `bayesrg` program, one module each.

use anyhow::Result;
use clap::{Parser, Subcommand};

mod bayes;
mod diffusion;
mod fisher;
mod geodesic;
mod geometry;
mod models;
pub mod plugin;
mod prune;
mod reproduce;
mod schemes;
mod sde;
mod spectrum;
mod sweep;

/// The config file and the result folder of a command that runs one config
/// and may write its results (`#[command(flatten)]` in its `Args`).
#[derive(Debug, clap::Args)]
pub struct ConfigOut {
    /// The config file (TOML, or JSON by extension).
    pub config: std::path::PathBuf,
    /// The result folder (written atomically).
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
}

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
    /// The longest one plugin call may run before the run is stopped as that
    /// plugin's fault (default 60, or BAYESRG_PLUGIN_TIMEOUT; 0: no limit).
    #[arg(long = "plugin-timeout", global = true, value_name = "SECONDS")]
    plugin_timeout: Option<f64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every registered model type with its parameters.
    Models(models::Args),
    /// List every linked coarse-graining scheme type.
    Schemes(schemes::Args),
    /// Validate a model's Fisher metric at a point θ (config: docs/fisher.md).
    Fisher(fisher::Args),
    /// Dynamical Bayes on a toy model (eqs. 32–36).
    Bayes(bayes::Args),
    /// A DB-RG flow over a grid of tau (eqs. 38–45).
    Flow(bayes::Args),
    /// Run every check of the toolkit against the paper and write a report.
    Reproduce(reproduce::Args),
    /// Simulate an SDE ensemble and check it against its exact law.
    Sde(sde::Args),
    /// A 1-D Fokker–Planck grid run (eq. 15) with drift and diffusion as expressions.
    FokkerPlanck(diffusion::Args),
    /// The conditional-expectation semigroup E_t f (eqs. 22–24) of an expression.
    Semigroup(diffusion::Args),
    /// The reverse-time SDE (eq. 26) from a Gaussian mixture, checked by recovering it.
    Reverse(diffusion::Args),
    /// Coarse-grain a trained MNIST autoencoder by the information shell (eq. 55).
    Prune(prune::Args),
    /// Fisher–Rao distance and geodesic between two points of a model.
    Geodesic(geodesic::Args),
    /// KL(θ‖θ′) (eq. 30): closed form, exact sum, Monte Carlo ± SE, and ½δᵀIδ (eq. 31).
    Kl(geometry::Args),
    /// Scalar, Ricci, sectional and Gaussian curvature of the Fisher metric at θ.
    Curvature(geometry::Args),
    /// The Jeffreys density √det I(θ) at θ (unnormalised).
    Jeffreys(geometry::Args),
    /// Fisher spectrum: stiff and sloppy directions (and Wilson shells on a lattice field).
    Spectrum(spectrum::Args),
    /// A parameter study: one command over axes of its config, merged into one table.
    Sweep(sweep::Args),
    /// Run-time model plugins: `plugin new NAME --lang rust|c` writes a skeleton.
    Plugin(plugin::Args),
}

/// Runs the parsed command line: checks the catalogue for duplicate tags, loads
/// the plugins named by `--plugin` and by the config files given (see
/// [`plugin::load_named`]), runs the subcommand, and reports a fault recorded
/// by a plugin function as an error.
pub fn run(cli: Cli) -> Result<Status> {
    bayesrg::core::registry::models().map_err(anyhow::Error::msg)?;
    let host = plugin::load_named(&cli.plugins)?;
    // Before any work, so that no signal ends the process without its
    // status 130 (tryout 9 H6: a sweep died by the signal while it built
    // and checked its tasks). The sweep has its own handler: it keeps the
    // finished tasks, or stops its cluster child.
    if matches!(cli.command, Command::Sweep(_)) {
        sweep::arm_interrupts();
    } else {
        crate::output::arm_interrupts();
    }
    let result = dispatch(cli.command);
    // Faults recorded in the process (without a supervisor, which stops the
    // run at the first one).
    if let Some(fault) = host.first_fault() {
        let more = match host.fault_count() {
            n if n > 1 => format!(" ({} more plugin faults followed)", n - 1),
            _ => String::new(),
        };
        return Err(anyhow::anyhow!("{fault}{more}"));
    }
    result
}

fn dispatch(command: Command) -> Result<Status> {
    match command {
        Command::Models(a) => models::run(a),
        Command::Schemes(a) => schemes::run(a),
        Command::Fisher(a) => fisher::run(a),
        Command::Bayes(a) => bayes::run::<crate::commands::bayes::Bayes>(a),
        Command::Flow(a) => bayes::run::<crate::commands::flow::Flow>(a),
        Command::Reproduce(a) => reproduce::run(a),
        Command::Sde(a) => sde::run(a),
        Command::FokkerPlanck(a) => diffusion::run(diffusion::Which::FokkerPlanck, a),
        Command::Semigroup(a) => diffusion::run(diffusion::Which::Semigroup, a),
        Command::Reverse(a) => diffusion::run(diffusion::Which::Reverse, a),
        Command::Prune(a) => prune::run(a),
        Command::Geodesic(a) => geodesic::run(a),
        Command::Spectrum(a) => spectrum::run(a),
        Command::Kl(a) => geometry::run(geometry::Which::Kl, a),
        Command::Curvature(a) => geometry::run(geometry::Which::Curvature, a),
        Command::Jeffreys(a) => geometry::run(geometry::Which::Jeffreys, a),
        Command::Sweep(a) => sweep::run(a),
        Command::Plugin(a) => plugin::run(a),
    }
}

/// Prints the checks of a summary, one per line, and the verdict.
pub(crate) fn print_checks(s: &crate::commands::Summary) {
    for c in &s.checks {
        println!(
            "[{}] {}: {:.4e} {} {:.3e} ({}){}",
            match (c.pass, &c.note) {
                (true, _) => "pass",
                (false, Some(_)) => "UNRESOLVED",
                (false, None) => "FAIL",
            },
            c.name,
            c.value,
            c.relation,
            c.threshold,
            c.oracle,
            c.note.as_ref().map_or(String::new(), |n| format!(": {n}"))
        );
    }
    println!("{}", if s.pass { "PASS" } else { "FAIL" });
}

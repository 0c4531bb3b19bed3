//! `bayesrg sde`: the config file is a [`SdeSpec`]; the work (problem
//! building, the exact law, the simulation and its checks) is
//! [`bayesrg_core::sde::run`]; this module names what of its result goes
//! where ([`Sde`]).
//!
//! Files written: `moments.csv` (one row per saved time: ensemble and exact mean
//! and covariance), `paths_<k>.csv` (a sample of paths at saved time k),
//! `marginal_<k>_y<j>.png` (histograms against the exact marginal density),
//! `mean.png`, `variance.png`, `summary.json` and `timings.json` (the run
//! time, kept apart so that result files depend on the seed only).

use super::{Summary, plain_error};
use anyhow::{Context, Result};
use bayesrg_core::sde::SdeResult;
use std::path::Path;

mod files;

pub use bayesrg_core::sde::SdeSpec;

command!(
    /// `bayesrg sde` as a [`Command`](super::Command); the library's errors
    /// as they are (the command line names the file), run times in
    /// `timings.json`.
    Sde = "sde", SdeSpec => SdeResult, bayesrg_core::sde::run,
    place = plain_error, timings = files::timings
);

command_fns!(Sde, load);

/// Runs `bayesrg sde` on a spec; writes the result folder `out` when given;
/// shows a progress bar unless `quiet`.
pub fn run(
    spec: &SdeSpec,
    origin: Option<String>,
    out: Option<&Path>,
    quiet: bool,
) -> Result<Summary> {
    Ok(super::execute::<Sde>(spec, origin, out, !quiet)?.summary)
}

/// Loads `path` and runs it (what `bayesrg sde FILE --out DIR` does).
pub fn run_file(path: &Path, out: Option<&Path>, quiet: bool) -> Result<Summary> {
    let spec = load(path)?;
    run(&spec, Some(path.display().to_string()), out, quiet)
        .with_context(|| format!("{}", path.display()))
}

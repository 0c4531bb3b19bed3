//! `bayesrg prune`: the section-4 experiment. The config file is a
//! [`Section4Spec`]; the work is [`bayesrg_autoencoder::section4::run`]; this
//! module names what of its result goes where ([`Prune`]):
//! `sweep.csv`, `fisher.csv`, `weights.bin`, `summary.json`, the figures, and
//! `timings.json` (the one file that differs from run to run).

use super::Summary;
use anyhow::Result;
use bayesrg_autoencoder::section4::{self, Section4Run, Timings};
use std::path::Path;

mod files;

pub use bayesrg_autoencoder::section4::Section4Spec;

command!(
    /// `bayesrg prune` as a [`Command`](super::Command); the library's
    /// errors at their `file:line:col`, the times in `timings.json`.
    Prune = "prune", Section4Spec => Section4Run, section4::run,
    inputs = files::inputs, timings = files::timings
);

command_fns!(Prune, load);

/// Runs the experiment and writes its files into `out` when given; returns
/// the summary and the times.
pub fn run(
    spec: &Section4Spec,
    config_name: Option<String>,
    out: Option<&Path>,
    progress: bool,
) -> Result<(Summary, Timings)> {
    let ran = super::execute::<Prune>(spec, config_name, out, progress)?;
    Ok((ran.summary, ran.output.seconds))
}

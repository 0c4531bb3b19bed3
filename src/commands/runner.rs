//! The one way every command runs: config → spec → one library call →
//! writers. A command module declares its [`Command`] with `command!` (its
//! name, spec, result and library call; its writers are its `files`
//! module) and its public functions with `command_fns!`; [`execute`] does
//! the rest.

use super::{Check, Summary, at_origin};
use crate::output::OutDir;
use anyhow::Result;
use std::path::Path;

#[macro_use]
mod macros;

/// One command between its config and its files: the library call on its
/// spec and what of the result goes into `summary.json` and the result
/// folder. [`execute`] runs every command the same way (config → spec → one
/// library call → writers); [`load`] reads its config.
pub trait Command {
    /// The command's name, `summary.json`'s `command` (`bayes`, `flow`, …).
    const NAME: &'static str;
    /// The library's spec: what the config file holds.
    type Spec: serde::de::DeserializeOwned;
    /// What the library call returns.
    type Output: Checked;
    /// Checks every value of the spec; the error names the field (bad input).
    fn validate(spec: &Self::Spec) -> bayesrg_core::Result<()>;
    /// Files the run reads besides its config, recorded with the result folder.
    fn inputs(_spec: &Self::Spec) -> Vec<&Path> {
        Vec::new()
    }
    /// The one library call; progress goes to `obs`.
    fn compute(
        spec: &Self::Spec,
        obs: &mut dyn bayesrg_core::observe::Observer,
    ) -> bayesrg_core::Result<Self::Output>;
    /// `summary.json`'s `details`; `writing` when a result folder is written.
    fn details(spec: &Self::Spec, out: &Self::Output, writing: bool) -> Result<serde_json::Value>;
    /// Writes the result's files (all but `summary.json` and
    /// [`TIMINGS_FILE`](crate::output::TIMINGS_FILE)) into `dir`.
    fn write(dir: &OutDir, spec: &Self::Spec, out: &Self::Output) -> Result<()>;
    /// Writes [`TIMINGS_FILE`](crate::output::TIMINGS_FILE) for a command that
    /// keeps its run times apart from its results; `seconds` is the time of
    /// the library call. Default: none.
    fn write_timings(_dir: &OutDir, _out: &Self::Output, _seconds: f64) -> Result<()> {
        Ok(())
    }
    /// A library error in the context of the config `origin` (default: its
    /// `file:line:col`, [`at_origin`]).
    fn place(origin: Option<&str>, e: bayesrg_core::Error) -> anyhow::Error {
        at_origin(origin, e)
    }
}

/// A library result that carries its checks.
pub trait Checked {
    /// The checks of the result (`summary.json`'s `checks`).
    fn checks(&self) -> &[Check];
}

macro_rules! checked {
    ($($t:ty),*) => {
        $(impl Checked for $t {
            fn checks(&self) -> &[Check] {
                &self.checks
            }
        })*
    };
}

checked!(
    bayesrg_core::bayes::experiment::BayesResult,
    bayesrg_core::bayes::flow::FlowResult,
    bayesrg_core::sde::SdeResult,
    bayesrg_core::geometry::spectrum::SpectrumResult,
    bayesrg_core::geometry::fisher_rao::GeodesicResult
);

impl Checked for bayesrg_autoencoder::section4::Section4Run {
    fn checks(&self) -> &[Check] {
        &self.result.checks
    }
}

/// What [`execute`] returns: the summary, the library's result and the time
/// of the library call in seconds.
pub struct Ran<C: Command> {
    /// The summary (written as `summary.json`).
    pub summary: Summary,
    /// The library's result.
    pub output: C::Output,
    /// Seconds the library call took.
    pub seconds: f64,
}

/// Runs the command `C` on `spec`, read from the config `origin` (for
/// messages and `summary.json`): checks the spec, stages the result folder
/// `out` when given, calls the library (progress bars when `progress`),
/// builds the [`Summary`], writes the files, `summary.json` and the timings,
/// and commits the folder atomically.
///
/// # Errors
/// Bad input (a value of the spec, an `--out` bayesrg may not write) or a
/// failed library call, placed by [`Command::place`]; a file that cannot be
/// written.
pub fn execute<C: Command>(
    spec: &C::Spec,
    origin: Option<String>,
    out: Option<&Path>,
    progress: bool,
) -> Result<Ran<C>> {
    C::validate(spec).map_err(|e| C::place(origin.as_deref(), e))?;
    let mut inputs: Vec<&Path> = origin.as_deref().map(Path::new).into_iter().collect();
    inputs.extend(C::inputs(spec));
    let staged = crate::output::stage(out, &inputs)?;
    let mut bars = crate::progress::Bars::new(progress);
    let start = std::time::Instant::now();
    let output = C::compute(spec, &mut bars).map_err(|e| C::place(origin.as_deref(), e))?;
    let seconds = start.elapsed().as_secs_f64();
    drop(bars);
    let details = C::details(spec, &output, staged.is_some())?;
    let summary = Summary::new(C::NAME, origin, output.checks().to_vec(), details);
    if let Some(dir) = staged {
        C::write(&dir, spec, &output)?;
        dir.write_json("summary.json", &summary)?;
        C::write_timings(&dir, &output, seconds)?;
        dir.commit()?;
    }
    Ok(Ran {
        summary,
        output,
        seconds,
    })
}

/// Reads the config file `path` of the command `C` (TOML, or JSON by
/// extension) and checks it; a bad value is reported at its `file:line:col`.
pub fn load<C: Command>(path: &Path) -> Result<C::Spec> {
    crate::ensure_linked();
    crate::config::load_checked(path, C::validate)
}

/// Loads `path` and runs it with [`execute`], without progress bars.
pub fn run_file<C: Command>(path: &Path, out: Option<&Path>) -> Result<Ran<C>> {
    let spec = load::<C>(path)?;
    execute::<C>(&spec, Some(path.display().to_string()), out, false)
}

/// A library error as it is, for commands whose callers name the config
/// ([`Command::place`]).
pub fn plain_error(_origin: Option<&str>, e: bayesrg_core::Error) -> anyhow::Error {
    anyhow::Error::new(e)
}

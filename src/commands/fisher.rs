//! `bayesrg fisher FILE.toml`: validate a model's Fisher metric at a point θ.
//!
//! Reads a config (docs/fisher.md), runs
//! [`bayesrg_core::validate::validate`] and returns its [`Report`] and a
//! [`Summary`] whose checks are the validator's checks and whose `details` is
//! the report. Bad input (malformed TOML, an unknown model type, missing or
//! unknown fields, a θ of the wrong length or outside the parameter space, too
//! few samples, a claimed matrix of the wrong shape) is an error that names the
//! file, line and column where it can.
//!
//! With `data` or `data_file`, the empirical Fisher of the data at θ is
//! reported beside I(θ), with the reasons they differ
//! ([`bayesrg_core::empirical`], docs/fisher.md "The empirical Fisher").
//!
//! ```toml
//! theta = [0.5, 1.5]          # required
//! samples = 200000            # optional
//! seed = 42                   # optional
//! claimed_fisher = [[0.4444, 0.0], [0.0, 0.8889]]   # optional
//! data = [[0.3], [1.2], [-0.4]]   # optional: observations, one row each
//! # data_file = "obs.csv"         # or a CSV file (relative to this file)
//! [model]
//! type = "normal"             # the model's type tag, plus its own fields
//! ```

use super::Summary;
use crate::config;
use anyhow::{Result, anyhow};
use bayesrg_core::empirical::EmpiricalComparison;
use bayesrg_core::validate::{self, Report, Settings};
use bayesrg_core::{Error as CoreError, Model};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

mod data;
mod load;

pub use data::{DataSource, empirical_loaded, observations};
pub use load::{Loaded, load, parse};

/// A `bayesrg fisher` config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The point θ, one entry per parameter.
    pub theta: Vec<f64>,
    /// Monte Carlo samples per estimator (default
    /// [`validate::DEFAULT_SAMPLES`]).
    #[serde(default)]
    pub samples: Option<usize>,
    /// Seed (default [`validate::DEFAULT_SEED`]).
    #[serde(default)]
    pub seed: Option<u64>,
    /// A claimed Fisher matrix, one row per parameter.
    #[serde(default)]
    pub claimed_fisher: Option<Vec<Vec<f64>>>,
    /// Observations for the empirical Fisher, one row per observation, each
    /// of the model's observation size.
    #[serde(default)]
    pub data: Option<Vec<Vec<f64>>>,
    /// A CSV file of observations (one row each, an optional header line),
    /// relative to the config file's folder. Not with `data`.
    #[serde(default)]
    pub data_file: Option<PathBuf>,
    /// The model, by its `type` tag.
    pub model: Box<dyn Model>,
}

/// The validator's report and, when the config gives data, the empirical
/// Fisher beside I(θ). Serialises as the report's fields plus `empirical`.
#[derive(Debug, Serialize)]
pub struct FisherRun {
    /// The validator's report.
    #[serde(flatten)]
    pub report: Report,
    /// The empirical Fisher and its comparison with the reference, if data
    /// were given.
    pub empirical: Option<EmpiricalComparison>,
}

/// Settings given on the command line, which win over the file's.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// `--samples N`.
    pub samples: Option<usize>,
    /// `--seed S`.
    pub seed: Option<u64>,
}

/// The validator's settings for a loaded config and command-line overrides.
pub fn settings(loaded: &Loaded, ov: Overrides) -> Settings {
    let c = &loaded.config;
    Settings {
        samples: ov
            .samples
            .or(c.samples)
            .unwrap_or(validate::DEFAULT_SAMPLES),
        seed: ov
            .seed
            .or(c.seed)
            .map_or(validate::DEFAULT_SEED, bayesrg_core::rng::Seed::new),
        claimed: c.claimed_fisher.clone(),
    }
}

/// Validates a loaded config. Bad input is an error naming the file, the field
/// and (for TOML) its line and column.
pub fn run_loaded(loaded: &Loaded, ov: Overrides) -> Result<Report> {
    let s = settings(loaded, ov);
    let c = &loaded.config;
    let o = &loaded.origin;
    let locate = |e: CoreError| -> anyhow::Error {
        let name = e.field().map(|f| f.to_string()).unwrap_or_default();
        match &e {
            // A failed computation keeps its type, so that it exits 1.
            _ if !e.is_bad_input() => anyhow::Error::new(e).context(o.to_string()),
            CoreError::Param(_) => anyhow!("{o}{}: invalid theta: {e}", loaded.locs.theta),
            _ if name == "theta" || name.starts_with("theta[") => {
                anyhow!("{o}{}: {e}", loaded.locs.theta)
            }
            _ if name == "model" => config::at_field(Path::new(o), e),
            _ if name == "samples" => {
                if ov.samples.is_some() {
                    anyhow!("--samples: {e}")
                } else {
                    anyhow!("{o}{}: {e}", loaded.locs.samples)
                }
            }
            _ if name == "claimed_fisher" => {
                anyhow!("{o}{}: {e}", loaded.locs.claimed_fisher)
            }
            _ => anyhow!("{o}: {e}"),
        }
    };
    validate::check_inputs(c.model.as_ref(), &c.theta, &s).map_err(locate)?;
    validate::validate(c.model.as_ref(), &c.theta, &s).map_err(locate)
}

/// The [`Summary`] of a run: the validator's checks, its verdict, and the
/// whole run (the report's fields and `empirical`) as `details`. The
/// empirical Fisher is informational: it adds no check.
pub fn summary(run: &FisherRun, config: Option<String>) -> Result<Summary> {
    Ok(Summary::new(
        "fisher",
        config,
        run.report.checks.clone(),
        serde_json::to_value(run)?,
    ))
}

/// Validates a loaded config and, with data, adds the empirical Fisher.
pub fn run_all(loaded: &Loaded, ov: Overrides) -> Result<FisherRun> {
    let report = run_loaded(loaded, ov)?;
    let empirical = empirical_loaded(loaded, &report)?;
    Ok(FisherRun { report, empirical })
}

/// `bayesrg fisher FILE`: loads, validates and summarises one config file.
pub fn run(path: &Path, ov: Overrides) -> Result<Summary> {
    let loaded = load(path)?;
    let run = run_all(&loaded, ov)?;
    summary(&run, Some(loaded.origin))
}

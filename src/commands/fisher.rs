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
//! ```toml
//! theta = [0.5, 1.5]          # required
//! samples = 200000            # optional
//! seed = 42                   # optional
//! claimed_fisher = [[0.4444, 0.0], [0.0, 0.8889]]   # optional
//! [model]
//! type = "normal"             # the model's type tag, plus its own fields
//! ```

use super::Summary;
use crate::config;
use anyhow::{Result, anyhow};
use bayesrg_core::validate::{self, Report, Settings};
use bayesrg_core::{Error as CoreError, Model, registry};
use serde::Deserialize;
use std::path::Path;

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
    /// The model, by its `type` tag.
    pub model: Box<dyn Model>,
}

/// Settings given on the command line, which win over the file's.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// `--samples N`.
    pub samples: Option<usize>,
    /// `--seed S`.
    pub seed: Option<u64>,
}

/// A parsed config and where its fields are, for error messages.
#[derive(Debug)]
pub struct Loaded {
    /// The config.
    pub config: Config,
    /// The file name.
    pub origin: String,
    locs: Locations,
}

/// `:line:col` of the fields that semantic errors point at (empty when unknown).
#[derive(Debug, Default)]
struct Locations {
    theta: String,
    samples: String,
    claimed_fisher: String,
}

#[derive(Deserialize)]
struct Probe {
    theta: Option<toml::Spanned<toml::Value>>,
    samples: Option<toml::Spanned<toml::Value>>,
    claimed_fisher: Option<toml::Spanned<toml::Value>>,
    model: Option<toml::Spanned<ModelProbe>>,
}

#[derive(Deserialize)]
struct ModelProbe {
    #[serde(rename = "type")]
    ty: Option<toml::Spanned<toml::Value>>,
}

fn known_types() -> String {
    registry::model_tags().join(", ")
}

/// Parses config text (TOML). `origin` names the file in messages.
pub fn parse(text: &str, origin: &str) -> Result<Loaded> {
    // 1. Syntax, with line and column.
    config::parse_toml::<toml::Table>(text, origin)?;
    // 2. The model type, against the registry's list (a probe that ignores
    //    everything else; if it does not fit, step 3 reports why).
    let probe: Option<Probe> = toml::from_str(text).ok();
    let at = |span: std::ops::Range<usize>| {
        let (l, c) = config::line_col(text, span.start);
        format!(":{l}:{c}")
    };
    let mut locs = Locations::default();
    if let Some(p) = &probe {
        if let Some(m) = &p.model {
            match &m.get_ref().ty {
                None => {
                    return Err(anyhow!(
                        "{origin}{}: [model] has no `type`; known model types: {}",
                        at(m.span()),
                        known_types()
                    ));
                }
                Some(t) => {
                    // Tags with `/` name run-time plugin models, checked
                    // (with their own message) when the config is parsed.
                    if let toml::Value::String(s) = t.get_ref()
                        && !s.contains('/')
                        && !registry::model_tags().contains(&s.as_str())
                    {
                        return Err(anyhow!(
                            "{origin}{}: unknown model type `{s}`; known model types: {}",
                            at(t.span()),
                            known_types()
                        ));
                    }
                }
            }
        }
        let loc = |v: &Option<toml::Spanned<toml::Value>>| {
            v.as_ref().map(|s| at(s.span())).unwrap_or_default()
        };
        locs = Locations {
            theta: loc(&p.theta),
            samples: loc(&p.samples),
            claimed_fisher: loc(&p.claimed_fisher),
        };
    }
    // 3. Fields and types.
    let config: Config = config::parse_toml(text, origin)?;
    Ok(Loaded {
        config,
        origin: origin.to_string(),
        locs,
    })
}

/// Reads a config file: TOML, or JSON when the name ends in `.json`.
pub fn load(path: &Path) -> Result<Loaded> {
    let origin = path.display().to_string();
    if path.extension().is_some_and(|e| e == "json") {
        return Ok(Loaded {
            config: config::load(path)?,
            origin,
            locs: Locations::default(),
        });
    }
    parse(&config::read_text(path)?, &origin)
}

/// The validator's settings for a loaded config and command-line overrides.
pub fn settings(loaded: &Loaded, ov: Overrides) -> Settings {
    let c = &loaded.config;
    Settings {
        samples: ov
            .samples
            .or(c.samples)
            .unwrap_or(validate::DEFAULT_SAMPLES),
        seed: ov.seed.or(c.seed).unwrap_or(validate::DEFAULT_SEED),
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
    check_size(c, &s).map_err(locate)?;
    validate::check_inputs(c.model.as_ref(), &c.theta, &s).map_err(locate)?;
    validate::validate(c.model.as_ref(), &c.theta, &s).map_err(locate)
}

/// What the validator asks of the machine, and a model with no parameters
/// (issue 11 §2, §3), before any work: it holds `samples` scores of `d`
/// entries per estimator and evaluates the model about 10 times per sample.
fn check_size(c: &Config, s: &Settings) -> Result<(), CoreError> {
    use bayesrg_core::budget;
    let d = c.model.dim();
    bayesrg_core::error::require::has_parameters(
        "model",
        bayesrg_core::model::type_name(c.model.as_ref()),
        d,
    )?;
    bayesrg_core::error::require::all_finite("theta", &c.theta)?;
    let (n, d) = (s.samples as f64, d as f64);
    budget::check_memory("samples", 4.0 * n * d.max(1.0) * 8.0)?;
    budget::check_work("samples", 10.0 * n * d.max(1.0) * d.max(1.0))
}

/// The [`Summary`] of a report: the validator's checks, its verdict, and the
/// whole report as `details`.
pub fn summary(report: &Report, config: Option<String>) -> Result<Summary> {
    Ok(Summary::new(
        "fisher",
        config,
        report.checks.clone(),
        serde_json::to_value(report)?,
    ))
}

/// `bayesrg fisher FILE`: loads, validates and summarises one config file.
pub fn run(path: &Path, ov: Overrides) -> Result<Summary> {
    let loaded = load(path)?;
    let report = run_loaded(&loaded, ov)?;
    summary(&report, Some(loaded.origin))
}

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
use bayesrg_core::empirical::{self, EmpiricalComparison};
use bayesrg_core::fisher::Method;
use bayesrg_core::validate::{self, Report, Settings};
use bayesrg_core::{Error as CoreError, Model, registry};
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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

/// A parsed config and where its fields are, for error messages.
#[derive(Debug)]
pub struct Loaded {
    /// The config.
    pub config: Config,
    /// The file name.
    pub origin: String,
    locs: Locations,
    /// The TOML text (to locate fields named by library errors).
    text: Option<String>,
    /// The folder relative paths in the config are taken from.
    base: PathBuf,
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
    if config.data.is_some() && config.data_file.is_some() {
        let at = crate::locate::locate(text, &"data_file".into())
            .map(|(l, c)| format!(":{l}:{c}"))
            .unwrap_or_default();
        return Err(anyhow!(
            "{origin}{at}: give the observations either as `data` or as `data_file`, not both"
        ));
    }
    Ok(Loaded {
        config,
        origin: origin.to_string(),
        locs,
        text: Some(text.to_string()),
        base: PathBuf::from("."),
    })
}

/// Reads a config file: TOML, or JSON when the name ends in `.json`.
pub fn load(path: &Path) -> Result<Loaded> {
    let origin = path.display().to_string();
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    if path.extension().is_some_and(|e| e == "json") {
        return Ok(Loaded {
            config: config::load(path)?,
            origin,
            locs: Locations::default(),
            text: None,
            base,
        });
    }
    let mut loaded = parse(&config::read_text(path)?, &origin)?;
    loaded.base = base;
    Ok(loaded)
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

/// The observations of a loaded config: `data`, or the rows of `data_file`
/// (CSV; a first line that is not all numbers is a header). `None` without
/// either. Errors name the file and line of a bad value.
pub fn observations(loaded: &Loaded) -> Result<Option<(Vec<Vec<f64>>, DataSource)>> {
    let c = &loaded.config;
    if let Some(d) = &c.data {
        return Ok(Some((d.clone(), DataSource::Inline)));
    }
    let Some(file) = &c.data_file else {
        return Ok(None);
    };
    let path = loaded.base.join(file);
    let shown = path.display().to_string();
    let text =
        config::read_text(&path).map_err(|e| anyhow!("{}: data_file: {e:#}", loaded.origin))?;
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    for (k, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| anyhow!("{shown}: {e}"))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(k as u64 + 1);
        let parsed: Vec<Option<f64>> = rec.iter().map(|f| f.parse::<f64>().ok()).collect();
        if parsed.iter().all(Option::is_none) && rows.is_empty() && k == 0 {
            continue; // a header line
        }
        let mut row = Vec::with_capacity(parsed.len());
        for (j, (v, raw)) in parsed.iter().zip(rec.iter()).enumerate() {
            match v {
                Some(v) => row.push(*v),
                None => {
                    return Err(anyhow!(
                        "{shown}:{line}: column {} is `{raw}`, not a number",
                        j + 1
                    ));
                }
            }
        }
        rows.push(row);
        lines.push(line);
    }
    Ok(Some((rows, DataSource::File { path: shown, lines })))
}

/// Where the observations of a config came from, to place errors.
#[derive(Debug, Clone)]
pub enum DataSource {
    /// The `data` array of the config.
    Inline,
    /// A CSV file and the line of each row.
    File {
        /// The path, as shown.
        path: String,
        /// 1-based line of each row.
        lines: Vec<u64>,
    },
}

/// The empirical Fisher of the config's observations at θ beside the
/// report's reference (or, without one, its Monte Carlo E\[ℓℓᵀ\]); `None`
/// when the config gives no data. Bad data are errors naming the file, the
/// line and the row.
pub fn empirical_loaded(loaded: &Loaded, report: &Report) -> Result<Option<EmpiricalComparison>> {
    let Some((data, source)) = observations(loaded)? else {
        return Ok(None);
    };
    let c = &loaded.config;
    let wanted = report.reference.unwrap_or(Method::ScoreOuter);
    let reference = report
        .estimators
        .iter()
        .find(|e| e.method == wanted)
        .map(|e| {
            let d = e.matrix.len();
            (e.method, DMatrix::from_fn(d, d, |i, j| e.matrix[i][j]))
        });
    let got = empirical::compare(
        c.model.as_ref(),
        &c.theta,
        &data,
        reference.as_ref().map(|(m, i)| (*m, i)),
    );
    got.map(Some).map_err(|e| {
        let field = e.field();
        let row = field.as_ref().and_then(|f| match f.segments().get(1) {
            Some(bayesrg_core::error::Segment::Index(k)) => Some(*k),
            _ => None,
        });
        let place = match (&source, row) {
            (DataSource::File { path, lines }, Some(k)) => {
                let line = lines.get(k).copied().unwrap_or(0);
                format!("{path}:{line}: row {}", k + 1)
            }
            (DataSource::File { path, .. }, None) => path.clone(),
            (DataSource::Inline, _) => {
                let at = match (&loaded.text, &field) {
                    (Some(t), Some(f)) => crate::locate::locate(t, f)
                        .map(|(l, c)| format!(":{l}:{c}"))
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                format!("{}{at}", loaded.origin)
            }
        };
        anyhow::Error::new(e).context(place)
    })
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

//! `bayesrg bayes FILE.toml --out DIR`: dynamical Bayes (eqs. 32–36).
//!
//! The config file is a [`BayesSpec`]; the work is
//! [`bayesrg_core::bayes::experiment::run`]; this module reads the config,
//! calls the runner and writes its result: `flow.csv`, `data.csv`, PNG plots
//! and `summary.json`.

use super::Summary;
use anyhow::Result;
use bayesrg_core::bayes::experiment::{self, BayesResult};
use std::path::Path;

mod files;

pub use bayesrg_core::bayes::experiment::BayesSpec;

impl crate::config::Validate for BayesSpec {
    fn validate(&self) -> bayesrg_core::Result<()> {
        BayesSpec::validate(self)
    }
}

/// Reads a config; errors name the file, line and column.
pub fn load(path: &Path) -> Result<BayesSpec> {
    crate::ensure_linked();
    crate::config::load_valid(path)
}

/// Runs dynamical Bayes on a spec read from `origin` (for messages and
/// summary.json); writes into `out` when given; progress bars when `progress`.
pub fn run(
    spec: &BayesSpec,
    origin: Option<&str>,
    out: Option<&Path>,
    progress: bool,
) -> Result<Summary> {
    let staged = crate::output::stage(out, origin.map(Path::new).as_slice())?;
    let mut bars = crate::progress::Bars::new(progress);
    let r = experiment::run(spec, &mut bars).map_err(|e| super::at_origin(origin, e))?;
    drop(bars);
    let summary = Summary::new(
        "bayes",
        origin.map(str::to_string),
        r.checks.clone(),
        details(&r),
    );
    if let Some(o) = staged {
        files::write_files(&o, &r)?;
        o.write_json("summary.json", &summary)?;
        o.commit()?;
    }
    Ok(summary)
}

/// summary.json's details: the headline numbers (the records are flow.csv
/// and data.csv).
fn details(r: &BayesResult) -> serde_json::Value {
    serde_json::json!({
        "model": r.model,
        "free": r.free,
        "theta_star": r.theta_star,
        "fisher_at_theta_star": r.fisher_at_theta_star,
        "late_time_error": r.late_time_error,
        "oracle": r.oracle,
        "stepper": "classical RK4 (order 4) on u = ln pi, from the prior at T = 0",
        "grid_scales": r.grid_scales,
        "map_notes": r.map_notes,
        "files": files::FILES,
    })
}

/// Loads `path` and runs it.
pub fn run_file(path: &Path, out: Option<&Path>) -> Result<Summary> {
    let spec = load(path)?;
    run(&spec, Some(&path.display().to_string()), out, false)
}

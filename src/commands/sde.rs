//! `bayesrg sde`: the config file is a [`SdeSpec`]; the work (problem
//! building, the exact law, the simulation and its checks) is
//! [`bayesrg_core::sde::run`]; this module reads the config, calls the runner
//! and writes its result.
//!
//! Files written: `moments.csv` (one row per saved time: ensemble and exact mean
//! and covariance), `paths_<k>.csv` (a sample of paths at saved time k),
//! `marginal_<k>_y<j>.png` (histograms against the exact marginal density),
//! `mean.png`, `variance.png`, `summary.json` and `timings.json` (the run
//! time, kept apart so that result files depend on the seed only).

use crate::commands::Summary;
use anyhow::{Context, Result};
use bayesrg_core::sde::SdeResult;
use std::path::Path;
use std::time::Instant;

mod files;

pub use bayesrg_core::sde::SdeSpec;

impl crate::config::Validate for SdeSpec {
    fn validate(&self) -> bayesrg_core::Result<()> {
        SdeSpec::validate(self)
    }
}

/// Loads a config file and checks it (a bad value is reported at its
/// `file:line:col`).
pub fn load(path: &Path) -> Result<SdeSpec> {
    crate::config::load_valid(path)
}

/// Runs `bayesrg sde` on a spec; writes the result folder `out` when given;
/// shows a progress bar unless `quiet`. Returns the summary and the run time
/// in seconds.
pub fn run_timed(
    spec: &SdeSpec,
    origin: Option<String>,
    out: Option<&Path>,
    quiet: bool,
) -> Result<(Summary, f64)> {
    spec.validate()?;
    let staged = crate::output::stage(out, origin.as_deref().map(Path::new).as_slice())?;
    let mut bars = crate::progress::Bars::new(!quiet);
    let start = Instant::now();
    let r = bayesrg_core::sde::run(spec, &mut bars)?;
    let secs = start.elapsed().as_secs_f64();
    drop(bars);
    let summary = Summary::new("sde", origin, r.checks.clone(), details(&r)?);
    if let Some(dir) = staged {
        files::write(&dir, spec, &r)?;
        dir.write_json("summary.json", &summary)?;
        // Run times go to `timings.json`, not into the results: two runs
        // with one seed give byte-identical result files (issue 11 §5).
        let rate = (r.paths * r.steps_per_path) as f64 / secs.max(1e-12);
        dir.write_json(
            crate::output::TIMINGS_FILE,
            &serde_json::json!({ "seconds": secs, "path_steps_per_second": rate }),
        )?;
        dir.commit()?;
    }
    Ok((summary, secs))
}

/// [`run_timed`] without the time.
pub fn run(
    spec: &SdeSpec,
    origin: Option<String>,
    out: Option<&Path>,
    quiet: bool,
) -> Result<Summary> {
    Ok(run_timed(spec, origin, out, quiet)?.0)
}

/// summary.json's details: the result without the states and the dense law.
fn details(r: &SdeResult) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(r)?;
    if let Some(m) = v.as_object_mut() {
        for k in ["states", "law_curve", "checks", "oracle"] {
            m.remove(k);
        }
        if r.k_inv.is_none() {
            m.remove("k_inv");
        }
    }
    Ok(v)
}

/// Loads `path` and runs it (what `bayesrg sde FILE --out DIR` does).
pub fn run_file(path: &Path, out: Option<&Path>, quiet: bool) -> Result<Summary> {
    let spec = load(path)?;
    run(&spec, Some(path.display().to_string()), out, quiet)
        .with_context(|| format!("{}", path.display()))
}

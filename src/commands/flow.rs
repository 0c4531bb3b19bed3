//! `bayesrg flow FILE.toml --out DIR`: a DB-RG flow (eqs. 38–45) over an
//! increasing grid of τ.
//!
//! The config file is a [`FlowSpec`]; the work is
//! [`bayesrg_core::bayes::flow::run`]; this module reads the config, calls the
//! runner and writes its result: `observables.csv`, `predictive.csv`, PNG
//! plots and `summary.json`.

use super::Summary;
use anyhow::Result;
use bayesrg_core::bayes::flow::{self, FlowResult};
use std::path::Path;

mod files;

pub use bayesrg_core::bayes::flow::FlowSpec;

impl crate::config::Validate for FlowSpec {
    fn validate(&self) -> bayesrg_core::Result<()> {
        FlowSpec::validate(self)
    }
}

/// Reads a config; errors name the file, line and column.
pub fn load(path: &Path) -> Result<FlowSpec> {
    crate::ensure_linked();
    crate::config::load_valid(path)
}

/// Runs the flow on a spec read from `origin` (for messages and
/// summary.json); writes into `out` when given; progress bars when `progress`.
pub fn run(
    spec: &FlowSpec,
    origin: Option<&str>,
    out: Option<&Path>,
    progress: bool,
) -> Result<Summary> {
    let staged = crate::output::stage(out, origin.map(Path::new).as_slice())?;
    let mut bars = crate::progress::Bars::new(progress);
    let r = flow::run(spec, &mut bars).map_err(|e| super::at_origin(origin, e))?;
    drop(bars);
    let summary = Summary::new(
        "flow",
        origin.map(str::to_string),
        r.checks.clone(),
        details(&r, spec),
    );
    if let Some(o) = staged {
        files::write_files(&o, &r)?;
        o.write_json("summary.json", &summary)?;
        o.commit()?;
    }
    Ok(summary)
}

/// summary.json's details: the headline numbers per τ (the rest is
/// observables.csv and predictive.csv).
fn details(r: &FlowResult, spec: &FlowSpec) -> serde_json::Value {
    let col = |f: &dyn Fn(&flow::FlowRow) -> f64| r.rows.iter().map(f).collect::<Vec<_>>();
    serde_json::json!({
        "model": r.model,
        "tau": spec.tau,
        "kl_model_space": col(&|x| x.kl),
        "kl_data_space": col(&|x| x.kl_data),
        "energy_distance": col(&|x| x.energy_distance),
        "energy_distance_floor": col(&|x| x.energy_distance_floor),
        "n_eff": col(&|x| x.n_eff),
        "max_rejected_fraction": col(&|x| x.rejected_fraction).into_iter().fold(0.0, f64::max),
        "jacobian_spread": r.jacobian_spread,
        "data_space_sampler": "core::sde Euler-Maruyama ensemble, dY = theta dW, theta theta^T = J I^+ J^T, from G(mu) + noise (bayes::backward::simulate_data_space)",
        "fisher_rank": r.rows.iter().map(|x| x.fisher_rank).collect::<Vec<_>>(),
        "null_directions_at_start": r.null_directions_at_start,
        "posterior_along_null_directions": "held at mu (width 0): the likelihood is flat there, so eq. (38) gives no width; pi_tau = N(mu, tau I^+) (bayes::backward module docs)",
        "n_eff_definition": "sum_i lambda_i/(lambda_i + tau) = sum_i T lambda_i/(1 + T lambda_i), T = 1/tau",
        "files": files::FILES,
    })
}

/// Loads `path` and runs it.
pub fn run_file(path: &Path, out: Option<&Path>) -> Result<Summary> {
    let spec = load(path)?;
    run(&spec, Some(&path.display().to_string()), out, false)
}

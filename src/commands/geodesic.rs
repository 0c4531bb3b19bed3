//! `bayesrg geodesic FILE.toml`: the Fisher–Rao distance and the geodesic
//! between two points of a model (shooting, [`bayesrg_core::geometry::distance`]).
//!
//! Config:
//! ```toml
//! from = [0.0, 1.0]        # θ₁
//! to = [2.0, 0.5]          # θ₂
//! closed_form = "normal"   # optional: check against this closed-form distance
//! plot = true              # optional: path plot (default: true for 2-D families)
//! tol = 1e-9               # optional: shooting tolerance (relative to 1 + |θ₂|)
//! samples = 100000         # optional: Monte Carlo Fisher fallback
//! seed = 1                 # optional: its seed
//!
//! [model]
//! type = "normal"
//! ```
//! Writes `summary.json`, `path.csv` (t, θ…, speed²) and, for 2-D families,
//! `geodesic.png` (the geodesic and the coordinate chord).

use super::{Check, Summary};
use crate::plot;
use anyhow::{Context, Result, anyhow, bail};
use bayesrg_core::Model;
use bayesrg_core::geometry::distance::{ShootOptions, closed_form, distance};
use bayesrg_core::geometry::geodesic::exp_map;
use bayesrg_core::geometry::{FisherMetric, Metric};
use serde::Deserialize;
use serde_json::json;
use std::path::Path;

/// The parsed config of `bayesrg geodesic`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeodesicConfig {
    /// The model.
    pub model: Box<dyn Model>,
    /// The start point θ₁.
    pub from: Vec<f64>,
    /// The end point θ₂.
    pub to: Vec<f64>,
    /// The name of a closed-form distance to check against (see
    /// [`closed_form::NAMES`]).
    #[serde(default)]
    pub closed_form: Option<String>,
    /// Whether to plot the path (only for 2-D families; default: when 2-D).
    #[serde(default)]
    pub plot: Option<bool>,
    /// Shooting tolerance.
    #[serde(default)]
    pub tol: Option<f64>,
    /// Monte Carlo samples for a model without a deterministic Fisher.
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Seed of the Monte Carlo fallback.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_samples() -> usize {
    100_000
}
fn default_seed() -> u64 {
    1
}

/// Reads a geodesic config (TOML, or JSON by extension).
pub fn load(path: &Path) -> Result<GeodesicConfig> {
    crate::config::load(path)
}

/// Loads `path` and runs it; see [`run`].
pub fn run_file(path: &Path, out: Option<&Path>) -> Result<Summary> {
    let cfg = load(path)?;
    run(&cfg, Some(path.display().to_string()), out)
}

/// Shoots the geodesic from `from` to `to`, checks it, and writes the results
/// into `out` when given.
pub fn run(cfg: &GeodesicConfig, config: Option<String>, out: Option<&Path>) -> Result<Summary> {
    let staged = crate::output::stage(out, config.as_deref().map(Path::new).as_slice())?;
    let model = cfg.model.as_ref();
    let d = model.dim();
    model
        .check_params(&cfg.from)
        .map_err(|e| anyhow!("`from` is not a valid point: {e}"))?;
    model
        .check_params(&cfg.to)
        .map_err(|e| anyhow!("`to` is not a valid point: {e}"))?;
    let plot_path = match cfg.plot {
        Some(true) if d != 2 => bail!(
            "`plot = true` needs a 2-D family; model `{}` has dimension {d}",
            bayesrg_core::model::type_name(model)
        ),
        Some(p) => p,
        None => d == 2,
    };
    let oracle = match &cfg.closed_form {
        Some(name) => Some(closed_form::by_name(name).ok_or_else(|| {
            anyhow!(
                "unknown closed_form `{name}`; known: {}",
                closed_form::NAMES.join(", ")
            )
        })?),
        None => None,
    };
    if let Some(t) = cfg.tol
        && !(t > 0.0 && t < 1.0)
    {
        bail!("`tol` = {t} must be in (0, 1)");
    }
    let metric = FisherMetric {
        model,
        samples: cfg.samples,
        seed: cfg.seed,
    };
    let mut opt = ShootOptions::default();
    if let Some(t) = cfg.tol {
        opt.tol = t;
    }
    let shot = distance(&metric, &cfg.from, &cfg.to, &opt).context("shooting failed")?;
    let scale = 1.0 + cfg.to.iter().map(|v| v * v).sum::<f64>().sqrt();
    let mut checks = vec![
        Check::at_most(
            "shooting residual |exp(v) - to| / (1 + |to|)",
            shot.residual / scale,
            (opt.tol * 10.0).max(1e-7),
            "the end point must be reached",
        ),
        Check::at_most(
            "relative drift of the speed g(v, v) along the path",
            shot.geodesic.speed_drift,
            1e-6,
            "a geodesic has constant speed",
        ),
    ];
    let mut cf_value = None;
    if let (Some(f), Some(name)) = (oracle, &cfg.closed_form) {
        let want = f(&cfg.from, &cfg.to);
        cf_value = Some(want);
        checks.push(Check::at_most(
            "|distance - closed form| / closed form",
            (shot.distance - want).abs() / want.max(1e-300),
            1e-6,
            format!("closed-form `{name}` distance (oracles.md §3)"),
        ));
    }
    // A finely sampled copy of the same geodesic, for the table and the plot.
    let mut fine = opt.ode;
    fine.h_max = 0.01;
    let path = exp_map(&metric, &cfg.from, &shot.velocity, &fine)?;
    let names = model.param_names();
    let summary_details = json!({
        "model": bayesrg_core::model::type_name(model),
        "params": names,
        "from": cfg.from,
        "to": cfg.to,
        "distance": shot.distance,
        "closed_form": cf_value,
        "initial_velocity": shot.velocity,
        "residual": shot.residual,
        "iterations": shot.iterations,
        "path_points": path.points.len(),
        "files": if out.is_some() {
            let mut f = vec!["summary.json", "path.csv"];
            if plot_path { f.push("geodesic.png"); }
            json!(f)
        } else { json!([]) },
    });
    let summary = Summary::new("geodesic", config, checks, summary_details);
    if let Some(o) = staged {
        let mut csv = String::from("t");
        for n in &names {
            csv.push_str(&format!(",{n}"));
        }
        csv.push_str(",speed2\n");
        for ((t, p), v) in path.t.iter().zip(&path.points).zip(&path.velocities) {
            let g = metric.metric(p)?;
            let mut s2 = 0.0;
            for i in 0..d {
                for j in 0..d {
                    s2 += g[(i, j)] * v[i] * v[j];
                }
            }
            csv.push_str(&format!("{t}"));
            for x in p {
                csv.push_str(&format!(",{x}"));
            }
            csv.push_str(&format!(",{s2}\n"));
        }
        o.write_text("path.csv", &csv)?;
        if plot_path {
            let geo: Vec<(f64, f64)> = path.points.iter().map(|p| (p[0], p[1])).collect();
            let chord = vec![(cfg.from[0], cfg.from[1]), (cfg.to[0], cfg.to[1])];
            plot::line_chart(
                &o.path("geodesic.png"),
                &plot::Axes {
                    title: format!(
                        "Fisher–Rao geodesic, {}: d = {:.6}",
                        bayesrg_core::model::type_name(model),
                        shot.distance
                    ),
                    x_label: names[0].clone(),
                    y_label: names[1].clone(),
                    ..Default::default()
                },
                &[
                    plot::Series::line("geodesic", geo),
                    plot::Series::line("coordinate chord", chord.clone()),
                    plot::Series::points("end points", chord),
                ],
            )?;
        }
        o.write_json("summary.json", &summary)?;
        o.commit()?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/geodesic")
            .join(name)
    }

    #[test]
    fn examples_pass_and_agree() {
        // Oracle: the closed forms named in the configs; and the two
        // parametrisations describe the same pair of distributions.
        let a = run_file(&example("normal.toml"), None).unwrap();
        let b = run_file(&example("normal_var.toml"), None).unwrap();
        assert!(a.pass && b.pass, "{:?} {:?}", a.checks, b.checks);
        let (da, db) = (
            a.details["distance"].as_f64().unwrap(),
            b.details["distance"].as_f64().unwrap(),
        );
        assert!((da - db).abs() < 1e-7 * da, "{da} {db}");
    }

    #[test]
    fn writes_path_and_plot() {
        let dir = std::env::temp_dir().join(format!("brg-geodesic-{}", std::process::id()));
        run_file(&example("normal.toml"), Some(&dir)).unwrap();
        let csv = std::fs::read_to_string(dir.join("path.csv")).unwrap();
        assert!(csv.starts_with("t,mu,sigma,speed2\n"));
        assert!(csv.lines().count() > 50);
        assert!(dir.join("geodesic.png").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! `bayesrg geodesic FILE.toml`: the Fisher–Rao distance and the geodesic
//! between two points of a model, checked against the family's closed form
//! when it has one.
//!
//! The config file is a [`GeodesicSpec`]; the work is
//! [`bayesrg_core::geometry::fisher_rao::run`]; this module reads the config,
//! calls the runner and writes its result.
//!
//! Config:
//! ```toml
//! from = [0.0, 1.0]        # θ₁
//! to = [2.0, 0.5]          # θ₂
//! closed_form = "normal"   # optional: check against this named closed form
//!                          # (default: the model's own, when it has one)
//! plot = true              # optional: path plot (default: true for 2-D families)
//! tol = 1e-9               # optional: miss at `to` in Fisher units, relative to the distance
//! christoffel = "auto"     # optional: "auto" (closed form where known) or "differences"
//! samples = 100000         # optional: Monte Carlo Fisher fallback
//! seed = 1                 # optional: its seed
//!
//! [model]
//! type = "normal"
//! ```
//! Writes `summary.json`, `path.csv` (t, θ…, speed², and the closed-form
//! geodesic θ_cf(t) when the family has one) and, for 2-D families,
//! `geodesic.png`. Bad input exits with status 2; a geodesic that no method
//! finds is a failed computation: exit status 1, the reason in the summary.

use super::Summary;
use crate::output::{OutDir, csv_number};
use crate::plot;
use anyhow::Result;
use bayesrg_core::geometry::fisher_rao::{self, Found, GeodesicResult};
use bayesrg_core::observe::Silent;
use serde_json::json;
use std::path::Path;

pub use bayesrg_core::geometry::fisher_rao::{DISTANCE_TOL, GeodesicSpec, PATH_TOL};

/// The config of `bayesrg geodesic` (the library's spec).
pub type GeodesicConfig = GeodesicSpec;

/// Reads a geodesic config (TOML, or JSON by extension).
pub fn load(path: &Path) -> Result<GeodesicSpec> {
    crate::config::load(path)
}

/// Loads `path` and runs it; see [`run`].
pub fn run_file(path: &Path, out: Option<&Path>) -> Result<Summary> {
    let cfg = load(path)?;
    run(&cfg, Some(path.display().to_string()), out)
}

/// Finds the geodesic of `spec` (read from `config`, for messages and
/// summary.json) and writes the results into `out` when given. Errors are bad
/// input (exit 2); a solver that does not converge gives a summary with a
/// failed check and the reason (exit 1).
pub fn run(spec: &GeodesicSpec, config: Option<String>, out: Option<&Path>) -> Result<Summary> {
    let place = |e| super::at_origin(Some(config.as_deref().unwrap_or("the geodesic config")), e);
    spec.validate().map_err(place)?;
    let staged = crate::output::stage(out, config.as_deref().map(Path::new).as_slice())?;
    let r = fisher_rao::run(spec, &mut Silent).map_err(place)?;
    let plots = spec.plots() && r.found.is_some();
    let files: &[&str] = match (out, plots) {
        (None, _) => &[],
        (Some(_), true) => &["summary.json", "path.csv", "geodesic.png"],
        (Some(_), false) => &["summary.json", "path.csv"],
    };
    let summary = Summary::new("geodesic", config, r.checks.clone(), details(&r, files));
    if let Some(o) = staged {
        if let Some(f) = &r.found {
            write_path(&o, &r, f)?;
            if plots {
                plot_path(&o, &r, f)?;
            }
        }
        o.write_json("summary.json", &summary)?;
        o.commit()?;
    }
    Ok(summary)
}

/// summary.json's details.
fn details(r: &GeodesicResult, files: &[&str]) -> serde_json::Value {
    let mut d = json!({
        "model": r.model,
        "params": r.params,
        "from": r.from,
        "to": r.to,
        "closed_form": r.closed_form,
        "closed_form_family": r.closed_form_family,
        "closed_form_velocity": r.closed_form_velocity,
        "christoffel": r.christoffel,
    });
    if let Some(why) = &r.failure {
        d["failure"] = json!(why);
    }
    if let Some(f) = &r.found {
        d["distance"] = json!(f.distance);
        d["initial_velocity"] = json!(f.initial_velocity);
        d["residual"] = json!(f.residual);
        d["speed_drift"] = json!(f.speed_drift);
        d["path_error"] = json!(f.path_error);
        d["method"] = json!(f.method);
        d["attempts"] = json!(f.attempts);
        d["iterations"] = json!(f.iterations);
        d["path_points"] = json!(f.path.len());
        d["files"] = json!(files);
    }
    d
}

/// path.csv: t, θ…, speed², and the closed-form curve when known.
fn write_path(o: &OutDir, r: &GeodesicResult, f: &Found) -> Result<()> {
    let mut csv = String::from("t");
    for n in &r.params {
        csv.push_str(&format!(",{n}"));
    }
    csv.push_str(",speed2");
    if f.closed_curve.is_some() {
        for n in &r.params {
            csv.push_str(&format!(",closed_{n}"));
        }
    }
    csv.push('\n');
    for p in &f.path {
        csv.push_str(&csv_number(p.t));
        for x in &p.theta {
            csv.push_str(&format!(",{}", csv_number(*x)));
        }
        csv.push_str(&format!(",{}", csv_number(p.speed2)));
        for x in p.closed.iter().flatten() {
            csv.push_str(&format!(",{}", csv_number(*x)));
        }
        csv.push('\n');
    }
    o.write_text("path.csv", &csv)
}

/// geodesic.png: the path in the plane of a 2-D family.
fn plot_path(o: &OutDir, r: &GeodesicResult, f: &Found) -> Result<()> {
    let geo: Vec<(f64, f64)> = f.path.iter().map(|p| (p.theta[0], p.theta[1])).collect();
    let chord = vec![(r.from[0], r.from[1]), (r.to[0], r.to[1])];
    let mut series = vec![
        plot::Series::line("geodesic", geo),
        plot::Series::line("coordinate chord", chord.clone()),
        plot::Series::points("end points", chord),
    ];
    if let Some(c) = &f.closed_curve {
        let cf: Vec<(f64, f64)> = c.iter().map(|p| (p[0], p[1])).collect();
        series.push(plot::Series::points("closed form", cf));
    }
    plot::line_chart(
        &o.path("geodesic.png"),
        &plot::Axes {
            title: format!("Fisher–Rao geodesic, {}: d = {:.6}", r.model, f.distance),
            x_label: r.params[0].clone(),
            y_label: r.params[1].clone(),
            ..Default::default()
        },
        &series,
    )
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
        // Oracle: the closed forms of the families; and the two
        // parametrisations describe the same pair of distributions.
        let a = run_file(&example("normal.toml"), None).unwrap();
        let b = run_file(&example("normal_var.toml"), None).unwrap();
        assert!(a.pass && b.pass, "{:?} {:?}", a.checks, b.checks);
        let (da, db) = (
            a.details["distance"].as_f64().unwrap(),
            b.details["distance"].as_f64().unwrap(),
        );
        assert!((da - db).abs() < 1e-9 * da, "{da} {db}");
        // Both runs carry the distance, velocity and curve checks.
        assert_eq!(a.checks.len(), 5, "{:?}", a.checks);
    }

    #[test]
    fn writes_path_and_plot() {
        let dir = std::env::temp_dir().join(format!("brg-geodesic-{}", std::process::id()));
        run_file(&example("normal.toml"), Some(&dir)).unwrap();
        let csv = std::fs::read_to_string(dir.join("path.csv")).unwrap();
        assert!(csv.starts_with("t,mu,sigma,speed2,closed_mu,closed_sigma\n"));
        assert!(csv.lines().count() > 50);
        assert!(dir.join("geodesic.png").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

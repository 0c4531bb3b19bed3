//! `bayesrg geodesic FILE.toml`: the Fisher–Rao distance and the geodesic
//! between two points of a model ([`bayesrg_core::geometry::distance`]), checked
//! against the family's closed form when it has one
//! ([`bayesrg_core::geometry::closed_form`]).
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

use super::{Check, Summary};
use crate::output::csv_number;
use crate::plot;
use anyhow::{Result, anyhow, bail};
use bayesrg_core::Model;
use bayesrg_core::geometry::closed_form;
use bayesrg_core::geometry::distance::{ShootOptions, distance, distance_from};
use bayesrg_core::geometry::{FisherMetric, Metric};
use nalgebra::DVector;
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
    /// [`closed_form::names`]); by default the model's own closed form.
    #[serde(default)]
    pub closed_form: Option<String>,
    /// Whether to plot the path (only for 2-D families; default: when 2-D).
    #[serde(default)]
    pub plot: Option<bool>,
    /// Convergence: the miss at `to` in Fisher units relative to the distance.
    #[serde(default)]
    pub tol: Option<f64>,
    /// `auto` (closed-form Christoffel symbols for the built-in families that
    /// have them) or `differences` (central differences of the Fisher metric).
    #[serde(default)]
    pub christoffel: Option<String>,
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

/// Relative tolerance of the distance against a closed form (issue #16: every
/// built-in family within 1e-8 of its closed form).
pub const DISTANCE_TOL: f64 = 1e-8;
/// Tolerance of the initial velocity and of the path against a closed-form
/// geodesic, in Fisher units relative to the distance.
pub const PATH_TOL: f64 = 1e-6;

/// Reads a geodesic config (TOML, or JSON by extension).
pub fn load(path: &Path) -> Result<GeodesicConfig> {
    crate::config::load(path)
}

/// Loads `path` and runs it; see [`run`].
pub fn run_file(path: &Path, out: Option<&Path>) -> Result<Summary> {
    let cfg = load(path)?;
    run(&cfg, Some(path.display().to_string()), out)
}

/// √(xᵀg x).
fn fisher_norm(g: &nalgebra::DMatrix<f64>, x: &[f64]) -> f64 {
    let v = DVector::from_column_slice(x);
    v.dot(&(g * &v)).max(0.0).sqrt()
}

/// Finds the geodesic from `from` to `to`, checks it, and writes the results
/// into `out` when given. Errors are bad input (exit 2); a solver that does not
/// converge gives a summary with a failed check and the reason (exit 1).
pub fn run(cfg: &GeodesicConfig, config: Option<String>, out: Option<&Path>) -> Result<Summary> {
    let staged = crate::output::stage(out, config.as_deref().map(Path::new).as_slice())?;
    let model = cfg.model.as_ref();
    let d = model.dim();
    let family = bayesrg_core::model::type_name(model);
    // Semantic errors name the config file (and, for typed errors, the line).
    let origin = config.as_deref().unwrap_or("the geodesic config");
    let place = |e: bayesrg_core::Error| match config.as_deref() {
        Some(p) => crate::config::at_field(Path::new(p), e),
        None => anyhow::Error::new(e),
    };
    model
        .check_params(&cfg.from)
        .map_err(|e| anyhow!("{origin}: `from` is not a valid point: {e}"))?;
    model
        .check_params(&cfg.to)
        .map_err(|e| anyhow!("{origin}: `to` is not a valid point: {e}"))?;
    let plot_path = match cfg.plot {
        Some(true) if d != 2 => {
            bail!("{origin}: `plot = true` needs a 2-D family; model `{family}` has dimension {d}")
        }
        Some(p) => p,
        None => d == 2,
    };
    // A named closed form must be this model's geometry (issue #11 §2): its
    // dimension and its Fisher metric at both points are checked before any work.
    let named = match &cfg.closed_form {
        Some(name) => Some((
            name.clone(),
            closed_form::check_named(model, name, &[("from", &cfg.from), ("to", &cfg.to)])
                .map_err(place)?,
        )),
        None => None,
    };
    if let Some(t) = cfg.tol
        && !(t > 0.0 && t < 1.0)
    {
        bail!("{origin}: `tol` = {t} must be in (0, 1)");
    }
    let known_christoffel = match cfg.christoffel.as_deref() {
        None | Some("auto") => true,
        Some("differences") => false,
        Some(other) => bail!("{origin}: `christoffel` = `{other}` must be `auto` or `differences`"),
    };
    let metric = FisherMetric {
        samples: cfg.samples,
        seed: cfg.seed,
        known_christoffel,
        ..FisherMetric::new(model)
    };
    let mut opt = ShootOptions::default();
    if let Some(t) = cfg.tol {
        opt.tol = t;
    }
    let known = closed_form::for_model(model, &cfg.from, &cfg.to);
    let (oracle_value, oracle_name) = match (&named, &known) {
        (Some((name, f)), _) => (f.distance(&cfg.from, &cfg.to), name.clone()),
        (None, Some(k)) => (Some(k.distance), k.family.to_string()),
        (None, None) => (None, String::new()),
    };
    let names = model.param_names();
    let mut details = json!({
        "model": family,
        "params": names,
        "from": cfg.from,
        "to": cfg.to,
        "closed_form": oracle_value,
        "closed_form_family": (!oracle_name.is_empty()).then_some(&oracle_name),
        "closed_form_velocity": known.as_ref().and_then(|k| k.velocity.clone()),
        "christoffel": if known_christoffel { "auto" } else { "differences" },
    });
    // Start from what is known: the closed-form geodesic's initial velocity
    // when the family has one (the shot still integrates the geodesic equation
    // and must hit `to`, so the checks below stay independent of it).
    // A closed-form velocity that overflowed (σ from 1e-300 to 1e300) is no
    // guess: shoot without one rather than report an internal value as bad input.
    let finite_velocity = known
        .as_ref()
        .and_then(|k| k.velocity.as_deref())
        .filter(|v| v.iter().all(|x| x.is_finite()));
    let solved = match finite_velocity {
        Some(v) => distance_from(&metric, &cfg.from, &cfg.to, v, &opt),
        None => distance(&metric, &cfg.from, &cfg.to, &opt),
    };
    let shot = match solved {
        Ok(s) => s,
        Err(e) if e.is_bad_input() => return Err(e.into()),
        Err(e) => {
            let reason = e.to_string();
            // A failed computation: exit 1 with the reason, never "bad input".
            details["failure"] = json!(reason);
            let checks = vec![Check::at_most(
                "geodesic found (miss at `to` / distance)",
                f64::NAN,
                opt.tol,
                format!("no method converged: {reason}"),
            )];
            let summary = Summary::new("geodesic", config, checks, details);
            if let Some(o) = staged {
                o.write_json("summary.json", &summary)?;
                o.commit()?;
            }
            return Ok(summary);
        }
    };
    let g1 = metric.metric(&cfg.from)?;
    let g2 = metric.metric(&cfg.to)?;
    // The miss is bounded below by rounding of `to` itself: ε·|to| in Fisher units.
    let rounding = 16.0 * f64::EPSILON * fisher_norm(&g2, &cfg.to);
    let mut checks = vec![
        Check::at_most(
            "miss at `to` in Fisher units",
            shot.residual,
            10.0 * opt.tol * shot.distance + rounding,
            "the geodesic must end at `to` (10·tol·d + 16ε·|to|)",
        ),
        Check::at_most(
            "relative drift of the speed g(v, v) along the path",
            shot.geodesic.speed_drift,
            1e-6,
            "a geodesic has constant speed",
        ),
    ];
    if let Some(want) = oracle_value {
        checks.push(Check::at_most(
            "|distance - closed form| / closed form",
            (shot.distance - want).abs() / want.max(f64::MIN_POSITIVE),
            DISTANCE_TOL,
            format!("closed-form `{oracle_name}` distance (oracles.md §3)"),
        ));
    }
    let scale = shot.distance.max(f64::MIN_POSITIVE);
    let mut path_error = None;
    // Both sides of a path comparison are points of size |θ| (and a velocity
    // is a difference of such points over t ∈ [0, 1]), each carrying a few ulp
    // of its size: the comparisons allow 16ε·|θ| in Fisher units, divided by
    // the distance like the compared quantity (for points 10⁻¹¹ apart the
    // allowance dominates PATH_TOL; for d of order one it is 10⁻¹⁵).
    if let Some(k) = &known {
        if let Some(vcf) = k
            .velocity
            .as_ref()
            .filter(|v| v.iter().all(|x| x.is_finite()))
        {
            let diff: Vec<f64> = shot.velocity.iter().zip(vcf).map(|(a, b)| a - b).collect();
            let ulps = (16.0 * f64::EPSILON * fisher_norm(&g1, &cfg.from)).max(rounding) / scale;
            checks.push(Check::at_most(
                "|v - v_closed| in Fisher units / distance",
                fisher_norm(&g1, &diff) / scale,
                PATH_TOL + ulps,
                format!(
                    "initial velocity of the closed-form `{}` geodesic (+ 16ε·|θ|/d)",
                    k.family
                ),
            ));
        }
        if k.curve.is_some() {
            let (mut worst, mut allowed): (f64, f64) = (0.0, 0.0);
            for (t, p) in shot.geodesic.t.iter().zip(&shot.geodesic.points) {
                let q = k.point(*t).unwrap_or_default();
                let diff: Vec<f64> = p.iter().zip(&q).map(|(a, b)| a - b).collect();
                let g = metric.metric(p)?;
                worst = worst.max(fisher_norm(&g, &diff) / scale);
                allowed = allowed.max(16.0 * f64::EPSILON * fisher_norm(&g, p) / scale);
            }
            path_error = Some(worst);
            checks.push(Check::at_most(
                "max |θ(t) - θ_closed(t)| in Fisher units / distance",
                worst,
                PATH_TOL + allowed,
                format!(
                    "the closed-form `{}` geodesic curve (+ 16ε·|θ(t)|/d)",
                    k.family
                ),
            ));
        }
    }
    details["distance"] = json!(shot.distance);
    details["initial_velocity"] = json!(shot.velocity);
    details["residual"] = json!(shot.residual);
    details["speed_drift"] = json!(shot.geodesic.speed_drift);
    details["path_error"] = json!(path_error);
    details["method"] = json!(shot.method);
    details["attempts"] = json!(shot.attempts);
    details["iterations"] = json!(shot.iterations);
    details["path_points"] = json!(shot.geodesic.points.len());
    details["files"] = if out.is_some() {
        let mut f = vec!["summary.json", "path.csv"];
        if plot_path {
            f.push("geodesic.png");
        }
        json!(f)
    } else {
        json!([])
    };
    let summary = Summary::new("geodesic", config, checks, details);
    if let Some(o) = staged {
        let path = &shot.geodesic;
        let mut csv = String::from("t");
        for n in &names {
            csv.push_str(&format!(",{n}"));
        }
        csv.push_str(",speed2");
        let curve = known.as_ref().filter(|k| k.curve.is_some());
        if curve.is_some() {
            for n in &names {
                csv.push_str(&format!(",closed_{n}"));
            }
        }
        csv.push('\n');
        for ((t, p), v) in path.t.iter().zip(&path.points).zip(&path.velocities) {
            let g = metric.metric(p)?;
            csv.push_str(&csv_number(*t));
            for x in p {
                csv.push_str(&format!(",{}", csv_number(*x)));
            }
            csv.push_str(&format!(",{}", csv_number(fisher_norm(&g, v).powi(2))));
            if let Some(k) = curve {
                for x in k.point(*t).unwrap_or_default() {
                    csv.push_str(&format!(",{}", csv_number(x)));
                }
            }
            csv.push('\n');
        }
        o.write_text("path.csv", &csv)?;
        if plot_path {
            let geo: Vec<(f64, f64)> = path.points.iter().map(|p| (p[0], p[1])).collect();
            let chord = vec![(cfg.from[0], cfg.from[1]), (cfg.to[0], cfg.to[1])];
            let mut series = vec![
                plot::Series::line("geodesic", geo),
                plot::Series::line("coordinate chord", chord.clone()),
                plot::Series::points("end points", chord),
            ];
            if let Some(k) = curve {
                let cf: Vec<(f64, f64)> = (0..=40)
                    .filter_map(|i| k.point(i as f64 / 40.0))
                    .map(|p| (p[0], p[1]))
                    .collect();
                series.push(plot::Series::points("closed form", cf));
            }
            plot::line_chart(
                &o.path("geodesic.png"),
                &plot::Axes {
                    title: format!("Fisher–Rao geodesic, {family}: d = {:.6}", shot.distance),
                    x_label: names[0].clone(),
                    y_label: names[1].clone(),
                    ..Default::default()
                },
                &series,
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

//! `bayesrg spectrum FILE.toml`: the Fisher spectrum of a model at a point —
//! eigenvalues with error bounds, their log-spacing, stiff and sloppy
//! directions and the participation of each parameter — and, for a lattice
//! free field (`[free_field]`), the Wilson-shell analysis and the cutoff check
//! of eqs. (4)–(6).
//!
//! The config file is a [`SpectrumSpec`]; the work is
//! [`bayesrg_core::geometry::spectrum::run`]; this module reads the config,
//! calls the runner and writes its result.
//!
//! Config:
//! ```toml
//! theta = [0.0, 1.0]     # the point (omit with [free_field])
//! expect_decades = 6.0   # optional: check that the digits support at least this many decades
//! expect_rank = 2        # optional: the rank of I (default: d, a positive-definite metric)
//! samples = 100000       # optional: Monte Carlo Fisher fallback
//! seed = 1               # optional
//!
//! [model]
//! type = "normal"
//!
//! # lattice_field only:
//! # [free_field]
//! # mass = 0.5
//! # cutoff = { lambda = 1.5, power = 2.0 }   # optional K_Λ = exp(−(p̂²/Λ²)ⁿ)
//! # taus = [1e-3, 1e-2, 0.1]                 # optional DB-RG scales
//! ```
//! Writes `summary.json`, `spectrum.csv`, `participation.csv`, `spectrum.png`;
//! with `[free_field]` also `shells.csv`, `dbrg.csv` and `fisher_vs_momentum.png`.

use super::Summary;
use crate::output::{OutDir, csv_number};
use crate::plot;
use anyhow::Result;
use bayesrg_core::geometry::spectrum::{self, SpectrumResult};
use bayesrg_core::observe::Silent;
use serde_json::json;
use std::path::Path;

pub use bayesrg_core::geometry::spectrum::SpectrumSpec;

/// The config of `bayesrg spectrum` (the library's spec).
pub type SpectrumConfig = SpectrumSpec;

impl crate::config::Validate for SpectrumSpec {
    fn validate(&self) -> bayesrg_core::Result<()> {
        SpectrumSpec::validate(self)
    }
}

/// Reads a spectrum config (TOML, or JSON by extension); errors name the
/// file, line and column.
pub fn load(path: &Path) -> Result<SpectrumSpec> {
    crate::config::load_valid(path)
}

/// Loads `path` and runs it; see [`run`].
pub fn run_file(path: &Path, out: Option<&Path>) -> Result<Summary> {
    let cfg = load(path)?;
    run(&cfg, Some(path.display().to_string()), out)
}

/// Runs the spectrum of `spec` (read from `config`, for messages and
/// summary.json) and writes the results into `out` when given.
pub fn run(spec: &SpectrumSpec, config: Option<String>, out: Option<&Path>) -> Result<Summary> {
    spec.validate()
        .map_err(|e| super::at_origin(config.as_deref(), e))?;
    let staged = crate::output::stage(out, config.as_deref().map(Path::new).as_slice())?;
    let r = spectrum::run(spec, &mut Silent).map_err(|e| super::at_origin(config.as_deref(), e))?;
    let summary = Summary::new("spectrum", config, r.checks.clone(), details(&r));
    if let Some(o) = staged {
        write_files(&o, &r)?;
        o.write_json("summary.json", &summary)?;
        o.commit()?;
    }
    Ok(summary)
}

/// summary.json's details.
fn details(r: &SpectrumResult) -> serde_json::Value {
    let s = &r.spectrum;
    let mut d = json!({
        "model": r.model,
        "params": r.params,
        "theta": r.theta,
        "fisher_source": r.fisher_source,
        "method": s.method,
        "method_description": s.method.describe(),
        "eigenvalues": s.eigenvalues,
        "error_bounds": s.error_bounds,
        "digits": s.digits,
        "rank": s.rank,
        "null_directions": r.null_directions,
        "null_space": s.null_directions,
        "decades": s.decades,
        "decades_lower_bound": s.decades_lower_bound,
        "log10_spacings": s.log10_spacings,
        "mean_log10_spacing": r.mean_log10_spacing,
        "stiffest_direction_dominant_param": s.dominant_param.first(),
        "sloppiest_direction_dominant_param": s.dominant_param.last(),
        "participation_ratio": s.participation_ratio,
        "dominant_param": s.dominant_param,
    });
    if let Some(w) = &r.lattice {
        d["lattice"] = json!({
            "shape": w.shape,
            "mass": w.free_field.mass,
            "cutoff": w.cutoff,
            "spearman_fisher_momentum": w.correspondence.spearman_fisher_momentum,
            "ordering": "sorted directly by diagonal Fisher (eq. 55)",
            "dbrg": w.dbrg,
        });
    }
    d
}

/// spectrum.csv, participation.csv, spectrum.png and, for a free field,
/// shells.csv, dbrg.csv and fisher_vs_momentum.png.
fn write_files(o: &OutDir, r: &SpectrumResult) -> Result<()> {
    let s = &r.spectrum;
    let mut csv = String::from(
        "index,eigenvalue,error_bound,digits,null,log10_eigenvalue,log10_spacing_to_next,dominant_param,participation_ratio\n",
    );
    for k in 0..s.eigenvalues.len() {
        csv.push_str(&format!(
            "{},{},{},{:.2},{},{},{},{},{}\n",
            k + 1,
            csv_number(s.eigenvalues[k]),
            csv_number(s.error_bounds[k]),
            s.digits[k],
            s.eigenvalues[k].abs() <= s.error_bounds[k] || s.eigenvalues[k].is_nan(),
            csv_number(s.log10_eigenvalues[k]),
            csv_number(s.log10_spacings.get(k).copied().unwrap_or(f64::NAN)),
            s.dominant_param[k],
            csv_number(s.participation_ratio[k])
        ));
    }
    o.write_text("spectrum.csv", &csv)?;
    let mut p = String::from("param");
    for k in 0..s.eigenvalues.len() {
        p.push_str(&format!(",dir{}", k + 1));
    }
    p.push('\n');
    for (i, n) in r.params.iter().enumerate() {
        p.push_str(n);
        for k in 0..s.eigenvalues.len() {
            p.push_str(&format!(",{}", csv_number(s.participation[i][k])));
        }
        p.push('\n');
    }
    o.write_text("participation.csv", &p)?;
    let pts: Vec<(f64, f64)> = s
        .eigenvalues
        .iter()
        .enumerate()
        .map(|(k, v)| ((k + 1) as f64, *v))
        .collect();
    plot::line_chart(
        &o.path("spectrum.png"),
        &plot::Axes {
            title: format!("Fisher spectrum, {}: {:.1} decades", r.model, s.decades),
            x_label: "eigenvalue index (stiffest first)".into(),
            y_label: "eigenvalue of I".into(),
            log_y: true,
            ..Default::default()
        },
        &[plot::Series {
            label: "eigenvalues".into(),
            points: pts,
            style: plot::Style::LinePoints,
        }],
    )?;
    let Some(w) = &r.lattice else {
        return Ok(());
    };
    let c = &w.correspondence;
    let mut t = String::from("mode,p_hat,theta,fisher,fisher_rank,momentum_rank\n");
    for r in &c.rows {
        t.push_str(&format!(
            "{},{},{},{},{},{}\n",
            r.mode,
            csv_number(r.p_hat),
            csv_number(r.theta),
            csv_number(r.fisher),
            r.fisher_rank,
            r.momentum_rank
        ));
    }
    o.write_text("shells.csv", &t)?;
    let mut t = String::from("tau,lambda,resolved_by_fisher,resolved_by_momentum\n");
    for r in &w.dbrg {
        t.push_str(&format!(
            "{},{},{},{}\n",
            csv_number(r.tau),
            csv_number(r.lambda),
            r.resolved_by_fisher,
            r.resolved_by_momentum
        ));
    }
    o.write_text("dbrg.csv", &t)?;
    let modes: Vec<(f64, f64)> = c.rows.iter().map(|r| (r.p_hat, r.fisher)).collect();
    let pmax = modes.iter().map(|m| m.0).fold(0.0, f64::max);
    let mut series = vec![
        plot::Series::points("modes (closed-form Fisher)", modes),
        plot::Series::line("K²/(2(p²+m²)²)", w.fisher_curve.clone()),
    ];
    if let Some(k) = &w.cutoff {
        series.push(plot::Series::line(
            format!("Fisher threshold I_Λ at Λ = {}", k.lambda),
            vec![(0.0, k.fisher_threshold), (pmax, k.fisher_threshold)],
        ));
    }
    plot::line_chart(
        &o.path("fisher_vs_momentum.png"),
        &plot::Axes {
            title: format!("Lattice free field {:?}: Fisher against |p̂|", w.shape),
            x_label: "|p̂|".into(),
            y_label: "diagonal Fisher I_jj".into(),
            log_y: true,
            ..Default::default()
        },
        &series,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/spectrum")
            .join(name)
    }

    #[test]
    fn examples_pass() {
        for f in [
            "normal.toml",
            "poisson.toml",
            "categorical.toml",
            "sum_of_exponentials.toml",
            "lattice_1d.toml",
            "lattice_2d.toml",
            "lattice_10x10.toml",
            "gamma_large_shape.toml",
            "sum_of_exponentials_sloppy.toml",
            "linear_gaussian_singular.toml",
        ] {
            let s = run_file(&example(f), None).unwrap();
            assert!(s.pass, "{f}: {:?}", s.checks);
        }
    }

    #[test]
    fn normal_spectrum_is_the_closed_form() {
        // Oracle: I(μ, σ) = diag(1/σ², 2/σ²) at σ = 0.5 → eigenvalues 8, 4; the
        // stiff direction is σ, the sloppy one μ.
        let s = run_file(&example("normal.toml"), None).unwrap();
        let ev: Vec<f64> = serde_json::from_value(s.details["eigenvalues"].clone()).unwrap();
        assert_eq!(ev, vec![8.0, 4.0]);
        assert_eq!(s.details["dominant_param"], json!(["sigma", "mu"]));
    }

    #[test]
    fn singular_model_spectrum_reports_its_null_direction() {
        // linear_gaussian, A = [[1, 2], [2, 4]]: eigenvalues 25 and 0 (closed
        // form), null direction ±(2, −1)/√5; passes with expect_rank = 1 and
        // fails the default claim of a definite metric.
        let s = run_file(&example("linear_gaussian_singular.toml"), None).unwrap();
        assert!(s.pass, "{:?}", s.checks);
        assert_eq!(s.details["rank"], json!(1));
        assert_eq!(s.details["null_directions"], json!(1));
        let v: Vec<Vec<f64>> = serde_json::from_value(s.details["null_space"].clone()).unwrap();
        assert!(((2.0 * v[0][0] - v[0][1]).abs() / 5f64.sqrt() - 1.0).abs() < 1e-12);
        let mut cfg = load(&example("linear_gaussian_singular.toml")).unwrap();
        cfg.expect_rank = None;
        assert!(!run(&cfg, None, None).unwrap().pass);
    }

    #[test]
    fn writes_tables_and_plots() {
        let dir = std::env::temp_dir().join(format!("brg-spectrum-{}", std::process::id()));
        run_file(&example("lattice_1d.toml"), Some(&dir)).unwrap();
        for f in [
            "summary.json",
            "spectrum.csv",
            "participation.csv",
            "spectrum.png",
            "shells.csv",
            "dbrg.csv",
            "fisher_vs_momentum.png",
        ] {
            assert!(dir.join(f).exists(), "{f}");
        }
        let shells = std::fs::read_to_string(dir.join("shells.csv")).unwrap();
        assert_eq!(shells.lines().count(), 33, "header + 32 modes");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

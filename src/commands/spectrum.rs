//! `bayesrg spectrum FILE.toml`: the Fisher spectrum of a model at a point —
//! eigenvalues, their log-spacing, stiff and sloppy directions and the
//! participation of each parameter ([`bayesrg_core::geometry::sloppiness`]).
//!
//! For the lattice free field (`type = "lattice_field"`) a `[free_field]`
//! section sets θ to the free field and adds the Wilson-shell analysis of
//! docs/lattice.md: modes sorted by diagonal Fisher (the information shells of
//! eq. 55; the cutoff check removes them with `bayesrg_schemes::shell::Candidates::shell_below`) against modes sorted by |p̂|, the backward
//! posterior N(μ, τI⁻¹) of eq. (38) at the scales `taus`, and the Fisher
//! threshold that a smooth cutoff K_Λ maps to.
//!
//! Config:
//! ```toml
//! theta = [0.0, 1.0]     # the point (omit with [free_field])
//! expect_decades = 6.0   # optional: check that the spectrum spans this many decades
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

use super::{Check, Summary};
use crate::plot;
use anyhow::{Result, anyhow, bail};
use bayesrg_core::Model;
use bayesrg_core::fisher;
use bayesrg_core::geometry::sloppiness;
use bayesrg_models::lattice_field::{
    self, Correspondence, Cutoff, LatticeField, free_field_fisher, resolved_momentum2,
};
use bayesrg_schemes::shell::Candidates;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::Path;

/// The `[free_field]` section: θ is the lattice free field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreeField {
    /// The mass m ≥ 0.
    pub mass: f64,
    /// An optional smooth cutoff K_Λ.
    #[serde(default)]
    pub cutoff: Option<Cutoff>,
    /// Backward times τ at which to count resolved modes (eq. 38).
    #[serde(default = "default_taus")]
    pub taus: Vec<f64>,
}

fn default_taus() -> Vec<f64> {
    vec![1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3]
}

/// The parsed config of `bayesrg spectrum`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpectrumConfig {
    /// The model.
    pub model: Box<dyn Model>,
    /// The point θ (required unless `free_field` is given).
    #[serde(default)]
    pub theta: Option<Vec<f64>>,
    /// The lattice free field (lattice_field only).
    #[serde(default)]
    pub free_field: Option<FreeField>,
    /// If given, a check that the spectrum spans at least this many decades.
    #[serde(default)]
    pub expect_decades: Option<f64>,
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

/// Reads a spectrum config (TOML, or JSON by extension).
pub fn load(path: &Path) -> Result<SpectrumConfig> {
    crate::config::load(path)
}

/// Loads `path` and runs it; see [`run`].
pub fn run_file(path: &Path, out: Option<&Path>) -> Result<Summary> {
    let cfg = load(path)?;
    run(&cfg, Some(path.display().to_string()), out)
}

/// One DB-RG scale: how many modes the backward posterior resolves.
#[derive(Debug, Clone, Serialize)]
pub struct DbrgRow {
    /// Backward time τ = 1/T.
    pub tau: f64,
    /// The momentum cutoff Λ(τ) (NaN when no mode is resolved).
    pub lambda: f64,
    /// Modes with Iⱼⱼ ≥ τ (posterior sd of θⱼ below one Fisher unit).
    pub resolved_by_fisher: usize,
    /// Modes with p̂² ≤ Λ(τ)².
    pub resolved_by_momentum: usize,
}

/// Rebuilds the concrete lattice from the boxed model (through its serialised form).
fn as_lattice(model: &dyn Model) -> Result<LatticeField> {
    let mut v = serde_json::to_value(model)?;
    if let Some(o) = v.as_object_mut() {
        o.remove("type");
    }
    serde_json::from_value(v).map_err(|e| anyhow!("lattice_field: {e}"))
}

/// Computes the spectrum (and, for a free field, the Wilson-shell analysis),
/// checks it, and writes the results into `out` when given.
pub fn run(cfg: &SpectrumConfig, config: Option<String>, out: Option<&Path>) -> Result<Summary> {
    let staged = crate::output::stage(out, config.as_deref().map(Path::new).as_slice())?;
    let model = cfg.model.as_ref();
    let tag = bayesrg_core::model::type_name(model);
    let lattice = match (&cfg.free_field, tag) {
        (Some(ff), "lattice_field") => {
            if !(ff.mass >= 0.0 && ff.mass.is_finite()) {
                bail!("free_field.mass = {} must be >= 0", ff.mass);
            }
            if let Some(c) = ff.cutoff {
                c.check().map_err(|e| anyhow!("free_field.cutoff: {e}"))?;
            }
            if ff.mass == 0.0 && ff.cutoff.is_none() {
                bail!(
                    "free_field: the massless field without a cutoff has an infinite Fisher at p = 0; give mass > 0"
                );
            }
            if let Some(t) = ff.taus.iter().find(|t| !(**t > 0.0 && t.is_finite())) {
                bail!("free_field.taus: τ = {t} must be > 0");
            }
            Some((as_lattice(model)?, ff.clone()))
        }
        (Some(_), _) => bail!("[free_field] is only for `type = \"lattice_field\"`, not `{tag}`"),
        (None, _) => None,
    };
    let theta = match (&cfg.theta, &lattice) {
        (Some(_), Some(_)) => bail!("give either `theta` or [free_field], not both"),
        (Some(t), None) => t.clone(),
        (None, Some((f, ff))) => f.free_field_theta(ff.mass, ff.cutoff),
        (None, None) => bail!("missing `theta` (the point at which to take the spectrum)"),
    };
    model
        .check_params(&theta)
        .map_err(|e| anyhow!("`theta` is not a valid point: {e}"))?;
    let f = fisher::best(model, &theta, cfg.samples, cfg.seed)?;
    let names = model.param_names();
    let s = sloppiness::analyse(&f, &names);
    let trace = f.trace();
    let sum: f64 = s.eigenvalues.iter().sum();
    let lmin = s.eigenvalues.last().copied().unwrap_or(0.0);
    let mut checks = vec![
        Check::at_most(
            "|Σλ - tr I| / |tr I|",
            (sum - trace).abs() / trace.abs().max(1e-300),
            1e-10,
            "trace of the Fisher matrix",
        ),
        Check::at_least(
            "smallest eigenvalue",
            lmin,
            f64::MIN_POSITIVE,
            "a Fisher metric is positive definite",
        ),
    ];
    if let Some(want) = cfg.expect_decades {
        checks.push(Check::at_least(
            "decades spanned log10(λmax/λmin)",
            s.decades,
            want,
            "expect_decades in the config (a sloppy model)",
        ));
    }
    let mut details = json!({
        "model": tag,
        "params": names,
        "theta": theta,
        "eigenvalues": s.eigenvalues,
        "decades": s.decades,
        "log10_spacings": s.log10_spacings,
        "mean_log10_spacing": if s.log10_spacings.is_empty() { f64::NAN } else {
            s.log10_spacings.iter().sum::<f64>() / s.log10_spacings.len() as f64 },
        "stiffest_direction_dominant_param": s.dominant_param.first(),
        "sloppiest_direction_dominant_param": s.dominant_param.last(),
        "participation_ratio": s.participation_ratio,
        "dominant_param": s.dominant_param,
    });
    let mut wilson: Option<(LatticeField, FreeField, Correspondence, Vec<DbrgRow>)> = None;
    if let Some((field, ff)) = lattice {
        let c = lattice_field::correspondence(&field, &theta);
        checks.push(Check::at_most(
            "|spearman(I_jj, |p|) + 1|",
            (c.spearman_fisher_momentum + 1.0).abs(),
            1e-12,
            "derived: I = K²/(2(p²+m²)²) is strictly decreasing in p² (docs/lattice.md)",
        ));
        checks.push(Check::at_least(
            "sorting by Fisher sorts by momentum (1 = yes)",
            if c.orders_agree { 1.0 } else { 0.0 },
            1.0,
            "Wilson's momentum shells",
        ));
        let rows: Vec<DbrgRow> = ff
            .taus
            .iter()
            .map(|&tau| {
                let l2 = resolved_momentum2(tau, ff.mass, ff.cutoff);
                DbrgRow {
                    tau,
                    lambda: if l2 >= 0.0 { l2.sqrt() } else { f64::NAN },
                    resolved_by_fisher: theta.iter().filter(|t| 0.5 / (*t * *t) >= tau).count(),
                    resolved_by_momentum: field.modes().iter().filter(|m| m.p_hat2 <= l2).count(),
                }
            })
            .collect();
        let mismatch: usize = rows
            .iter()
            .map(|r| r.resolved_by_fisher.abs_diff(r.resolved_by_momentum))
            .sum();
        checks.push(Check::at_most(
            "DB-RG: modes resolved by Fisher (I >= τ) minus modes with p <= Λ(τ), summed over τ",
            mismatch as f64,
            0.0,
            "eq. (38): resolved iff τ ≤ I_jj; Λ(τ) from the closed-form Fisher",
        ));
        let mut cut = json!(null);
        if let Some(k) = ff.cutoff {
            let i_star = free_field_fisher(k.lambda * k.lambda, ff.mass, Some(k));
            // The information shell of eq. (55) at the Fisher scale I_Λ removes
            // Θ^< = {I_jj ≤ I_Λ}; the modes it keeps must be exactly p < Λ.
            let shells = Candidates {
                theta: theta.clone(),
                fisher: field
                    .fisher(&theta)
                    .map(|f| f.diagonal().as_slice().to_vec())
                    .unwrap_or_default(),
            };
            let removed = shells.shell_below(i_star);
            let shell_mismatch = field
                .modes()
                .iter()
                .enumerate()
                .filter(|(j, m)| {
                    removed.binary_search(j).is_ok() == (m.p_hat2 < k.lambda * k.lambda)
                })
                .count();
            checks.push(Check::at_most(
                "cutoff mapping: modes where I > I_Λ disagrees with p < Λ",
                shell_mismatch as f64,
                0.0,
                "I_Λ = K_Λ(Λ²)²/(2(Λ²+m²)²) (docs/lattice.md)",
            ));
            cut = json!({"lambda": k.lambda, "power": k.power, "fisher_threshold": i_star,
                "modes_below_lambda": field.modes().iter().filter(|m| m.p_hat2 < k.lambda * k.lambda).count()});
        }
        details["lattice"] = json!({
            "shape": field.shape(),
            "mass": ff.mass,
            "cutoff": cut,
            "spearman_fisher_momentum": c.spearman_fisher_momentum,
            "ordering": "sorted directly by diagonal Fisher (eq. 55)",
            "dbrg": rows,
        });
        wilson = Some((field, ff, c, rows));
    }
    let summary = Summary::new("spectrum", config, checks, details);
    if let Some(o) = staged {
        let mut csv = String::from(
            "index,eigenvalue,log10_eigenvalue,log10_spacing_to_next,dominant_param,participation_ratio\n",
        );
        for k in 0..s.eigenvalues.len() {
            csv.push_str(&format!(
                "{},{},{},{},{},{}\n",
                k + 1,
                s.eigenvalues[k],
                s.log10_eigenvalues[k],
                s.log10_spacings.get(k).copied().unwrap_or(f64::NAN),
                s.dominant_param[k],
                s.participation_ratio[k]
            ));
        }
        o.write_text("spectrum.csv", &csv)?;
        let mut p = String::from("param");
        for k in 0..s.eigenvalues.len() {
            p.push_str(&format!(",dir{}", k + 1));
        }
        p.push('\n');
        for (i, n) in names.iter().enumerate() {
            p.push_str(n);
            for k in 0..s.eigenvalues.len() {
                p.push_str(&format!(",{}", s.participation[i][k]));
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
                title: format!("Fisher spectrum, {tag}: {:.1} decades", s.decades),
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
        if let Some((field, ff, c, rows)) = &wilson {
            let mut t = String::from("mode,p_hat,theta,fisher,fisher_rank,momentum_rank\n");
            for r in &c.rows {
                t.push_str(&format!(
                    "{},{},{},{},{},{}\n",
                    r.mode, r.p_hat, r.theta, r.fisher, r.fisher_rank, r.momentum_rank
                ));
            }
            o.write_text("shells.csv", &t)?;
            let mut t = String::from("tau,lambda,resolved_by_fisher,resolved_by_momentum\n");
            for r in rows {
                t.push_str(&format!(
                    "{},{},{},{}\n",
                    r.tau, r.lambda, r.resolved_by_fisher, r.resolved_by_momentum
                ));
            }
            o.write_text("dbrg.csv", &t)?;
            let modes: Vec<(f64, f64)> = c.rows.iter().map(|r| (r.p_hat, r.fisher)).collect();
            let pmax = modes.iter().map(|m| m.0).fold(0.0, f64::max);
            let curve: Vec<(f64, f64)> = (0..=200)
                .map(|i| {
                    let p = pmax * i as f64 / 200.0;
                    (p, free_field_fisher(p * p, ff.mass, ff.cutoff))
                })
                .collect();
            let mut series = vec![
                plot::Series::points("modes (closed-form Fisher)", modes),
                plot::Series::line("K²/(2(p²+m²)²)", curve),
            ];
            if let Some(k) = ff.cutoff {
                let i_star = free_field_fisher(k.lambda * k.lambda, ff.mass, Some(k));
                series.push(plot::Series::line(
                    format!("Fisher threshold I_Λ at Λ = {}", k.lambda),
                    vec![(0.0, i_star), (pmax, i_star)],
                ));
            }
            plot::line_chart(
                &o.path("fisher_vs_momentum.png"),
                &plot::Axes {
                    title: format!("Lattice free field {:?}: Fisher against |p̂|", field.shape()),
                    x_label: "|p̂|".into(),
                    y_label: "diagonal Fisher I_jj".into(),
                    log_y: true,
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

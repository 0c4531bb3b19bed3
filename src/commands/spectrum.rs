//! `bayesrg spectrum FILE.toml`: the Fisher spectrum of a model at a point —
//! eigenvalues, their log-spacing, stiff and sloppy directions and the
//! participation of each parameter ([`bayesrg_core::geometry::sloppiness`]).
//!
//! Every eigenvalue comes with an error bound and the number of digits it
//! carries (`bayesrg_core::linalg` module docs): a forward-map model's spectrum
//! is the squared singular values of the whitened Jacobian Σ^{-1/2}J, any other
//! metric's is taken by Jacobi, which keeps the relative accuracy of small
//! eigenvalues of a graded matrix. Eigenvalues that cannot be told from 0 are
//! null directions; the checks fail where the digits do not support the claim
//! (a rank, a positive-definite metric, a number of decades).
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

use super::{Check, Summary};
use crate::output::csv_number;
use crate::plot;
use anyhow::{Context, Result, anyhow, bail};
use bayesrg_core::Model;
use bayesrg_core::fisher;
use bayesrg_core::geometry::sloppiness;
use bayesrg_core::linalg::{SpectrumMethod, UNIT_ROUNDOFF};
use bayesrg_core::model::Lattice;
use bayesrg_core::rank;
use bayesrg_models::lattice_field::{
    self, Correspondence, Cutoff, free_field_fisher, resolved_momentum2,
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
    /// If given, a check that the spectrum spans at least this many decades,
    /// counting each eigenvalue's error bound against the claim.
    #[serde(default)]
    pub expect_decades: Option<f64>,
    /// The rank the Fisher metric should have: the number of eigenvalues above
    /// their error bound. Default: the dimension d (an identifiable model's
    /// metric is positive definite). Give it for a non-identifiable model.
    #[serde(default)]
    pub expect_rank: Option<usize>,
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

impl crate::config::Validate for SpectrumConfig {
    /// Every value, and the size of the run (issue 11 §2, §3, §6): a model
    /// with no parameters, a NaN θ, a negative or NaN `expect_decades`, a
    /// rank above the dimension, a metric too large for the machine; each
    /// refused naming its field before any work.
    fn validate(&self) -> bayesrg_core::Result<()> {
        use bayesrg_core::budget;
        use bayesrg_core::error::{Error, Field, require, show};
        let model = self.model.as_ref();
        let d = model.dim();
        let tag = bayesrg_core::model::type_name(model);
        require::has_parameters("model", tag, d)?;
        if let Some(t) = &self.theta {
            require::all_finite("theta", t)?;
        }
        if let Some(x) = self.expect_decades {
            require::non_negative("expect_decades", x)?;
        }
        if let Some(r) = self.expect_rank
            && r > d
        {
            return Err(Error::domain(
                "expect_rank",
                r,
                format!("must be at most the dimension {d} of model `{tag}`"),
            ));
        }
        require::at_least("samples", self.samples, 1)?;
        if let Some(ff) = &self.free_field {
            require::non_negative("free_field.mass", ff.mass)?;
            for (i, t) in ff.taus.iter().enumerate() {
                require::positive(Field::key("free_field").then("taus").at(i), *t)?;
            }
            if ff.mass == 0.0 && ff.cutoff.is_none() {
                return Err(Error::domain(
                    "free_field.mass",
                    show(ff.mass),
                    "must be > 0 without a cutoff: the massless field has an infinite Fisher at p = 0",
                ));
            }
        }
        // What the run asks of the machine: the d×d metric, its eigenvectors
        // and a Jacobi sweep (d³), and the Monte Carlo fallback's scores.
        let df = d as f64;
        budget::check_memory("model", 4.0 * df * df * 8.0)?;
        budget::check_work("model", 10.0 * df * df * df)?;
        budget::check_memory("samples", self.samples as f64 * df * 8.0)?;
        budget::check_work("samples", self.samples as f64 * df * df)?;
        Ok(())
    }
}

/// Reads a spectrum config (TOML, or JSON by extension).
pub fn load(path: &Path) -> Result<SpectrumConfig> {
    crate::config::load_valid(path)
}

/// Loads `path` and runs it; see [`run`].
pub fn run_file(path: &Path, out: Option<&Path>) -> Result<Summary> {
    let cfg = load(path)?;
    run(&cfg, Some(path.display().to_string()), out).with_context(|| path.display().to_string())
}

/// One DB-RG scale: how many modes the backward posterior resolves.
#[derive(Debug, Clone, Serialize)]
pub struct DbrgRow {
    /// Backward time τ = 1/T.
    pub tau: f64,
    /// The momentum cutoff Λ(τ) from the closed-form Fisher (NaN when no
    /// mode is resolved).
    pub lambda: f64,
    /// The count: modes with Iⱼⱼ ≥ τ (posterior sd of θⱼ below one Fisher
    /// unit), a mode whose Iⱼⱼ ties τ to within
    /// [`lattice_field::TIE_RTOL`] counting as resolved.
    pub resolved_by_fisher: usize,
    /// Modes inside the momentum ball p̂² ≤ Λ(τ)², with p̂² tied to Λ(τ)² to
    /// within `TIE_RTOL·(p̂² + m²)` counting as inside.
    pub resolved_by_momentum: usize,
}

/// One DB-RG row at `tau` from the diagonal Fisher `fisher` of the modes.
///
/// The resolved set is counted once, from one quantity: Iⱼⱼ ≥ τ (eq. 38),
/// with ties at rounding level resolved together so that rounding cannot split
/// a momentum shell (τ equal to a Fisher value is the common case: a user
/// picks τ = I of a mode). The momentum count is the check of that set against
/// the closed-form Λ(τ) of docs/lattice.md, compared with the same tolerance:
/// the two can differ only if the Fisher is not a decreasing function of p̂²
/// or Λ(τ) is wrong, never by rounding.
pub fn dbrg_row(
    field: &dyn Lattice,
    fisher: &[f64],
    tau: f64,
    mass: f64,
    cutoff: Option<Cutoff>,
) -> DbrgRow {
    let tol = lattice_field::TIE_RTOL;
    let l2 = resolved_momentum2(tau, mass, cutoff);
    // τ tied to the Fisher of p̂ = 0 resolves the zero mode: Λ = 0, not "none".
    let l2 = if l2 < 0.0 && rank::tied(free_field_fisher(0.0, mass, cutoff), tau, tol) {
        0.0
    } else {
        l2
    };
    let m2 = mass * mass;
    DbrgRow {
        tau,
        lambda: if l2 >= 0.0 { l2.sqrt() } else { f64::NAN },
        resolved_by_fisher: fisher
            .iter()
            .filter(|&&i| i >= tau || rank::tied(i, tau, tol))
            .count(),
        resolved_by_momentum: field
            .modes()
            .iter()
            .filter(|m| {
                l2 >= 0.0
                    && (m.p_hat2 <= l2 || (m.p_hat2 - l2).abs() <= tol * (m.p_hat2.max(l2) + m2))
            })
            .count(),
    }
}

/// Where the Fisher matrix of the spectrum came from, and how far the matrix
/// itself may be from the truth (added to every eigenvalue's error bound by
/// Weyl's inequality).
struct FisherSource {
    matrix: nalgebra::DMatrix<f64>,
    name: &'static str,
    /// A bound on the spectral norm of the input's own error (0 for a closed form).
    input_error: f64,
}

/// The Fisher in the order of `fisher::best`, keeping track of its source: a
/// closed form or JᵀΣ⁻¹J (exact to rounding), the KL Hessian (finite
/// differences: its error estimated by a second step scale), or Monte Carlo
/// E[ℓℓᵀ] (error: 3 standard errors, Frobenius norm).
fn fisher_source(model: &dyn Model, theta: &[f64], n: usize, seed: u64) -> Result<FisherSource> {
    if let Ok(e) = fisher::closed_form(model, theta) {
        return Ok(FisherSource {
            matrix: e.matrix,
            name: "closed_form",
            input_error: 0.0,
        });
    }
    if let Ok(e) = fisher::jacobian_form(model, theta) {
        return Ok(FisherSource {
            matrix: e.matrix,
            name: "jacobian",
            input_error: 0.0,
        });
    }
    if let Ok(e) = fisher::kl_hessian(model, theta) {
        let scales: Vec<f64> = e.matrix.diagonal().iter().map(|v| 1.0 / v.sqrt()).collect();
        let other = fisher::kl_hessian_scaled(model, theta, &scales)?;
        return Ok(FisherSource {
            input_error: (&e.matrix - other.matrix).norm(),
            matrix: e.matrix,
            name: "kl_hessian (finite differences; error from a second step scale)",
        });
    }
    let e = fisher::score_outer(model, theta, n, seed)?;
    Ok(FisherSource {
        input_error: e.std_err.as_ref().map_or(f64::INFINITY, |s| 3.0 * s.norm()),
        matrix: e.matrix,
        name: "score_outer (Monte Carlo; error 3 standard errors)",
    })
}

/// Computes the spectrum (and, for a free field, the Wilson-shell analysis),
/// checks it, and writes the results into `out` when given.
pub fn run(cfg: &SpectrumConfig, config: Option<String>, out: Option<&Path>) -> Result<Summary> {
    crate::config::Validate::validate(cfg)?;
    let staged = crate::output::stage(out, config.as_deref().map(Path::new).as_slice())?;
    let model = cfg.model.as_ref();
    let tag = bayesrg_core::model::type_name(model);
    let lattice = match (&cfg.free_field, model.lattice()) {
        (Some(ff), Some(field)) => {
            if let Some(c) = ff.cutoff {
                c.check().map_err(|e| anyhow!("free_field.cutoff: {e}"))?;
            }
            Some((field, ff.clone()))
        }
        (Some(_), _) => bail!("[free_field] is only for `type = \"lattice_field\"`, not `{tag}`"),
        (None, _) => None,
    };
    let theta = match (&cfg.theta, &lattice) {
        (Some(_), Some(_)) => bail!("give either `theta` or [free_field], not both"),
        (Some(t), None) => t.clone(),
        (None, Some((f, ff))) => lattice_field::free_field_theta(*f, ff.mass, ff.cutoff),
        (None, None) => bail!("missing `theta` (the point at which to take the spectrum)"),
    };
    model
        .check_params(&theta)
        .map_err(|e| anyhow!("`theta` is not a valid point: {e}"))?;
    let src = fisher_source(model, &theta, cfg.samples, cfg.seed)?;
    let f = &src.matrix;
    let names = model.param_names();
    let d = names.len();
    let sp = sloppiness::fisher_spectrum(model, &theta, f)?.with_input_error(src.input_error);
    let s = sloppiness::from_spectrum(&sp, &names);
    let mut checks = spectrum_checks(&s, f, cfg.expect_rank, cfg.expect_decades);
    let mut details = json!({
        "model": tag,
        "params": names,
        "theta": theta,
        "fisher_source": if matches!(s.method, SpectrumMethod::FactorSvd | SpectrumMethod::FactorQrSvd) {
            "forward map: the SVD of the whitened Jacobian Σ^{-1/2}J (the formed matrix only checks the trace)"
        } else {
            src.name
        },
        "method": s.method,
        "method_description": s.method.describe(),
        "eigenvalues": s.eigenvalues,
        "error_bounds": s.error_bounds,
        "digits": s.digits,
        "rank": s.rank,
        "null_directions": d - s.rank.min(d),
        "null_space": s.null_directions,
        "decades": s.decades,
        "decades_lower_bound": s.decades_lower_bound,
        "log10_spacings": s.log10_spacings,
        "mean_log10_spacing": if s.log10_spacings.is_empty() { f64::NAN } else {
            s.log10_spacings.iter().sum::<f64>() / s.log10_spacings.len() as f64 },
        "stiffest_direction_dominant_param": s.dominant_param.first(),
        "sloppiest_direction_dominant_param": s.dominant_param.last(),
        "participation_ratio": s.participation_ratio,
        "dominant_param": s.dominant_param,
    });
    let mut wilson: Option<(&dyn Lattice, FreeField, Correspondence, Vec<DbrgRow>)> = None;
    if let Some((field, ff)) = lattice {
        let c = lattice_field::correspondence(field, &theta);
        checks.push(Check::at_most(
            "|spearman(I_jj, |p|) + 1| (ties to within TIE_RTOL)",
            (c.spearman_fisher_momentum + 1.0).abs(),
            1e-12,
            "derived: I = K²/(2(p²+m²)²) is strictly decreasing in p² (docs/lattice.md)",
        ));
        checks.push(Check::at_least(
            "sorting by Fisher sorts by momentum, shell by shell (1 = yes)",
            if c.orders_agree { 1.0 } else { 0.0 },
            1.0,
            "Wilson's momentum shells",
        ));
        let diag: Vec<f64> = c_fisher(&theta);
        let rows: Vec<DbrgRow> = ff
            .taus
            .iter()
            .map(|&tau| dbrg_row(field, &diag, tau, ff.mass, ff.cutoff))
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
                fisher: model
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
        for (i, n) in names.iter().enumerate() {
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
            for r in rows {
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

/// The diagonal Fisher ½/θⱼ² of the lattice modes: the one quantity both the
/// shell correspondence and the DB-RG count use.
fn c_fisher(theta: &[f64]) -> Vec<f64> {
    theta.iter().map(|t| 0.5 / (t * t)).collect()
}

/// The checks of a spectrum `s` of the Fisher matrix `f` (d × d):
///
/// - the eigenvalues sum to tr I within their error bounds plus the rounding
///   of the trace (4d·u·Σ|Iⱼⱼ|);
/// - no eigenvalue is negative beyond its bound (a metric is positive
///   semi-definite);
/// - the rank (eigenvalues above their bound) is `expect_rank`, default d: a
///   claim of a positive-definite metric fails when the smallest eigenvalue
///   carries no digit;
/// - with `expect_decades`, log₁₀((λ_max − err)/(λ_min + err)) reaches it.
pub fn spectrum_checks(
    s: &sloppiness::Sloppiness,
    f: &nalgebra::DMatrix<f64>,
    expect_rank: Option<usize>,
    expect_decades: Option<f64>,
) -> Vec<Check> {
    let d = s.eigenvalues.len();
    let sum: f64 = s.eigenvalues.iter().sum();
    let err: f64 = s.error_bounds.iter().sum();
    let abs_tr: f64 = f.diagonal().iter().map(|v| v.abs()).sum();
    let tol = err + 4.0 * d as f64 * UNIT_ROUNDOFF * abs_tr;
    let psd = s
        .eigenvalues
        .iter()
        .zip(&s.error_bounds)
        .map(|(l, e)| l + e)
        .fold(f64::INFINITY, f64::min);
    let want_rank = expect_rank.unwrap_or(d);
    let mut checks = vec![
        Check::at_most(
            "|Σλ - tr I| / (Σ err + 4d·u·Σ|I_jj|)",
            (sum - f.trace()).abs() / tol.max(f64::MIN_POSITIVE),
            1.0,
            "trace of the Fisher matrix, within the eigenvalue error bounds",
        ),
        Check::at_least(
            "smallest λ_k + err_k",
            psd,
            0.0,
            "a Fisher metric is positive semi-definite: no eigenvalue negative beyond its error bound",
        ),
        Check::at_most(
            format!("|rank - {want_rank}| (rank: eigenvalues above their error bound)"),
            s.rank.abs_diff(want_rank) as f64,
            0.0,
            if expect_rank.is_some() {
                "expect_rank in the config"
            } else {
                "an identifiable model's Fisher metric is positive definite: every eigenvalue resolved (set expect_rank otherwise)"
            },
        ),
    ];
    if let Some(want) = expect_decades {
        checks.push(Check::at_least(
            "decades supported log10((λmax - err)/(λmin + err))",
            s.decades_lower_bound,
            want,
            "expect_decades in the config (a sloppy model)",
        ));
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use bayesrg_models::lattice_field::LatticeField;

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
    fn dbrg_count_at_tau_equal_to_a_fisher_value() {
        // Issue #16 item 10: with τ = Iⱼⱼ exactly, "Iⱼⱼ ≥ τ" and "p̂² ≤ Λ(τ)²"
        // (Λ by bisection of another formula for the same Fisher) rounded
        // differently and the counts disagreed — at 28 of the 100 Fisher
        // values of a 10 × 10 lattice. Oracle (derived, docs/lattice.md): the
        // resolved set is the momentum ball, so the counts agree at every τ.
        let cut = Some(Cutoff {
            lambda: 1.5,
            power: 2.0,
        });
        for (shape, mass, cutoff) in [
            (vec![10, 10], 0.5, None),
            (vec![10, 10], 0.5, cut),
            (vec![16, 16], 0.5, cut),
            (vec![12, 12], 0.4, None),
            (vec![32], 0.3, None),
            (vec![7, 9], 1e-3, None),
            (vec![8, 8], 30.0, cut),
        ] {
            let field = LatticeField::new(shape.clone()).unwrap();
            let theta = field.free_field_theta(mass, cutoff);
            let fi = c_fisher(&theta);
            let mut old_disagree = 0;
            for &tau in &fi {
                let r = dbrg_row(&field, &fi, tau, mass, cutoff);
                assert_eq!(
                    r.resolved_by_fisher, r.resolved_by_momentum,
                    "{shape:?}, m = {mass}, τ = {tau:e}"
                );
                let l2 = resolved_momentum2(tau, mass, cutoff);
                let old_f = fi.iter().filter(|i| **i >= tau).count();
                let old_p = field.modes().iter().filter(|m| m.p_hat2 <= l2).count();
                old_disagree += usize::from(old_f != old_p);
            }
            if shape == [10, 10] && cutoff.is_none() {
                assert!(
                    old_disagree > 0,
                    "the regression case must show the old fault"
                );
            }
        }
        // The check can fail: Λ(τ) of the wrong mass disagrees with the count.
        let field = LatticeField::new(vec![10, 10]).unwrap();
        let fi = c_fisher(&field.free_field_theta(0.5, None));
        let bad = fi
            .iter()
            .filter(|&&tau| {
                let r = dbrg_row(&field, &fi, tau, 0.6, None);
                r.resolved_by_fisher != r.resolved_by_momentum
            })
            .count();
        assert!(bad > 0);
    }

    #[test]
    fn spectrum_checks_fail_where_the_digits_do_not_support_the_claim() {
        // Gamma at shape 1e6 through the normwise QR eigensolver: λ_min =
        // 1.1e-10 (truth 5.0e-13) passed the old check "λ_min > 0". Its own
        // bound makes it a null direction, so the default claim (rank d) fails;
        // Jacobi's spectrum of the same matrix passes.
        use bayesrg_core::linalg::Spectrum;
        let f = nalgebra::DMatrix::from_row_slice(
            2,
            2,
            &[bayesrg_core::special::trigamma(1e6), -1.0, -1.0, 1e6],
        );
        let names = vec!["shape".to_string(), "rate".to_string()];
        let qr = sloppiness::from_spectrum(&Spectrum::symmetric_qr(&f), &names);
        let failed = |c: &[Check]| c.iter().filter(|c| !c.pass).count();
        assert!(failed(&spectrum_checks(&qr, &f, None, None)) > 0);
        let good = sloppiness::from_spectrum(&Spectrum::of(&f), &names);
        assert_eq!(failed(&spectrum_checks(&good, &f, None, Some(18.0))), 0);
        // A claim of more decades than the digits support fails.
        assert!(failed(&spectrum_checks(&good, &f, None, Some(18.5))) > 0);
        // An indefinite matrix (not a metric) fails the semi-definite check.
        let bad = nalgebra::DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
        let s = sloppiness::analyse(&bad, &names);
        let c = spectrum_checks(&s, &bad, Some(1), None);
        assert!(!c[1].pass, "{:?}", c[1]);
        // A wrong trace claim (the matrix and its spectrum disagree) fails.
        let c = spectrum_checks(&good, &(&f * 1.000001), None, None);
        assert!(!c[0].pass);
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

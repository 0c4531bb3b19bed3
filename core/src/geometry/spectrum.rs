//! The Fisher spectrum of a model at a point, and on the lattice free field
//! the Wilson-shell analysis with the cutoff check of eqs. (4)–(6): one call
//! from a [`SpectrumSpec`] (the content of a `bayesrg spectrum` config) to a
//! [`SpectrumResult`].
//!
//! Every eigenvalue comes with an error bound and the number of digits it
//! carries ([`crate::linalg`] module docs): a forward-map model's spectrum is
//! the squared singular values of the whitened Jacobian Σ^{-1/2}J, any other
//! metric's is taken by Jacobi, which keeps the relative accuracy of small
//! eigenvalues of a graded matrix ([`sloppiness::fisher_spectrum`]).
//! Eigenvalues that cannot be told from 0 are null directions; the checks
//! ([`spectrum_checks`]) fail where the digits do not support the claim (a
//! rank, a positive-definite metric, a number of decades).
//!
//! With a [`FreeField`] (a model with the lattice capability,
//! [`Model::lattice`]), θ is the free field and the run adds the analysis of
//! docs/lattice.md ([`lattice`]): modes sorted by diagonal Fisher (the
//! information shells of eq. 55) against modes sorted by |p̂|, the backward
//! posterior N(μ, τI⁻¹) of eq. (38) at the scales `taus` ([`dbrg_row`]), and
//! the Fisher threshold I_Λ = ½K_Λ(Λ²)²/(Λ² + m²)² that Polchinski's smooth
//! cutoff K_Λ of eqs. (3)–(6) maps to.
//!
//! ```text
//! let spec: SpectrumSpec = serde_json::from_str(json_text)?;
//! let result = bayesrg_core::geometry::spectrum::run(&spec, &mut Silent)?;
//! ```

use super::lattice::{
    self, Correspondence, Cutoff, TIE_RTOL, free_field_fisher, resolved_momentum2,
};
use super::sloppiness::{self, Sloppiness};
use crate::budget;
use crate::check::Check;
use crate::error::{Error, Field, Result, require, show};
use crate::fisher;
use crate::linalg::{SpectrumMethod, UNIT_ROUNDOFF};
use crate::model::{Lattice, Model, type_name};
use crate::observe::{Observer, tick};
use crate::rank;
use crate::rng::Seed;
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

/// The `[free_field]` section: θ is the lattice free field.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreeField {
    /// The mass m > 0 (the p = 0 mode's stiffness is m², cutoff or not).
    pub mass: f64,
    /// An optional smooth cutoff K_Λ(p̂²) = exp(−(p̂²/Λ²)ⁿ).
    #[serde(default)]
    pub cutoff: Option<Cutoff>,
    /// Backward times τ > 0 at which to count resolved modes (eq. 38).
    #[serde(default = "default_taus")]
    pub taus: Vec<f64>,
}

fn default_taus() -> Vec<f64> {
    vec![1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3]
}

/// Default Monte Carlo draws of the Fisher fallback (a model with no
/// deterministic Fisher).
pub const DEFAULT_SAMPLES: usize = 100_000;

fn default_samples() -> usize {
    DEFAULT_SAMPLES
}

/// The seed of the spectrum's Monte Carlo fallback when the config gives none
/// (1, as `bayesrg spectrum` has always used; kept so that results stay
/// bit-for-bit what they were).
pub const DEFAULT_SEED: Seed = Seed::new(1);

fn default_seed() -> Seed {
    DEFAULT_SEED
}

/// What a spectrum run computes: the content of a `bayesrg spectrum` config
/// file (docs/geometry.md).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpectrumSpec {
    /// The model.
    pub model: Box<dyn Model>,
    /// The point θ (required unless `free_field` is given; not with it).
    #[serde(default)]
    pub theta: Option<Vec<f64>>,
    /// The lattice free field (models with the lattice capability only).
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
    /// Monte Carlo samples for a model without a deterministic Fisher
    /// (default [`DEFAULT_SAMPLES`]).
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Seed of the Monte Carlo fallback (default [`DEFAULT_SEED`]).
    #[serde(default = "default_seed")]
    pub seed: Seed,
}

impl SpectrumSpec {
    /// Checks every value and the size of the run before any work (issue 11
    /// §2, §3, §6): a model with no parameters, a NaN θ, θ and `free_field`
    /// both or neither given, `free_field` on a model without a lattice, a
    /// negative mass or τ, a bad cutoff, a negative or NaN `expect_decades`, a
    /// rank above the dimension, a metric too large for the machine; each
    /// refused naming its field (serde path).
    pub fn validate(&self) -> Result<()> {
        let model = self.model.as_ref();
        let d = model.dim();
        let tag = type_name(model);
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
            // The p = 0 mode's stiffness is p² + m² = m²: a massless field
            // has no valid θ there, cutoff or not (tryout 8 G8: `mass = 0`
            // with a cutoff was refused as a bad `theta` the file lacks).
            require::positive("free_field.mass", ff.mass)?;
            for (i, t) in ff.taus.iter().enumerate() {
                require::positive(Field::key("free_field").then("taus").at(i), *t)?;
            }
        }
        // What the run asks of the machine: the d×d metric, its eigenvectors
        // and a Jacobi sweep (d³), and the Monte Carlo fallback's scores.
        let df = d as f64;
        budget::check_memory("model", 4.0 * df * df * 8.0)?;
        budget::check_work("model", 10.0 * df * df * df)?;
        budget::check_memory("samples", self.samples as f64 * df * 8.0)?;
        budget::check_work("samples", self.samples as f64 * df * df)?;
        if let Some(ff) = &self.free_field {
            if model.lattice().is_none() {
                return Err(Error::Missing {
                    model: tag.to_string(),
                    capability: "lattice structure: `[free_field]` is for a lattice model \
                                 such as `type = \"lattice_field\"`"
                        .into(),
                });
            }
            if let Some(c) = ff.cutoff {
                c.check().map_err(|e| match e {
                    crate::ParamError::Invalid {
                        name,
                        value,
                        constraint,
                    } => Error::domain(
                        Field::key("free_field").then("cutoff").then(name),
                        show(value),
                        constraint,
                    ),
                    other => other.into(),
                })?;
            }
        }
        match (&self.theta, &self.free_field) {
            (Some(_), Some(_)) => Err(Error::Conflict {
                field: Field::key("theta"),
                other: "[free_field]".into(),
                why: "the free field sets θ; give one of them, not both".into(),
            }),
            (None, None) => Err(Error::Required {
                field: Field::key("theta"),
                what: format!(
                    "the point at which to take the spectrum, one value per parameter of model `{tag}` (or a [free_field] section)"
                ),
            }),
            _ => Ok(()),
        }
    }
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
    /// unit), a mode whose Iⱼⱼ ties τ to within [`TIE_RTOL`] counting as
    /// resolved.
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
    let tol = TIE_RTOL;
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

/// The diagonal Fisher ½/θⱼ² of the lattice modes at θ: the one quantity
/// both the shell correspondence and the DB-RG count use.
pub fn mode_fisher(theta: &[f64]) -> Vec<f64> {
    theta.iter().map(|t| 0.5 / (t * t)).collect()
}

/// Where the Fisher matrix of the spectrum came from, and how far the matrix
/// itself may be from the truth (added to every eigenvalue's error bound by
/// Weyl's inequality).
struct FisherSource {
    matrix: DMatrix<f64>,
    name: &'static str,
    /// A bound on the spectral norm of the input's own error (0 for a closed form).
    input_error: f64,
}

/// The Fisher in the order of [`fisher::best`], keeping track of its source: a
/// closed form or JᵀΣ⁻¹J (exact to rounding), the KL Hessian (finite
/// differences: its error estimated by a second step scale), or Monte Carlo
/// E\[ℓℓᵀ\] (error: 3 standard errors, Frobenius norm). A closed form that
/// failed as a computation (its value is beyond double precision) is that
/// failure: no other estimator does better at the same θ. A matrix beyond
/// double precision at θ is [`Error::Failed`] ([`super::beyond_double`];
/// tryout 8 G17: the normal at σ = 10⁻³⁰⁰ gave a table of NaN, at σ = 10³⁰⁰
/// "rank 0" and advice to set `expect_rank`).
fn fisher_source(model: &dyn Model, theta: &[f64], n: usize, seed: Seed) -> Result<FisherSource> {
    let src = fisher_estimate(model, theta, n, seed)?;
    super::beyond_double(&src.matrix, theta, "the Fisher spectrum", "its eigenvalues")?;
    Ok(src)
}

/// The estimate of [`fisher_source`], before its check.
fn fisher_estimate(model: &dyn Model, theta: &[f64], n: usize, seed: Seed) -> Result<FisherSource> {
    match fisher::closed_form(model, theta) {
        Ok(e) => {
            return Ok(FisherSource {
                matrix: e.matrix,
                name: "closed_form",
                input_error: 0.0,
            });
        }
        Err(e) if !e.is_bad_input() => return Err(e),
        Err(_) => {}
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
    let e = fisher::score_outer(model, theta, n, seed.value())?;
    Ok(FisherSource {
        input_error: e.std_err.as_ref().map_or(f64::INFINITY, |s| 3.0 * s.norm()),
        matrix: e.matrix,
        name: "score_outer (Monte Carlo; error 3 standard errors)",
    })
}

/// The cutoff check of eqs. (4)–(6) on a free field with a smooth cutoff.
#[derive(Debug, Clone, Serialize)]
pub struct CutoffMapping {
    /// Λ of K_Λ.
    pub lambda: f64,
    /// The steepness n of K_Λ(p̂²) = exp(−(p̂²/Λ²)ⁿ).
    pub power: f64,
    /// The Fisher threshold I_Λ = ½K_Λ(Λ²)²/(Λ² + m²)² the cutoff maps to.
    pub fisher_threshold: f64,
    /// The modes with p̂² < Λ².
    pub modes_below_lambda: usize,
}

/// The Wilson-shell analysis of a free field (docs/lattice.md).
#[derive(Debug, Clone, Serialize)]
pub struct Wilson {
    /// Sites along each axis.
    pub shape: Vec<usize>,
    /// The free field's mass and cutoff, and the DB-RG scales.
    pub free_field: FreeField,
    /// Information shells against momentum shells (eq. 55).
    pub correspondence: Correspondence,
    /// One row per τ of `free_field.taus` (eq. 38).
    pub dbrg: Vec<DbrgRow>,
    /// The cutoff mapping, with a cutoff.
    pub cutoff: Option<CutoffMapping>,
    /// The closed-form Fisher K_Λ(p̂²)²/(2(p̂² + m²)²) at 201 evenly spaced |p̂|
    /// from 0 to the largest |p̂| of the lattice: (|p̂|, I) pairs, for a plot.
    pub fisher_curve: Vec<(f64, f64)>,
}

/// What a spectrum run found.
#[derive(Debug, Clone, Serialize)]
pub struct SpectrumResult {
    /// The model's type tag.
    pub model: String,
    /// The parameter names.
    pub params: Vec<String>,
    /// The point θ (the free field's, with `free_field`).
    pub theta: Vec<f64>,
    /// Where the Fisher matrix came from, as a phrase.
    pub fisher_source: String,
    /// The spectrum and the sloppiness analysis.
    pub spectrum: Sloppiness,
    /// d − rank: the number of null directions.
    pub null_directions: usize,
    /// The mean of the log₁₀ spacings (NaN in 1-D).
    pub mean_log10_spacing: f64,
    /// The Wilson-shell analysis, with `free_field`.
    pub lattice: Option<Wilson>,
    /// Every check.
    pub checks: Vec<Check>,
}

/// Runs a spectrum: validates the spec, takes the Fisher (closed form,
/// Jacobian, KL Hessian or Monte Carlo, in that order), its spectrum with
/// error bounds, the checks of [`spectrum_checks`], and with `free_field` the
/// Wilson-shell analysis and the cutoff check of eqs. (4)–(6).
///
/// # Errors
/// Bad input (see [`SpectrumSpec::validate`]; θ outside the parameter space is
/// [`Error::Point`]); an error of the Fisher estimator; [`Error::Cancelled`]
/// when `obs` asks to stop.
pub fn run(spec: &SpectrumSpec, obs: &mut dyn Observer) -> Result<SpectrumResult> {
    spec.validate()?;
    let model = spec.model.as_ref();
    let tag = type_name(model);
    let lattice = match (&spec.free_field, model.lattice()) {
        (Some(ff), Some(field)) => Some((field, ff)),
        _ => None,
    };
    let theta = match (&spec.theta, &lattice) {
        (Some(t), _) => t.clone(),
        (None, Some((f, ff))) => lattice::free_field_theta(*f, ff.mass, ff.cutoff),
        // validate() refused a spec with neither.
        (None, None) => return Err(Error::failed("spectrum", "no point θ")),
    };
    require::point(model, "theta", &theta)?;
    obs.phase("Fisher spectrum", Some(2));
    let src = fisher_source(model, &theta, spec.samples, spec.seed)?;
    tick(obs, 1)?;
    let f = &src.matrix;
    let names = model.param_names();
    let d = names.len();
    let sp = sloppiness::fisher_spectrum(model, &theta, f)?.with_input_error(src.input_error);
    let s = sloppiness::from_spectrum(&sp, &names);
    let mut checks = spectrum_checks(&s, f, spec.expect_rank, spec.expect_decades);
    let wilson = lattice.map(|(field, ff)| wilson(model, field, ff, &theta, &mut checks));
    tick(obs, 2)?;
    let fisher_source = if matches!(
        s.method,
        SpectrumMethod::FactorSvd | SpectrumMethod::FactorQrSvd
    ) {
        "forward map: the SVD of the whitened Jacobian Σ^{-1/2}J (the formed matrix only checks the trace)"
    } else {
        src.name
    };
    Ok(SpectrumResult {
        model: tag.to_string(),
        params: names,
        theta,
        fisher_source: fisher_source.to_string(),
        null_directions: d - s.rank.min(d),
        mean_log10_spacing: if s.log10_spacings.is_empty() {
            f64::NAN
        } else {
            s.log10_spacings.iter().sum::<f64>() / s.log10_spacings.len() as f64
        },
        spectrum: s,
        lattice: wilson,
        checks,
    })
}

/// The Wilson-shell analysis of the free field at θ, its checks pushed onto
/// `checks`: Fisher order against momentum order (eq. 55), the DB-RG counts
/// (eq. 38) and, with a cutoff, the cutoff mapping of eqs. (4)–(6).
fn wilson(
    model: &dyn Model,
    field: &dyn Lattice,
    ff: &FreeField,
    theta: &[f64],
    checks: &mut Vec<Check>,
) -> Wilson {
    let c = lattice::correspondence(field, theta);
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
    let diag = mode_fisher(theta);
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
    let mut cut = None;
    if let Some(k) = ff.cutoff {
        let lambda2 = k.lambda * k.lambda;
        let i_star = free_field_fisher(lambda2, ff.mass, Some(k));
        // The information shell of eq. (55) at the Fisher scale I_Λ removes
        // Θ^< = {I_jj ≤ I_Λ} (inclusive, as `bayesrg_schemes::shell::
        // Candidates::shell_below`); the modes it keeps must be exactly p < Λ.
        let fisher = model
            .fisher(theta)
            .map(|f| f.diagonal().as_slice().to_vec())
            .unwrap_or_default();
        let shell_mismatch = field
            .modes()
            .iter()
            .enumerate()
            .filter(|(j, m)| {
                let removed = fisher.get(*j).is_some_and(|&f| f <= i_star);
                removed == (m.p_hat2 < lambda2)
            })
            .count();
        checks.push(Check::at_most(
            "cutoff mapping: modes where I > I_Λ disagrees with p < Λ",
            shell_mismatch as f64,
            0.0,
            "I_Λ = K_Λ(Λ²)²/(2(Λ²+m²)²) (docs/lattice.md)",
        ));
        cut = Some(CutoffMapping {
            lambda: k.lambda,
            power: k.power,
            fisher_threshold: i_star,
            modes_below_lambda: field.modes().iter().filter(|m| m.p_hat2 < lambda2).count(),
        });
    }
    let pmax = c.rows.iter().map(|r| r.p_hat).fold(0.0, f64::max);
    let fisher_curve = (0..=200)
        .map(|i| {
            let p = pmax * i as f64 / 200.0;
            (p, free_field_fisher(p * p, ff.mass, ff.cutoff))
        })
        .collect();
    Wilson {
        shape: field.shape().to_vec(),
        free_field: ff.clone(),
        correspondence: c,
        dbrg: rows,
        cutoff: cut,
        fisher_curve,
    }
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
    s: &Sloppiness,
    f: &DMatrix<f64>,
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
    use crate::linalg::Spectrum;

    #[test]
    fn spectrum_checks_fail_where_the_digits_do_not_support_the_claim() {
        // Gamma at shape 1e6 through the normwise QR eigensolver: λ_min =
        // 1.1e-10 (truth 5.0e-13) passed the old check "λ_min > 0". Its own
        // bound makes it a null direction, so the default claim (rank d) fails;
        // Jacobi's spectrum of the same matrix passes.
        let f = DMatrix::from_row_slice(2, 2, &[crate::special::trigamma(1e6), -1.0, -1.0, 1e6]);
        let names = vec!["shape".to_string(), "rate".to_string()];
        let qr = sloppiness::from_spectrum(&Spectrum::symmetric_qr(&f), &names);
        let failed = |c: &[Check]| c.iter().filter(|c| !c.pass).count();
        assert!(failed(&spectrum_checks(&qr, &f, None, None)) > 0);
        let good = sloppiness::from_spectrum(&Spectrum::of(&f), &names);
        assert_eq!(failed(&spectrum_checks(&good, &f, None, Some(18.0))), 0);
        // A claim of more decades than the digits support fails.
        assert!(failed(&spectrum_checks(&good, &f, None, Some(18.5))) > 0);
        // An indefinite matrix (not a metric) fails the semi-definite check.
        let bad = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
        let s = sloppiness::analyse(&bad, &names);
        let c = spectrum_checks(&s, &bad, Some(1), None);
        assert!(!c[1].pass, "{:?}", c[1]);
        // A wrong trace claim (the matrix and its spectrum disagree) fails.
        let c = spectrum_checks(&good, &(&f * 1.000001), None, None);
        assert!(!c[0].pass);
    }
}

//! The Fisher validator: evidence, not hope, that a model's Fisher metric is right.
//!
//! [`validate`] runs every applicable estimator of [`crate::fisher`] at a point θ
//! and compares them with an oracle, then checks the identities the Fisher
//! metric must satisfy:
//!
//! | check | oracle | threshold |
//! |---|---|---|
//! | Monte Carlo estimator (E\[ℓℓᵀ\], eq. 29; −E[∇² ln p]) vs reference | the closed form (else JᵀΣ⁻¹J, else the KL Hessian; else the two Monte Carlo estimators against each other) | worst entry z ≤ [`z_threshold`] |
//! | the same as an exact sum over an enumerated support | the reference | scaled error ≤ [`SUM_RTOL`] |
//! | deterministic estimator (KL Hessian, eq. 31; JᵀΣ⁻¹J) vs reference | the closed form | scaled error ≤ [`FD_RTOL`] |
//! | symmetry of the closed form and of a claimed matrix | Iᵢⱼ = Iⱼᵢ | asymmetry ≤ [`SYM_TOL`] |
//! | positive semi-definiteness | λ_min ≥ 0 | λ_min/λ_max ≥ −tolerance |
//! | zero-mean score, eq. (28) | E_θ\[ℓ\] = 0 | worst component z ≤ [`z_threshold`] |
//! | quadratic expansion, eq. (31) | KL(θ‖θ+εv) / (½ε²vᵀIv) → 1 | \|ratio − 1\| ≤ [`KL_RTOL`] extrapolated to ε → 0 from its two smallest steps ([`extrapolated_ratio_at`]), and O(ε) convergence |
//! | the score is the gradient of ln p (eq. 28) | central differences of `log_likelihood` at draws y ∼ p(·\|θ) | scaled error ≤ [`FD_RTOL`] ([`likelihood`]) |
//! | the closed-form KL is the mean log-ratio (eq. 30) | Monte Carlo mean of ln p(y\|θ) − ln p(y\|θ′) at a finite step θ′ | z ≤ [`z_threshold`] ([`likelihood`]) |
//! | claimed Fisher (a hand derivation) | the reference, every Monte Carlo estimator, the KL expansion | [`CLAIM_RTOL`], z, [`KL_RTOL`] + [`CLAIM_RTOL`] |
//!
//! # Scaled errors
//! Entries of a Fisher matrix carry units (1/σ² against 1/σ⁴ …), so an entry
//! (i, j) is measured against the scale sᵢⱼ = √(|Rᵢᵢ Rⱼⱼ|) of the reference R: the
//! diagonal gets the plain relative error, an off-diagonal entry is measured
//! like a correlation (|Rᵢⱼ| ≤ sᵢⱼ for a positive semi-definite R). The scale is
//! invariant under rescaling a parameter, so no unit makes a check pass or fail.
//!
//! # z-scores
//! A Monte Carlo entry m with standard error SE is compared with the oracle r by
//! z = |m − r| / √(SE² + (τ·s)²), where τ is the deterministic allowance of the
//! comparison ([`FD_RTOL`] for numerical derivatives, [`CLAIM_RTOL`] for a typed
//! claim). The allowance matters only for entries whose sample variance is zero
//! (−∂²_μ ln p = 1/σ² for every draw of a normal), which would otherwise give an
//! infinite z for a finite-difference error of 10⁻¹⁰.
//!
//! # Exact derivatives, exact sums, and what Monte Carlo cannot resolve
//! The score and Hessian are exact for built-in models (automatic
//! differentiation, [`crate::ad`]), so the allowance τ is then [`EXACT_RTOL`];
//! finite differences (plugins) step in Fisher units
//! ([`fisher::step_scales`]). Discrete families enumerate their support, and
//! their expectations are exact sums compared by relative error. A Monte Carlo
//! check is *undecided* — it does not pass, its [`Check::note`] says "too few
//! events: raise samples to N", and a run failing only such checks is
//! [`Verdict::inconclusive`] — when no event carrying the missing mass was
//! drawn (the rare-event diagnosis: score mean off with zero standard error,
//! E\[ℓℓᵀ\] short on the diagonal; N = [`RESOLVE_EVENTS`]/q with q = m²/D) or
//! when the entries that decide it rest on fewer than [`MIN_EVENTS`] effective
//! draws (Kish's effective sample size). Details: docs/fisher.md.
//!
//! # Threshold
//! All z-scores of one run are tested together, so the threshold is set for the
//! family: the checks record their z-scores as they run (a [`Ledger`] of the
//! run), and only then, with m the number of z-scores that were actually
//! computed, z* = max([`Z_MIN`], Φ⁻¹(1 − α/(2m))) with
//! α = [`FAMILY_ALPHA`] (Bonferroni). A correct model then fails a run with
//! probability below 10⁻³ (for d = 2: m = 14 and z* = 4.5, a two-sided normal
//! tail of 6.8·10⁻⁶ per entry; for d = 10 with a claim: m = 230 and z* = 4.59).
//! A wrong closed form is not protected by this: a factor-2 error in one entry of
//! the normal's Fisher gives z ≈ √(n/2) ≈ 316 at the default 200 000 samples.
//!
//! # Layout
//! One module per check family, each making its own checks and reporting its
//! own statistics: [`deterministic`] (closed form, JᵀΣ⁻¹J, KL Hessian against
//! the reference), [`monte_carlo`] (E\[ℓℓᵀ\] and −E[∇² ln p], eq. 29),
//! [`symmetry`] (symmetry and positive semi-definiteness), [`score`] (the
//! zero-mean score, eq. 28), [`likelihood`] (the score and the closed-form
//! KL against the log-likelihood, eqs. 28 and 30), [`kl`] (the quadratic expansion, eq. 31),
//! [`spectrum`] (the reference's eigenvalues), [`claimed`] (a hand-derived
//! matrix); [`compare`] holds the measures they share (scaled errors,
//! z-scores) and the [`Ledger`] that sets the threshold from what ran, and
//! [`unresolved`] the diagnosis of what Monte Carlo cannot resolve.

pub mod claimed;
pub mod compare;
pub mod deterministic;
pub mod kl;
pub mod likelihood;
pub mod monte_carlo;
pub mod report;
pub mod score;
pub mod spectrum;
pub mod symmetry;
#[cfg(test)]
mod tests;
pub mod unresolved;

pub use crate::check::Check;
pub use crate::fisher::score_mean;
pub use compare::{Ledger, entry_scales, rel_errors, z_scores};
pub use kl::{extrapolated_ratio, extrapolated_ratio_at, kl_expansion};
pub use report::*;
pub use spectrum::spectrum_report;

use crate::error::{Error, Field, Result};
use crate::fisher::{self, FisherEstimate, Method, ScoreMeanEstimate};
use crate::model::{Model, type_name};
use crate::rng::Seed;
use nalgebra::DMatrix;
use statrs::distribution::{ContinuousCDF, Normal};

/// The default number of Monte Carlo samples per estimator.
pub const DEFAULT_SAMPLES: usize = 200_000;
/// The default seed of the validator (42, as `bayesrg fisher` has always
/// used; kept so that its results stay bit-for-bit what they were).
pub const DEFAULT_SEED: Seed = Seed::new(42);
/// The smallest z-score threshold, whatever the number of entries compared.
pub const Z_MIN: f64 = 4.5;
/// The family-wise false-failure probability the z threshold is set for.
pub const FAMILY_ALPHA: f64 = 1e-3;
/// Tolerance for quantities obtained by finite differences (the KL Hessian, a
/// numerical Jacobian, the numerical Hessian inside −E[∇² ln p]), as a scaled
/// error. Central second differences with steps ε^{1/4}·max(1, |θᵢ|) are good to
/// about ε^{1/2} ≈ 1.5·10⁻⁸ for parameters of order one; the truncation error
/// grows as (step / natural scale)², so 10⁻⁴ leaves room for parameters of scale
/// down to about 10⁻², while any algebraic error (a factor, a missing term) is
/// orders of magnitude larger.
pub const FD_RTOL: f64 = 1e-4;
/// Allowance for estimators built from exact derivatives (automatic
/// differentiation): entries of −E[∇² ln p] with zero sample variance (the
/// Hessian of a normal mean is −1/σ² for every draw) differ from the closed
/// form by rounding alone, a sum of n terms in chunks of 1024: below 10⁻¹²
/// relative. 10⁻¹⁰ leaves room for rounding in the model's formulas and fails
/// any algebraic error.
pub const EXACT_RTOL: f64 = 1e-10;
/// Tolerance of an expectation computed as an exact sum over an enumerated
/// support ([`crate::model::Model::support`]) against the reference, as a
/// scaled error: rounding in a sum of at most a few 10⁴ terms and a tail mass
/// below 10⁻³⁰.
pub const SUM_RTOL: f64 = 1e-9;
/// The number of rare events a Monte Carlo run should see to resolve their
/// contribution to E\[ℓℓᵀ\] to about 10 %; sets the sample size advised when
/// Monte Carlo cannot resolve a Fisher entry (see [`validate`]).
pub const RESOLVE_EVENTS: f64 = 100.0;
/// Below this effective number of draws (Kish's effective sample size of an
/// entry's terms) a Monte Carlo z-score is not trusted either way: the count
/// of rare events behind it is then far from normal (a Poisson count of 25
/// has skewness 0.2; one of 5 has 0.45 and a 1 % chance of being 0).
pub const MIN_EVENTS: f64 = 25.0;
/// Tolerance for a claimed matrix against the reference, as a scaled error: a
/// hand derivation typed with at least four significant digits passes.
pub const CLAIM_RTOL: f64 = 1e-3;
/// Largest asymmetry max|Aᵢⱼ − Aⱼᵢ| / max|Aᵢⱼ| of a closed form or claimed matrix:
/// a few rounding errors of formulas evaluated in a different order.
pub const SYM_TOL: f64 = 1e-12;
/// Largest negative λ_min/λ_max accepted for an exact positive semi-definite
/// matrix: eigenvalue round-off is about d·ε·‖A‖.
pub const PSD_TOL: f64 = 1e-10;
/// The steps ε of the KL expansion, in Fisher units (see [`kl_expansion`]).
pub const KL_EPSILONS: [f64; 4] = [1e-1, 1e-2, 1e-3, 1e-4];
/// Largest |ratio − 1| at the smallest ε. The ratio is 1 + c·ε + O(ε²) with c of
/// order one in Fisher units (the skewness of the score), so 10⁻³ at ε = 10⁻⁴
/// allows |c| up to 10 while a Fisher matrix wrong by more than 0.1 % fails.
pub const KL_RTOL: f64 = 1e-3;
/// Safety factor of the O(ε) convergence check (see [`kl_expansion`]).
pub const KL_SLACK: f64 = 3.0;
/// Round-off allowance of the convergence check: KL ≈ ε²/2 = 5·10⁻⁹ at ε = 10⁻⁴
/// while a closed-form KL carries a few ulp of its largest term.
pub const KL_FLOOR: f64 = 1e-5;
/// Asymptotic-regime test of the KL expansion: in the regime of eq. (31) the
/// ratio is 1 + cε + O(ε²), so its successive differences over the steps
/// 10⁻¹, 10⁻², 10⁻³ shrink tenfold; while |r(ε₂) − r(ε₃)| exceeds this
/// fraction of |r(ε₁) − r(ε₂)|, the steps are shrunk tenfold (see
/// [`kl_expansion`]).
pub const KL_ASYMPTOTIC: f64 = 0.25;
/// At most this many tenfold shrinks for the asymptotic regime (steps down to
/// 10⁻¹² Fisher units).
pub const KL_MAX_SHRINKS: usize = 8;
/// Seeded random unit directions of the KL expansion, besides the coordinate axes.
pub const RANDOM_DIRECTIONS: usize = 3;

/// What the validator is asked to do.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Monte Carlo samples per estimator (at least 2).
    pub samples: usize,
    /// Seed of every random quantity (each estimator draws from its own
    /// sub-seed, [`sub_seed`]).
    pub seed: Seed,
    /// A claimed Fisher matrix, one row per parameter (a hand derivation).
    pub claimed: Option<Vec<Vec<f64>>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            samples: DEFAULT_SAMPLES,
            seed: DEFAULT_SEED,
            claimed: None,
        }
    }
}

/// Row-major rows of a matrix.
pub fn rows(m: &DMatrix<f64>) -> Vec<Vec<f64>> {
    (0..m.nrows())
        .map(|i| m.row(i).iter().copied().collect())
        .collect()
}

/// The z threshold for `m` z-scores tested together:
/// max([`Z_MIN`], Φ⁻¹(1 − [`FAMILY_ALPHA`]/(2m))).
pub fn z_threshold(m: usize) -> f64 {
    let n = Normal::standard();
    let bonf = n.inverse_cdf(1.0 - FAMILY_ALPHA / (2.0 * m.max(1) as f64));
    bonf.max(Z_MIN)
}

/// Converts a claimed matrix (one row per parameter) into a d×d matrix.
///
/// # Errors
/// [`Error::Dimension`] naming `claimed_fisher` for the wrong number of rows;
/// [`Error::Domain`] naming it for a row of the wrong length or an entry that
/// is not finite (the row and entry in the message).
pub fn claimed_matrix(rows: &[Vec<f64>], names: &[String]) -> Result<DMatrix<f64>> {
    let d = names.len();
    let names = names.join(", ");
    if rows.len() != d {
        return Err(Error::Dimension {
            field: Field::key("claimed_fisher"),
            expected: format!("{d} rows: a {d}×{d} matrix, one row per parameter ({names})"),
            got: rows.len(),
        });
    }
    // The whole matrix is named (the config layer places `claimed_fisher`
    // at its line and column), the row and entry in the constraint.
    let bad = |why: String| Error::domain("claimed_fisher", format!("{rows:?}"), why);
    for (i, r) in rows.iter().enumerate() {
        if r.len() != d {
            return Err(bad(format!(
                "is not a {d}×{d} matrix: row {} has {} entries; expected one per parameter ({names})",
                i + 1,
                r.len()
            )));
        }
        if let Some(j) = r.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!(
                "has the entry ({}, {}) = {}: every entry must be finite",
                i + 1,
                j + 1,
                r[j]
            )));
        }
    }
    Ok(DMatrix::from_fn(d, d, |i, j| rows[i][j]))
}

/// Checks the inputs of [`validate`] without running anything: θ (a
/// [`Error::Param`] naming the parameter), `samples` (an [`Error::Domain`]
/// below 2) and `claimed_fisher` (see [`claimed_matrix`]).
pub fn check_inputs(model: &dyn Model, theta: &[f64], settings: &Settings) -> Result<()> {
    // A model with no parameters, a NaN θ, and what the validator asks of the
    // machine (issue 11 §2, §3), before any work: it holds `samples` scores
    // of `d` entries per estimator and evaluates the model about 10 times per
    // sample.
    let d = model.dim();
    crate::error::require::has_parameters("model", type_name(model), d)?;
    crate::error::require::all_finite("theta", theta)?;
    let (n, d) = (settings.samples as f64, d as f64);
    crate::budget::check_memory("samples", 4.0 * n * d.max(1.0) * 8.0)?;
    crate::budget::check_work("samples", 10.0 * n * d.max(1.0) * d.max(1.0))?;
    model.check_params(theta)?;
    crate::error::require::at_least("samples", settings.samples, 2)?;
    if let Some(c) = &settings.claimed {
        claimed_matrix(c, &model.param_names())?;
    }
    Ok(())
}

/// The seed of the validator's sub-task `k` (0: E\[ℓℓᵀ\], 1: −E[∇² ln p],
/// 2: E\[ℓ\], 3: the random directions of the KL expansion): SplitMix64 of
/// the seed and `k`, so the four draw from distinct streams. (Not
/// [`Seed::child`]: that would move every Monte Carlo number of the validator
/// without removing a shared stream.)
pub(crate) fn sub_seed(seed: Seed, k: u64) -> u64 {
    let mut z = seed.value() ^ k.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// NaN-aware maximum of non-negative values (NaN wins; 0 for none).
pub(crate) fn nan_max(it: impl IntoIterator<Item = f64>) -> f64 {
    crate::check::worst_from(0.0, it)
}

pub(crate) fn method_name(m: Method) -> &'static str {
    match m {
        Method::ClosedForm => "closed_form",
        Method::ScoreOuter => "score_outer",
        Method::NegHessian => "neg_hessian",
        Method::KlHessian => "kl_hessian",
        Method::Jacobian => "jacobian",
        Method::Empirical => "empirical",
    }
}

pub(crate) fn describe(m: Method) -> &'static str {
    match m {
        Method::ClosedForm => "closed form I(θ)",
        Method::ScoreOuter => "Monte Carlo E[ℓℓᵀ] (eq. 29)",
        Method::NegHessian => "Monte Carlo −E[∇² ln p]",
        Method::KlHessian => "Hessian of the closed-form KL (eq. 31)",
        Method::Jacobian => "JᵀΣ⁻¹J (eqs. 40–42)",
        Method::Empirical => "empirical Fisher (biased)",
    }
}

/// Runs an estimator that may not apply: `Ok(None)` when the model lacks the
/// capability, an error otherwise.
pub(crate) fn optional(r: Result<FisherEstimate>) -> Result<Option<FisherEstimate>> {
    match r {
        Ok(e) => Ok(Some(e)),
        Err(Error::Missing { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every Fisher estimate of one run: the deterministic routes where the
/// model has them, and the Monte Carlo estimators on independent seeds.
pub(crate) struct Estimates {
    /// The model's closed-form Fisher as it returned it (before symmetrising).
    pub raw_closed: Option<DMatrix<f64>>,
    /// The closed form.
    pub closed: Option<FisherEstimate>,
    /// JᵀΣ⁻¹J (eqs. 40–42).
    pub jac: Option<FisherEstimate>,
    /// The Hessian of the closed-form KL (eq. 31).
    pub klh: Option<FisherEstimate>,
    /// Monte Carlo E\[ℓℓᵀ\] (eq. 29).
    pub so: FisherEstimate,
    /// Monte Carlo −E[∇² ln p].
    pub nh: FisherEstimate,
    /// Monte Carlo E\[ℓ\] (eq. 28).
    pub sm: ScoreMeanEstimate,
}

impl Estimates {
    /// Runs every applicable estimator, and notes in `notes` what did not apply.
    fn run(
        model: &dyn Model,
        theta: &[f64],
        n: usize,
        seed: Seed,
        notes: &mut Vec<String>,
    ) -> Result<Self> {
        let d = theta.len();
        let raw_closed = model.fisher(theta);
        let closed = optional(fisher::closed_form(model, theta))?;
        let jac = optional(fisher::jacobian_form(model, theta))?;
        let so = fisher::score_outer(model, theta, n, sub_seed(seed, 0))?;
        // Finite-difference steps of the KL Hessian at each parameter's natural
        // scale 1/√Iᵢᵢ, from the closed form or else the Monte Carlo estimate (a
        // wrong scale only changes the step, not what is differentiated).
        let scales: Vec<f64> = (0..d)
            .map(|i| {
                let dm = closed
                    .as_ref()
                    .or(jac.as_ref())
                    .map_or(so.matrix[(i, i)], |e| e.matrix[(i, i)]);
                1.0 / dm.sqrt()
            })
            .collect();
        let klh = optional(fisher::kl_hessian_scaled(model, theta, &scales))?;
        let nh = fisher::neg_hessian(model, theta, n, sub_seed(seed, 1))?;
        let sm = fisher::score_mean_estimate(model, theta, n, sub_seed(seed, 2))?;
        if closed.is_none() {
            notes.push("no closed-form Fisher".to_string());
        }
        if jac.is_none() {
            notes.push("no forward map with Gaussian noise: JᵀΣ⁻¹J not applicable".to_string());
        }
        if klh.is_none() {
            notes.push(
                "no closed-form KL: KL Hessian and the expansion check (eq. 31) not applicable"
                    .to_string(),
            );
        }
        if let Some(e) = so.enumerated {
            notes.push(format!(
                "E[ℓℓᵀ], −E[∇² ln p] and E[ℓ] are exact sums over {} support points (omitted \
                 probability ≤ {}), not Monte Carlo averages",
                e.points,
                fmt_num(e.tail_mass)
            ));
        }
        notes.push(if model.has_exact_score() && model.has_exact_hessian() {
            "score and Hessian are exact (automatic differentiation or closed form): the \
             estimators are limited by Monte Carlo error alone"
                .to_string()
        } else {
            "score or Hessian by central differences with steps in Fisher units".to_string()
        });
        notes.push(
            "the empirical Fisher needs a data set; at the true θ on model draws it is E[ℓℓᵀ], so it is not run separately"
                .to_string(),
        );
        Ok(Estimates {
            raw_closed,
            closed,
            jac,
            klh,
            so,
            nh,
            sm,
        })
    }

    /// The reference: the most exact estimate available (closed form, else
    /// JᵀΣ⁻¹J, else the KL Hessian), or `None`.
    pub fn reference(&self) -> Option<&FisherEstimate> {
        self.closed
            .as_ref()
            .or(self.jac.as_ref())
            .or(self.klh.as_ref())
    }

    /// The deterministic estimates that ran, in the order closed form, JᵀΣ⁻¹J, KL Hessian.
    pub fn deterministic(&self) -> Vec<&FisherEstimate> {
        [&self.closed, &self.jac, &self.klh]
            .into_iter()
            .filter_map(|e| e.as_ref())
            .collect()
    }
}

/// What a validation of the Fisher metric needs: the content of a `bayesrg
/// fisher` config without observed data (docs/fisher.md). A sweep task or
/// the Python package builds it from JSON.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FisherSpec {
    /// The model (by its `type` tag).
    pub model: Box<dyn Model>,
    /// The point θ (one entry per parameter).
    pub theta: Vec<f64>,
    /// Monte Carlo samples per estimator (default [`DEFAULT_SAMPLES`]).
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Seed of every random quantity (default [`DEFAULT_SEED`]; written
    /// `seed = 42`).
    #[serde(default = "default_seed")]
    pub seed: Seed,
    /// A claimed Fisher matrix, one row per parameter.
    #[serde(default)]
    pub claimed_fisher: Option<Vec<Vec<f64>>>,
}

fn default_samples() -> usize {
    DEFAULT_SAMPLES
}

fn default_seed() -> Seed {
    DEFAULT_SEED
}

/// [`validate`] on a [`FisherSpec`]: the runner of a Fisher validation
/// (progress is not reported: one validation takes well under a second at
/// the default samples for the built-in families).
///
/// # Errors
/// As [`validate`].
pub fn run(spec: &FisherSpec, _obs: &mut dyn crate::observe::Observer) -> Result<Report> {
    let settings = Settings {
        samples: spec.samples,
        seed: spec.seed,
        claimed: spec.claimed_fisher.clone(),
    };
    validate(spec.model.as_ref(), &spec.theta, &settings)
}

/// Validates the Fisher metric of `model` at `theta`; see the module docs.
///
/// Errors are bad input only (an invalid θ, too few samples, a claimed matrix of
/// the wrong shape, a model whose noise covariance is not positive definite); a
/// wrong Fisher matrix is a failed check in the returned [`Report`], and a
/// quantity Monte Carlo cannot resolve is a check that does not pass with a
/// [`Check::note`] saying how many samples would resolve it.
pub fn validate(model: &dyn Model, theta: &[f64], settings: &Settings) -> Result<Report> {
    check_inputs(model, theta, settings)?;
    let names = model.param_names();
    let n = settings.samples;
    let seed = settings.seed;
    let claimed = match &settings.claimed {
        Some(c) => Some(claimed_matrix(c, &names)?),
        None => None,
    };
    let mut notes = Vec::new();
    let est = Estimates::run(model, theta, n, seed, &mut notes)?;
    let reference = est.reference();
    // Deterministic allowances of the expectation estimators.
    let tau_score = if model.has_exact_score() {
        EXACT_RTOL
    } else {
        FD_RTOL
    };
    let tau_hess = if model.has_exact_hessian() {
        EXACT_RTOL
    } else {
        FD_RTOL
    };

    // Every check family, in the order of the report.
    let mut ledger = Ledger::default();
    let mut estimators = deterministic::compare(&est, &mut ledger);
    estimators.extend(monte_carlo::compare(&est, tau_score, tau_hess, &mut ledger));
    symmetry::check_estimates(&est, &mut ledger);
    let score_mean = score::check(&est, tau_score, n, &mut ledger);
    likelihood::check(model, theta, &est, n, seed, &mut ledger, &mut notes);
    let mut claim_report = claimed
        .as_ref()
        .map(|c| claimed::check(c, &est, &mut ledger));
    let kl_exp = kl::check(
        model,
        theta,
        &est,
        claimed.as_ref(),
        sub_seed(seed, 3),
        &mut ledger,
        &mut notes,
    );
    let spectrum = spectrum::report(model, theta, &est, &names)?;

    // The family-wise threshold, from the z-scores that actually ran.
    let zt = z_threshold(ledger.z_count());
    let rare = unresolved::diagnose_rare_events(
        &est.so,
        reference.map(|r| &r.matrix),
        &est.sm.mean,
        &est.sm.std_err,
        zt,
        n,
        &names,
    );
    // A failed Monte Carlo check is undecided when the rare-event diagnosis
    // holds for the run, or when its failing entries rest on too few events.
    let rounding = unresolved::diagnose_rounding(model, theta, n, sub_seed(seed, 4));
    let checks = ledger.finish(zt, |c, z, eff| {
        if !c.pass
            && let Some(u) = rare.as_ref().or(rounding.as_ref())
        {
            return c.unresolved(u.note.clone());
        }
        match unresolved::few_events_note(z, zt, eff, n, &names) {
            Some(note) => c.unresolved(note),
            None => c,
        }
    });
    for c in estimators.iter_mut().flat_map(|e| e.comparisons.iter_mut()) {
        c.settle(zt);
    }
    for c in claim_report
        .iter_mut()
        .flat_map(|r| r.comparisons.iter_mut())
    {
        c.settle(zt);
    }

    let verdict = Verdict::of(&checks);
    Ok(Report {
        model: type_name(model).to_string(),
        params: names,
        theta: theta.to_vec(),
        samples: n,
        seed: seed.value(),
        z_threshold: zt,
        closed_form: est.raw_closed.as_ref().map(rows),
        reference: reference.map(|r| r.method),
        estimators,
        claimed: claim_report,
        score_mean,
        kl_expansion: kl_exp,
        spectrum,
        checks,
        verdict,
        notes,
    })
}

/// A number formatted for messages: plain for moderate magnitudes, else exponent.
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 || (1e-3..1e4).contains(&a) {
        format!("{v:.4}")
    } else {
        format!("{v:.3e}")
    }
}

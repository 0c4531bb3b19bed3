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
//! family: with m z-scores in the run, z* = max([`Z_MIN`], Φ⁻¹(1 − α/(2m))) with
//! α = [`FAMILY_ALPHA`] (Bonferroni). A correct model then fails a run with
//! probability below 10⁻³ (for d = 2: m = 14 and z* = 4.5, a two-sided normal
//! tail of 6.8·10⁻⁶ per entry; for d = 10 with a claim: m = 230 and z* = 4.59).
//! A wrong closed form is not protected by this: a factor-2 error in one entry of
//! the normal's Fisher gives z ≈ √(n/2) ≈ 316 at the default 200 000 samples.

use crate::error::{Error, Result};
use crate::fisher::{self, FisherEstimate, Method};
use crate::linalg::{self, Spectrum};
use crate::model::{Model, type_name};
use crate::rng;
use nalgebra::{DMatrix, DVector};
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

/// The default number of Monte Carlo samples per estimator.
pub const DEFAULT_SAMPLES: usize = 200_000;
/// The default seed.
pub const DEFAULT_SEED: u64 = 42;
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
    /// Seed of every random quantity.
    pub seed: u64,
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

/// How a comparison is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// |Δ| / √(SE² + (τs)²) per entry; Monte Carlo.
    ZScore,
    /// |Δ| / s per entry (scaled relative error); deterministic.
    RelError,
}

/// One matrix compared entry-wise with another.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// What it is compared with (a [`Method`] name or `claimed`).
    pub against: String,
    /// z-score or relative error.
    pub measure: Measure,
    /// The worst entry's value.
    pub worst: f64,
    /// Row and column of the worst entry.
    pub worst_entry: [usize; 2],
    /// Every entry's value, row-major.
    pub entries: Vec<Vec<f64>>,
    /// The threshold `worst` must not exceed.
    pub threshold: f64,
    /// Whether `worst <= threshold`.
    pub pass: bool,
}

/// One estimator's result.
#[derive(Debug, Clone, Serialize)]
pub struct EstimatorReport {
    /// The estimator.
    pub method: Method,
    /// The symmetric estimate, row-major.
    pub matrix: Vec<Vec<f64>>,
    /// Per-entry standard errors (Monte Carlo only).
    pub std_err: Option<Vec<Vec<f64>>>,
    /// Samples used (Monte Carlo only).
    pub samples: Option<usize>,
    /// Set when the expectation is an exact sum over the model's support.
    pub enumerated: Option<fisher::Enumerated>,
    /// Its smallest eigenvalue.
    pub min_eigenvalue: f64,
    /// Its comparisons with the oracles.
    pub comparisons: Vec<Comparison>,
}

/// The zero-mean score check, eq. (28).
#[derive(Debug, Clone, Serialize)]
pub struct ScoreMean {
    /// Monte Carlo mean of each score component.
    pub mean: Vec<f64>,
    /// Its standard error.
    pub std_err: Vec<f64>,
    /// |mean| / SE per component.
    pub z: Vec<f64>,
    /// The largest z (for an exact sum: the largest |mean| / √Iᵢᵢ).
    pub worst_z: f64,
    /// Samples used.
    pub samples: usize,
    /// Set when the mean is an exact sum over the model's support.
    pub enumerated: Option<fisher::Enumerated>,
}

/// The KL expansion along one direction, eq. (31).
#[derive(Debug, Clone, Serialize)]
pub struct KlDirection {
    /// A label: `axis mu`, `random 1`, …
    pub label: String,
    /// The unit direction u in parameter space.
    pub direction: Vec<f64>,
    /// The step per unit ε: δ(ε) = ε · step · u, with step = shrink / √(uᵀIu).
    pub step: f64,
    /// The factor the step was shrunk by to stay in the parameter space (1 = none).
    pub shrink: f64,
    /// The steps actually taken, in Fisher units: √(δᵀIδ) with the
    /// representable δ = (θ + ε·step·u) − θ (it differs from ε·step where θ is
    /// large against its Fisher unit, as a normal mean of 10¹⁰).
    pub effective_epsilons: Vec<f64>,
    /// KL(θ‖θ+δ(ε)) for each ε of [`KL_EPSILONS`].
    pub kl: Vec<f64>,
    /// KL / (½ δᵀIδ) with the reference I, for each ε.
    pub ratios: Vec<f64>,
    /// KL / (½ δᵀCδ) with the claimed C, for each ε.
    pub claimed_ratios: Option<Vec<f64>>,
    /// The O(ε) convergence measure of [`kl_expansion`] (≤ 1 passes).
    pub convergence: f64,
}

/// The quadratic-expansion check, eq. (31).
#[derive(Debug, Clone, Serialize)]
pub struct KlExpansion {
    /// The steps ε, in Fisher units.
    pub epsilons: Vec<f64>,
    /// One entry per direction tried.
    pub directions: Vec<KlDirection>,
    /// Directions skipped and why (a direction of zero Fisher length).
    pub skipped: Vec<String>,
}

/// A named eigenvector.
#[derive(Debug, Clone, Serialize)]
pub struct Direction {
    /// Its eigenvalue.
    pub eigenvalue: f64,
    /// Its unit components, one per parameter.
    pub components: Vec<f64>,
    /// The parameter with the largest |component|.
    pub dominant: String,
}

/// The spectrum of the reference Fisher.
#[derive(Debug, Clone, Serialize)]
pub struct SpectrumReport {
    /// Which matrix.
    pub of: String,
    /// Eigenvalues, largest first.
    pub eigenvalues: Vec<f64>,
    /// λ_max / λ_min (`null` in JSON when infinite).
    pub condition_number: f64,
    /// The stiffest direction (largest eigenvalue).
    pub stiff: Direction,
    /// The sloppiest direction (smallest eigenvalue).
    pub sloppy: Direction,
}

/// The claimed matrix and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimReport {
    /// The claimed matrix as given.
    pub matrix: Vec<Vec<f64>>,
    /// Comparisons with the reference and every Monte Carlo estimator.
    pub comparisons: Vec<Comparison>,
}

pub use crate::check::Check;

/// Pass or fail, with the reasons.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// True when every check passed.
    pub pass: bool,
    /// True when the run failed only because Monte Carlo could not resolve a
    /// quantity (see [`Check::note`]): neither a pass nor evidence of an error.
    pub inconclusive: bool,
    /// The failed checks, or one line saying all passed.
    pub reasons: Vec<String>,
}

/// Everything the validator found; serialisable to JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The model's type tag.
    pub model: String,
    /// Parameter names.
    pub params: Vec<String>,
    /// The point θ.
    pub theta: Vec<f64>,
    /// Monte Carlo samples per estimator.
    pub samples: usize,
    /// The seed.
    pub seed: u64,
    /// The z threshold of this run (see the module docs).
    pub z_threshold: f64,
    /// The model's closed-form Fisher as it returned it (row-major), if any.
    pub closed_form: Option<Vec<Vec<f64>>>,
    /// Which matrix the others are compared with: `closed_form`, `jacobian`,
    /// `kl_hessian`, or `null` when the Monte Carlo estimators are compared with
    /// each other.
    pub reference: Option<Method>,
    /// Every estimator that ran, the reference included.
    pub estimators: Vec<EstimatorReport>,
    /// The claimed matrix, if one was given.
    pub claimed: Option<ClaimReport>,
    /// The zero-mean score check (eq. 28).
    pub score_mean: ScoreMean,
    /// The quadratic-expansion check (eq. 31), when the model has a closed-form KL.
    pub kl_expansion: Option<KlExpansion>,
    /// The spectrum of the reference (or of E\[ℓℓᵀ\] when there is none).
    pub spectrum: SpectrumReport,
    /// Every check.
    pub checks: Vec<Check>,
    /// Pass or fail, with reasons.
    pub verdict: Verdict,
    /// What was not applicable and why.
    pub notes: Vec<String>,
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

/// Converts a claimed matrix (one row per parameter) into a d×d matrix; the
/// error names the setting `claimed_fisher` and says what shape was expected.
pub fn claimed_matrix(rows: &[Vec<f64>], names: &[String]) -> Result<DMatrix<f64>> {
    let d = names.len();
    let bad = |why: String| {
        Error::setting(
            "claimed_fisher",
            format!(
                "{why}; expected a {d}×{d} matrix, one row per parameter ({})",
                names.join(", ")
            ),
        )
    };
    if rows.len() != d {
        return Err(bad(format!("got {} rows", rows.len())));
    }
    for (i, r) in rows.iter().enumerate() {
        if r.len() != d {
            return Err(bad(format!("row {} has {} entries", i + 1, r.len())));
        }
        if let Some(j) = r.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!("entry ({}, {}) is not finite", i + 1, j + 1)));
        }
    }
    Ok(DMatrix::from_fn(d, d, |i, j| rows[i][j]))
}

/// Checks the inputs of [`validate`] without running anything: θ (a
/// [`Error::Param`] naming the parameter), `samples` and `claimed_fisher`
/// (an [`Error::Setting`] naming the setting).
pub fn check_inputs(model: &dyn Model, theta: &[f64], settings: &Settings) -> Result<()> {
    model.check_params(theta)?;
    if settings.samples < 2 {
        return Err(Error::setting(
            "samples",
            format!("must be at least 2, got {}", settings.samples),
        ));
    }
    if let Some(c) = &settings.claimed {
        claimed_matrix(c, &model.param_names())?;
    }
    Ok(())
}

/// An independent seed for sub-task `k` (SplitMix64 of the seed and `k`).
fn sub_seed(seed: u64, k: u64) -> u64 {
    let mut z = seed ^ k.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The entry scales sᵢⱼ = √(|Rᵢᵢ Rⱼⱼ|) of a reference (see the module docs),
/// falling back to max|R| (or 1 for a zero matrix) where a diagonal entry is 0.
pub fn entry_scales(r: &DMatrix<f64>) -> DMatrix<f64> {
    let top = r.amax();
    let fallback = if top > 0.0 { top } else { 1.0 };
    DMatrix::from_fn(r.nrows(), r.ncols(), |i, j| {
        let s = (r[(i, i)] * r[(j, j)]).abs().sqrt();
        if s > 0.0 && s.is_finite() {
            s
        } else {
            fallback
        }
    })
}

fn worst_of(entries: &DMatrix<f64>) -> (f64, [usize; 2]) {
    let mut worst = (0.0_f64, [0, 0]);
    for i in 0..entries.nrows() {
        for j in i..entries.ncols() {
            let v = entries[(i, j)];
            // NaN is the worst of all and stays so.
            if !worst.0.is_nan() && (v.is_nan() || v > worst.0) {
                worst = (v, [i, j]);
            }
        }
    }
    worst
}

/// Scaled relative error per entry of `a` against the reference `r`.
pub fn rel_errors(a: &DMatrix<f64>, r: &DMatrix<f64>) -> DMatrix<f64> {
    let s = entry_scales(r);
    DMatrix::from_fn(a.nrows(), a.ncols(), |i, j| {
        (a[(i, j)] - r[(i, j)]).abs() / s[(i, j)]
    })
}

/// z-scores per entry: |a − r| / √(seₐ² + se_r² + (τ·s)²), s the scales of `scale_of`.
pub fn z_scores(
    a: &DMatrix<f64>,
    se_a: &DMatrix<f64>,
    r: &DMatrix<f64>,
    se_r: Option<&DMatrix<f64>>,
    tau: f64,
    scale_of: &DMatrix<f64>,
) -> DMatrix<f64> {
    let s = entry_scales(scale_of);
    DMatrix::from_fn(a.nrows(), a.ncols(), |i, j| {
        let d = (a[(i, j)] - r[(i, j)]).abs();
        let var_r = se_r.map_or(0.0, |e| e[(i, j)].powi(2));
        let den = (se_a[(i, j)].powi(2) + var_r + (tau * s[(i, j)]).powi(2)).sqrt();
        if d.is_nan() {
            f64::NAN
        } else if den > 0.0 {
            d / den
        } else if d == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    })
}

fn comparison(
    against: &str,
    measure: Measure,
    entries: DMatrix<f64>,
    threshold: f64,
) -> Comparison {
    let (worst, worst_entry) = worst_of(&entries);
    Comparison {
        against: against.to_string(),
        measure,
        worst,
        worst_entry,
        entries: rows(&entries),
        threshold,
        pass: worst <= threshold,
    }
}

pub use crate::fisher::score_mean;

/// The ratio KL / (½ε²vᵀIv) extrapolated to ε → 0 from its two smallest
/// steps. The ratio is 1 + aε + O(ε²) (the cubic term of eq. 31), so the
/// linear (Richardson) extrapolation removes the O(ε) part: along a sloppy
/// direction, where a is large and KL is far from quadratic even at ε = 10⁻⁴,
/// the limit is still 1, while a metric wrong by a factor c gives 1/c.
/// The steps are the nominal [`KL_EPSILONS`]; see [`extrapolated_ratio_at`]
/// for the steps actually taken.
pub fn extrapolated_ratio(ratios: &[f64]) -> f64 {
    extrapolated_ratio_at(ratios, &KL_EPSILONS)
}

/// [`extrapolated_ratio`] with the steps `eps` at which the ratios were
/// taken (any common factor cancels).
pub fn extrapolated_ratio_at(ratios: &[f64], eps: &[f64]) -> f64 {
    let n = ratios.len();
    if n < 2 || eps.len() != n {
        return f64::NAN;
    }
    let (e1, e2) = (eps[n - 2], eps[n - 1]);
    (e1 * ratios[n - 1] - e2 * ratios[n - 2]) / (e1 - e2)
}

/// λ_min / |λ_max| of a symmetric matrix (0 for a zero matrix).
fn relative_min_eigenvalue(m: &DMatrix<f64>) -> f64 {
    let sp = Spectrum::of(m);
    let top = sp.values.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
    if top == 0.0 { 0.0 } else { sp.min() / top }
}

fn direction(sp: &Spectrum, k: usize, names: &[String]) -> Direction {
    let v: Vec<f64> = sp.vectors.column(k).iter().copied().collect();
    // Fix the sign: largest component positive, so the report is reproducible.
    let imax = (0..v.len())
        .max_by(|&a, &b| v[a].abs().total_cmp(&v[b].abs()))
        .unwrap_or(0);
    let sign = if v.get(imax).copied().unwrap_or(0.0) < 0.0 {
        -1.0
    } else {
        1.0
    };
    Direction {
        eigenvalue: sp.values[k],
        components: v.iter().map(|x| x * sign).collect(),
        dominant: names.get(imax).cloned().unwrap_or_default(),
    }
}

/// The spectrum report of `sp` (from `geometry::sloppiness::fisher_spectrum`):
/// eigenvalues, condition number, stiff and sloppy directions.
pub fn spectrum_report(sp: Spectrum, of: &str, names: &[String]) -> SpectrumReport {
    let d = sp.values.len();
    SpectrumReport {
        of: of.to_string(),
        eigenvalues: sp.values.iter().copied().collect(),
        condition_number: sp.condition_number(),
        stiff: direction(&sp, 0, names),
        sloppy: direction(&sp, d.saturating_sub(1), names),
    }
}

/// The quadratic expansion of the KL divergence, eq. (31), along the coordinate
/// axes and [`RANDOM_DIRECTIONS`] seeded random unit directions u.
///
/// Steps are measured in Fisher units: δ(ε) = ε·u/√(uᵀIu), so ½δᵀIδ = ½ε² and
/// the ratio KL(θ‖θ+δ) / (½δᵀIδ) = 1 + c·ε + O(ε²) with c of order one for any
/// parametrisation. The step is the representable one, δ = (θ + ε·step·u) − θ,
/// and the ratio and the extrapolation use the ε it actually has
/// (`effective_epsilons`): at a normal mean of 10¹⁰ a nominal step of 10⁻⁴ is
/// rounded by up to 1 %. A direction whose largest step leaves the parameter
/// space, or gives a KL of +∞ (a point outside the support of p(·|θ)) or NaN,
/// is shrunk by halves until it does not.
///
/// A family can be far from quadratic over a Fisher unit (the cubic
/// coefficient c is of order one in Fisher units for most families, but
/// ~1/√p for a Bernoulli p → 0: at p = 10⁻⁶ a step of 10⁻⁴ Fisher units is 10 %
/// of p). The steps are then shrunk tenfold (at most [`KL_MAX_SHRINKS`] times)
/// until the ratios are in the asymptotic regime: |r(ε₂) − r(ε₃)| ≤
/// [`KL_ASYMPTOTIC`]·|r(ε₁) − r(ε₂)| (or both differences below 10⁻⁶). A
/// metric off by a constant factor shifts every ratio by that factor and does
/// not change this test, so shrinking never hides a wrong metric.
///
/// Convergence: with C = max over the two largest ε of |ratio − 1|/ε (the slope
/// of the error), each smaller ε must have |ratio − 1| ≤ [`KL_SLACK`]·C·ε +
/// [`KL_FLOOR`]; `convergence` is the largest ratio of the two sides. A wrong I
/// leaves the ratio at a constant ≠ 1, so the error stops shrinking and the
/// check fails even when the offset is smaller than [`KL_RTOL`].
///
/// Returns `None` when the model has no closed-form KL.
pub fn kl_expansion(
    model: &dyn Model,
    theta: &[f64],
    fisher: &DMatrix<f64>,
    claimed: Option<&DMatrix<f64>>,
    seed: u64,
) -> Option<KlExpansion> {
    model.kl(theta, theta)?;
    let d = theta.len();
    let names = model.param_names();
    let mut dirs: Vec<(String, DVector<f64>)> = (0..d)
        .map(|i| {
            let mut u = DVector::zeros(d);
            u[i] = 1.0;
            (format!("axis {}", names[i]), u)
        })
        .collect();
    let mut r = rng::stream(seed, 0);
    for k in 0..RANDOM_DIRECTIONS {
        let mut u = DVector::from_fn(d, |_, _| StandardNormal.sample(&mut r));
        let norm = u.norm();
        if norm > 0.0 {
            u /= norm;
            dirs.push((format!("random {}", k + 1), u));
        }
    }
    let eps = KL_EPSILONS;
    let mut out = KlExpansion {
        epsilons: eps.to_vec(),
        directions: Vec::new(),
        skipped: Vec::new(),
    };
    /// The KL, ½δᵀIδ and ½δᵀCδ of one step.
    type StepValues = (f64, f64, f64);
    /// One step: the KL, ½δᵀIδ and ½δᵀCδ for the representable δ.
    enum Step {
        Ok(StepValues),
        /// Outside the parameter space or the support (KL = +∞), or KL NaN.
        Outside,
        /// δ rounds to 0: θ is too large against its Fisher unit.
        Unrepresentable,
    }
    for (label, u) in dirs {
        let q = (u.transpose() * fisher * &u)[(0, 0)];
        if !(q > 0.0 && q.is_finite()) {
            out.skipped
                .push(format!("{label}: uᵀIu = {q:e} (no Fisher length)"));
            continue;
        }
        let base = 1.0 / q.sqrt();
        let quad = |m: &DMatrix<f64>, dv: &DVector<f64>| 0.5 * (dv.transpose() * m * dv)[(0, 0)];
        let kl_at = |step: f64, e: f64| -> Step {
            let t: Vec<f64> = (0..d).map(|i| theta[i] + e * step * u[i]).collect();
            let dv = DVector::from_fn(d, |i, _| t[i] - theta[i]);
            if dv.iter().all(|v| *v == 0.0) {
                return Step::Unrepresentable;
            }
            if model.check_params(&t).is_err() {
                return Step::Outside;
            }
            let Some(k) = model.kl(theta, &t) else {
                return Step::Outside;
            };
            if !k.is_finite() {
                return Step::Outside;
            }
            let qc = claimed.map_or(f64::NAN, |c| quad(c, &dv));
            Step::Ok((k, quad(fisher, &dv), qc))
        };
        let mut shrink = 1.0;
        // The last fully evaluated steps and their shrink factor.
        let mut best: Option<(Vec<StepValues>, f64)> = None;
        let mut unrepresentable = false;
        let mut tenfold = 0;
        for _ in 0..60 + KL_MAX_SHRINKS {
            let step = base * shrink;
            let mut v = Vec::with_capacity(eps.len());
            let mut outside = false;
            for &e in &eps {
                match kl_at(step, e) {
                    Step::Ok(x) => v.push(x),
                    Step::Outside => {
                        outside = true;
                        break;
                    }
                    Step::Unrepresentable => {
                        unrepresentable = true;
                        break;
                    }
                }
            }
            if unrepresentable {
                break;
            }
            if outside {
                shrink *= 0.5;
                continue;
            }
            let r: Vec<f64> = v.iter().map(|x| x.0 / x.1).collect();
            let (d1, d2) = ((r[0] - r[1]).abs(), (r[1] - r[2]).abs());
            let asymptotic = d2 <= KL_ASYMPTOTIC * d1 || d1.max(d2) < 1e-6;
            best = Some((v, shrink));
            if asymptotic || tenfold == KL_MAX_SHRINKS {
                break;
            }
            shrink *= 0.1;
            tenfold += 1;
        }
        let Some((v, shrink)) = best else {
            out.skipped.push(if unrepresentable {
                format!(
                    "{label}: a step of {:e} Fisher units rounds to zero at this θ (θ is too \
                     large against its Fisher unit for double precision)",
                    eps[eps.len() - 1] * shrink
                )
            } else {
                format!("{label}: every step leaves the parameter space or the support (KL = +∞)")
            });
            continue;
        };
        let step = base * shrink;
        let kls: Vec<f64> = v.iter().map(|x| x.0).collect();
        let eff: Vec<f64> = v.iter().map(|x| (2.0 * x.1).sqrt()).collect();
        let ratios: Vec<f64> = v.iter().map(|x| x.0 / x.1).collect();
        let claimed_ratios = claimed.map(|_| v.iter().map(|x| x.0 / x.2).collect());
        let err: Vec<f64> = ratios.iter().map(|r| (r - 1.0).abs()).collect();
        let slope = (err[0] / eff[0]).max(err[1] / eff[1]);
        let convergence = (2..eps.len())
            .map(|k| err[k] / (KL_SLACK * slope * eff[k] + KL_FLOOR))
            .fold(
                0.0,
                |a: f64, b| if b.is_nan() { f64::NAN } else { a.max(b) },
            );
        out.directions.push(KlDirection {
            label,
            direction: u.iter().copied().collect(),
            step,
            shrink,
            effective_epsilons: eff,
            kl: kls,
            ratios,
            claimed_ratios,
            convergence,
        });
    }
    Some(out)
}

/// NaN-aware maximum (NaN wins).
fn nan_max(it: impl IntoIterator<Item = f64>) -> f64 {
    it.into_iter().fold(0.0_f64, |a, b| {
        if a.is_nan() || b.is_nan() {
            f64::NAN
        } else {
            a.max(b)
        }
    })
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::ClosedForm => "closed_form",
        Method::ScoreOuter => "score_outer",
        Method::NegHessian => "neg_hessian",
        Method::KlHessian => "kl_hessian",
        Method::Jacobian => "jacobian",
        Method::Empirical => "empirical",
    }
}

fn describe(m: Method) -> &'static str {
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
fn optional(r: Result<FisherEstimate>) -> Result<Option<FisherEstimate>> {
    match r {
        Ok(e) => Ok(Some(e)),
        Err(Error::Missing { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Why Monte Carlo cannot resolve a run: the rare-event diagnosis of
/// [`validate`].
#[derive(Debug, Clone)]
struct Unresolved {
    /// The message put on every Monte Carlo check that fails because of it.
    note: String,
}

/// The rare-event diagnosis. A family whose score takes a large value with a
/// small probability q (a Bernoulli success at p = 10⁻⁶) shows, in n ≪ 1/q
/// draws, no such event: every draw has the same few score values, E\[ℓℓᵀ\] is
/// underestimated on the diagonal by D = Iᵢᵢ − M̂ᵢᵢ, and the score mean is off
/// by m = |ℓ̄ᵢ| — both with tiny standard errors, so both z-scores are huge
/// and say nothing about the Fisher metric. The unseen events carry the
/// missing mean and the missing second moment, so by Cauchy–Schwarz
/// q ≥ m²/D, with equality when they share one score value; a run is declared
/// unresolved when, for some component, both comparisons fail, D > 0, and the
/// expected number of such events n·q is below 10. It then advises
/// N = [`RESOLVE_EVENTS`]/q samples (about 100 events). With no reference, a
/// score component with zero sample variance and a non-zero mean is the same
/// symptom; the advice is then the bound q ≤ 3/n (no event in n draws).
fn diagnose_rare_events(
    so: &FisherEstimate,
    reference: Option<&DMatrix<f64>>,
    mean: &DVector<f64>,
    mean_se: &DVector<f64>,
    zt: f64,
    n: usize,
    names: &[String],
) -> Option<Unresolved> {
    if so.enumerated.is_some() {
        return None;
    }
    let se = so.std_err.as_ref()?;
    let nf = n as f64;
    let mut best: Option<(f64, usize)> = None;
    for i in 0..mean.len() {
        let m = mean[i].abs();
        let zmean = if mean_se[i] > 0.0 {
            m / mean_se[i]
        } else if m > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        if zmean <= zt {
            continue;
        }
        let q = match reference {
            Some(r) => {
                let deficit = r[(i, i)] - so.matrix[(i, i)];
                let zd = deficit / se[(i, i)].max(f64::MIN_POSITIVE);
                if !(deficit > 0.0 && zd > zt) {
                    continue;
                }
                m * m / deficit
            }
            None if mean_se[i] == 0.0 => 3.0 / nf,
            None => continue,
        };
        if q > 0.0 && nf * q < 10.0 && best.is_none_or(|(b, _)| q < b) {
            best = Some((q, i));
        }
    }
    let (q, i) = best?;
    let need = (RESOLVE_EVENTS / q).ceil();
    let bound = if reference.is_some() { "" } else { "at least " };
    Some(Unresolved {
        note: format!(
            "Monte Carlo cannot resolve this: too few events: raise samples to {bound}{} \
             (the score component {} takes a rare value with probability about {}, so {n} \
             draws expect {} such events; about {} are needed)",
            fmt_num(need),
            names[i],
            fmt_num(q),
            fmt_num(nf * q),
            RESOLVE_EVENTS
        ),
    })
}

/// The few-events diagnosis of one Monte Carlo comparison. A z-score rests
/// on the normal approximation of a mean, which needs many draws to
/// contribute; when the draws that carry an entry are rare (Kish's effective
/// sample size of its terms, [`FisherEstimate::effective_samples`], below
/// [`MIN_EVENTS`]) the z-score means nothing either way. The comparison
/// is then undecided: if it fails, when every failing entry is such an entry;
/// if it passes, when any entry is. The note advises
/// N = ⌈n·[`RESOLVE_EVENTS`]/n_eff⌉ samples.
fn few_events_note(
    z: &DMatrix<f64>,
    zt: f64,
    eff: Option<&DMatrix<f64>>,
    n: usize,
    names: &[String],
) -> Option<String> {
    let eff = eff?;
    let fails = |v: f64| v.is_nan() || v > zt;
    let failing = (0..z.nrows()).any(|i| (i..z.ncols()).any(|j| fails(z[(i, j)])));
    let mut worst: Option<(f64, usize, usize)> = None;
    for i in 0..z.nrows() {
        for j in i..z.ncols() {
            if failing && !fails(z[(i, j)]) {
                continue;
            }
            let e = eff[(i, j)].min(eff[(j, i)]);
            if e >= MIN_EVENTS {
                if failing {
                    return None; // a failing entry with enough events: a real failure
                }
                continue;
            }
            if worst.is_none_or(|(w, _, _)| e < w) {
                worst = Some((e, i, j));
            }
        }
    }
    let (e, i, j) = worst?;
    let need = (n as f64 * RESOLVE_EVENTS / e.max(1.0)).ceil();
    let entry = if z.ncols() == 1 {
        names[i].clone()
    } else {
        format!("({}, {})", names[i], names[j])
    };
    Some(format!(
        "Monte Carlo cannot resolve this: too few events: raise samples to {} (entry {entry} \
         rests on about {} effective draws of {n}, a few rare draws carrying its mean; about \
         {} are needed for its z-score to mean anything)",
        fmt_num(need),
        fmt_num(e),
        RESOLVE_EVENTS
    ))
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
    let d = names.len();
    let n = settings.samples;
    let seed = settings.seed;
    let claimed = match &settings.claimed {
        Some(c) => Some(claimed_matrix(c, &names)?),
        None => None,
    };
    let mut notes = Vec::new();
    let mut checks = Vec::new();

    // Estimators.
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

    // The reference: the most exact estimate available.
    let reference: Option<&FisherEstimate> = closed.as_ref().or(jac.as_ref()).or(klh.as_ref());
    let reference_method = reference.map(|r| r.method);

    // The z threshold for every z-score of the run (exact sums have none).
    let mc = so.enumerated.is_none();
    let mc_vs = if !mc {
        0
    } else if reference.is_some() {
        2
    } else {
        1
    };
    let claim_vs = if claimed.is_some() && mc { 2 } else { 0 };
    let m = (mc_vs + claim_vs) * d * (d + 1) / 2 + if mc { d } else { 0 };
    let zt = z_threshold(m);

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
    let unresolved = diagnose_rare_events(
        &so,
        reference.map(|r| &r.matrix),
        &sm.mean,
        &sm.std_err,
        zt,
        n,
        &names,
    );
    // A failed Monte Carlo check is undecided when the rare-event diagnosis
    // holds for the run, or when its failing entries rest on too few events.
    let mark = |c: Check, z: &DMatrix<f64>, eff: Option<&DMatrix<f64>>| -> Check {
        if !c.pass
            && let Some(u) = &unresolved
        {
            return c.unresolved(u.note.clone());
        }
        match few_events_note(z, zt, eff, n, &names) {
            Some(note) => c.unresolved(note),
            None => c,
        }
    };

    let mut estimators: Vec<EstimatorReport> = Vec::new();
    let deterministic: Vec<&FisherEstimate> = [&closed, &jac, &klh]
        .into_iter()
        .filter_map(|e| e.as_ref())
        .collect();
    for e in &deterministic {
        let mut comparisons = Vec::new();
        if let Some(r) = reference
            && r.method != e.method
        {
            let c = comparison(
                method_name(r.method),
                Measure::RelError,
                rel_errors(&e.matrix, &r.matrix),
                FD_RTOL,
            );
            checks.push(Check::at_most(
                format!(
                    "{} vs {} (worst scaled error)",
                    method_name(e.method),
                    method_name(r.method)
                ),
                c.worst,
                FD_RTOL,
                describe(r.method).to_string(),
            ));
            comparisons.push(c);
        }
        estimators.push(EstimatorReport {
            method: e.method,
            matrix: rows(&e.matrix),
            std_err: None,
            samples: None,
            enumerated: None,
            min_eigenvalue: Spectrum::of(&e.matrix).min(),
            comparisons,
        });
    }
    for e in [&so, &nh] {
        let se = e.std_err.clone().unwrap_or_else(|| DMatrix::zeros(d, d));
        let tau = if e.method == Method::NegHessian {
            tau_hess
        } else {
            tau_score
        };
        let mut comparisons = Vec::new();
        match reference {
            Some(r) if e.enumerated.is_some() => {
                let c = comparison(
                    method_name(r.method),
                    Measure::RelError,
                    rel_errors(&e.matrix, &r.matrix),
                    SUM_RTOL,
                );
                checks.push(Check::at_most(
                    format!(
                        "{} (exact sum) vs {} (worst scaled error)",
                        method_name(e.method),
                        method_name(r.method)
                    ),
                    c.worst,
                    SUM_RTOL,
                    describe(r.method).to_string(),
                ));
                comparisons.push(c);
            }
            Some(r) => {
                let zs = z_scores(&e.matrix, &se, &r.matrix, None, tau, &r.matrix);
                let eff = e.effective_samples.as_ref();
                let c = comparison(method_name(r.method), Measure::ZScore, zs.clone(), zt);
                checks.push(mark(
                    Check::at_most(
                        format!(
                            "{} vs {} (worst z)",
                            method_name(e.method),
                            method_name(r.method)
                        ),
                        c.worst,
                        zt,
                        describe(r.method).to_string(),
                    ),
                    &zs,
                    eff,
                ));
                comparisons.push(c);
            }
            None if e.method == Method::NegHessian && e.enumerated.is_some() => {
                let c = comparison(
                    "score_outer",
                    Measure::RelError,
                    rel_errors(&e.matrix, &so.matrix),
                    SUM_RTOL,
                );
                checks.push(Check::at_most(
                    "neg_hessian vs score_outer (exact sums, worst scaled error)".to_string(),
                    c.worst,
                    SUM_RTOL,
                    describe(Method::ScoreOuter).to_string(),
                ));
                comparisons.push(c);
            }
            None if e.method == Method::NegHessian => {
                // No deterministic oracle: the two Monte Carlo estimators,
                // on independent draws, against each other.
                let so_se = so.std_err.clone().unwrap_or_else(|| DMatrix::zeros(d, d));
                let avg = (&so.matrix + &e.matrix) * 0.5;
                let zs = z_scores(
                    &e.matrix,
                    &se,
                    &so.matrix,
                    Some(&so_se),
                    tau_hess.max(tau_score),
                    &avg,
                );
                let eff = match (&e.effective_samples, &so.effective_samples) {
                    (Some(a), Some(b)) => Some(a.zip_map(b, f64::min)),
                    _ => None,
                };
                let c = comparison("score_outer", Measure::ZScore, zs.clone(), zt);
                checks.push(mark(
                    Check::at_most(
                        "neg_hessian vs score_outer (worst z of the difference, combined SE)"
                            .to_string(),
                        c.worst,
                        zt,
                        describe(Method::ScoreOuter).to_string(),
                    ),
                    &zs,
                    eff.as_ref(),
                ));
                comparisons.push(c);
            }
            None => {}
        }
        estimators.push(EstimatorReport {
            method: e.method,
            matrix: rows(&e.matrix),
            std_err: e.std_err.as_ref().map(rows),
            samples: e.samples,
            enumerated: e.enumerated,
            min_eigenvalue: Spectrum::of(&e.matrix).min(),
            comparisons,
        });
    }

    // Symmetry and positive semi-definiteness.
    if let Some(raw) = &raw_closed {
        checks.push(Check::at_most(
            "closed form symmetric (asymmetry)",
            linalg::asymmetry(raw),
            SYM_TOL,
            "Iᵢⱼ = Iⱼᵢ",
        ));
    }
    for e in &deterministic {
        let tol = if e.method == Method::ClosedForm {
            PSD_TOL
        } else {
            FD_RTOL
        };
        checks.push(Check::at_least(
            format!(
                "{} positive semi-definite (λ_min/λ_max)",
                method_name(e.method)
            ),
            relative_min_eigenvalue(&e.matrix),
            -tol,
            "λ_min ≥ 0",
        ));
    }
    // E[ℓℓᵀ] is an average of positive semi-definite matrices; −E[∇² ln p] need
    // not be positive semi-definite for finite samples, so it is only reported.
    checks.push(Check::at_least(
        "score_outer positive semi-definite (λ_min/λ_max)",
        relative_min_eigenvalue(&so.matrix),
        -PSD_TOL,
        "λ_min ≥ 0",
    ));

    // Zero-mean score, eq. (28).
    let (mean, se) = (&sm.mean, &sm.std_err);
    let scale_mat = reference.map_or(&so.matrix, |r| &r.matrix);
    let z: Vec<f64> = (0..d)
        .map(|i| {
            let unit = scale_mat[(i, i)].abs().sqrt();
            if sm.enumerated.is_some() {
                // An exact sum: |E[ℓᵢ]| in units of √Iᵢᵢ.
                return if unit > 0.0 {
                    mean[i].abs() / unit
                } else {
                    mean[i].abs()
                };
            }
            let den = (se[i].powi(2) + (tau_score * unit).powi(2)).sqrt();
            if den > 0.0 {
                mean[i].abs() / den
            } else if mean[i] == 0.0 {
                0.0
            } else {
                f64::INFINITY
            }
        })
        .collect();
    let worst_z = nan_max(z.iter().copied());
    if sm.enumerated.is_some() {
        checks.push(Check::at_most(
            "score mean zero, eq. (28) (exact sum, worst |E[ℓᵢ]|/√Iᵢᵢ)",
            worst_z,
            SUM_RTOL,
            "E_θ[ℓ] = 0",
        ));
    } else {
        let zs = DMatrix::from_column_slice(d, 1, &z);
        let eff = sm
            .effective_samples
            .as_ref()
            .map(|v| DMatrix::from_column_slice(d, 1, v.as_slice()));
        checks.push(mark(
            Check::at_most(
                "score mean zero, eq. (28) (worst z)",
                worst_z,
                zt,
                "E_θ[ℓ] = 0",
            ),
            &zs,
            eff.as_ref(),
        ));
    }
    let score_mean = ScoreMean {
        mean: mean.iter().copied().collect(),
        std_err: se.iter().copied().collect(),
        z,
        worst_z,
        samples: n,
        enumerated: sm.enumerated,
    };

    // Claimed matrix.
    let claim_report = claimed.as_ref().map(|c| {
        let mut comparisons = Vec::new();
        checks.push(Check::at_most(
            "claimed symmetric (asymmetry)",
            linalg::asymmetry(c),
            SYM_TOL,
            "Iᵢⱼ = Iⱼᵢ",
        ));
        checks.push(Check::at_least(
            "claimed positive semi-definite (λ_min/λ_max)",
            relative_min_eigenvalue(c),
            -CLAIM_RTOL,
            "λ_min ≥ 0",
        ));
        let csym = fisher::symmetrize(c.clone());
        if let Some(r) = reference {
            let cmp = comparison(
                method_name(r.method),
                Measure::RelError,
                rel_errors(&csym, &r.matrix),
                CLAIM_RTOL,
            );
            checks.push(Check::at_most(
                format!("claimed vs {} (worst scaled error)", method_name(r.method)),
                cmp.worst,
                CLAIM_RTOL,
                describe(r.method).to_string(),
            ));
            comparisons.push(cmp);
        }
        for e in [&so, &nh] {
            if e.enumerated.is_some() {
                let cmp = comparison(
                    method_name(e.method),
                    Measure::RelError,
                    rel_errors(&csym, &e.matrix),
                    CLAIM_RTOL,
                );
                checks.push(Check::at_most(
                    format!(
                        "claimed vs {} (exact sum, worst scaled error)",
                        method_name(e.method)
                    ),
                    cmp.worst,
                    CLAIM_RTOL,
                    describe(e.method).to_string(),
                ));
                comparisons.push(cmp);
                continue;
            }
            let se = e.std_err.clone().unwrap_or_else(|| DMatrix::zeros(d, d));
            let zs = z_scores(&e.matrix, &se, &csym, None, CLAIM_RTOL, &e.matrix);
            let cmp = comparison(method_name(e.method), Measure::ZScore, zs.clone(), zt);
            checks.push(mark(
                Check::at_most(
                    format!("claimed vs {} (worst z)", method_name(e.method)),
                    cmp.worst,
                    zt,
                    describe(e.method).to_string(),
                ),
                &zs,
                e.effective_samples.as_ref(),
            ));
            comparisons.push(cmp);
        }
        ClaimReport {
            matrix: rows(c),
            comparisons,
        }
    });

    // Quadratic expansion, eq. (31).
    let kl_exp = reference.and_then(|r| {
        kl_expansion(
            model,
            theta,
            &r.matrix,
            claimed
                .as_ref()
                .map(|c| fisher::symmetrize(c.clone()))
                .as_ref(),
            sub_seed(seed, 3),
        )
    });
    if let Some(k) = &kl_exp {
        let last = KL_EPSILONS.len() - 1;
        let oracle = format!(
            "closed-form KL against ½δᵀIδ, I = {}",
            describe(reference_method.unwrap_or(Method::ClosedForm))
        );
        if k.directions.is_empty() {
            checks.push(Check::at_least(
                "KL expansion, eq. (31): directions tried",
                0.0,
                1.0,
                oracle.clone(),
            ));
        } else {
            checks.push(Check::at_most(
                format!(
                    "KL expansion, eq. (31): worst |ratio − 1| extrapolated to ε → 0 from ε = {:e}, {:e}",
                    KL_EPSILONS[last - 1],
                    KL_EPSILONS[last]
                ),
                nan_max(k.directions.iter().map(|x| {
                    (extrapolated_ratio_at(&x.ratios, &x.effective_epsilons) - 1.0).abs()
                })),
                KL_RTOL,
                oracle.clone(),
            ));
            checks.push(Check::at_most(
                "KL expansion, eq. (31): O(ε) convergence (worst error / allowed)",
                nan_max(k.directions.iter().map(|x| x.convergence)),
                1.0,
                oracle.clone(),
            ));
            if claimed.is_some() {
                checks.push(Check::at_most(
                    "claimed: KL expansion worst |ratio − 1| extrapolated to ε → 0",
                    nan_max(k.directions.iter().filter_map(|x| {
                        x.claimed_ratios
                            .as_ref()
                            .map(|r| (extrapolated_ratio_at(r, &x.effective_epsilons) - 1.0).abs())
                    })),
                    KL_RTOL + CLAIM_RTOL,
                    "closed-form KL against ½δᵀCδ, C = claimed",
                ));
            }
        }
        for s in &k.skipped {
            notes.push(format!("KL expansion: skipped {s}"));
        }
    }

    let spectrum = match reference {
        Some(r) => spectrum_report(
            crate::geometry::sloppiness::fisher_spectrum(model, theta, &r.matrix)?,
            method_name(r.method),
            &names,
        ),
        None => spectrum_report(Spectrum::of(&so.matrix), "score_outer", &names),
    };

    let failed: Vec<&Check> = checks.iter().filter(|c| !c.pass).collect();
    let reasons: Vec<String> = failed
        .iter()
        .map(|c| match &c.note {
            Some(note) => format!("{}: unresolved — {note}", c.name),
            None => format!(
                "{}: {} is not {} {} (oracle: {})",
                c.name,
                fmt_num(c.value),
                c.relation,
                fmt_num(c.threshold),
                c.oracle
            ),
        })
        .collect();
    let verdict = if failed.is_empty() {
        Verdict {
            pass: true,
            inconclusive: false,
            reasons: vec![format!("all {} checks passed", checks.len())],
        }
    } else {
        Verdict {
            pass: false,
            inconclusive: failed.iter().all(|c| c.note.is_some()),
            reasons,
        }
    };

    Ok(Report {
        model: type_name(model).to_string(),
        params: names,
        theta: theta.to_vec(),
        samples: n,
        seed,
        z_threshold: zt,
        closed_form: raw_closed.as_ref().map(rows),
        reference: reference_method,
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

#[cfg(test)]
mod tests {
    //! Oracles: the normal family N(μ, σ²) with I = diag(1/σ², 2/σ²) and
    //! KL = ln(σ₂/σ₁) + (σ₁² + (μ₁−μ₂)²)/(2σ₂²) − ½ (docs/conventions.md and
    //! shared oracles §1–2); the Bernoulli family with I = 1/(p(1−p)); the linear
    //! Gaussian model with I = AᵀA. Broken variants of each must fail.
    use super::*;
    use crate::ParamError;
    use crate::model::check_len;
    use rand::{Rng, RngExt};
    use serde::{Deserialize, Serialize};

    /// What a test model gets wrong on purpose.
    #[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
    enum Bug {
        #[default]
        None,
        /// I₁₁ doubled.
        Fisher,
        /// KL without its ½.
        Kl,
        /// Score with a constant offset in μ.
        Score,
        /// No closed-form Fisher or KL, numerical score only.
        Bare,
    }

    #[derive(Debug, Default, Serialize, Deserialize)]
    struct TNormal {
        bug: Bug,
    }

    #[typetag::serde(name = "validate_test_normal")]
    impl Model for TNormal {
        fn param_names(&self) -> Vec<String> {
            vec!["mu".into(), "sigma".into()]
        }
        fn obs_dim(&self) -> usize {
            1
        }
        fn check_params(&self, t: &[f64]) -> std::result::Result<(), ParamError> {
            check_len(self, t)?;
            if t[1] > 0.0 {
                Ok(())
            } else {
                Err(ParamError::invalid("sigma", t[1], "must be > 0"))
            }
        }
        fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
            let z: f64 = StandardNormal.sample(r);
            out[0] = t[0] + t[1] * z;
        }
        fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
            let z = (y[0] - t[0]) / t[1];
            -0.5 * z * z - t[1].ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
        }
        fn score(&self, t: &[f64], y: &[f64], out: &mut [f64]) {
            if self.bug == Bug::Bare {
                crate::numdiff::gradient_into(|th| self.log_likelihood(th, y), t, out);
                return;
            }
            let z = (y[0] - t[0]) / t[1];
            out[0] = z / t[1] + if self.bug == Bug::Score { 0.05 } else { 0.0 };
            out[1] = (z * z - 1.0) / t[1];
        }
        fn has_exact_score(&self) -> bool {
            self.bug != Bug::Bare
        }
        fn fisher(&self, t: &[f64]) -> Option<DMatrix<f64>> {
            let s2 = t[1] * t[1];
            let f = if self.bug == Bug::Fisher { 2.0 } else { 1.0 };
            (self.bug != Bug::Bare)
                .then(|| DMatrix::from_row_slice(2, 2, &[f / s2, 0.0, 0.0, 2.0 / s2]))
        }
        fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
            let f = if self.bug == Bug::Kl { 2.0 } else { 1.0 };
            let k = (b[1] / a[1]).ln()
                + (a[1] * a[1] + (a[0] - b[0]).powi(2)) / (2.0 * b[1] * b[1])
                - 0.5;
            (self.bug != Bug::Bare).then_some(f * k)
        }
    }

    /// Bernoulli(p): I = 1/(p(1−p)), KL = p ln(p/q) + (1−p) ln((1−p)/(1−q)).
    #[derive(Debug, Default, Serialize, Deserialize)]
    struct TBern {}

    #[typetag::serde(name = "validate_test_bernoulli")]
    impl Model for TBern {
        fn param_names(&self) -> Vec<String> {
            vec!["p".into()]
        }
        fn obs_dim(&self) -> usize {
            1
        }
        fn check_params(&self, t: &[f64]) -> std::result::Result<(), ParamError> {
            check_len(self, t)?;
            if t[0] > 0.0 && t[0] < 1.0 {
                Ok(())
            } else {
                Err(ParamError::invalid("p", t[0], "must be in (0, 1)"))
            }
        }
        fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
            out[0] = if r.random::<f64>() < t[0] { 1.0 } else { 0.0 };
        }
        fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
            if y[0] == 1.0 {
                t[0].ln()
            } else {
                (1.0 - t[0]).ln()
            }
        }
        fn fisher(&self, t: &[f64]) -> Option<DMatrix<f64>> {
            Some(DMatrix::from_element(1, 1, 1.0 / (t[0] * (1.0 - t[0]))))
        }
        fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
            let (p, q) = (a[0], b[0]);
            Some(p * (p / q).ln() + (1.0 - p) * ((1.0 - p) / (1.0 - q)).ln())
        }
    }

    /// Bernoulli(p) with an exact score and an accurate KL (Σ bd0) but no
    /// enumerated support: its expectations are Monte Carlo averages, which
    /// cannot resolve a success probability far below 1/n.
    #[derive(Debug, Default, Serialize, Deserialize)]
    struct TRare {}

    #[typetag::serde(name = "validate_test_rare")]
    impl Model for TRare {
        fn param_names(&self) -> Vec<String> {
            vec!["p".into()]
        }
        fn obs_dim(&self) -> usize {
            1
        }
        fn check_params(&self, t: &[f64]) -> std::result::Result<(), ParamError> {
            TBern {}.check_params(t)
        }
        fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
            TBern {}.sample(t, r, out)
        }
        fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
            TBern {}.log_likelihood(t, y)
        }
        fn score(&self, t: &[f64], y: &[f64], out: &mut [f64]) {
            out[0] = y[0] / t[0] - (1.0 - y[0]) / (1.0 - t[0]);
        }
        fn has_exact_score(&self) -> bool {
            true
        }
        fn fisher(&self, t: &[f64]) -> Option<DMatrix<f64>> {
            TBern {}.fisher(t)
        }
        fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
            let (p, q) = (a[0], b[0]);
            let bd0 = crate::special::bd0;
            Some(bd0(p, q, p - q) + bd0(1.0 - p, 1.0 - q, q - p))
        }
    }

    #[test]
    fn rare_events_monte_carlo_cannot_resolve_are_reported_as_such() {
        // Issue 16, item 9: Bernoulli p = 1e-6 with 50 000 draws sees no
        // success; the standard errors are 0 and the z-scores 10⁴. The run must
        // say that Monte Carlo cannot resolve it and how many samples would,
        // not report a false z. Oracle for the advice: with no success the
        // draws carry the score mean m = 1/(1 − p) and miss
        // D = I − 1/(1 − p)² of E[ℓ²], so q = m²/D = p/(1 − 2p) and
        // N = ⌈100/q⌉ = ⌈100(1 − 2p)/p⌉ ≈ 99 999 800 (printed 1.000e8).
        let p: f64 = 1e-6;
        let r = validate(&TRare {}, &[p], &settings(50_000)).unwrap();
        assert!(!r.verdict.pass && r.verdict.inconclusive, "{:?}", r.verdict);
        let want = (100.0 * (1.0 - 2.0 * p) / p).ceil();
        let advice = format!("too few events: raise samples to {}", fmt_num(want));
        for c in r.checks.iter().filter(|c| !c.pass) {
            let note = c.note.as_deref().unwrap_or("");
            assert!(note.contains(&advice), "{}: {note:?}", c.name);
        }
        assert!(r.verdict.reasons.iter().all(|x| x.contains(&advice)));
        // The deterministic checks still ran and passed: the KL Hessian and the
        // KL expansion agree with I = 1/(p(1 − p)).
        assert!(
            r.checks
                .iter()
                .filter(|c| c.name.starts_with("KL") || c.name.starts_with("kl_hessian"))
                .all(|c| c.pass),
            "{:#?}",
            r.checks
        );
        // Where the events are resolved (p = 10⁻³, 50 expected successes) the
        // same model passes, and with too few (p = 10⁻⁴, 2 000 draws: 0.2
        // expected) the advice is N ≈ 100/p = 10⁶.
        let r = validate(&TRare {}, &[1e-3], &settings(50_000)).unwrap();
        assert!(r.verdict.pass, "{:?}", r.verdict.reasons);
        let r = validate(&TRare {}, &[1e-4], &settings(2_000)).unwrap();
        assert!(r.verdict.inconclusive, "{:?}", r.verdict);
        assert!(
            r.verdict.reasons[0].contains("raise samples to 9.998e5"),
            "{:?}",
            r.verdict
        );
    }

    #[test]
    fn genuine_errors_are_not_called_unresolved() {
        // The rare-event diagnosis must not excuse a wrong model: a biased
        // score, a doubled Fisher entry and a KL without its ½ fail outright.
        for bug in [Bug::Score, Bug::Fisher, Bug::Kl] {
            let r = validate(&TNormal { bug }, &[0.5, 1.5], &settings(20_000)).unwrap();
            assert!(
                !r.verdict.pass && !r.verdict.inconclusive,
                "{bug:?}: {:?}",
                r.verdict
            );
            assert!(r.checks.iter().all(|c| c.note.is_none()), "{bug:?}");
        }
    }

    #[test]
    fn finite_differences_step_in_fisher_units() {
        // Issue 16, item 3: at σ = 10⁻⁵ a step of ε^{1/4}·max(1, |θ|) exceeds σ
        // and −E[∇² ln p] was off 6×. A model without an exact Hessian (the
        // plugin case) is now differenced in Fisher units: it passes at
        // σ = 10⁻⁵ and 10⁵, with an exact score (Jacobian of the score) and
        // without one (second differences of ln p, steps from a pilot run).
        for sigma in [1e-5, 1e5] {
            let th = [3.0 * sigma, sigma];
            let r = validate(&TNormal::default(), &th, &settings(40_000)).unwrap();
            assert!(r.verdict.pass, "σ = {sigma}: {:?}", r.verdict.reasons);
            let r = validate(&TNormal { bug: Bug::Bare }, &th, &settings(40_000)).unwrap();
            assert!(
                r.verdict.pass,
                "σ = {sigma} (bare): {:?}",
                r.verdict.reasons
            );
            let nh = &r.estimators[1];
            let s2 = sigma * sigma;
            let se = nh.std_err.as_ref().unwrap();
            assert!((nh.matrix[0][0] - 1.0 / s2).abs() < 5.0 * se[0][0] + 1e-6 / s2);
            assert!((nh.matrix[1][1] - 2.0 / s2).abs() < 5.0 * se[1][1] + 1e-6 / s2);
        }
        // The same Fisher wrong by 1 % in I_σσ still fails there.
        let sigma: f64 = 1e-5;
        let s2 = sigma * sigma;
        let mut s = settings(40_000);
        s.claimed = Some(vec![vec![1.0 / s2, 0.0], vec![0.0, 1.01 * 2.0 / s2]]);
        let r = validate(&TNormal::default(), &[0.0, sigma], &s).unwrap();
        assert!(!r.verdict.pass && !r.verdict.inconclusive);
    }

    /// y = Aθ + N(0, I₂) with an ill-conditioned A and no closed-form Fisher:
    /// the reference is JᵀΣ⁻¹J = AᵀA.
    #[derive(Debug, Default, Serialize, Deserialize)]
    struct TLin {}

    const A: [f64; 4] = [1.0, 1.0, 1.0, 1.01];

    #[typetag::serde(name = "validate_test_linear")]
    impl Model for TLin {
        fn param_names(&self) -> Vec<String> {
            vec!["a".into(), "b".into()]
        }
        fn obs_dim(&self) -> usize {
            2
        }
        fn check_params(&self, t: &[f64]) -> std::result::Result<(), ParamError> {
            check_len(self, t)
        }
        fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
            let g = self.forward(t).unwrap();
            for i in 0..2 {
                let z: f64 = StandardNormal.sample(&mut *r);
                out[i] = g[i] + z;
            }
        }
        fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
            let g = self.forward(t).unwrap();
            -0.5 * ((y[0] - g[0]).powi(2) + (y[1] - g[1]).powi(2))
                - (2.0 * std::f64::consts::PI).ln()
        }
        fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
            Some(0.5 * (self.forward(a)? - self.forward(b)?).norm_squared())
        }
        fn forward(&self, t: &[f64]) -> Option<DVector<f64>> {
            Some(DMatrix::from_row_slice(2, 2, &A) * DVector::from_column_slice(t))
        }
        fn noise_covariance(&self) -> Option<DMatrix<f64>> {
            Some(DMatrix::identity(2, 2))
        }
    }

    fn settings(n: usize) -> Settings {
        Settings {
            samples: n,
            seed: 7,
            claimed: None,
        }
    }

    fn failed(r: &Report) -> Vec<&str> {
        r.checks
            .iter()
            .filter(|c| !c.pass)
            .map(|c| c.name.as_str())
            .collect()
    }

    #[test]
    fn correct_normal_passes_at_three_points() {
        for theta in [[0.5, 1.5], [-2.0, 0.3], [10.0, 4.0]] {
            let r = validate(&TNormal::default(), &theta, &settings(40_000)).unwrap();
            assert!(r.verdict.pass, "{theta:?}: {:?}", r.verdict.reasons);
            assert_eq!(r.reference, Some(Method::ClosedForm));
            // Every applicable check ran: 2 MC + KL Hessian comparisons, symmetry,
            // 2 PSD (closed, KL Hessian) + score_outer PSD, score mean, 2 KL checks.
            assert_eq!(r.checks.len(), 10, "{:#?}", r.checks);
            // The spectrum is that of diag(1/σ², 2/σ²): stiff direction is σ.
            let s2 = theta[1] * theta[1];
            assert!((r.spectrum.eigenvalues[0] - 2.0 / s2).abs() < 1e-12 / s2);
            assert_eq!(r.spectrum.stiff.dominant, "sigma");
            assert_eq!(r.spectrum.sloppy.dominant, "mu");
            assert!((r.spectrum.condition_number - 2.0).abs() < 1e-12);
        }
    }

    #[test]
    fn closed_form_wrong_by_two_fails() {
        let r = validate(
            &TNormal { bug: Bug::Fisher },
            &[0.5, 1.5],
            &settings(40_000),
        )
        .unwrap();
        assert!(!r.verdict.pass);
        let f = failed(&r);
        assert!(
            f.iter()
                .any(|n| n.starts_with("score_outer vs closed_form")),
            "{f:?}"
        );
        assert!(
            f.iter()
                .any(|n| n.starts_with("neg_hessian vs closed_form")),
            "{f:?}"
        );
        assert!(
            f.iter().any(|n| n.starts_with("kl_hessian vs closed_form")),
            "{f:?}"
        );
        assert!(f.iter().any(|n| n.starts_with("KL expansion")), "{f:?}");
    }

    #[test]
    fn kl_without_its_half_fails_the_expansion() {
        let r = validate(&TNormal { bug: Bug::Kl }, &[0.5, 1.5], &settings(20_000)).unwrap();
        let f = failed(&r);
        assert!(f.iter().any(|n| n.contains("worst |ratio − 1|")), "{f:?}");
        assert!(f.iter().any(|n| n.contains("convergence")), "{f:?}");
        // The ratio tends to 2, not 1.
        let d = &r.kl_expansion.as_ref().unwrap().directions[0];
        assert!((d.ratios[3] - 2.0).abs() < 1e-3, "{:?}", d.ratios);
    }

    #[test]
    fn biased_score_fails_the_zero_mean_check() {
        let r = validate(&TNormal { bug: Bug::Score }, &[0.5, 1.5], &settings(40_000)).unwrap();
        let f = failed(&r);
        assert!(f.iter().any(|n| n.starts_with("score mean zero")), "{f:?}");
        // SE of the μ-score mean is (1/σ)/√n = 0.0033; the offset 0.05 is z ≈ 15.
        assert!(r.score_mean.z[0] > 10.0, "{:?}", r.score_mean);
    }

    #[test]
    fn claimed_matrix_right_passes_wrong_by_two_fails() {
        let s2: f64 = 1.5 * 1.5;
        let mut s = settings(40_000);
        s.claimed = Some(vec![vec![1.0 / s2, 0.0], vec![0.0, 2.0 / s2]]);
        let r = validate(&TNormal::default(), &[0.5, 1.5], &s).unwrap();
        assert!(r.verdict.pass, "{:?}", r.verdict.reasons);
        // Typed to four digits: 0.4444, 0.8889 (within CLAIM_RTOL).
        s.claimed = Some(vec![vec![0.4444, 0.0], vec![0.0, 0.8889]]);
        assert!(
            validate(&TNormal::default(), &[0.5, 1.5], &s)
                .unwrap()
                .verdict
                .pass
        );
        for (i, j) in [(0, 0), (1, 1)] {
            let mut c = vec![vec![1.0 / s2, 0.0], vec![0.0, 2.0 / s2]];
            c[i][j] *= 2.0;
            s.claimed = Some(c);
            let r = validate(&TNormal::default(), &[0.5, 1.5], &s).unwrap();
            let f = failed(&r);
            assert!(!r.verdict.pass);
            for name in [
                "claimed vs closed_form",
                "claimed vs score_outer",
                "claimed vs neg_hessian",
                "claimed: KL expansion",
            ] {
                assert!(f.iter().any(|n| n.starts_with(name)), "{name} not in {f:?}");
            }
        }
        // An asymmetric claim fails the symmetry check.
        s.claimed = Some(vec![vec![1.0 / s2, 0.01], vec![0.0, 2.0 / s2]]);
        let r = validate(&TNormal::default(), &[0.5, 1.5], &s).unwrap();
        assert!(failed(&r).contains(&"claimed symmetric (asymmetry)"));
    }

    #[test]
    fn bad_inputs_are_errors_naming_the_setting() {
        let m = TNormal::default();
        let e = validate(&m, &[0.5, -1.0], &settings(100)).unwrap_err();
        assert!(e.to_string().contains("sigma"), "{e}");
        let e = validate(&m, &[0.5], &settings(100)).unwrap_err();
        assert!(e.to_string().contains("2 parameters"), "{e}");
        let e = validate(&m, &[0.5, 1.0], &settings(0)).unwrap_err();
        assert!(e.to_string().contains("samples"), "{e}");
        let mut s = settings(100);
        s.claimed = Some(vec![vec![1.0, 0.0]]);
        let e = validate(&m, &[0.5, 1.0], &s).unwrap_err();
        assert!(
            e.to_string().contains("claimed_fisher") && e.to_string().contains("2×2"),
            "{e}"
        );
        s.claimed = Some(vec![vec![1.0, 0.0], vec![0.0]]);
        let e = validate(&m, &[0.5, 1.0], &s).unwrap_err();
        assert!(e.to_string().contains("row 2 has 1 entries"), "{e}");
    }

    #[test]
    fn without_closed_forms_the_estimators_are_compared_with_each_other() {
        let r = validate(&TNormal { bug: Bug::Bare }, &[0.5, 1.5], &settings(40_000)).unwrap();
        assert_eq!(r.reference, None);
        assert!(r.kl_expansion.is_none());
        assert!(r.verdict.pass, "{:?}", r.verdict.reasons);
        assert!(
            r.checks
                .iter()
                .any(|c| c.name.starts_with("neg_hessian vs score_outer"))
        );
        // The Monte Carlo estimates agree with diag(1/σ², 2/σ²) within 5 SE.
        let so = &r.estimators[0];
        let se = so.std_err.as_ref().unwrap();
        let s2 = 1.5 * 1.5;
        assert!((so.matrix[0][0] - 1.0 / s2).abs() < 5.0 * se[0][0]);
        assert!((so.matrix[1][1] - 2.0 / s2).abs() < 5.0 * se[1][1]);
    }

    #[test]
    fn steps_leaving_the_space_are_shrunk() {
        // At p = 0.999 the unit Fisher step ε/√I = 0.1·0.0316 leaves (0, 1).
        let r = validate(&TBern {}, &[0.999], &settings(40_000)).unwrap();
        assert!(r.verdict.pass, "{:?}", r.verdict.reasons);
        let k = r.kl_expansion.unwrap();
        assert!(k.directions.iter().any(|d| d.shrink < 1.0), "{k:?}");
        // Why the KL Hessian steps at the natural scale: with steps of
        // ε^{1/4}·max(1, |p|) it is off by more than 10⁻³ here, scaled it is not.
        let exact: f64 = 1.0 / (0.999 * 0.001);
        let plain =
            crate::numdiff::hessian(|t| TBern {}.kl(&[0.999], t).unwrap(), &[0.999])[(0, 0)];
        let auto = fisher::kl_hessian(&TBern {}, &[0.999]).unwrap().matrix[(0, 0)];
        assert!((auto / exact - 1.0).abs() < FD_RTOL, "{auto} {exact}");
        let scaled = fisher::kl_hessian_scaled(&TBern {}, &[0.999], &[exact.sqrt().recip()])
            .unwrap()
            .matrix[(0, 0)];
        assert!((plain / exact - 1.0).abs() > 1e-3, "{plain} {exact}");
        assert!((scaled / exact - 1.0).abs() < FD_RTOL, "{scaled} {exact}");
        let r = validate(&TBern {}, &[0.3], &settings(40_000)).unwrap();
        assert!(r.verdict.pass, "{:?}", r.verdict.reasons);
    }

    #[test]
    fn jacobian_form_is_the_reference_without_a_closed_form() {
        let r = validate(&TLin {}, &[0.2, -0.4], &settings(40_000)).unwrap();
        assert_eq!(r.reference, Some(Method::Jacobian));
        assert!(r.verdict.pass, "{:?}", r.verdict.reasons);
        // AᵀA for A = [[1, 1], [1, 1.01]].
        let ata = [2.0, 2.01, 2.01, 1.0 + 1.01 * 1.01];
        let j = &r.estimators[0].matrix;
        for (k, v) in ata.iter().enumerate() {
            assert!((j[k / 2][k % 2] - v).abs() < 1e-8, "{j:?}");
        }
        // Condition number of AᵀA = (σ_max/σ_min)² of A.
        let sv = DMatrix::from_row_slice(2, 2, &A).singular_values();
        let cond = (sv.max() / sv.min()).powi(2);
        assert!((r.spectrum.condition_number / cond - 1.0).abs() < 1e-6);
    }

    #[test]
    fn one_seed_one_report() {
        let a = validate(&TNormal::default(), &[0.5, 1.5], &settings(5_000)).unwrap();
        let b = validate(&TNormal::default(), &[0.5, 1.5], &settings(5_000)).unwrap();
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
    }

    #[test]
    fn threshold_grows_with_the_number_of_entries() {
        assert_eq!(z_threshold(14), Z_MIN);
        let z = z_threshold(230);
        // Two-sided tail times m equals α at the threshold.
        let tail = 2.0 * (1.0 - Normal::standard().cdf(z)) * 230.0;
        assert!(
            (tail / FAMILY_ALPHA - 1.0).abs() < 1e-6 && z > Z_MIN,
            "{z} {tail}"
        );
    }

    #[test]
    fn extrapolation_removes_the_linear_term() {
        // Oracle: ratios exactly 1 + aε (and c(1 + aε) for a metric off by 1/c)
        // extrapolate to 1 (and c) to round-off.
        let a = 15.0;
        let exact: Vec<f64> = super::KL_EPSILONS.iter().map(|e| 1.0 + a * e).collect();
        assert!((super::extrapolated_ratio(&exact) - 1.0).abs() < 1e-12);
        let half: Vec<f64> = exact.iter().map(|r| 0.5 * r).collect();
        assert!((super::extrapolated_ratio(&half) - 0.5).abs() < 1e-12);
    }
}

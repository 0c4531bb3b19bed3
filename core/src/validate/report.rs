//! The validator's report: plain, serialisable data (one struct per check
//! family) and the verdict.

use super::fmt_num;
use crate::check::Check;
use crate::fisher::{self, Method};
use serde::Serialize;

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
    /// KL(θ‖θ+δ(ε)) for each ε of `KL_EPSILONS`.
    pub kl: Vec<f64>,
    /// KL / (½ δᵀIδ) with the reference I, for each ε.
    pub ratios: Vec<f64>,
    /// KL / (½ δᵀCδ) with the claimed C, for each ε.
    pub claimed_ratios: Option<Vec<f64>>,
    /// The O(ε) convergence measure of `kl_expansion` (≤ 1 passes).
    pub convergence: f64,
    /// Whether the steps reached the asymptotic regime of eq. (31) (see
    /// `kl_expansion`); a direction that did not can pass but not fail a
    /// check: its failure is unresolved (near a boundary, where the Fisher
    /// unit is far below the scale of θ, the shrinking runs out first).
    pub asymptotic: bool,
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

impl Verdict {
    /// The verdict of a list of checks: a pass when all pass, inconclusive
    /// when every failure is one Monte Carlo could not resolve.
    pub fn of(checks: &[Check]) -> Self {
        let failed: Vec<&Check> = checks.iter().filter(|c| !c.pass).collect();
        if failed.is_empty() {
            return Verdict {
                pass: true,
                inconclusive: false,
                reasons: vec![format!("all {} checks passed", checks.len())],
            };
        }
        Verdict {
            pass: false,
            inconclusive: failed.iter().all(|c| c.note.is_some()),
            reasons: failed
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
                .collect(),
        }
    }
}

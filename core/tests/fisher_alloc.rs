//! Issue 13 item 5: the Monte Carlo Fisher estimators allocate per chunk of
//! [`rng::CHUNK`] draws, never per draw and never per finite-difference
//! evaluation of ln p or of the score.
//!
//! Oracle: a counting global allocator (this test binary only) and a count of
//! the model's own evaluations. Between runs of n₁ and n₂ = n₁ + k·CHUNK draws
//! the number of evaluations grows by k·CHUNK·(evaluations per draw), about
//! 2·10⁴ to 2·10⁵ per chunk at d = 10, while the number of allocations may grow
//! only by the chunk's fixed set of buffers (`Work`, `Moments`, the chunk's
//! draws: 10 of them, bounded here by [`PER_CHUNK`]). The control model
//! allocates one vector per ln p evaluation (as a careless plugin would) and
//! must be seen to: that shows the counter sees allocations made inside the
//! rayon workers, so the bound can fail.
//!
//! One `#[test]` only: the counter is global, and a second test running at the
//! same time would add its allocations.

use bayesrg_core::ParamError;
use bayesrg_core::fisher;
use bayesrg_core::model::{Model, check_len};
use bayesrg_core::rng::CHUNK;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Counts every allocation and reallocation of the process.
struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(p, l, n) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Evaluations of ln p or of the score by the test models.
static EVALS: AtomicUsize = AtomicUsize::new(0);

/// The allowance of allocations per chunk of draws.
const PER_CHUNK: usize = 16;

const D: usize = 10;

/// y ~ N(θ, I₁₀), θ ∈ ℝ¹⁰. `exact_score`: the score y − θ is given and the
/// Hessian is left to the estimators (a Jacobian of the score, 2d score
/// calls per draw); otherwise only ln p is given (2d calls per score, 1 + 2d²
/// per Hessian). `allocating`: ln p collects the residual into a `Vec` (the
/// control).
#[derive(Debug, Serialize, Deserialize)]
struct IsoNormal {
    exact_score: bool,
    allocating: bool,
}

#[typetag::serde(name = "t_alloc_iso_normal")]
impl Model for IsoNormal {
    fn param_names(&self) -> Vec<String> {
        (0..D).map(|i| format!("mu{i}")).collect()
    }
    fn dim(&self) -> usize {
        D
    }
    fn obs_dim(&self) -> usize {
        D
    }
    fn check_params(&self, t: &[f64]) -> Result<(), ParamError> {
        check_len(self, t)
    }
    fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
        for (o, m) in out.iter_mut().zip(t) {
            let z: f64 = StandardNormal.sample(r);
            *o = m + z;
        }
    }
    fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
        EVALS.fetch_add(1, Relaxed);
        let q: f64 = if self.allocating {
            let r: Vec<f64> = y.iter().zip(t).map(|(a, b)| a - b).collect();
            r.iter().map(|v| v * v).sum()
        } else {
            y.iter().zip(t).map(|(a, b)| (a - b) * (a - b)).sum()
        };
        -0.5 * (q + D as f64 * (2.0 * std::f64::consts::PI).ln())
    }
    fn score(&self, t: &[f64], y: &[f64], out: &mut [f64]) {
        if !self.exact_score {
            // The trait's default (finite differences at default steps); the
            // estimators do not call it for a model without an exact score.
            bayesrg_core::numdiff::gradient_into(|x| self.log_likelihood(x, y), t, out);
            return;
        }
        EVALS.fetch_add(1, Relaxed);
        for ((o, a), b) in out.iter_mut().zip(y).zip(t) {
            *o = a - b;
        }
    }
    fn has_exact_score(&self) -> bool {
        self.exact_score
    }
}

/// (allocations, evaluations) of one call of `f`.
fn count(f: impl FnOnce()) -> (usize, usize) {
    let (a0, e0) = (ALLOCS.load(Relaxed), EVALS.load(Relaxed));
    f();
    (ALLOCS.load(Relaxed) - a0, EVALS.load(Relaxed) - e0)
}

type Estimator = fn(&dyn Model, &[f64], usize, u64) -> bayesrg_core::Result<fisher::FisherEstimate>;

/// Allocations and evaluations added by `extra` more chunks of draws.
fn growth(m: &IsoNormal, est: Estimator, extra: usize) -> (usize, usize) {
    let theta: Vec<f64> = (0..D).map(|i| 10f64.powi(i as i32 - 5)).collect();
    let run = |n: usize| count(|| drop(est(m, &theta, n, 7).expect("estimate")));
    let (a1, e1) = run(2 * CHUNK);
    let (a2, e2) = run((2 + extra) * CHUNK);
    (a2.saturating_sub(a1), e2 - e1)
}

#[test]
fn monte_carlo_fisher_allocates_per_chunk_not_per_evaluation() {
    // Warm up: the rayon pool and lazily built statics allocate once.
    let warm = IsoNormal {
        exact_score: true,
        allocating: false,
    };
    fisher::neg_hessian(&warm, &[0.0; D], 4 * CHUNK, 1).expect("warm-up");

    let extra = 6;
    let cases: [(&str, bool, Estimator, usize); 3] = [
        // −E[∇² ln p] as the central-difference Jacobian of the exact score:
        // 2d = 20 score calls per draw.
        (
            "neg_hessian, Jacobian of the score",
            true,
            fisher::neg_hessian,
            2 * D,
        ),
        // −E[∇² ln p] as second differences of ln p: 1 + 2d + 4·d(d−1)/2 calls.
        (
            "neg_hessian, second differences of ln p",
            false,
            fisher::neg_hessian,
            1 + 2 * D * D,
        ),
        // E[ℓℓᵀ] with the score by central differences of ln p: 2d calls.
        (
            "score_outer, differences of ln p",
            false,
            fisher::score_outer,
            2 * D,
        ),
    ];
    for (name, exact_score, est, per_draw) in cases {
        let m = IsoNormal {
            exact_score,
            allocating: false,
        };
        let (allocs, evals) = growth(&m, est, extra);
        assert_eq!(evals, extra * CHUNK * per_draw, "{name}: evaluations");
        assert!(
            allocs <= extra * PER_CHUNK,
            "{name}: {allocs} allocations for {extra} more chunks ({evals} more evaluations); \
             allowed {PER_CHUNK} per chunk"
        );
        eprintln!("{name}: +{allocs} allocations for +{evals} evaluations ({extra} chunks)");
    }

    // The control: one allocation per ln p evaluation must be counted.
    let bad = IsoNormal {
        exact_score: false,
        allocating: true,
    };
    let (allocs, evals) = growth(&bad, fisher::neg_hessian, extra);
    assert!(
        allocs >= evals && allocs > extra * PER_CHUNK,
        "the counter missed the control's allocations: {allocs} for {evals} evaluations"
    );
}

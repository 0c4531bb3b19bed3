//! Throughput of the Monte Carlo Fisher estimators (samples per second) at
//! d = 2 and d = 10:
//! - `normal` (μ, σ), d = 2;
//! - `mvn_mean` with an AR(1) covariance Σᵢⱼ = 0.5^|i−j|, d = 10 (its Hessian
//!   −Σ⁻¹ does not depend on y);
//! - `sum_of_exponentials` with 10 rates at 12 times, d = 10 (a Hessian that
//!   depends on y: the general case of forward-mode automatic differentiation);
//! - the same model with its exact Hessian hidden ([`NoHessian`]), so that
//!   −E[∇² ln p] is the central-difference Jacobian of the exact score: 2d = 20
//!   score calls per draw, the path of a plugin that gives a score only.
//!
//! Run with `cargo bench --bench fisher_mc`; numbers in docs/benchmarks.md.
//!
//! With `BAYESRG_FISHER_PEER=1` it instead runs, for the peer script
//! `benches/peers/fisher_mc.py`, −E[∇² ln p] of the `sum_of_exponentials` case
//! with `BAYESRG_FISHER_SAMPLES` draws (default 200 000), best of
//! `BAYESRG_FISHER_REPEATS` (default 3), by AD Hessian and by differences of
//! the score, and prints one JSON line: samples per second, the estimates,
//! their standard errors and the closed form JᵀJ/σ² (eqs. 40–42).

use bayesrg::core::Model;
use bayesrg::core::fisher::{FisherEstimate, neg_hessian, score_outer};
use bayesrg::models::{MvnMean, Normal, SumOfExponentials};
use criterion::{Criterion, Throughput, criterion_group};
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::hint::black_box;
use std::time::Instant;

const N: usize = 50_000;

fn mvn_mean(d: usize) -> MvnMean {
    let cov = DMatrix::from_fn(d, d, |i, j| 0.5f64.powi((i as i32 - j as i32).abs()));
    MvnMean::new(cov).expect("AR(1) covariance is positive definite")
}

/// The d = 10 sum of exponentials: rates 0.2·1.5ⁱ, times 0.5, 1, …, 6, σ = 0.1.
fn soe() -> (SumOfExponentials, Vec<f64>) {
    let m = SumOfExponentials::new(10, (1..=12).map(|k| 0.5 * k as f64).collect(), 0.1)
        .expect("valid sum of exponentials");
    let rates = (0..10).map(|i| 0.2 * 1.5f64.powi(i)).collect();
    (m, rates)
}

/// A model with its exact Hessian hidden: the estimators difference its
/// exact score instead (everything else is the inner model's).
#[derive(Debug, Serialize, Deserialize)]
struct NoHessian {
    inner: SumOfExponentials,
}

#[typetag::serde(name = "bench_no_hessian")]
impl Model for NoHessian {
    fn param_names(&self) -> Vec<String> {
        self.inner.param_names()
    }
    fn obs_dim(&self) -> usize {
        self.inner.obs_dim()
    }
    fn check_params(&self, t: &[f64]) -> Result<(), bayesrg::core::ParamError> {
        self.inner.check_params(t)
    }
    fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
        self.inner.sample(t, r, out)
    }
    fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
        self.inner.log_likelihood(t, y)
    }
    fn score(&self, t: &[f64], y: &[f64], out: &mut [f64]) {
        self.inner.score(t, y, out)
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    fn fisher(&self, t: &[f64]) -> Option<DMatrix<f64>> {
        self.inner.fisher(t)
    }
    fn forward(&self, t: &[f64]) -> Option<DVector<f64>> {
        self.inner.forward(t)
    }
    fn noise_covariance(&self) -> Option<DMatrix<f64>> {
        self.inner.noise_covariance()
    }
}

fn bench_model(c: &mut Criterion, name: &str, m: &dyn Model, theta: &[f64]) {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(10);
    g.bench_function("score_outer", |b| {
        b.iter(|| score_outer(black_box(m), black_box(theta), N, 1).unwrap())
    });
    g.bench_function("neg_hessian", |b| {
        b.iter(|| neg_hessian(black_box(m), black_box(theta), N, 1).unwrap())
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    bench_model(c, "fisher_mc_normal_d2", &Normal {}, &[0.5, 1.5]);
    let theta: Vec<f64> = (0..10).map(|i| 0.1 * i as f64).collect();
    bench_model(c, "fisher_mc_mvn_mean_d10", &mvn_mean(10), &theta);
    let (m, rates) = soe();
    bench_model(c, "fisher_mc_sum_of_exponentials_d10", &m, &rates);
    let fd = NoHessian { inner: m };
    bench_model(
        c,
        "fisher_mc_sum_of_exponentials_d10_score_differences",
        &fd,
        &rates,
    );
}

criterion_group! {
    name = benches;
    // No HTML plots: the machine has no system fonts for criterion's plotters backend.
    config = Criterion::default().without_plots();
    targets = bench
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rows(m: &DMatrix<f64>) -> Vec<Vec<f64>> {
    (0..m.nrows())
        .map(|i| m.row(i).iter().copied().collect())
        .collect()
}

/// Best-of-`repeats` seconds of −E[∇² ln p] on `m`, and the estimate.
fn timed(m: &dyn Model, theta: &[f64], n: usize, repeats: usize) -> (f64, FisherEstimate) {
    let mut best = f64::INFINITY;
    let mut est = None;
    for _ in 0..repeats {
        let t = Instant::now();
        let e = neg_hessian(m, theta, n, 1).expect("neg_hessian");
        best = best.min(t.elapsed().as_secs_f64());
        est = Some(e);
    }
    (best, est.expect("repeats >= 1"))
}

/// One timed run for `benches/peers/fisher_mc.py`; prints one JSON line.
fn peer() {
    let n = env("BAYESRG_FISHER_SAMPLES", 200_000);
    let repeats = env("BAYESRG_FISHER_REPEATS", 3).max(1);
    let (m, rates) = soe();
    let exact = m.fisher(&rates).expect("closed-form Fisher");
    let (t_ad, ad) = timed(&m, &rates, n, repeats);
    let fd_model = NoHessian { inner: m };
    let (t_fd, fd) = timed(&fd_model, &rates, n, repeats);
    let out = serde_json::json!({
        "samples": n,
        "threads": rayon::current_num_threads(),
        "theta": rates,
        "exact": rows(&exact),
        "ad": {
            "seconds": t_ad,
            "samples_per_second": n as f64 / t_ad,
            "matrix": rows(&ad.matrix),
            "std_err": rows(ad.std_err.as_ref().expect("Monte Carlo")),
        },
        "score_differences": {
            "seconds": t_fd,
            "samples_per_second": n as f64 / t_fd,
            "matrix": rows(&fd.matrix),
            "std_err": rows(fd.std_err.as_ref().expect("Monte Carlo")),
        },
    });
    println!("{out}");
}

fn main() {
    if std::env::var_os("BAYESRG_FISHER_PEER").is_some() {
        peer();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

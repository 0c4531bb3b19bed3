//! Throughput of the Monte Carlo Fisher estimators (samples per second) at
//! d = 2 and d = 10:
//! - `normal` (μ, σ), d = 2;
//! - `mvn_mean` with an AR(1) covariance Σᵢⱼ = 0.5^|i−j|, d = 10 (its Hessian
//!   −Σ⁻¹ does not depend on y);
//! - `sum_of_exponentials` with 10 rates at 12 times, d = 10 (a Hessian that
//!   depends on y: the general case of forward-mode automatic differentiation).
//!
//! Run with `cargo bench --bench fisher_mc`; numbers in docs/benchmarks.md.

use bayesrg::core::Model;
use bayesrg::core::fisher::{neg_hessian, score_outer};
use bayesrg::models::{MvnMean, Normal, SumOfExponentials};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nalgebra::DMatrix;
use std::hint::black_box;

const N: usize = 50_000;

fn mvn_mean(d: usize) -> MvnMean {
    let cov = DMatrix::from_fn(d, d, |i, j| 0.5f64.powi((i as i32 - j as i32).abs()));
    MvnMean::new(cov).expect("AR(1) covariance is positive definite")
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
    let soe = SumOfExponentials::new(10, (1..=12).map(|k| 0.5 * k as f64).collect(), 0.1)
        .expect("valid sum of exponentials");
    let rates: Vec<f64> = (0..10).map(|i| 0.2 * 1.5f64.powi(i)).collect();
    bench_model(c, "fisher_mc_sum_of_exponentials_d10", &soe, &rates);
}

criterion_group! {
    name = benches;
    // No HTML plots: the machine has no system fonts for criterion's plotters backend.
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);

//! Throughput of the Monte Carlo Fisher estimators (samples per second) for a
//! 10-dimensional model: `mvn_mean` with an AR(1) covariance Σᵢⱼ = 0.5^|i−j|
//! (exact score; −E[∇² ln p] differentiates it numerically, 2d score calls per
//! sample). Run with `cargo bench --bench fisher_mc`; numbers in docs/benchmarks.md.

use bayesrg::core::fisher::{neg_hessian, score_outer};
use bayesrg::models::MvnMean;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nalgebra::DMatrix;
use std::hint::black_box;

const D: usize = 10;
const N: usize = 50_000;

fn model() -> MvnMean {
    let cov = DMatrix::from_fn(D, D, |i, j| 0.5f64.powi((i as i32 - j as i32).abs()));
    MvnMean::new(cov).expect("AR(1) covariance is positive definite")
}

fn bench(c: &mut Criterion) {
    let m = model();
    let theta: Vec<f64> = (0..D).map(|i| 0.1 * i as f64).collect();
    let mut g = c.benchmark_group("fisher_mc_d10");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(20);
    g.bench_function("score_outer", |b| {
        b.iter(|| score_outer(black_box(&m), black_box(&theta), N, 1).unwrap())
    });
    g.bench_function("neg_hessian", |b| {
        b.iter(|| neg_hessian(black_box(&m), black_box(&theta), N, 1).unwrap())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // No HTML plots: the machine has no system fonts for criterion's plotters backend.
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);

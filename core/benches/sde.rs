//! Path-steps per second of Euler–Maruyama ensembles at d = 1, 10, 100, and the
//! rate of drawing standard normals (the floor: each path-step needs d of them).
//!
//! Problem (shared with `benches/peers/numpy_em.py`): dY = −Y dτ + θdW with
//! K⁻¹ = θθᵀ dense (K⁻¹ᵢⱼ = 0.5^{|i−j|}), y₀ = 1, h = 0.01.

use bayesrg_core::rng::par_chunks;
use bayesrg_core::sde::ensemble::{EnsembleConfig, simulate};
use bayesrg_core::sde::steppers::EulerMaruyama;
use bayesrg_core::sde::terms::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nalgebra::{DMatrix, DVector};
use rand_distr::{Distribution, StandardNormal};
use std::hint::black_box;
use std::sync::Arc;

/// The benchmark problem in dimension d.
pub fn problem(d: usize) -> Problem {
    let k_inv = DMatrix::from_fn(d, d, |i, j| 0.5f64.powi((i as i32 - j as i32).abs()));
    Problem::new(
        Arc::new(LinearDrift::new(DMatrix::identity(d, d), DVector::zeros(d)).unwrap()),
        Diffusion::Additive(AdditiveNoise::from_k_inv(&k_inv).unwrap()),
    )
    .unwrap()
}

fn em(c: &mut Criterion) {
    let mut g = c.benchmark_group("euler_maruyama_path_steps");
    g.sample_size(10);
    for &d in &[1usize, 10, 100] {
        let p = problem(d);
        let paths = 8192;
        let steps = 20;
        let cfg = EnsembleConfig::new(paths, vec![1.0; d], vec![steps as f64 * 0.01], 0.01, 1);
        g.throughput(Throughput::Elements((paths * steps) as u64));
        g.bench_function(format!("d={d}"), |b| {
            b.iter(|| black_box(simulate(&p, &EulerMaruyama, &cfg, &|_| {}).unwrap()))
        });
    }
    g.finish();
}

fn normals(c: &mut Criterion) {
    let mut g = c.benchmark_group("standard_normal_draws");
    g.sample_size(10);
    let n = 1 << 22;
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("chacha8_ziggurat_parallel", |b| {
        b.iter(|| {
            let s: Vec<f64> = par_chunks(n / 1024, 1, |_, r, rng| {
                let mut acc = 0.0;
                for _ in 0..r.len() * 1024 {
                    let z: f64 = StandardNormal.sample(rng);
                    acc += z;
                }
                acc
            });
            black_box(s)
        })
    });
    g.finish();
}

criterion_group!(benches, em, normals);
criterion_main!(benches);

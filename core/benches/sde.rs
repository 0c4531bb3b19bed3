//! Path-steps per second of Euler–Maruyama ensembles at d = 1, 10, 100, and the
//! rate of drawing standard normals with the generator the ensembles use
//! ([`NormalStream`], the floor: each path-step of an additive-noise problem
//! needs d of them).
//!
//! Problem (shared with `benches/peers/numpy_em.py`): dY = −Y dτ + θdW with
//! K⁻¹ = θθᵀ dense (K⁻¹ᵢⱼ = 0.5^{|i−j|}), y₀ = 1, h = 0.01.
//!
//! `cargo bench -p bayesrg-core --bench sde` runs the criterion benchmarks. With
//! `BAYESRG_SDE_PEER=1` it instead runs one timed ensemble for the peer script
//! `benches/peers/run_sde.py` (settings from `BAYESRG_SDE_DIM`, `_PATHS`,
//! `_STEPS`, `_REPEATS`) and prints one JSON line: the best path-steps per
//! second, the floor (normals per second of the same chunked, seeded streams on
//! the same threads), the fraction of the floor reached, and the final mean and
//! covariance for the law check.

use bayesrg_core::rng::{CHUNK, NormalStream, par_chunks};
use bayesrg_core::sde::brownian::draw_increment;
use bayesrg_core::sde::ensemble::{EnsembleConfig, simulate};
use bayesrg_core::sde::steppers::{EulerMaruyama, Increment, Stepper, Workspace};
use bayesrg_core::sde::terms::*;
use criterion::{Criterion, Throughput, criterion_group};
use nalgebra::{DMatrix, DVector};
use rand_distr::{Distribution, StandardNormal};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

/// The benchmark problem in dimension d.
pub fn problem(d: usize) -> Problem {
    let k_inv = DMatrix::from_fn(d, d, |i, j| 0.5f64.powi((i as i32 - j as i32).abs()));
    Problem::new(
        Arc::new(LinearDrift::new(DMatrix::identity(d, d), DVector::zeros(d)).unwrap()),
        Diffusion::Additive(AdditiveNoise::from_k_inv(&k_inv).unwrap()),
    )
    .unwrap()
}

/// Draws `per_path × paths` standard normals, chunked and seeded exactly as an
/// ensemble draws its increments (one [`NormalStream`] per chunk, a reused
/// buffer of 8192 numbers); returns a checksum.
fn draw_floor(paths: usize, per_path: usize, seed: u64) -> f64 {
    par_chunks(paths, seed, |_, r, rng| {
        let mut ns = NormalStream::new(rng);
        let mut buf = vec![0.0; 8192];
        let mut left = r.len() * per_path;
        let mut acc = 0.0;
        while left > 0 {
            let k = left.min(buf.len());
            ns.fill(&mut buf[..k]);
            acc += buf[0];
            left -= k;
        }
        acc
    })
    .into_iter()
    .sum()
}

/// The ensemble kernel before the block stepping of issue 13, for the
/// before/after ratio: path after path, step after step, ChaCha8 + Ziggurat
/// increments and [`Stepper::step`] per path (the former body of `simulate`,
/// without saving). Returns a checksum.
fn path_by_path(p: &Problem, paths: usize, steps: usize, h: f64, seed: u64) -> f64 {
    let d = p.dim();
    par_chunks(paths, seed, |_, r, rng| {
        let mut ws = Workspace::new(d, d);
        let mut dw = vec![0.0; d];
        let mut y = vec![0.0; d];
        let mut acc = 0.0;
        for _ in r {
            y.fill(1.0);
            ws.reset();
            for s in 0..steps {
                draw_increment(rng, h, &mut dw, None);
                let inc = Increment {
                    h,
                    dw: &dw,
                    dz: &[],
                };
                EulerMaruyama.step(p, s as f64 * h, &inc, &mut y, &mut ws);
            }
            acc += y[0];
        }
        acc
    })
    .into_iter()
    .sum()
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
    // The generator the ensembles use (the floor of an additive-noise step).
    g.bench_function("normal_stream_parallel", |b| {
        b.iter(|| black_box(draw_floor(n / 64, 64, 1)))
    });
    // The generator of every other seeded computation, for comparison.
    g.bench_function("chacha8_ziggurat_parallel", |b| {
        b.iter(|| {
            let s: Vec<f64> = par_chunks(n / CHUNK, 1, |_, r, rng| {
                let mut acc = 0.0;
                for _ in 0..r.len() * CHUNK {
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

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One timed run for `benches/peers/run_sde.py`; prints one JSON line. Also
/// times the former path-by-path kernel ([`path_by_path`]) for the
/// before/after ratio.
fn peer() {
    let d = env("BAYESRG_SDE_DIM", 10);
    let paths = env("BAYESRG_SDE_PATHS", 100_000);
    let steps = env("BAYESRG_SDE_STEPS", 100);
    let repeats = env("BAYESRG_SDE_REPEATS", 3).max(1);
    let h = 0.01;
    let p = problem(d);
    let cfg = EnsembleConfig::new(paths, vec![1.0; d], vec![steps as f64 * h], h, 1);
    let mut best = f64::INFINITY;
    let mut ens = None;
    for _ in 0..repeats {
        let t = Instant::now();
        let e = simulate(&p, &EulerMaruyama, &cfg, &|_| {}).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        ens = Some(e);
    }
    let mut floor = f64::INFINITY;
    for _ in 0..repeats {
        let t = Instant::now();
        black_box(draw_floor(paths, steps * d, 1));
        floor = floor.min(t.elapsed().as_secs_f64());
    }
    let mut before = f64::INFINITY;
    for _ in 0..repeats {
        let t = Instant::now();
        black_box(path_by_path(&p, paths, steps, h, 1));
        before = before.min(t.elapsed().as_secs_f64());
    }
    let ens = ens.unwrap();
    let cov = ens.cov(0);
    let rows: Vec<Vec<f64>> = (0..d)
        .map(|i| cov.row(i).iter().copied().collect())
        .collect();
    let ps = (paths * steps) as f64;
    println!(
        "{{\"dim\": {d}, \"paths\": {paths}, \"steps\": {steps}, \"threads\": {}, \
         \"seconds\": {best}, \"path_steps_per_second\": {}, \"floor_seconds\": {floor}, \
         \"floor_normals_per_second\": {}, \"floor_fraction\": {}, \"before_path_steps_per_second\": {}, \"kernel\": \"{:?}\", \
         \"mean\": {:?}, \"cov\": {:?}}}",
        rayon::current_num_threads(),
        ps / best,
        ps * d as f64 / floor,
        floor / best,
        ps / before,
        bayesrg_core::rng::LaneKernel::detect(),
        ens.mean(0).as_slice(),
        rows
    );
}

criterion_group!(benches, em, normals);

fn main() {
    if std::env::var_os("BAYESRG_SDE_PEER").is_some() {
        peer();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

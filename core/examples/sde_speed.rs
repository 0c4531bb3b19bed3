//! Quick single-thread timing of the Euler–Maruyama hot loop against the normal
//! draws it needs (a development aid; the reported numbers come from criterion
//! and `benches/peers/run_sde.py`).
use bayesrg_core::sde::brownian::draw_increment;
use bayesrg_core::sde::steppers::{EulerMaruyama, Increment, Stepper, Workspace};
use bayesrg_core::sde::terms::*;
use nalgebra::{DMatrix, DVector};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let d = 10;
    let n = 200_000usize;
    let k_inv = DMatrix::from_fn(d, d, |i, j| 0.5f64.powi((i as i32 - j as i32).abs()));
    let p = Problem::new(
        Arc::new(LinearDrift::new(DMatrix::identity(d, d), DVector::zeros(d)).unwrap()),
        Diffusion::Additive(AdditiveNoise::from_k_inv(&k_inv).unwrap()),
    )
    .unwrap();
    // Best of 15 interleaved rounds: on a shared machine the best round is the
    // one least disturbed by other processes.
    let mut rng = bayesrg_core::rng::stream(1, 0);
    let mut dw = vec![0.0; d];
    let mut y = vec![1.0; d];
    let mut ws = Workspace::new(d, d);
    let (mut best_n, mut best_e) = (0.0f64, 0.0f64);
    let mut acc = 0.0;
    for _ in 0..15 {
        let t = Instant::now();
        for _ in 0..n {
            draw_increment(&mut rng, 0.01, &mut dw, None);
            acc += dw.iter().sum::<f64>();
        }
        best_n = best_n.max(n as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        for _ in 0..n {
            draw_increment(&mut rng, 0.01, &mut dw, None);
            let inc = Increment {
                h: 0.01,
                dw: &dw,
                dz: &[],
            };
            EulerMaruyama.step(&p, 0.0, &inc, &mut y, &mut ws);
        }
        best_e = best_e.max(n as f64 / t.elapsed().as_secs_f64());
    }
    println!(
        "d = {d}, one thread: normals alone {best_n:.3e} steps/s ({:.3e} normals/s); Euler–Maruyama {best_e:.3e} path-steps/s = {:.0}% of the floor ({acc:.1} {:.3})",
        best_n * d as f64,
        100.0 * best_e / best_n,
        y[0]
    );
}

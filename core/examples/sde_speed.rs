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
    let n = 2_000_000usize;
    let k_inv = DMatrix::from_fn(d, d, |i, j| 0.5f64.powi((i as i32 - j as i32).abs()));
    let p = Problem::new(
        Arc::new(LinearDrift::new(DMatrix::identity(d, d), DVector::zeros(d)).unwrap()),
        Diffusion::Additive(AdditiveNoise::from_k_inv(&k_inv).unwrap()),
    )
    .unwrap();
    let mut rng = bayesrg_core::rng::stream(1, 0);
    let mut dw = vec![0.0; d];
    let t = Instant::now();
    let mut acc = 0.0;
    for _ in 0..n {
        draw_increment(&mut rng, 0.01, &mut dw, None);
        acc += dw[0];
    }
    let tn = t.elapsed().as_secs_f64();
    let mut y = vec![1.0; d];
    let mut ws = Workspace::new(d, d);
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
    let te = t.elapsed().as_secs_f64();
    println!(
        "normals only: {:.3e} steps/s; EM: {:.3e} steps/s ({acc:.1} {:.3})",
        n as f64 / tn,
        n as f64 / te,
        y[0]
    );
}

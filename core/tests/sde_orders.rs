//! Convergence orders against exact solutions, with shared Brownian paths.
//!
//! Strong error e(h) = E|Y_h(T) − Y(T)| over P paths, each path refined on the
//! same fine Brownian increments; the order is the least-squares slope of
//! ln e against ln h over h = T/16 … T/256, required within ±0.15 of theory.

use bayesrg_core::check::observed_order as slope;
use bayesrg_core::rng::stream;
use bayesrg_core::sde::Stepper;
use bayesrg_core::sde::brownian::BrownianPath;
use bayesrg_core::sde::ou;
use bayesrg_core::sde::steppers::{EulerMaruyama, Milstein, Sra1, StochasticHeun};
use bayesrg_core::sde::terms::*;
use nalgebra::{DMatrix, DVector};
use std::sync::Arc;

const LEVELS: [usize; 5] = [16, 32, 64, 128, 256];
const N_FINE: usize = 4096;

/// Mean strong error at each level; `exact(path)` gives the reference Y(T).
fn strong_errors(
    p: &Problem,
    st: &dyn Stepper,
    y0: &[f64],
    paths: usize,
    seed: u64,
    exact: &dyn Fn(&BrownianPath) -> Vec<f64>,
) -> Vec<f64> {
    let mut rng = stream(seed, 0);
    let mut err = vec![0.0; LEVELS.len()];
    for _ in 0..paths {
        let bp = BrownianPath::new(p.noise_dim(), 0.0, 1.0, N_FINE, &mut rng);
        let yt = exact(&bp);
        for (l, &n) in LEVELS.iter().enumerate() {
            let y = bp.solve(p, st, y0, n);
            err[l] += y
                .iter()
                .zip(&yt)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt();
        }
    }
    err.iter().map(|e| e / paths as f64).collect()
}

fn hs() -> Vec<f64> {
    LEVELS.iter().map(|&n| 1.0 / n as f64).collect()
}

fn ou_problem() -> (Problem, DMatrix<f64>, DMatrix<f64>) {
    let b = DMatrix::from_row_slice(2, 2, &[2.0, 0.5, -0.5, 1.0]);
    let k_inv = DMatrix::from_row_slice(2, 2, &[1.0, 0.3, 0.3, 0.6]);
    let noise = AdditiveNoise::from_k_inv(&k_inv).unwrap();
    let theta = noise.factor();
    let p = Problem::new(
        Arc::new(LinearDrift::new(b.clone(), DVector::zeros(2)).unwrap()),
        Diffusion::Additive(noise),
    )
    .unwrap();
    (p, b, theta)
}

/// The OU solution driven by the path: on each fine step δ,
/// y ← e^{−Bδ}y + θΔW − BθΔZ, the stochastic integral ∫e^{−B(δ−s)}θdW expanded
/// to the terms ΔW, ΔZ = ∫(δ − s)dW; local error O(δ^{5/2}), global O(δ²) ≈ 6e-8,
/// far below the coarsest errors measured.
fn ou_exact(bp: &BrownianPath, b: &DMatrix<f64>, theta: &DMatrix<f64>, y0: &[f64]) -> Vec<f64> {
    let delta = bp.fine_step();
    let e = (-b * delta).exp();
    let bt = b * theta;
    let (dw, dz) = bp.increments(bp.n_fine());
    let mut y = DVector::from_column_slice(y0);
    for k in 0..bp.n_fine() {
        let w = DVector::from_column_slice(&dw[2 * k..2 * k + 2]);
        let z = DVector::from_column_slice(&dz[2 * k..2 * k + 2]);
        y = &e * y + theta * w - &bt * z;
    }
    y.iter().copied().collect()
}

#[test]
fn ou_strong_orders_euler_one_sra1_two() {
    // Additive noise: Euler–Maruyama strong order 1.0. SRA1 is order 1.5 in
    // general, but every order-1.5 and order-2 error term of an additive-noise
    // scheme carries b'' (the (j,j,0) integrals), which vanishes for linear drift;
    // the first surviving term, L^jL⁰b·I₍ⱼ,₀,₀₎, has local size h^{5/2}: order 2.
    let (p, b, theta) = ou_problem();
    let y0 = [1.0, -0.5];
    let exact = |bp: &BrownianPath| ou_exact(bp, &b, &theta, &y0);
    let em = slope(
        &hs(),
        &strong_errors(&p, &EulerMaruyama, &y0, 300, 1, &exact),
    );
    assert!((em - 1.0).abs() <= 0.15, "Euler–Maruyama strong order {em}");
    let sra = slope(&hs(), &strong_errors(&p, &Sra1, &y0, 300, 2, &exact));
    assert!(
        (sra - 2.0).abs() <= 0.15,
        "SRA1 strong order on linear drift {sra}"
    );
}

#[test]
fn sra1_strong_order_one_and_a_half_on_nonlinear_drift() {
    // b(y) = −sin 2y, σ = 2: σ²b'' = 16 sin 2y ≠ 0, so the I₍ⱼ,ⱼ,₀₎ term (local
    // size h², not captured by any additive-noise RK scheme of order 1.5) makes the
    // order exactly 1.5; a large σ²b'' makes it dominate already at h = 1/16. No closed form exists; the reference is SRA1 on the
    // 4096-step fine grid of the same path (error ~ (1/4096)^{3/2} ≈ 4e-6, far
    // below the h = 1/256 error).
    let p = Problem::new(
        Arc::new(FnDrift::new(1, |y, _, o| o[0] = -(2.0 * y[0]).sin())),
        Diffusion::Additive(AdditiveNoise::from_k_inv(&DMatrix::from_element(1, 1, 4.0)).unwrap()),
    )
    .unwrap();
    let y0 = [1.0];
    let exact = |bp: &BrownianPath| bp.solve(&p, &Sra1, &y0, N_FINE);
    let e = strong_errors(&p, &Sra1, &y0, 400, 3, &exact);
    let sra = slope(&hs(), &e);
    assert!((sra - 1.5).abs() <= 0.15, "SRA1 strong order {sra}");
    let em = slope(
        &hs(),
        &strong_errors(&p, &EulerMaruyama, &y0, 400, 4, &exact),
    );
    assert!((em - 1.0).abs() <= 0.15, "Euler–Maruyama strong order {em}");
}

fn gbm(mu: f64, s: f64) -> Problem {
    Problem::new(
        Arc::new(FnDrift::new(1, move |y, _, o| o[0] = mu * y[0])),
        Diffusion::Diagonal(Arc::new(FnDiagonalNoise::new(
            1,
            move |y: &[f64], _, o: &mut [f64]| o[0] = s * y[0],
        ))),
    )
    .unwrap()
}

#[test]
fn gbm_strong_orders_euler_half_milstein_one() {
    // dX = μX dt + σX dW (Itô): X_T = X₀ exp((μ − σ²/2)T + σW_T).
    let (mu, s) = (0.5, 0.8);
    let p = gbm(mu, s);
    let exact = |bp: &BrownianPath| {
        let w: f64 = bp.increments(1).0[0];
        vec![((mu - 0.5 * s * s) + s * w).exp()]
    };
    let em = slope(
        &hs(),
        &strong_errors(&p, &EulerMaruyama, &[1.0], 400, 5, &exact),
    );
    assert!((em - 0.5).abs() <= 0.15, "Euler–Maruyama strong order {em}");
    let mil = slope(&hs(), &strong_errors(&p, &Milstein, &[1.0], 400, 6, &exact));
    assert!((mil - 1.0).abs() <= 0.15, "Milstein strong order {mil}");
}

#[test]
fn heun_solves_the_stratonovich_gbm_with_order_one() {
    // dX = μX dt + σX∘dW (Stratonovich): X_T = X₀ exp(μT + σW_T).
    let (mu, s) = (0.5, 0.8);
    let p = gbm(mu, s);
    let exact = |bp: &BrownianPath| vec![(mu + s * bp.increments(1).0[0]).exp()];
    let heun = slope(
        &hs(),
        &strong_errors(&p, &StochasticHeun, &[1.0], 400, 7, &exact),
    );
    assert!(
        (heun - 1.0).abs() <= 0.15,
        "stochastic Heun strong order {heun}"
    );
}

#[test]
fn euler_weak_order_one_from_its_moment_recursion() {
    // For linear drift, Euler–Maruyama's moments obey exactly
    // mₙ₊₁ = (I − hB)mₙ, Σₙ₊₁ = (I − hB)Σₙ(I − hB)ᵀ + hK⁻¹; against the exact law
    // the weak error of the covariance must fall as h¹ (no Monte Carlo involved).
    let b = DMatrix::from_row_slice(2, 2, &[2.0, 0.5, -0.5, 1.0]);
    let k_inv = DMatrix::from_row_slice(2, 2, &[1.0, 0.3, 0.3, 0.6]);
    let y0 = [1.0, -0.5];
    let law = ou::law(&b, &DVector::zeros(2), &k_inv, &y0, 1.0).unwrap();
    let mut errs = Vec::new();
    for &n in &LEVELS {
        let h = 1.0 / n as f64;
        let a = DMatrix::identity(2, 2) - &b * h;
        let mut m = DVector::from_column_slice(&y0);
        let mut s = DMatrix::zeros(2, 2);
        for _ in 0..n {
            m = &a * m;
            s = &a * s * a.transpose() + &k_inv * h;
        }
        errs.push((&s - law.cov()).norm() + (&m - law.mean()).norm());
    }
    let w = slope(&hs(), &errs);
    assert!((w - 1.0).abs() <= 0.15, "Euler weak order {w}");
}

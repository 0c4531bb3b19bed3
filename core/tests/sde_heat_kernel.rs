//! The heat kernel N(y₀ + γ_τ − γ₀, τK⁻¹) of eqs. (21) and (43) as a tested
//! identity: with constant drift and additive noise Euler–Maruyama is exact in
//! law at any step, so the ensemble must pass Hotelling T², whitened covariance
//! and KS tests against the closed form. Each p-value is uniform under the null;
//! we require p ≥ 1e-3 (fixed seeds), and show the same tests reject the √2
//! convention (spread 2τK⁻¹) with p < 1e-9.

use bayesrg_core::gaussian::Gaussian;
use bayesrg_core::sde::ensemble::{EnsembleConfig, simulate};
use bayesrg_core::sde::gaussian_law::{check, same_law};
use bayesrg_core::sde::steppers::{EulerMaruyama, ExactOu, Sra1};
use bayesrg_core::sde::terms::*;
use nalgebra::{DMatrix, DVector};
use std::sync::Arc;

fn k_inv() -> DMatrix<f64> {
    DMatrix::from_row_slice(3, 3, &[1.0, 0.4, -0.2, 0.4, 0.8, 0.1, -0.2, 0.1, 0.5])
}

fn heat_kernel(y0: &[f64], v: &[f64], tau: f64, k_inv: &DMatrix<f64>) -> Gaussian {
    let mean = DVector::from_iterator(3, (0..3).map(|i| y0[i] + v[i] * tau));
    Gaussian::new(mean, k_inv * tau).unwrap()
}

#[test]
fn constant_drift_is_exact_in_law_at_any_step() {
    let v = vec![1.0, -0.5, 0.25];
    let y0 = vec![0.3, 0.0, -1.0];
    let p = Problem::new(
        Arc::new(ConstantDrift::new(v.clone())),
        Diffusion::Additive(AdditiveNoise::from_k_inv(&k_inv()).unwrap()),
    )
    .unwrap();
    let save = vec![0.5, 2.0];
    let coarse = simulate(
        &p,
        &EulerMaruyama,
        &EnsembleConfig::new(20_000, y0.clone(), save.clone(), 0.5, 11),
        &|_| {},
    )
    .unwrap();
    let fine = simulate(
        &p,
        &EulerMaruyama,
        &EnsembleConfig::new(20_000, y0.clone(), save.clone(), 0.02, 12),
        &|_| {},
    )
    .unwrap();
    for (k, &tau) in save.iter().enumerate() {
        let law = heat_kernel(&y0, &v, tau, &k_inv());
        for e in [&coarse, &fine] {
            let c = check(e.states(k), &law);
            assert!(c.min_p() >= 1e-3, "τ = {tau}: {c:?}");
        }
        // Changing the number of steps changes nothing beyond Monte Carlo error.
        let p2 = same_law(coarse.states(k), fine.states(k), 3);
        assert!(p2 >= 1e-3, "τ = {tau}: two-sample p = {p2}");
        // Power: the √2 convention's law N(γ_τ, 2τK⁻¹) is rejected.
        let wrong = heat_kernel(&y0, &v, tau, &(k_inv() * 2.0));
        assert!(check(fine.states(k), &wrong).min_p() < 1e-9);
    }
}

#[test]
fn linear_potential_moves_the_mean_by_minus_half_k_inv_grad_v() {
    // V = gᵀy: drift −½K⁻¹g (docs/conventions.md), law N(y₀ − ½τK⁻¹g, τK⁻¹).
    let g = DVector::from_vec(vec![2.0, -1.0, 0.5]);
    let gc = g.clone();
    let drift =
        NaturalGradientDrift::constant(move |_, out| out.copy_from_slice(gc.as_slice()), k_inv());
    let p = Problem::new(
        Arc::new(drift),
        Diffusion::Additive(AdditiveNoise::from_k_inv(&k_inv()).unwrap()),
    )
    .unwrap();
    let y0 = vec![0.0; 3];
    let tau = 1.5;
    let e = simulate(
        &p,
        &EulerMaruyama,
        &EnsembleConfig::new(20_000, y0.clone(), vec![tau], 0.3, 5),
        &|_| {},
    )
    .unwrap();
    let v: Vec<f64> = (-(k_inv() * &g) * 0.5).iter().copied().collect();
    let c = check(e.states(0), &heat_kernel(&y0, &v, tau, &k_inv()));
    assert!(c.min_p() >= 1e-3, "{c:?}");
    // Power: the drift without the ½ (−K⁻¹∇V) is rejected by the mean test.
    let v2: Vec<f64> = (-(k_inv() * &g)).iter().copied().collect();
    let c2 = check(e.states(0), &heat_kernel(&y0, &v2, tau, &k_inv()));
    assert!(c2.hotelling_p < 1e-9, "{c2:?}");
}

#[test]
fn k_given_as_precision_gives_the_same_kernel() {
    // K⁻¹ through K (triangular solve) and the exact stepper with B = 0.
    let k = k_inv().cholesky().unwrap().inverse();
    let p = Problem::new(
        Arc::new(ZeroDrift::new(3)),
        Diffusion::Additive(AdditiveNoise::from_k(&k).unwrap()),
    )
    .unwrap();
    let y0 = vec![1.0, 2.0, 3.0];
    let law = heat_kernel(&y0, &[0.0; 3], 0.7, &k_inv());
    for (i, st) in [
        &EulerMaruyama as &dyn bayesrg_core::sde::Stepper,
        &ExactOu::default(),
        &Sra1,
    ]
    .into_iter()
    .enumerate()
    {
        let e = simulate(
            &p,
            st,
            &EnsembleConfig::new(10_000, y0.clone(), vec![0.7], 0.35, 20 + i as u64),
            &|_| {},
        )
        .unwrap();
        let c = check(e.states(0), &law);
        assert!(c.min_p() >= 1e-3, "{}: {c:?}", st.info().name);
    }
}

#[test]
fn same_bits_with_one_or_two_threads() {
    let p = Problem::new(
        Arc::new(LinearDrift::new(DMatrix::identity(3, 3), DVector::zeros(3)).unwrap()),
        Diffusion::Additive(AdditiveNoise::from_k_inv(&k_inv()).unwrap()),
    )
    .unwrap();
    let cfg = EnsembleConfig::new(3000, vec![1.0, 0.0, -1.0], vec![0.1, 0.5], 0.05, 99);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| simulate(&p, &Sra1, &cfg, &|_| {}).unwrap())
    };
    let (a, b) = (run(1), run(2));
    for k in 0..2 {
        let same = a
            .states(k)
            .iter()
            .zip(b.states(k))
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "save time {k} differs between 1 and 2 threads");
    }
}

#[test]
fn bad_settings_are_errors() {
    let p = Problem::new(
        Arc::new(ZeroDrift::new(3)),
        Diffusion::Additive(AdditiveNoise::from_k_inv(&k_inv()).unwrap()),
    )
    .unwrap();
    let run = |cfg: EnsembleConfig| simulate(&p, &EulerMaruyama, &cfg, &|_| {});
    assert!(run(EnsembleConfig::new(10, vec![0.0; 3], vec![1.0], 0.0, 1)).is_err());
    assert!(run(EnsembleConfig::new(10, vec![0.0; 3], vec![1.0], -0.1, 1)).is_err());
    assert!(run(EnsembleConfig::new(10, vec![0.0; 2], vec![1.0], 0.1, 1)).is_err());
    assert!(
        run(EnsembleConfig::new(
            10,
            vec![0.0; 3],
            vec![1.0, 0.5],
            0.1,
            1
        ))
        .is_err()
    );
    assert!(run(EnsembleConfig::new(0, vec![0.0; 3], vec![1.0], 0.1, 1)).is_err());
}

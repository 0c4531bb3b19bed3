//! Long-run laws: Leimkuhler–Matthews against Euler at a large step, and the
//! divergence correction of the natural-gradient drift.

use bayesrg_core::gaussian::Gaussian;
use bayesrg_core::sde::ensemble::{EnsembleConfig, simulate};
use bayesrg_core::sde::gaussian_law::{check, ks_normal};
use bayesrg_core::sde::steppers::{EulerMaruyama, LeimkuhlerMatthews};
use bayesrg_core::sde::terms::*;
use nalgebra::{DMatrix, DVector};
use std::sync::Arc;

#[test]
fn leimkuhler_matthews_hits_the_stationary_covariance_where_euler_is_biased() {
    // V = ½yᵀPy, constant K⁻¹ = A: dY = −½APy dτ + θdW, stationary law N(0, P⁻¹).
    // With M = I − ½hAP, Euler's stationary covariance solves C = MCMᵀ + hA (its
    // exact recursion), while LM's C = MCMᵀ + ½hA + ¼h(MA + AMᵀ) is solved by
    // C = P⁻¹ at every stable h. Here ½h·eig(AP) reaches 0.8 (large step).
    let p_mat = DMatrix::from_row_slice(2, 2, &[2.0, 0.6, 0.6, 1.0]);
    let a = DMatrix::from_row_slice(2, 2, &[1.0, -0.3, -0.3, 0.7]);
    let drift = LinearDrift::quadratic_potential(&a, &p_mat, DVector::zeros(2)).unwrap();
    let prob = Problem::new(
        Arc::new(drift),
        Diffusion::Additive(AdditiveNoise::from_k_inv(&a).unwrap()),
    )
    .unwrap();
    let ap = &a * &p_mat;
    let lam_max = ap.clone().eigenvalues().unwrap().max();
    let h = 1.6 / lam_max; // ½h·λ_max = 0.8
    let target = Gaussian::new(
        DVector::zeros(2),
        p_mat.clone().cholesky().unwrap().inverse(),
    )
    .unwrap();
    // Euler's predicted stationary covariance from its recursion (fixed point).
    let m = DMatrix::identity(2, 2) - &ap * (0.5 * h);
    let mut c = DMatrix::zeros(2, 2);
    for _ in 0..10_000 {
        c = &m * &c * m.transpose() + &a * h;
    }
    let euler_law = Gaussian::new(DVector::zeros(2), c).unwrap();
    let cfg = EnsembleConfig::new(20_000, vec![3.0, -3.0], vec![60.0 * h], h, 8);
    let lm = simulate(&prob, &LeimkuhlerMatthews, &cfg, &|_| {}).unwrap();
    let em = simulate(&prob, &EulerMaruyama, &cfg, &|_| {}).unwrap();
    let c_lm = check(lm.states(0), &target);
    assert!(c_lm.min_p() >= 1e-3, "LM vs N(0, P⁻¹): {c_lm:?}");
    let c_em = check(em.states(0), &euler_law);
    assert!(
        c_em.min_p() >= 1e-3,
        "Euler vs its predicted bias: {c_em:?}"
    );
    // The test sees bias: Euler is rejected against the true stationary law.
    let c_bias = check(em.states(0), &target);
    assert!(
        c_bias.whitened_p < 1e-9,
        "Euler's bias not detected: {c_bias:?}"
    );
}

fn state_dependent(correction: bool) -> Vec<f64> {
    // d = 1, V = y²/2 (e^{−V} = N(0, 1)), K⁻¹(y) = exp(0.8 tanh y), σ = √K⁻¹.
    let kinv = |y: f64| (0.8 * y.tanh()).exp();
    let drift =
        NaturalGradientDrift::new(1, |y, g| g[0] = y[0], move |y, k| k[(0, 0)] = kinv(y[0]))
            .with_correction(correction);
    let noise = FnDiagonalNoise::new(1, move |y: &[f64], _, o: &mut [f64]| {
        o[0] = kinv(y[0]).sqrt()
    });
    let p = Problem::new(Arc::new(drift), Diffusion::Diagonal(Arc::new(noise))).unwrap();
    let e = simulate(
        &p,
        &EulerMaruyama,
        &EnsembleConfig::new(8000, vec![0.0], vec![8.0], 0.02, 31),
        &|_| {},
    )
    .unwrap();
    e.coordinate(0, 0)
}

#[test]
fn divergence_correction_makes_e_to_the_minus_v_stationary() {
    // With the correction ½∂_yK⁻¹ the stationary law is e^{−V} = N(0, 1); the
    // Euler bias at h = 0.02 is O(h) ≈ 1e-2 in the density, below the KS
    // resolution (≈ 1.4/√8000 ≈ 0.015 at p = 0.05). Without the correction the
    // stationary law is ∝ e^{−V}/K⁻¹ = e^{−y²/2 − 0.8 tanh y}, whose CDF is ≈ 0.2
    // away from Φ near 0: the test must reject it.
    let (_, p_with) = ks_normal(&state_dependent(true), 0.0, 1.0);
    assert!(p_with >= 1e-3, "with correction: KS p = {p_with}");
    let (_, p_without) = ks_normal(&state_dependent(false), 0.0, 1.0);
    assert!(p_without < 1e-9, "without correction: KS p = {p_without}");
}

//! Backward inference (eq. 38) and the DB-RG predictive in model space (39) and
//! data space (43)–(44).

mod common;

use bayesrg_core::bayes::backward;
use bayesrg_core::bayes::observables;
use bayesrg_core::model::Model;
use bayesrg_core::sde::ensemble;
use common::*;
use nalgebra::{DMatrix, DVector};

fn lin_model() -> LinGauss {
    LinGauss {
        a: DMatrix::from_row_slice(3, 2, &[1.0, 0.5, -0.3, 2.0, 0.8, 0.1]),
        sigma: DMatrix::from_row_slice(3, 3, &[0.5, 0.1, 0.0, 0.1, 0.8, 0.05, 0.0, 0.05, 0.3]),
    }
}

/// Sample mean and covariance (divisor n − 1) of the rows `ys`, through the
/// one implementation in `bayesrg_core::sde::ensemble`.
fn sample_moments(ys: &[Vec<f64>]) -> (DVector<f64>, DMatrix<f64>) {
    let d = ys[0].len();
    let flat: Vec<f64> = ys.concat();
    (ensemble::mean(&flat, d), ensemble::covariance(&flat, d))
}

#[test]
fn linear_g_model_space_and_data_space_predictives_agree() {
    // Oracle: for linear G the pushforward of N(μ, τI⁻¹) is exactly
    // N(Aμ, τAI⁻¹Aᵀ), so the model-space predictive (39) by Monte Carlo and the
    // data-space kernel (43) must agree. Mean: z-score |Δ|/√(S_ii/N) ≤ 5;
    // covariance: |Δ_ij| ≤ 5·√((S_ii S_jj + S_ij²)/N) (Gaussian sampling error).
    let m = lin_model();
    let mu = [0.4, -0.6];
    let fisher = m.fisher(&mu).unwrap();
    let n = 40_000;
    let z = backward::base_draws(n, 2, 1);
    for tau in [0.1, 1.0, 10.0] {
        let (thetas, rej) = backward::sample_thetas(&m, &mu, tau, &fisher, &z).unwrap();
        assert_eq!(rej, 0.0);
        let ys = backward::predictive_samples(&m, &thetas, n, 2);
        let (mean, cov) = sample_moments(&ys);
        let k = backward::data_space_predictive(&m, &mu, tau, &fisher).unwrap();
        let s = k.cov();
        for i in 0..3 {
            let zm = (mean[i] - k.mean()[i]).abs() / (s[(i, i)] / n as f64).sqrt();
            assert!(zm < 5.0, "τ = {tau}: mean z {zm}");
            for j in 0..3 {
                let se = ((s[(i, i)] * s[(j, j)] + s[(i, j)].powi(2)) / n as f64).sqrt();
                assert!(
                    (cov[(i, j)] - s[(i, j)]).abs() < 5.0 * se,
                    "τ = {tau}: cov[{i},{j}] {} vs {}",
                    cov[(i, j)],
                    s[(i, j)]
                );
            }
        }
        // K⁻¹ = J I⁻¹ Jᵀ = A (AᵀΣ⁻¹A)⁻¹ Aᵀ (eq. 44, oracles.md §6).
        let kinv = backward::kernel_inverse(&m, &mu, &fisher).unwrap();
        let want = &m.a * fisher.clone().cholesky().unwrap().inverse() * m.a.transpose();
        assert!((kinv - want).amax() < 1e-12);
    }
}

#[test]
fn nonlinear_g_discrepancy_grows_with_tau() {
    // Sum of exponentials: at small τ the linearised pushforward is accurate
    // (energy distance at the Monte Carlo floor of two independent kernel
    // samples); at large τ the curvature of G shows (well above the floor).
    let m = SumExp {
        times: vec![0.5, 1.0, 2.0, 4.0],
        sigma: 0.02,
        rates: 2,
    };
    let mu = [0.5, 2.0];
    let fisher = bayesrg_core::fisher::best(&m, &mu, 1000, 0).unwrap();
    let n = 1500;
    let z = backward::base_draws(n, 2, 3);
    let ed = |tau: f64| {
        let (thetas, _) = backward::sample_thetas(&m, &mu, tau, &fisher, &z).unwrap();
        let ys = backward::predictive_samples(&m, &thetas, n, 4);
        let k = backward::data_space_predictive(&m, &mu, tau, &fisher).unwrap();
        let ks = backward::sample_data_space(&k, n, 5);
        let floor = observables::energy_distance(&backward::sample_data_space(&k, n, 6), &ks);
        (observables::energy_distance(&ys, &ks), floor.abs())
    };
    let (small, floor_s) = ed(1e-3);
    let (large, floor_l) = ed(10.0);
    assert!(
        small < 10.0 * floor_s.max(1e-6),
        "small τ: {small} vs floor {floor_s}"
    );
    assert!(
        large > 20.0 * floor_l,
        "large τ: {large} vs floor {floor_l}"
    );
}

#[test]
fn kl_to_start_is_non_decreasing_for_the_heat_kernel() {
    // KL(N(γ, τK⁻¹ + Σ) ‖ N(γ, Σ)) grows with τ (closed-form Gaussian KL).
    let m = lin_model();
    let mu = [0.4, -0.6];
    let fisher = m.fisher(&mu).unwrap();
    let p0 = backward::data_space_predictive(&m, &mu, 0.0, &fisher).unwrap();
    let mut last = 0.0;
    for tau in [0.01, 0.1, 0.3, 1.0, 3.0, 10.0] {
        let kl = backward::data_space_predictive(&m, &mu, tau, &fisher)
            .unwrap()
            .kl(&p0);
        assert!(kl > last, "τ = {tau}: {kl} after {last}");
        last = kl;
    }
}

#[test]
fn a_model_without_forward_map_is_refused() {
    let e =
        backward::data_space_predictive(&Pois {}, &[2.0], 1.0, &DMatrix::from_element(1, 1, 0.5))
            .unwrap_err();
    assert!(e.to_string().contains("forward map"), "{e}");
}

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

/// y = Aθ + N(0, Σ) with A = s·u vᵀ, u = v = (1, 2): rank 1 (issue #16 item 7).
fn singular_model(s: f64, sigma: DMatrix<f64>) -> LinGauss {
    LinGauss {
        a: DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 4.0]) * s,
        sigma,
    }
}

#[test]
fn singular_fisher_pushforward_is_the_pseudo_inverse_one() {
    // Issue #16 item 7: A = [[1, 2], [2, 4]], Σ = 1 was refused ("not
    // positive definite"), yet J I⁺ Jᵀ = [[0.2, 0.4], [0.4, 0.8]] (the
    // projector onto range A). Closed form for A = s·u vᵀ and any Σ:
    // I = s²v(uᵀΣ⁻¹u)vᵀ, I⁺ = vvᵀ/(s²|v|⁴uᵀΣ⁻¹u), so J I⁺ Jᵀ = uuᵀ/(uᵀΣ⁻¹u)
    // whatever s; null direction of I: (2, −1)/√5.
    let u = DVector::from_column_slice(&[1.0, 2.0]);
    let id = DMatrix::identity(2, 2);
    let sig = DMatrix::from_row_slice(2, 2, &[0.5, 0.1, 0.1, 0.4]);
    for sigma in [id.clone(), sig.clone(), sig * 1e-6, &id * 1e6] {
        let q = u.dot(&(sigma.clone().cholesky().unwrap().inverse() * &u));
        let want = &u * u.transpose() / q;
        for s in [1e-4, 1e-2, 1.0, 1e2, 1e4] {
            let m = singular_model(s, sigma.clone());
            let fisher = m.fisher(&[0.0, 0.0]).unwrap();
            let pf = backward::pushforward(&m.a, &fisher).unwrap();
            assert_eq!(pf.fisher_rank, 1, "s = {s}");
            let n = pf.null_directions.column(0);
            assert!(((2.0 * n[0] - n[1]).abs() / 5f64.sqrt() - 1.0).abs() < 1e-10);
            let rel = (&pf.k_inv - &want).amax() / want.amax();
            assert!(rel < 1e-12, "s = {s}: {rel:e}\n{}", pf.k_inv);
            let k = backward::kernel_inverse(&m, &[0.0, 0.0], &fisher).unwrap();
            assert_eq!(k, pf.k_inv);
        }
    }
    // The check can fail: a Fisher 1 % too large gives K⁻¹ 1 % too small.
    let m = singular_model(1.0, id);
    let pf = backward::pushforward(&m.a, &(m.fisher(&[0.0, 0.0]).unwrap() * 1.01)).unwrap();
    let want = DMatrix::from_row_slice(2, 2, &[0.2, 0.4, 0.4, 0.8]);
    assert!((pf.k_inv - want).amax() > 1e-3);
}

#[test]
fn singular_fisher_model_and_data_space_predictives_agree() {
    // With π_τ = N(μ, τI⁺) held at μ along the null direction, the pushforward
    // through affine G is exactly N(Aμ, τ A I⁺ Aᵀ) (module docs of
    // bayes::backward): the Monte Carlo predictive (39) must match the
    // data-space kernel (43) as in the definite case (z ≤ 5), and every draw
    // must stay on μ + range(I).
    let sigma = DMatrix::from_row_slice(2, 2, &[0.5, 0.1, 0.1, 0.4]);
    let m = singular_model(1.0, sigma);
    let mu = [0.4, -0.6];
    let fisher = m.fisher(&mu).unwrap();
    let n = 40_000;
    let z = backward::base_draws(n, 2, 7);
    for tau in [0.1, 10.0] {
        let (thetas, rej) = backward::sample_thetas(&m, &mu, tau, &fisher, &z).unwrap();
        assert_eq!(rej, 0.0);
        for t in &thetas {
            let along_null = (2.0 * (t[0] - mu[0]) - (t[1] - mu[1])) / 5f64.sqrt();
            assert!(along_null.abs() < 1e-12, "{along_null}");
        }
        let ys = backward::predictive_samples(&m, &thetas, n, 8);
        let (mean, cov) = sample_moments(&ys);
        let k = backward::data_space_predictive(&m, &mu, tau, &fisher).unwrap();
        let s = k.cov();
        for i in 0..2 {
            let zm = (mean[i] - k.mean()[i]).abs() / (s[(i, i)] / n as f64).sqrt();
            assert!(zm < 5.0, "τ = {tau}: mean z {zm}");
            for j in 0..2 {
                let se = ((s[(i, i)] * s[(j, j)] + s[(i, j)].powi(2)) / n as f64).sqrt();
                assert!((cov[(i, j)] - s[(i, j)]).abs() < 5.0 * se, "τ = {tau}");
            }
        }
        // The SDE simulation of the data-space flow runs on the rank-1 factor.
        let ks = backward::simulate_data_space(&m, &mu, tau, &fisher, 2000, 9).unwrap();
        let (_, kc) = sample_moments(&ks);
        let se = (2.0 * s[(1, 1)] * s[(1, 1)] / 2000.0).sqrt();
        assert!((kc[(1, 1)] - s[(1, 1)]).abs() < 5.0 * se);
    }
    // The check can fail: the kernel of a Fisher four times too large has a
    // covariance the Monte Carlo predictive rejects at τ = 10.
    let tau = 10.0;
    let (thetas, _) = backward::sample_thetas(&m, &mu, tau, &fisher, &z).unwrap();
    let ys = backward::predictive_samples(&m, &thetas, n, 8);
    let (_, cov) = sample_moments(&ys);
    let wrong = backward::data_space_predictive(&m, &mu, tau, &(&fisher * 4.0)).unwrap();
    let s = wrong.cov();
    let se = ((2.0 * s[(1, 1)] * s[(1, 1)]) / n as f64).sqrt();
    assert!((cov[(1, 1)] - s[(1, 1)]).abs() > 5.0 * se);
}

#[test]
fn only_what_needs_a_definite_metric_refuses_a_singular_one() {
    let m = singular_model(1.0, DMatrix::identity(2, 2));
    let fisher = m.fisher(&[0.0, 0.0]).unwrap();
    // The posterior as a density on ℝᵈ: refused, saying why.
    let e = backward::posterior(&[0.0, 0.0], 1.0, &fisher).unwrap_err();
    assert!(e.to_string().contains("null direction"), "{e}");
    assert!(e.to_string().contains("density"), "{e}");
    // A matrix that is not a metric (indefinite) is refused everywhere.
    let bad = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
    let e = backward::pushforward(&m.a, &bad).unwrap_err();
    assert!(e.to_string().contains("not positive semi-definite"), "{e}");
    let z = backward::base_draws(10, 2, 1);
    assert!(backward::sample_thetas(&m, &[0.0, 0.0], 1.0, &bad, &z).is_err());
    // A definite metric still gives the posterior density.
    let ok = DMatrix::from_row_slice(2, 2, &[2.0, 0.5, 0.5, 1.0]);
    let g = backward::posterior(&[0.0, 0.0], 0.5, &ok).unwrap();
    let want = ok.clone().cholesky().unwrap().inverse() * 0.5;
    assert!((g.cov() - want).amax() < 1e-14);
}

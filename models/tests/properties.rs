//! Properties over random valid θ (proptest, fixed seed), the reparametrisation
//! pair, and cross-checks between families.

mod common;

use bayesrg_core::Model;
use bayesrg_core::linalg::Spectrum;
use bayesrg_core::rng;
use bayesrg_models::*;
use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config() -> Config {
    Config {
        cases: 24,
        rng_seed: RngSeed::Fixed(20261128),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Fisher symmetric and positive semi-definite; KL(θ‖θ′) ≥ 0 and KL(θ‖θ) = 0;
/// the Monte Carlo mean of the score within 5 standard errors of 0 (eq. 28).
///
/// 5 rather than 4 standard errors: this runs 24 cases × 13 models × up to 9
/// score components, about 1,500 comparisons, and P(|z| > 5) = 5.7e-7 each.
fn check(m: &dyn Model, a: &[f64], b: &[f64], seed: u64) {
    m.check_params(a).unwrap();
    m.check_params(b).unwrap();
    let f = m.fisher(a).unwrap();
    assert_eq!(f, f.transpose(), "Fisher not symmetric at {a:?}");
    let s = Spectrum::of(&f);
    assert!(
        s.min() >= -1e-10 * f.amax(),
        "Fisher not PSD at {a:?}: {}",
        s.values
    );
    let k = m.kl(a, b).unwrap();
    assert!(k >= 0.0 || a == b, "KL({a:?}‖{b:?}) = {k}");
    assert!(m.kl(a, a).unwrap().abs() <= 1e-12);

    const N: usize = 4096;
    let d = m.dim();
    let mut r = rng::stream(seed, 0);
    let mut y = vec![0.0; m.obs_dim()];
    let mut sc = vec![0.0; d];
    let mut sum = DVector::<f64>::zeros(d);
    let mut sq = DVector::<f64>::zeros(d);
    for _ in 0..N {
        m.sample(a, &mut r, &mut y);
        m.score(a, &y, &mut sc);
        for i in 0..d {
            sum[i] += sc[i];
            sq[i] += sc[i] * sc[i];
        }
    }
    let n = N as f64;
    for i in 0..d {
        let mean = sum[i] / n;
        let se = ((sq[i] / n - mean * mean) / (n - 1.0)).sqrt();
        assert!(
            mean.abs() <= 5.0 * se + 1e-12,
            "score component {i} has mean {mean} ± {se} at {a:?}"
        );
    }
}

fn pos() -> impl Strategy<Value = f64> {
    // log-uniform on [0.05, 20]
    (0.05f64.ln()..20f64.ln()).prop_map(f64::exp)
}

/// A random probability vector with K entries, each ≥ 0.02, as its K − 1 free coordinates.
fn simplex(k: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(0.1f64..1.0, k).prop_map(move |w| {
        let tot: f64 = w.iter().sum();
        w[..k - 1].iter().map(|x| x / tot).collect()
    })
}

/// A random SPD covariance: LLᵀ + 0.1·I from a random lower-triangular L.
fn spd(d: usize) -> impl Strategy<Value = DMatrix<f64>> {
    prop::collection::vec(-1.0f64..1.0, d * d).prop_map(move |v| {
        let l = DMatrix::from_fn(d, d, |i, j| if j <= i { v[i * d + j] } else { 0.0 });
        &l * l.transpose() + DMatrix::identity(d, d) * 0.1
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn normal_props(m in -5.0f64..5.0, s in pos(), m2 in -5.0f64..5.0, s2 in pos(), seed in any::<u64>()) {
        check(&Normal {}, &[m, s], &[m2, s2], seed);
        check(&NormalVar {}, &[m, s], &[m2, s2], seed);
    }

    #[test]
    fn bernoulli_props(p in 0.01f64..0.99, q in 0.01f64..0.99, seed in any::<u64>()) {
        check(&Bernoulli {}, &[p], &[q], seed);
    }

    #[test]
    fn categorical_props((k, a, b) in (2usize..6).prop_flat_map(|k| (Just(k), simplex(k), simplex(k))),
                         seed in any::<u64>()) {
        check(&Categorical::new(k).unwrap(), &a, &b, seed);
    }

    #[test]
    fn scalar_rate_props(l in pos(), l2 in pos(), seed in any::<u64>()) {
        check(&Poisson {}, &[l], &[l2], seed);
        check(&Exponential {}, &[l], &[l2], seed);
    }

    #[test]
    fn gamma_beta_props(a in pos(), b in pos(), a2 in pos(), b2 in pos(), seed in any::<u64>()) {
        check(&Gamma {}, &[a, b], &[a2, b2], seed);
        // Beta draws underflow to 0 or 1 for very small shapes; keep a, b ≥ 0.3.
        check(&Beta {}, &[a.max(0.3), b.max(0.3)], &[a2.max(0.3), b2.max(0.3)], seed);
    }

    #[test]
    fn mvn_props(cov in spd(3), cov2 in spd(3), mu in prop::collection::vec(-3.0f64..3.0, 3),
                 mu2 in prop::collection::vec(-3.0f64..3.0, 3), seed in any::<u64>()) {
        check(&MvnMean::new(cov.clone()).unwrap(), &mu, &mu2, seed);
        let m = Mvn::new(3).unwrap();
        check(&m, &Mvn::pack(&mu, &cov), &Mvn::pack(&mu2, &cov2), seed);
    }

    #[test]
    fn exp_family_props(t in prop::collection::vec(-2.0f64..2.0, 3),
                        t2 in prop::collection::vec(-2.0f64..2.0, 3), seed in any::<u64>()) {
        let m = ExpFamilyFinite::new(common::mat(5, 3, &[
            -2.0, 4.0, 0.0, -1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, -1.0, 2.0, 4.0, 0.5,
        ])).unwrap();
        check(&m, &t, &t2, seed);
    }

    #[test]
    fn forward_model_props(t in prop::collection::vec(-5.0f64..5.0, 2),
                           t2 in prop::collection::vec(-5.0f64..5.0, 2),
                           r in prop::collection::vec(pos(), 4),
                           r2 in prop::collection::vec(pos(), 4), seed in any::<u64>()) {
        let lg = LinearGaussian::new(
            common::mat(3, 2, &[1.0, 0.0, 1.0, 1.0, 0.5, -1.0]),
            common::mat(3, 3, &[0.5, 0.1, 0.0, 0.1, 0.4, 0.05, 0.0, 0.05, 0.3]),
        ).unwrap();
        check(&lg, &t, &t2, seed);
        let se = SumOfExponentials::new(4, (1..=12).map(|k| 0.5 * k as f64).collect(), 0.1).unwrap();
        check(&se, &r, &r2, seed);
    }
}

#[test]
fn normal_reparametrisation_pair() {
    // I_(μ,v) = Jᵀ I_(μ,σ) J with J = ∂(μ, σ)/∂(μ, v) = diag(1, 1/(2σ)), v = σ².
    for &(mu, s) in &[(0.5, 1.5), (-2.0, 0.3), (3.0, 4.0), (0.0, 1e-3)] {
        let v = s * s;
        let i_sigma = Normal {}.fisher(&[mu, s]).unwrap();
        let i_var = NormalVar {}.fisher(&[mu, v]).unwrap();
        let j = DMatrix::from_diagonal(&DVector::from_vec(vec![1.0, 1.0 / (2.0 * s)]));
        let pulled = j.transpose() * i_sigma * &j;
        let err = (&pulled - &i_var).amax() / i_var.amax();
        assert!(err <= 1e-12, "at (μ, σ) = ({mu}, {s}): {pulled} vs {i_var}");
        // And the KLs agree: the same two distributions in two coordinates.
        let k1 = Normal {}.kl(&[mu, s], &[mu + 0.3, 1.2 * s]).unwrap();
        let k2 = NormalVar {}.kl(&[mu, v], &[mu + 0.3, 1.44 * v]).unwrap();
        assert!((k1 - k2).abs() <= 1e-12 * k1.max(1.0));
    }
}

#[test]
fn poisson_fisher_of_natural_parameter() {
    // oracles §1: in η = ln λ the Poisson Fisher is I(η) = λ. The chain rule on
    // the closed form, I(η) = (dλ/dη)² I(λ) = λ²/λ, to rounding; and a direct
    // Monte Carlo E[ℓ_η²] with ℓ_η = y − e^η from the model's own draws, within
    // 4 standard errors (3 independent checks).
    for (k, &lam) in [0.2, 3.5, 40.0].iter().enumerate() {
        let i_l = Poisson {}.fisher(&[lam]).unwrap()[(0, 0)];
        let i_eta = lam * lam * i_l;
        assert!((i_eta - lam).abs() <= 1e-12 * lam);
        const N: usize = 200_000;
        let mut r = rng::stream(99, k as u64);
        let mut y = [0.0];
        let (mut s, mut s2) = (0.0, 0.0);
        for _ in 0..N {
            Poisson {}.sample(&[lam], &mut r, &mut y);
            let l = (y[0] - lam).powi(2);
            s += l;
            s2 += l * l;
        }
        let n = N as f64;
        let mean = s / n;
        let se = ((s2 / n - mean * mean) / (n - 1.0)).sqrt();
        assert!(
            (mean - lam).abs() <= 4.0 * se,
            "λ = {lam}: E[ℓ_η²] = {mean} ± {se}"
        );
    }
}

#[test]
fn exp_family_with_one_statistic_is_bernoulli() {
    // S(y) = y on {0, 1}: p(1) = e^{−θ}/(1 + e^{−θ}) = p. Then I(θ) = p(1 − p)
    // = (dp/dθ)² I_Bernoulli(p) with dp/dθ = −p(1 − p), and the two KLs agree.
    let ef = ExpFamilyFinite::new(DMatrix::from_row_slice(2, 1, &[0.0, 1.0])).unwrap();
    for &t in &[-2.0, 0.0, 0.7, 3.0] {
        let p = 1.0 / (1.0 + f64::exp(t));
        let i_ef = ef.fisher(&[t]).unwrap()[(0, 0)];
        let dp = p * (1.0 - p);
        let i_b = dp * dp * Bernoulli {}.fisher(&[p]).unwrap()[(0, 0)];
        assert!(
            (i_ef - i_b).abs() <= 1e-12 * i_b,
            "θ = {t}: {i_ef} vs {i_b}"
        );
        let t2 = t + 0.9;
        let p2 = 1.0 / (1.0 + f64::exp(t2));
        let k_ef = ef.kl(&[t], &[t2]).unwrap();
        let k_b = Bernoulli {}.kl(&[p], &[p2]).unwrap();
        assert!((k_ef - k_b).abs() <= 1e-12, "θ = {t}: {k_ef} vs {k_b}");
    }
}

#[test]
fn mvn_contains_mvn_mean() {
    // With Σ held fixed, the mean block of the mvn Fisher is the mvn_mean Fisher
    // Σ⁻¹, and the KLs between equal-covariance members agree.
    let cov = common::mat(2, 2, &[2.0, 0.6, 0.6, 1.0]);
    let mm = MvnMean::new(cov.clone()).unwrap();
    let mvn = Mvn::new(2).unwrap();
    let (a, b) = ([0.5, -1.0], [1.5, 0.2]);
    let f = mvn.fisher(&Mvn::pack(&a, &cov)).unwrap();
    let fm = mm.fisher(&a).unwrap();
    assert!((f.view((0, 0), (2, 2)) - &fm).amax() <= 1e-12);
    assert!(f.view((0, 2), (2, 3)).amax() == 0.0);
    let k = mvn.kl(&Mvn::pack(&a, &cov), &Mvn::pack(&b, &cov)).unwrap();
    assert!((k - mm.kl(&a, &b).unwrap()).abs() <= 1e-12);
}

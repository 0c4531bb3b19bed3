//! The empirical Fisher of a data set beside I(θ) (issue 16 item 11,
//! `bayesrg_core::empirical`).
//!
//! Oracles: the normal scores written out by hand, ℓ_μ = (y − μ)/σ²,
//! ℓ_σ = ((y − μ)² − σ²)/σ³ (the library differentiates the log-density by
//! automatic differentiation, an independent route); the closed-form Fisher
//! diag(1/σ², 2/σ²); and for Laplace data at the normal MLE the population
//! value F̂_σσ σ² → κ − 1 = 5 (κ = 6, the Laplace kurtosis), within a Monte
//! Carlo standard error.

use bayesrg_core::Error;
use bayesrg_core::empirical::{Diagnosis, compare};
use bayesrg_core::fisher::{Method, empirical_scores};
use bayesrg_core::rng::Seed;
use bayesrg_models::{Normal, Poisson};
use nalgebra::DMatrix;
use rand_distr::{Distribution, Exp1, StandardNormal};

fn normal_draws(n: usize, mu: f64, sigma: f64, seed: u64) -> Vec<Vec<f64>> {
    let mut r = Seed::new(seed).stream(0);
    (0..n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut r);
            vec![mu + sigma * z]
        })
        .collect()
}

fn fisher_normal(sigma: f64) -> DMatrix<f64> {
    DMatrix::from_row_slice(
        2,
        2,
        &[1.0 / (sigma * sigma), 0.0, 0.0, 2.0 / (sigma * sigma)],
    )
}

/// F̂ and m by hand for the normal family.
fn by_hand(data: &[Vec<f64>], mu: f64, sigma: f64) -> ([[f64; 2]; 2], [f64; 2]) {
    let n = data.len() as f64;
    let mut f = [[0.0; 2]; 2];
    let mut m = [0.0; 2];
    for y in data {
        let e = y[0] - mu;
        let s = [e / (sigma * sigma), (e * e - sigma * sigma) / sigma.powi(3)];
        for i in 0..2 {
            m[i] += s[i] / n;
            for j in 0..2 {
                f[i][j] += s[i] * s[j] / n;
            }
        }
    }
    (f, m)
}

#[test]
fn normal_scores_match_the_hand_formula_across_scales() {
    let z = [-1.7, -0.4, 0.05, 0.3, 0.9, 2.2, -2.9];
    for sigma in [1e-6, 1e-2, 1.0, 1e3, 1e6] {
        for mu in [0.0, -3e2 * sigma, 1e4 * sigma] {
            // Data near (not at) θ: scaled, shifted by a third of σ.
            let data: Vec<Vec<f64>> = z
                .iter()
                .map(|v| vec![mu + 0.33 * sigma + 1.2 * sigma * v])
                .collect();
            let s = empirical_scores(&Normal {}, &[mu, sigma], &data).unwrap();
            let (f, m) = by_hand(&data, mu, sigma);
            for i in 0..2 {
                let scale_m = 1.0 / sigma;
                assert!(
                    (s.mean[i] - m[i]).abs() <= 1e-12 * scale_m,
                    "σ = {sigma}, μ = {mu}: m[{i}] {} vs {}",
                    s.mean[i],
                    m[i]
                );
                for j in 0..2 {
                    let scale = (f[i][i] * f[j][j]).sqrt();
                    let got = s.fisher.matrix[(i, j)];
                    assert!(
                        (got - f[i][j]).abs() <= 1e-11 * scale,
                        "σ = {sigma}, μ = {mu}: F̂[{i}][{j}] {got} vs {}",
                        f[i][j]
                    );
                }
            }
            assert!(s.fisher.biased);
            assert_eq!(s.fisher.method, Method::Empirical);
        }
    }
}

#[test]
fn draws_from_the_model_agree_with_the_fisher_within_noise() {
    for (k, sigma) in [1e-5, 1.0, 1e5].into_iter().enumerate() {
        let mu = 7.0 * sigma;
        let data = normal_draws(20_000, mu, sigma, 11 + k as u64);
        let i = fisher_normal(sigma);
        let c = compare(
            &Normal {},
            &[mu, sigma],
            &data,
            Some((Method::ClosedForm, &i)),
        )
        .unwrap();
        assert_eq!(c.diagnosis, Diagnosis::SamplingNoise, "{:?}", c.explanation);
        assert!(c.worst_z.unwrap() <= c.fisher_threshold);
        // F̂ = C + m mᵀ entry by entry.
        for a in 0..2 {
            for b in 0..2 {
                let sum = c.score_covariance[a][b] + c.mean_score_outer[a][b];
                let scale = (c.empirical[a][a] * c.empirical[b][b]).sqrt();
                assert!((sum - c.empirical[a][b]).abs() <= 1e-12 * scale);
            }
        }
    }
    // Poisson (discrete support) at a moderate rate: I = 1/λ.
    let lambda = 50.0;
    let mut r = Seed::new(3).stream(0);
    let pois = rand_distr::Poisson::new(lambda).unwrap();
    let data: Vec<Vec<f64>> = (0..20_000).map(|_| vec![pois.sample(&mut r)]).collect();
    let i = DMatrix::from_element(1, 1, 1.0 / lambda);
    let c = compare(
        &Poisson {},
        &[lambda],
        &data,
        Some((Method::ClosedForm, &i)),
    )
    .unwrap();
    assert_eq!(c.diagnosis, Diagnosis::SamplingNoise, "{:?}", c.explanation);
}

#[test]
fn data_drawn_elsewhere_are_diagnosed_as_theta_off_the_data() {
    // Data from N(μ + σ, σ²) seen at θ = (μ, σ): E[ℓ_μ] = 1/σ, and
    // F̂_μμ → (1 + 1)/σ² = 2 I_μμ.
    let (mu, sigma) = (1e3, 1e-3);
    let data = normal_draws(20_000, mu + sigma, sigma, 5);
    let i = fisher_normal(sigma);
    let c = compare(
        &Normal {},
        &[mu, sigma],
        &data,
        Some((Method::ClosedForm, &i)),
    )
    .unwrap();
    assert_eq!(c.diagnosis, Diagnosis::ThetaOffData, "{:?}", c.explanation);
    assert!(c.mean_score_z[0] > 50.0);
    let ratio = c.empirical[0][0] / i[(0, 0)];
    let se = c.empirical_std_err[0][0] / i[(0, 0)];
    assert!((ratio - 2.0).abs() <= 5.0 * se, "{ratio} ± {se}");
    assert!(c.explanation[0].contains("mean score is not zero"));
}

#[test]
fn laplace_data_at_the_normal_mle_are_diagnosed_as_misspecified() {
    // Laplace data (kurtosis 6), seen through the normal model at its MLE
    // (sample mean and root mean square deviation): m = 0 up to rounding,
    // and F̂_σσ σ² → κ − 1 = 5 where I_σσ σ² = 2.
    for scale in [1e-4, 1.0, 1e4] {
        let mut r = Seed::new(9).stream(0);
        let data: Vec<Vec<f64>> = (0..20_000)
            .map(|_| {
                let e: f64 = Exp1.sample(&mut r);
                let u: f64 = StandardNormal.sample(&mut r);
                let sign = if u < 0.0 { -1.0 } else { 1.0 };
                vec![-2.0 * scale + scale * sign * e]
            })
            .collect();
        let n = data.len() as f64;
        let mean = data.iter().map(|y| y[0]).sum::<f64>() / n;
        let sd = (data.iter().map(|y| (y[0] - mean).powi(2)).sum::<f64>() / n).sqrt();
        let i = fisher_normal(sd);
        let c = compare(
            &Normal {},
            &[mean, sd],
            &data,
            Some((Method::ClosedForm, &i)),
        )
        .unwrap();
        assert_eq!(c.diagnosis, Diagnosis::Misspecified, "{:?}", c.explanation);
        let got = c.empirical[1][1] * sd * sd;
        let se = c.empirical_std_err[1][1] * sd * sd;
        assert!((got - 5.0).abs() <= 5.0 * se, "{got} ± {se}");
        assert!(c.explanation[1].contains("misspecification"));
    }
}

#[test]
fn bad_data_are_refused_naming_the_row() {
    let field = |e: Error| e.field().map(|f| f.to_string()).unwrap_or_default();
    let n = Normal {};
    let e = empirical_scores(&n, &[0.0, 1.0], &[vec![0.1], vec![0.2, 0.3]]).unwrap_err();
    assert!(e.is_bad_input());
    assert_eq!(field(e), "data[1]");
    let e = empirical_scores(&n, &[0.0, 1.0], &[vec![0.1], vec![0.2], vec![f64::NAN]]).unwrap_err();
    assert_eq!(field(e), "data[2][0]");
    let e = empirical_scores(&n, &[0.0, 1.0], &[vec![0.1]]).unwrap_err();
    assert_eq!(field(e), "data");
    // Outcomes the Poisson cannot produce: negative and non-integer counts.
    for bad in [-1.0, 2.5] {
        let e = empirical_scores(&Poisson {}, &[3.0], &[vec![1.0], vec![bad]]).unwrap_err();
        assert!(e.is_bad_input(), "{e}");
        assert_eq!(field(e), "data[1]");
    }
    // θ outside the parameter space.
    assert!(empirical_scores(&n, &[0.0, -1.0], &[vec![0.1], vec![0.2]]).is_err());
}

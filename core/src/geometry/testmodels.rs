//! Closed-form Fisher metrics (oracles.md §1) as [`FnMetric`]s for the tests of
//! this module (the models themselves live in the `bayesrg-models` crate, which
//! depends on this one).

use super::FnMetric;
use nalgebra::DMatrix;

type Boxed = FnMetric<Box<dyn Fn(&[f64]) -> Option<DMatrix<f64>> + Sync>>;

fn boxed(d: usize, f: impl Fn(&[f64]) -> Option<DMatrix<f64>> + Sync + 'static) -> Boxed {
    FnMetric::new(d, Box::new(f))
}

/// Normal (μ, σ): diag(1/σ², 2/σ²).
pub fn normal_sigma() -> Boxed {
    boxed(2, |t| {
        (t[1] > 0.0).then(|| {
            DMatrix::from_diagonal(&nalgebra::dvector![
                1.0 / (t[1] * t[1]),
                2.0 / (t[1] * t[1])
            ])
        })
    })
}

/// Normal (μ, v = σ²): diag(1/v, 1/(2v²)).
pub fn normal_var() -> Boxed {
    boxed(2, |t| {
        (t[1] > 0.0)
            .then(|| DMatrix::from_diagonal(&nalgebra::dvector![1.0 / t[1], 0.5 / (t[1] * t[1])]))
    })
}

/// Poisson λ: 1/λ.
pub fn poisson() -> Boxed {
    boxed(1, |t| {
        (t[0] > 0.0).then(|| DMatrix::from_element(1, 1, 1.0 / t[0]))
    })
}

/// Bernoulli p: 1/(p(1 − p)).
pub fn bernoulli() -> Boxed {
    boxed(1, |t| {
        (t[0] > 0.0 && t[0] < 1.0).then(|| DMatrix::from_element(1, 1, 1.0 / (t[0] * (1.0 - t[0]))))
    })
}

/// Categorical with 3 classes in (p₁, p₂): δᵢⱼ/pᵢ + 1/p₃.
pub fn categorical3() -> Boxed {
    boxed(2, |t| {
        let p3 = 1.0 - t[0] - t[1];
        (t[0] > 0.0 && t[1] > 0.0 && p3 > 0.0).then(|| {
            DMatrix::from_row_slice(
                2,
                2,
                &[
                    1.0 / t[0] + 1.0 / p3,
                    1.0 / p3,
                    1.0 / p3,
                    1.0 / t[1] + 1.0 / p3,
                ],
            )
        })
    })
}

/// The unit 2-sphere in (polar θ, azimuth φ): diag(1, sin²θ).
pub fn sphere() -> Boxed {
    boxed(2, |t| {
        (t[0] > 0.0 && t[0] < std::f64::consts::PI)
            .then(|| DMatrix::from_diagonal(&nalgebra::dvector![1.0, t[0].sin().powi(2)]))
    })
}

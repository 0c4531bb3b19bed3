//! The exponential family in its rate λ: p(y) = λe^{−λy}, y ≥ 0 (mean 1/λ).
//!
//! Fisher (eq. 29) I(λ) = 1/λ²; KL (eq. 30) KL(λ₁‖λ₂) = ln(λ₁/λ₂) + λ₂/λ₁ − 1
//! = −log1pmx((λ₂ − λ₁)/λ₁), full relative accuracy as λ₂ → λ₁.

use crate::checks;
use bayesrg_core::ad::{LogDensity, Real};
use bayesrg_core::geometry::closed_form::{self as cf, ClosedFormGeometry, KnownGeodesic};
use bayesrg_core::model::{Model, check_len};
use bayesrg_core::special::{ln_ratio, log1pmx_ratio};
use bayesrg_core::{ParamError, ad_derivatives};
use nalgebra::DMatrix;
use rand::Rng;
use rand_distr::{Distribution, Exp1};
use serde::{Deserialize, Serialize};

/// Exponential(λ), θ = (rate λ), λ > 0.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exponential {}

impl LogDensity for Exponential {
    fn ln_density<D: Real>(&self, theta: &[D], y: &[f64]) -> D {
        if y[0] < 0.0 {
            return D::from(f64::NEG_INFINITY);
        }
        theta[0].ln() - theta[0] * y[0]
    }
}

#[bayesrg_core::register_model(
    tag = "exponential",
    summary = "exponential(rate): y >= 0 with mean 1/rate",
    example = || Box::new(Exponential {}),
    theta = || vec![0.8]
)]
impl Model for Exponential {
    fn fisher_rao(&self) -> Option<&dyn ClosedFormGeometry> {
        Some(self)
    }
    fn param_names(&self) -> Vec<String> {
        vec!["rate".into()]
    }
    fn obs_dim(&self) -> usize {
        1
    }
    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)?;
        checks::positive("rate", theta[0])
    }
    fn sample(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        let e: f64 = Exp1.sample(rng);
        out[0] = e / theta[0];
    }
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        if y[0] < 0.0 {
            return f64::NEG_INFINITY;
        }
        theta[0].ln() - theta[0] * y[0]
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        out[0] = 1.0 / theta[0] - y[0];
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    ad_derivatives!(hessian);
    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Some(DMatrix::from_element(1, 1, 1.0 / (theta[0] * theta[0])))
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        // 1 + x = λ₂/λ₁: its logarithm from the ratio (no loss as λ₂/λ₁ → 0).
        Some(-log1pmx_ratio((b[0] - a[0]) / a[0], ln_ratio(b[0], a[0])))
    }
}

/// The closed-form Fisher–Rao geometry (oracles.md §3): ln λ is an arc-length coordinate.
impl ClosedFormGeometry for Exponential {
    fn chart_dim(&self) -> Option<usize> {
        Some(1)
    }
    fn metric(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Model::fisher(self, theta)
    }
    fn geodesic(&self, a: &[f64], b: &[f64]) -> Option<KnownGeodesic> {
        Some(cf::exponential_geodesic(a, b))
    }
    fn acceleration(&self, theta: &[f64], v: &[f64], out: &mut [f64]) -> Option<bool> {
        Some(cf::exponential_acceleration(theta, v, out))
    }
}

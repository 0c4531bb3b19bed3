//! The gamma family in (shape k, rate β): p(y) = βᵏyᵏ⁻¹e^{−βy}/Γ(k), y > 0 (mean k/β).
//!
//! Fisher (eq. 29) I = [[ψ′(k), −1/β], [−1/β, k/β²]]; KL (eq. 30)
//! KL = (k₁−k₂)ψ(k₁) − lnΓ(k₁) + lnΓ(k₂) + k₂(ln β₁ − ln β₂) + k₁(β₂−β₁)/β₁.

use crate::checks;
use bayesrg_core::model::{Model, check_len};
use bayesrg_core::special::{digamma, ln_gamma, trigamma};
use bayesrg_core::{ParamError, register_model};
use nalgebra::DMatrix;
use rand::Rng;
use rand_distr::Distribution;
use serde::{Deserialize, Serialize};

/// Gamma(k, β), θ = (shape k, rate β), k > 0, β > 0.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gamma {}

#[typetag::serde(name = "gamma")]
impl Model for Gamma {
    fn param_names(&self) -> Vec<String> {
        vec!["shape".into(), "rate".into()]
    }
    fn obs_dim(&self) -> usize {
        1
    }
    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)?;
        checks::positive("shape", theta[0])?;
        checks::positive("rate", theta[1])
    }
    fn sample(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        // Unit-scale gamma divided by the rate: no 1/β overflow for tiny rates.
        let g = rand_distr::Gamma::new(theta[0], 1.0).expect("shape validated by check_params");
        out[0] = g.sample(rng) / theta[1];
    }
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        let (k, b, x) = (theta[0], theta[1], y[0]);
        if x <= 0.0 {
            return f64::NEG_INFINITY;
        }
        k * b.ln() + (k - 1.0) * x.ln() - b * x - ln_gamma(k)
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        let (k, b, x) = (theta[0], theta[1], y[0]);
        out[0] = b.ln() + x.ln() - digamma(k);
        out[1] = k / b - x;
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        let (k, b) = (theta[0], theta[1]);
        Some(DMatrix::from_row_slice(
            2,
            2,
            &[trigamma(k), -1.0 / b, -1.0 / b, k / (b * b)],
        ))
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        let (k1, b1, k2, b2) = (a[0], a[1], b[0], b[1]);
        Some(
            (k1 - k2) * digamma(k1) - ln_gamma(k1)
                + ln_gamma(k2)
                + k2 * (b1.ln() - b2.ln())
                + k1 * (b2 - b1) / b1,
        )
    }
}

register_model!(
    "gamma",
    "gamma(shape, rate): y > 0 with mean shape/rate",
    || Box::new(Gamma {}),
    || vec![2.5, 1.5]
);

//! The beta family: p(y) = yᵃ⁻¹(1 − y)ᵇ⁻¹/B(a, b), 0 < y < 1.
//!
//! Fisher (eq. 29) I = [[ψ′(a) − ψ′(a+b), −ψ′(a+b)], [−ψ′(a+b), ψ′(b) − ψ′(a+b)]];
//! KL (eq. 30) KL = ln B(a₂,b₂) − ln B(a₁,b₁) + (a₁−a₂)ψ(a₁) + (b₁−b₂)ψ(b₁)
//! + (a₂−a₁+b₂−b₁)ψ(a₁+b₁).

use crate::checks;
use bayesrg_core::model::{Model, check_len};
use bayesrg_core::special::{digamma, ln_beta, trigamma};
use bayesrg_core::{ParamError, register_model};
use nalgebra::DMatrix;
use rand::Rng;
use rand_distr::Distribution;
use serde::{Deserialize, Serialize};

/// Beta(a, b), θ = (a, b), a > 0, b > 0.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Beta {}

#[typetag::serde(name = "beta")]
impl Model for Beta {
    fn param_names(&self) -> Vec<String> {
        vec!["a".into(), "b".into()]
    }
    fn obs_dim(&self) -> usize {
        1
    }
    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)?;
        checks::positive("a", theta[0])?;
        checks::positive("b", theta[1])
    }
    fn sample(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        let d = rand_distr::Beta::new(theta[0], theta[1]).expect("validated by check_params");
        out[0] = d.sample(rng);
    }
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        let (a, b, x) = (theta[0], theta[1], y[0]);
        if !(a > 0.0 && b > 0.0) {
            return f64::NAN; // outside the parameter space (statrs would panic)
        }
        if !(x > 0.0 && x < 1.0) {
            return f64::NEG_INFINITY;
        }
        (a - 1.0) * x.ln() + (b - 1.0) * (-x).ln_1p() - ln_beta(a, b)
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        let (a, b, x) = (theta[0], theta[1], y[0]);
        let s = digamma(a + b);
        out[0] = x.ln() - digamma(a) + s;
        out[1] = (-x).ln_1p() - digamma(b) + s;
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        let (a, b) = (theta[0], theta[1]);
        let t = trigamma(a + b);
        Some(DMatrix::from_row_slice(
            2,
            2,
            &[trigamma(a) - t, -t, -t, trigamma(b) - t],
        ))
    }
    fn kl(&self, p: &[f64], q: &[f64]) -> Option<f64> {
        let (a1, b1, a2, b2) = (p[0], p[1], q[0], q[1]);
        if !(a1 > 0.0 && b1 > 0.0 && a2 > 0.0 && b2 > 0.0) {
            return Some(f64::NAN); // outside the parameter space (statrs would panic)
        }
        Some(
            ln_beta(a2, b2) - ln_beta(a1, b1)
                + (a1 - a2) * digamma(a1)
                + (b1 - b2) * digamma(b1)
                + (a2 - a1 + b2 - b1) * digamma(a1 + b1),
        )
    }
}

register_model!(
    "beta",
    "beta(a, b): 0 < y < 1",
    || Box::new(Beta {}),
    || vec![2.0, 3.5]
);

//! The Bernoulli family: y ∈ {0, 1} with P(y = 1) = p.
//!
//! Fisher (eq. 29) I(p) = 1/(p(1 − p)); KL (eq. 30)
//! KL(p‖q) = p ln(p/q) + (1 − p) ln((1 − p)/(1 − q)).

use crate::checks;
use bayesrg_core::model::{Model, check_len};
use bayesrg_core::{ParamError, register_model};
use nalgebra::DMatrix;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// Bernoulli(p), θ = (p), 0 < p < 1. Observations are 0 or 1.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bernoulli {}

/// x ln(x/y), with 0 ln 0 = 0.
pub(crate) fn xlogxy(x: f64, y: f64) -> f64 {
    if x == 0.0 { 0.0 } else { x * (x / y).ln() }
}

#[typetag::serde(name = "bernoulli")]
impl Model for Bernoulli {
    fn param_names(&self) -> Vec<String> {
        vec!["p".into()]
    }
    fn obs_dim(&self) -> usize {
        1
    }
    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)?;
        checks::open_unit("p", theta[0])
    }
    fn sample(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        out[0] = if rng.random::<f64>() < theta[0] {
            1.0
        } else {
            0.0
        };
    }
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        let p = theta[0];
        match y[0] {
            1.0 => p.ln(),
            0.0 => (-p).ln_1p(),
            _ => f64::NEG_INFINITY,
        }
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        let p = theta[0];
        out[0] = y[0] / p - (1.0 - y[0]) / (1.0 - p);
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        let p = theta[0];
        Some(DMatrix::from_element(1, 1, 1.0 / (p * (1.0 - p))))
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        let (p, q) = (a[0], b[0]);
        Some(xlogxy(p, q) + xlogxy(1.0 - p, 1.0 - q))
    }
}

register_model!(
    "bernoulli",
    "Bernoulli(p): y in {0, 1}, P(y = 1) = p",
    || Box::new(Bernoulli {}),
    || vec![0.3]
);

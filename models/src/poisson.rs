//! The Poisson family in its rate λ: P(y) = λʸe^{−λ}/y!, y = 0, 1, 2, …
//!
//! Fisher (eq. 29) I(λ) = 1/λ; KL (eq. 30) KL(λ₁‖λ₂) = λ₁ ln(λ₁/λ₂) − λ₁ + λ₂.
//! In the natural parameter η = ln λ the Fisher is I(η) = λ (oracles §1).

use crate::checks;
use bayesrg_core::model::{Model, check_len};
use bayesrg_core::special::ln_gamma;
use bayesrg_core::{ParamError, register_model};
use nalgebra::DMatrix;
use rand::Rng;
use rand_distr::Distribution;
use serde::{Deserialize, Serialize};

/// The largest rate accepted: counts stay exact integers in an `f64`.
pub const MAX_RATE: f64 = 1e15;

/// Poisson(λ), θ = (rate λ), 0 < λ ≤ 10¹⁵. Observations are counts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Poisson {}

#[typetag::serde(name = "poisson")]
impl Model for Poisson {
    fn param_names(&self) -> Vec<String> {
        vec!["rate".into()]
    }
    fn obs_dim(&self) -> usize {
        1
    }
    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)?;
        checks::positive("rate", theta[0])?;
        if theta[0] > MAX_RATE {
            return Err(ParamError::invalid(
                "rate",
                theta[0],
                "must be at most 1e15 (counts must stay exact in f64)",
            ));
        }
        Ok(())
    }
    fn sample(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        let d = rand_distr::Poisson::new(theta[0]).expect("rate validated by check_params");
        out[0] = d.sample(rng);
    }
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        let (l, k) = (theta[0], y[0]);
        if k < 0.0 || k.fract() != 0.0 {
            return f64::NEG_INFINITY;
        }
        k * l.ln() - l - ln_gamma(k + 1.0)
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        out[0] = y[0] / theta[0] - 1.0;
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Some(DMatrix::from_element(1, 1, 1.0 / theta[0]))
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        let (l1, l2) = (a[0], b[0]);
        Some(l1 * (l1 / l2).ln() - l1 + l2)
    }
}

register_model!(
    "poisson",
    "Poisson(rate): counts y = 0, 1, 2, ...",
    || Box::new(Poisson {}),
    || vec![3.5]
);

//! The Bernoulli family: y ∈ {0, 1} with P(y = 1) = p.
//!
//! Fisher (eq. 29) I(p) = 1/(p(1 − p)); KL (eq. 30)
//! KL(p‖q) = p ln(p/q) + (1 − p) ln((1 − p)/(1 − q)), evaluated as the sum of
//! Loader's deviance terms bd0(p, q) + bd0(1 − p, 1 − q) (each ≥ 0, with the
//! difference p − q passed exactly), which keeps its relative accuracy as
//! q → p for every p in (0, 1), 10⁻¹⁵ … 1 − 10⁻¹⁵.
//!
//! The support {0, 1} is enumerated ([`Model::support`]), so the validator's
//! expectations are exact sums: at p = 10⁻⁶ Monte Carlo with 50 000 draws sees
//! no success at all.

use crate::checks;
use bayesrg_core::ad::{LogDensity, Real};
use bayesrg_core::bayes::conjugate::{self as conj, Conjugate};
use bayesrg_core::bayes::prior::Factor;
use bayesrg_core::geometry::closed_form::{self as cf, ClosedFormGeometry, KnownGeodesic};
use bayesrg_core::model::{Model, Support, check_len};
use bayesrg_core::special::bd0;
use bayesrg_core::{ParamError, ad_derivatives};
use nalgebra::DMatrix;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// Bernoulli(p), θ = (p), 0 < p < 1. Observations are 0 or 1.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bernoulli {}

/// KL(p‖q) of two Bernoulli laws, Σ of bd0 terms; +∞ when q is 0 or 1 and p
/// is not, NaN outside [0, 1].
pub fn kl_bernoulli(p: f64, q: f64) -> f64 {
    if !((0.0..=1.0).contains(&p) && (0.0..=1.0).contains(&q)) {
        return f64::NAN;
    }
    let d = p - q;
    bd0(p, q, d) + bd0(1.0 - p, 1.0 - q, -d)
}

impl LogDensity for Bernoulli {
    fn ln_density<D: Real>(&self, theta: &[D], y: &[f64]) -> D {
        let p = theta[0];
        match y[0] {
            1.0 => p.ln(),
            0.0 => (-p).ln_1p(),
            _ => D::from(f64::NEG_INFINITY),
        }
    }
}

#[bayesrg_core::register_model(
    tag = "bernoulli",
    summary = "Bernoulli(p): y in {0, 1}, P(y = 1) = p",
    example = || Box::new(Bernoulli {}),
    theta = || vec![0.3]
)]
impl Model for Bernoulli {
    fn fisher_rao(&self) -> Option<&dyn ClosedFormGeometry> {
        Some(self)
    }
    /// A Beta(a, b) prior on p: the Beta–Bernoulli oracle.
    fn conjugate_single(&self, i: usize, f: &Factor, _: &[f64]) -> Option<Box<dyn Conjugate>> {
        match (i, f) {
            (0, Factor::Beta { a, b }) => Some(Box::new(conj::BetaBernoulli { a: *a, b: *b })),
            _ => None,
        }
    }
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
        self.ln_density(theta, y)
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        let p = theta[0];
        out[0] = y[0] / p - (1.0 - y[0]) / (1.0 - p);
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    ad_derivatives!(hessian);
    fn support(&self, theta: &[f64]) -> Option<Support> {
        let p = theta[0];
        Some(Support {
            points: vec![0.0, 1.0],
            probs: vec![1.0 - p, p],
            tail_mass: 0.0,
        })
    }
    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        let p = theta[0];
        Some(DMatrix::from_element(1, 1, 1.0 / (p * (1.0 - p))))
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        Some(kl_bernoulli(a[0], b[0]))
    }
}

/// The closed-form Fisher–Rao geometry (oracles.md §3): φ = arcsin√p, d = 2|φ₁ − φ₂|.
impl ClosedFormGeometry for Bernoulli {
    fn chart_dim(&self) -> Option<usize> {
        Some(1)
    }
    fn metric(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Model::fisher(self, theta)
    }
    fn geodesic(&self, a: &[f64], b: &[f64]) -> Option<KnownGeodesic> {
        Some(cf::bernoulli_geodesic(a, b))
    }
    fn acceleration(&self, theta: &[f64], v: &[f64], out: &mut [f64]) -> Option<bool> {
        Some(cf::bernoulli_acceleration(theta, v, out))
    }
}

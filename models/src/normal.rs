//! The univariate normal family N(μ, σ²) in two parametrisations: (μ, σ) and
//! (μ, v = σ²). Together they are the reparametrisation pair of the validator:
//! I_(μ,v) = Jᵀ I_(μ,σ) J with J = ∂(μ, σ)/∂(μ, v).
//!
//! Derivatives: the hand-written scores, and Hessians by automatic
//! differentiation of the log-density ([`LogDensity`]). The KL is written as
//! −½ log1pmx(v₁/v₂ − 1) + (μ₁ − μ₂)²/(2v₂), a sum of two terms ≥ 0 with
//! v₁ − v₂ formed from the parameters' difference, so it keeps its relative
//! accuracy as θ′ → θ at any σ (10⁻⁶ … 10⁶) and any |μ|; when v₁/v₂ is far
//! from 1 the logarithm is taken of the ratio itself
//! ([`log1pmx_ratio`](bayesrg_core::special::log1pmx_ratio)), so a much wider
//! second law loses nothing either (σ′/σ = 10⁻¹² … 10¹² tested).

use crate::checks;
use bayesrg_core::ad::{LogDensity, MetricDerivatives, Real, metric_derivatives};
use bayesrg_core::bayes::conjugate::{self as conj, Conjugate};
use bayesrg_core::bayes::prior::Factor;
use bayesrg_core::geometry::closed_form::{self as cf, ClosedFormGeometry, KnownGeodesic};
use bayesrg_core::model::{Model, check_len};
use bayesrg_core::special::{ln_ratio, log1pmx_ratio};
use bayesrg_core::{ParamError, ad_derivatives};
use nalgebra::DMatrix;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// The Fisher metric in (μ, σ), diag(1/σ², 2/σ²), row-major, over any number
/// type (its exact derivatives by [`metric_derivatives`]).
fn fisher_sigma<D: Real>(theta: &[D]) -> Vec<D> {
    let s2 = theta[1] * theta[1];
    let z = D::from(0.0);
    vec![s2.recip(), z, z, D::from(2.0) / s2]
}

/// The Fisher metric in (μ, v = σ²), diag(1/v, 1/(2v²)), row-major, over any
/// number type.
fn fisher_var<D: Real>(theta: &[D]) -> Vec<D> {
    let v = theta[1];
    let z = D::from(0.0);
    vec![v.recip(), z, z, D::from(0.5) / (v * v)]
}

/// N(μ, σ²) parametrised by (μ, σ), σ > 0. Fisher diag(1/σ², 2/σ²).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normal {}

/// N(μ, v) parametrised by (μ, v = σ²), v > 0. Fisher diag(1/v, 1/(2v²)).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalVar {}

/// KL(N(μ₁, v₁) ‖ N(μ₂, v₂)) = ½[ln(v₂/v₁) + (v₁ + (μ₁ − μ₂)²)/v₂ − 1],
/// evaluated as −½ log1pmx((v₁ − v₂)/v₂) + (μ₁ − μ₂)²/(2v₂): both terms ≥ 0,
/// full relative accuracy as (μ₂, v₂) → (μ₁, v₁), and at any ratio v₂/v₁
/// (10⁻²⁴ … 10²⁴ tested; [`log1pmx_ratio`] with ln(v₁/v₂)).
pub fn kl_normal(mu1: f64, v1: f64, mu2: f64, v2: f64) -> f64 {
    let dmu = mu1 - mu2;
    kl_normal_dv(dmu * dmu / v2, (v1 - v2) / v2, ln_ratio(v1, v2))
}

/// The normal KL from (μ₁ − μ₂)²/v₂, x = (v₁ − v₂)/v₂ and ln(v₁/v₂) = ln(1 + x).
fn kl_normal_dv(dmu2_over_v2: f64, x: f64, ln_1px: f64) -> f64 {
    -0.5 * log1pmx_ratio(x, ln_1px) + 0.5 * dmu2_over_v2
}

/// ln N(y; μ, σ²) for any number type.
fn ln_normal<D: Real>(y: f64, mu: D, sigma: D) -> D {
    let z = (-mu + y) / sigma;
    -(z * z + LN_2PI) * 0.5 - sigma.ln()
}

impl LogDensity for Normal {
    fn ln_density<D: Real>(&self, theta: &[D], y: &[f64]) -> D {
        ln_normal(y[0], theta[0], theta[1])
    }
}

impl LogDensity for NormalVar {
    fn ln_density<D: Real>(&self, theta: &[D], y: &[f64]) -> D {
        ln_normal(y[0], theta[0], theta[1].sqrt())
    }
}

#[bayesrg_core::register_model(
    tag = "normal",
    summary = "univariate normal N(mu, sigma^2) in (mu, sigma)",
    example = || Box::new(Normal {}),
    theta = || vec![0.5, 1.5]
)]
impl Model for Normal {
    fn fisher_rao(&self) -> Option<&dyn ClosedFormGeometry> {
        Some(self)
    }
    /// A normal prior on μ alone (σ held at σ*): the normal-mean oracle.
    fn conjugate_single(&self, i: usize, f: &Factor, star: &[f64]) -> Option<Box<dyn Conjugate>> {
        match (i, f) {
            (0, Factor::Normal { mean, sd }) => Some(Box::new(conj::NormalMean::new(
                *mean,
                *sd,
                star[1] * star[1],
            ))),
            _ => None,
        }
    }
    fn param_names(&self) -> Vec<String> {
        vec!["mu".into(), "sigma".into()]
    }
    fn obs_dim(&self) -> usize {
        1
    }
    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)?;
        checks::positive("sigma", theta[1])
    }
    fn sample(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        let z: f64 = StandardNormal.sample(rng);
        out[0] = theta[0] + theta[1] * z;
    }
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        let (mu, s) = (theta[0], theta[1]);
        let z = (y[0] - mu) / s;
        -0.5 * (LN_2PI + z * z) - s.ln()
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        let (mu, s) = (theta[0], theta[1]);
        let z = (y[0] - mu) / s;
        out[0] = z / s;
        out[1] = (z * z - 1.0) / s;
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    ad_derivatives!(hessian);
    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Some(DMatrix::from_row_slice(2, 2, &fisher_sigma(theta)))
    }
    fn fisher_derivatives(&self, theta: &[f64]) -> Option<MetricDerivatives> {
        Some(metric_derivatives(theta, fisher_sigma))
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        // (v₁ − v₂)/v₂ = (σ₁ − σ₂)(σ₁ + σ₂)/σ₂²: exact to rounding of the
        // factors; ln(v₁/v₂) = 2 ln(σ₁/σ₂). No σ² is formed (no overflow).
        let (s1, s2) = (a[1], b[1]);
        let x = ((s1 - s2) / s2) * ((s1 + s2) / s2);
        let z = (a[0] - b[0]) / s2;
        Some(kl_normal_dv(z * z, x, 2.0 * ln_ratio(s1, s2)))
    }
}

/// The closed-form Fisher–Rao geometry (oracles.md §3): the hyperbolic half-plane of x = μ/√2, y = σ.
impl ClosedFormGeometry for Normal {
    fn chart_dim(&self) -> Option<usize> {
        Some(2)
    }
    fn metric(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Model::fisher(self, theta)
    }
    fn geodesic(&self, a: &[f64], b: &[f64]) -> Option<KnownGeodesic> {
        Some(cf::normal_geodesic(a, b))
    }
    fn acceleration(&self, theta: &[f64], v: &[f64], out: &mut [f64]) -> Option<bool> {
        Some(cf::normal_acceleration(theta, v, out))
    }
}

#[bayesrg_core::register_model(
    tag = "normal_var",
    summary = "univariate normal N(mu, var) in (mu, var = sigma^2)",
    example = || Box::new(NormalVar {}),
    theta = || vec![0.5, 2.25]
)]
impl Model for NormalVar {
    fn fisher_rao(&self) -> Option<&dyn ClosedFormGeometry> {
        Some(self)
    }
    /// A normal prior on μ alone (v held at v*): the normal-mean oracle.
    fn conjugate_single(&self, i: usize, f: &Factor, star: &[f64]) -> Option<Box<dyn Conjugate>> {
        match (i, f) {
            (0, Factor::Normal { mean, sd }) => {
                Some(Box::new(conj::NormalMean::new(*mean, *sd, star[1])))
            }
            _ => None,
        }
    }
    fn param_names(&self) -> Vec<String> {
        vec!["mu".into(), "var".into()]
    }
    fn obs_dim(&self) -> usize {
        1
    }
    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)?;
        checks::positive("var", theta[1])
    }
    fn sample(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        let z: f64 = StandardNormal.sample(rng);
        out[0] = theta[0] + theta[1].sqrt() * z;
    }
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        let (mu, v) = (theta[0], theta[1]);
        -0.5 * (LN_2PI + v.ln() + (y[0] - mu).powi(2) / v)
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        let (mu, v) = (theta[0], theta[1]);
        let r = y[0] - mu;
        out[0] = r / v;
        out[1] = 0.5 * (r * r / v - 1.0) / v;
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    ad_derivatives!(hessian);
    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Some(DMatrix::from_row_slice(2, 2, &fisher_var(theta)))
    }
    fn fisher_derivatives(&self, theta: &[f64]) -> Option<MetricDerivatives> {
        Some(metric_derivatives(theta, fisher_var))
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        Some(kl_normal(a[0], a[1], b[0], b[1]))
    }
}

/// The closed-form Fisher–Rao geometry (oracles.md §3): the normal half-plane read at σ = √v.
impl ClosedFormGeometry for NormalVar {
    fn chart_dim(&self) -> Option<usize> {
        Some(2)
    }
    fn metric(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Model::fisher(self, theta)
    }
    fn geodesic(&self, a: &[f64], b: &[f64]) -> Option<KnownGeodesic> {
        Some(cf::normal_var_geodesic(a, b))
    }
    fn acceleration(&self, theta: &[f64], v: &[f64], out: &mut [f64]) -> Option<bool> {
        Some(cf::normal_var_acceleration(theta, v, out))
    }
}

//! The gamma family in (shape k, rate β): y ~ βᵏyᵏ⁻¹e^{−βy}/Γ(k), y > 0 (mean k/β).
//!
//! # Observation: the log variate u = ln y
//! The model observes **u = ln y**, with density
//! p(u) = βᵏ e^{ku − βeᵘ}/Γ(k) on ℝ. At small shapes y itself is not
//! representable: Gamma(0.001, 0.001) has ln y ≈ −1000·Exp(1), so y rounds to
//! 0 and ln y = −∞ (issue 16, item 2). A change of data variable leaves the
//! Fisher metric and the KL divergence unchanged, so I and KL below are those
//! of y. Draws are made in log space: ln G for G ~ Gamma(k, 1) is
//! ln G′ + ln(U)/k with G′ ~ Gamma(k + 1, 1), U ~ U(0, 1] when k < 1
//! (Marsaglia–Tsang's boost), then u = ln G − ln β.
//!
//! The log-density is written as
//! ln p(u) = −k·(eᵗ − 1 − t) + ½ ln k − ½ ln 2π − ω(k),  t = u + ln β − ln k,
//! (ω: Binet's function, [`stirling_correction`](bayesrg_core::special::stirling_correction)), in which nothing cancels:
//! the lnΓ(k) and k ln β + ku terms of size k ln k are gone (at k = 10⁶ they
//! are 10⁷ while ln p is 5.5).
//!
//! Fisher (eq. 29) I = [[ψ′(k), −1/β], [−1/β, k/β²]]; KL (eq. 30)
//! KL = (k₁−k₂)ψ(k₁) − lnΓ(k₁) + lnΓ(k₂) + k₂ ln(β₁/β₂) + k₁(β₂−β₁)/β₁,
//! evaluated as
//! KL = k₁(1 + ρ)·xlog1pxmx(z) − ½ log1pmx(x) + B_ω(k₁; h),
//! with h = k₂ − k₁, x = h/k₁, ρ = (β₂ − β₁)/β₁, z = (x − ρ)/(1 + ρ) and B_ω
//! the Bregman divergence of Binet's function ([`stirling_correction_bregman`]).
//! Every term is ≥ 0 and the first vanishes along the direction of constant
//! mean (x = ρ), where the textbook terms (of size k ln k) and even the
//! Bregman divergences of lnΓ and of the rate part cancel to a part in 4k: the
//! KL keeps its relative accuracy as θ′ → θ at any shape (10⁻³ … 10⁶ tested).

use crate::checks;
use bayesrg_core::ad::{LogDensity, Real};
use bayesrg_core::model::{Model, check_len};
use bayesrg_core::special::{
    HALF_LN_2PI, digamma, expm1mx_d, ln_ratio, log1pmx_ratio, stirling_correction,
    stirling_correction_bregman, stirling_correction_d, stirling_correction_d1, trigamma,
    xlog1pxmx,
};
use bayesrg_core::{ParamError, ad_derivatives};
use nalgebra::DMatrix;
use rand::{Rng, RngExt};
use rand_distr::Distribution;
use serde::{Deserialize, Serialize};

/// Gamma(k, β), θ = (shape k, rate β), k > 0, β > 0; observes u = ln y.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gamma {}

/// ln G for one draw G ~ Gamma(`shape`, 1), computed in log space so that it
/// is finite for every shape > 0 (for shape < 1, G itself underflows to 0 at
/// shapes below about 10⁻²: ln G ≈ ln(U)/shape).
///
/// Shape ≥ 1: ln of rand_distr's Marsaglia–Tsang draw. Shape < 1:
/// ln G′ + ln(U)/shape, G′ ~ Gamma(shape + 1, 1), U ~ U(0, 1], since
/// G′·U^{1/shape} ~ Gamma(shape, 1) (Marsaglia & Tsang 2000, §7).
/// `shape` must be positive and finite.
pub fn ln_gamma_variate(shape: f64, rng: &mut dyn Rng) -> f64 {
    if shape >= 1.0 {
        let g = rand_distr::Gamma::new(shape, 1.0).expect("shape validated by the caller");
        let x: f64 = g.sample(rng);
        x.ln()
    } else {
        let g = rand_distr::Gamma::new(shape + 1.0, 1.0).expect("shape validated by the caller");
        let x: f64 = g.sample(&mut *rng);
        // 1 − U with U in [0, 1) lies in (0, 1]: ln is finite.
        let u: f64 = 1.0 - rng.random::<f64>();
        x.ln() + u.ln() / shape
    }
}

impl LogDensity for Gamma {
    fn ln_density<D: Real>(&self, theta: &[D], y: &[f64]) -> D {
        let (k, b) = (theta[0], theta[1]);
        let t = b.ln() - k.ln() + y[0];
        -(k * expm1mx_d(t)) + k.ln() * 0.5 - HALF_LN_2PI - stirling_correction_d(k)
    }
}

#[bayesrg_core::register_model(
    tag = "gamma",
    summary = "gamma(shape, rate), observed as u = ln y (y > 0 with mean shape/rate)",
    example = || Box::new(Gamma {}),
    theta = || vec![2.5, 1.5]
)]
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
        out[0] = ln_gamma_variate(theta[0], rng) - theta[1].ln();
    }
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        if y[0].is_nan() {
            return f64::NAN;
        }
        self.ln_density(theta, y)
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        // ∂ₖ = ln β + u − ψ(k), ∂_β = k/β − eᵘ.
        let (k, b, u) = (theta[0], theta[1], y[0]);
        out[0] = b.ln() + u - digamma(k);
        out[1] = k / b - u.exp();
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    ad_derivatives!(hessian);
    fn fisher_ln_sqrt_det(&self, theta: &[f64]) -> Option<f64> {
        bayesrg_core::geometry::closed_form::gamma_ln_sqrt_det(theta)
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
        if !(k1 > 0.0 && b1 > 0.0 && k2 > 0.0 && b2 > 0.0) {
            return Some(f64::NAN);
        }
        let h = k2 - k1;
        let x = h / k1;
        // 1 + ρ = β₂/β₁ as the quotient itself: 1 + (β₂ − β₁)/β₁ keeps only an
        // absolute error ε, all digits lost as β₂/β₁ → 0 (tryout 5, A3).
        let one_p_rho = b2 / b1;
        // x − ρ = (h·β₁ − k₁·(β₂ − β₁))/(k₁β₁), from the differences.
        let z = ((h * b1 - k1 * (b2 - b1)) / (k1 * b1)) / one_p_rho;
        // ln(1 + x) = ln(k₂/k₁) from the ratio, for the same reason as k₂/k₁ → 0.
        // B_ω from k₂ itself when the shapes are not close: k₁ + h loses k₂'s
        // digits as k₂/k₁ → 0, and there is no cancellation to avoid (the
        // three terms differ by a factor ≤ ~6, and B_ω is small beside the rest).
        let b_omega = if x.abs() < 0.5 {
            stirling_correction_bregman(k1, h)
        } else {
            stirling_correction(k2) - stirling_correction(k1) - h * stirling_correction_d1(k1)
        };
        Some(k1 * one_p_rho * xlog1pxmx(z) - 0.5 * log1pmx_ratio(x, ln_ratio(k2, k1)) + b_omega)
    }
}

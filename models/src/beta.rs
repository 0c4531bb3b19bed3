//! The beta family: y ~ yᵃ⁻¹(1 − y)ᵇ⁻¹/B(a, b), 0 < y < 1.
//!
//! # Observation: the logit w = ln(y/(1 − y))
//! The model observes **w = ln(y/(1 − y))** ∈ ℝ, with density
//! p(w) = yᵃ(1 − y)ᵇ/B(a, b), y = 1/(1 + e^{−w}). Near the ends of (0, 1) y
//! itself is not representable: Beta(0.2, 0.2) puts mass 10⁻³ within 10⁻¹⁵ of
//! 0 and 1, where y rounds to 0 or 1 and ln y or ln(1 − y) is −∞ (issue 16,
//! item 2). The Fisher metric and KL are unchanged by this change of data
//! variable. Draws are made in log space, w = ln X − ln Y with X ~ Gamma(a, 1),
//! Y ~ Gamma(b, 1) ([`ln_gamma_variate`]), and ln y = −ln(1 + e^{−w}),
//! ln(1 − y) = −ln(1 + eʷ) are computed from w without rounding y.
//!
//! Fisher (eq. 29) I = [[ψ′(a) − ψ′(a+b), −ψ′(a+b)], [−ψ′(a+b), ψ′(b) − ψ′(a+b)]],
//! with the diagonal differences computed as such ([`trigamma_diff`]: 10⁻¹⁵ at
//! (a, b) = (10⁶, 10⁻³), where ψ′(a) ≈ 10⁻⁶). KL (eq. 30)
//! KL = ln B(a₂,b₂) − ln B(a₁,b₁) + (a₁−a₂)ψ(a₁) + (b₁−b₂)ψ(b₁) + (a₂−a₁+b₂−b₁)ψ(a₁+b₁)
//! = D(a₁; Δa) + D(b₁; Δb) − D(s₁; Δs) (s = a + b, D the Bregman divergence
//! of lnΓ), whose Stirling parts combine into a Bernoulli KL:
//! KL = s₂·KL_Bern(a₂/s₂ ‖ a₁/s₁) − ½[log1pmx(α) + log1pmx(β) − log1pmx(γ)]
//!      + B_ω(a₁; Δa) + B_ω(b₁; Δb) − B_ω(s₁; Δs),
//! α = Δa/a₁, β = Δb/b₁, γ = Δs/s₁, B_ω the Bregman divergence of Binet's
//! function ([`stirling_correction_bregman`]), and a₂/s₂ − a₁/s₁ =
//! (Δa·b₁ − a₁·Δb)/(s₂s₁) formed from the differences. The first term vanishes
//! along the direction of constant mean, where D(a) + D(b) − D(s) cancels by a
//! factor a + b + a/b + b/a (10⁹ at (10⁶, 10⁻³)): the KL keeps its relative
//! accuracy as θ′ → θ at any (a, b) (10⁻³ … 10⁶ tested).
//! The score uses ψ(a + b) − ψ(a) = [`digamma_diff`]`(a, b)`.
//!
//! The log-density's absolute error is about 10⁻¹⁶·(a + b)·|ln y| (the terms
//! a ln y and ln B grow with a + b while ln p stays of order ln √(a + b)).

use crate::checks;
use crate::gamma::ln_gamma_variate;
use bayesrg_core::ad::{LogDensity, Real};
use bayesrg_core::model::{Model, check_len};
use bayesrg_core::special::{
    bd0, digamma_diff, ln_beta_d, log1pmx, stirling_correction_bregman, trigamma, trigamma_diff,
};
use bayesrg_core::{ParamError, ad_derivatives};
use nalgebra::DMatrix;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Beta(a, b), θ = (a, b), a > 0, b > 0; observes w = ln(y/(1 − y)).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Beta {}

/// ln(1 + eˣ) without overflow or loss of digits.
fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// (ln y, ln(1 − y)) for y = 1/(1 + e^{−w}).
pub fn log_y_and_1my(w: f64) -> (f64, f64) {
    (-softplus(-w), -softplus(w))
}

impl LogDensity for Beta {
    fn ln_density<D: Real>(&self, theta: &[D], y: &[f64]) -> D {
        let (a, b) = (theta[0], theta[1]);
        let (ly, l1y) = log_y_and_1my(y[0]);
        a * ly + b * l1y - ln_beta_d(a, b)
    }
}

#[bayesrg_core::register_model(
    tag = "beta",
    summary = "beta(a, b), observed as the logit w = ln(y/(1 - y)) of 0 < y < 1",
    example = || Box::new(Beta {}),
    theta = || vec![2.0, 3.5]
)]
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
        let lx = ln_gamma_variate(theta[0], rng);
        let ly = ln_gamma_variate(theta[1], rng);
        out[0] = lx - ly;
    }
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        let (a, b) = (theta[0], theta[1]);
        if !(a > 0.0 && b > 0.0) {
            return f64::NAN; // outside the parameter space
        }
        if y[0].is_nan() {
            return f64::NAN;
        }
        self.ln_density(theta, y)
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        let (a, b) = (theta[0], theta[1]);
        let (ly, l1y) = log_y_and_1my(y[0]);
        out[0] = ly + digamma_diff(a, b);
        out[1] = l1y + digamma_diff(b, a);
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    ad_derivatives!(hessian);
    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        let (a, b) = (theta[0], theta[1]);
        let t = trigamma(a + b);
        Some(DMatrix::from_row_slice(
            2,
            2,
            &[trigamma_diff(a, b), -t, -t, trigamma_diff(b, a)],
        ))
    }
    fn kl(&self, p: &[f64], q: &[f64]) -> Option<f64> {
        let (a1, b1, a2, b2) = (p[0], p[1], q[0], q[1]);
        if !(a1 > 0.0 && b1 > 0.0 && a2 > 0.0 && b2 > 0.0) {
            return Some(f64::NAN); // outside the parameter space
        }
        let (da, db) = (a2 - a1, b2 - b1);
        let ds = da + db;
        let (s1, s2) = (a1 + b1, a2 + b2);
        // KL_Bern(p‖p₀), p = a₂/s₂, p₀ = a₁/s₁, p − p₀ = (Δa b₁ − a₁ Δb)/(s₂ s₁),
        // each product formed from ratios: Δa·b₁ and s₂·s₁ underflow to 0 for
        // shapes ≲ 10⁻¹⁶² (0/0 = NaN at 10⁻³⁰⁰, tryout 8 G13) and overflow
        // for shapes ≳ 10¹⁵⁴.
        let d = (da / s2) * (b1 / s1) - (a1 / s1) * (db / s2);
        let bern = bd0(a2 / s2, a1 / s1, d) + bd0(b2 / s2, b1 / s1, -d);
        let (x, y, z) = (da / a1, db / b1, ds / s1);
        Some(
            s2 * bern - 0.5 * (log1pmx(x) + log1pmx(y) - log1pmx(z))
                + stirling_correction_bregman(a1, da)
                + stirling_correction_bregman(b1, db)
                - stirling_correction_bregman(s1, ds),
        )
    }
}

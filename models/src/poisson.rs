//! The Poisson family in its rate λ: P(y) = λʸe^{−λ}/y!, y = 0, 1, 2, …
//!
//! Fisher (eq. 29) I(λ) = 1/λ; KL (eq. 30) KL(λ₁‖λ₂) = λ₁ ln(λ₁/λ₂) − λ₁ + λ₂
//! = bd0(λ₁, λ₂) (Loader's deviance term, ≥ 0, full relative accuracy as
//! λ₂ → λ₁). In the natural parameter η = ln λ the Fisher is I(η) = λ
//! (oracles §1).
//!
//! The log-probability is written in Loader's form
//! ln P(y) = −bd0(y, λ) − ½ ln(2πy) − ω(y) (ω: [`stirling_correction`]), which
//! keeps its accuracy at λ = 10¹² where y ln λ and λ are 10¹³ and cancel.
//!
//! For λ ≤ [`MAX_ENUMERATED_RATE`] the support is enumerated
//! ([`Model::support`]): the counts within λ ± (40√λ + 40), with a Chernoff
//! bound on the mass left out (below 10⁻⁶⁰), so the validator's
//! expectations are exact sums (at λ = 10⁻⁶ Monte Carlo would see no count ≥ 1).

use crate::checks;
use bayesrg_core::ad::{LogDensity, Real, univariate};
use bayesrg_core::bayes::conjugate::{self as conj, Conjugate};
use bayesrg_core::bayes::prior::Factor;
use bayesrg_core::geometry::closed_form::{self as cf, ClosedFormGeometry, KnownGeodesic};
use bayesrg_core::model::{Model, Support, check_len};
use bayesrg_core::special::{HALF_LN_2PI, bd0, stirling_correction, xlog1pxmx};
use bayesrg_core::{ParamError, ad_derivatives};
use nalgebra::DMatrix;
use rand::Rng;
use rand_distr::Distribution;
use serde::{Deserialize, Serialize};

/// The largest rate accepted: counts stay exact integers in an `f64`.
pub const MAX_RATE: f64 = 1e15;

/// The largest rate whose support is enumerated (about 8 000 points there).
pub const MAX_ENUMERATED_RATE: f64 = 1e4;

/// Poisson(λ), θ = (rate λ), 0 < λ ≤ 10¹⁵. Observations are counts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Poisson {}

/// ln P(y | λ) in `f64` (Loader's form; −∞ off the support).
pub fn ln_pmf(lambda: f64, y: f64) -> f64 {
    Poisson {}.ln_density(&[lambda], &[y])
}

impl LogDensity for Poisson {
    fn ln_density<D: Real>(&self, theta: &[D], y: &[f64]) -> D {
        let (l, k) = (theta[0], y[0]);
        if k < 0.0 || k.fract() != 0.0 {
            return D::from(f64::NEG_INFINITY);
        }
        if k == 0.0 {
            return -l;
        }
        // bd0(k, λ) = λ·φ((k − λ)/λ), φ(u) = (1 + u) ln(1 + u) − u.
        let u = (-l + k) / l;
        let phi = univariate(u, |j, u0| match j {
            0 => xlog1pxmx(u0),
            1 => u0.ln_1p(),
            j => {
                // dʲ/duʲ ln(1 + u) for j ≥ 2 (shifted by one order)
                let f: f64 = (1..j - 1).map(|i| i as f64).product();
                let s = if j % 2 == 0 { 1.0 } else { -1.0 };
                s * f * (1.0 + u0).powi(-(j as i32 - 1))
            }
        });
        -(l * phi) - (HALF_LN_2PI + 0.5 * k.ln() + stirling_correction(k))
    }
}

#[bayesrg_core::register_model(
    tag = "poisson",
    summary = "Poisson(rate): counts y = 0, 1, 2, ...",
    example = || Box::new(Poisson {}),
    theta = || vec![3.5]
)]
impl Model for Poisson {
    fn fisher_rao(&self) -> Option<&dyn ClosedFormGeometry> {
        Some(self)
    }
    /// A Gamma(shape, rate) prior on the rate: the Gamma–Poisson oracle.
    fn conjugate_single(&self, i: usize, f: &Factor, _: &[f64]) -> Option<Box<dyn Conjugate>> {
        match (i, f) {
            (0, Factor::Gamma { shape, rate }) => Some(Box::new(conj::GammaPoisson {
                a: *shape,
                b: *rate,
            })),
            _ => None,
        }
    }
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
        self.ln_density(theta, y)
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        out[0] = y[0] / theta[0] - 1.0;
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    ad_derivatives!(hessian);
    fn support(&self, theta: &[f64]) -> Option<Support> {
        let l = theta[0];
        if l > MAX_ENUMERATED_RATE {
            return None;
        }
        let x = 40.0 * l.sqrt() + 40.0;
        let lo = (l - x).floor().max(0.0);
        let hi = (l + x).ceil();
        // Chernoff: P(Y ≥ m) ≤ e^{−λ}(eλ/m)^m for m > λ, P(Y ≤ m) ≤ the same
        // for m < λ; m the first count left out on either side.
        let chernoff = |m: f64| {
            if m == 0.0 {
                (-l).exp()
            } else {
                (-l + m * (1.0 + (l / m).ln())).exp()
            }
        };
        let upper = chernoff(hi + 1.0);
        let lower = if lo > 0.0 { chernoff(lo - 1.0) } else { 0.0 };
        let n = (hi - lo) as usize + 1;
        let points: Vec<f64> = (0..n).map(|k| lo + k as f64).collect();
        let probs = points.iter().map(|&k| ln_pmf(l, k).exp()).collect();
        Some(Support {
            points,
            probs,
            tail_mass: upper + lower,
        })
    }
    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Some(DMatrix::from_element(1, 1, 1.0 / theta[0]))
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        let (l1, l2) = (a[0], b[0]);
        if !(l1 > 0.0 && l2 >= 0.0) {
            return Some(f64::NAN);
        }
        Some(bd0(l1, l2, l1 - l2))
    }
}

/// The closed-form Fisher–Rao geometry (oracles.md §3): 2√λ is an arc-length coordinate.
impl ClosedFormGeometry for Poisson {
    fn chart_dim(&self) -> Option<usize> {
        Some(1)
    }
    fn metric(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Model::fisher(self, theta)
    }
    fn geodesic(&self, a: &[f64], b: &[f64]) -> Option<KnownGeodesic> {
        Some(cf::poisson_geodesic(a, b))
    }
    fn acceleration(&self, theta: &[f64], v: &[f64], out: &mut [f64]) -> Option<bool> {
        Some(cf::poisson_acceleration(theta, v, out))
    }
}

//! The sloppy sum-of-exponentials model: y_k = Σᵢ e^{−θᵢ t_k} + N(0, σ²) at the
//! observation times t_k (eqs. 40–42 with G_k(θ) = Σᵢ e^{−θᵢ t_k}).
//!
//! Config fields: `terms` (the number d of exponentials), `times` (t₁…t_m,
//! finite, ≥ 0, at least d of them) and `sigma` (the noise standard deviation,
//! > 0). θ = (rate1, …, rated), every rate > 0.
//!
//! Jacobian J_ki = −t_k e^{−θᵢ t_k}; Fisher (eq. 29) I = JᵀJ/σ²; KL (eq. 30)
//! KL(θ‖θ′) = |G(θ) − G(θ′)|²/(2σ²). With nearby rates the columns of J are
//! nearly parallel, and the eigenvalues of I span many decades: the classic
//! "sloppy" model.
//!
//! The KL is evaluated from G(θ) − G(θ′) term by term,
//! e^{−θᵢt} − e^{−θ′ᵢt} = −e^{−θᵢt}·expm1(−(θ′ᵢ − θᵢ)t), so it keeps its
//! relative accuracy as θ′ → θ. Hessians by automatic differentiation of the
//! log-density ([`LogDensity`]).

use crate::checks;
use bayesrg_core::ParamError;
use bayesrg_core::ad::{LogDensity, Real};
use bayesrg_core::ad_derivatives;
use bayesrg_core::error::{Field, require};
use bayesrg_core::fisher::symmetrize;
use bayesrg_core::model::{Model, check_len};
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// y_k = Σᵢ e^{−θᵢ t_k} + N(0, σ²), θ = d positive decay rates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "RawSumOfExponentials", into = "RawSumOfExponentials")]
pub struct SumOfExponentials {
    terms: usize,
    times: Vec<f64>,
    sigma: f64,
}

/// The config form of [`SumOfExponentials`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSumOfExponentials {
    /// The number of exponentials d ≥ 1.
    pub terms: usize,
    /// The observation times t_k (finite, ≥ 0; at least `terms` of them).
    pub times: Vec<f64>,
    /// The noise standard deviation σ > 0.
    pub sigma: f64,
}

impl TryFrom<RawSumOfExponentials> for SumOfExponentials {
    type Error = bayesrg_core::Error;
    fn try_from(r: RawSumOfExponentials) -> bayesrg_core::Result<Self> {
        SumOfExponentials::new(r.terms, r.times, r.sigma)
    }
}

impl From<SumOfExponentials> for RawSumOfExponentials {
    fn from(m: SumOfExponentials) -> Self {
        RawSumOfExponentials {
            terms: m.terms,
            times: m.times,
            sigma: m.sigma,
        }
    }
}

impl SumOfExponentials {
    /// The model with `terms` exponentials observed at `times` with noise `sigma`;
    /// errors name the field.
    pub fn new(terms: usize, times: Vec<f64>, sigma: f64) -> bayesrg_core::Result<Self> {
        require::at_least("terms", terms, 1)?;
        for (k, &t) in times.iter().enumerate() {
            require::non_negative(Field::key("times").at(k), t)?;
        }
        if times.len() < terms {
            return Err(bayesrg_core::Error::Dimension {
                field: "times".into(),
                expected: format!(
                    "at least {terms} for {terms} terms (with fewer observation times \
                     than rates the rates are not identifiable)"
                ),
                got: times.len(),
            });
        }
        require::positive("sigma", sigma)?;
        Ok(SumOfExponentials {
            terms,
            times,
            sigma,
        })
    }

    /// The observation times.
    pub fn times(&self) -> &[f64] {
        &self.times
    }

    /// The noise standard deviation σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// G_k(θ) = Σᵢ e^{−θᵢ t_k} at one time t.
    fn g_at(theta: &[f64], t: f64) -> f64 {
        theta.iter().map(|&r| (-r * t).exp()).sum()
    }

    fn g(&self, theta: &[f64]) -> DVector<f64> {
        DVector::from_iterator(
            self.times.len(),
            self.times.iter().map(|&t| Self::g_at(theta, t)),
        )
    }

    fn jac(&self, theta: &[f64]) -> DMatrix<f64> {
        DMatrix::from_fn(self.times.len(), self.terms, |k, i| {
            let t = self.times[k];
            -t * (-theta[i] * t).exp()
        })
    }
}

impl LogDensity for SumOfExponentials {
    fn ln_density<D: Real>(&self, theta: &[D], y: &[f64]) -> D {
        let s2 = self.sigma * self.sigma;
        let mut rss = D::from(0.0);
        for (&yk, &t) in y.iter().zip(&self.times) {
            let mut g = D::from(0.0);
            for &r in theta {
                g += (-(r * t)).exp();
            }
            let res = -g + yk;
            rss += res * res;
        }
        -(rss / s2 + self.times.len() as f64 * (LN_2PI + s2.ln())) * 0.5
    }
}

#[bayesrg_core::register_model(
    tag = "sum_of_exponentials",
    summary = "sloppy model y(t) = sum_i exp(-rate_i t) + N(0, sigma^2) at `times`",
    example = || Box::new(
        SumOfExponentials::new(4, (1..=12).map(|k| 0.5 * k as f64).collect(), 0.1)
            .expect("valid example")
    ),
    theta = || vec![0.3, 1.0, 3.0, 6.0]
)]
impl Model for SumOfExponentials {
    fn param_names(&self) -> Vec<String> {
        checks::numbered("rate", self.terms)
    }
    fn obs_dim(&self) -> usize {
        self.times.len()
    }
    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)?;
        for (i, &r) in theta.iter().enumerate() {
            checks::positive(&format!("rate{}", i + 1), r)?;
        }
        Ok(())
    }
    // sample, log_likelihood and score run in Monte Carlo loops: no allocation.
    fn sample(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        for (o, &t) in out.iter_mut().zip(&self.times) {
            let z: f64 = StandardNormal.sample(&mut *rng);
            *o = Self::g_at(theta, t) + self.sigma * z;
        }
    }
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        let s2 = self.sigma * self.sigma;
        let rss: f64 = y
            .iter()
            .zip(&self.times)
            .map(|(&yk, &t)| (yk - Self::g_at(theta, t)).powi(2))
            .sum();
        -0.5 * (self.times.len() as f64 * (LN_2PI + s2.ln()) + rss / s2)
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        // ℓ = Jᵀ(y − G)/σ², J_ki = −t_k e^{−θᵢ t_k}.
        out.fill(0.0);
        let s2 = self.sigma * self.sigma;
        for (&yk, &t) in y.iter().zip(&self.times) {
            let r = (yk - Self::g_at(theta, t)) / s2;
            for (o, &th) in out.iter_mut().zip(theta) {
                *o -= t * (-th * t).exp() * r;
            }
        }
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    ad_derivatives!(hessian);
    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        let j = self.jac(theta);
        Some(symmetrize(j.tr_mul(&j) / (self.sigma * self.sigma)))
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        // G_k(a) − G_k(b) = Σᵢ −e^{−aᵢt}·expm1(−(bᵢ − aᵢ)t), no cancellation
        // of the two exponentials.
        let ss: f64 = self
            .times
            .iter()
            .map(|&t| {
                let dg: f64 = a
                    .iter()
                    .zip(b)
                    .map(|(&x, &z)| -(-x * t).exp() * (-(z - x) * t).exp_m1())
                    .sum();
                dg * dg
            })
            .sum();
        Some(ss / (2.0 * self.sigma * self.sigma))
    }
    fn forward(&self, theta: &[f64]) -> Option<DVector<f64>> {
        Some(self.g(theta))
    }
    fn forward_jacobian(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Some(self.jac(theta))
    }
    fn noise_covariance(&self) -> Option<DMatrix<f64>> {
        let m = self.times.len();
        Some(DMatrix::identity(m, m) * (self.sigma * self.sigma))
    }
}

//! Test-local models with the closed forms of oracles.md §1–2, registered
//! under `t_…` tags (the registered families live in `bayesrg-models`, which
//! core's own tests cannot depend on).

use bayesrg_core::ParamError;
use bayesrg_core::model::{Model, Support, check_len};
use bayesrg_core::special::{digamma, ln_gamma, trigamma};
use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngExt};
use rand_distr::{Distribution, Gamma, Poisson, StandardNormal};
use serde::{Deserialize, Serialize};

/// q − p + p ln(p/q) for p, q > 0: the Poisson KL(p‖q) and each of the two
/// terms of the Bernoulli KL. Near q = p it is p·(u − ln(1 + u)), u = (q − p)/p,
/// summed as a series (|u| < 0.01, 10 terms, error < 0.01¹²) so that it keeps
/// its relative accuracy as q → p; elsewhere the direct form, which keeps it
/// for q ≪ p (where u rounds to −1).
pub fn kl_term(p: f64, q: f64) -> f64 {
    let u = (q - p) / p;
    if u.abs() < 0.01 {
        let mut s = 0.0;
        let mut t = u * u;
        for k in 2..12 {
            s += t / k as f64;
            t *= -u;
        }
        p * s
    } else {
        q - p + p * (p.ln() - q.ln())
    }
}

fn pos(name: &str, v: f64) -> Result<(), ParamError> {
    if v > 0.0 {
        Ok(())
    } else {
        Err(ParamError::invalid(name, v, "must be > 0"))
    }
}

/// N(μ, σ²) with σ known: the normal-mean model.
#[derive(Debug, Serialize, Deserialize)]
pub struct NormalMean {
    pub sigma: f64,
}

#[typetag::serde(name = "t_normal_mean")]
impl Model for NormalMean {
    fn param_names(&self) -> Vec<String> {
        vec!["mu".into()]
    }
    fn obs_dim(&self) -> usize {
        1
    }
    fn check_params(&self, t: &[f64]) -> Result<(), ParamError> {
        check_len(self, t)
    }
    fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
        let z: f64 = StandardNormal.sample(r);
        out[0] = t[0] + self.sigma * z;
    }
    fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
        let z = (y[0] - t[0]) / self.sigma;
        -0.5 * z * z - self.sigma.ln() - 0.918_938_533_204_672_8
    }
    fn fisher(&self, _t: &[f64]) -> Option<DMatrix<f64>> {
        Some(DMatrix::from_element(1, 1, 1.0 / (self.sigma * self.sigma)))
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        Some((a[0] - b[0]).powi(2) / (2.0 * self.sigma * self.sigma))
    }
}

/// Poisson(λ).
#[derive(Debug, Serialize, Deserialize)]
pub struct Pois {}

#[typetag::serde(name = "t_poisson")]
impl Model for Pois {
    fn param_names(&self) -> Vec<String> {
        vec!["lambda".into()]
    }
    fn obs_dim(&self) -> usize {
        1
    }
    fn check_params(&self, t: &[f64]) -> Result<(), ParamError> {
        check_len(self, t)?;
        pos("lambda", t[0])
    }
    fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
        out[0] = Poisson::new(t[0]).unwrap().sample(r);
    }
    fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
        y[0] * t[0].ln() - t[0] - ln_gamma(y[0] + 1.0)
    }
    fn fisher(&self, t: &[f64]) -> Option<DMatrix<f64>> {
        Some(DMatrix::from_element(1, 1, 1.0 / t[0]))
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        // λ₁ ln(λ₁/λ₂) − λ₁ + λ₂, accurate as λ₂ → λ₁ and for λ₂ ≪ λ₁.
        Some(kl_term(a[0], b[0]))
    }
}

/// Bernoulli(p).
#[derive(Debug, Serialize, Deserialize)]
pub struct Bern {}

#[typetag::serde(name = "t_bernoulli")]
impl Model for Bern {
    fn param_names(&self) -> Vec<String> {
        vec!["p".into()]
    }
    fn obs_dim(&self) -> usize {
        1
    }
    fn check_params(&self, t: &[f64]) -> Result<(), ParamError> {
        check_len(self, t)?;
        if t[0] > 0.0 && t[0] < 1.0 {
            Ok(())
        } else {
            Err(ParamError::invalid("p", t[0], "must be in (0, 1)"))
        }
    }
    fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
        out[0] = if r.random::<f64>() < t[0] { 1.0 } else { 0.0 };
    }
    fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
        if y[0] == 1.0 {
            t[0].ln()
        } else {
            (1.0 - t[0]).ln()
        }
    }
    fn fisher(&self, t: &[f64]) -> Option<DMatrix<f64>> {
        Some(DMatrix::from_element(1, 1, 1.0 / (t[0] * (1.0 - t[0]))))
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        // p ln(p/q) + (1 − p) ln((1 − p)/(1 − q)) as the sum of two
        // non-negative terms [q − p + p ln(p/q)] + [p − q + (1 − p) ln((1 − p)/(1 − q))].
        let (p, q) = (a[0], b[0]);
        Some(kl_term(p, q) + kl_term(1.0 - p, 1.0 - q))
    }
}

/// Gamma(shape k, rate β).
#[derive(Debug, Serialize, Deserialize)]
pub struct GammaSR {}

#[typetag::serde(name = "t_gamma")]
impl Model for GammaSR {
    fn param_names(&self) -> Vec<String> {
        vec!["shape".into(), "rate".into()]
    }
    fn obs_dim(&self) -> usize {
        1
    }
    fn check_params(&self, t: &[f64]) -> Result<(), ParamError> {
        check_len(self, t)?;
        pos("shape", t[0])?;
        pos("rate", t[1])
    }
    fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
        out[0] = Gamma::new(t[0], 1.0 / t[1]).unwrap().sample(r);
    }
    fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
        let (k, b) = (t[0], t[1]);
        k * b.ln() - ln_gamma(k) + (k - 1.0) * y[0].ln() - b * y[0]
    }
    fn fisher(&self, t: &[f64]) -> Option<DMatrix<f64>> {
        let (k, b) = (t[0], t[1]);
        Some(DMatrix::from_row_slice(
            2,
            2,
            &[trigamma(k), -1.0 / b, -1.0 / b, k / (b * b)],
        ))
    }
    fn kl(&self, a: &[f64], c: &[f64]) -> Option<f64> {
        // oracles.md §2 (shape, rate).
        let (k1, b1, k2, b2) = (a[0], a[1], c[0], c[1]);
        Some(
            (k1 - k2) * digamma(k1) - ln_gamma(k1)
                + ln_gamma(k2)
                + k2 * (b1.ln() - b2.ln())
                + k1 * (b2 - b1) / b1,
        )
    }
}

/// y = Aθ + N(0, Σ).
#[derive(Debug, Serialize, Deserialize)]
pub struct LinGauss {
    pub a: DMatrix<f64>,
    pub sigma: DMatrix<f64>,
}

impl LinGauss {
    fn g(&self, t: &[f64]) -> DVector<f64> {
        &self.a * DVector::from_column_slice(t)
    }
}

#[typetag::serde(name = "t_linear_gaussian")]
impl Model for LinGauss {
    fn param_names(&self) -> Vec<String> {
        (0..self.a.ncols()).map(|i| format!("theta{i}")).collect()
    }
    fn obs_dim(&self) -> usize {
        self.a.nrows()
    }
    fn check_params(&self, t: &[f64]) -> Result<(), ParamError> {
        check_len(self, t)
    }
    fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
        let l = self.sigma.clone().cholesky().unwrap().l();
        let z = DVector::from_iterator(
            out.len(),
            (0..out.len()).map(|_| -> f64 { StandardNormal.sample(&mut *r) }),
        );
        let y = self.g(t) + l * z;
        out.copy_from_slice(y.as_slice());
    }
    fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
        let g = bayesrg_core::gaussian::Gaussian::new(self.g(t), self.sigma.clone()).unwrap();
        g.ln_pdf(y)
    }
    fn fisher(&self, _t: &[f64]) -> Option<DMatrix<f64>> {
        let si = self.sigma.clone().cholesky().unwrap().inverse();
        Some(self.a.transpose() * si * &self.a)
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        let d = self.g(a) - self.g(b);
        let si = self.sigma.clone().cholesky().unwrap().inverse();
        Some(0.5 * d.dot(&(si * &d)))
    }
    fn forward(&self, t: &[f64]) -> Option<DVector<f64>> {
        Some(self.g(t))
    }
    fn forward_jacobian(&self, _t: &[f64]) -> Option<DMatrix<f64>> {
        Some(self.a.clone())
    }
    fn noise_covariance(&self) -> Option<DMatrix<f64>> {
        Some(self.sigma.clone())
    }
}

/// y_i = Σⱼ exp(−θⱼ tᵢ) + N(0, σ²): sloppy and nonlinear.
#[derive(Debug, Serialize, Deserialize)]
pub struct SumExp {
    pub times: Vec<f64>,
    pub sigma: f64,
    pub rates: usize,
}

impl SumExp {
    fn g(&self, t: &[f64]) -> DVector<f64> {
        DVector::from_iterator(
            self.times.len(),
            self.times
                .iter()
                .map(|s| t.iter().map(|k| (-k * s).exp()).sum::<f64>()),
        )
    }
}

#[typetag::serde(name = "t_sum_of_exponentials")]
impl Model for SumExp {
    fn param_names(&self) -> Vec<String> {
        (0..self.rates).map(|i| format!("k{i}")).collect()
    }
    fn obs_dim(&self) -> usize {
        self.times.len()
    }
    fn check_params(&self, t: &[f64]) -> Result<(), ParamError> {
        check_len(self, t)?;
        for (i, v) in t.iter().enumerate() {
            pos(&format!("k{i}"), *v)?;
        }
        Ok(())
    }
    fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
        let g = self.g(t);
        for (o, gi) in out.iter_mut().zip(g.iter()) {
            let z: f64 = StandardNormal.sample(&mut *r);
            *o = gi + self.sigma * z;
        }
    }
    fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
        let g = self.g(t);
        y.iter()
            .zip(g.iter())
            .map(|(a, b)| {
                let z = (a - b) / self.sigma;
                -0.5 * z * z - self.sigma.ln() - 0.918_938_533_204_672_8
            })
            .sum()
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        Some(0.5 * (self.g(a) - self.g(b)).norm_squared() / (self.sigma * self.sigma))
    }
    fn forward(&self, t: &[f64]) -> Option<DVector<f64>> {
        Some(self.g(t))
    }
    fn noise_covariance(&self) -> Option<DMatrix<f64>> {
        Some(DMatrix::identity(self.times.len(), self.times.len()) * (self.sigma * self.sigma))
    }
}

/// Bernoulli(p) with an exact score and an accurate KL (Σ bd0,
/// [`bayesrg_core::special::bd0`]); its enumerated support {0, 1} only with
/// `enumerate`. Without it, its expectations are Monte Carlo averages, which
/// cannot resolve a success probability far below 1/n.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RareBern {
    /// Whether the model gives its support ([`Model::support`]).
    #[serde(default)]
    pub enumerate: bool,
}

#[typetag::serde(name = "t_rare_bernoulli")]
impl Model for RareBern {
    fn param_names(&self) -> Vec<String> {
        vec!["p".into()]
    }
    fn obs_dim(&self) -> usize {
        1
    }
    fn check_params(&self, t: &[f64]) -> Result<(), ParamError> {
        Bern {}.check_params(t)
    }
    fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
        Bern {}.sample(t, r, out)
    }
    fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
        Bern {}.log_likelihood(t, y)
    }
    fn score(&self, t: &[f64], y: &[f64], out: &mut [f64]) {
        out[0] = y[0] / t[0] - (1.0 - y[0]) / (1.0 - t[0]);
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    fn fisher(&self, t: &[f64]) -> Option<DMatrix<f64>> {
        Bern {}.fisher(t)
    }
    fn support(&self, t: &[f64]) -> Option<Support> {
        self.enumerate.then(|| Support {
            points: vec![0.0, 1.0],
            probs: vec![1.0 - t[0], t[0]],
            tail_mass: 0.0,
        })
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        let (p, q) = (a[0], b[0]);
        let bd0 = bayesrg_core::special::bd0;
        Some(bd0(p, q, p - q) + bd0(1.0 - p, 1.0 - q, q - p))
    }
}

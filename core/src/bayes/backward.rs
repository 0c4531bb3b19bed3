//! Backward inference and the DB-RG flow (eqs. 38, 39, 43, 44).
//!
//! Backward in τ = 1/T, the posterior widens (eq. 38):
//!
//!   π_τ = N(μ_τ, τ I(μ_τ)⁻¹),
//!
//! and the predictive (eq. 39) p_τ(y) = E_{θ~π_τ}[p(y|θ)] is computed here by
//! Monte Carlo over θ (model space). For a model y = G(θ) + N, N ~ N(0, Σ), the
//! pushforward of π_τ through the linearised G is the heat kernel
//! N(γ_τ, τK_τ⁻¹) with K_τ⁻¹ = J I⁻¹ Jᵀ (eq. 44), γ_τ = G(μ_τ); convolved with
//! the noise (eq. 43) it gives p_τ = N(γ_τ, τK_τ⁻¹ + Σ) (data space). For
//! linear G the two agree exactly; for nonlinear G their discrepancy measures
//! where the linearised pushforward stops being true.
//!
//! The Gaussian (38) puts mass outside the parameter space of a constrained
//! model (a rate below 0); such draws are rejected, so the model-space
//! predictive is that of π_τ restricted to the parameter space, and the
//! rejected fraction is reported.

use crate::error::{Error, Result};
use crate::gaussian::Gaussian;
use crate::linalg;
use crate::model::{Model, type_name};
use crate::rng;
use nalgebra::{DMatrix, DVector};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// The MAP path μ_τ of the backward flow: fixed, or piecewise linear through
/// given (τ, μ) knots (held constant outside them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MuPath {
    /// μ_τ = μ for every τ.
    Fixed(Vec<f64>),
    /// Knots (τ, μ) with increasing τ.
    Knots(Vec<(f64, Vec<f64>)>),
}

impl MuPath {
    /// μ at τ.
    pub fn at(&self, tau: f64) -> Vec<f64> {
        match self {
            MuPath::Fixed(m) => m.clone(),
            MuPath::Knots(k) => {
                if tau <= k[0].0 {
                    return k[0].1.clone();
                }
                for w in k.windows(2) {
                    let ((t0, a), (t1, b)) = (&w[0], &w[1]);
                    if tau <= *t1 {
                        let s = (tau - t0) / (t1 - t0);
                        return a.iter().zip(b).map(|(x, y)| x + s * (y - x)).collect();
                    }
                }
                k[k.len() - 1].1.clone()
            }
        }
    }

    /// Checks the path against the model: knots increase, every μ is valid.
    pub fn validate(&self, model: &dyn Model) -> Result<()> {
        match self {
            MuPath::Fixed(m) => model.check_params(m).map_err(Into::into),
            MuPath::Knots(k) => {
                if k.is_empty() {
                    return Err(Error::setting("mu", "path has no knots"));
                }
                let taus: Vec<f64> = k.iter().map(|p| p.0).collect();
                super::check_increasing("mu path τ knots", &taus)?;
                for (_, m) in k {
                    model.check_params(m)?;
                }
                Ok(())
            }
        }
    }
}

/// π_τ = N(μ, τ I(μ)⁻¹) (eq. 38) for a Fisher matrix `fisher` = I(μ); τ > 0.
pub fn posterior(mu: &[f64], tau: f64, fisher: &DMatrix<f64>) -> Result<Gaussian> {
    let inv = linalg::cholesky(fisher, "Fisher matrix")?.inverse();
    Gaussian::new(
        DVector::from_column_slice(mu),
        (&inv + inv.transpose()) * (0.5 * tau),
    )
}

/// Standard-normal draws z (n × d, row-major) reused at every τ: the flow's
/// common random numbers, so observables are smooth functions of τ.
pub fn base_draws(n: usize, d: usize, seed: u64) -> Vec<f64> {
    rng::par_chunks(n, seed, |_, r, g| {
        (0..r.len() * d)
            .map(|_| -> f64 { StandardNormal.sample(&mut *g) })
            .collect::<Vec<f64>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

/// Draws θ ~ π_τ = N(μ, τI⁻¹) as μ + √τ·L·z from the base draws `z`,
/// dropping θ outside the parameter space. Returns the kept θ and the
/// rejected fraction.
pub fn sample_thetas(
    model: &dyn Model,
    mu: &[f64],
    tau: f64,
    fisher: &DMatrix<f64>,
    z: &[f64],
) -> Result<(Vec<Vec<f64>>, f64)> {
    let d = mu.len();
    let l = linalg::cholesky(fisher, "Fisher matrix")?.inverse();
    let l = linalg::cholesky(&((&l + l.transpose()) * 0.5), "inverse Fisher matrix")?.l();
    let st = tau.sqrt();
    let n = z.len() / d;
    let mut out = Vec::with_capacity(n);
    for zk in z.chunks(d) {
        let th: Vec<f64> = (0..d)
            .map(|i| mu[i] + st * (0..=i).map(|j| l[(i, j)] * zk[j]).sum::<f64>())
            .collect();
        if model.check_params(&th).is_ok() {
            out.push(th);
        }
    }
    let rej = 1.0 - out.len() as f64 / n as f64;
    if out.is_empty() {
        return Err(Error::Msg(format!(
            "every draw of π_τ at τ = {tau} left the parameter space"
        )));
    }
    Ok((out, rej))
}

/// The model-space predictive (eq. 39) at `y`: the average of p(y|θ) over θ
/// draws (a Rao–Blackwellised Monte Carlo estimate).
pub fn predictive_density(model: &dyn Model, thetas: &[Vec<f64>], y: &[f64]) -> f64 {
    thetas
        .iter()
        .map(|t| model.log_likelihood(t, y).exp())
        .sum::<f64>()
        / thetas.len() as f64
}

/// Draws y from the model-space predictive: θ cycles through `thetas`, y ~ p(·|θ).
pub fn predictive_samples(
    model: &dyn Model,
    thetas: &[Vec<f64>],
    n: usize,
    seed: u64,
) -> Vec<Vec<f64>> {
    let m = model.obs_dim();
    rng::par_chunks(n, seed, |_, r, g| {
        r.map(|i| {
            let mut y = vec![0.0; m];
            model.sample(&thetas[i % thetas.len()], g, &mut y);
            y
        })
        .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

fn no_forward(model: &dyn Model) -> Error {
    Error::Missing {
        model: type_name(model).into(),
        capability: "forward map G with Gaussian noise (needed for a data-space flow, eqs. 43–44)"
            .into(),
    }
}

/// The data-space diffusion matrix K⁻¹ = J I⁻¹ Jᵀ at μ (eq. 44).
pub fn kernel_inverse(
    model: &dyn Model,
    mu: &[f64],
    fisher: &DMatrix<f64>,
) -> Result<DMatrix<f64>> {
    let j = model
        .forward_jacobian(mu)
        .ok_or_else(|| no_forward(model))?;
    let inv = linalg::cholesky(fisher, "Fisher matrix")?.inverse();
    let k = &j * inv * j.transpose();
    Ok((&k + k.transpose()) * 0.5)
}

/// The heat kernel N(γ_τ, τK_τ⁻¹) of eq. (44), γ_τ = G(μ_τ) (possibly degenerate
/// when G has more outputs than parameters, so returned as mean and covariance).
pub fn heat_kernel(
    model: &dyn Model,
    mu: &[f64],
    tau: f64,
    fisher: &DMatrix<f64>,
) -> Result<(DVector<f64>, DMatrix<f64>)> {
    let g = model.forward(mu).ok_or_else(|| no_forward(model))?;
    Ok((g, kernel_inverse(model, mu, fisher)? * tau))
}

/// The data-space predictive of eq. (43): the heat kernel convolved with the
/// Gaussian noise, N(G(μ), τJI⁻¹Jᵀ + Σ).
pub fn data_space_predictive(
    model: &dyn Model,
    mu: &[f64],
    tau: f64,
    fisher: &DMatrix<f64>,
) -> Result<Gaussian> {
    let sigma = model.noise_covariance().ok_or_else(|| no_forward(model))?;
    let (g, k) = heat_kernel(model, mu, tau, fisher)?;
    Gaussian::new(g, k + sigma)
}

/// Simulates the data-space flow with the SDE steppers: the zero-drift
/// diffusion dY = θ dW, θ = J·L with LLᵀ = I(μ)⁻¹ (so θθᵀ = K⁻¹ of eq. 44, in the
/// "generator ½, no √2" convention), started from G(μ) + N(0, Σ) draws and
/// run to time τ by Euler–Maruyama (exact in law here: constant diffusion,
/// zero drift). Its law is the data-space predictive of eq. (43).
pub fn simulate_data_space(
    model: &dyn Model,
    mu: &[f64],
    tau: f64,
    fisher: &DMatrix<f64>,
    n: usize,
    seed: u64,
) -> Result<Vec<Vec<f64>>> {
    use crate::sde::ensemble::{EnsembleConfig, Initial, simulate};
    use crate::sde::steppers::EulerMaruyama;
    use crate::sde::terms::{AdditiveNoise, Diffusion, Problem, ZeroDrift};
    use std::sync::Arc;
    let sigma = model.noise_covariance().ok_or_else(|| no_forward(model))?;
    let g = model.forward(mu).ok_or_else(|| no_forward(model))?;
    let j = model
        .forward_jacobian(mu)
        .ok_or_else(|| no_forward(model))?;
    let m = g.len();
    let inv = linalg::cholesky(fisher, "Fisher matrix")?.inverse();
    let l = linalg::cholesky(&((&inv + inv.transpose()) * 0.5), "inverse Fisher matrix")?.l();
    let noise = Gaussian::new(g, sigma)?;
    let start: Vec<f64> = sample_data_space(&noise, n, seed ^ 0x0517)
        .into_iter()
        .flatten()
        .collect();
    let problem = Problem::new(
        Arc::new(ZeroDrift::new(m)),
        Diffusion::Additive(AdditiveNoise::from_factor(j * l)?),
    )?;
    let mut cfg = EnsembleConfig::new(n, vec![0.0; m], vec![tau], tau, seed);
    cfg.initial = Initial::Each(Arc::new(start));
    let ens = simulate(&problem, &EulerMaruyama, &cfg, &|_| {})?;
    Ok((0..n).map(|i| ens.state(0, i).to_vec()).collect())
}

/// Exact draws from a Gaussian (the data-space predictive of eq. 43, or the
/// noise), seeded by chunks.
pub fn sample_data_space(kernel: &Gaussian, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let m = kernel.dim();
    rng::par_chunks(n, seed, |_, r, g| {
        r.map(|_| {
            let mut y = vec![0.0; m];
            kernel.sample_into(g, &mut y);
            y
        })
        .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

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
//!
//! # Singular Fisher metrics
//! A non-identifiable model (y = Aθ + N with A of rank r < d; an autoencoder
//! with directions of F = 0) has a Fisher metric with null directions. Every
//! quantity here uses the pseudo-inverse I⁺ ([`linalg::psd_pseudo_inverse`]:
//! eigenvalues below their error bound are null, see [`crate::linalg`]):
//!
//! - **The backward posterior along null directions is held at μ.** Eq. (38)
//!   is the late-time posterior N(μ, τI⁻¹) in which the likelihood dominates;
//!   along a null direction n the likelihood is flat (Iₙₙ = 0: the data say
//!   nothing), so eq. (38) has no width to give there — what the posterior
//!   does there is the prior's business, which eq. (38) does not model. We
//!   take π_τ = N(μ, τI⁺), the degenerate Gaussian on μ + range(I): it is the
//!   limit of N(μ, τ(I + εP)⁻¹) conditioned on the null coordinates at μ, and
//!   the choice that changes no observable quantity to linear order — for
//!   y = G(θ) + N, I = JᵀΣ⁻¹J so Jn = 0, and the pushforward (eq. 44)
//!   J I⁺ Jᵀ is the same whatever π_τ does along n. For affine G the
//!   model-space (39) and data-space (43) predictives then agree exactly.
//! - [`kernel_inverse`], [`heat_kernel`], [`data_space_predictive`],
//!   [`simulate_data_space`] and [`sample_thetas`] accept a semi-definite I.
//! - [`posterior`] still refuses one: it returns π_τ as a density on ℝᵈ, which
//!   a degenerate Gaussian does not have (its entropy is −∞, its density is a
//!   delta along the null directions).
//! - A matrix with an eigenvalue negative beyond its error bound is not a
//!   metric and is refused everywhere.

use crate::error::{Error, Field, Result};
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
///
/// # Errors
/// A Fisher metric with null directions: π_τ is then degenerate (module
/// docs) and has no density on ℝᵈ, which a [`Gaussian`] is; sample it with
/// [`sample_thetas`] instead. A matrix that is not positive semi-definite.
pub fn posterior(mu: &[f64], tau: f64, fisher: &DMatrix<f64>) -> Result<Gaussian> {
    let p = linalg::psd_pseudo_inverse(fisher, "Fisher matrix")?;
    if p.rank < fisher.nrows() {
        return Err(Error::domain(
            "fisher",
            format!("a {0}×{0} matrix of rank {1}", fisher.nrows(), p.rank),
            format!(
                "has {} null direction(s): the backward posterior N(μ, τI⁺) of eq. (38) is \
                 degenerate along them and has no density on ℝ^{}; a posterior density needs a \
                 positive-definite Fisher metric",
                fisher.nrows() - p.rank,
                fisher.nrows()
            ),
        ));
    }
    Gaussian::new(DVector::from_column_slice(mu), p.matrix * tau)
}

/// The pushforward of the backward posterior through a Jacobian (eq. 44):
/// K⁻¹ = J I⁺ Jᵀ, with what it rests on.
#[derive(Debug, Clone)]
pub struct Pushforward {
    /// K⁻¹ = J I⁺ Jᵀ (m × m), symmetric positive semi-definite by construction.
    pub k_inv: DMatrix<f64>,
    /// W = J F (m × rank I), F the pseudo-inverse factor (F Fᵀ = I⁺): W Wᵀ = K⁻¹.
    pub factor: DMatrix<f64>,
    /// The rank of I (module docs of [`crate::linalg`]: the rank tolerance).
    pub fisher_rank: usize,
    /// Orthonormal basis of the null directions of I, d × (d − rank), as columns.
    pub null_directions: DMatrix<f64>,
}

/// K⁻¹ = J I⁺ Jᵀ (eq. 44) for a Jacobian `j` (m × d) and a Fisher metric
/// `fisher` (d × d, positive semi-definite; null directions allowed). With
/// `j` the identity this is I⁺ itself. The one implementation of eq. (44):
/// `bayesrg sde` and the data-space flow call it.
///
/// # Errors
/// Shapes that do not match; a non-finite entry; a `fisher` with an
/// eigenvalue negative beyond its error bound.
pub fn pushforward(j: &DMatrix<f64>, fisher: &DMatrix<f64>) -> Result<Pushforward> {
    if j.ncols() != fisher.nrows() {
        return Err(Error::Dimension {
            field: Field::key("jacobian"),
            expected: format!(
                "{} columns (the Fisher matrix is {}×{})",
                fisher.nrows(),
                fisher.nrows(),
                fisher.ncols()
            ),
            got: j.ncols(),
        });
    }
    if j.iter().any(|v| !v.is_finite()) {
        let value = j
            .iter()
            .copied()
            .find(|v| !v.is_finite())
            .unwrap_or(f64::NAN);
        return Err(Error::NotFinite {
            field: Field::key("jacobian"),
            value,
        });
    }
    let p = linalg::psd_pseudo_inverse(fisher, "Fisher matrix")?;
    let w = j * &p.factor;
    Ok(Pushforward {
        k_inv: &w * w.transpose(),
        factor: w,
        fisher_rank: p.rank,
        null_directions: p.null_space,
    })
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

/// Draws θ ~ π_τ = N(μ, τI⁺) as μ + √τ·F·z from the base draws `z` (F Fᵀ = I⁺,
/// F = [vₖ/√λₖ] over the range of I, so z's k-th component drives the k-th
/// eigendirection), dropping θ outside the parameter space. Along null
/// directions of I the draws stay at μ (module docs). Returns the kept θ and
/// the rejected fraction.
///
/// # Errors
/// `fisher` not positive semi-definite; every draw outside the parameter space.
pub fn sample_thetas(
    model: &dyn Model,
    mu: &[f64],
    tau: f64,
    fisher: &DMatrix<f64>,
    z: &[f64],
) -> Result<(Vec<Vec<f64>>, f64)> {
    let d = mu.len();
    let f = linalg::psd_pseudo_inverse(fisher, "Fisher matrix")?.factor;
    let r = f.ncols();
    let st = tau.sqrt();
    let n = z.len() / d;
    let mut out = Vec::with_capacity(n);
    for zk in z.chunks(d) {
        let th: Vec<f64> = (0..d)
            .map(|i| mu[i] + st * (0..r).map(|k| f[(i, k)] * zk[k]).sum::<f64>())
            .collect();
        if model.check_params(&th).is_ok() {
            out.push(th);
        }
    }
    let rej = 1.0 - out.len() as f64 / n as f64;
    if out.is_empty() {
        return Err(Error::domain(
            "tau",
            tau,
            "puts every draw of π_τ outside the parameter space",
        ));
    }
    Ok((out, rej))
}

/// The logarithm of the model-space predictive (eq. 39) at every point of
/// `ys` (one-dimensional observations): ln of the average of p(y|θ) over the
/// θ draws (a Rao–Blackwellised Monte Carlo estimate), summed in log space
/// (a running log-sum-exp over θ, for each y) so that it stays finite where
/// p(y|θ) underflows: far in the tails of a wide y grid the densities are
/// below 10⁻³⁰⁸ while their logarithms, and the KL and entropy integrands
/// made from them, are ordinary numbers. One [`Model::log_likelihood_rows`]
/// call per θ over all of `ys` (a model written in Python makes one call per
/// θ, not per (θ, y)).
///
/// # Errors
/// [`Error::Failed`] when `log_likelihood` is NaN or +∞ at a draw θ and a
/// point y (named).
pub fn predictive_log_densities(
    model: &dyn Model,
    thetas: &[Vec<f64>],
    ys: &[f64],
) -> Result<Vec<f64>> {
    // Running maximum m and sum s of e^{l − m} per y.
    let mut m = vec![f64::NEG_INFINITY; ys.len()];
    let mut s = vec![0.0; ys.len()];
    let mut ll = vec![0.0; ys.len()];
    for t in thetas {
        model.log_likelihood_rows(t, ys, &mut ll);
        for (k, &l) in ll.iter().enumerate() {
            if l.is_nan() || l == f64::INFINITY {
                return Err(Error::Failed {
                    what: "the predictive density (eq. 39)".into(),
                    reason: format!("log_likelihood is {l} at θ = {t:?}, y = {}", ys[k]),
                });
            }
            if l > m[k] {
                s[k] = s[k] * (m[k] - l).exp() + 1.0;
                m[k] = l;
            } else if l > f64::NEG_INFINITY {
                s[k] += (l - m[k]).exp();
            }
        }
    }
    let ln_n = (thetas.len() as f64).ln();
    Ok(m.iter()
        .zip(&s)
        .map(|(&m, &s)| {
            if s > 0.0 {
                m + s.ln() - ln_n
            } else {
                f64::NEG_INFINITY
            }
        })
        .collect())
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

/// `n` independent draws y ~ p_τ (eq. 39): each y from its own θ ~ π_τ =
/// N(μ, τI⁺) (as in [`sample_thetas`]), y ~ p(·|θ); draws whose θ leaves the
/// parameter space are dropped (the predictive of π_τ restricted to it).
/// Chunk k draws from `seed.stream(k)`. Unlike [`predictive_samples`], which
/// cycles through a fixed set of θ, the returned draws are independent, so
/// Monte Carlo standard errors are those of i.i.d. draws.
///
/// # Errors
/// `fisher` not positive semi-definite; every θ outside the parameter space.
pub fn predictive_draws(
    model: &dyn Model,
    mu: &[f64],
    tau: f64,
    fisher: &DMatrix<f64>,
    n: usize,
    seed: rng::Seed,
) -> Result<Vec<Vec<f64>>> {
    let d = mu.len();
    let m = model.obs_dim();
    let f = linalg::psd_pseudo_inverse(fisher, "Fisher matrix")?.factor;
    let r = f.ncols();
    let st = tau.sqrt();
    let out: Vec<Vec<f64>> = rng::par_chunks(n, seed.value(), |_, range, g| {
        let mut z = vec![0.0; r];
        let mut v = Vec::with_capacity(range.len());
        for _ in range {
            for zk in z.iter_mut() {
                *zk = StandardNormal.sample(&mut *g);
            }
            let th: Vec<f64> = (0..d)
                .map(|i| mu[i] + st * (0..r).map(|k| f[(i, k)] * z[k]).sum::<f64>())
                .collect();
            if model.check_params(&th).is_ok() {
                let mut y = vec![0.0; m];
                model.sample(&th, g, &mut y);
                v.push(y);
            }
        }
        v
    })
    .into_iter()
    .flatten()
    .collect();
    if out.is_empty() {
        return Err(Error::failed(
            "drawing from the predictive (39)",
            format!(
                "every draw of π_τ at τ = {} left the parameter space",
                crate::error::show(tau)
            ),
        ));
    }
    Ok(out)
}

fn no_forward(model: &dyn Model) -> Error {
    Error::Missing {
        model: type_name(model).into(),
        capability: "forward map G with Gaussian noise (needed for a data-space flow, eqs. 43–44)"
            .into(),
    }
}

/// The data-space diffusion matrix K⁻¹ = J I⁺ Jᵀ at μ (eq. 44; I⁺ = I⁻¹ for a
/// definite metric), through [`pushforward`].
pub fn kernel_inverse(
    model: &dyn Model,
    mu: &[f64],
    fisher: &DMatrix<f64>,
) -> Result<DMatrix<f64>> {
    let j = model
        .forward_jacobian(mu)
        .ok_or_else(|| no_forward(model))?;
    Ok(pushforward(&j, fisher)?.k_inv)
}

/// The heat kernel N(γ_τ, τK_τ⁻¹) of eq. (44), γ_τ = G(μ_τ) (degenerate when G
/// has more outputs than the rank of I, so returned as mean and covariance).
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
/// diffusion dY = θ dW, θ = J·F with FFᵀ = I(μ)⁺ (so θθᵀ = K⁻¹ of eq. 44, in the
/// "generator ½, no √2" convention), started from G(μ) + N(0, Σ) draws and
/// run to time τ by Euler–Maruyama (exact in law here: constant diffusion,
/// zero drift). Its law is the data-space predictive of eq. (43). The
/// starting noise and the Brownian paths draw from the children `"noise"`
/// and `"paths"` of `seed`.
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
    let w = pushforward(&j, fisher)?.factor;
    let noise = Gaussian::new(g, sigma)?;
    let seed = rng::Seed::new(seed);
    let start: Vec<f64> = sample_data_space(&noise, n, seed.child("noise").value())
        .into_iter()
        .flatten()
        .collect();
    let problem = Problem::new(
        Arc::new(ZeroDrift::new(m)),
        Diffusion::Additive(AdditiveNoise::from_factor(w)?),
    )?;
    let mut cfg = EnsembleConfig::new(n, vec![0.0; m], vec![tau], tau, seed.child("paths").value());
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

//! Estimators of the Fisher metric I(θ) (eq. 29).
//!
//! Every estimator returns a symmetric [`FisherEstimate`]; Monte Carlo ones carry
//! per-entry standard errors. Convention (docs/conventions.md): I is the
//! **per-observation** Fisher; n observations carry n·I.
//!
//! | method | formula | kind |
//! |---|---|---|
//! | [`Method::ClosedForm`] | the model's own I(θ) | exact |
//! | [`Method::ScoreOuter`] | E\[ℓℓᵀ\] over y ~ p(·\|θ) (eq. 29) | Monte Carlo |
//! | [`Method::NegHessian`] | −E[∇² ln p] with a numerical Hessian | Monte Carlo |
//! | [`Method::KlHessian`] | ∇²_θ′ KL(θ‖θ′) at θ′ = θ (eq. 31) | deterministic |
//! | [`Method::Jacobian`] | JᵀΣ⁻¹J for y = G(θ) + N(0, Σ) (eqs. 40–42) | deterministic |
//! | [`Method::Empirical`] | (1/n) Σ ℓ(yₙ)ℓ(yₙ)ᵀ over given data | biased |

use crate::error::{Error, Result};
use crate::linalg;
use crate::model::{Model, type_name};
use crate::numdiff;
use crate::rng;
use nalgebra::{DMatrix, DVector};
use serde::Serialize;

/// Which estimator produced a [`FisherEstimate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The model's closed form.
    ClosedForm,
    /// Monte Carlo E\[ℓℓᵀ\] (eq. 29).
    ScoreOuter,
    /// Monte Carlo −E[∇² ln p].
    NegHessian,
    /// Hessian of the closed-form KL at θ′ = θ (eq. 31).
    KlHessian,
    /// JᵀΣ⁻¹J for a forward map with Gaussian noise.
    Jacobian,
    /// The empirical Fisher of a data set (biased).
    Empirical,
}

impl Method {
    /// Whether the estimate is a Monte Carlo average with standard errors.
    pub fn is_monte_carlo(self) -> bool {
        matches!(self, Method::ScoreOuter | Method::NegHessian)
    }
}

/// A Fisher matrix and, for Monte Carlo estimators, the standard error of each entry.
#[derive(Debug, Clone, Serialize)]
pub struct FisherEstimate {
    /// How it was obtained.
    pub method: Method,
    /// The symmetric matrix.
    pub matrix: DMatrix<f64>,
    /// Per-entry standard errors (Monte Carlo estimators only).
    pub std_err: Option<DMatrix<f64>>,
    /// Samples used (Monte Carlo and empirical estimators).
    pub samples: Option<usize>,
    /// True for estimators that are biased even with infinitely many samples
    /// away from the truth (the empirical Fisher).
    pub biased: bool,
}

impl FisherEstimate {
    fn exact(method: Method, matrix: DMatrix<f64>) -> Self {
        FisherEstimate {
            method,
            matrix: symmetrize(matrix),
            std_err: None,
            samples: None,
            biased: false,
        }
    }
}

/// (A + Aᵀ)/2.
pub fn symmetrize(a: DMatrix<f64>) -> DMatrix<f64> {
    (&a + a.transpose()) * 0.5
}

fn missing(model: &dyn Model, what: &str) -> Error {
    Error::Missing {
        model: type_name(model).to_string(),
        capability: what.to_string(),
    }
}

/// (a) The closed form, if the model has one.
pub fn closed_form(model: &dyn Model, theta: &[f64]) -> Result<FisherEstimate> {
    model.check_params(theta)?;
    let m = model
        .fisher(theta)
        .ok_or_else(|| missing(model, "closed-form Fisher"))?;
    Ok(FisherEstimate::exact(Method::ClosedForm, m))
}

/// Accumulates the sum and the sum of squares of a matrix-valued sample, entry-wise.
struct Moments {
    sum: DMatrix<f64>,
    sq: DMatrix<f64>,
}

impl Moments {
    fn new(rows: usize, cols: usize) -> Self {
        Moments {
            sum: DMatrix::zeros(rows, cols),
            sq: DMatrix::zeros(rows, cols),
        }
    }
    fn add(&mut self, i: usize, j: usize, v: f64) {
        self.sum[(i, j)] += v;
        self.sq[(i, j)] += v * v;
    }
    fn add_outer(&mut self, s: &[f64]) {
        for i in 0..s.len() {
            for j in 0..s.len() {
                self.add(i, j, s[i] * s[j]);
            }
        }
    }
    fn merge(mut self, o: Moments) -> Self {
        self.sum += o.sum;
        self.sq += o.sq;
        self
    }
    /// The sample mean and its standard error sqrt(Var/n), with the unbiased variance.
    fn mean_se(self, n: usize) -> (DMatrix<f64>, DMatrix<f64>) {
        let nf = n as f64;
        let mean = &self.sum / nf;
        let se = DMatrix::from_fn(mean.nrows(), mean.ncols(), |i, j| {
            let var = (self.sq[(i, j)] / nf - mean[(i, j)].powi(2)) * nf / (nf - 1.0).max(1.0);
            (var.max(0.0) / nf).sqrt()
        });
        (mean, se)
    }
    fn finish(self, n: usize, method: Method) -> FisherEstimate {
        let (mean, se) = self.mean_se(n);
        FisherEstimate {
            method,
            matrix: symmetrize(mean),
            std_err: Some(se),
            samples: Some(n),
            biased: false,
        }
    }
}

fn check_samples(n: usize) -> Result<()> {
    if n < 2 {
        return Err(Error::setting(
            "samples",
            format!("must be at least 2, got {n}"),
        ));
    }
    Ok(())
}

/// The one Monte Carlo loop over y ~ p(·|θ): `n` seeded draws in parallel
/// chunks, `accumulate(y, scratch, moments)` per draw (`scratch` has length d),
/// chunk moments merged in chunk order so the bits do not depend on threads.
fn over_samples<F>(
    model: &dyn Model,
    theta: &[f64],
    n: usize,
    seed: u64,
    shape: (usize, usize),
    accumulate: F,
) -> Result<Moments>
where
    F: Fn(&[f64], &mut [f64], &mut Moments) + Sync,
{
    model.check_params(theta)?;
    check_samples(n)?;
    let d = model.dim();
    let parts = rng::par_chunks(n, seed, |_, range, r| {
        let mut m = Moments::new(shape.0, shape.1);
        let mut y = vec![0.0; model.obs_dim()];
        let mut scratch = vec![0.0; d];
        for _ in range {
            model.sample(theta, r, &mut y);
            accumulate(&y, &mut scratch, &mut m);
        }
        m
    });
    Ok(parts
        .into_iter()
        .fold(Moments::new(shape.0, shape.1), Moments::merge))
}

/// (b) Monte Carlo E\[ℓℓᵀ\] over `n` draws y ~ p(·|θ) (eq. 29), seeded and
/// parallel; the same seed gives the same bits with any number of threads.
pub fn score_outer(
    model: &dyn Model,
    theta: &[f64],
    n: usize,
    seed: u64,
) -> Result<FisherEstimate> {
    let d = model.dim();
    let m = over_samples(model, theta, n, seed, (d, d), |y, s, m| {
        model.score(theta, y, s);
        m.add_outer(s);
    })?;
    Ok(m.finish(n, Method::ScoreOuter))
}

/// Monte Carlo mean of the score E_θ\[ℓ\] over `n` draws y ~ p(·|θ) and its
/// standard error per component (eq. 28: the mean is 0). Seeded and
/// thread-count independent.
pub fn score_mean(
    model: &dyn Model,
    theta: &[f64],
    n: usize,
    seed: u64,
) -> Result<(DVector<f64>, DVector<f64>)> {
    let d = model.dim();
    let m = over_samples(model, theta, n, seed, (d, 1), |y, s, m| {
        model.score(theta, y, s);
        for (i, v) in s.iter().enumerate() {
            m.add(i, 0, *v);
        }
    })?;
    let (mean, se) = m.mean_se(n);
    Ok((mean.column(0).into_owned(), se.column(0).into_owned()))
}

/// (c) Monte Carlo −E[∇² ln p(y|θ)] with a numerical Hessian in θ.
pub fn neg_hessian(
    model: &dyn Model,
    theta: &[f64],
    n: usize,
    seed: u64,
) -> Result<FisherEstimate> {
    let d = model.dim();
    let m = over_samples(model, theta, n, seed, (d, d), |y, _, m| {
        // Differentiate the exact score when there is one (one order less of
        // finite differencing); otherwise the log-likelihood twice.
        let h = if model.has_exact_score() {
            let jac = numdiff::jacobian(
                |t| {
                    let mut s = DVector::zeros(d);
                    model.score(t, y, s.as_mut_slice());
                    s
                },
                theta,
            );
            symmetrize(jac)
        } else {
            numdiff::hessian(|t| model.log_likelihood(t, y), theta)
        };
        for i in 0..d {
            for j in 0..d {
                m.add(i, j, -h[(i, j)]);
            }
        }
    })?;
    Ok(m.finish(n, Method::NegHessian))
}

/// (d) The Hessian in θ′ of the closed-form KL(θ‖θ′) at θ′ = θ (eq. 31).
pub fn kl_hessian(model: &dyn Model, theta: &[f64]) -> Result<FisherEstimate> {
    model.check_params(theta)?;
    model
        .kl(theta, theta)
        .ok_or_else(|| missing(model, "closed-form KL"))?;
    let h = numdiff::hessian(|t| model.kl(theta, t).unwrap_or(f64::NAN), theta);
    Ok(FisherEstimate::exact(Method::KlHessian, h))
}

/// (d) with steps at each parameter's natural scale: the Hessian of
/// x ↦ KL(θ‖θ + diag(scales)·x) at x = 0, mapped back to θ.
///
/// [`kl_hessian`] steps by ε^{1/4}·max(1, |θᵢ|), which is too coarse for a
/// parameter whose natural scale is small (a Bernoulli p = 0.999 lives 10⁻³
/// from its boundary: the second difference is then off by ~1 %). With
/// `scales[i]` = 1/√Iᵢᵢ (from any rough estimate of I) every step is ε^{1/4} in
/// Fisher units. Scales that are not positive and finite fall back to
/// max(1, |θᵢ|).
pub fn kl_hessian_scaled(
    model: &dyn Model,
    theta: &[f64],
    scales: &[f64],
) -> Result<FisherEstimate> {
    model.check_params(theta)?;
    model
        .kl(theta, theta)
        .ok_or_else(|| missing(model, "closed-form KL"))?;
    if scales.len() != theta.len() {
        return Err(Error::Msg(format!(
            "kl_hessian_scaled: {} scales for {} parameters",
            scales.len(),
            theta.len()
        )));
    }
    let s: Vec<f64> = scales
        .iter()
        .zip(theta)
        .map(|(&s, &t)| {
            if s > 0.0 && s.is_finite() {
                s
            } else {
                t.abs().max(1.0)
            }
        })
        .collect();
    let x0 = vec![0.0; theta.len()];
    let hx = numdiff::hessian(
        |x| {
            let t: Vec<f64> = theta
                .iter()
                .zip(x)
                .zip(&s)
                .map(|((t, x), s)| t + s * x)
                .collect();
            model.kl(theta, &t).unwrap_or(f64::NAN)
        },
        &x0,
    );
    let h = DMatrix::from_fn(hx.nrows(), hx.ncols(), |i, j| hx[(i, j)] / (s[i] * s[j]));
    Ok(FisherEstimate::exact(Method::KlHessian, h))
}

/// (e) JᵀΣ⁻¹J for a model y = G(θ) + N(0, Σ) (eqs. 40–42), by a Cholesky solve.
pub fn jacobian_form(model: &dyn Model, theta: &[f64]) -> Result<FisherEstimate> {
    model.check_params(theta)?;
    let j = model
        .forward_jacobian(theta)
        .ok_or_else(|| missing(model, "forward map"))?;
    let sigma = model
        .noise_covariance()
        .ok_or_else(|| missing(model, "Gaussian noise covariance"))?;
    let chol = linalg::cholesky(&sigma, "noise covariance")?;
    let sj = chol.solve(&j);
    Ok(FisherEstimate::exact(Method::Jacobian, j.transpose() * sj))
}

/// (f) The empirical Fisher (1/n) Σₙ ℓ(yₙ)ℓ(yₙ)ᵀ of a data set, rows = observations.
///
/// **Biased**: it equals eq. (29) only when the data come from p(·|θ) itself and
/// n → ∞; at any other θ (and for the MLE on finite data) it is not the Fisher.
pub fn empirical(model: &dyn Model, theta: &[f64], data: &[Vec<f64>]) -> Result<FisherEstimate> {
    model.check_params(theta)?;
    check_samples(data.len())?;
    let d = model.dim();
    let mut m = Moments::new(d, d);
    let mut s = vec![0.0; d];
    for y in data {
        model.score(theta, y, &mut s);
        m.add_outer(&s);
    }
    let mut est = m.finish(data.len(), Method::Empirical);
    est.biased = true;
    Ok(est)
}

/// The best available Fisher: the closed form if the model has one, otherwise
/// the Jacobian form, otherwise the KL Hessian, otherwise Monte Carlo E\[ℓℓᵀ\]
/// with `n` samples.
pub fn best(model: &dyn Model, theta: &[f64], n: usize, seed: u64) -> Result<DMatrix<f64>> {
    if let Ok(e) = closed_form(model, theta) {
        return Ok(e.matrix);
    }
    if let Ok(e) = jacobian_form(model, theta) {
        return Ok(e.matrix);
    }
    if let Ok(e) = kl_hessian(model, theta) {
        return Ok(e.matrix);
    }
    Ok(score_outer(model, theta, n, seed)?.matrix)
}

//! The [`Model`] trait: a parametric family p(y | θ) on which everything else stands.
//!
//! A model is a statistical manifold 𝓜 in the sense of section 3 of the paper: a
//! point θ ∈ 𝓜 names a probability density p(y | θ) over observations y. Every
//! estimator of the Fisher metric (eq. 29), every KL divergence (eq. 30), every
//! dynamical-Bayes flow (eq. 33) and every pushforward through a forward map
//! G (eqs. 40–44) is written against this one trait.
//!
//! # Observations
//! An observation is a slice of `f64` of length [`Model::obs_dim`]. Continuous
//! vector observations are stored as they are; discrete observations (a Bernoulli
//! trial, a Poisson count, a categorical class index) are stored as the integer
//! value in an `f64`, which represents every integer up to 2⁵³ exactly. One flat
//! representation serves both, so Monte Carlo loops reuse one buffer and never
//! allocate per sample, and the same slices cross the plugin C ABI unchanged.
//!
//! # Registration
//! The trait is registered with `typetag` under the internal tag `type`, so a TOML
//! or JSON document names a model by its type:
//! ```toml
//! [model]
//! type = "normal"
//! ```

use crate::error::ParamError;
use crate::numdiff;
use nalgebra::{DMatrix, DVector};
use rand::Rng;

/// A parametric family of probability densities p(y | θ).
///
/// Implementors must provide the dimension, parameter validity, sampling and the
/// log-likelihood; everything else has a default (numerical) implementation that
/// a model may override with a closed form. Closed forms are *optional*: a model
/// that returns `None` from [`Model::fisher`] can still be validated numerically.
///
/// The trait is object safe; models are handled as `Box<dyn Model>` and
/// deserialised by their `type` tag.
#[typetag::serde(tag = "type")]
pub trait Model: Send + Sync + std::fmt::Debug {
    /// Names of the parameters θ₁…θ_d, in order. Its length is the dimension d of 𝓜.
    fn param_names(&self) -> Vec<String>;

    /// The dimension d of the parameter space 𝓜.
    fn dim(&self) -> usize {
        self.param_names().len()
    }

    /// The length of one observation y.
    fn obs_dim(&self) -> usize;

    /// Whether θ lies in the parameter space. The error names the offending
    /// parameter and the constraint it breaks (for example `sigma = -1 must be > 0`).
    ///
    /// Implementations should first call [`check_len`] so that a θ of the wrong
    /// length is reported as such.
    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError>;

    /// Draws one observation y ~ p(· | θ) into `out` (length [`Model::obs_dim`]).
    ///
    /// `theta` has been validated by the caller.
    fn sample(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]);

    /// Draws `out.len() / obs_dim` observations y ~ p(· | θ) into `out`, one
    /// after another (row-major, [`Model::obs_dim`] values each).
    ///
    /// The Monte Carlo loops ([`crate::fisher`], [`crate::kl`]) draw each
    /// chunk of their seeded streams through this method. The default calls
    /// [`Model::sample`] once per observation, in order, so it consumes `rng`
    /// exactly as that loop would (the same bits); a model whose every call has
    /// a fixed cost (a model written in Python, issue 14) overrides it to draw
    /// the whole chunk in one call. `theta` has been validated by the caller.
    fn sample_batch(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        let m = self.obs_dim();
        if m == 0 {
            return;
        }
        for y in out.chunks_exact_mut(m) {
            self.sample(theta, rng, y);
        }
    }

    /// ln p(y | θ). Returns `-inf` for y outside the support.
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64;

    /// ln p(yᵢ | θ) for each observation yᵢ of `ys` (row-major,
    /// [`Model::obs_dim`] values each) into `out` (one value per row).
    ///
    /// The runners that evaluate one θ at many y (the predictive (39) on a
    /// y grid, the Monte Carlo K(θ) of eq. (33)) call this. The default calls
    /// [`Model::log_likelihood`] once per row, in order (the same bits); a
    /// model whose every call has a fixed cost (a model written in Python,
    /// issue 14) overrides it to evaluate all rows in one call.
    fn log_likelihood_rows(&self, theta: &[f64], ys: &[f64], out: &mut [f64]) {
        let m = self.obs_dim();
        if m == 0 {
            return;
        }
        for (y, o) in ys.chunks_exact(m).zip(out.iter_mut()) {
            *o = self.log_likelihood(theta, y);
        }
    }

    /// The score ℓᵢ(y) = ∂ ln p(y | θ) / ∂θᵢ (eq. 28), written into `out`.
    ///
    /// The default is a central finite difference of [`Model::log_likelihood`]
    /// (see [`numdiff::gradient`]); models with an exact score override it and
    /// return `true` from [`Model::has_exact_score`].
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        numdiff::gradient_into(|t| self.log_likelihood(t, y), theta, out);
    }

    /// Whether [`Model::score`] is exact rather than a numerical derivative.
    fn has_exact_score(&self) -> bool {
        false
    }

    /// The per-observation Hessian H = ∇²_θ ln p(y | θ), written into `out`
    /// (d × d, row-major, symmetric). −E_θ\[H\] is the Fisher metric (eq. 29).
    ///
    /// The default is numerical: a central-difference Jacobian of the exact
    /// score (symmetrised) when there is one, else a second difference of
    /// [`Model::log_likelihood`], at the default steps of [`numdiff`] (which
    /// know nothing of the parameter's scale: [`crate::fisher::neg_hessian`]
    /// uses Fisher-unit steps instead). Built-in models override it with the
    /// exact Hessian of forward-mode automatic differentiation
    /// ([`crate::ad_derivatives!`]) and return `true` from
    /// [`Model::has_exact_hessian`].
    fn hessian(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        let d = theta.len();
        let h = if self.has_exact_score() {
            let jac = numdiff::jacobian(
                |t| {
                    let mut s = DVector::zeros(d);
                    self.score(t, y, s.as_mut_slice());
                    s
                },
                theta,
            );
            (&jac + jac.transpose()) * 0.5
        } else {
            numdiff::hessian(|t| self.log_likelihood(t, y), theta)
        };
        for i in 0..d {
            for j in 0..d {
                out[i * d + j] = h[(i, j)];
            }
        }
    }

    /// Whether [`Model::hessian`] is exact rather than a numerical derivative.
    fn has_exact_hessian(&self) -> bool {
        false
    }

    /// The support of p(· | θ) with its probabilities, for families with finite
    /// or countable support, so that expectations over y are exact sums
    /// instead of Monte Carlo averages (`None`: not enumerable, or too many
    /// points at this θ). `theta` has been validated by the caller.
    fn support(&self, _theta: &[f64]) -> Option<Support> {
        None
    }

    /// The model's conjugate prior for a dynamical-Bayes run, if it has one
    /// for this prior over the coordinates `free` (indices into θ; the others
    /// are held at `star`, the full θ*). Written in the family's file; the
    /// run uses it as the exact oracle of eqs. (32)–(34). Default: with
    /// exactly one free coordinate and one prior factor,
    /// [`Model::conjugate_single`]; otherwise none.
    fn conjugate(
        &self,
        free: &[usize],
        prior: &crate::bayes::prior::Prior,
        star: &[f64],
    ) -> Option<Box<dyn crate::bayes::conjugate::Conjugate>> {
        let (i, factor) = crate::bayes::conjugate::single_free(free, prior)?;
        self.conjugate_single(i, factor, star)
    }

    /// The conjugate prior when only coordinate `i` is free, with the prior
    /// factor `factor` on it (the others held at `star`, the full θ*): what
    /// one-parameter conjugate families write, in the family's file, instead
    /// of [`Model::conjugate`]. Default: none.
    fn conjugate_single(
        &self,
        _i: usize,
        _factor: &crate::bayes::prior::Factor,
        _star: &[f64],
    ) -> Option<Box<dyn crate::bayes::conjugate::Conjugate>> {
        None
    }

    /// The family's closed-form Fisher–Rao geometry (distances, geodesics,
    /// Christoffel symbols; oracles.md §3), if it has one. Written in the
    /// family's file; the geodesic command and the shooting solver use it as
    /// the oracle and the fast path. Default: none.
    fn fisher_rao(&self) -> Option<&dyn crate::geometry::closed_form::ClosedFormGeometry> {
        None
    }

    /// The family's lattice structure (its Fourier modes and their lattice
    /// momenta), if it is a field on a lattice: the spectrum command's
    /// cutoff check of eqs. (4)–(6) uses it. Default: none.
    fn lattice(&self) -> Option<&dyn Lattice> {
        None
    }

    /// ln √det I(θ) in closed form, for families where the determinant of
    /// [`Model::fisher`] cancels (the gamma's kψ′(k) − 1 at large shape k);
    /// the Jeffreys density (`geometry::jeffreys`) uses it. Default: none
    /// (the determinant comes from a factor of I).
    fn fisher_ln_sqrt_det(&self, _theta: &[f64]) -> Option<f64> {
        None
    }

    /// The exact first and second derivatives of [`Model::fisher`] at θ, for
    /// families that write their closed-form metric generically over a dual
    /// number ([`crate::ad::metric_derivatives`]); the curvature of the
    /// Fisher metric (`geometry::curvature`) uses them instead of central
    /// differences, which lose the slowly varying part of an entry next to a
    /// large one (the categorical's 1/p_K beside 1/pᵢ near an edge). `theta`
    /// has been validated by the caller. Default: none.
    fn fisher_derivatives(&self, _theta: &[f64]) -> Option<crate::ad::MetricDerivatives> {
        None
    }

    /// The closed-form per-observation Fisher metric I(θ) (eq. 29), if known.
    fn fisher(&self, _theta: &[f64]) -> Option<DMatrix<f64>> {
        None
    }

    /// The closed-form KL(θ ‖ θ′) = E_θ[ln p(Y|θ)/p(Y|θ′)] (eq. 30), if known.
    fn kl(&self, _theta: &[f64], _theta2: &[f64]) -> Option<f64> {
        None
    }

    /// The forward map G(θ) of a Bayesian-inversion model y = G(θ) + N (eq. 40),
    /// if this model is one.
    fn forward(&self, _theta: &[f64]) -> Option<DVector<f64>> {
        None
    }

    /// The Jacobian J = ∂G/∂θ (rows: data coordinates, columns: parameters).
    ///
    /// The default differentiates [`Model::forward`] numerically; it is `None`
    /// exactly when the model has no forward map.
    fn forward_jacobian(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        self.forward(theta)?;
        Some(numdiff::jacobian(
            |t| self.forward(t).expect("forward map exists"),
            theta,
        ))
    }

    /// The name of a type that is only known at run time: a model of a
    /// run-time plugin is deserialised through one typetag type (`plugin`) but
    /// is named by its own tag, `plugin-name/model-name`. `None` for built-ins.
    fn runtime_type_name(&self) -> Option<&'static str> {
        None
    }

    /// The covariance Σ of additive Gaussian noise N ~ N(0, Σ) in y = G(θ) + N
    /// (eq. 42), for models whose noise is Gaussian.
    fn noise_covariance(&self) -> Option<DMatrix<f64>> {
        None
    }
}

/// The support of a discrete family at θ ([`Model::support`]): points y with
/// probabilities P(y | θ).
///
/// A countable support is truncated; `tail_mass` bounds the probability of
/// every point left out (0 for a finite support), and the implementation
/// chooses the truncation so that the omitted contributions to E\[ℓℓᵀ\] and
/// E[∇² ln p] are negligible (below 10⁻¹⁵ relative).
#[derive(Debug, Clone, PartialEq)]
pub struct Support {
    /// The points, [`Model::obs_dim`] values each, concatenated.
    pub points: Vec<f64>,
    /// P(y | θ) of each point.
    pub probs: Vec<f64>,
    /// An upper bound on the total probability of the points left out.
    pub tail_mass: f64,
}

impl Support {
    /// The number of points.
    pub fn len(&self) -> usize {
        self.probs.len()
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.probs.is_empty()
    }

    /// The `k`-th point (of `obs_dim` values).
    pub fn point(&self, k: usize, obs_dim: usize) -> &[f64] {
        &self.points[k * obs_dim..(k + 1) * obs_dim]
    }
}

/// The lattice structure of a field-theory family ([`Model::lattice`]): a
/// free field on a periodic lattice with one parameter per real Fourier mode.
pub trait Lattice: Send + Sync {
    /// Sites along each axis (`[N]` in 1-D, `[L1, L2]` in 2-D).
    fn shape(&self) -> &[usize];
    /// The real Fourier modes, in the order of θ.
    fn modes(&self) -> &[LatticeMode];
}

/// One real Fourier mode of a lattice ([`Lattice::modes`]).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LatticeMode {
    /// Its parameter name, e.g. `1c` (cos, k = 1) or `2s.0` in 2-D.
    pub name: String,
    /// The momentum p = 2πk/L along each axis, in [0, π].
    pub momentum: Vec<f64>,
    /// The lattice momentum squared p̂² = Σ 4 sin²(p/2), the eigenvalue of −Δ (eq. (4)).
    pub p_hat2: f64,
}

/// Checks that θ has the length the model expects; the first check of every
/// [`Model::check_params`].
pub fn check_len(model: &dyn Model, theta: &[f64]) -> Result<(), ParamError> {
    let d = model.dim();
    if theta.len() != d {
        return Err(ParamError::WrongLength {
            expected: d,
            got: theta.len(),
            names: model.param_names(),
        });
    }
    if let Some(i) = theta.iter().position(|v| !v.is_finite()) {
        return Err(ParamError::invalid(
            model.param_names()[i].clone(),
            theta[i],
            "must be finite",
        ));
    }
    Ok(())
}

/// The registered type name of a model: its typetag `type` tag, or for a model
/// of a run-time plugin its namespaced tag (see [`Model::runtime_type_name`]).
pub fn type_name(model: &dyn Model) -> &'static str {
    model
        .runtime_type_name()
        .unwrap_or_else(|| model.typetag_name())
}

//! Riemannian geometry of the model manifold 𝓜 with the Fisher metric (eq. 29):
//! Christoffel symbols, geodesics and the exponential map, the Fisher–Rao
//! distance by shooting, curvature, and the Jeffreys prior.
//!
//! Every routine is written against the [`Metric`] trait, so the same code runs
//! on a model's Fisher metric ([`FisherMetric`]) and on any metric given as a
//! function ([`FnMetric`], used in tests with the round sphere). Derivatives of
//! the metric are central finite differences ([`crate::numdiff`] step rules).
//!
//! | module | content |
//! |---|---|
//! | [`christoffel`] | ∂g and Γᵃ_bc = ½gᵃᵈ(∂_b g_dc + ∂_c g_db − ∂_d g_bc) |
//! | [`geodesic`] | θ̈ᵃ = −Γᵃ_bc θ̇ᵇθ̇ᶜ by Dormand–Prince ([`crate::ode`]); exp map |
//! | [`distance`] | Fisher–Rao distance: quadrature in 1-D; shooting, path energy and multiple shooting in more |
//! | [`closed_form`] | closed-form distances, geodesic curves and geodesic equations of the built-in families |
//! | [`curvature`] | Riemann, Ricci, scalar and sectional curvature |
//! | [`jeffreys`] | the Jeffreys prior √det I(θ) |
//! | [`sloppiness`] | Fisher spectrum, log-eigenvalue spacing, stiff/sloppy participation |
//! | [`lattice`] | the lattice free field: mode Fisher, cutoff K_Λ, resolved momentum Λ(τ), Wilson shells (eqs. 3–6, 38, 55) |
//! | [`spectrum`] | the runner of `bayesrg spectrum`: spectrum, checks, the cutoff check of eqs. (4)–(6) |
//! | [`fisher_rao`] | the runner of `bayesrg geodesic`: distance and geodesic checked against closed forms |

pub mod christoffel;
pub mod closed_form;
pub mod curvature;
pub mod distance;
pub mod fisher_rao;
pub mod geodesic;
pub mod jeffreys;
pub mod lattice;
pub mod sloppiness;
pub mod spectrum;

use crate::error::{Error, Result};
use crate::fisher;
use crate::model::Model;
use crate::rng::Seed;
use nalgebra::DMatrix;

/// A Riemannian metric g(θ) on a coordinate chart.
pub trait Metric: Sync {
    /// The dimension of the chart.
    fn dim(&self) -> usize;
    /// g(θ), a symmetric positive-definite d×d matrix; an error outside the chart.
    fn metric(&self, theta: &[f64]) -> Result<DMatrix<f64>>;

    /// The geodesic acceleration θ̈ = −Γᵃ_bc θ̇ᵇθ̇ᶜ written into `out` when the
    /// metric knows its Christoffel symbols in closed form; `None` (the default)
    /// means Γ is taken from central differences of g ([`christoffel`]);
    /// `Some(Err(…))` when θ is outside the chart.
    fn known_acceleration(
        &self,
        _theta: &[f64],
        _v: &[f64],
        _out: &mut [f64],
    ) -> Option<Result<()>> {
        None
    }

    /// ln √det g(θ) in closed form, when the metric knows it more accurately
    /// than a Cholesky factor of the rounded g can give it (a nearly singular
    /// g, whose last Schur complement cancels: the gamma family at large
    /// shape); `None` (the default) means Cholesky ([`jeffreys::ln_density`]).
    fn known_ln_sqrt_det(&self, _theta: &[f64]) -> Option<Result<f64>> {
        None
    }

    /// The exact derivatives ∂g and ∂∂g at θ when the metric knows them
    /// ([`crate::ad::metric_derivatives`]); `None` (the default) means the
    /// curvature takes them from central differences of g
    /// ([`christoffel::metric_gradient`], [`christoffel::metric_hessian`]).
    fn known_metric_derivatives(&self, _theta: &[f64]) -> Option<crate::ad::MetricDerivatives> {
        None
    }
}

/// The per-observation Fisher metric of a model (eq. 29), from
/// [`fisher::best`]: the closed form when the model has one, else the Jacobian
/// form, the KL Hessian, or Monte Carlo E\[ℓℓᵀ\] with `samples` draws of the fixed
/// `seed` (common random numbers, so the estimate is a smooth function of θ).
///
/// With `known_christoffel` (the default of [`FisherMetric::new`]) the geodesic
/// equation of a family whose closed-form geometry ([`Model::fisher_rao`])
/// writes out its Christoffel symbols ([`closed_form::ClosedFormGeometry::acceleration`]:
/// normal, normal_var, mvn, Poisson, exponential, Bernoulli, categorical,
/// lattice_field) uses them, and the curvature uses the exact metric
/// derivatives of a family that gives them ([`Model::fisher_derivatives`]:
/// categorical, normal, normal_var); other models, and every
/// model with `known_christoffel = false`, take Γ and ∂∂g from central
/// differences of the Fisher metric.
#[derive(Debug, Clone, Copy)]
pub struct FisherMetric<'a> {
    /// The model.
    pub model: &'a dyn Model,
    /// Monte Carlo samples for the fallback estimator.
    pub samples: usize,
    /// Seed of the fallback estimator (its draws are `seed`'s chunk
    /// streams, the same at every θ).
    pub seed: Seed,
    /// Use the closed-form Christoffel symbols and exact metric derivatives
    /// of a built-in family.
    pub known_christoffel: bool,
}

impl<'a> FisherMetric<'a> {
    /// The Fisher metric of `model` with the default fallback (100 000 samples,
    /// seed [`fisher_rao::DEFAULT_SEED`]) and closed-form Christoffel symbols
    /// where known.
    pub fn new(model: &'a dyn Model) -> Self {
        FisherMetric {
            model,
            samples: fisher_rao::DEFAULT_SAMPLES,
            seed: fisher_rao::DEFAULT_SEED,
            known_christoffel: true,
        }
    }

    /// The same metric with Christoffel symbols always from differences of g.
    pub fn differenced(model: &'a dyn Model) -> Self {
        FisherMetric {
            known_christoffel: false,
            ..FisherMetric::new(model)
        }
    }
}

impl Metric for FisherMetric<'_> {
    fn dim(&self) -> usize {
        self.model.dim()
    }
    fn metric(&self, theta: &[f64]) -> Result<DMatrix<f64>> {
        fisher::best(self.model, theta, self.samples, self.seed.value())
    }
    fn known_acceleration(&self, theta: &[f64], v: &[f64], out: &mut [f64]) -> Option<Result<()>> {
        if !self.known_christoffel {
            return None;
        }
        match self.model.fisher_rao()?.acceleration(theta, v, out)? {
            true => Some(Ok(())),
            false => Some(Err(Error::domain(
                "theta",
                format!("{theta:?}"),
                format!(
                    "is outside the parameter space of `{}`",
                    crate::model::type_name(self.model)
                ),
            ))),
        }
    }
    fn known_ln_sqrt_det(&self, theta: &[f64]) -> Option<Result<f64>> {
        self.model.fisher_ln_sqrt_det(theta).map(Ok)
    }
    fn known_metric_derivatives(&self, theta: &[f64]) -> Option<crate::ad::MetricDerivatives> {
        if !self.known_christoffel || self.model.check_params(theta).is_err() {
            return None;
        }
        self.model.fisher_derivatives(theta)
    }
}

/// A metric given by a function, with an optional domain test.
pub struct FnMetric<F> {
    dim: usize,
    f: F,
}

impl<F> FnMetric<F>
where
    F: Fn(&[f64]) -> Option<DMatrix<f64>> + Sync,
{
    /// The metric θ ↦ f(θ) on a chart of dimension `dim`; `f` returns `None`
    /// outside the chart.
    pub fn new(dim: usize, f: F) -> Self {
        FnMetric { dim, f }
    }
}

impl<F> Metric for FnMetric<F>
where
    F: Fn(&[f64]) -> Option<DMatrix<f64>> + Sync,
{
    fn dim(&self) -> usize {
        self.dim
    }
    fn metric(&self, theta: &[f64]) -> Result<DMatrix<f64>> {
        if theta.len() != self.dim {
            return Err(Error::Dimension {
                field: "theta".into(),
                expected: format!("{} coordinates (the chart's dimension)", self.dim),
                got: theta.len(),
            });
        }
        (self.f)(theta)
            .ok_or_else(|| Error::domain("theta", format!("{theta:?}"), "is outside the chart"))
    }
}

/// Checks that `theta` has the metric's dimension and finite entries.
pub(crate) fn check_point(m: &dyn Metric, theta: &[f64], what: &str) -> Result<()> {
    if theta.len() != m.dim() {
        return Err(Error::Dimension {
            field: what.into(),
            expected: format!("{} coordinates (the manifold's dimension)", m.dim()),
            got: theta.len(),
        });
    }
    crate::error::require::all_finite(what, theta)?;
    Ok(())
}

/// [`Error::Failed`] when the Fisher metric `g` at θ is beyond double
/// precision: an entry that is not finite (overflowed), or a diagonal entry
/// below the smallest normal number (underflowed: the normal family at
/// σ ≥ 10¹⁶⁰ or ≤ 10⁻¹⁶⁰). `what` names the computation that needs `g`
/// ("the Fisher spectrum"), `cannot` what cannot be formed from it ("its
/// eigenvalues"). A failed computation (exit 1), not bad input: θ is valid.
/// The one check of this kind, used by [`spectrum`] and [`jeffreys`].
pub(crate) fn beyond_double(
    g: &DMatrix<f64>,
    theta: &[f64],
    what: &'static str,
    cannot: &str,
) -> Result<()> {
    let bad = g.iter().any(|x| !x.is_finite())
        || g.diagonal().iter().any(|x| x.abs() < f64::MIN_POSITIVE);
    if !bad {
        return Ok(());
    }
    let list =
        |v: &mut dyn Iterator<Item = f64>| v.map(crate::error::show).collect::<Vec<_>>().join(", ");
    Err(Error::failed(
        what,
        format!(
            "the Fisher metric at θ = [{}] is beyond double precision (diagonal [{}]): {cannot} \
             cannot be formed from it",
            list(&mut theta.iter().copied()),
            list(&mut g.diagonal().iter().copied())
        ),
    ))
}

#[cfg(test)]
pub(crate) mod testmodels;

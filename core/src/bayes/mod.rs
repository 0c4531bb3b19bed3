//! Dynamical Bayes and Bayesian renormalization (eqs. 32–39, 43–45).
//!
//! | module | mathematics |
//! |---|---|
//! | [`prior`] | product priors π₀ |
//! | [`points`] | weighted point sets: the common core of grids and particles |
//! | [`grid`] | grid posteriors in 1–3 dimensions (log-density, log-sum-exp) |
//! | [`particles`] | weighted particles: effective sample size, seeded resampling |
//! | [`conjugate`] | exact conjugate posteriors (oracles) |
//! | [`energy`] | the energy K(θ) = KL(θ*‖θ) of eqs. (33)–(34) |
//! | [`update`] | Bayes updates from data, eq. (32) |
//! | [`dynamics`] | the dynamical-Bayes equation (33), its solution (34), MAP path, law (35) |
//! | [`backward`] | backward inference (38), predictive (39), data-space kernel (43)–(44) |
//! | [`observables`] | flow observables along τ |
//! | [`experiment`] | the dynamical-Bayes runner (eqs. 32–36): [`experiment::run`] |
//! | [`flow`] | the DB-RG flow runner (eqs. 38–45): [`flow::run`] |
//!
//! Every posterior representation implements [`Posterior`].

pub mod backward;
pub mod conjugate;
pub mod dynamics;
pub mod energy;
pub mod experiment;
pub mod flow;
pub mod grid;
pub mod observables;
pub mod particles;
pub mod points;
pub mod prior;
pub mod update;

use nalgebra::{DMatrix, DVector};

/// A posterior distribution over (the free coordinates of) θ.
///
/// Grids, particles, Gaussians and the conjugate oracles all implement it, so a
/// test or a command can compare any two by their moments.
pub trait Posterior {
    /// The dimension.
    fn dim(&self) -> usize;
    /// The posterior mean E_π\[θ\].
    fn mean(&self) -> DVector<f64>;
    /// The posterior covariance Cov_π(θ).
    fn cov(&self) -> DMatrix<f64>;
    /// The marginal variances (the diagonal of [`Posterior::cov`]).
    fn var(&self) -> DVector<f64> {
        self.cov().diagonal()
    }
}

impl Posterior for crate::gaussian::Gaussian {
    fn dim(&self) -> usize {
        crate::gaussian::Gaussian::dim(self)
    }
    fn mean(&self) -> DVector<f64> {
        crate::gaussian::Gaussian::mean(self).clone()
    }
    fn cov(&self) -> DMatrix<f64> {
        crate::gaussian::Gaussian::cov(self).clone()
    }
}

/// ln Σᵢ e^{xᵢ}, stable (−∞ for an empty or all −∞ input).
pub fn log_sum_exp(x: &[f64]) -> f64 {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// The `model` of a runner's spec whose model is passed as an instance
/// ([`experiment::run_with_model`], [`flow::run_with_model`]): the spec is
/// read without a `model` field (or with `model = null`), and serialises
/// without one's settings (as `null`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelGiven;

impl serde::Serialize for ModelGiven {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_none()
    }
}

impl<'de> serde::Deserialize<'de> for ModelGiven {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ModelGiven;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("no model (the model is passed as an instance beside the spec)")
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<ModelGiven, E> {
                Ok(ModelGiven)
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<ModelGiven, E> {
                Ok(ModelGiven)
            }
        }
        // `deserialize_option`: serde reads a missing field as `none`.
        d.deserialize_option(V)
    }
}

/// The checks every runner's spec makes of its model and of its Monte Carlo
/// Fisher fallback: the model has parameters, `fisher_samples` is at least
/// 100 and its draws (d scores of 16 bytes each) fit in memory.
pub(crate) fn check_model_and_fisher(
    model: &dyn crate::model::Model,
    fisher_samples: usize,
) -> crate::Result<()> {
    use crate::error::require;
    let d = model.dim();
    require::has_parameters("model", crate::model::type_name(model), d)?;
    require::at_least("fisher_samples", fisher_samples, 100)?;
    crate::budget::check_memory("fisher_samples", fisher_samples as f64 * d as f64 * 16.0)
}

/// The Monte Carlo Fisher fallback of a run: `samples` draws from the run
/// seed's child `"fisher"` (both runners' [`experiment::STREAMS`],
/// [`flow::STREAMS`]).
pub(crate) fn fisher_options(
    samples: usize,
    seed: crate::rng::Seed,
) -> crate::fisher::FisherOptions {
    crate::fisher::FisherOptions {
        samples,
        seed: seed.child("fisher"),
    }
}

/// Checks that a grid of times (T or τ) is finite and strictly increasing; the
/// error names the setting and the first offending entry.
pub fn check_increasing(name: &str, grid: &[f64]) -> crate::Result<()> {
    if grid.is_empty() {
        return Err(crate::Error::setting(name, "is empty"));
    }
    if let Some(i) = grid.iter().position(|v| !v.is_finite() || *v < 0.0) {
        return Err(crate::Error::setting(
            name,
            format!(
                "entry {i} = {} must be finite and >= 0",
                crate::error::show(grid[i])
            ),
        ));
    }
    if let Some(i) = (1..grid.len()).find(|&i| grid[i] <= grid[i - 1]) {
        return Err(crate::Error::setting(
            name,
            format!(
                "must increase strictly, but entry {i} = {} follows {}",
                crate::error::show(grid[i]),
                crate::error::show(grid[i - 1])
            ),
        ));
    }
    Ok(())
}

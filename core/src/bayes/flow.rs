//! The DB-RG flow (eqs. 38–45) over an increasing grid of τ: one call from a
//! [`FlowSpec`] (the content of a `bayesrg flow` config) to a [`FlowResult`].
//!
//! At each τ the backward posterior π_τ = N(μ_τ, τI(μ_τ)⁻¹) (eq. 38) gives the
//! predictive p_τ (eq. 39) by Monte Carlo over θ (common random numbers across
//! τ), evaluated on a grid of y for one-dimensional observations. For a model
//! y = G(θ) + N(0, Σ) with `data_space = true`, the data-space predictive
//! N(G(μ_τ), τJI⁺Jᵀ + Σ) (eqs. 43–44, K⁻¹ = J I⁺ Jᵀ written once in
//! [`super::backward::pushforward`]) is computed beside it, and the two are
//! compared: for an affine G by the moments of independent predictive draws
//! (z-scores with i.i.d. sampling errors,
//! [`super::observables::gaussian_moment_z`]), otherwise by the energy
//! distance against its Monte Carlo floor.
//!
//! A singular Fisher metric (a non-identifiable model) is supported through
//! the pseudo-inverse I⁺: π_τ is held at μ along the null directions of I
//! ([`super::backward`] module docs), their widths are reported as 0, and the
//! result gives the rank of I at each τ and the null directions at the start.
//!
//! # Random streams
//! Each independent computation draws from its own child of `seed`
//! ([`crate::rng::Seed::child`]); [`STREAMS`] lists the labels. Each draws
//! the same numbers at every τ (common random numbers), so observables are
//! smooth functions of τ.
//!
//! # A model given as an instance
//! [`run_with_model`] runs a `FlowSpec<ModelGiven>` (read without a `model`
//! field) on a model passed beside it (one written in Python, issue 14);
//! [`run`] is `run_with_model(spec, spec.model, …)`.

use super::backward::{self, MuPath};
use super::{check_increasing, check_model_and_fisher, observables};
use crate::budget;
use crate::check::Check;
use crate::error::{Error, Field, Result, require, show};
use crate::fisher::FisherOptions;
use crate::linalg;
use crate::model::{Model, type_name};
use crate::observe::{Observer, tick};
use crate::rng::Seed;
use serde::{Deserialize, Serialize};

/// The labels of the child seeds of one flow ([`Seed::child`]): the base
/// draws z of π_τ (common to every τ), the Monte Carlo Fisher fallback, the
/// model-space predictive draws for the energy distance, the SDE simulation
/// of the data-space flow, exact draws of the data-space law (the energy
/// distance floor), and the independent draws of the moment check.
pub const STREAMS: [&str; 6] = [
    "base",
    "fisher",
    "predictive",
    "data_space/sde",
    "data_space/exact",
    "moments",
];

fn default_samples() -> usize {
    4000
}
/// Default Monte Carlo draws for I(μ_τ) when the model has no better Fisher.
pub const DEFAULT_FISHER_SAMPLES: usize = 100_000;
/// Default draws on each side of the energy distance (at most `samples`).
pub const DEFAULT_ENERGY_SAMPLES: usize = 2000;
/// Default independent predictive draws of the affine-G moment check.
pub const DEFAULT_MOMENT_SAMPLES: usize = 20_000;
fn default_fisher_samples() -> usize {
    DEFAULT_FISHER_SAMPLES
}
fn default_energy_samples() -> usize {
    DEFAULT_ENERGY_SAMPLES
}
fn default_moment_samples() -> usize {
    DEFAULT_MOMENT_SAMPLES
}

/// A grid of observation values y (one-dimensional observations).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YGrid {
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Number of points (for `discrete`, the integers lo..=hi are used).
    #[serde(default)]
    pub n: usize,
    /// Integer-valued observations (counts, classes): a probability mass function.
    #[serde(default)]
    pub discrete: bool,
}

impl YGrid {
    /// The points y and their quadrature weights (cell widths; 1 for a
    /// probability mass function).
    pub fn points(&self) -> (Vec<f64>, Vec<f64>) {
        if self.discrete {
            let v: Vec<f64> = (self.lo.ceil() as i64..=self.hi.floor() as i64)
                .map(|k| k as f64)
                .collect();
            let w = vec![1.0; v.len()];
            (v, w)
        } else {
            let h = (self.hi - self.lo) / self.n as f64;
            (
                (0..self.n)
                    .map(|i| self.lo + (i as f64 + 0.5) * h)
                    .collect(),
                vec![h; self.n],
            )
        }
    }
}

/// What a DB-RG flow computes: the content of a `bayesrg flow` config file
/// (docs/bayes.md).
///
/// `M` holds the model: by default the config's `[model]` table; [`ModelGiven`](super::ModelGiven)
/// for a spec whose model is passed to [`run_with_model`] as an instance.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec<M = Box<dyn Model>> {
    /// The model, or [`ModelGiven`](super::ModelGiven).
    pub model: M,
    /// μ_τ: one parameter vector (fixed) or knots `[[τ, [θ…]], …]`.
    pub mu: MuPath,
    /// The increasing grid of τ > 0.
    pub tau: Vec<f64>,
    /// Monte Carlo draws of θ per τ (default 4000, at least 100).
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// The root of every random number (default [`Seed::DEFAULT`]).
    #[serde(default)]
    pub seed: Seed,
    /// Grid of y for one-dimensional observations (model-space predictive).
    #[serde(default)]
    pub y_grid: Option<YGrid>,
    /// Also run the data-space flow (needs a forward map with Gaussian noise).
    #[serde(default)]
    pub data_space: bool,
    /// Monte Carlo draws for I(μ_τ) when the model has neither a closed form,
    /// a Jacobian form nor a KL Hessian (default [`DEFAULT_FISHER_SAMPLES`]).
    #[serde(default = "default_fisher_samples")]
    pub fisher_samples: usize,
    /// Draws on each side of the energy distance between the model-space and
    /// the data-space predictive, capped at `samples` (default
    /// [`DEFAULT_ENERGY_SAMPLES`]; the cost grows as its square).
    #[serde(default = "default_energy_samples")]
    pub energy_samples: usize,
    /// Independent predictive draws per τ for the affine-G moment check
    /// (default [`DEFAULT_MOMENT_SAMPLES`]).
    #[serde(default = "default_moment_samples")]
    pub moment_samples: usize,
}

impl FlowSpec {
    /// Checks every value and the size of the run before any work: a y grid
    /// of 10^300 points, a NaN end or 10^15 samples are refused, naming the
    /// field. What needs the model evaluated (μ in the parameter space, a
    /// forward map for `data_space`) is checked by [`run`].
    pub fn validate(&self) -> Result<()> {
        self.validate_for(self.model.as_ref())
    }
}

impl<M> FlowSpec<M> {
    /// [`FlowSpec::validate`] for the model `model` (whatever `self.model`
    /// holds is not read).
    pub fn validate_for(&self, model: &dyn Model) -> Result<()> {
        let d = model.dim();
        check_model_and_fisher(model, self.fisher_samples)?;
        check_increasing("tau", &self.tau)?;
        if self.tau[0] <= 0.0 {
            return Err(Error::domain(
                Field::key("tau").at(0),
                show(self.tau[0]),
                "must be > 0 (tau = 0 is the point mass at mu)",
            ));
        }
        // The plots and the widths sqrt(tau/lambda) work in ln tau: a tau
        // below the smallest normal double has no ln with full precision.
        if let Some(i) = self.tau.iter().position(|t| *t < f64::MIN_POSITIVE) {
            return Err(Error::domain(
                Field::key("tau").at(i),
                show(self.tau[i]),
                format!(
                    "must be >= {} (the smallest normal double)",
                    show(f64::MIN_POSITIVE)
                ),
            ));
        }
        require::at_least("samples", self.samples, 100)?;
        require::at_least("energy_samples", self.energy_samples, 100)?;
        require::at_least("moment_samples", self.moment_samples, 100)?;
        let n_tau = self.tau.len() as f64;
        let samples = self.samples as f64;
        let (d, m) = (d as f64, model.obs_dim() as f64);
        // θ draws per τ (kept for the predictive), the base draws.
        budget::check_memory("samples", 3.0 * samples * d * 8.0)?;
        if let Some(g) = &self.y_grid {
            require::finite("y_grid.lo", g.lo)?;
            require::finite("y_grid.hi", g.hi)?;
            let points = if g.discrete {
                if g.hi < g.lo {
                    return Err(Error::domain(
                        "y_grid.hi",
                        show(g.hi),
                        format!("must be >= y_grid.lo = {}", show(g.lo)),
                    ));
                }
                g.hi.floor() - g.lo.ceil() + 1.0
            } else {
                if g.hi <= g.lo {
                    return Err(Error::domain(
                        "y_grid.hi",
                        show(g.hi),
                        format!("must be > y_grid.lo = {}", show(g.lo)),
                    ));
                }
                require::at_least("y_grid.n", g.n, 10)?;
                g.n as f64
            };
            let field = if g.discrete { "y_grid.hi" } else { "y_grid.n" };
            // One density per y and τ, each a mean over the θ draws.
            budget::check_memory(field, points * (n_tau + 2.0) * 8.0)?;
            budget::check_work(field, points * n_tau * samples)?;
        }
        if self.data_space {
            let n = samples.min(self.energy_samples as f64);
            let big = self.moment_samples as f64;
            budget::check_memory("energy_samples", n * m * 8.0 * 3.0)?;
            budget::check_work("energy_samples", n_tau * 4.0 * n * n * m)?;
            budget::check_memory("moment_samples", big * m * 8.0 * 2.0)?;
            budget::check_work("moment_samples", n_tau * big * (m * m + d * d))?;
        }
        Ok(())
    }

    /// The options of the Monte Carlo Fisher fallback of this flow.
    pub fn fisher_options(&self) -> FisherOptions {
        super::fisher_options(self.fisher_samples, self.seed)
    }
}

/// The flow at one τ.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowRow {
    /// τ.
    pub tau: f64,
    /// μ_τ.
    pub mu: Vec<f64>,
    /// KL(p_τ‖p₀) in model space (quadrature on the y grid; NaN without one).
    pub kl: f64,
    /// H(p_τ) in model space (NaN without a y grid).
    pub entropy: f64,
    /// Eigenvalues λᵢ of I(μ_τ), stiffest first.
    pub fisher_eigenvalues: Vec<f64>,
    /// Widths √(τ/λᵢ) of π_τ along the eigendirections (0 along null ones).
    pub widths: Vec<f64>,
    /// The rank of I(μ_τ).
    pub fisher_rank: usize,
    /// n_eff(τ) = Σᵢ λᵢ/(λᵢ + τ).
    pub n_eff: f64,
    /// ‖dμ/dτ‖_I by a one-sided difference (0 at the first τ).
    pub map_fisher_speed: f64,
    /// Fraction of θ draws outside the parameter space.
    pub rejected_fraction: f64,
    /// KL(p_τ‖p₀) in data space, eq. (43) (NaN without `data_space`).
    pub kl_data: f64,
    /// Entropy of the data-space predictive (NaN without `data_space`).
    pub entropy_data: f64,
    /// Energy distance between the model-space predictive and the SDE
    /// simulation of the data-space flow.
    pub energy_distance: f64,
    /// Its Monte Carlo floor (exact data-space draws vs the SDE ensemble).
    pub energy_distance_floor: f64,
    /// Worst z-score of the moments of independent predictive draws against
    /// the data-space law (NaN without `data_space`).
    pub moment_z: f64,
}

/// What a flow found: plain data, every number a writer needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowResult {
    /// The model's type name.
    pub model: String,
    /// The model's parameter names.
    pub param_names: Vec<String>,
    /// One row per τ.
    pub rows: Vec<FlowRow>,
    /// The y grid (empty without one).
    pub y: Vec<f64>,
    /// p₀(y) = p(y|μ₀) on the y grid.
    pub p0: Vec<f64>,
    /// p_τ(y) on the y grid, one vector per τ (empty without a y grid).
    pub predictive: Vec<Vec<f64>>,
    /// Whether the data-space flow ran.
    pub data_space: bool,
    /// Largest relative spread of the Jacobian of G over θ draws (0 for an
    /// affine G).
    pub jacobian_spread: f64,
    /// Null directions of I(μ₀), as unit vectors.
    pub null_directions_at_start: Vec<Vec<f64>>,
    /// Every check.
    pub checks: Vec<Check>,
}

/// Runs the DB-RG flow (eqs. 38–45) as `spec` says; progress goes to `obs`
/// (phase `"flow"`, one unit per τ).
///
/// # Errors
/// Bad input (exit 2): anything [`FlowSpec::validate`] refuses; μ outside the
/// parameter space; `data_space` for a model without a forward map with
/// Gaussian noise; a `y_grid` for observations of more than one dimension,
/// or one that does not cover the predictive; nothing to flow (neither a y
/// grid nor `data_space`). Failed (exit 1): every draw of π_τ outside the
/// parameter space. [`Error::Cancelled`] when `obs` asks to stop.
pub fn run(spec: &FlowSpec, obs: &mut dyn Observer) -> Result<FlowResult> {
    run_with_model(spec, spec.model.as_ref(), obs)
}

/// [`run`] for the model instance `model`: the same computation, the same
/// bits for the same model and seed. `spec.model` is not read (a
/// `FlowSpec<ModelGiven>` has none). A model written in Python (issue 14)
/// comes this way.
///
/// # Errors
/// As [`run`].
pub fn run_with_model<M>(
    spec: &FlowSpec<M>,
    model: &dyn Model,
    obs: &mut dyn Observer,
) -> Result<FlowResult> {
    spec.validate_for(model)?;
    spec.mu.validate(model).map_err(|e| match e {
        Error::Param(p) => Error::Point {
            field: "mu".into(),
            reason: p,
        },
        other => other,
    })?;
    let d = model.dim();
    let m = model.obs_dim();
    if spec.data_space
        && (model.forward(&spec.mu.at(0.0)).is_none() || model.noise_covariance().is_none())
    {
        return Err(Error::domain(
            "data_space",
            "true",
            format!(
                "needs a forward map G with Gaussian noise (eqs. 40-44), and model `{}` has no forward map: data_space = true is not possible; set data_space = false",
                type_name(model)
            ),
        ));
    }
    let ys: Option<(Vec<f64>, Vec<f64>)> = match &spec.y_grid {
        Some(g) if m == 1 => Some(g.points()),
        Some(_) => {
            return Err(Error::domain(
                "y_grid",
                "(a grid)",
                format!(
                    "is for one-dimensional observations; model `{}` has {m}",
                    type_name(model)
                ),
            ));
        }
        None if !spec.data_space => {
            return Err(Error::domain(
                "y_grid",
                "(none)",
                "nothing to flow: give a y_grid (one-dimensional observations) or set data_space = true",
            ));
        }
        None => None,
    };
    let seed = spec.seed;
    let fopts = spec.fisher_options();
    let z = backward::base_draws(spec.samples, d, seed.child("base").value());
    let mu0 = spec.mu.at(0.0);
    let ln_p0: Vec<f64> = ys.as_ref().map_or_else(Vec::new, |(v, _)| {
        v.iter()
            .map(|y| model.log_likelihood(&mu0, &[*y]))
            .collect()
    });
    let p0: Vec<f64> = ln_p0.iter().map(|l| l.exp()).collect();
    let mut predictive: Vec<Vec<f64>> = Vec::new();
    let fisher0 = fopts.best(model, &mu0)?;
    let k0 = if spec.data_space {
        Some(backward::data_space_predictive(model, &mu0, 0.0, &fisher0)?)
    } else {
        None
    };
    let mut rows: Vec<FlowRow> = Vec::new();
    let mut linear_defect: f64 = 0.0;
    obs.phase("flow", Some(spec.tau.len() as u64));
    for (i, &tau) in spec.tau.iter().enumerate() {
        let mu = spec.mu.at(tau);
        let fi = fopts.best(model, &mu)?;
        let (eig, mut widths) = observables::widths(&fi, tau);
        // Null directions of I (eigenvalue within its error bound of 0): π_τ
        // is held at μ there (backward module docs), width 0.
        let sp = linalg::Spectrum::of(&fi);
        for k in 0..widths.len() {
            if sp.is_null(k) {
                widths[k] = 0.0;
            }
        }
        let speed = if i > 0 {
            observables::fisher_speed(&rows[i - 1].mu, &mu, tau - spec.tau[i - 1], &fi)
        } else {
            0.0
        };
        let (thetas, rejected) = backward::sample_thetas(model, &mu, tau, &fi, &z)?;
        let (mut kl, mut entropy) = (f64::NAN, f64::NAN);
        if let Some((yv, w)) = &ys {
            let ln_p = backward::predictive_log_densities(model, &thetas, yv)?;
            let p: Vec<f64> = ln_p.iter().map(|l| l.exp()).collect();
            let mass: f64 = p.iter().zip(w).map(|(a, b)| a * b).sum();
            if (mass - 1.0).abs() > 1e-3 {
                if let Some(e) = holes(model, yv, &p, mass, tau) {
                    return Err(e);
                }
                return Err(Error::domain(
                    "y_grid",
                    format!("[{}, {}]", show(yv[0]), show(yv[yv.len() - 1])),
                    format!(
                        "does not cover the predictive at tau = {}: it holds {mass:.6} of the probability (widen y_grid)",
                        show(tau)
                    ),
                ));
            }
            kl = observables::kl_quadrature(&ln_p, &ln_p0, w);
            entropy = observables::entropy_quadrature(&ln_p, w);
            predictive.push(p);
        }
        let mut row = FlowRow {
            tau,
            mu: mu.clone(),
            kl,
            entropy,
            fisher_eigenvalues: eig.iter().copied().collect(),
            widths: widths.iter().copied().collect(),
            fisher_rank: sp.rank(),
            n_eff: observables::n_eff(&eig, tau),
            map_fisher_speed: speed,
            rejected_fraction: rejected,
            kl_data: f64::NAN,
            entropy_data: f64::NAN,
            energy_distance: f64::NAN,
            energy_distance_floor: f64::NAN,
            moment_z: f64::NAN,
        };
        if let Some(k0) = &k0 {
            let k = backward::data_space_predictive(model, &mu, tau, &fi)?;
            row.kl_data = k.kl(k0);
            row.entropy_data = k.entropy();
            let n = spec.samples.min(spec.energy_samples);
            let ms =
                backward::predictive_samples(model, &thetas, n, seed.child("predictive").value());
            // The data-space flow simulated by the SDE steppers (Euler–Maruyama),
            // and its Monte Carlo floor: the energy distance between the SDE
            // ensemble and exact draws of the same Gaussian law.
            let ks = backward::simulate_data_space(
                model,
                &mu,
                tau,
                &fi,
                n,
                seed.child("data_space/sde").value(),
            )?;
            row.energy_distance = observables::energy_distance(&ms, &ks);
            let exact = backward::sample_data_space(&k, n, seed.child("data_space/exact").value());
            row.energy_distance_floor = observables::energy_distance(&exact, &ks).abs();
            // Moments of the model-space predictive against the kernel, from
            // independent draws (each y from its own θ), so that the i.i.d.
            // sampling errors of gaussian_moment_z are the right ones.
            let draws = backward::predictive_draws(
                model,
                &mu,
                tau,
                &fi,
                spec.moment_samples,
                seed.child("moments"),
            )?;
            row.moment_z = observables::gaussian_moment_z(&draws, &k);
            // Affinity of G: the spread of the Jacobian over the θ draws.
            if let Some(j0) = model.forward_jacobian(&mu) {
                for t in thetas.iter().take(20) {
                    if let Some(j) = model.forward_jacobian(t) {
                        linear_defect = crate::check::worst_from(
                            linear_defect,
                            [(j - &j0).amax() / j0.amax().max(1e-300)],
                        );
                    }
                }
            }
        }
        rows.push(row);
        tick(obs, i as u64 + 1)?;
    }

    let checks = flow_checks(&rows, ys.is_some(), spec.data_space, linear_defect);
    let ns = linalg::Spectrum::of(&fisher0).null_space();
    let null_directions_at_start: Vec<Vec<f64>> = (0..ns.ncols())
        .map(|k| ns.column(k).iter().copied().collect())
        .collect();
    let (y, _) = ys.unwrap_or_default();
    Ok(FlowResult {
        model: type_name(model).to_string(),
        param_names: model.param_names(),
        rows,
        y,
        p0,
        predictive,
        data_space: spec.data_space,
        jacobian_spread: linear_defect,
        null_directions_at_start,
        checks,
    })
}

/// The checks of a flow: KL(p_τ‖p₀) non-decreasing (model and data space);
/// for an affine G the model-space and data-space predictives agree in their
/// moments, otherwise their energy distance at the smallest τ is within ten
/// times its Monte Carlo floor.
fn flow_checks(rows: &[FlowRow], model_space: bool, data_space: bool, defect: f64) -> Vec<Check> {
    let mut checks = Vec::new();
    // The largest drop of one KL column between successive τ, as a check
    // that it never decreases (`space` names the column in the check).
    let non_decreasing = |space: &str, f: &dyn Fn(&FlowRow) -> f64, oracle: &str| {
        let drop = if rows.len() > 1 {
            // NaN wins: a KL that is NaN, or ∞ − ∞, fails the check.
            crate::check::worst_from(
                f64::NEG_INFINITY,
                rows.windows(2).map(|w| f(&w[0]) - f(&w[1])),
            )
        } else {
            0.0
        };
        let name = format!("largest decrease of KL(p_tau||p_0) between successive tau ({space})");
        Check::at_most(name, drop, 0.0, oracle)
    };
    if model_space {
        checks.push(non_decreasing(
            "model space",
            &|r| r.kl,
            "KL(p_tau||p_0) is non-decreasing along the flow (section 5)",
        ));
    }
    if data_space {
        checks.push(non_decreasing(
            "data space, eq. 43",
            &|r| r.kl_data,
            "KL(N(G, tau K^-1 + Sigma)||N(G, Sigma)) is non-decreasing",
        ));
        if defect < 1e-6 {
            checks.push(Check::at_most(
                "affine G: model-space (39) vs data-space (43) predictive, worst z-score of mean and covariance",
                crate::check::worst_from(0.0, rows.iter().map(|r| r.moment_z)),
                5.0,
                "pushforward of N(mu, tau I^-1) through affine G is exactly N(G(mu), tau J I^-1 J^T) (oracles.md §6); i.i.d. draws, Gaussian sampling errors",
            ));
        } else {
            let r = &rows[0];
            checks.push(Check::at_most(
                format!(
                    "nonlinear G: energy distance / Monte Carlo floor at the smallest tau = {}",
                    r.tau
                ),
                r.energy_distance / r.energy_distance_floor.max(1e-12),
                10.0,
                "the linearised pushforward (44) is exact as tau -> 0",
            ));
        }
    }
    checks
}

/// The predictive `p` on the grid `yv` vanishes at single points between
/// points where it is positive: the model's log-likelihood is −∞ inside its
/// own support, which no wider grid mends (tryout 5 D7: a Python model
/// returning −inf on every 7th row was told to widen y_grid). The error names
/// the model and the first such rows of the grid; `None` when there are none.
fn holes(model: &dyn Model, yv: &[f64], p: &[f64], mass: f64, tau: f64) -> Option<Error> {
    // Isolated zeros only: a run of them may be a true gap in the support.
    let at: Vec<usize> = (1..p.len().saturating_sub(1))
        .filter(|&j| p[j] == 0.0 && p[j - 1] > 0.0 && p[j + 1] > 0.0)
        .collect();
    if at.is_empty() {
        return None;
    }
    let more = if at.len() > 5 { ", …" } else { "" };
    let rows: Vec<String> = at.iter().take(5).map(|j| j.to_string()).collect();
    let ys: Vec<String> = at.iter().take(5).map(|&j| show(yv[j])).collect();
    Some(Error::domain(
        "model",
        type_name(model),
        format!(
            "has log_likelihood = -inf (density 0) at {} of the {} y_grid points between points \
             of positive density (rows {}{more}; y = {}{more}) at tau = {}, so the predictive \
             holds {mass:.6} of the probability: the model's log-likelihood is wrong there, not \
             the grid",
            at.len(),
            p.len(),
            rows.join(", "),
            ys.join(", "),
            show(tau)
        ),
    ))
}

//! Runners of the user-facing diffusion commands: the conditional-expectation
//! semigroup applied to an expression ([`semigroup`], eqs. 22–24), the
//! reverse-time SDE from a Gaussian mixture ([`reverse`], eq. 26), and a 1-D
//! Fokker–Planck grid run ([`fokker_planck`], eq. 15) and its 2-D form
//! ([`fokker_planck_2d`]). Each spec is the config
//! file of its command; each result is plain data with its checks.

use crate::check::Check;
use crate::error::{Error, Field, Result, require, show};
use crate::gaussian::Gaussian;
use crate::mixture::GaussianMixture;
use crate::sde::spec::square;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// One component of a Gaussian mixture in a spec.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentSpec {
    /// Weight (> 0; the weights are normalised).
    pub weight: f64,
    /// Mean (d).
    pub mean: Vec<f64>,
    /// Covariance (d rows of d), symmetric positive definite.
    pub cov: Vec<Vec<f64>>,
}

/// Checks mixture components of dimension `d` (field `at`) and builds the mixture.
pub(crate) fn mixture(at: &Field, comps: &[ComponentSpec], d: usize) -> Result<GaussianMixture> {
    if comps.is_empty() {
        return Err(Error::domain(
            at.clone(),
            "[]",
            "must list at least one component",
        ));
    }
    let mut gs = Vec::new();
    for (k, c) in comps.iter().enumerate() {
        let f = at.clone().at(k);
        require::positive(f.clone().then("weight"), c.weight)?;
        require::len(f.clone().then("mean"), c.mean.len(), d, "the dimension")?;
        require::all_finite(f.clone().then("mean"), &c.mean)?;
        let cov = square(f.clone().then("cov"), &c.cov, d)?;
        let g = Gaussian::new(DVector::from_column_slice(&c.mean), cov).map_err(|e| {
            Error::domain(
                f.clone().then("cov"),
                "the matrix given",
                format!("is not a covariance: {e}"),
            )
        })?;
        gs.push(g);
    }
    // The weights' sum, named where the user wrote the components (tryout 8
    // G10: "`sum of weights` = 1.5" had no key and no line:col).
    let total: f64 = comps.iter().map(|c| c.weight).sum();
    if (total - 1.0).abs() > 1e-9 {
        return Err(Error::domain(
            at.clone(),
            format!(
                "components whose weights sum to {}",
                crate::error::show(total)
            ),
            "must have weights that sum to 1 (to 1e-9)",
        ));
    }
    GaussianMixture::new(comps.iter().map(|c| c.weight).collect(), gs)
}

/// K⁻¹ (field `k_inv`) and the velocity v (field `velocity`, default 0).
pub(crate) fn heat_terms(
    k_inv: &[Vec<f64>],
    velocity: &Option<Vec<f64>>,
) -> Result<(DMatrix<f64>, DVector<f64>)> {
    let d = k_inv.len();
    if d == 0 {
        return Err(Error::domain(
            "k_inv",
            "[]",
            "must be a d × d matrix, d ≥ 1",
        ));
    }
    let k = square(Field::key("k_inv"), k_inv, d)?;
    if k.clone().cholesky().is_none() || (&k - k.transpose()).amax() > 1e-12 * k.amax() {
        return Err(Error::domain(
            "k_inv",
            "the matrix given",
            "is not symmetric positive definite",
        ));
    }
    let v = match velocity {
        Some(v) => {
            require::len("velocity", v.len(), d, "the dimension of k_inv")?;
            require::all_finite("velocity", v)?;
            DVector::from_column_slice(v)
        }
        None => DVector::zeros(d),
    };
    Ok((k, v))
}

pub mod semigroup {
    //! E_t f(y) = ∫π(y, y₀; t)f(y₀)dy₀ (eq. 22) for f given as an expression,
    //! at given points: with π(y, y₀; t) = N(y; y₀ + vt, tK⁻¹), the average of
    //! f over y₀ ~ N(y − vt, tK⁻¹) ([`HeatSemigroup::apply`]).
    use super::*;
    use crate::check::Check;
    use crate::observe::{Observer, tick};
    use crate::sde::expr::Expression;
    use crate::semigroup::HeatSemigroup;

    /// The config of `bayesrg semigroup`.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct SemigroupSpec {
        /// The function f, an expression of `y1` … `yd` (or `y[0]` …).
        pub f: String,
        /// The time t ≥ 0.
        pub t: f64,
        /// The constant drift v (default 0).
        #[serde(default)]
        pub velocity: Option<Vec<f64>>,
        /// K⁻¹ (d × d), symmetric positive definite.
        pub k_inv: Vec<Vec<f64>>,
        /// The points y at which E_t f is wanted.
        pub at: Vec<Vec<f64>>,
        /// Relative tolerance of the adaptive quadrature (default 1e-10).
        #[serde(default = "default_tol")]
        pub tolerance: f64,
    }

    fn default_tol() -> f64 {
        1e-10
    }

    /// One value E_t f(y).
    #[derive(Debug, Clone, Serialize)]
    pub struct Value {
        /// The point y.
        pub y: Vec<f64>,
        /// E_t f(y).
        pub value: f64,
        /// The quadrature's error estimate.
        pub error: f64,
        /// f(y) (E_0 f).
        pub f: f64,
    }

    /// The values, and the check that each error estimate is within the tolerance asked.
    #[derive(Debug, Clone, Serialize)]
    pub struct SemigroupResult {
        /// One per point.
        pub values: Vec<Value>,
        /// Checks.
        pub checks: Vec<Check>,
    }

    impl SemigroupSpec {
        /// Checks every value.
        ///
        /// # Errors
        /// Bad input naming the field.
        pub fn validate(&self) -> Result<()> {
            let (k, _) = heat_terms(&self.k_inv, &self.velocity)?;
            require::non_negative("t", self.t)?;
            if !(self.tolerance > 0.0 && self.tolerance < 1.0) {
                return Err(Error::domain(
                    "tolerance",
                    show(self.tolerance),
                    "must lie in (0, 1)",
                ));
            }
            if self.at.is_empty() {
                return Err(Error::domain("at", "[]", "must list at least one point"));
            }
            for (i, y) in self.at.iter().enumerate() {
                require::len(
                    Field::key("at").at(i),
                    y.len(),
                    k.nrows(),
                    "the dimension of k_inv",
                )?;
                require::all_finite(Field::key("at").at(i), y)?;
            }
            Expression::parse(&Field::key("f"), &self.f, k.nrows())?;
            Ok(())
        }
    }

    /// E_t f(y) at every point of the spec by [`HeatSemigroup::apply`].
    ///
    /// # Errors
    /// Bad input; [`Error::Failed`] when f is not finite at a node or the
    /// quadrature does not converge.
    pub fn run(spec: &SemigroupSpec, obs: &mut dyn Observer) -> Result<SemigroupResult> {
        spec.validate()?;
        let (k, v) = heat_terms(&spec.k_inv, &spec.velocity)?;
        let f = Expression::parse(&Field::key("f"), &spec.f, k.nrows())?;
        let sg = HeatSemigroup::new(v, k)?.with_tolerance(spec.tolerance);
        obs.phase("semigroup", Some(spec.at.len() as u64));
        let mut values = Vec::new();
        let mut checks = Vec::new();
        for (i, y) in spec.at.iter().enumerate() {
            let e = sg.apply(spec.t, &|x| f.eval(x, 0.0), y)?;
            checks.push(Check::at_most(
                format!("E_t f at y = {y:?}: error estimate / max(|value|, 1)"),
                e.error / e.value.abs().max(1.0),
                spec.tolerance * 10.0,
                "the adaptive quadrature's own error estimate (three agreeing levels)",
            ));
            values.push(Value {
                y: y.clone(),
                value: e.value,
                error: e.error,
                f: f.eval(y, 0.0),
            });
            tick(obs, i as u64 + 1)?;
        }
        Ok(SemigroupResult { values, checks })
    }
}

pub mod reverse {
    //! The reverse-time SDE (eq. 26) from p_T back to a Gaussian mixture p₀,
    //! checked by recovering p₀'s weights, means and covariances.
    use super::*;
    use crate::check::Check;
    use crate::observe::{Observer, tick};
    use crate::reverse::{ReverseDiffusion, fit_by_responsibility, worst_z};
    use crate::rng::Seed;
    use statrs::distribution::{ContinuousCDF, Normal};
    use std::sync::Arc;

    /// The config of `bayesrg reverse`.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ReverseSpec {
        /// The root seed: start draws from its child `"start"`, paths from `"paths"`.
        #[serde(default)]
        pub seed: Seed,
        /// p₀, the mixture to recover.
        pub components: Vec<ComponentSpec>,
        /// The forward drift v (default 0).
        #[serde(default)]
        pub velocity: Option<Vec<f64>>,
        /// The forward diffusion K⁻¹.
        pub k_inv: Vec<Vec<f64>>,
        /// The horizon T > 0.
        pub horizon: f64,
        /// Number of reverse paths (default 8000).
        #[serde(default = "default_paths")]
        pub paths: usize,
        /// Steps from s = 0 to T (default 100).
        #[serde(default = "default_steps")]
        pub steps: usize,
        /// Stepper (default `sra1`; additive noise).
        #[serde(default = "default_stepper")]
        pub stepper: String,
        /// Family-wise level of the recovery check (default 1e-3).
        #[serde(default = "default_alpha")]
        pub alpha: f64,
    }
    fn default_paths() -> usize {
        8000
    }
    fn default_steps() -> usize {
        100
    }
    fn default_stepper() -> String {
        "sra1".into()
    }
    fn default_alpha() -> f64 {
        1e-3
    }

    /// One recovered component, with Monte Carlo standard errors.
    #[derive(Debug, Clone, Serialize)]
    pub struct Fit {
        /// Weight and its standard error.
        pub weight: (f64, f64),
        /// Mean and standard errors (d each).
        pub mean: (Vec<f64>, Vec<f64>),
        /// Covariance and standard errors (d × d rows each).
        pub cov: (Vec<Vec<f64>>, Vec<Vec<f64>>),
    }

    /// What [`run`] returns.
    #[derive(Debug, Clone, Serialize)]
    pub struct ReverseResult {
        /// The dimension d.
        pub dim: usize,
        /// Recovered components, in the order of the spec.
        pub fits: Vec<Fit>,
        /// The worst |z| over every weight, mean and covariance entry.
        pub worst_z: f64,
        /// The number of statistics compared.
        pub statistics: usize,
        /// The reverse paths at s = T (paths × d row-major), distributed as p₀.
        pub samples: Vec<f64>,
        /// The recovery check.
        pub checks: Vec<Check>,
    }

    fn rows(m: &DMatrix<f64>) -> Vec<Vec<f64>> {
        m.row_iter().map(|r| r.iter().copied().collect()).collect()
    }

    impl ReverseSpec {
        /// Checks every value.
        ///
        /// # Errors
        /// Bad input naming the field.
        pub fn validate(&self) -> Result<()> {
            let (k, _) = heat_terms(&self.k_inv, &self.velocity)?;
            mixture(&Field::key("components"), &self.components, k.nrows())?;
            require::positive("horizon", self.horizon)?;
            require::at_least("paths", self.paths, 100)?;
            require::at_least("steps", self.steps, 1)?;
            if !(self.alpha > 0.0 && self.alpha < 1.0) {
                return Err(Error::domain(
                    "alpha",
                    show(self.alpha),
                    "must lie in (0, 1)",
                ));
            }
            let s = crate::sde::steppers::by_name(&self.stepper).map_err(|e| {
                Error::domain("stepper", format!("\"{}\"", self.stepper), e.to_string())
            })?;
            let d = k.nrows() as f64;
            // The work is paths × steps × 4d²: every factor is named, with
            // where the file writes it (or that it is left at its default).
            crate::budget::check_work_product(
                &[
                    (Field::key("paths"), self.paths as f64),
                    (Field::key("steps"), self.steps as f64),
                ],
                d * d * 4.0,
                &format!("4d² evaluations per path and step, d = {d}"),
            )?;
            crate::budget::check_memory("paths", self.paths as f64 * d * 8.0 * 4.0)?;
            let _ = s;
            Ok(())
        }
    }

    /// Draws p_T exactly, runs the reverse SDE (eq. 26) to s = T and fits p₀'s
    /// components by responsibility; the check compares the worst |z| with the
    /// Bonferroni bound Φ⁻¹(1 − α/(2·statistics)).
    ///
    /// # Errors
    /// Bad input; errors of the ensemble.
    pub fn run(spec: &ReverseSpec, obs: &mut dyn Observer) -> Result<ReverseResult> {
        spec.validate()?;
        let (k, v) = heat_terms(&spec.k_inv, &spec.velocity)?;
        let d = k.nrows();
        let p0 = mixture(&Field::key("components"), &spec.components, d)?;
        let rev = Arc::new(ReverseDiffusion::new(p0, v, k, spec.horizon)?);
        let stepper = crate::sde::steppers::by_name(&spec.stepper)?;
        obs.phase("reverse", Some(1));
        let x = rev.run_reverse(stepper.as_ref(), spec.paths, spec.steps, spec.seed.value())?;
        tick(obs, 1)?;
        let fits = fit_by_responsibility(rev.initial(), &x);
        let (z, count) = worst_z(&fits, rev.initial());
        let bound = Normal::standard().inverse_cdf(1.0 - spec.alpha / (2.0 * count as f64));
        let checks = vec![Check::at_most(
            "reverse SDE: worst |z| of recovered weights, means, covariances",
            z,
            bound,
            format!(
                "p₀'s parameters; responsibility-weighted estimates with Monte Carlo standard \
                 errors, {count} statistics, Bonferroni at α = {}",
                spec.alpha
            ),
        )];
        let fits = fits
            .iter()
            .map(|f| Fit {
                weight: f.weight,
                mean: (f.mean.0.as_slice().to_vec(), f.mean.1.as_slice().to_vec()),
                cov: (rows(&f.cov.0), rows(&f.cov.1)),
            })
            .collect();
        Ok(ReverseResult {
            dim: d,
            fits,
            worst_z: z,
            statistics: count,
            samples: x,
            checks,
        })
    }
}

pub mod fokker_planck {
    //! A 1-D Fokker–Planck grid run (eq. 15 in the convention of
    //! docs/conventions.md): ∂_τ p = −∂_y(b p) + ½∂²_y(D p), with b(y, τ) and
    //! D(y) given as expressions and p₀ a Gaussian mixture.
    use super::*;
    use crate::check::Check;
    use crate::fokker_planck::{FokkerPlanck1d, Grid1d};
    use crate::observe::Observer;
    use crate::sde::expr::Expression;

    /// The config of `bayesrg fokker-planck`.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct FokkerPlanckSpec {
        /// Left wall of the box.
        pub lo: f64,
        /// Right wall of the box.
        pub hi: f64,
        /// Number of cells (≥ 3).
        pub cells: usize,
        /// Save times (increasing, > 0).
        pub save_at: Vec<f64>,
        /// The drift b, an expression of `y` (or `y1`) and `tau`.
        pub drift: String,
        /// The diffusion D = K⁻¹(y) > 0 (the variance rate), an expression of `y`.
        pub diffusion: String,
        /// The start p₀, a Gaussian mixture in one dimension.
        pub initial: Vec<ComponentSpec>,
    }

    /// The grid at one saved time.
    #[derive(Debug, Clone, Serialize)]
    pub struct Saved {
        /// τ.
        pub t: f64,
        /// Total mass Σ pᵢ h.
        pub mass: f64,
        /// Mean of the grid law.
        pub mean: f64,
        /// Variance of the grid law.
        pub variance: f64,
        /// The smallest cell value.
        pub min: f64,
        /// Cell averages.
        pub density: Vec<f64>,
        /// Accuracy warnings of the advance to this time (Péclet, walls).
        pub warnings: Vec<String>,
    }

    /// What [`run`] returns.
    #[derive(Debug, Clone, Serialize)]
    pub struct FokkerPlanckResult {
        /// Cell centres.
        pub y: Vec<f64>,
        /// The mass at τ = 0.
        pub mass0: f64,
        /// One entry per save time.
        pub saved: Vec<Saved>,
        /// Mass conservation, positivity, no accuracy warning.
        pub checks: Vec<Check>,
    }

    impl FokkerPlanckSpec {
        /// Checks every value (D is checked at every face and centre by the solver).
        ///
        /// # Errors
        /// Bad input naming the field.
        pub fn validate(&self) -> Result<()> {
            require::finite("lo", self.lo)?;
            require::finite("hi", self.hi)?;
            if self.hi <= self.lo {
                return Err(Error::domain(
                    "hi",
                    show(self.hi),
                    format!("must be > lo = {}", show(self.lo)),
                ));
            }
            require::at_least("cells", self.cells, 3)?;
            crate::budget::check_memory("cells", self.cells as f64 * 8.0 * 8.0)?;
            require::save_times("save_at", &self.save_at)?;
            Expression::parse(&Field::key("drift"), &self.drift, 1)?;
            Expression::parse(&Field::key("diffusion"), &self.diffusion, 1)?;
            mixture(&Field::key("initial"), &self.initial, 1)?;
            Ok(())
        }
    }

    /// Advances the grid to each save time.
    ///
    /// # Errors
    /// Bad input (a D that is not > 0 somewhere in the box, a start that
    /// reaches the walls: the solver's errors); [`Error::Failed`] from the solver.
    pub fn run(spec: &FokkerPlanckSpec, obs: &mut dyn Observer) -> Result<FokkerPlanckResult> {
        spec.validate()?;
        let b = Expression::parse(&Field::key("drift"), &spec.drift, 1)?;
        let dexp = Expression::parse(&Field::key("diffusion"), &spec.diffusion, 1)?;
        let p0 = mixture(&Field::key("initial"), &spec.initial, 1)?;
        let g = Grid1d::new(spec.lo, spec.hi, spec.cells)?;
        let mut fp = FokkerPlanck1d::new(
            g,
            move |y, t| b.eval(&[y], t),
            move |y| dexp.eval(&[y], 0.0),
            |y| p0.pdf(&[y]),
        )
        .map_err(|e| match e {
            Error::Setting { name, reason } => Error::domain(
                if name == "p0" {
                    "initial".to_string()
                } else {
                    "diffusion".to_string()
                },
                name,
                reason,
            ),
            other => other,
        })?;
        let mass0 = fp.mass();
        let (saved, checks) = save_loop(&spec.save_at, mass0, 1e-12, obs, |t| {
            let warnings = fp.advance_to(t)?.warnings();
            let s = Saved {
                t,
                mass: fp.mass(),
                mean: fp.mean(),
                variance: fp.variance(),
                min: fp.min(),
                density: fp.cells().to_vec(),
                warnings,
            };
            Ok(((s.mass, s.min, s.warnings.len()), s))
        })?;
        Ok(FokkerPlanckResult {
            y: (0..g.n).map(|i| g.center(i)).collect(),
            mass0,
            saved,
            checks,
        })
    }
}

pub mod fokker_planck_2d {
    //! A 2-D Fokker–Planck grid run (eq. 15, the forward equation of the SDE
    //! of eqs. 45–46 in the convention of docs/conventions.md):
    //! ∂_τ p = −∇·(b p) + ½ ∂ₐ∂_b(Dᵃᵇ p), with the drift b(y, τ) given as two
    //! expressions of (y1, y2, τ), D either a constant symmetric positive
    //! definite matrix (solved on a whitened grid) or diagonal and
    //! state-dependent (two expressions of y), and p₀ a Gaussian mixture; the
    //! walls of the box carry no flux (reflecting). The solver is
    //! [`crate::fokker_planck::FokkerPlanck2d`].
    use super::*;
    use crate::check::Check;
    use crate::fokker_planck::FokkerPlanck2d;
    use crate::observe::Observer;
    use crate::sde::expr::{Expression, Expressions};

    /// The diffusion D = K⁻¹ of a 2-D run.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(untagged)]
    pub enum Diffusion2dSpec {
        /// A constant matrix (2 rows of 2), symmetric positive definite.
        Matrix(Vec<Vec<f64>>),
        /// diag(D₁(y), D₂(y)), two expressions of y1, y2 (> 0 in the box).
        Diagonal(Vec<String>),
    }

    /// The config of `bayesrg fokker-planck` for a 2-D problem (told apart
    /// from the 1-D one by `drift` being a list).
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct FokkerPlanck2dSpec {
        /// The lower corner of the box (y1, y2).
        pub lo: [f64; 2],
        /// The upper corner of the box.
        pub hi: [f64; 2],
        /// Cells along y1 and y2 (each ≥ 3).
        pub cells: [usize; 2],
        /// Save times (increasing, > 0).
        pub save_at: Vec<f64>,
        /// The drift (b₁, b₂), expressions of `y1`, `y2` and `tau`.
        pub drift: Vec<String>,
        /// The diffusion D = K⁻¹ (the variance rate).
        pub diffusion: Diffusion2dSpec,
        /// The start p₀, a Gaussian mixture in two dimensions.
        pub initial: Vec<ComponentSpec>,
        /// Only `"reflecting"` (zero flux through the walls), the default.
        #[serde(default = "reflecting")]
        pub boundary: String,
    }

    fn reflecting() -> String {
        "reflecting".into()
    }

    /// The grid at one saved time.
    #[derive(Debug, Clone, Serialize)]
    pub struct Saved2d {
        /// τ.
        pub t: f64,
        /// Total mass.
        pub mass: f64,
        /// Mean (y1, y2) of the grid law.
        pub mean: [f64; 2],
        /// Covariance of the grid law (2 rows of 2).
        pub cov: [[f64; 2]; 2],
        /// The smallest cell value.
        pub min: f64,
        /// The density at the centres of the box's cells, y1 fastest
        /// (`cells[0]` × `cells[1]` values).
        pub density: Vec<f64>,
        /// Accuracy warnings of the advance to this time.
        pub warnings: Vec<String>,
    }

    /// What [`run`] returns.
    #[derive(Debug, Clone, Serialize)]
    pub struct FokkerPlanck2dResult {
        /// Centres of the box's cells along y1.
        pub y1: Vec<f64>,
        /// Centres along y2.
        pub y2: Vec<f64>,
        /// The grid spacing (h₁, h₂) of the box.
        pub h: [f64; 2],
        /// The mass at τ = 0.
        pub mass0: f64,
        /// One entry per save time.
        pub saved: Vec<Saved2d>,
        /// Mass conservation, positivity, no accuracy warning.
        pub checks: Vec<Check>,
    }

    impl FokkerPlanck2dSpec {
        /// Checks every value (D is checked at every face and centre by the
        /// solver).
        ///
        /// # Errors
        /// Bad input naming the field.
        pub fn validate(&self) -> Result<()> {
            require::all_finite("lo", &self.lo)?;
            require::all_finite("hi", &self.hi)?;
            for k in 0..2 {
                if self.hi[k] <= self.lo[k] {
                    return Err(Error::domain(
                        Field::key("hi").at(k),
                        show(self.hi[k]),
                        format!("must be > lo[{k}] = {}", show(self.lo[k])),
                    ));
                }
                require::at_least(Field::key("cells").at(k), self.cells[k], 3)?;
            }
            crate::budget::check_memory(
                "cells",
                self.cells[0] as f64 * self.cells[1] as f64 * 8.0 * 16.0,
            )?;
            require::save_times("save_at", &self.save_at)?;
            require::len(
                "drift",
                self.drift.len(),
                2,
                "expressions, one per coordinate",
            )?;
            Expressions::parse(&Field::key("drift"), &self.drift, 2)?;
            match &self.diffusion {
                Diffusion2dSpec::Matrix(m) => {
                    let d = square(Field::key("diffusion"), m, 2)?;
                    if d.clone().cholesky().is_none() || (d[(0, 1)] - d[(1, 0)]).abs() > 0.0 {
                        return Err(Error::domain(
                            "diffusion",
                            format!("{m:?}"),
                            "must be symmetric positive definite",
                        ));
                    }
                }
                Diffusion2dSpec::Diagonal(e) => {
                    require::len("diffusion", e.len(), 2, "expressions, D₁₁ and D₂₂")?;
                    Expressions::parse(&Field::key("diffusion"), e, 2)?;
                }
            }
            if self.boundary != "reflecting" {
                return Err(Error::domain(
                    "boundary",
                    format!("\"{}\"", self.boundary),
                    "must be \"reflecting\" (zero flux through the walls; the only one the \
                     grid has)",
                ));
            }
            mixture(&Field::key("initial"), &self.initial, 2)?;
            Ok(())
        }
    }

    /// Advances the grid to each save time.
    ///
    /// # Errors
    /// Bad input (a D that is not > 0 somewhere in the box, a start that
    /// reaches the walls); [`Error::Failed`] from the solver.
    pub fn run(spec: &FokkerPlanck2dSpec, obs: &mut dyn Observer) -> Result<FokkerPlanck2dResult> {
        spec.validate()?;
        let b = Expressions::parse(&Field::key("drift"), &spec.drift, 2)?;
        let p0 = mixture(&Field::key("initial"), &spec.initial, 2)?;
        let drift = move |y: [f64; 2], t: f64| [b.0[0].eval(&y, t), b.0[1].eval(&y, t)];
        let pdf = |y: [f64; 2]| p0.pdf(&y);
        let rename = |e: Error| match e {
            Error::Setting { name, reason } => Error::domain(
                if name == "p0" { "initial" } else { "diffusion" },
                name,
                reason,
            ),
            other => other,
        };
        let mut fp = match &spec.diffusion {
            Diffusion2dSpec::Matrix(m) => {
                let d = square(Field::key("diffusion"), m, 2)?;
                FokkerPlanck2d::new(spec.lo, spec.hi, spec.cells, drift, &d, pdf)
            }
            Diffusion2dSpec::Diagonal(e) => {
                let ex: Vec<Expression> = Expressions::parse(&Field::key("diffusion"), e, 2)?.0;
                FokkerPlanck2d::diagonal(
                    spec.lo,
                    spec.hi,
                    spec.cells,
                    drift,
                    move |y| [ex[0].eval(&y, 0.0), ex[1].eval(&y, 0.0)],
                    pdf,
                )
            }
        }
        .map_err(rename)?;
        let h = [
            (spec.hi[0] - spec.lo[0]) / spec.cells[0] as f64,
            (spec.hi[1] - spec.lo[1]) / spec.cells[1] as f64,
        ];
        let y1: Vec<f64> = (0..spec.cells[0])
            .map(|i| spec.lo[0] + (i as f64 + 0.5) * h[0])
            .collect();
        let y2: Vec<f64> = (0..spec.cells[1])
            .map(|j| spec.lo[1] + (j as f64 + 0.5) * h[1])
            .collect();
        let mass0 = fp.mass();
        let tol = 1e-12 * mass0.max(1.0);
        let (saved, checks) = save_loop(&spec.save_at, mass0, tol, obs, |t| {
            let warnings = fp.advance_to(t)?.warnings();
            let (m, c) = fp.moments();
            let mut density = Vec::with_capacity(y1.len() * y2.len());
            for &b in &y2 {
                for &a in &y1 {
                    density.push(fp.density_at([a, b]));
                }
            }
            let s = Saved2d {
                t,
                mass: fp.mass(),
                mean: [m[0], m[1]],
                cov: [[c[(0, 0)], c[(0, 1)]], [c[(1, 0)], c[(1, 1)]]],
                min: fp.min(),
                density,
                warnings,
            };
            Ok(((s.mass, s.min, s.warnings.len()), s))
        })?;
        Ok(FokkerPlanck2dResult {
            y1,
            y2,
            h,
            mass0,
            saved,
            checks,
        })
    }
}

/// The save loop of the 1-D and 2-D Fokker–Planck runs: for each τ of
/// `save_at` (phase `fokker-planck`, one tick each), `save(τ)` advances the grid
/// to τ and returns (mass, smallest cell value, number of accuracy warnings)
/// with the saved state; the [`grid_checks`] of τ read the three numbers.
fn save_loop<S>(
    save_at: &[f64],
    mass0: f64,
    mass_tol: f64,
    obs: &mut dyn crate::observe::Observer,
    mut save: impl FnMut(f64) -> Result<((f64, f64, usize), S)>,
) -> Result<(Vec<S>, Vec<Check>)> {
    obs.phase("fokker-planck", Some(save_at.len() as u64));
    let mut saved = Vec::new();
    let mut checks = Vec::new();
    for (k, &t) in save_at.iter().enumerate() {
        let ((mass, min, warnings), s) = save(t)?;
        checks.extend(grid_checks(t, mass, mass0, mass_tol, min, warnings));
        saved.push(s);
        crate::observe::tick(obs, k as u64 + 1)?;
    }
    Ok((saved, checks))
}

/// The checks a Fokker–Planck grid run makes at each saved time τ: the mass
/// kept to `tol` (zero-flux finite volumes conserve it exactly), positivity
/// of the smallest cell value `min`, and no accuracy warning of the solver.
fn grid_checks(t: f64, mass: f64, mass0: f64, tol: f64, min: f64, warnings: usize) -> [Check; 3] {
    [
        Check::at_most(
            format!("τ = {}: |mass(τ) − mass(0)|", crate::error::show(t)),
            (mass - mass0).abs(),
            tol,
            "zero-flux finite volumes conserve mass exactly",
        ),
        Check::at_least(
            format!("τ = {}: smallest cell value", crate::error::show(t)),
            min,
            0.0,
            "positivity (SSP-RK2 under the forward-Euler limit)",
        ),
        Check::at_most(
            format!(
                "τ = {}: accuracy warnings (Péclet > 1, mass at the walls)",
                crate::error::show(t)
            ),
            warnings as f64,
            0.0,
            "the solver's own diagnostics",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Silent;

    #[test]
    fn semigroup_of_a_polynomial_is_its_closed_form() {
        // E_t f(y) = ∫N(y; y₀ + vt, tK⁻¹)f(y₀)dy₀ (eq. 22): y₀ ~ N(y − vt, tK⁻¹), so
        // E_t[y1² + y1·y2](y) = (y1 − v1t)² + tK11 + (y1 − v1t)(y2 − v2t) + tK12.
        let spec: semigroup::SemigroupSpec = serde_json::from_str(
            r#"{"f": "y1^2 + y[0]*y2", "t": 0.7, "velocity": [0.3, -1.0],
                "k_inv": [[0.8, 0.3], [0.3, 0.5]], "at": [[0.2, -0.3], [15.0, 4.0], [-1e3, 2.0]]}"#,
        )
        .unwrap();
        let r = semigroup::run(&spec, &mut Silent).unwrap();
        for v in &r.values {
            let (a, b) = (v.y[0] - 0.3 * 0.7, v.y[1] + 0.7);
            let want = a * a + 0.7 * 0.8 + a * b + 0.7 * 0.3;
            assert!(
                (v.value - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{v:?} vs {want}"
            );
        }
        assert!(r.checks.iter().all(|c| c.pass));
    }

    #[test]
    fn semigroup_of_cos_decays_as_the_closed_form() {
        // E_t cos(y) = cos(y − vt)e^{−tK⁻¹/2}, 1-D, over decades of t.
        for t in [1e-3f64, 0.5, 8.0] {
            let spec: semigroup::SemigroupSpec = serde_json::from_str(&format!(
                r#"{{"f": "cos(y)", "t": {t}, "velocity": [0.4], "k_inv": [[1.5]], "at": [[0.3]]}}"#
            ))
            .unwrap();
            let v = &semigroup::run(&spec, &mut Silent).unwrap().values[0];
            let want = (0.3 - 0.4 * t).cos() * (-0.75 * t).exp();
            assert!(
                (v.value - want).abs() < 1e-9,
                "t = {t}: {} vs {want}",
                v.value
            );
        }
        // An unknown variable is bad input naming `f`.
        let spec: semigroup::SemigroupSpec =
            serde_json::from_str(r#"{"f": "cos(x)", "t": 1, "k_inv": [[1.0]], "at": [[0.0]]}"#)
                .unwrap();
        let e = spec.validate().unwrap_err();
        assert_eq!(e.field().unwrap().to_string(), "f");
    }

    fn fp(drift: &str, diff: &str) -> fokker_planck::FokkerPlanckSpec {
        serde_json::from_str(&format!(
            r#"{{"lo": -5, "hi": 5, "cells": 400, "save_at": [0.2, 0.6], "drift": "{drift}",
                "diffusion": "{diff}", "initial": [{{"weight": 1, "mean": [-1.5], "cov": [[0.1]]}}]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn fokker_planck_grid_follows_ornstein_uhlenbeck_and_the_heat_kernel() {
        // OU, b = −β(y − μ), D constant: mean μ + e^{−βτ}(m₀ − μ),
        // variance D/(2β) + e^{−2βτ}(v₀ − D/(2β)). Grid error O(h²), h = 0.025:
        // the reference suite measures L¹ ≈ 1e-3 at h = 0.04, so 1e-3 on the
        // moments is a bound the scheme meets and a wrong law misses.
        let (beta, mu, d) = (1.3, 0.5, 0.8);
        let r = fokker_planck::run(&fp("-1.3*(y - 0.5)", "0.8"), &mut Silent).unwrap();
        assert!(r.checks.iter().all(|c| c.pass), "{:?}", r.checks);
        for s in &r.saved {
            let vinf = d / (2.0 * beta);
            let m = mu + (-beta * s.t).exp() * (-1.5 - mu);
            let v = vinf + (-2.0 * beta * s.t).exp() * (0.1 - vinf);
            assert!(
                (s.mean - m).abs() < 1e-3 && (s.variance - v).abs() < 1e-3,
                "{s:?}"
            );
        }
        // Heat kernel with drift: N(m₀ + cτ, v₀ + τD).
        let r = fokker_planck::run(&fp("0.7", "0.5"), &mut Silent).unwrap();
        for s in &r.saved {
            assert!((s.mean - (-1.5 + 0.7 * s.t)).abs() < 1e-3, "{s:?}");
            assert!((s.variance - (0.1 + 0.5 * s.t)).abs() < 1e-3, "{s:?}");
        }
        // Control: a drift of the wrong sign moves the mean the other way.
        let r = fokker_planck::run(&fp("-0.7", "0.5"), &mut Silent).unwrap();
        assert!((r.saved[1].mean - (-1.5 + 0.7 * 0.6)).abs() > 0.5);
        // A diffusion that is not > 0 in the box is bad input.
        assert!(
            fokker_planck::run(&fp("0", "y"), &mut Silent)
                .unwrap_err()
                .is_bad_input()
        );
    }

    #[test]
    fn reverse_sde_recovers_the_mixture() {
        let spec: reverse::ReverseSpec = serde_json::from_str(
            r#"{"seed": 3, "paths": 4000, "horizon": 1.5, "velocity": [0.3, -0.2],
                "k_inv": [[0.5, 0.2], [0.2, 0.3]],
                "components": [
                  {"weight": 0.35, "mean": [-1.5, 0.5], "cov": [[0.2, 0.05], [0.05, 0.1]]},
                  {"weight": 0.65, "mean": [1.0, -0.5], "cov": [[0.15, -0.05], [-0.05, 0.25]]}]}"#,
        )
        .unwrap();
        let r = reverse::run(&spec, &mut Silent).unwrap();
        assert!(r.checks[0].pass, "{:?}", r.checks);
        assert_eq!(r.statistics, 12);
        // Bonferroni bound for 12 statistics at α = 1e-3: Φ⁻¹(1 − 1e-3/24) =
        // 3.9346058615607573 (scipy.stats.norm.isf(1e-3 / 24)).
        assert!(
            (r.checks[0].threshold - 3.9346058615607573).abs() < 1e-9,
            "{}",
            r.checks[0].threshold
        );
    }
}

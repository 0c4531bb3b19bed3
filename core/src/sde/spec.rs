//! The spec of an SDE ensemble run ([`SdeSpec`], the `bayesrg sde` config
//! file) and its checks ([`SdeSpec::validate`]).
//!
//! Drifts: zero, a constant velocity γ̇ (eq. 18), an Ornstein–Uhlenbeck drift
//! −B(y − m), the natural gradient −½K⁻¹P(y − m) of a quadratic potential (eq. 46
//! in the convention of `docs/conventions.md`), or the user's own expressions of
//! y and τ ([`DriftSpec::Expression`]). Diffusions: K⁻¹ or K given, a model's
//! Fisher metric (optionally pushed forward, K⁻¹ = J I⁻¹ Jᵀ, eq. 44), or a
//! state-dependent σ(y, τ) given by expressions ([`DiffusionSpec::Diagonal`],
//! [`DiffusionSpec::Matrix`]).

use crate::error::{Error, Field, Result, require, show};
use crate::model::Model;
use crate::rng::Seed;
use crate::sde::expr::Expressions;
use crate::sde::external::{TermFunction, TermsRef};
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

/// An SDE ensemble run: the problem, where it starts, the stepper and the
/// ensemble size. The config file of `bayesrg sde` *is* this spec.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SdeSpec {
    /// The root seed: the Brownian paths draw from it, a Monte Carlo Fisher
    /// metric from its child `"fisher"`.
    #[serde(default)]
    pub seed: Seed,
    /// Number of paths (≥ 2).
    pub paths: usize,
    /// Largest step h (> 0, in units of τ).
    pub dt: f64,
    /// Save times (increasing, > 0).
    pub save_at: Vec<f64>,
    /// Starting point y₀ (its length is the dimension d).
    pub y0: Vec<f64>,
    /// Stepper name (`euler_maruyama`, `milstein`, `heun`, `exact_ou`,
    /// `leimkuhler_matthews`, `sra1`; see [`crate::sde::steppers::by_name`]).
    #[serde(default = "default_stepper")]
    pub stepper: String,
    /// Paths per saved time a writer keeps (`paths_<k>.csv`).
    #[serde(default = "default_sample")]
    pub sample_paths: usize,
    /// Family-wise significance level of the law checks: each of the
    /// 3 × (saved times) checks fails when its p-value is below
    /// alpha / (number of checks).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Histogram bins of the marginal plots.
    #[serde(default = "default_bins")]
    pub bins: usize,
    /// The drift b(y, τ).
    pub drift: DriftSpec,
    /// The diffusion σ(y, τ).
    pub diffusion: DiffusionSpec,
}

fn default_stepper() -> String {
    "euler_maruyama".into()
}
fn default_sample() -> usize {
    200
}
fn default_alpha() -> f64 {
    1e-3
}
fn default_bins() -> usize {
    40
}
fn one() -> f64 {
    1.0
}
fn default_fisher_samples() -> usize {
    100_000
}

/// The drift, by `type`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DriftSpec {
    /// b = 0. A struct variant with no fields (not a unit variant), so that
    /// `deny_unknown_fields` refuses a stray key such as `velocity`.
    Zero {},
    /// b = γ̇ (constant velocity, eq. 18).
    Constant {
        /// γ̇ (d entries).
        velocity: Vec<f64>,
    },
    /// b = −B(y − m).
    Ou {
        /// B (d rows of d).
        b: Vec<Vec<f64>>,
        /// m (d entries; default 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        centre: Option<Vec<f64>>,
    },
    /// b = −½K⁻¹P(y − m), the natural gradient of V = ½(y − m)ᵀP(y − m) (eq. 46).
    QuadraticPotential {
        /// P (d rows of d), symmetric positive definite.
        precision: Vec<Vec<f64>>,
        /// m (d entries; default 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        centre: Option<Vec<f64>>,
    },
    /// bᵢ(y, τ) given as expressions of `y1`…`yd` (or `y[0]`…) and `tau` (or
    /// `τ`, `t`), one per coordinate: `["-y1 + sin(tau)", "y1 - y2^3"]`.
    Expression {
        /// One expression per coordinate.
        b: Vec<String>,
    },
    /// aᵢ(y, τ) from a run-time plugin's SDE terms (ABI 1.1, eqs. 45–46):
    /// `terms = { type = "my-sde/ou", …parameters }`.
    Plugin {
        /// The terms (`type = "plugin-name/terms-name"` plus their parameters).
        terms: TermsRef,
    },
}

/// The diffusion `type = "fisher"` ([`DiffusionSpec::Fisher`]): K = the
/// model's Fisher metric at θ, or K⁻¹ = J I⁻¹ Jᵀ with `push_forward` (eq. 44).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FisherDiffusion {
    /// The model (`type = "…"` plus its settings).
    pub model: Box<dyn Model>,
    /// The point θ.
    pub theta: Vec<f64>,
    /// Push through the forward map G (J = ∂G/∂θ).
    #[serde(default)]
    pub push_forward: bool,
    /// Multiplies K⁻¹ (default 1).
    #[serde(default = "one")]
    pub scale: f64,
    /// Samples of a Monte Carlo Fisher metric, used only when the model
    /// has no closed form, Jacobian form or KL Hessian (default 100,000).
    #[serde(default = "default_fisher_samples")]
    pub samples: usize,
}

/// The diffusion, by `type`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DiffusionSpec {
    /// Additive noise with K⁻¹ given.
    KInv {
        /// K⁻¹ (d rows of d), symmetric positive definite.
        matrix: Vec<Vec<f64>>,
    },
    /// Additive noise with K given.
    K {
        /// K (d rows of d), symmetric positive definite.
        matrix: Vec<Vec<f64>>,
    },
    /// K = the model's Fisher metric at θ (parameter space, K⁻¹ = I⁻¹), or with
    /// `push_forward`, K⁻¹ = J I⁻¹ Jᵀ in data space (eq. 44).
    Fisher(FisherDiffusion),
    /// State-dependent diagonal noise dYᵢ = … + σᵢ(y, τ) dWᵢ (Itô), σᵢ given as
    /// expressions of y and τ. Milstein uses the exact ∂σᵢ/∂yᵢ of each
    /// expression.
    Diagonal {
        /// One expression per coordinate.
        sigma: Vec<String>,
    },
    /// A general state-dependent σ(y, τ), d rows of m expressions
    /// (m Brownian motions).
    Matrix {
        /// σ row by row.
        sigma: Vec<Vec<String>>,
    },
    /// State-dependent diagonal noise bᵢ(y, τ) dWᵢ (Itô) from a run-time
    /// plugin's SDE terms; Milstein uses the plugin's `diffusion_derivative`
    /// ∂bᵢ/∂yᵢ, or central differences of bᵢ without one.
    Plugin {
        /// The terms (`type = "plugin-name/terms-name"` plus their parameters).
        terms: TermsRef,
    },
}

/// Checks that plugin terms at `at` have dimension d and provide `f`.
fn check_terms(at: Field, terms: &TermsRef, d: usize, f: TermFunction) -> Result<()> {
    require::len(
        at.clone(),
        terms.0.dim(),
        d,
        "the length of y0 (the dimension the plugin's terms declare)",
    )?;
    if !terms.0.provides(f) {
        return Err(Error::domain(
            at,
            terms.0.label(),
            format!("gives no `{}` function", f.name()),
        ));
    }
    Ok(())
}

/// `rows` as a d × d matrix; the field `at` names it in errors.
pub(crate) fn square(at: Field, rows: &[Vec<f64>], d: usize) -> Result<DMatrix<f64>> {
    require::len(at.clone(), rows.len(), d, "rows, one per coordinate")?;
    for (i, r) in rows.iter().enumerate() {
        require::len(
            at.clone().at(i),
            r.len(),
            d,
            "entries: the matrix must be square",
        )?;
        require::all_finite(at.clone().at(i), r)?;
    }
    Ok(DMatrix::from_fn(d, d, |i, j| rows[i][j]))
}

/// `m` is symmetric positive definite; else a domain error at `at`.
fn spd(at: Field, m: &DMatrix<f64>) -> Result<()> {
    let asym = (m - m.transpose()).amax();
    if asym > 1e-12 * m.amax().max(f64::MIN_POSITIVE) {
        return Err(Error::domain(
            at,
            format!("a matrix with |A − Aᵀ| = {}", show(asym)),
            "must be symmetric",
        ));
    }
    if m.clone().cholesky().is_none() {
        return Err(Error::domain(
            at,
            "the matrix given",
            "is not positive definite (no Cholesky factor)",
        ));
    }
    Ok(())
}

impl SdeSpec {
    /// The dimension d (the length of `y0`).
    pub fn dim(&self) -> usize {
        self.y0.len()
    }

    /// Checks every value before any work: finite numbers in their domains,
    /// shapes matching the dimension of `y0`, symmetric positive definite
    /// matrices, expressions that parse and use only y1…yd and τ, a known
    /// stepper that supports the noise, and a run the machine can hold.
    ///
    /// # Errors
    /// [`Error::Domain`], [`Error::NotFinite`], [`Error::Dimension`],
    /// [`Error::TooLarge`] or [`Error::Missing`], naming the field by its serde
    /// path (`drift.b[1]`, `diffusion.sigma[0]`).
    pub fn validate(&self) -> Result<()> {
        use crate::budget;
        require::positive("dt", self.dt)?;
        require::at_least("paths", self.paths, 2)?;
        require::save_times("save_at", &self.save_at)?;
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::domain(
                "alpha",
                show(self.alpha),
                "must lie in (0, 1)",
            ));
        }
        require::at_least("bins", self.bins, 1)?;
        if self.y0.is_empty() {
            return Err(Error::domain(
                "y0",
                "[]",
                "must give at least one coordinate",
            ));
        }
        require::all_finite("y0", &self.y0)?;
        let d = self.dim();
        let stepper = crate::sde::steppers::by_name(&self.stepper).map_err(|e| {
            Error::domain("stepper", format!("\"{}\"", self.stepper), e.to_string())
        })?;
        self.validate_drift(d)?;
        let m = self.validate_diffusion(d)?;
        let kind = self.noise_kind();
        let info = stepper.info();
        if !info.noise.contains(&kind) {
            return Err(Error::domain(
                "stepper",
                format!("\"{}\"", self.stepper),
                format!(
                    "does not support {kind:?} noise (it supports {:?}); for state-dependent \
                     noise use euler_maruyama, milstein (diagonal) or heun (Stratonovich)",
                    info.noise
                ),
            ));
        }
        if info.name == "exact_ou" && !self.drift_is_linear() {
            return Err(Error::domain(
                "stepper",
                "\"exact_ou\"",
                "needs a linear drift (zero, constant, ou or quadratic_potential)",
            ));
        }
        // What the run asks of the machine: every path steps to the last
        // save time and keeps its state at each save time.
        let df = d as f64;
        let last = self.save_at.last().copied().unwrap_or(0.0);
        let steps = (last / self.dt).ceil();
        let paths = self.paths as f64;
        budget::check_memory(
            "paths",
            paths * df * (self.save_at.len() as f64 + 1.0) * 8.0,
        )?;
        budget::check_work("dt", paths * steps * df * (m as f64).max(df))?;
        budget::check_memory("bins", self.bins as f64 * 8.0 * 4.0)?;
        budget::check_memory(
            "sample_paths",
            (self.sample_paths.min(self.paths)) as f64 * df * 8.0,
        )?;
        Ok(())
    }

    fn validate_drift(&self, d: usize) -> Result<()> {
        let at = Field::key("drift");
        let centre = |c: &Option<Vec<f64>>| -> Result<()> {
            if let Some(c) = c {
                require::len(at.clone().then("centre"), c.len(), d, "the length of y0")?;
                require::all_finite(at.clone().then("centre"), c)?;
            }
            Ok(())
        };
        match &self.drift {
            DriftSpec::Zero {} => Ok(()),
            DriftSpec::Constant { velocity } => {
                let f = at.then("velocity");
                require::len(f.clone(), velocity.len(), d, "the length of y0")?;
                require::all_finite(f, velocity)
            }
            DriftSpec::Ou { b, centre: c } => {
                square(at.clone().then("b"), b, d)?;
                centre(c)
            }
            DriftSpec::QuadraticPotential {
                precision,
                centre: c,
            } => {
                let p = square(at.clone().then("precision"), precision, d)?;
                spd(at.clone().then("precision"), &p)?;
                centre(c)
            }
            DriftSpec::Expression { b } => {
                require::len(
                    at.clone().then("b"),
                    b.len(),
                    d,
                    "one expression per coordinate of y0",
                )?;
                Expressions::parse(&at.then("b"), b, d).map(|_| ())
            }
            DriftSpec::Plugin { terms } => {
                check_terms(at.then("terms"), terms, d, TermFunction::Drift)
            }
        }
    }

    /// Checks the diffusion; returns the noise dimension m.
    fn validate_diffusion(&self, d: usize) -> Result<usize> {
        let at = Field::key("diffusion");
        match &self.diffusion {
            DiffusionSpec::KInv { matrix } | DiffusionSpec::K { matrix } => {
                let k = square(at.clone().then("matrix"), matrix, d)?;
                spd(at.then("matrix"), &k)?;
                Ok(d)
            }
            DiffusionSpec::Fisher(f) => {
                let name = crate::model::type_name(f.model.as_ref());
                require::has_parameters(at.clone().then("model"), name, f.model.dim())?;
                require::len(
                    at.clone().then("theta"),
                    f.theta.len(),
                    f.model.dim(),
                    "one per parameter of the model",
                )?;
                require::all_finite(at.clone().then("theta"), &f.theta)?;
                f.model.check_params(&f.theta).map_err(|e| {
                    Error::domain(
                        at.clone().then("theta"),
                        format!("{:?}", f.theta),
                        e.to_string(),
                    )
                })?;
                require::positive(at.clone().then("scale"), f.scale)?;
                require::at_least(at.clone().then("samples"), f.samples, 2)?;
                let out = if f.push_forward {
                    match f.model.forward_jacobian(&f.theta) {
                        Some(j) => j.nrows(),
                        None => {
                            return Err(Error::Missing {
                                model: name.to_string(),
                                capability: "forward map (diffusion.push_forward needs one)".into(),
                            });
                        }
                    }
                } else {
                    f.model.dim()
                };
                require::len("y0", d, out, "the dimension of the diffusion")?;
                Ok(d)
            }
            DiffusionSpec::Diagonal { sigma } => {
                let f = at.then("sigma");
                require::len(
                    f.clone(),
                    sigma.len(),
                    d,
                    "one expression per coordinate of y0",
                )?;
                Expressions::parse(&f, sigma, d)?;
                Ok(d)
            }
            DiffusionSpec::Matrix { sigma } => {
                let f = at.then("sigma");
                require::len(f.clone(), sigma.len(), d, "rows, one per coordinate of y0")?;
                let m = sigma.first().map_or(0, Vec::len);
                if m == 0 {
                    return Err(Error::domain(
                        f.at(0),
                        "[]",
                        "must give at least one column",
                    ));
                }
                for (i, row) in sigma.iter().enumerate() {
                    require::len(
                        f.clone().at(i),
                        row.len(),
                        m,
                        "columns, as in the first row",
                    )?;
                    Expressions::parse(&f.clone().at(i), row, d)?;
                }
                Ok(m)
            }
            DiffusionSpec::Plugin { terms } => {
                let f = at.then("terms");
                check_terms(f, terms, d, TermFunction::Diffusion)?;
                Ok(d)
            }
        }
    }

    /// The kind of noise the diffusion is.
    pub fn noise_kind(&self) -> crate::sde::NoiseKind {
        use crate::sde::NoiseKind;
        match self.diffusion {
            DiffusionSpec::Diagonal { .. } | DiffusionSpec::Plugin { .. } => NoiseKind::Diagonal,
            DiffusionSpec::Matrix { .. } => NoiseKind::General,
            _ => NoiseKind::Additive,
        }
    }

    /// Whether the drift is linear in y and constant in τ (the exact Gaussian
    /// law exists when the noise is additive too).
    pub fn drift_is_linear(&self) -> bool {
        !matches!(
            self.drift,
            DriftSpec::Expression { .. } | DriftSpec::Plugin { .. }
        )
    }
}

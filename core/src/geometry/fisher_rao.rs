//! The Fisher–Rao distance and the geodesic between two points of a model
//! ([`distance`]), checked against the family's closed form when it has one
//! ([`Model::fisher_rao`], [`closed_form`]): one call from a [`GeodesicSpec`]
//! (the content of a `bayesrg geodesic` config) to a [`GeodesicResult`].
//!
//! A geodesic that no method finds is a failed computation, not bad input:
//! the result then holds [`GeodesicResult::failure`] and one failed check.
//!
//! ```text
//! let spec: GeodesicSpec = serde_json::from_str(json_text)?;
//! let result = bayesrg_core::geometry::fisher_rao::run(&spec, &mut Silent)?;
//! ```

use super::closed_form;
use super::distance::{ShootOptions, distance, distance_from};
use super::{FisherMetric, Metric};
use crate::check::Check;
use crate::error::{Error, Result, require, show};
use crate::model::{Model, type_name};
use crate::observe::{Observer, tick};
use crate::rng::Seed;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// Relative tolerance of the distance against a closed form (issue #16: every
/// built-in family within 1e-8 of its closed form).
pub const DISTANCE_TOL: f64 = 1e-8;
/// Tolerance of the initial velocity and of the path against a closed-form
/// geodesic, in Fisher units relative to the distance.
pub const PATH_TOL: f64 = 1e-6;
/// Default Monte Carlo draws of the Fisher fallback.
pub const DEFAULT_SAMPLES: usize = 100_000;
/// The seed of the Monte Carlo Fisher fallback when the config gives none (1,
/// as `bayesrg geodesic` has always used; kept so that results stay
/// bit-for-bit what they were).
pub const DEFAULT_SEED: Seed = Seed::new(1);

fn default_samples() -> usize {
    DEFAULT_SAMPLES
}
fn default_seed() -> Seed {
    DEFAULT_SEED
}

/// Where the Christoffel symbols of the geodesic equation come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Christoffel {
    /// The closed form for the families that write it out
    /// ([`closed_form::ClosedFormGeometry::acceleration`]), else differences.
    #[default]
    Auto,
    /// Central differences of the Fisher metric.
    Differences,
}

/// What a geodesic run computes: the content of a `bayesrg geodesic` config
/// (docs/geometry.md).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeodesicSpec {
    /// The model.
    pub model: Box<dyn Model>,
    /// The start point θ₁.
    pub from: Vec<f64>,
    /// The end point θ₂.
    pub to: Vec<f64>,
    /// The type tag of a family whose closed-form distance to check against
    /// (see [`closed_form::names`]); by default the model's own closed form.
    #[serde(default)]
    pub closed_form: Option<String>,
    /// Whether to plot the path (only for 2-D families; default: when 2-D).
    /// A writer's setting, checked here.
    #[serde(default)]
    pub plot: Option<bool>,
    /// Convergence: the miss at `to` in Fisher units relative to the distance,
    /// in (0, 1) (default [`ShootOptions::default`]'s).
    #[serde(default)]
    pub tol: Option<f64>,
    /// `auto` (closed-form Christoffel symbols for the families that have
    /// them) or `differences` (central differences of the Fisher metric).
    #[serde(default)]
    pub christoffel: Christoffel,
    /// Monte Carlo samples for a model without a deterministic Fisher.
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Seed of the Monte Carlo fallback (default [`DEFAULT_SEED`]).
    #[serde(default = "default_seed")]
    pub seed: Seed,
}

impl GeodesicSpec {
    /// Whether the run draws the path: `plot`, default true for a 2-D family.
    pub fn plots(&self) -> bool {
        self.plot.unwrap_or(self.model.dim() == 2)
    }

    /// Checks every value before any work: both points in the parameter
    /// space, `plot` only for a 2-D family, `tol` in (0, 1), and a named
    /// closed form that is this model's geometry (its dimension and its
    /// Fisher metric at both points; issue #11 §2). Errors name their field.
    pub fn validate(&self) -> Result<()> {
        let model = self.model.as_ref();
        require::point(model, "from", &self.from)?;
        require::point(model, "to", &self.to)?;
        let d = model.dim();
        if self.plot == Some(true) && d != 2 {
            return Err(Error::domain(
                "plot",
                "true",
                format!(
                    "needs a 2-D family; model `{}` has dimension {d}",
                    type_name(model)
                ),
            ));
        }
        if let Some(name) = &self.closed_form {
            closed_form::check_named(model, name, &[("from", &self.from), ("to", &self.to)])?;
        }
        if let Some(t) = self.tol
            && !(t > 0.0 && t < 1.0)
        {
            return Err(Error::domain("tol", show(t), "must be in (0, 1)"));
        }
        require::at_least("samples", self.samples, 1)
    }
}

/// The geodesic found, with the numbers its checks compare.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    /// The Fisher–Rao distance.
    pub distance: f64,
    /// The initial velocity θ̇(0) on t ∈ [0, 1].
    pub initial_velocity: Vec<f64>,
    /// The miss at `to` in Fisher units.
    pub residual: f64,
    /// The largest relative drift of the speed along the path.
    pub speed_drift: f64,
    /// The largest distance of the path from the closed-form curve, in
    /// Fisher units relative to the distance (when the family has a curve).
    pub path_error: Option<f64>,
    /// The method that converged.
    pub method: String,
    /// The methods tried before it, with their reasons for failing.
    pub attempts: Vec<String>,
    /// Iterations of all methods.
    pub iterations: usize,
    /// The path: one row per accepted step.
    pub path: Vec<PathPoint>,
    /// The closed-form curve at 41 evenly spaced t in [0, 1] (for a plot),
    /// when the family has one.
    pub closed_curve: Option<Vec<Vec<f64>>>,
}

/// One point of the geodesic path.
#[derive(Debug, Clone, Serialize)]
pub struct PathPoint {
    /// The curve parameter t ∈ [0, 1].
    pub t: f64,
    /// θ(t).
    pub theta: Vec<f64>,
    /// The squared speed g(θ̇, θ̇) at θ(t) (constant on a geodesic).
    pub speed2: f64,
    /// The closed-form geodesic θ_cf(t), when the family has a curve.
    pub closed: Option<Vec<f64>>,
}

/// What a geodesic run found.
#[derive(Debug, Clone, Serialize)]
pub struct GeodesicResult {
    /// The model's type tag.
    pub model: String,
    /// The parameter names.
    pub params: Vec<String>,
    /// θ₁.
    pub from: Vec<f64>,
    /// θ₂.
    pub to: Vec<f64>,
    /// The closed-form distance checked against (named or the model's own).
    pub closed_form: Option<f64>,
    /// The family of that closed form.
    pub closed_form_family: Option<String>,
    /// The initial velocity of the model's own closed-form geodesic.
    pub closed_form_velocity: Option<Vec<f64>>,
    /// Where the Christoffel symbols came from.
    pub christoffel: Christoffel,
    /// The geodesic, when a method converged.
    pub found: Option<Found>,
    /// Why no method converged (a failed computation), otherwise `None`.
    pub failure: Option<String>,
    /// Every check.
    pub checks: Vec<Check>,
}

/// √(xᵀg x).
fn fisher_norm(g: &DMatrix<f64>, x: &[f64]) -> f64 {
    let v = DVector::from_column_slice(x);
    v.dot(&(g * &v)).max(0.0).sqrt()
}

/// Finds the geodesic from `from` to `to` and checks it: the miss at `to`,
/// constant speed, and against a closed form the distance, the initial
/// velocity and the curve.
///
/// # Errors
/// Bad input ([`GeodesicSpec::validate`]); a metric that cannot be evaluated
/// on the path. A geodesic that no method finds is not an error: the result
/// holds the reason in [`GeodesicResult::failure`] and a failed check.
pub fn run(spec: &GeodesicSpec, obs: &mut dyn Observer) -> Result<GeodesicResult> {
    spec.validate()?;
    let model = spec.model.as_ref();
    let (from, to) = (&spec.from[..], &spec.to[..]);
    let named = match &spec.closed_form {
        Some(name) => Some((
            name.clone(),
            closed_form::check_named(model, name, &[("from", from), ("to", to)])?,
        )),
        None => None,
    };
    let metric = FisherMetric {
        samples: spec.samples,
        seed: spec.seed,
        known_christoffel: spec.christoffel == Christoffel::Auto,
        ..FisherMetric::new(model)
    };
    let mut opt = ShootOptions::default();
    if let Some(t) = spec.tol {
        opt.tol = t;
    }
    let known = closed_form::for_model(model, from, to);
    let (oracle_value, oracle_name) = match (&named, &known) {
        (Some((name, f)), _) => (f.distance(from, to), name.clone()),
        (None, Some(k)) => (Some(k.distance), k.family.to_string()),
        (None, None) => (None, String::new()),
    };
    let mut result = GeodesicResult {
        model: type_name(model).to_string(),
        params: model.param_names(),
        from: from.to_vec(),
        to: to.to_vec(),
        closed_form: oracle_value,
        closed_form_family: (!oracle_name.is_empty()).then(|| oracle_name.clone()),
        closed_form_velocity: known.as_ref().and_then(|k| k.velocity.clone()),
        christoffel: spec.christoffel,
        found: None,
        failure: None,
        checks: Vec::new(),
    };
    obs.phase("geodesic", Some(2));
    // Start from what is known: the closed-form geodesic's initial velocity
    // when the family has one (the shot still integrates the geodesic equation
    // and must hit `to`, so the checks below stay independent of it).
    // A closed-form velocity that overflowed (σ from 1e-300 to 1e300) is no
    // guess: shoot without one rather than report an internal value as bad input.
    let finite_velocity = known
        .as_ref()
        .and_then(|k| k.velocity.as_deref())
        .filter(|v| v.iter().all(|x| x.is_finite()));
    let solved = match finite_velocity {
        Some(v) => distance_from(&metric, from, to, v, &opt),
        None => distance(&metric, from, to, &opt),
    };
    let shot = match solved {
        Ok(s) => s,
        Err(e) if e.is_bad_input() => return Err(e),
        Err(e) => {
            let reason = e.to_string();
            // A failed computation: exit 1 with the reason, never "bad input".
            result.checks = vec![Check::at_most(
                "geodesic found (miss at `to` / distance)",
                f64::NAN,
                opt.tol,
                format!("no method converged: {reason}"),
            )];
            result.failure = Some(reason);
            return Ok(result);
        }
    };
    tick(obs, 1)?;
    let g1 = metric.metric(from)?;
    let g2 = metric.metric(to)?;
    // The miss is bounded below by rounding of `to` itself: ε·|to| in Fisher units.
    let rounding = 16.0 * f64::EPSILON * fisher_norm(&g2, to);
    let mut checks = vec![
        Check::at_most(
            "miss at `to` in Fisher units",
            shot.residual,
            10.0 * opt.tol * shot.distance + rounding,
            "the geodesic must end at `to` (10·tol·d + 16ε·|to|)",
        ),
        Check::at_most(
            "relative drift of the speed g(v, v) along the path",
            shot.geodesic.speed_drift,
            1e-6,
            "a geodesic has constant speed",
        ),
    ];
    if let Some(want) = oracle_value {
        let err = (shot.distance - want).abs() / want.max(f64::MIN_POSITIVE);
        // A miss is the numerical geodesic's, not the distance's (tryout 5,
        // D11): say that the closed form is the answer.
        let oracle = if err <= DISTANCE_TOL {
            format!("closed-form `{oracle_name}` distance (oracles.md §3)")
        } else {
            format!(
                "closed-form `{oracle_name}` distance (oracles.md §3); the numerical geodesic \
                 missed it: the closed form {want} is the Fisher–Rao distance"
            )
        };
        checks.push(Check::at_most(
            "|distance - closed form| / closed form",
            err,
            DISTANCE_TOL,
            oracle,
        ));
    }
    let scale = shot.distance.max(f64::MIN_POSITIVE);
    let mut path_error = None;
    // Both sides of a path comparison are points of size |θ| (and a velocity
    // is a difference of such points over t ∈ [0, 1]), each carrying a few ulp
    // of its size: the comparisons allow 16ε·|θ| in Fisher units, divided by
    // the distance like the compared quantity (for points 10⁻¹¹ apart the
    // allowance dominates PATH_TOL; for d of order one it is 10⁻¹⁵).
    if let Some(k) = &known {
        if let Some(vcf) = k
            .velocity
            .as_ref()
            .filter(|v| v.iter().all(|x| x.is_finite()))
        {
            let diff: Vec<f64> = shot.velocity.iter().zip(vcf).map(|(a, b)| a - b).collect();
            let ulps = (16.0 * f64::EPSILON * fisher_norm(&g1, from)).max(rounding) / scale;
            checks.push(Check::at_most(
                "|v - v_closed| in Fisher units / distance",
                fisher_norm(&g1, &diff) / scale,
                PATH_TOL + ulps,
                format!(
                    "initial velocity of the closed-form `{}` geodesic (+ 16ε·|θ|/d)",
                    k.family
                ),
            ));
        }
        if k.curve.is_some() {
            let (mut worst, mut allowed): (f64, f64) = (0.0, 0.0);
            for (t, p) in shot.geodesic.t.iter().zip(&shot.geodesic.points) {
                let q = k.point(*t).unwrap_or_default();
                let diff: Vec<f64> = p.iter().zip(&q).map(|(a, b)| a - b).collect();
                let g = metric.metric(p)?;
                worst = worst.max(fisher_norm(&g, &diff) / scale);
                allowed = allowed.max(16.0 * f64::EPSILON * fisher_norm(&g, p) / scale);
            }
            path_error = Some(worst);
            checks.push(Check::at_most(
                "max |θ(t) - θ_closed(t)| in Fisher units / distance",
                worst,
                PATH_TOL + allowed,
                format!(
                    "the closed-form `{}` geodesic curve (+ 16ε·|θ(t)|/d)",
                    k.family
                ),
            ));
        }
    }
    let curve = known.as_ref().filter(|k| k.curve.is_some());
    let g = &shot.geodesic;
    let mut path = Vec::with_capacity(g.t.len());
    for ((t, p), v) in g.t.iter().zip(&g.points).zip(&g.velocities) {
        let gp = metric.metric(p)?;
        path.push(PathPoint {
            t: *t,
            theta: p.clone(),
            speed2: fisher_norm(&gp, v).powi(2),
            closed: curve.map(|k| k.point(*t).unwrap_or_default()),
        });
    }
    let closed_curve = curve.map(|k| (0..=40).filter_map(|i| k.point(i as f64 / 40.0)).collect());
    tick(obs, 2)?;
    result.checks = checks;
    result.found = Some(Found {
        distance: shot.distance,
        initial_velocity: shot.velocity,
        residual: shot.residual,
        speed_drift: shot.geodesic.speed_drift,
        path_error,
        method: shot.method.to_string(),
        attempts: shot.attempts,
        iterations: shot.iterations,
        path,
        closed_curve,
    });
    Ok(result)
}

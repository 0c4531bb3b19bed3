//! The Fisher–Rao distance between two points and the geodesic joining them,
//! for any [`Metric`]: d(θ₁, θ₂) = √(vᵀg(θ₁)v) where the geodesic from θ₁ with
//! initial velocity v reaches θ₂ at t = 1.
//!
//! The methods, tried in this order until one converges:
//!
//! 1. **One dimension: quadrature.** On a 1-D chart the geodesic is the
//!    segment and d = |∫√g(θ)dθ| exactly; the integral is taken by adaptive
//!    Gauss–Kronrod quadrature ([`crate::quadrature::integrate_adaptive`]), in
//!    u = ln|θ| when both ends have one sign and differ by more than a factor 4.
//!    The path is then traced by the geodesic equation from v = ±d/√g(θ₁), and
//!    its miss at θ₂ is reported as an independent check.
//! 2. **Shooting** from the coordinate chord v = θ₂ − θ₁ (exact for a flat
//!    metric): Levenberg–Marquardt on the miss r(v) = exp_θ₁(v) − θ₂, in
//!    variables whitened by the metric at the two ends (w = L₁ᵀv, r̃ = L₂ᵀr with
//!    g = LLᵀ), so every quantity is in Fisher units and no coordinate scale
//!    enters; J = ∂r̃/∂w by central differences of the exponential map.
//! 3. **Path energy**, which converges from afar: the path θ₁ = x₀, x₁, …,
//!    x_N = θ₂ minimising the discrete energy N·Σₖ Δₖᵀg(mₖ)Δₖ (Δₖ = xₖ₊₁ − xₖ,
//!    mₖ the midpoint) by descent steps preconditioned with the metric's own
//!    block-tridiagonal "Laplacian" 2N·[g(mₖ₋₁) + g(mₖ), −g(mₖ)] and a
//!    backtracking (Armijo) line search that rejects points outside the chart.
//!    The preconditioner is the exact Hessian for a constant metric, so the
//!    descent does not care how g varies in scale along the path (rate 1 → 1000,
//!    a probability of 10⁻⁶). The minimiser is a geodesic to O(N⁻²).
//! 4. **Shooting polish** from the path's initial velocity.
//! 5. **Multiple shooting** seeded by the path: M segments of length 1/M, their
//!    start points and velocities solved by damped Newton so that each segment
//!    ends where the next begins (in Fisher units) and the last ends at θ₂.
//!    Short segments keep the sensitivity of each flow small, so far-apart
//!    points on a negatively curved family (the normal, whose exponential map
//!    amplifies errors like e^{d/√2}) converge where single shooting cannot.
//!
//! Convergence: the miss at θ₂ in Fisher units, √(rᵀg(θ₂)r), is at most
//! `tol`·d (default 10⁻⁹). The distance error is bounded by that miss, so the
//! tolerance is a relative accuracy of d independent of units.
//!
//! 6. **Continuation in the endpoint**: shooting to θ₁ + s(θ₂ − θ₁) for
//!    s rising to 1, each solve seeded by the last velocity scaled by the
//!    ratio of the s values; the step in s doubles after a success and halves
//!    after a failure (at most 48 solves, s-steps no smaller than 1/1024).
//!
//! [`distance_from`] first shoots from a caller's guess (a closed-form
//! velocity, a neighbouring solution) and falls back on the same chain.
//!
//! A method that does not converge is a failed computation
//! ([`Error::Failed`], `what` = "geodesic from θ₁ to θ₂", the reason of every
//! attempt with its miss in Fisher units), never bad input; bad input (a point
//! outside the chart or of the wrong length, a bad setting) is any other
//! variant ([`Error::is_bad_input`]).
//!
//! The result is *a* geodesic: on manifolds with conjugate points (a sphere) it
//! need not be the shortest. The path-energy stage starts from the chord and
//! descends, so it finds the minimiser whenever the chord lies in its basin;
//! the closed-form tests confirm the minimiser on the normal, Poisson,
//! exponential, Bernoulli, categorical and lattice families.

pub use super::closed_form;
use super::geodesic::{
    Geodesic, Integration, default_options, fisher_units, flow, flow_displacement, speed2,
};
use super::{Metric, check_point, christoffel};
use crate::error::Error;
use crate::ode;
use nalgebra::{DMatrix, DVector};

/// Settings of [`distance`].
#[derive(Debug, Clone, Copy)]
pub struct ShootOptions {
    /// Converged when the miss at θ₂ in Fisher units is at most `tol`·d.
    pub tol: f64,
    /// Newton or Levenberg–Marquardt iterations per method.
    pub max_iter: usize,
    /// Integrator settings for the geodesic equation.
    pub ode: ode::Options,
    /// Intervals N of the discrete path-energy path (a multiple of `segments`).
    pub nodes: usize,
    /// Segments M of multiple shooting.
    pub segments: usize,
    /// Largest parameter step of the returned path [`Shot::geodesic`]
    /// (0: the integrator's own steps), for finely sampled output.
    pub path_step: f64,
}

impl Default for ShootOptions {
    fn default() -> Self {
        ShootOptions {
            tol: 1e-9,
            max_iter: 40,
            ode: default_options(),
            nodes: 32,
            segments: 8,
            path_step: 0.01,
        }
    }
}

/// The outcome of [`distance`].
#[derive(Debug, Clone)]
pub struct Shot {
    /// The initial velocity v = θ̇(0) on t ∈ [0, 1].
    pub velocity: Vec<f64>,
    /// The geodesic θ(t), t ∈ [0, 1] (the joined segments for multiple shooting).
    pub geodesic: Geodesic,
    /// The Fisher–Rao distance √(vᵀg(θ₁)v).
    pub distance: f64,
    /// The miss |θ(1) − θ₂| in Fisher units at θ₂, √(rᵀg(θ₂)r).
    pub residual: f64,
    /// Newton / Levenberg–Marquardt / descent iterations used (all methods).
    pub iterations: usize,
    /// The method that converged (`quadrature`, `quadrature (path by arc
    /// length)` when the 1-D geodesic equation cannot be followed, `shooting`,
    /// `path energy + shooting`, `path energy + multiple shooting`).
    pub method: &'static str,
    /// The methods tried before it, with their reasons for failing.
    pub attempts: Vec<String>,
}

/// The Fisher–Rao distance from θ₁ to θ₂ and the geodesic joining them (see
/// the module documentation for the methods). Points: d entries each.
///
/// # Errors
/// Bad input ([`Error::is_bad_input`]): a point of the wrong length, outside
/// the chart or where the metric is not positive definite; `nodes`/`segments`
/// inconsistent. [`Error::Failed`] when no method converges: the reason of
/// every attempt, with its miss at θ₂ in Fisher units.
pub fn distance(
    m: &dyn Metric,
    theta1: &[f64],
    theta2: &[f64],
    opt: &ShootOptions,
) -> Result<Shot, Error> {
    solve(m, theta1, theta2, None, opt)
}

/// [`distance`], shooting first from the initial velocity `guess` (θ̇(0) on
/// t ∈ [0, 1], d entries: a closed-form geodesic's velocity, or the solution
/// to a nearby endpoint), then the same chain of methods as [`distance`].
///
/// # Errors
/// As [`distance`]; a `guess` of the wrong length or with a non-finite entry
/// is bad input.
pub fn distance_from(
    m: &dyn Metric,
    theta1: &[f64],
    theta2: &[f64],
    guess: &[f64],
    opt: &ShootOptions,
) -> Result<Shot, Error> {
    if guess.len() != theta1.len() {
        return Err(Error::Dimension {
            field: crate::error::Field::key("guess"),
            expected: format!("{} (one per parameter)", theta1.len()),
            got: guess.len(),
        });
    }
    if let Some((i, v)) = guess.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NotFinite {
            field: crate::error::Field::key("guess").at(i),
            value: *v,
        });
    }
    solve(m, theta1, theta2, Some(guess), opt)
}

/// What a failure of [`distance`] is about.
const WHAT: &str = "geodesic from θ₁ to θ₂";

/// The metric at the endpoint `what` of a distance: an invalid parameter
/// vector becomes [`Error::Point`] naming the endpoint, other bad input
/// [`Error::Domain`] naming it and its value; a failed computation keeps its
/// kind.
fn metric_at(m: &dyn Metric, theta: &[f64], what: &str) -> Result<DMatrix<f64>, Error> {
    m.metric(theta).map_err(|e| match e {
        Error::Param(reason) => Error::Point {
            field: what.into(),
            reason,
        },
        e if e.is_bad_input() => Error::domain(
            what,
            format!("{theta:?}"),
            format!("is not a point where the metric is defined: {e}"),
        ),
        e => e,
    })
}

fn solve(
    m: &dyn Metric,
    theta1: &[f64],
    theta2: &[f64],
    guess: Option<&[f64]>,
    opt: &ShootOptions,
) -> Result<Shot, Error> {
    let first = solve_chain(m, theta1, theta2, guess, opt);
    let Err(e) = first else { return first };
    if e.is_bad_input() || theta1.len() < 2 {
        return Err(e);
    }
    let logged: Vec<bool> = theta1
        .iter()
        .zip(theta2)
        .map(|(a, b)| *a > 0.0 && *b > 0.0)
        .collect();
    if !logged.contains(&true) {
        return Err(e);
    }
    let chart = LnChart { m, logged };
    let (y1, y2) = (chart.to_y(theta1), chart.to_y(theta2));
    match solve_chain(&chart, &y1, &y2, None, opt) {
        Ok(shot) => Ok(chart.shot_back(shot, theta1, e.to_string())),
        Err(e2) => {
            let why = |e: &Error| {
                let s = e.to_string();
                let head = format!("{WHAT} failed: ");
                s.strip_prefix(&head).map_or(s.clone(), str::to_string)
            };
            let (a, b) = (
                DVector::from_column_slice(theta1),
                DVector::from_column_slice(theta2),
            );
            let far = match chord_by_arc_length(m, &a, &b, 2) {
                Ok((len, _)) => format!(
                    "out of reach: the coordinate chord is {len:.3e} Fisher units long; a shot \
                     over such a path amplifies its integration error beyond double precision \
                     (like e^(d/√2) on the normal family) and the path-energy seed from that \
                     chord did not come near enough to the geodesic for multiple shooting \
                     (docs/geometry.md: where the numerical route works)"
                ),
                Err(_) => "out of reach of every method".to_string(),
            };
            Err(Error::failed(
                WHAT,
                format!(
                    "{far}. {}; again in the chart ln θᵢ of the positive coordinates {:?}: {}",
                    why(&e),
                    chart.positions(),
                    why(&e2)
                ),
            ))
        }
    }
}

/// The chart y with yᵢ = ln θᵢ for the coordinates marked in `logged`
/// (positive at both ends) and yᵢ = θᵢ for the others: g̃ = JgJ with
/// J = diag(θᵢ or 1), and the geodesic acceleration ÿᵢ = θ̈ᵢ/θᵢ − ẏᵢ² from the
/// metric's own. A scale parameter that spans decades (σ from 10⁻¹⁰⁰ to 10¹⁰⁰)
/// is a segment of a few hundred units here, its chord the ln-straight line,
/// and the metric varies on the scale of one unit instead of on the scale of θ;
/// the fallback of [`distance`] when every method fails in θ.
struct LnChart<'a> {
    m: &'a dyn Metric,
    logged: Vec<bool>,
}

impl LnChart<'_> {
    fn positions(&self) -> Vec<usize> {
        (0..self.logged.len()).filter(|&i| self.logged[i]).collect()
    }
    fn to_y(&self, theta: &[f64]) -> Vec<f64> {
        theta
            .iter()
            .zip(&self.logged)
            .map(|(x, l)| if *l { x.ln() } else { *x })
            .collect()
    }
    fn to_theta(&self, y: &[f64]) -> Vec<f64> {
        y.iter()
            .zip(&self.logged)
            .map(|(x, l)| if *l { x.exp() } else { *x })
            .collect()
    }
    /// J = dθ/dy, diagonal.
    fn jacobian(&self, theta: &[f64]) -> Vec<f64> {
        theta
            .iter()
            .zip(&self.logged)
            .map(|(x, l)| if *l { *x } else { 1.0 })
            .collect()
    }
    /// The shot found in y as a shot in θ (the start is θ₁ itself); `first`
    /// is why the chain failed in θ.
    fn shot_back(&self, s: Shot, theta1: &[f64], first: String) -> Shot {
        let j1 = self.jacobian(theta1);
        let mut g = s.geodesic;
        for (p, v) in g.points.iter_mut().zip(g.velocities.iter_mut()) {
            let x = self.to_theta(p);
            let j = self.jacobian(&x);
            v.iter_mut().zip(&j).for_each(|(a, b)| *a *= b);
            *p = x;
        }
        if let Some(p) = g.points.first_mut() {
            p.copy_from_slice(theta1);
        }
        let mut attempts = vec![first];
        attempts.extend(s.attempts);
        Shot {
            velocity: s.velocity.iter().zip(&j1).map(|(a, b)| a * b).collect(),
            geodesic: g,
            distance: s.distance,
            residual: s.residual,
            iterations: s.iterations,
            method: match s.method {
                "shooting" => "ln chart: shooting",
                "path energy + shooting" => "ln chart: path energy + shooting",
                "path energy + multiple shooting" => "ln chart: path energy + multiple shooting",
                "continuation in the endpoint" => "ln chart: continuation in the endpoint",
                _ => "ln chart",
            },
            attempts,
        }
    }
}

impl Metric for LnChart<'_> {
    fn dim(&self) -> usize {
        self.m.dim()
    }
    fn metric(&self, y: &[f64]) -> crate::error::Result<DMatrix<f64>> {
        let theta = self.to_theta(y);
        let j = self.jacobian(&theta);
        let mut g = self.m.metric(&theta)?;
        for r in 0..g.nrows() {
            for c in 0..g.ncols() {
                g[(r, c)] *= j[r] * j[c];
            }
        }
        Ok(g)
    }
    fn known_acceleration(
        &self,
        y: &[f64],
        v: &[f64],
        out: &mut [f64],
    ) -> Option<crate::error::Result<()>> {
        let theta = self.to_theta(y);
        let j = self.jacobian(&theta);
        let vt: Vec<f64> = v.iter().zip(&j).map(|(a, b)| a * b).collect();
        let r = self.m.known_acceleration(&theta, &vt, out)?;
        if let Err(e) = r {
            return Some(Err(e));
        }
        for i in 0..out.len() {
            if self.logged[i] {
                out[i] = out[i] / theta[i] - v[i] * v[i];
            }
        }
        Some(Ok(()))
    }
}

/// The chain of methods of the module documentation in the chart of `m`.
fn solve_chain(
    m: &dyn Metric,
    theta1: &[f64],
    theta2: &[f64],
    guess: Option<&[f64]>,
    opt: &ShootOptions,
) -> Result<Shot, Error> {
    check_point(m, theta1, "first point")?;
    check_point(m, theta2, "second point")?;
    let g1 = metric_at(m, theta1, "first point")?;
    let g2 = metric_at(m, theta2, "second point")?;
    if opt.nodes < 2 || opt.segments < 1 || !opt.nodes.is_multiple_of(opt.segments) {
        return Err(Error::setting(
            "nodes/segments",
            format!(
                "nodes ({}) must be ≥ 2 and a multiple of segments ({})",
                opt.nodes, opt.segments
            ),
        ));
    }
    let failed = |e: String| Error::failed(WHAT, e);
    if theta1 == theta2 {
        let how = Integration {
            metric: m,
            opt: &opt.ode,
            units: &[],
        };
        let geodesic =
            flow(how, theta1, &vec![0.0; theta1.len()], 1.0).map_err(|e| failed(e.to_string()))?;
        return Ok(Shot {
            velocity: vec![0.0; theta1.len()],
            geodesic,
            distance: 0.0,
            residual: 0.0,
            iterations: 0,
            method: "identical points",
            attempts: vec![],
        });
    }
    // A metric that overflows (σ = 1e-300: 1/σ² = 1e600) is a limit of double
    // precision at valid points, not bad input: a failed computation (exit 1).
    let w = Whitening::new(&g1, &g2).map_err(|e| {
        Error::failed(
            WHAT,
            format!("{e} (the Fisher metric is beyond double precision at these points)"),
        )
    })?;
    let units: Vec<f64> = {
        let (u1, u2) = (fisher_units(m, theta1)?, fisher_units(m, theta2)?);
        u1.iter().zip(&u2).map(|(a, b)| a.min(*b)).collect()
    };
    if theta1.len() == 1 {
        return one_dimensional(m, theta1, theta2, &g1, &g2, opt, &units);
    }
    let a = DVector::from_column_slice(theta1);
    let b = DVector::from_column_slice(theta2);
    let mut attempts = Vec::new();
    let mut iterations = 0;
    // The Fisher length of the coordinate chord bounds the distance from above:
    // a "geodesic" longer than it is not the shortest path and is rejected.
    let (chord_len, chord) = match chord_by_arc_length(m, &a, &b, opt.nodes) {
        Ok(c) => c,
        Err(e) => return Err(failed(format!("the coordinate chord: {e}"))),
    };
    let max_len = chord_len * (1.0 + 1e-5);
    // One single-shooting attempt from v0 with `budget` iterations: the
    // velocity found and its iterations, or its iterations counted and its
    // failure noted under `from`.
    let attempt =
        |v0, budget, from: &str, iterations: &mut usize, attempts: &mut Vec<String>| match shoot(
            m, &a, &b, v0, 1.0, &w, opt, &units, budget, max_len,
        ) {
            Ok(found) => Some(found),
            Err((e, it)) => {
                *iterations += it;
                attempts.push(format!("shooting from {from}: {e}"));
                None
            }
        };
    let done = |v, it, method, attempts| {
        finish(m, theta1, theta2, v, it, method, attempts, opt, &units, &w)
    };
    if let Some(g) = guess {
        let v0 = DVector::from_column_slice(g);
        let shot = attempt(
            v0,
            opt.max_iter,
            "the guess",
            &mut iterations,
            &mut attempts,
        );
        if let Some((v, it)) = shot {
            return done(v, it, "shooting from the guess", attempts);
        }
    }
    let first_budget = opt.max_iter.min(15);
    let shot = attempt(
        &b - &a,
        first_budget,
        "the chord",
        &mut iterations,
        &mut attempts,
    );
    if let Some((v, it)) = shot {
        return done(v, it, "shooting", attempts);
    }
    let (path, it) = match path_energy(m, chord, opt.max_iter.max(200)) {
        Ok(p) => p,
        Err(e) => {
            attempts.push(format!("path energy: {e}"));
            return by_continuation(
                m, theta1, theta2, &g1, opt, &units, max_len, iterations, attempts,
            );
        }
    };
    iterations += it;
    let v0 = node_velocity(m, &path, 0, opt, &units);
    let from = "the path-energy path";
    let shot = attempt(v0, opt.max_iter, from, &mut iterations, &mut attempts);
    if let Some((v, it)) = shot {
        return done(v, iterations + it, "path energy + shooting", attempts);
    }
    match multiple_shoot(m, &a, &b, &path, opt, &units, &w) {
        Ok((nodes, it)) => {
            iterations += it;
            let span = 1.0 / nodes.len() as f64;
            let mut geodesic = Geodesic {
                t: vec![],
                points: vec![],
                velocities: vec![],
                length: 0.0,
                speed_drift: 0.0,
            };
            let v = nodes[0].1.clone();
            let s0 = speed2(m, theta1, v.as_slice()).map_err(|e| failed(e.to_string()))?;
            let mut end = a.clone();
            for (j, (x, u)) in nodes.iter().enumerate() {
                let po = path_options(opt);
                let how = Integration {
                    metric: m,
                    opt: &po,
                    units: &units,
                };
                let seg = flow(how, x.as_slice(), u.as_slice(), span)
                    .map_err(|e| failed(e.to_string()))?;
                let skip = usize::from(j > 0);
                for k in skip..seg.t.len() {
                    geodesic.t.push(j as f64 * span + seg.t[k]);
                    let s = speed2(m, &seg.points[k], &seg.velocities[k])
                        .map_err(|e| failed(e.to_string()))?;
                    geodesic.speed_drift = geodesic.speed_drift.max((s - s0).abs() / s0);
                    geodesic.points.push(seg.points[k].clone());
                    geodesic.velocities.push(seg.velocities[k].clone());
                }
                end = DVector::from_column_slice(seg.end());
            }
            geodesic.length = s0.sqrt();
            Ok(Shot {
                velocity: v.as_slice().to_vec(),
                distance: geodesic.length,
                residual: w.miss(&(end - &b)),
                geodesic,
                iterations,
                method: "path energy + multiple shooting",
                attempts,
            })
        }
        Err(e) => {
            attempts.push(format!("multiple shooting from the path-energy path: {e}"));
            by_continuation(
                m, theta1, theta2, &g1, opt, &units, max_len, iterations, attempts,
            )
        }
    }
}

/// Continuation in the endpoint (method 6 of the module documentation): the
/// geodesic to θ₁ + s(θ₂ − θ₁) for s rising to 1, each shot seeded by the last
/// solution. At most 48 solves; the step in s is never below 1/1024.
#[allow(clippy::too_many_arguments)]
fn by_continuation(
    m: &dyn Metric,
    theta1: &[f64],
    theta2: &[f64],
    g1: &DMatrix<f64>,
    opt: &ShootOptions,
    units: &[f64],
    max_len: f64,
    mut iterations: usize,
    mut attempts: Vec<String>,
) -> Result<Shot, Error> {
    let a = DVector::from_column_slice(theta1);
    let b = DVector::from_column_slice(theta2);
    let chord = &b - &a;
    // (s, v) of the last solved endpoint; s = 0 is θ₁ itself, with v = 0.
    let (mut s_done, mut v_done) = (0.0, DVector::zeros(a.len()));
    let mut ds: f64 = 0.125;
    let mut last_err = String::new();
    for _ in 0..48 {
        let s = (s_done + ds).min(1.0);
        let target = &a + &chord * s;
        let step = || -> Result<(DVector<f64>, usize), (String, usize)> {
            let gt = m
                .metric(target.as_slice())
                .map_err(|e| (format!("the metric at s = {s}: {e}"), 0))?;
            let wt = Whitening::new(g1, &gt).map_err(|e| (e.to_string(), 0))?;
            let v0 = if s_done > 0.0 {
                &v_done * (s / s_done)
            } else {
                &chord * s
            };
            shoot(
                m,
                &a,
                &target,
                v0,
                1.0,
                &wt,
                opt,
                units,
                opt.max_iter,
                max_len,
            )
        };
        match step() {
            Ok((v, it)) => {
                iterations += it;
                if s >= 1.0 {
                    let w = Whitening::new(g1, &m.metric(theta2)?)?;
                    return finish(
                        m,
                        theta1,
                        theta2,
                        v,
                        iterations,
                        "continuation in the endpoint",
                        attempts,
                        opt,
                        units,
                        &w,
                    );
                }
                s_done = s;
                v_done = v;
                ds *= 2.0;
            }
            Err((e, it)) => {
                iterations += it;
                last_err = format!("at s = {s:.6}: {e}");
                ds *= 0.5;
                if ds < 1.0 / 1024.0 {
                    break;
                }
            }
        }
    }
    attempts.push(format!(
        "continuation in the endpoint reached s = {s_done:.6} of 1 (last failure {last_err})"
    ));
    Err(Error::failed(WHAT, attempts.join("; ")))
}

/// Cholesky factors of g(θ₁) and g(θ₂): w = L₁ᵀv is a velocity in Fisher
/// units at θ₁ (|w| = √(vᵀg₁v)), L₂ᵀr a miss in Fisher units at θ₂.
struct Whitening {
    l1t: DMatrix<f64>,
    l2t: DMatrix<f64>,
}

impl Whitening {
    fn new(g1: &DMatrix<f64>, g2: &DMatrix<f64>) -> Result<Self, Error> {
        let f = |g: &DMatrix<f64>, w: &str| {
            crate::linalg::cholesky(&crate::fisher::symmetrize(g.clone()), w)
                .map(|c| c.l().transpose())
        };
        Ok(Whitening {
            l1t: f(g1, "the metric at the first point")?,
            l2t: f(g2, "the metric at the second point")?,
        })
    }
    /// v from w: solve L₁ᵀv = w.
    fn velocity(&self, w: &DVector<f64>) -> DVector<f64> {
        self.l1t
            .solve_upper_triangular(w)
            .unwrap_or_else(|| DVector::from_element(w.len(), f64::NAN))
    }
    fn miss(&self, r: &DVector<f64>) -> f64 {
        (&self.l2t * r).norm()
    }
}

/// The integrator settings of the returned path (steps of at most `path_step`).
fn path_options(opt: &ShootOptions) -> ode::Options {
    ode::Options {
        h_max: opt.path_step,
        ..opt.ode
    }
}

/// Builds the [`Shot`] of a converged single-shooting velocity.
#[allow(clippy::too_many_arguments)]
fn finish(
    m: &dyn Metric,
    theta1: &[f64],
    theta2: &[f64],
    v: DVector<f64>,
    iterations: usize,
    method: &'static str,
    attempts: Vec<String>,
    opt: &ShootOptions,
    units: &[f64],
    w: &Whitening,
) -> Result<Shot, Error> {
    let po = path_options(opt);
    let how = Integration {
        metric: m,
        opt: &po,
        units,
    };
    let geodesic =
        flow(how, theta1, v.as_slice(), 1.0).map_err(|e| Error::failed(WHAT, e.to_string()))?;
    let miss = DVector::from_column_slice(geodesic.end()) - DVector::from_column_slice(theta2);
    Ok(Shot {
        velocity: v.as_slice().to_vec(),
        distance: geodesic.length,
        residual: w.miss(&miss),
        geodesic,
        iterations,
        method,
        attempts,
    })
}

/// 1-D: d = |∫√g| by adaptive quadrature; the path from v = ±d/√g(θ₁).
fn one_dimensional(
    m: &dyn Metric,
    a: &[f64],
    b: &[f64],
    g1: &DMatrix<f64>,
    g2: &DMatrix<f64>,
    opt: &ShootOptions,
    units: &[f64],
) -> crate::error::Result<Shot> {
    let failed = |e: String| Error::failed(WHAT, e);
    let (x1, x2) = (a[0], b[0]);
    let root_g = |x: f64| m.metric(&[x]).map(|g| g[(0, 0)].sqrt()).unwrap_or(f64::NAN);
    let logs = x1 * x2 > 0.0 && (x1 / x2).abs().max((x2 / x1).abs()) > 4.0;
    let rel = (opt.tol * 1e-2).max(1e-14);
    let (integral, _) = if logs {
        let s = x1.signum();
        crate::quadrature::integrate_adaptive(
            |u| {
                let x = s * u.exp();
                root_g(x) * x.abs()
            },
            x1.abs().ln(),
            x2.abs().ln(),
            rel,
            0.0,
            4000,
        )
    } else {
        crate::quadrature::integrate_adaptive(root_g, x1, x2, rel, 0.0, 4000)
    }
    .map_err(|e| failed(format!("quadrature of √g: {e}")))?;
    let d = integral.abs();
    let v = (x2 - x1).signum() * d / g1[(0, 0)].sqrt();
    // The path: the geodesic equation from both ends to t = ½ (so neither
    // flow can overshoot an end that lies on the edge of the chart); the
    // mismatch at the middle, in Fisher units, checks the quadrature.
    let u = -(x2 - x1).signum() * d / g2[(0, 0)].sqrt();
    // Across many decades (θ from 1e-100 to 1e100) the geodesic equation in θ
    // cannot be followed in double precision (its velocity spans 200 decades);
    // the path is then the arc-length inversion of the same integral, in the
    // coordinate of the quadrature.
    let po = path_options(opt);
    let how = Integration {
        metric: m,
        opt: &po,
        units,
    };
    let traced = flow(how, a, &[v], 0.5)
        .map_err(|e| format!("the 1-D geodesic path from the first point: {e}"))
        .and_then(|fwd| {
            flow(how, b, &[u], 0.5)
                .map(|bwd| (fwd, bwd))
                .map_err(|e| format!("the 1-D geodesic path from the second point: {e}"))
        });
    let (fwd, bwd) = match traced {
        Ok(p) => p,
        Err(why) => {
            return path_by_quadrature(m, x1, x2, logs, integral, rel, v)
                .map_err(|e| failed(format!("{why}; the path by quadrature: {e}")));
        }
    };
    let (mf, mb) = (fwd.end()[0], bwd.end()[0]);
    let gm = m
        .metric(&[0.5 * (mf + mb)])
        .map_err(|e| failed(format!("the middle of the 1-D path: {e}")))?;
    let residual = (mf - mb).abs() * gm[(0, 0)].sqrt();
    let mut geodesic = fwd.clone();
    for k in (0..bwd.t.len() - 1).rev() {
        geodesic.t.push(1.0 - bwd.t[k]);
        geodesic.points.push(bwd.points[k].clone());
        geodesic.velocities.push(vec![-bwd.velocities[k][0]]);
    }
    geodesic.length = d;
    geodesic.speed_drift = fwd.speed_drift.max(bwd.speed_drift);
    Ok(Shot {
        velocity: vec![v],
        distance: d,
        residual,
        geodesic,
        iterations: 0,
        method: "quadrature",
        attempts: vec![],
    })
}

/// Intervals of the 1-D path traced by quadrature ([`path_by_quadrature`]).
const QUADRATURE_PATH_INTERVALS: usize = 256;

/// The 1-D geodesic as the inversion of its arc length: the integration
/// coordinate (ln|θ| when `logs`, else θ) cut into
/// [`QUADRATURE_PATH_INTERVALS`] equal intervals, the Fisher length of each by
/// its own adaptive quadrature, t = (length so far)/(their sum) and
/// θ̇ = ±d/√g(θ) at each cut. The residual is the disagreement, in Fisher
/// units, of the sum of the pieces with the whole `integral` (two independent
/// quadratures of the same length); the speed drift is that of g(θ̇, θ̇) = d²
/// at the cuts.
fn path_by_quadrature(
    m: &dyn Metric,
    x1: f64,
    x2: f64,
    logs: bool,
    integral: f64,
    rel: f64,
    v: f64,
) -> crate::error::Result<Shot> {
    let root_g = |x: f64| m.metric(&[x]).map(|g| g[(0, 0)].sqrt()).unwrap_or(f64::NAN);
    let sign = x1.signum();
    let (c1, c2) = if logs {
        (x1.abs().ln(), x2.abs().ln())
    } else {
        (x1, x2)
    };
    let point = |c: f64| if logs { sign * c.exp() } else { c };
    let density = |c: f64| {
        if logs {
            let x = point(c);
            root_g(x) * x.abs()
        } else {
            root_g(c)
        }
    };
    let n = QUADRATURE_PATH_INTERVALS;
    let cut = |k: usize| {
        if k == n {
            x2
        } else if k == 0 {
            x1
        } else {
            point(c1 + (c2 - c1) * k as f64 / n as f64)
        }
    };
    let coord = |k: usize| c1 + (c2 - c1) * k as f64 / n as f64;
    let mut lengths = vec![0.0];
    for k in 0..n {
        let (piece, _) =
            crate::quadrature::integrate_adaptive(density, coord(k), coord(k + 1), rel, 0.0, 4000)?;
        lengths.push(lengths[k] + piece.abs());
    }
    let total = lengths[n];
    let d = integral.abs();
    let dir = (x2 - x1).signum();
    let mut geodesic = Geodesic {
        t: Vec::with_capacity(n + 1),
        points: Vec::with_capacity(n + 1),
        velocities: Vec::with_capacity(n + 1),
        length: d,
        speed_drift: 0.0,
    };
    for (k, s) in lengths.iter().enumerate() {
        let x = cut(k);
        let vk = dir * d / root_g(x);
        let s2 = speed2(m, &[x], &[vk])?;
        geodesic.speed_drift = geodesic.speed_drift.max((s2 - d * d).abs() / (d * d));
        geodesic.t.push(s / total);
        geodesic.points.push(vec![x]);
        geodesic.velocities.push(vec![vk]);
    }
    Ok(Shot {
        velocity: vec![v],
        distance: d,
        residual: (total - d).abs(),
        geodesic,
        iterations: 0,
        method: "quadrature (path by arc length)",
        attempts: vec![],
    })
}

/// Levenberg–Marquardt with a trust radius on the whitened miss: the geodesic
/// from a with velocity v followed over [0, `span`] must end at b. `v0` is the
/// first guess; returns (v, iterations) or the reason and the iterations spent.
/// The unknown is w = L₁ᵀv·span, the segment in Fisher units at a, so steps are
/// measured in Fisher units; a step is capped at the trust radius (doubled
/// after a success, halved after a failure), which keeps the iteration from
/// jumping where the exponential map is nearly flat or explodes. Segments
/// longer than `max_len` (an upper bound on the distance) are rejected.
#[allow(clippy::too_many_arguments)]
fn shoot(
    m: &dyn Metric,
    a: &DVector<f64>,
    b: &DVector<f64>,
    v0: DVector<f64>,
    span: f64,
    wh: &Whitening,
    opt: &ShootOptions,
    units: &[f64],
    max_iter: usize,
    max_len: f64,
) -> Result<(DVector<f64>, usize), (String, usize)> {
    let chord = b - a;
    let how = Integration {
        metric: m,
        opt: &opt.ode,
        units,
    };
    let resid = |w: &DVector<f64>| -> Option<DVector<f64>> {
        let v = wh.velocity(w) / span;
        let (delta, _) = flow_displacement(how, a.as_slice(), v.as_slice(), span).ok()?;
        let r = &wh.l2t * (DVector::from_vec(delta) - &chord);
        r.iter().all(|x| x.is_finite()).then_some(r)
    };
    let mut w = &wh.l1t * v0 * span;
    let Some(mut r) = resid(&w) else {
        return Err(("the first guess leaves the chart".into(), 0));
    };
    let d = w.len();
    let mut lambda = 1e-3;
    let mut radius = w.norm().max(1.0);
    let too_long = |w: &DVector<f64>| w.norm() > max_len;
    for it in 0..max_iter {
        let dist = w.norm();
        if r.norm() <= opt.tol * dist {
            if too_long(&w) {
                return Err((
                    format!(
                        "found a geodesic of length {dist:.6e}, longer than the chord ({max_len:.6e}): not the shortest"
                    ),
                    it,
                ));
            }
            return Ok((wh.velocity(&w) / span, it));
        }
        // The Jacobian: forward differences in the whitened velocity (backward
        // where the forward point leaves the chart); Newton needs no more.
        let h = 1e-7 * dist.max(1e-300);
        let mut j = DMatrix::zeros(d, d);
        for k in 0..d {
            let mut wp = w.clone();
            wp[k] += h;
            let col = match resid(&wp) {
                Some(p) => (p - &r) / h,
                None => {
                    let mut wm = w.clone();
                    wm[k] -= h;
                    match resid(&wm) {
                        Some(q) => (&r - q) / h,
                        None => {
                            return Err((
                                format!("the exponential map is not differentiable at w = {w}"),
                                it,
                            ));
                        }
                    }
                }
            };
            j.set_column(k, &col);
        }
        let jtj = j.transpose() * &j;
        let jtr = j.transpose() * &r;
        let mut improved = false;
        for _ in 0..16 {
            let mut sys = jtj.clone();
            for i in 0..d {
                sys[(i, i)] += lambda * jtj[(i, i)].max(1e-30);
            }
            let Some(mut step) = sys.lu().solve(&(-&jtr)) else {
                lambda *= 10.0;
                continue;
            };
            let len = step.norm();
            if len > radius {
                step *= radius / len;
            }
            let cand = &w + &step;
            if cand.norm() <= 2.0 * max_len
                && let Some(rc) = resid(&cand)
                && rc.norm() < r.norm()
            {
                w = cand;
                r = rc;
                lambda = (lambda * 0.1).max(1e-12);
                radius = (2.0 * radius).max(2.0 * step.norm());
                improved = true;
                break;
            }
            lambda *= 4.0;
            radius = 0.5 * radius.min(len);
        }
        if !improved {
            return Err((
                format!(
                    "stalled at a miss of {:.3e} Fisher units (segment length {:.6e})",
                    r.norm(),
                    w.norm()
                ),
                it,
            ));
        }
    }
    if r.norm() <= opt.tol * w.norm() && !too_long(&w) {
        return Ok((wh.velocity(&w) / span, max_iter));
    }
    Err((
        format!(
            "no convergence in {max_iter} iterations: miss {:.3e} Fisher units for a length of {:.6e}",
            r.norm(),
            w.norm()
        ),
        max_iter,
    ))
}

/// The velocity at node `k` of a path with N segments: the geodesic from xₖ
/// that reaches xₖ₊₁ at t = 1/N (a short two-point problem, solved by
/// [`shoot`] from the chord N(xₖ₊₁ − xₖ)); the central difference of the nodes
/// if that fails.
fn node_velocity(
    m: &dyn Metric,
    path: &[DVector<f64>],
    k: usize,
    opt: &ShootOptions,
    units: &[f64],
) -> DVector<f64> {
    let n = (path.len() - 1) as f64;
    let chord = (&path[k + 1] - &path[k]) * n;
    let local = (|| {
        let g1 = m.metric(path[k].as_slice()).ok()?;
        let g2 = m.metric(path[k + 1].as_slice()).ok()?;
        let wh = Whitening::new(&g1, &g2).ok()?;
        let o = ShootOptions { tol: 1e-8, ..*opt };
        shoot(
            m,
            &path[k],
            &path[k + 1],
            chord.clone(),
            1.0 / n,
            &wh,
            &o,
            units,
            30,
            f64::INFINITY,
        )
        .ok()
    })();
    match local {
        Some((v, _)) => v,
        None if k > 0 => (&path[k + 1] - &path[k - 1]) * (0.5 * n),
        None => chord,
    }
}

/// The metric at the nodes and midpoints of a path and its discrete energy
/// N·Σₖ ΔₖᵀGₖΔₖ, Gₖ = [g(xₖ) + 4g(mₖ) + g(xₖ₊₁)]/6 (Simpson's rule on each
/// coordinate segment).
struct PathEnergy {
    e: f64,
    at_nodes: Vec<DMatrix<f64>>,
    at_mids: Vec<DMatrix<f64>>,
}

impl PathEnergy {
    /// None if a node or a midpoint is outside the chart.
    fn new(m: &dyn Metric, x: &[DVector<f64>]) -> Option<Self> {
        let n = x.len() - 1;
        let at_nodes: Vec<DMatrix<f64>> = x
            .iter()
            .map(|p| m.metric(p.as_slice()).ok())
            .collect::<Option<_>>()?;
        let at_mids: Vec<DMatrix<f64>> = (0..n)
            .map(|k| m.metric(((&x[k] + &x[k + 1]) * 0.5).as_slice()).ok())
            .collect::<Option<_>>()?;
        let mut pe = PathEnergy {
            e: 0.0,
            at_nodes,
            at_mids,
        };
        for k in 0..n {
            let dx = &x[k + 1] - &x[k];
            pe.e += n as f64 * dx.dot(&(pe.segment(k) * &dx));
        }
        pe.e.is_finite().then_some(pe)
    }
    /// Gₖ.
    fn segment(&self, k: usize) -> DMatrix<f64> {
        (&self.at_nodes[k] + &self.at_mids[k] * 4.0 + &self.at_nodes[k + 1]) / 6.0
    }
}

/// qᵢ = Δᵀ(∂ᵢg)Δ at y for each Δ in `deltas` (g(y) = `g`). From the closed-form
/// geodesic acceleration a(v) = −Γ(v, v) when the metric has one, by
/// ∂ᵢg_jk = Γ_{j,ik} + Γ_{k,ij}: qᵢ = 2Δᵀg·Γ(eᵢ, Δ) with the bilinear
/// Γ(Δ, w) = [a(Δ − w) − a(Δ + w)]/4 at w = c·eᵢ of the same Fisher length as
/// Δ; else from central differences of g.
fn metric_derivative_along(
    m: &dyn Metric,
    y: &DVector<f64>,
    g: &DMatrix<f64>,
    deltas: &[DVector<f64>],
) -> crate::error::Result<Vec<DVector<f64>>> {
    let d = y.len();
    let mut out = vec![0.0; d];
    if m.known_acceleration(y.as_slice(), &vec![0.0; d], &mut out)
        .is_some()
    {
        let mut res = Vec::with_capacity(deltas.len());
        for delta in deltas {
            let len = delta.dot(&(g * delta)).max(0.0).sqrt();
            let mut q = DVector::zeros(d);
            if len > 0.0 {
                let gd = g * delta;
                let (mut ap, mut am) = (vec![0.0; d], vec![0.0; d]);
                for i in 0..d {
                    let c = len / g[(i, i)].sqrt();
                    let mut vp = delta.clone();
                    vp[i] += c;
                    let mut vm = delta.clone();
                    vm[i] -= c;
                    if let Some(r) = m.known_acceleration(y.as_slice(), vm.as_slice(), &mut am) {
                        r?;
                    }
                    if let Some(r) = m.known_acceleration(y.as_slice(), vp.as_slice(), &mut ap) {
                        r?;
                    }
                    // Γ(eᵢ, Δ) = [a(Δ − c eᵢ) − a(Δ + c eᵢ)]/(4c).
                    let gamma = DVector::from_iterator(
                        d,
                        am.iter().zip(&ap).map(|(x, z)| (x - z) / (4.0 * c)),
                    );
                    q[i] = 2.0 * gd.dot(&gamma);
                }
            }
            res.push(q);
        }
        return Ok(res);
    }
    let dg = christoffel::metric_gradient(m, y.as_slice())?;
    Ok(deltas
        .iter()
        .map(|delta| DVector::from_iterator(d, dg.iter().map(|gi| delta.dot(&(gi * delta)))))
        .collect())
}

/// N + 1 points on the coordinate chord a + s(b − a) at equal steps of its
/// Fisher length ∫√(Δᵀg(a + sΔ)Δ)ds, and that length (an upper bound on the
/// distance). Where the metric changes scale along the chord (a rate 1 → 10⁶,
/// a probability 10⁻⁶ → 0.3) the points crowd where g is large, as on the
/// geodesic, so the path energy starts near its minimiser.
///
/// The cumulative length is integrated by the adaptive integrator of
/// [`crate::ode`] in τ with s = ½(1 + tanh τ), τ ∈ [−36, 36]: the map resolves
/// s down to 10⁻³¹ at either end, where the metric of a chord that reaches
/// from 10⁻¹² to 10¹² changes on the scale of its smaller end. Points are found
/// by linear interpolation of τ between the integrator's steps.
fn chord_by_arc_length(
    m: &dyn Metric,
    a: &DVector<f64>,
    b: &DVector<f64>,
    n: usize,
) -> Result<(f64, Vec<DVector<f64>>), String> {
    const T: f64 = 36.0;
    let delta = b - a;
    // The point at τ, from the nearer end (1 − s = e^{−τ}/(2cosh τ) keeps its
    // digits where s is close to 1).
    let point = |tau: f64| -> (DVector<f64>, f64) {
        let ds = 0.5 / tau.cosh().powi(2);
        if tau <= 0.0 {
            (a + &delta * (tau.exp() / (2.0 * tau.cosh())), ds)
        } else {
            (b - &delta * ((-tau).exp() / (2.0 * tau.cosh())), ds)
        }
    };
    let f = |tau: f64, _y: &[f64], dy: &mut [f64]| {
        let (p, ds) = point(tau);
        dy[0] = m
            .metric(p.as_slice())
            .map(|g| delta.dot(&(g * &delta)).max(0.0).sqrt() * ds)
            .unwrap_or(f64::NAN);
    };
    let opt = ode::Options {
        rtol: 1e-7,
        atol: 0.0,
        h0: 0.05,
        h_max: 0.25,
        max_steps: 100_000,
    };
    let sol = ode::solve(f, -T, &[0.0], T, &opt)
        .map_err(|e| format!("the Fisher length of the chord: {e}"))?;
    let total = sol.last()[0];
    if !(total > 0.0 && total.is_finite()) {
        return Err("the chord has no finite Fisher length".into());
    }
    let mut out = vec![a.clone()];
    let mut j = 0;
    for k in 1..n {
        let target = total * k as f64 / n as f64;
        while j + 2 < sol.t.len() && sol.y[j + 1][0] < target {
            j += 1;
        }
        let (l0, l1) = (sol.y[j][0], sol.y[j + 1][0]);
        let w = if l1 > l0 {
            (target - l0) / (l1 - l0)
        } else {
            0.0
        };
        out.push(point(sol.t[j] + w * (sol.t[j + 1] - sol.t[j])).0);
    }
    out.push(b.clone());
    Ok((total, out))
}

/// Minimises the discrete path energy from the nodes `x` (the chord by arc
/// length) by metric-preconditioned descent with an Armijo line search;
/// returns the nodes x₀ = a, …, x_N = b and the iterations used.
///
/// With E = N·Σₖ ΔₖᵀGₖΔₖ (Simpson on each segment: it holds the metric at both
/// ends, so a segment cannot grow long in Fisher units at no cost, as it could
/// under the midpoint rule alone), the gradient at an inner node k is
/// N[2Gₖ₋₁Δₖ₋₁ − 2GₖΔₖ + (qₖ(Δₖ₋₁) + qₖ(Δₖ))/6 + (q_{mₖ₋₁}(Δₖ₋₁) + q_{mₖ}(Δₖ))/3]
/// with q_y(Δ)ᵢ = Δᵀ∂ᵢg(y)Δ, and the preconditioner is the block-tridiagonal
/// 2N[Gₖ₋₁ + Gₖ, −Gₖ] (the exact Hessian where g is constant).
fn path_energy(
    m: &dyn Metric,
    mut x: Vec<DVector<f64>>,
    max_iter: usize,
) -> Result<(Vec<DVector<f64>>, usize), String> {
    let d = x[0].len();
    let n = x.len() - 1;
    let nf = n as f64;
    let Some(mut pe) = PathEnergy::new(m, &x) else {
        return Err("the coordinate chord leaves the chart".into());
    };
    let unknowns = (n - 1) * d;
    for it in 0..max_iter {
        let mut grad = DVector::zeros(unknowns);
        let mut p = DMatrix::zeros(unknowns, unknowns);
        let deltas: Vec<DVector<f64>> = (0..n).map(|k| &x[k + 1] - &x[k]).collect();
        let segs: Vec<DMatrix<f64>> = (0..n).map(|k| pe.segment(k)).collect();
        for k in 0..n {
            let mid = (&x[k] + &x[k + 1]) * 0.5;
            let qm = metric_derivative_along(m, &mid, &pe.at_mids[k], &deltas[k..=k])
                .map_err(|e| format!("metric derivative on the path: {e}"))?;
            let gd = &segs[k] * &deltas[k];
            // Segment k pulls on its left node k and its right node k + 1.
            for (node, sign) in [(k, -1.0), (k + 1, 1.0)] {
                if node == 0 || node == n {
                    continue;
                }
                let r = (node - 1) * d;
                let mut gr = grad.rows_mut(r, d);
                gr += (&gd * (2.0 * sign) + &qm[0] / 3.0) * nf;
                let mut pb = p.view_mut((r, r), (d, d));
                pb += &segs[k] * (2.0 * nf);
            }
            if k >= 1 && k < n - 1 {
                let (r1, r2) = ((k - 1) * d, k * d);
                let off = &segs[k] * (-2.0 * nf);
                p.view_mut((r1, r2), (d, d)).copy_from(&off);
                p.view_mut((r2, r1), (d, d)).copy_from(&off);
            }
        }
        for k in 1..n {
            let q = metric_derivative_along(
                m,
                &x[k],
                &pe.at_nodes[k],
                &[deltas[k - 1].clone(), deltas[k].clone()],
            )
            .map_err(|e| format!("metric derivative on the path: {e}"))?;
            let mut gr = grad.rows_mut((k - 1) * d, d);
            gr += (&q[0] + &q[1]) * (nf / 6.0);
        }
        let Some(chol) = p.clone().cholesky() else {
            return Err("the preconditioner is not positive definite".into());
        };
        let step = -chol.solve(&grad);
        let slope = grad.dot(&step);
        // Newton decrement relative to the energy: a seed needs no more.
        if -slope <= 1e-7 * pe.e {
            return Ok((x, it));
        }
        let mut alpha = 1.0;
        let mut accepted = false;
        for _ in 0..50 {
            let cand: Vec<DVector<f64>> = (0..=n)
                .map(|k| {
                    if k == 0 || k == n {
                        x[k].clone()
                    } else {
                        &x[k] + step.rows((k - 1) * d, d) * alpha
                    }
                })
                .collect();
            if let Some(pc) = PathEnergy::new(m, &cand)
                && pc.e <= pe.e + 1e-4 * alpha * slope
            {
                x = cand;
                pe = pc;
                accepted = true;
                break;
            }
            alpha *= 0.5;
        }
        if !accepted {
            // No descent left at rounding level: the path is as good as this
            // discretisation gets.
            return Ok((x, it));
        }
    }
    Ok((x, max_iter))
}

/// A segment of a multiple-shooting path: its start and its velocity, or its
/// displacement and end velocity.
type Segment = (DVector<f64>, DVector<f64>);

/// Multiple shooting seeded by the path-energy nodes: returns the segment
/// starts (xⱼ, vⱼ), j = 0…M−1, and the Newton iterations.
fn multiple_shoot(
    m: &dyn Metric,
    a: &DVector<f64>,
    b: &DVector<f64>,
    path: &[DVector<f64>],
    opt: &ShootOptions,
    units: &[f64],
    wh: &Whitening,
) -> Result<(Vec<Segment>, usize), String> {
    let d = a.len();
    let n = path.len() - 1;
    let mm = opt.segments;
    let stride = n / mm;
    let span = 1.0 / mm as f64;
    // Seed: nodes every `stride` path points, each with the velocity that
    // reaches the next path point.
    let mut xs: Vec<DVector<f64>> = (0..mm).map(|j| path[j * stride].clone()).collect();
    let mut vs: Vec<DVector<f64>> = (0..mm)
        .map(|j| node_velocity(m, path, j * stride, opt, units))
        .collect();
    let size = d + 2 * d * (mm - 1);
    // A segment's end as (displacement δ, velocity): it ends at x + δ.
    let how = Integration {
        metric: m,
        opt: &opt.ode,
        units,
    };
    let seg = |x: &DVector<f64>, v: &DVector<f64>| -> Option<(DVector<f64>, DVector<f64>)> {
        let (de, ve) = flow_displacement(how, x.as_slice(), v.as_slice(), span).ok()?;
        let (de, ve) = (DVector::from_vec(de), DVector::from_vec(ve));
        (de.iter().chain(ve.iter()).all(|t| t.is_finite())).then_some((de, ve))
    };
    // Whitening of the defects at each node: Lⱼᵀ of g(xⱼ) (j = 1…M−1), L_bᵀ at b.
    let factor = |x: &DVector<f64>| -> Option<DMatrix<f64>> {
        let g = m.metric(x.as_slice()).ok()?;
        Some(g.cholesky()?.l().transpose())
    };
    // Residual vector for given nodes with fixed whitening `s`.
    let residual = |xs: &[DVector<f64>],
                    vs: &[DVector<f64>],
                    s: &[DMatrix<f64>]|
     -> Option<(DVector<f64>, Vec<Segment>)> {
        let mut r = DVector::zeros(size);
        let mut ends = Vec::with_capacity(mm);
        for j in 0..mm {
            let (de, ve) = seg(&xs[j], &vs[j])?;
            // Defect x_j + δ − x_{j+1}, formed as δ − (x_{j+1} − x_j).
            if j + 1 < mm {
                let o = 2 * d * j;
                r.rows_mut(o, d)
                    .copy_from(&(&s[j + 1] * (&de - (&xs[j + 1] - &xs[j]))));
                r.rows_mut(o + d, d)
                    .copy_from(&(&s[j + 1] * (&ve - &vs[j + 1])));
            } else {
                r.rows_mut(size - d, d)
                    .copy_from(&(&wh.l2t * (&de - (b - &xs[j]))));
            }
            ends.push((de, ve));
        }
        Some((r, ends))
    };
    // Unknowns: [v₀, x₁, v₁, …, x_{M−1}, v_{M−1}]; column of xⱼ (j ≥ 1):
    let pos = |j: usize| -> usize { d + 2 * d * (j - 1) };
    // Residuals: segment j < M − 1 has its position and velocity defects at rows
    // 2dj…, the last segment its miss at θ₂ in the last d rows.
    for it in 0..opt.max_iter {
        let mut s = vec![DMatrix::zeros(d, d)];
        for x in xs.iter().skip(1) {
            s.push(factor(x).ok_or("a node left the chart")?);
        }
        let Some((r, ends)) = residual(&xs, &vs, &s) else {
            return Err("a segment leaves the chart".into());
        };
        let dist: f64 = (0..mm)
            .map(|j| {
                speed2(m, xs[j].as_slice(), vs[j].as_slice())
                    .unwrap_or(f64::NAN)
                    .sqrt()
                    * span
            })
            .sum();
        let rmax = r.amax();
        if rmax <= opt.tol * dist {
            return Ok((xs.into_iter().zip(vs).collect(), it));
        }
        // Jacobian: Φⱼ = ∂(x_end, v_end)/∂(xⱼ, vⱼ) by forward differences (steps
        // of 1e-7 Fisher units of each coordinate), from the unperturbed ends.
        let mut jac = DMatrix::zeros(size, size);
        for j in 0..mm {
            let uj = fisher_units(m, xs[j].as_slice()).map_err(|e| e.to_string())?;
            let speed = vs[j]
                .iter()
                .zip(&uj)
                .map(|(v, u)| (v / u).abs())
                .fold(1.0, f64::max);
            let rows_s = if j + 1 < mm { &s[j + 1] } else { &wh.l2t };
            for c in 0..2 * d {
                if j == 0 && c < d {
                    continue; // x₀ = a is fixed
                }
                let i = c % d;
                let h = if c < d {
                    1e-7 * uj[i]
                } else {
                    1e-7 * uj[i] * speed
                };
                let perturb = |sign: f64| {
                    let (mut x, mut v) = (xs[j].clone(), vs[j].clone());
                    if c < d {
                        x[i] += sign * h;
                    } else {
                        v[i] += sign * h;
                    }
                    seg(&x, &v)
                };
                let (p, q, hh) = match perturb(1.0) {
                    Some(p) => (p, ends[j].clone(), h),
                    None => match perturb(-1.0) {
                        Some(q) => (ends[j].clone(), q, h),
                        None => return Err(format!("segment {j} is not differentiable")),
                    },
                };
                let col = if j == 0 { c - d } else { pos(j) + c };
                // End position x + δ: a position step adds eᵢ to its derivative.
                let mut dx = (&p.0 - &q.0) / hh;
                if c < d {
                    dx[i] += 1.0;
                }
                if j + 1 < mm {
                    let dv = (&p.1 - &q.1) / hh;
                    let o = 2 * d * j;
                    jac.view_mut((o, col), (d, 1)).copy_from(&(rows_s * dx));
                    jac.view_mut((o + d, col), (d, 1)).copy_from(&(rows_s * dv));
                } else {
                    jac.view_mut((size - d, col), (d, 1))
                        .copy_from(&(rows_s * dx));
                }
            }
            if j + 1 < mm {
                let (o, c) = (2 * d * j, pos(j + 1));
                let sj = &s[j + 1];
                jac.view_mut((o, c), (d, d)).copy_from(&(-sj));
                jac.view_mut((o + d, c + d), (d, d)).copy_from(&(-sj));
            }
        }
        let Some(step) = jac.lu().solve(&(-&r)) else {
            return Err("the multiple-shooting Jacobian is singular".into());
        };
        let apply = |alpha: f64| {
            let mut nx = xs.clone();
            let mut nv = vs.clone();
            for k in 0..d {
                nv[0][k] += alpha * step[k];
            }
            for j in 1..mm {
                let o = pos(j);
                for k in 0..d {
                    nx[j][k] += alpha * step[o + k];
                    nv[j][k] += alpha * step[o + d + k];
                }
            }
            (nx, nv)
        };
        let mut alpha = 1.0;
        let mut accepted = false;
        for _ in 0..30 {
            let (nx, nv) = apply(alpha);
            if nx.iter().all(|x| m.metric(x.as_slice()).is_ok())
                && let Some((rn, _)) = residual(&nx, &nv, &s)
                && rn.norm() < r.norm()
            {
                xs = nx;
                vs = nv;
                accepted = true;
                break;
            }
            alpha *= 0.5;
        }
        if !accepted {
            return Err(format!(
                "Newton stalled at a largest defect of {rmax:.3e} Fisher units (distance {dist:.6e})"
            ));
        }
    }
    Err(format!(
        "no convergence in {} Newton iterations",
        opt.max_iter
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::testmodels;
    use approx::assert_relative_eq;

    /// The shortest geodesic from `a` to `b` with the default options.
    fn shoot(m: &dyn Metric, a: &[f64], b: &[f64]) -> Shot {
        distance(m, a, b, &ShootOptions::default()).unwrap()
    }

    #[test]
    fn unreachable_tolerance_is_a_failed_computation_with_its_misses() {
        // A tolerance below rounding (1e-18 of d) cannot be met: every method
        // must give up with Error::Failed (exit 1), naming each attempt and its
        // miss in Fisher units, and never claim bad input.
        let m = testmodels::normal_sigma();
        let opt = ShootOptions {
            tol: 1e-18,
            max_iter: 6,
            ..ShootOptions::default()
        };
        let e = distance(&m, &[0.0, 1.0], &[3.0, 0.5], &opt).unwrap_err();
        assert!(!e.is_bad_input(), "{e}");
        let msg = e.to_string();
        assert!(matches!(e, Error::Failed { .. }), "{msg}");
        for part in [
            "shooting from the chord",
            "continuation in the endpoint",
            "Fisher units",
        ] {
            assert!(msg.contains(part), "`{part}` not in {msg}");
        }
        // The same pair at the default tolerance succeeds (the failure above is
        // the tolerance's, not the pair's).
        assert!(distance(&m, &[0.0, 1.0], &[3.0, 0.5], &ShootOptions::default()).is_ok());
    }

    #[test]
    fn a_good_guess_converges_at_once_and_a_bad_one_falls_back() {
        // Oracle: the closed-form normal geodesic (half-circle) and its velocity.
        let m = testmodels::normal_sigma();
        let (a, b) = ([0.0, 1.0], [40.0, 1.0]);
        let k = closed_form::normal_geodesic(&a, &b);
        let v = k.velocity.clone().unwrap();
        let s = distance_from(&m, &a, &b, &v, &ShootOptions::default()).unwrap();
        assert_eq!(s.method, "shooting from the guess");
        assert!(s.iterations <= 2, "{}", s.iterations);
        assert_relative_eq!(s.distance, k.distance, max_relative = 1e-9);
        // A guess pointing the wrong way: still the same (unique) geodesic.
        let s = distance_from(&m, &a, &b, &[-v[0], -v[1]], &ShootOptions::default()).unwrap();
        assert_relative_eq!(s.distance, k.distance, max_relative = 1e-8);
        // A guess of the wrong length or with a NaN is bad input.
        let opt = ShootOptions::default();
        assert!(
            distance_from(&m, &a, &b, &[1.0], &opt)
                .unwrap_err()
                .is_bad_input()
        );
        assert!(
            distance_from(&m, &a, &b, &[f64::NAN, 1.0], &opt)
                .unwrap_err()
                .is_bad_input()
        );
    }

    #[test]
    fn normal_sigma_distance() {
        // Oracle: oracles.md §3, √2·arccosh(1 + (Δμ²/2 + Δσ²)/(2σ₁σ₂)); includes
        // a pair far apart in μ, whose geodesic bends far up in σ.
        let m = testmodels::normal_sigma();
        for (a, b) in [
            ([0.0, 1.0], [1.0, 2.0]),
            ([-1.0, 0.5], [3.0, 0.5]),
            ([0.3, 2.0], [0.3, 0.1]),
        ] {
            let s = shoot(&m, &a, &b);
            assert_relative_eq!(
                s.distance,
                closed_form::normal_sigma(&a, &b),
                max_relative = 1e-9
            );
            assert!(s.residual < 1e-9 * s.distance);
        }
    }

    #[test]
    fn reparametrisation_invariance() {
        // Oracle: the distance is a property of the distributions, so (μ, σ) and
        // (μ, v = σ²) shooting must agree with each other and the closed form.
        let (a, b) = ([0.2, 0.7], [1.5, 1.6]);
        let d1 = shoot(&testmodels::normal_sigma(), &a, &b);
        let av = [a[0], a[1] * a[1]];
        let bv = [b[0], b[1] * b[1]];
        let d2 = shoot(&testmodels::normal_var(), &av, &bv);
        assert_relative_eq!(d1.distance, d2.distance, max_relative = 1e-9);
        assert_relative_eq!(
            d2.distance,
            closed_form::normal_var(&av, &bv),
            max_relative = 1e-9
        );
    }

    #[test]
    fn poisson_and_bernoulli_distance() {
        // Oracles: Poisson 2|√λ₁ − √λ₂|, Bernoulli 2|arcsin√p − arcsin√q|.
        let s = shoot(&testmodels::poisson(), &[0.5], &[7.0]);
        assert_eq!(s.method, "quadrature");
        assert_relative_eq!(
            s.distance,
            closed_form::poisson(&[0.5], &[7.0]),
            max_relative = 1e-12
        );
        assert!(s.residual < 1e-9 * s.distance, "{}", s.residual);
        let s = shoot(&testmodels::bernoulli(), &[0.1], &[0.85]);
        assert_relative_eq!(
            s.distance,
            closed_form::bernoulli(&[0.1], &[0.85]),
            max_relative = 1e-12
        );
    }

    #[test]
    fn categorical_distance() {
        // Oracle: 2·arccos Σ√(pᵢqᵢ) for three classes.
        let (a, b) = ([0.2, 0.3], [0.6, 0.05]);
        let s = shoot(&testmodels::categorical3(), &a, &b);
        assert_relative_eq!(
            s.distance,
            closed_form::categorical(&a, &b),
            max_relative = 1e-9
        );
    }

    #[test]
    fn invalid_points_are_input_errors() {
        let m = testmodels::normal_sigma();
        let e = distance(&m, &[0.0, 1.0], &[0.0, -1.0], &ShootOptions::default()).unwrap_err();
        assert!(e.is_bad_input(), "{e}");
        assert!(e.to_string().contains("second point"), "{e}");
        assert!(matches!(
            distance(&m, &[0.0], &[0.0, 1.0], &ShootOptions::default()),
            Err(e) if e.is_bad_input()
        ));
    }
}

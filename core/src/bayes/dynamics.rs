//! The dynamical-Bayes equation (33) in the data "time" T,
//!
//!   ∂π_T/∂T = −(K − E_{π_T}\[K\]) π_T,  K(θ) = KL(θ*‖θ),
//!
//! its solution (34) π_T = π₀ e^{−TK}/Z(T), its invariants, the MAP path μ_T
//! and the late-time law (35) T·Cov_{π_T} → I(θ*)⁻¹.
//!
//! # Integration
//! On a weighted point set (grid or particles) the equation is integrated for
//! u = ln π (eq. 33 divided by π: du/dT = −K + E_{π}\[K\]) together with
//! s = ln Z (ds/dT = −E_π\[K\]) by the classical fourth-order Runge–Kutta method
//! (global order 4 in the step h), with step-doubling control of the local
//! error. Working with u keeps the equation from being stiff where K is large;
//! the K-part of the right-hand side is linear, so the *shape* of π_T is
//! reproduced to round-off and the RK4 error sits in the normalisation ln Z
//! only, O(h⁴), which is what the step control measures.

use super::check_increasing;
use super::energy::Energy;
use super::points::WeightedPoints;
use super::prior::Prior;
use crate::error::{Error, Result};
use argmin::core::{CostFunction, Executor, State};
use argmin::solver::brent::BrentOpt;
use argmin::solver::neldermead::NelderMead;
use nalgebra::{DMatrix, DVector};

/// E_π[K] and Var_π(K) for normalised log-weights `u` (points with K = ∞ must
/// have zero weight).
fn moments_k(u: &[f64], k: &[f64]) -> (f64, f64) {
    let mx = u.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // One exponential per point; points of zero weight (K may be ∞) are skipped.
    let (mut z, mut s1, mut s2) = (0.0, 0.0, 0.0);
    let shift = k
        .iter()
        .zip(u)
        .find(|(_, w)| **w == mx)
        .map_or(0.0, |(kv, _)| *kv);
    for (a, b) in u.iter().zip(k) {
        let w = (a - mx).exp();
        if w > 0.0 {
            let d = b - shift;
            z += w;
            s1 += w * d;
            s2 += w * d * d;
        }
    }
    let m = s1 / z;
    (m + shift, (s2 / z - m * m).max(0.0))
}

/// E_π\[K\] and Var_π(K) of a weighted point set for per-point energies `k`.
pub fn energy_moments(pts: &WeightedPoints, k: &[f64]) -> (f64, f64) {
    moments_k(pts.log_weights(), k)
}

/// One classical RK4 step of size h for (u, s); returns the new u and the
/// increment of s.
fn rk4_step(u: &[f64], k: &[f64], h: f64) -> (Vec<f64>, f64) {
    let n = u.len();
    let mut tmp = vec![0.0; n];
    let stage = |c: f64, e: f64, tmp: &mut [f64]| {
        for i in 0..n {
            tmp[i] = if u[i].is_finite() {
                u[i] + c * (e - k[i])
            } else {
                u[i]
            };
        }
    };
    // du/dT = −K + E[K];  ds/dT = −E[K].
    let e1 = moments_k(u, k).0;
    stage(0.5 * h, e1, &mut tmp);
    let e2 = moments_k(&tmp, k).0;
    stage(0.5 * h, e2, &mut tmp);
    let e3 = moments_k(&tmp, k).0;
    stage(h, e3, &mut tmp);
    let e4 = moments_k(&tmp, k).0;
    let e = (e1 + 2.0 * e2 + 2.0 * e3 + e4) / 6.0;
    stage(h, e, &mut tmp);
    // Keep the log-weights normalised (mass is conserved by (33); the constant
    // removed here is round-off plus the RK4 error of the normalisation).
    let z = super::log_sum_exp(&tmp);
    for v in &mut tmp {
        *v -= z;
    }
    (tmp, -h * e)
}

/// Local error tolerance of [`rk4`] on ln Z per step.
pub const RK4_TOL: f64 = 1e-10;

/// Integrates eq. (33) from T = `t0` to `t1` in place, by classical RK4 steps
/// (at least `steps` of them) with step-doubling control: each step is
/// compared with two half steps and accepted when they agree on ln Z to
/// [`RK4_TOL`] (the shape of π is exact at any step, see the module docs).
/// `k` holds K at each point. Returns the increment of ln Z over the interval
/// (d ln Z/dT = −E_π\[K\]).
pub fn rk4(pts: &mut WeightedPoints, k: &[f64], t0: f64, t1: f64, steps: usize) -> f64 {
    // Points outside the parameter space (K = ∞) have zero weight for T > 0.
    for (w, kv) in pts.log_weights_mut().iter_mut().zip(k) {
        if !kv.is_finite() {
            *w = f64::NEG_INFINITY;
        }
    }
    pts.normalize();
    let hmax = (t1 - t0) / steps.max(1) as f64;
    let mut h = hmax;
    let mut t = t0;
    let mut s = 0.0;
    let mut u: Vec<f64> = pts.log_weights().to_vec();
    while t < t1 {
        let hh = h.min(t1 - t);
        let (_, s_full) = rk4_step(&u, k, hh);
        let (u_half, s1) = rk4_step(&u, k, 0.5 * hh);
        let (u2, s2) = rk4_step(&u_half, k, 0.5 * hh);
        let err = (s_full - (s1 + s2)).abs();
        if err <= RK4_TOL || hh < 1e-12 * (1.0 + t1.abs()) {
            u = u2;
            s += s1 + s2;
            t = if hh == t1 - t { t1 } else { t + hh };
            h = (hh * (0.9 * (RK4_TOL / err.max(1e-300)).powf(0.2)).min(2.0)).min(hmax);
        } else {
            h = hh * (0.9 * (RK4_TOL / err).powf(0.2)).max(0.1);
        }
    }
    pts.log_weights_mut().copy_from_slice(&u);
    s
}

/// The closed-form solution (34): π_T ∝ π₀ e^{−TK}, from the prior points
/// `pts0`. Returns the normalised points and ln Z(T) = ln E_{π₀}[e^{−TK}].
pub fn boltzmann(pts0: &WeightedPoints, k: &[f64], t: f64) -> (WeightedPoints, f64) {
    let mut p = pts0.clone();
    for (w, kv) in p.log_weights_mut().iter_mut().zip(k) {
        *w = if kv.is_finite() {
            *w - t * kv
        } else {
            f64::NEG_INFINITY
        };
    }
    let z = p.normalize();
    (p, z)
}

/// One row of a dynamical-Bayes run.
#[derive(Debug, Clone)]
pub struct FlowRecord {
    /// The time T.
    pub t: f64,
    /// Posterior mean (RK4 solution of eq. 33).
    pub mean: DVector<f64>,
    /// Posterior covariance (RK4).
    pub cov: DMatrix<f64>,
    /// ln Z(T) integrated with the flow.
    pub ln_z: f64,
    /// E_π\[K\].
    pub e_k: f64,
    /// Var_π(K).
    pub var_k: f64,
    /// dE_π\[K\]/dT by a central difference of the exact tilt (checks −Var_π(K)).
    pub de_k_dt: f64,
    /// Effective sample size of the weights.
    pub ess: f64,
}

/// Integrates eq. (33) over the increasing grid `t_grid` (the first entry is
/// the starting time of `pts`, usually 0) with at least `steps` RK4 steps per interval,
/// recording the posterior at every grid time.
pub fn run(
    pts: &mut WeightedPoints,
    k: &[f64],
    t_grid: &[f64],
    steps: usize,
) -> Result<Vec<FlowRecord>> {
    check_increasing("T grid", t_grid)?;
    if steps == 0 {
        return Err(Error::setting("steps", "must be >= 1"));
    }
    let mut out = Vec::with_capacity(t_grid.len());
    let mut ln_z = 0.0;
    for (i, &t) in t_grid.iter().enumerate() {
        if i > 0 {
            ln_z += rk4(pts, k, t_grid[i - 1], t, steps);
        }
        let (e_k, var_k) = energy_moments(pts, k);
        // Exact tilts by ±δ of the current state: E[K] of π e^{∓δK}.
        let delta = 1e-5 / (1.0 + var_k.sqrt());
        let tilt = |d: f64| {
            let u: Vec<f64> = pts
                .log_weights()
                .iter()
                .zip(k)
                .map(|(w, kv)| if w.is_finite() { w - d * kv } else { *w })
                .collect();
            moments_k(&u, k).0
        };
        let de = (tilt(delta) - tilt(-delta)) / (2.0 * delta);
        out.push(FlowRecord {
            t,
            mean: pts.mean(),
            cov: pts.cov(),
            ln_z,
            e_k,
            var_k,
            de_k_dt: de,
            ess: pts.ess(),
        });
    }
    Ok(out)
}

struct NegLogPost<'a, 'b> {
    prior: &'a Prior,
    energy: &'a Energy<'b>,
    t: f64,
}

impl NegLogPost<'_, '_> {
    fn value(&self, x: &[f64]) -> f64 {
        let lp = self.prior.ln_pdf(x);
        let k = self.energy.eval(x);
        if lp.is_finite() && k.is_finite() {
            self.t * k - lp
        } else {
            f64::INFINITY
        }
    }
}

impl CostFunction for NegLogPost<'_, '_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, x: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.value(x))
    }
}

struct NegLogPost1<'a, 'b>(NegLogPost<'a, 'b>);

impl CostFunction for NegLogPost1<'_, '_> {
    type Param = f64;
    type Output = f64;
    fn cost(&self, x: &f64) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.0.value(&[*x]))
    }
}

/// The MAP μ_T = argmax π₀(θ)e^{−TK(θ)} of the solution (34), refined from
/// `start` (for example the best grid point) within ±`radius` per coordinate:
/// Brent's method in one dimension, Nelder–Mead in more (argmin).
pub fn map_point(
    prior: &Prior,
    energy: &Energy<'_>,
    t: f64,
    start: &[f64],
    radius: &[f64],
) -> Result<Vec<f64>> {
    let f = NegLogPost { prior, energy, t };
    let err = |e: argmin::core::Error| Error::Msg(format!("MAP optimiser failed: {e}"));
    if start.len() == 1 {
        let solver =
            BrentOpt::new(start[0] - radius[0], start[0] + radius[0]).set_tolerance(1e-12, 1e-14);
        let res = Executor::new(NegLogPost1(f), solver)
            .configure(|s| s.max_iters(500))
            .run()
            .map_err(err)?;
        let x = *res
            .state()
            .get_best_param()
            .ok_or_else(|| Error::Msg("no MAP".into()))?;
        return Ok(vec![x]);
    }
    let mut simplex = vec![start.to_vec()];
    for i in 0..start.len() {
        let mut p = start.to_vec();
        p[i] += 0.5 * radius[i];
        simplex.push(p);
    }
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(1e-14)
        .map_err(err)?;
    let res = Executor::new(f, solver)
        .configure(|s| s.max_iters(5000))
        .run()
        .map_err(err)?;
    res.state()
        .get_best_param()
        .cloned()
        .ok_or_else(|| Error::Msg("no MAP".into()))
}

/// The largest entry of |T·Cov − I⁻¹| relative to the largest entry of I⁻¹:
/// the distance from the late-time law (35).
pub fn late_time_error(cov: &DMatrix<f64>, t: f64, fisher: &DMatrix<f64>) -> Result<f64> {
    let inv = crate::linalg::cholesky(fisher, "Fisher matrix at θ*")?.inverse();
    Ok((cov * t - &inv).amax() / inv.amax())
}

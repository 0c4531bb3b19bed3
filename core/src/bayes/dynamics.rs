//! The dynamical-Bayes equation (33) in the data "time" T,
//!
//!   ∂π_T/∂T = −(K − E_{π_T}\[K\]) π_T,  K(θ) = KL(θ*‖θ),
//!
//! its solution (34) π_T = π₀ e^{−TK}/Z(T), its invariants, the MAP path μ_T
//! and the late-time law (35) T·Cov_{π_T} → I(θ*)⁻¹.
//!
//! The flow always starts from the prior at T = 0 (eq. 33 with π₀ as its
//! initial value); the times a caller asks for are save points only.
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
//!
//! For this right-hand side the four RK4 stages collapse: the stage states
//! u + c(e − K) are u − cK plus a constant, which E_π\[K\] does not see, so
//! the second and third stages (both c = h/2) give the same E_π\[K\] and
//! RK4's weights (1, 2, 2, 1)/6 become Simpson's rule for ∫E_π\[K\] dT over
//! the tilts π e^{−cK}, c = 0, h/2, h. The implementation evaluates E_π\[K\]
//! once per distinct tilt (0, h/4, h/2, 3h/4, h for a step and its two
//! halves), the same numbers as the textbook stages in exact arithmetic.

use super::check_increasing;
use super::energy::Energy;
use super::points::WeightedPoints;
use super::prior::Prior;
use crate::error::{Error, Result};
use argmin::core::{CostFunction, Executor, State};
use argmin::solver::brent::BrentOpt;
use argmin::solver::neldermead::NelderMead;
use nalgebra::{DMatrix, DVector};

/// E_π\[K\] and Var_π(K) for log-weights `u` (normalised or not). Points of
/// zero weight are skipped (K may be ∞ there); a point of positive weight with
/// K = ∞ makes E_π\[K\] = ∞. Two passes (the mean, then the centred second
/// moment), so Var_π(K) keeps its relative accuracy when E\[K\] ≫ sd(K).
fn moments_k(u: &[f64], k: &[f64]) -> (f64, f64) {
    let mx = u.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !mx.is_finite() {
        return (f64::NAN, f64::NAN);
    }
    let w: Vec<f64> = u.iter().map(|a| (a - mx).exp()).collect();
    let (mut z, mut s1) = (0.0, 0.0);
    for (&wi, &ki) in w.iter().zip(k) {
        if wi > 0.0 {
            z += wi;
            s1 += wi * ki;
        }
    }
    let m = s1 / z;
    if !m.is_finite() {
        return (m, f64::NAN);
    }
    let mut s2 = 0.0;
    for (&wi, &ki) in w.iter().zip(k) {
        if wi > 0.0 {
            s2 += wi * (ki - m) * (ki - m);
        }
    }
    (m, s2 / z)
}

/// E_π\[K\] and Var_π(K) of a weighted point set for per-point energies `k`.
pub fn energy_moments(pts: &WeightedPoints, k: &[f64]) -> (f64, f64) {
    moments_k(pts.log_weights(), k)
}

/// E_π\[K\] under the tilt π e^{−cK} of the normalised log-weights `u`, and
/// ln Σ e^{u − cK} (the log-normaliser of the tilt); zero-weight points are
/// skipped (K may be ∞ there).
fn tilted_mean(u: &[f64], k: &[f64], c: f64) -> (f64, f64) {
    let mx = u
        .iter()
        .zip(k)
        .filter(|(a, _)| a.is_finite())
        .map(|(a, b)| a - c * b)
        .fold(f64::NEG_INFINITY, f64::max);
    if !mx.is_finite() {
        return (f64::NAN, f64::NAN);
    }
    let (mut z, mut s1) = (0.0, 0.0);
    for (a, b) in u.iter().zip(k) {
        if a.is_finite() {
            let w = (a - c * b - mx).exp();
            if w > 0.0 {
                z += w;
                s1 += w * b;
            }
        }
    }
    (s1 / z, mx + z.ln())
}

/// Local error tolerance of [`rk4`] on ln Z per step, relative to
/// max(1, |Δ ln Z| of the step).
pub const RK4_TOL: f64 = 1e-10;

/// The most RK4 steps (accepted and rejected) [`rk4`] takes over one interval
/// before it gives up with [`Error::Failed`].
pub const RK4_MAX_STEPS: usize = 1_000_000;

/// Checks per-point energies: NaN anywhere is a failed computation naming the
/// point (K = +∞ is allowed: a point outside the parameter space).
pub fn check_energies(pts: &WeightedPoints, k: &[f64]) -> Result<()> {
    if k.len() != pts.len() {
        return Err(Error::setting(
            "energies",
            format!("{} values for {} points", k.len(), pts.len()),
        ));
    }
    if let Some(i) = k.iter().position(|v| v.is_nan() || *v == f64::NEG_INFINITY) {
        return Err(Error::failed(
            "the energy K(theta) = KL(theta*||theta)",
            format!("K = {} at point {i} (theta = {:?})", k[i], pts.point(i)),
        ));
    }
    Ok(())
}

/// Integrates eq. (33) from T = `t0` to `t1` ≥ `t0` in place, by classical RK4
/// steps (at least `steps` of them) with step-doubling control: each step is
/// compared with two half steps and accepted when they agree on ln Z to
/// [`RK4_TOL`] (the shape of π is exact at any step, see the module docs).
/// `k` holds K at each point. Returns the increment of ln Z over the interval
/// (d ln Z/dT = −E_π\[K\]).
///
/// # Errors
/// [`Error::Setting`] for t1 < t0 or a non-finite end; [`Error::Failed`] when
/// a K is NaN (naming the point), when E_π\[K\] is not finite at some T
/// (naming T), or when the step control needs more than [`RK4_MAX_STEPS`]
/// steps or a step below 1e-14·max(1, |t1|); [`Error::Cancelled`] when a
/// stop is requested ([`crate::observe::request_stop`], checked every step).
pub fn rk4(pts: &mut WeightedPoints, k: &[f64], t0: f64, t1: f64, steps: usize) -> Result<f64> {
    if !(t0.is_finite() && t1.is_finite() && t1 >= t0) {
        return Err(Error::setting(
            "T interval",
            format!("needs finite t0 <= t1, got [{t0}, {t1}] (eq. 33 runs forward in T)"),
        ));
    }
    check_energies(pts, k)?;
    // Points outside the parameter space (K = ∞) have zero weight for T > 0.
    for (w, kv) in pts.log_weights_mut().iter_mut().zip(k) {
        if !kv.is_finite() {
            *w = f64::NEG_INFINITY;
        }
    }
    if !pts.normalize().is_finite() {
        return Err(Error::failed(
            "eq. (33)",
            "every point with positive weight has K = inf: the prior has no mass in the parameter space",
        ));
    }
    if t1 == t0 {
        return Ok(0.0);
    }
    let hmax = (t1 - t0) / steps.max(1) as f64;
    let hmin = 1e-14 * t1.abs().max(1.0);
    let mut h = hmax;
    let mut t = t0;
    let mut s = 0.0;
    let mut u: Vec<f64> = pts.log_weights().to_vec();
    let fail = |t: f64, why: String| {
        Error::failed(
            format!(
                "eq. (33) from T = {} to {}",
                crate::error::show(t0),
                crate::error::show(t1)
            ),
            format!("at T = {}: {why}", crate::error::show(t)),
        )
    };
    let nan = |t: f64| fail(t, "E_pi[K] is not finite (NaN or overflow of K)".into());
    // E_π[K] at the tilt c = T' − t of the current state (see the module docs).
    let e_at = |u: &[f64], t: f64, c: f64| -> Result<(f64, f64)> {
        let (e, lz) = tilted_mean(u, k, c);
        if e.is_finite() && lz.is_finite() {
            Ok((e, lz))
        } else {
            Err(nan(t + c))
        }
    };
    let mut e0 = e_at(&u, t, 0.0)?.0;
    let mut taken = 0;
    while t < t1 {
        // One step is a few passes over the points (2e6 grid cells: about
        // 0.1 s), so a stop request lands within a step, not a save point.
        crate::observe::check_stop()?;
        taken += 1;
        if taken > RK4_MAX_STEPS {
            return Err(fail(
                t,
                format!("{RK4_MAX_STEPS} steps did not reach the end (step {h:e})"),
            ));
        }
        let hh = h.min(t1 - t);
        let (e1, _) = e_at(&u, t, 0.25 * hh)?;
        let (e2, _) = e_at(&u, t, 0.5 * hh)?;
        let (e3, _) = e_at(&u, t, 0.75 * hh)?;
        let (e4, lz4) = e_at(&u, t, hh)?;
        // RK4 over hh (stages 0, ½, ½, 1) and over its two halves.
        let s_full = -hh * (e0 + 4.0 * e2 + e4) / 6.0;
        let s1 = -0.5 * hh * (e0 + 4.0 * e1 + e2) / 6.0;
        let s2 = -0.5 * hh * (e2 + 4.0 * e3 + e4) / 6.0;
        let err = (s_full - (s1 + s2)).abs();
        let tol = RK4_TOL * (s1 + s2).abs().max(1.0);
        if err.is_nan() {
            return Err(nan(t));
        }
        if err <= tol {
            // The new state: π e^{−hK}, normalised (its log-normaliser is lz4).
            for (ui, ki) in u.iter_mut().zip(k) {
                if ui.is_finite() {
                    *ui = *ui - hh * ki - lz4;
                }
            }
            e0 = e4;
            s += s1 + s2;
            t = if hh == t1 - t { t1 } else { t + hh };
            h = (hh * (0.9 * (tol / err.max(1e-300)).powf(0.2)).min(2.0)).min(hmax);
        } else {
            h = hh * (0.9 * (tol / err).powf(0.2)).max(0.1);
            if h < hmin {
                return Err(fail(
                    t,
                    format!("the step fell below {hmin:e} (local error {err:e} in ln Z)"),
                ));
            }
        }
    }
    pts.log_weights_mut().copy_from_slice(&u);
    Ok(s)
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
    /// ln Z(T) integrated with the flow from T = 0.
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

/// The record of the current state `pts` at time `t` with ln Z(t) = `ln_z`:
/// moments, E_π\[K\], Var_π(K), dE_π\[K\]/dT (central difference of the exact
/// tilts π e^{∓δK}), ESS.
pub fn record(pts: &WeightedPoints, k: &[f64], t: f64, ln_z: f64) -> FlowRecord {
    let (e_k, var_k) = energy_moments(pts, k);
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
    FlowRecord {
        t,
        mean: pts.mean(),
        cov: pts.cov(),
        ln_z,
        e_k,
        var_k,
        de_k_dt: de,
        ess: pts.ess(),
    }
}

/// Integrates eq. (33) from T = 0, where `pts` holds the prior π₀, through the
/// increasing save points `t_grid` (≥ 0; the first need not be 0: the flow
/// starts at 0 whatever the first save point), with at least `steps` RK4
/// steps per interval, recording the posterior at every save point. On return
/// `pts` holds π at the last save point.
///
/// # Errors
/// As [`rk4`]; [`Error::Setting`] for a save grid that is empty, negative or
/// not increasing, or `steps` = 0.
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
    check_energies(pts, k)?;
    let mut out = Vec::with_capacity(t_grid.len());
    let mut ln_z = 0.0;
    let mut now = 0.0;
    for &t in t_grid {
        if t > now {
            ln_z += rk4(pts, k, now, t, steps)?;
            now = t;
        }
        out.push(record(pts, k, t, ln_z));
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
    let what = "the MAP of the solution (34)";
    let err = |e: argmin::core::Error| Error::failed(what, format!("the optimiser failed: {e}"));
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
            .ok_or_else(|| Error::failed(what, "the optimiser returned no best point"))?;
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
        .ok_or_else(|| Error::failed(what, "the optimiser returned no best point"))
}

/// The largest entry of |T·Cov − I⁻¹| relative to the largest entry of I⁻¹:
/// the distance from the late-time law (35).
pub fn late_time_error(cov: &DMatrix<f64>, t: f64, fisher: &DMatrix<f64>) -> Result<f64> {
    let inv = crate::linalg::cholesky(fisher, "Fisher matrix at θ*")?.inverse();
    Ok((cov * t - &inv).amax() / inv.amax())
}

//! The Fisher–Rao distance between two points by shooting: find the initial
//! velocity v with exp_θ₁(v) = θ₂, then d(θ₁, θ₂) = √(vᵀg(θ₁)v).
//!
//! The shooting residual r(v) = exp_θ₁(v) − θ₂ is driven to zero by
//! Levenberg–Marquardt steps (JᵀJ + λ·diag JᵀJ)δ = −Jᵀr, with J = ∂exp_θ₁/∂v by
//! central differences of the exponential map. The first guess is the
//! coordinate chord v = θ₂ − θ₁; if that fails, the target is approached by
//! continuation along the chord. The result is the geodesic that shooting
//! finds: on manifolds with conjugate points (a sphere) it is a geodesic, not
//! necessarily the shortest one; on the normal (hyperbolic) family, Poisson and
//! the categorical simplex from the chord guess it is the minimiser.

use super::geodesic::{Geodesic, default_options, exp_map};
use super::{Metric, check_point};
use crate::error::{Error, Result};
use crate::numdiff;
use crate::ode;
use nalgebra::{DMatrix, DVector};

/// Settings of [`distance`].
#[derive(Debug, Clone, Copy)]
pub struct ShootOptions {
    /// Stop when ‖exp_θ₁(v) − θ₂‖ ≤ tol·(1 + ‖θ₂‖).
    pub tol: f64,
    /// Levenberg–Marquardt iterations per continuation stage.
    pub max_iter: usize,
    /// Integrator settings for the exponential map.
    pub ode: ode::Options,
}

impl Default for ShootOptions {
    fn default() -> Self {
        ShootOptions {
            tol: 1e-9,
            max_iter: 60,
            ode: default_options(),
        }
    }
}

/// The outcome of shooting from θ₁ to θ₂.
#[derive(Debug, Clone)]
pub struct Shot {
    /// The initial velocity found.
    pub velocity: Vec<f64>,
    /// The geodesic exp_θ₁(t·v), t ∈ [0, 1].
    pub geodesic: Geodesic,
    /// The Fisher–Rao length √(vᵀg(θ₁)v).
    pub distance: f64,
    /// ‖exp_θ₁(v) − θ₂‖ in coordinates.
    pub residual: f64,
    /// Levenberg–Marquardt iterations used (all stages).
    pub iterations: usize,
}

fn end_point(m: &dyn Metric, x: &[f64], v: &[f64], opt: &ode::Options) -> Option<DVector<f64>> {
    exp_map(m, x, v, opt)
        .ok()
        .map(|g| DVector::from_column_slice(g.end()))
}

/// Levenberg–Marquardt on r(v) = exp_x(v) − target from `v0`; returns v and the
/// iterations used, or an error if the residual does not reach the tolerance.
fn solve_stage(
    m: &dyn Metric,
    x: &[f64],
    target: &DVector<f64>,
    v0: DVector<f64>,
    opt: &ShootOptions,
) -> Result<(DVector<f64>, usize)> {
    let tol = opt.tol * (1.0 + target.norm());
    let mut v = v0;
    let mut r = end_point(m, x, v.as_slice(), &opt.ode)
        .ok_or_else(|| Error::Msg("the first guess leaves the chart".into()))?
        - target;
    let mut lambda = 1e-3;
    for it in 0..opt.max_iter {
        if r.norm() <= tol {
            return Ok((v, it));
        }
        let j: DMatrix<f64> = numdiff::jacobian(
            |u| {
                end_point(m, x, u, &opt.ode)
                    .unwrap_or_else(|| DVector::from_element(x.len(), f64::NAN))
            },
            v.as_slice(),
        );
        if j.iter().any(|e| !e.is_finite()) {
            return Err(Error::Msg(
                "the exponential map is not differentiable at the current guess".into(),
            ));
        }
        let jtj = j.transpose() * &j;
        let jtr = j.transpose() * &r;
        let mut improved = false;
        for _ in 0..12 {
            let mut a = jtj.clone();
            for i in 0..a.nrows() {
                a[(i, i)] += lambda * jtj[(i, i)].max(1e-12);
            }
            let Some(step) = a.lu().solve(&(-&jtr)) else {
                lambda *= 10.0;
                continue;
            };
            let cand = &v + step;
            if let Some(e) = end_point(m, x, cand.as_slice(), &opt.ode) {
                let rc = e - target;
                if rc.norm() < r.norm() {
                    v = cand;
                    r = rc;
                    lambda = (lambda * 0.1).max(1e-12);
                    improved = true;
                    break;
                }
            }
            lambda *= 10.0;
        }
        if !improved {
            break;
        }
    }
    if r.norm() <= tol {
        Ok((v, opt.max_iter))
    } else {
        Err(Error::Msg(format!(
            "shooting did not converge: residual {:.3e} > {:.3e}",
            r.norm(),
            tol
        )))
    }
}

/// The Fisher–Rao distance from θ₁ to θ₂ and the geodesic joining them.
pub fn distance(
    m: &dyn Metric,
    theta1: &[f64],
    theta2: &[f64],
    opt: &ShootOptions,
) -> Result<Shot> {
    check_point(m, theta1, "first point")?;
    check_point(m, theta2, "second point")?;
    m.metric(theta1)
        .map_err(|e| Error::Msg(format!("first point {theta1:?}: {e}")))?;
    m.metric(theta2)
        .map_err(|e| Error::Msg(format!("second point {theta2:?}: {e}")))?;
    let a = DVector::from_column_slice(theta1);
    let b = DVector::from_column_slice(theta2);
    let chord = &b - &a;
    let mut total = 0;
    let direct = solve_stage(m, theta1, &b, chord.clone(), opt);
    let v = match direct {
        Ok((v, it)) => {
            total += it;
            v
        }
        Err(first) => {
            // Continuation: reach θ₁ + s(θ₂ − θ₁) for s = 1/16, 2/16, …, 1,
            // each stage warm-started from the last velocity scaled up.
            let stages = 16;
            let mut v = &chord / stages as f64;
            for k in 1..=stages {
                let s = k as f64 / stages as f64;
                let target = &a + &chord * s;
                if k > 1 {
                    v *= s / ((k - 1) as f64 / stages as f64);
                }
                let (vk, it) = solve_stage(m, theta1, &target, v, opt).map_err(|e| {
                    Error::Msg(format!(
                        "no geodesic found from {theta1:?} to {theta2:?} ({first}; continuation stopped at {s}: {e})"
                    ))
                })?;
                v = vk;
                total += it;
            }
            v
        }
    };
    let geodesic = exp_map(m, theta1, v.as_slice(), &opt.ode)?;
    let residual = (DVector::from_column_slice(geodesic.end()) - &b).norm();
    Ok(Shot {
        velocity: v.as_slice().to_vec(),
        distance: geodesic.length,
        geodesic,
        residual,
        iterations: total,
    })
}

/// Closed-form Fisher–Rao distances (oracles.md §3), used as oracles by tests
/// and by `bayesrg geodesic` when a config names one.
pub mod closed_form {
    /// A closed-form distance d(θ₁, θ₂).
    pub type Formula = fn(&[f64], &[f64]) -> f64;

    /// Normal (μ, σ): √2·arccosh(1 + ((μ₁−μ₂)²/2 + (σ₁−σ₂)²)/(2σ₁σ₂)).
    pub fn normal_sigma(a: &[f64], b: &[f64]) -> f64 {
        let (dm, ds) = (a[0] - b[0], a[1] - b[1]);
        2f64.sqrt() * (1.0 + (dm * dm / 2.0 + ds * ds) / (2.0 * a[1] * b[1])).acosh()
    }
    /// Normal (μ, v = σ²): the (μ, σ) formula at σ = √v.
    pub fn normal_var(a: &[f64], b: &[f64]) -> f64 {
        normal_sigma(&[a[0], a[1].sqrt()], &[b[0], b[1].sqrt()])
    }
    /// Poisson: 2|√λ₁ − √λ₂|.
    pub fn poisson(a: &[f64], b: &[f64]) -> f64 {
        2.0 * (a[0].sqrt() - b[0].sqrt()).abs()
    }
    /// Exponential (rate): |ln(λ₁/λ₂)|.
    pub fn exponential(a: &[f64], b: &[f64]) -> f64 {
        (a[0] / b[0]).ln().abs()
    }
    /// Bernoulli: 2|arcsin√p − arcsin√q|.
    pub fn bernoulli(a: &[f64], b: &[f64]) -> f64 {
        2.0 * (a[0].sqrt().asin() - b[0].sqrt().asin()).abs()
    }
    /// Categorical in the K − 1 free coordinates: 2·arccos Σ√(pᵢqᵢ).
    pub fn categorical(a: &[f64], b: &[f64]) -> f64 {
        let last = |p: &[f64]| 1.0 - p.iter().sum::<f64>();
        let bc: f64 =
            a.iter().zip(b).map(|(p, q)| (p * q).sqrt()).sum::<f64>() + (last(a) * last(b)).sqrt();
        2.0 * bc.clamp(-1.0, 1.0).acos()
    }

    /// The closed form registered under `name` (`normal`, `normal_var`,
    /// `poisson`, `exponential`, `bernoulli`, `categorical`).
    pub fn by_name(name: &str) -> Option<Formula> {
        Some(match name {
            "normal" => normal_sigma,
            "normal_var" => normal_var,
            "poisson" => poisson,
            "exponential" => exponential,
            "bernoulli" => bernoulli,
            "categorical" => categorical,
            _ => return None,
        })
    }

    /// The names [`by_name`] knows.
    pub const NAMES: &[&str] = &[
        "normal",
        "normal_var",
        "poisson",
        "exponential",
        "bernoulli",
        "categorical",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::testmodels;
    use approx::assert_relative_eq;

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
            let s = distance(&m, &a, &b, &ShootOptions::default()).unwrap();
            assert_relative_eq!(
                s.distance,
                closed_form::normal_sigma(&a, &b),
                max_relative = 1e-7
            );
            assert!(s.residual < 1e-8);
        }
    }

    #[test]
    fn reparametrisation_invariance() {
        // Oracle: the distance is a property of the distributions, so (μ, σ) and
        // (μ, v = σ²) shooting must agree with each other and the closed form.
        let (a, b) = ([0.2, 0.7], [1.5, 1.6]);
        let d1 = distance(
            &testmodels::normal_sigma(),
            &a,
            &b,
            &ShootOptions::default(),
        )
        .unwrap();
        let av = [a[0], a[1] * a[1]];
        let bv = [b[0], b[1] * b[1]];
        let d2 = distance(
            &testmodels::normal_var(),
            &av,
            &bv,
            &ShootOptions::default(),
        )
        .unwrap();
        assert_relative_eq!(d1.distance, d2.distance, max_relative = 1e-7);
        assert_relative_eq!(
            d2.distance,
            closed_form::normal_var(&av, &bv),
            max_relative = 1e-7
        );
    }

    #[test]
    fn poisson_and_bernoulli_distance() {
        // Oracles: Poisson 2|√λ₁ − √λ₂|, Bernoulli 2|arcsin√p − arcsin√q|.
        let s = distance(
            &testmodels::poisson(),
            &[0.5],
            &[7.0],
            &ShootOptions::default(),
        )
        .unwrap();
        assert_relative_eq!(
            s.distance,
            closed_form::poisson(&[0.5], &[7.0]),
            max_relative = 1e-7
        );
        let s = distance(
            &testmodels::bernoulli(),
            &[0.1],
            &[0.85],
            &ShootOptions::default(),
        )
        .unwrap();
        assert_relative_eq!(
            s.distance,
            closed_form::bernoulli(&[0.1], &[0.85]),
            max_relative = 1e-7
        );
    }

    #[test]
    fn categorical_distance() {
        // Oracle: 2·arccos Σ√(pᵢqᵢ) for three classes.
        let (a, b) = ([0.2, 0.3], [0.6, 0.05]);
        let s = distance(
            &testmodels::categorical3(),
            &a,
            &b,
            &ShootOptions::default(),
        )
        .unwrap();
        assert_relative_eq!(
            s.distance,
            closed_form::categorical(&a, &b),
            max_relative = 1e-7
        );
    }

    #[test]
    fn invalid_points_are_errors() {
        let m = testmodels::normal_sigma();
        let e = distance(&m, &[0.0, 1.0], &[0.0, -1.0], &ShootOptions::default()).unwrap_err();
        assert!(e.to_string().contains("second point"), "{e}");
        assert!(distance(&m, &[0.0], &[0.0, 1.0], &ShootOptions::default()).is_err());
    }
}

//! The geodesic equation θ̈ᵃ + Γᵃ_bc θ̇ᵇθ̇ᶜ = 0 and the exponential map.
//!
//! The equation is integrated as a first-order system in (θ, θ̇) by the adaptive
//! Dormand–Prince integrator of [`crate::ode`]. exp_θ(v) is the point reached at
//! t = 1 from θ with initial velocity v; the path is traced at constant speed
//! √(vᵀg(θ)v), which is its Fisher–Rao length.

use super::christoffel::christoffel;
use super::{Metric, check_point};
use crate::error::{Error, Result};
use crate::ode;

/// A geodesic traced from t = 0 to t = 1.
#[derive(Debug, Clone)]
pub struct Geodesic {
    /// Parameter values of the accepted steps.
    pub t: Vec<f64>,
    /// Points θ(t).
    pub points: Vec<Vec<f64>>,
    /// Velocities θ̇(t).
    pub velocities: Vec<Vec<f64>>,
    /// The length √(vᵀg(θ₀)v) (the constant speed times the unit interval).
    pub length: f64,
    /// The largest relative drift of the speed² g(θ̇, θ̇) along the path: zero for
    /// an exact geodesic, a measure of the integration error.
    pub speed_drift: f64,
}

impl Geodesic {
    /// The end point exp_θ(v).
    pub fn end(&self) -> &[f64] {
        self.points.last().expect("a geodesic holds its start")
    }
}

/// g(θ)(v, v), the squared speed.
pub fn speed2(m: &dyn Metric, theta: &[f64], v: &[f64]) -> Result<f64> {
    let g = m.metric(theta)?;
    let mut s = 0.0;
    for i in 0..v.len() {
        for j in 0..v.len() {
            s += g[(i, j)] * v[i] * v[j];
        }
    }
    Ok(s)
}

/// The Fisher unit of each coordinate at θ, 1/√gᵢᵢ(θ): the size of a step of
/// length one along eᵢ, used to scale absolute tolerances.
pub fn fisher_units(m: &dyn Metric, theta: &[f64]) -> Result<Vec<f64>> {
    let g = m.metric(theta)?;
    Ok((0..theta.len())
        .map(|i| {
            let u = 1.0 / g[(i, i)].sqrt();
            if u.is_finite() && u > 0.0 { u } else { 1.0 }
        })
        .collect())
}

/// The geodesic acceleration −Γᵃ_bc vᵇvᶜ at θ: the metric's closed form when it
/// has one ([`Metric::known_acceleration`]), else from differences of g.
pub fn acceleration(m: &dyn Metric, theta: &[f64], v: &[f64], out: &mut [f64]) -> Result<()> {
    match m.known_acceleration(theta, v, out) {
        Some(r) => r,
        None => {
            christoffel(m, theta)?.acceleration(v, out);
            Ok(())
        }
    }
}

/// Integrates the geodesic from θ with initial velocity v over t ∈ [0, 1].
///
/// Fails (naming θ and v) when the path leaves the chart, for example a normal
/// geodesic that would cross σ = 0. Absolute tolerances are scaled to the
/// Fisher units of θ ([`fisher_units`]).
pub fn exp_map(m: &dyn Metric, theta: &[f64], v: &[f64], opt: &ode::Options) -> Result<Geodesic> {
    check_point(m, theta, "start point")?;
    let units = fisher_units(m, theta)?;
    let how = Integration {
        metric: m,
        opt,
        units: &units,
    };
    flow(how, theta, v, 1.0)
}

/// How a geodesic is integrated: on the metric `metric`, with the
/// integrator's options `opt` and absolute tolerance `opt.atol·units[i]` on
/// coordinate i and on velocity i (`units`: d entries, or empty for 1; the
/// Fisher units of the start, [`fisher_units`], make it scale-free).
#[derive(Clone, Copy)]
pub struct Integration<'a> {
    /// The metric g(θ) whose geodesic equation is integrated.
    pub metric: &'a dyn Metric,
    /// Tolerances, first step and step limit of the integrator.
    pub opt: &'a ode::Options,
    /// Units of the absolute tolerance, per coordinate (or empty).
    pub units: &'a [f64],
}

/// Pieces of [0, span] after each of which the displacement is rebased.
const PIECES: usize = 8;

/// Integrates the geodesic from (θ₀, v) over [0, `span`]: the parameter values,
/// the points θ(t) and the velocities at the accepted steps, and the total
/// displacement δ(span) = θ(span) − θ₀ summed piece by piece.
///
/// The state is (δ, θ̇) relative to a reference point rebased at the start of
/// each of [`PIECES`] equal pieces of the interval: carrying a displacement
/// keeps the relative accuracy of short geodesics (two points 10⁻⁹ apart at
/// θ ≈ 0.3 are resolved to rtol of their distance, not of |θ|), and rebasing
/// keeps it on long ones that cross decades (a rate from 10¹² down to 10⁻¹²,
/// where θ₀ + δ would lose every digit of the small end).
#[allow(clippy::type_complexity)]
fn integrate(
    how: Integration<'_>,
    theta: &[f64],
    v: &[f64],
    span: f64,
) -> Result<(Vec<f64>, Vec<Vec<f64>>, Vec<Vec<f64>>, Vec<f64>)> {
    let Integration {
        metric: m,
        opt,
        units,
    } = how;
    check_point(m, theta, "start point")?;
    check_point(m, v, "initial velocity")?;
    let d = theta.len();
    let scale: Vec<f64> = if units.is_empty() {
        vec![]
    } else {
        units.iter().chain(units).copied().collect()
    };
    let mut base = theta.to_vec(); // reference point of the current piece
    let mut offset = vec![0.0; d]; // base − θ₀, summed piece by piece
    let mut vel = v.to_vec();
    let (mut ts, mut points, mut vels) = (vec![0.0], vec![theta.to_vec()], vec![v.to_vec()]);
    for k in 0..PIECES {
        let (t0, t1) = (
            span * k as f64 / PIECES as f64,
            span * (k + 1) as f64 / PIECES as f64,
        );
        let failed = std::cell::Cell::new(None::<String>);
        let rhs = |_t: f64, y: &[f64], dy: &mut [f64]| {
            let (delta, u) = y.split_at(d);
            let x: Vec<f64> = base.iter().zip(delta).map(|(a, b)| a + b).collect();
            dy[..d].copy_from_slice(u);
            if let Err(e) = acceleration(m, &x, u, &mut dy[d..]) {
                // Outside the chart: a NaN makes the integrator shrink the step.
                failed.set(Some(e.to_string()));
                dy.iter_mut().for_each(|v| *v = f64::NAN);
            }
        };
        let mut y0 = vec![0.0; d];
        y0.extend_from_slice(&vel);
        let sol = ode::solve_scaled(rhs, t0, &y0, t1, opt, &scale).map_err(|e| {
            let what = format!("the geodesic from {theta:?} with velocity {v:?}");
            match failed.take() {
                // The path leaves the chart: no geodesic to t = span exists.
                Some(w) => Error::domain(
                    "initial velocity",
                    format!("{v:?}"),
                    format!(
                        "carries {what} out of the chart before t = {span}: it cannot be followed ({e}; {w})"
                    ),
                ),
                None => Error::failed(what, format!("it cannot be followed to t = {span}: {e}")),
            }
        })?;
        for (t, y) in sol.t.iter().zip(&sol.y).skip(1) {
            ts.push(*t);
            points.push(base.iter().zip(&y[..d]).map(|(o, x)| o + x).collect());
            vels.push(y[d..].to_vec());
        }
        let last = sol.last();
        for i in 0..d {
            offset[i] += last[i];
            base[i] += last[i];
        }
        vel = last[d..].to_vec();
    }
    Ok((ts, points, vels, offset))
}

/// The end state of the geodesic from (θ, v) as (δ, θ̇(span)) with
/// θ(span) = θ + δ, without the path or its speed (the cheap form of [`flow`]
/// for solvers; the displacement keeps the digits of a short geodesic).
pub fn flow_displacement(
    how: Integration<'_>,
    theta: &[f64],
    v: &[f64],
    span: f64,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let (_, _, vels, delta) = integrate(how, theta, v, span)?;
    let u = vels.last().cloned().unwrap_or_else(|| v.to_vec());
    Ok((delta, u))
}

/// The geodesic from θ with velocity v followed over t ∈ [0, `span`] (the
/// exponential map is `span` = 1), integrated as `how` says.
/// The returned length is √(vᵀg(θ)v)·span.
pub fn flow(how: Integration<'_>, theta: &[f64], v: &[f64], span: f64) -> Result<Geodesic> {
    let (ts, points, velocities, _) = integrate(how, theta, v, span)?;
    let m = how.metric;
    let s0 = speed2(m, theta, v)?;
    let mut drift: f64 = 0.0;
    for (x, u) in points.iter().zip(&velocities) {
        let s = speed2(m, x, u)?;
        if s0 > 0.0 {
            drift = drift.max((s - s0).abs() / s0);
        }
    }
    Ok(Geodesic {
        t: ts,
        points,
        velocities,
        length: s0.max(0.0).sqrt() * span,
        speed_drift: drift,
    })
}

/// The options used for geodesics unless a caller sets its own: rtol 1e-11,
/// atol 1e-12 (in Fisher units of each coordinate, see [`exp_map`]).
pub fn default_options() -> ode::Options {
    ode::Options {
        rtol: 1e-11,
        atol: 1e-12,
        h0: 0.05,
        h_max: 0.0,
        max_steps: 20_000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::testmodels;
    use approx::assert_relative_eq;

    #[test]
    fn sphere_great_circle() {
        // Oracle: on the unit sphere, from the equator (θ = π/2, φ = 0) heading
        // along the equator with speed s, exp lands at φ = s; heading north it
        // lands at θ = π/2 − s. Length = s.
        let m = testmodels::sphere();
        let h = std::f64::consts::FRAC_PI_2;
        let g = exp_map(&m, &[h, 0.0], &[0.0, 1.3], &default_options()).unwrap();
        assert_relative_eq!(g.end()[0], h, epsilon = 1e-8);
        assert_relative_eq!(g.end()[1], 1.3, epsilon = 1e-8);
        assert_relative_eq!(g.length, 1.3, epsilon = 1e-12);
        let g = exp_map(&m, &[h, 0.0], &[-0.9, 0.0], &default_options()).unwrap();
        assert_relative_eq!(g.end()[0], h - 0.9, epsilon = 1e-8);
        assert!(g.speed_drift < 1e-7);
    }

    #[test]
    fn normal_vertical_geodesic() {
        // Oracle: in (μ, σ) with g = diag(1, 2)/σ², the line μ = const is a
        // geodesic, σ(t) = σ₀ e^{ct}: σ̇ = cσ, length √2|c|. With v = (0, cσ₀)
        // the end is σ₀eᶜ.
        let m = testmodels::normal_sigma();
        let (s0, c) = (0.8, -1.5);
        let g = exp_map(&m, &[0.2, s0], &[0.0, c * s0], &default_options()).unwrap();
        assert_relative_eq!(g.end()[0], 0.2, epsilon = 1e-9);
        assert_relative_eq!(g.end()[1], s0 * c.exp(), max_relative = 1e-8);
        assert_relative_eq!(g.length, 2f64.sqrt() * c.abs(), max_relative = 1e-12);
    }

    #[test]
    fn leaving_the_chart_is_an_error() {
        // Oracle: on the sphere chart θ ∈ (0, π), the meridian from the equator
        // heading north with speed 2 reaches the pole θ = 0 at t = π/4 < 1.
        let m = testmodels::sphere();
        let h = std::f64::consts::FRAC_PI_2;
        let e = exp_map(&m, &[h, 0.0], &[-2.0, 0.0], &default_options()).unwrap_err();
        assert!(e.to_string().contains("cannot be followed"), "{e}");
        // Bad input (exit 2): the velocity asks for a path the chart lacks.
        assert!(
            matches!(e, Error::Domain { .. }) && e.is_bad_input(),
            "{e:?}"
        );
        // The same start with a speed that stays inside the chart (reaches
        // θ = π/2 − 0.5) but an integrator allowed 2 steps of at most 10⁻³:
        // a failed computation (exit 1), not bad input.
        let opt = ode::Options {
            max_steps: 2,
            h_max: 1e-3,
            ..default_options()
        };
        let e = exp_map(&m, &[h, 0.0], &[-0.5, 0.0], &opt).unwrap_err();
        assert!(
            matches!(e, Error::Failed { .. }) && !e.is_bad_input(),
            "{e:?}"
        );
        assert!(e.to_string().contains("cannot be followed"), "{e}");
    }
}

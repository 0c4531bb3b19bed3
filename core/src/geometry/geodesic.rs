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

fn speed2(m: &dyn Metric, theta: &[f64], v: &[f64]) -> Result<f64> {
    let g = m.metric(theta)?;
    let mut s = 0.0;
    for i in 0..v.len() {
        for j in 0..v.len() {
            s += g[(i, j)] * v[i] * v[j];
        }
    }
    Ok(s)
}

/// Integrates the geodesic from θ with initial velocity v over t ∈ [0, 1].
///
/// Fails (naming θ and v) when the path leaves the chart, for example a normal
/// geodesic that would cross σ = 0.
pub fn exp_map(m: &dyn Metric, theta: &[f64], v: &[f64], opt: &ode::Options) -> Result<Geodesic> {
    check_point(m, theta, "start point")?;
    check_point(m, v, "initial velocity")?;
    let d = theta.len();
    let s0 = speed2(m, theta, v)?;
    let failed = std::cell::Cell::new(None::<String>);
    let rhs = |_t: f64, y: &[f64], dy: &mut [f64]| {
        let (x, u) = y.split_at(d);
        dy[..d].copy_from_slice(u);
        match christoffel(m, x) {
            Ok(c) => c.acceleration(u, &mut dy[d..]),
            Err(e) => {
                // Outside the chart: a NaN makes the integrator shrink the step.
                failed.set(Some(e.to_string()));
                dy.iter_mut().for_each(|v| *v = f64::NAN);
            }
        }
    };
    let mut y0 = theta.to_vec();
    y0.extend_from_slice(v);
    let sol = ode::solve(rhs, 0.0, &y0, 1.0, opt).map_err(|e| {
        let why = failed.take().map(|w| format!(" ({w})")).unwrap_or_default();
        Error::Msg(format!(
            "the geodesic from {theta:?} with velocity {v:?} cannot be followed to t = 1: {e}{why}"
        ))
    })?;
    let mut drift: f64 = 0.0;
    let mut points = Vec::with_capacity(sol.y.len());
    let mut velocities = Vec::with_capacity(sol.y.len());
    for y in &sol.y {
        let (x, u) = y.split_at(d);
        let s = speed2(m, x, u)?;
        if s0 > 0.0 {
            drift = drift.max((s - s0).abs() / s0);
        }
        points.push(x.to_vec());
        velocities.push(u.to_vec());
    }
    Ok(Geodesic {
        t: sol.t,
        points,
        velocities,
        length: s0.max(0.0).sqrt(),
        speed_drift: drift,
    })
}

/// The options used for geodesics unless a caller sets its own: rtol 1e-10, atol 1e-12.
pub fn default_options() -> ode::Options {
    ode::Options {
        rtol: 1e-10,
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
    }
}

//! An adaptive Runge–Kutta integrator for ordinary differential equations
//! y′ = f(t, y): the Dormand–Prince 5(4) pair with embedded error control
//! (Hairer, Nørsett & Wanner, *Solving ODEs I*, §II.4–5).
//!
//! Used by the geodesic equation ([`crate::geometry::geodesic`]) and open to any
//! other code that needs a smooth deterministic ODE solved to a tolerance.
//!
//! Error control: a step of size h is accepted when the scaled error
//! ‖e‖ = √(mean_i (eᵢ / (atol + rtol·max(|yᵢ|, |yᵢ′|)))²) ≤ 1, and the next step
//! is h·min(5, max(0.2, 0.9·‖e‖^{−1/5})).

use crate::error::{Error, Result};

/// Tolerances and limits of [`solve`].
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Initial step (0: chosen from the interval length).
    pub h0: f64,
    /// The largest step (0: unlimited); set it to get a finely sampled path.
    pub h_max: f64,
    /// The largest number of attempted steps before giving up.
    pub max_steps: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rtol: 1e-10,
            atol: 1e-12,
            h0: 0.0,
            h_max: 0.0,
            max_steps: 100_000,
        }
    }
}

/// The result of [`solve`]: the accepted points (t, y), first the initial point.
#[derive(Debug, Clone)]
pub struct Solution {
    /// Times of the accepted steps, from t₀ to t₁.
    pub t: Vec<f64>,
    /// States at those times.
    pub y: Vec<Vec<f64>>,
    /// Rejected steps.
    pub rejected: usize,
}

impl Solution {
    /// The final state y(t₁).
    pub fn last(&self) -> &[f64] {
        self.y
            .last()
            .expect("a solution holds at least the initial point")
    }
}

// Dormand–Prince coefficients.
const C: [f64; 7] = [0.0, 0.2, 0.3, 0.8, 8.0 / 9.0, 1.0, 1.0];
const A: [[f64; 6]; 7] = [
    [0.0; 6],
    [0.2, 0.0, 0.0, 0.0, 0.0, 0.0],
    [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
    [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
    [
        19372.0 / 6561.0,
        -25360.0 / 2187.0,
        64448.0 / 6561.0,
        -212.0 / 729.0,
        0.0,
        0.0,
    ],
    [
        9017.0 / 3168.0,
        -355.0 / 33.0,
        46732.0 / 5247.0,
        49.0 / 176.0,
        -5103.0 / 18656.0,
        0.0,
    ],
    [
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
    ],
];
/// Fifth-order weights (the last row of A, then 0: first same as last).
const B5: [f64; 7] = {
    let r = A[6];
    [r[0], r[1], r[2], r[3], r[4], r[5], 0.0]
};
/// Fourth-order embedded weights.
const B4: [f64; 7] = [
    5179.0 / 57600.0,
    0.0,
    7571.0 / 16695.0,
    393.0 / 640.0,
    -92097.0 / 339200.0,
    187.0 / 2100.0,
    1.0 / 40.0,
];

/// Integrates y′ = f(t, y, y′_out) from (t0, y0) to t1 (t1 may be below t0).
///
/// `f` writes the derivative into its third argument. Fails when a state turns
/// non-finite or the step count exceeds [`Options::max_steps`]; the error says
/// at which t.
pub fn solve<F>(f: F, t0: f64, y0: &[f64], t1: f64, opt: &Options) -> Result<Solution>
where
    F: Fn(f64, &[f64], &mut [f64]),
{
    solve_scaled(f, t0, y0, t1, opt, &[])
}

/// [`solve`] with an absolute tolerance per component, `atol·atol_scale[i]`
/// (an empty `atol_scale` means 1 for every component): a state whose
/// components live on different scales (a probability of 10⁻⁶ beside a mean
/// of 10³) is then controlled in the units of each.
pub fn solve_scaled<F>(
    f: F,
    t0: f64,
    y0: &[f64],
    t1: f64,
    opt: &Options,
    atol_scale: &[f64],
) -> Result<Solution>
where
    F: Fn(f64, &[f64], &mut [f64]),
{
    if !atol_scale.is_empty() && atol_scale.len() != y0.len() {
        return Err(Error::setting(
            "atol_scale",
            format!(
                "has {} entries for a state of {}",
                atol_scale.len(),
                y0.len()
            ),
        ));
    }
    if !(opt.rtol > 0.0 && opt.atol >= 0.0) {
        return Err(Error::setting(
            "rtol/atol",
            "rtol must be > 0 and atol >= 0",
        ));
    }
    let n = y0.len();
    let mut sol = Solution {
        t: vec![t0],
        y: vec![y0.to_vec()],
        rejected: 0,
    };
    let span = t1 - t0;
    if span == 0.0 {
        return Ok(sol);
    }
    let dir = span.signum();
    let mut h = if opt.h0 > 0.0 {
        opt.h0.min(span.abs())
    } else {
        span.abs() * 1e-2
    };
    let mut t = t0;
    let mut y = y0.to_vec();
    let mut k = vec![vec![0.0; n]; 7];
    let mut tmp = vec![0.0; n];
    let mut y5 = vec![0.0; n];
    f(t, &y, &mut k[0]);
    let mut steps = 0;
    while (t1 - t) * dir > 0.0 {
        steps += 1;
        if steps > opt.max_steps {
            return Err(Error::failed(
                "ODE solver",
                format!(
                    "more than {} steps before reaching t = {t1} (stuck at t = {t})",
                    opt.max_steps
                ),
            ));
        }
        if opt.h_max > 0.0 {
            h = h.min(opt.h_max);
        }
        let last = h >= (t1 - t).abs();
        if last {
            h = (t1 - t).abs();
        }
        let hs = h * dir;
        for s in 1..7 {
            for i in 0..n {
                let mut acc = y[i];
                for (j, kj) in k.iter().enumerate().take(s) {
                    acc += hs * A[s][j] * kj[i];
                }
                tmp[i] = acc;
            }
            let (done, rest) = k.split_at_mut(s);
            let _ = done;
            f(t + C[s] * hs, &tmp, &mut rest[0]);
        }
        // The stage-7 input is the fifth-order solution (FSAL).
        y5.copy_from_slice(&tmp);
        let mut err2 = 0.0;
        for i in 0..n {
            let mut e = 0.0;
            for s in 0..7 {
                e += (B5[s] - B4[s]) * k[s][i];
            }
            let a = if atol_scale.is_empty() {
                opt.atol
            } else {
                opt.atol * atol_scale[i]
            };
            let sc = a + opt.rtol * y[i].abs().max(y5[i].abs());
            err2 += (hs * e / sc).powi(2);
        }
        let err = (err2 / n.max(1) as f64).sqrt();
        if !err.is_finite() || y5.iter().any(|v| !v.is_finite()) {
            // Shrink hard; a non-finite state may be a step outside the domain.
            sol.rejected += 1;
            h *= 0.1;
            if h < 1e-14 * span.abs() {
                return Err(Error::failed(
                    "ODE solver",
                    format!("the state became non-finite near t = {t}"),
                ));
            }
            continue;
        }
        if err <= 1.0 {
            t = if last { t1 } else { t + hs };
            y.copy_from_slice(&y5);
            let k6 = k[6].clone();
            k[0].copy_from_slice(&k6);
            sol.t.push(t);
            sol.y.push(y.clone());
        } else {
            sol.rejected += 1;
        }
        let fac = if err == 0.0 {
            5.0
        } else {
            (0.9 * err.powf(-0.2)).clamp(0.2, 5.0)
        };
        h *= fac;
        if h < 1e-14 * span.abs() {
            return Err(Error::failed(
                "ODE solver",
                format!("step size underflow at t = {t}"),
            ));
        }
    }
    Ok(sol)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn harmonic_oscillator_matches_closed_form() {
        // Oracle: y″ = −ω²y, y(0) = 1, y′(0) = 0 has y = cos ωt, y′ = −ω sin ωt.
        let w = 3.0;
        let opt = Options::default();
        let s = solve(
            |_, y, d| {
                d[0] = y[1];
                d[1] = -w * w * y[0];
            },
            0.0,
            &[1.0, 0.0],
            10.0,
            &opt,
        )
        .unwrap();
        let y = s.last();
        assert_relative_eq!(y[0], (w * 10.0).cos(), epsilon = 1e-8);
        assert_relative_eq!(y[1], -w * (w * 10.0).sin(), epsilon = 1e-8);
        assert_eq!(*s.t.last().unwrap(), 10.0);
    }

    #[test]
    fn time_dependent_and_backwards() {
        // Oracle: y′ = −2ty has y = y₀ e^{−(t² − t₀²)}; integrate from 1 back to −0.5.
        let s = solve(
            |t, y, d| d[0] = -2.0 * t * y[0],
            1.0,
            &[2.0],
            -0.5,
            &Options::default(),
        )
        .unwrap();
        assert_relative_eq!(s.last()[0], 2.0 * (-(0.25 - 1.0f64)).exp(), epsilon = 1e-9);
    }

    #[test]
    fn error_shrinks_with_tolerance() {
        // A fifth-order method: a 100× tighter tolerance must give a smaller error
        // on y′ = y (oracle e^t); the solver must not ignore its tolerance.
        let err = |rtol: f64| {
            let o = Options {
                rtol,
                atol: rtol * 1e-2,
                ..Default::default()
            };
            let s = solve(|_, y, d| d[0] = y[0], 0.0, &[1.0], 2.0, &o).unwrap();
            (s.last()[0] - 2.0f64.exp()).abs()
        };
        let (e1, e2) = (err(1e-5), err(1e-9));
        assert!(e2 < e1 / 100.0, "{e1} {e2}");
        assert!(e1 < 1e-3);
    }

    #[test]
    fn per_component_absolute_tolerance() {
        // y′ = −y from 1e-9 to t = 5 (oracle 1e-9·e⁻⁵), error controlled by
        // atol alone (rtol 1e-14): an atol of 1e-10 in absolute terms barely
        // controls a state of 1e-9; scaled to the component (1e-10·1e-9) it does.
        let o = Options {
            rtol: 1e-14,
            atol: 1e-10,
            ..Default::default()
        };
        let want = 1e-9 * (-5.0f64).exp();
        let rel = |s: Solution| (s.last()[0] - want).abs() / want;
        let plain = rel(solve(|_, y, d| d[0] = -y[0], 0.0, &[1e-9], 5.0, &o).unwrap());
        let scaled =
            rel(solve_scaled(|_, y, d| d[0] = -y[0], 0.0, &[1e-9], 5.0, &o, &[1e-9]).unwrap());
        assert!(scaled < 1e-8 && plain > 100.0 * scaled, "{scaled} {plain}");
        assert!(solve_scaled(|_, y, d| d[0] = -y[0], 0.0, &[1.0], 1.0, &o, &[1.0, 2.0]).is_err());
    }

    #[test]
    fn blow_up_is_an_error() {
        // y′ = y² from y(0) = 1 blows up at t = 1.
        let r = solve(
            |_, y, d| d[0] = y[0] * y[0],
            0.0,
            &[1.0],
            2.0,
            &Options::default(),
        );
        assert!(r.is_err());
    }
}

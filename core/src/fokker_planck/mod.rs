//! Fokker–Planck grid solvers in 1-D and 2-D: conservative finite volumes for
//!
//!   ∂_τ p = −∂ₐ(bᵃ p) + ½ ∂ₐ∂_b(K⁻¹ᵃᵇ p)
//!
//! (docs/conventions.md, "generator ½, no √2"; the paper's eq. 15 with the ½
//! of that convention), the density-level counterpart of the SDE
//! dY = b dτ + θ dW, θθᵀ = K⁻¹. They are an independent check on SDE
//! ensembles and the reference for the semigroup (eqs. 20, 22–24).
//!
//! **Scheme.** Cell averages pᵢ on a uniform grid; the flux through each face
//! is a Scharfetter–Gummel flux; faces on the boundary carry no flux, so the
//! total mass Σ pᵢ h changes only by round-off. Writing the flux of one
//! coordinate as J = b p − ½ ∂(D p) = (b/D) q − ½ ∂q with q = D p
//! (D = K⁻¹ᵃᵃ), the face flux between cells i and i+1 is
//!
//!   J = (1 / 2h) [B(−P) qᵢ − B(P) qᵢ₊₁],  P = 2 h b_f / D_f,  B(x) = x/(eˣ − 1),
//!
//! with b_f, D_f evaluated at the face. It is second order in h while the cell
//! Péclet number |P| is O(1) (diffusion resolved by the grid) and degrades to
//! first-order upwinding in drift-dominated cells (|P| ≫ 1); it reduces to
//! central differences when b = 0 and to upwinding when |P| is large, and is
//! exact (zero flux) for a stationary law whose log-density is linear over a
//! cell, which is why it reproduces e^{−V} for the potential drift (including
//! the divergence term of a state-dependent D) to O(h²). Both coefficients
//! B(±P) are positive, so the semi-discrete generator has non-negative
//! off-diagonal entries and zero column sums (a rate matrix).
//!
//! **Inputs and accuracy.** Every input is checked where it is used, with
//! typed errors naming the place and the value: the diffusion at every face
//! and every cell centre (once: it does not depend on τ), the drift at every
//! face at every stage time, the starting density in every cell (and its mass
//! in the boundary cells: a start that reaches the walls is truncated, so it
//! is refused). `advance_to` refuses to go backwards, bounds its step count
//! ([`MAX_STEPS`]) and returns an [`Advance`] with the largest cell Péclet
//! number over the occupied faces and the largest mass at the walls, whose
//! [`Advance::warnings`] say when accuracy is lost ([`PECLET_LIMIT`],
//! [`WALL_MASS_LIMIT`]).
//!
//! **Time stepping.** Explicit SSP-RK2 (Heun's method written as a convex
//! combination of two forward-Euler steps). A forward-Euler step of a rate
//! matrix A keeps p ≥ 0 when Δτ·maxᵢ|Aᵢᵢ| ≤ 1, and SSP-RK2 inherits this
//! bound; [`step_limit`](grid1d::FokkerPlanck1d::step_limit) returns it and
//! `advance_to` uses 0.9 of the smaller of the limits at τ and τ + Δτ (the
//! second stage uses the coefficients at τ + Δτ). The limit scales as h²/D, so the time error
//! O(Δτ²) = O(h⁴) is far below the O(h²) space error: the solver is second
//! order overall. (An implicit Euler step would be positive at any step but
//! only first order in time; with these grids the explicit limit is cheap.)

use crate::error::{Error, Result};

pub mod grid1d;
pub mod grid2d;
pub mod reference;

pub use grid1d::{ChiSquare, FokkerPlanck1d, Grid1d};
pub use grid2d::FokkerPlanck2d;

/// The Bernoulli function B(x) = x / (eˣ − 1), B(0) = 1, positive everywhere.
pub fn bernoulli(x: f64) -> f64 {
    if x.abs() < 1e-6 {
        1.0 - 0.5 * x + x * x / 12.0
    } else {
        x / x.exp_m1()
    }
}

/// One SSP-RK2 step p ← ½p + ½(p¹ + Δτ L(p¹, τ+Δτ)), p¹ = p + Δτ L(p, τ),
/// where `rhs(p, τ, out)` writes L(p, τ) into `out` (and may refuse).
pub(crate) fn ssp_rk2<F: FnMut(&[f64], f64, &mut [f64]) -> Result<()>>(
    p: &mut [f64],
    tau: f64,
    dt: f64,
    mut rhs: F,
) -> Result<()> {
    let n = p.len();
    let mut k = vec![0.0; n];
    rhs(p, tau, &mut k)?;
    let p1: Vec<f64> = p.iter().zip(&k).map(|(p, k)| p + dt * k).collect();
    rhs(&p1, tau + dt, &mut k)?;
    for i in 0..n {
        p[i] = 0.5 * p[i] + 0.5 * (p1[i] + dt * k[i]);
    }
    Ok(())
}

/// The most steps one `advance_to` takes; a run that would need more is
/// refused before it starts ([`Error::Failed`], with the step limit and where
/// it comes from), so no call can hang.
pub const MAX_STEPS: usize = 10_000_000;

/// The cell Péclet number |P| = 2h|b|/D above which `advance_to` warns that
/// accuracy is lost. Scharfetter–Gummel is second order while |P| = O(1) and
/// degrades to first-order upwinding as |P| grows (it stays positive and
/// conservative, but its numerical diffusion ≈ |b|h/2 swamps D). Measured on
/// the advection of N(0, 0.01) by b = 1 to τ = 2 with h = 0.025 (test
/// `peclet_diagnostic_tracks_the_error`): L¹ errors 0.010, 0.035, 0.085, 0.34,
/// 0.62, 0.81 at |P| = 0.5, 1, 1.7, 5, 17, 500. (A drift that balances the
/// diffusion, as in a stationary Ornstein–Uhlenbeck law, is reproduced far
/// better: Scharfetter–Gummel is exact for a log-density linear over a cell.)
pub const PECLET_LIMIT: f64 = 1.0;

/// The fraction of the mass in the boundary cells above which the zero-flux
/// walls are said to distort the solution (they reflect what an unbounded
/// domain would let pass), and above which a starting density is refused.
pub const WALL_MASS_LIMIT: f64 = 1e-6;

/// Faces whose adjacent cells both hold less than this fraction of the
/// largest cell value do not count in the Péclet diagnostic (the density
/// there is negligible, whatever the scheme does).
pub const PECLET_DENSITY_CUTOFF: f64 = 1e-6;

/// What one `advance_to` did, and where accuracy may have been lost.
#[derive(Debug, Clone, PartialEq)]
pub struct Advance {
    /// Steps taken.
    pub steps: usize,
    /// The largest cell Péclet number |P| = 2h|b|/D at a face next to a cell
    /// holding at least [`PECLET_DENSITY_CUTOFF`] of the largest cell value,
    /// over all steps (in whitened coordinates for the 2-D grid).
    pub max_peclet: f64,
    /// Where and when `max_peclet` was seen.
    pub peclet_at: String,
    /// The largest fraction of the mass in the boundary cells after any step.
    pub wall_mass: f64,
}

impl Advance {
    /// Warnings, one per kind of accuracy lost: Péclet numbers above
    /// [`PECLET_LIMIT`], mass at the walls above [`WALL_MASS_LIMIT`].
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.max_peclet > PECLET_LIMIT {
            w.push(format!(
                "cell Peclet number {:.3} > {PECLET_LIMIT} ({}): the diffusion is not resolved by the grid against the drift, and the scheme's numerical diffusion (about |b|h/2) takes over (L1 errors of 0.3-0.8 at Peclet 5-500 on an advected pulse); refine the grid",
                self.max_peclet, self.peclet_at
            ));
        }
        if self.wall_mass > WALL_MASS_LIMIT {
            w.push(format!(
                "up to {:.3e} of the mass reached the boundary cells (> {WALL_MASS_LIMIT:e}): the zero-flux walls reflect it, so the law on an unbounded domain is not reproduced; widen the box",
                self.wall_mass
            ));
        }
        w
    }
}

/// An explicit positivity-limited finite-volume scheme that [`advance_to`]
/// and [`step`] can drive.
pub(crate) trait Explicit {
    /// The current time.
    fn now(&self) -> f64;
    /// The positivity step limit at τ, the largest Péclet number over the
    /// occupied faces at τ, and where it is.
    fn limits(&self, tau: f64) -> Result<(f64, f64, String)>;
    /// The fraction of the mass in the boundary cells.
    fn wall_mass(&self) -> f64;
    /// Writes the semi-discrete right-hand side L(p, τ) into `out`.
    fn rhs(&self, p: &[f64], tau: f64, out: &mut [f64]) -> Result<()>;
    /// Names cell `k` of the cell vector for messages ("cell 3 (y = 0.1)").
    fn cell_name(&self, k: usize) -> String;
    /// The cell values and the clock, to be replaced by a step or a restart.
    fn state_mut(&mut self) -> (&mut Vec<f64>, &mut f64);
}

/// `impl Explicit for $t` by its inherent `limits_at`, `wall_mass`, `rhs` and
/// `cell_name`, and its fields `p` (cells) and `tau` (clock): the 1-D and 2-D
/// grids.
macro_rules! explicit_by_inherent {
    ($t:ty) => {
        impl $crate::fokker_planck::Explicit for $t {
            fn now(&self) -> f64 {
                self.tau
            }
            fn limits(&self, tau: f64) -> Result<(f64, f64, String)> {
                self.limits_at(tau)
            }
            fn wall_mass(&self) -> f64 {
                <$t>::wall_mass(self)
            }
            fn rhs(&self, p: &[f64], tau: f64, out: &mut [f64]) -> Result<()> {
                <$t>::rhs(self, p, tau, out)
            }
            fn cell_name(&self, k: usize) -> String {
                <$t>::cell_name(self, k)
            }
            fn state_mut(&mut self) -> (&mut Vec<f64>, &mut f64) {
                (&mut self.p, &mut self.tau)
            }
        }
    };
}
pub(crate) use explicit_by_inherent;

/// One SSP-RK2 step of size `dt` of an explicit scheme (no positivity guard:
/// the scheme's step limit is the caller's business). Shared by the 1-D and
/// 2-D grids.
///
/// # Errors
/// [`Error::Setting`] for a dt that is not finite and > 0; the scheme's own
/// errors (a drift that is not finite at a face); [`Error::Failed`] when the
/// density becomes NaN or infinite (naming the cell; the cells then hold the
/// failed step and the clock is not advanced).
pub(crate) fn step<S: Explicit>(solver: &mut S, dt: f64) -> Result<()> {
    if !(dt > 0.0 && dt.is_finite()) {
        return Err(Error::setting(
            "dt",
            format!("must be finite and > 0, got {dt}"),
        ));
    }
    let tau = solver.now();
    let mut p = std::mem::take(solver.state_mut().0);
    let r = ssp_rk2(&mut p, tau, dt, |q, t, out| solver.rhs(q, t, out));
    let fin = check_finite(&p, tau + dt, |k| solver.cell_name(k));
    let (cells, clock) = solver.state_mut();
    *cells = p;
    r?;
    fin?;
    *clock += dt;
    Ok(())
}

/// Replaces the cell values of an explicit scheme by `cells` (one per cell,
/// finite and ≥ 0, any mass) and resets its clock to τ = 0.
///
/// # Errors
/// [`Error::Setting`] (`cells`) for a wrong count or a value that is negative
/// or not finite, naming the cell.
pub(crate) fn restart<S: Explicit>(solver: &mut S, cells: Vec<f64>) -> Result<()> {
    let n = solver.state_mut().0.len();
    if cells.len() != n {
        return Err(Error::setting(
            "cells",
            format!("restart needs {n} cell values, got {}", cells.len()),
        ));
    }
    check_density("cells", "the restart density", &cells, |k| {
        solver.cell_name(k)
    })?;
    let (p, clock) = solver.state_mut();
    *p = cells;
    *clock = 0.0;
    Ok(())
}

/// Refuses cell values of a density (`what`, given as the setting `field`)
/// that are negative or not finite, naming the first such cell by `cell`.
pub(crate) fn check_density(
    field: &str,
    what: &str,
    p: &[f64],
    cell: impl Fn(usize) -> String,
) -> Result<()> {
    match p.iter().position(|v| !v.is_finite() || *v < 0.0) {
        None => Ok(()),
        Some(k) => Err(Error::setting(
            field,
            format!(
                "{what} is {} in {}: it must be finite and >= 0",
                p[k],
                cell(k)
            ),
        )),
    }
}

/// L¹ distance Σ |pᵢ − eᵢ| · h₁ ⋯ h_d between two vectors of cell values on
/// a grid with cell sides `h` (multiplied in that order).
pub(crate) fn l1_distance(p: &[f64], e: &[f64], h: &[f64]) -> f64 {
    let sum = p.iter().zip(e).map(|(a, b)| (a - b).abs()).sum::<f64>();
    h.iter().fold(sum, |acc, h| acc * h)
}

/// The smallest cell value (+∞ for no cells).
pub(crate) fn min_cell(p: &[f64]) -> f64 {
    p.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Advances an explicit finite-volume scheme to `tau_end` with steps of 0.9 ×
/// its positivity limit at both ends of each step (SSP-RK2's second stage uses
/// the coefficients at τ + Δτ), the last one shortened to land on `tau_end`.
/// Shared by the 1-D and 2-D grids.
///
/// # Errors
/// [`Error::Setting`] for a `tau_end` that is not finite or lies before the
/// current time (the equation is not solved backwards); [`Error::Failed`]
/// when the step limit would need more than [`MAX_STEPS`] steps or a NaN
/// arises; the scheme's own errors (a drift that is not finite at a face).
pub(crate) fn advance_to<S: Explicit>(solver: &mut S, tau_end: f64) -> Result<Advance> {
    let start = solver.now();
    if !tau_end.is_finite() {
        return Err(Error::setting(
            "tau_end",
            format!("must be finite, got {tau_end}"),
        ));
    }
    let slack = 1e-14 * tau_end.abs().max(1.0);
    if tau_end < start - slack {
        return Err(Error::setting(
            "tau_end",
            format!(
                "{tau_end} lies before the current time {start}: the Fokker-Planck equation is solved forward only (restart from a density at an earlier time instead)"
            ),
        ));
    }
    let mut adv = Advance {
        steps: 0,
        max_peclet: 0.0,
        peclet_at: String::new(),
        wall_mass: solver.wall_mass(),
    };
    while solver.now() < tau_end - slack {
        let tau = solver.now();
        let (lim0, pe, at) = solver.limits(tau)?;
        if pe > adv.max_peclet {
            adv.max_peclet = pe;
            adv.peclet_at = at;
        }
        let dt0 = (0.9 * lim0).min(tau_end - tau);
        let dt = dt0.min(0.9 * solver.limits(tau + dt0)?.0);
        let left = MAX_STEPS - adv.steps;
        if dt.is_nan() || dt <= 0.0 || (tau_end - tau) / dt > left as f64 {
            return Err(Error::failed(
                format!("advance from tau = {start} to {tau_end}"),
                format!(
                    "at tau = {tau} the positivity step limit is {dt:e}, so the remaining {:e} would take more than the {left} steps left of {MAX_STEPS} (a drift or diffusion too large for the cells)",
                    tau_end - tau
                ),
            ));
        }
        step(solver, dt)?;
        adv.steps += 1;
        adv.wall_mass = adv.wall_mass.max(solver.wall_mass());
    }
    Ok(adv)
}

/// The first entry of `p` that is not finite, as a failed computation.
pub(crate) fn check_finite(p: &[f64], tau: f64, cell: impl Fn(usize) -> String) -> Result<()> {
    match p.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::failed(
            "Fokker-Planck step",
            format!("the density became {} in {} at tau = {tau}", p[i], cell(i)),
        )),
    }
}

/// Test helper of both grids: the smallest cell value seen over a run,
/// `worst_min`, is non-negative, and the mass moved from `mass0` to `mass`
/// by less than 10⁻¹² (zero-flux finite volumes conserve it to rounding).
#[cfg(test)]
fn assert_positive_conserved(worst_min: f64, mass0: f64, mass: f64) {
    assert!(worst_min >= 0.0, "negative density {worst_min}");
    assert!((mass - mass0).abs() < 1e-12, "mass drift {}", mass - mass0);
}

/// Test helper of both grids: 20 steps of a run beyond its step limit
/// (`step` takes one and returns the smallest cell value after it) reach a
/// negative value, so that a positivity check can fail.
#[cfg(test)]
fn assert_goes_negative(mut step: impl FnMut() -> f64) {
    let worst = (0..20).fold(f64::INFINITY, |w, _| w.min(step()));
    assert!(worst < 0.0, "the smallest cell value stayed {worst}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sde::ensemble::{EnsembleConfig, Initial, simulate};
    use crate::sde::steppers::EulerMaruyama;
    use crate::sde::terms::{Diffusion, FnDiagonalNoise, FnDrift, Problem};
    use nalgebra::DMatrix;
    use std::sync::Arc;

    #[test]
    fn grid_agrees_with_an_euler_maruyama_ensemble() {
        // The double well V = y⁴/4 − y²/2 under the state-dependent diffusion
        // D(y) = K⁻¹(y) = 1 + 0.6 sin 1.5y, drift −½DV′ + ½D′ (the potential
        // Itô drift of conventions.md), from N(0.5, 0.1) to τ = 1.
        // Reference: the 1-D grid (400 cells, error ~1e-4 in L¹). Ensemble:
        // 20 000 Euler–Maruyama paths, 1000 steps (weak error O(Δτ) ≈ 1e-3
        // shifts a bin probability by ≪ its standard error √(p/n) ≈ 1.6e-3).
        // Test: Pearson χ² over 20 equiprobable bins, 19 dof; pass when the
        // p-value exceeds 1e-3. Control: the grid solved without the ½D′ term
        // must be rejected (p < 1e-6), so the test can see a wrong law.
        let dfun = |y: f64| 1.0 + 0.6 * (1.5 * y).sin();
        let start = |y: f64| grid1d::normal_pdf(y, 0.5, 0.1);
        // (Analytic D′ here: the sde helper's NaturalGradientDrift, which takes
        // it by numdiff, is tested on its side and is slower in this hot loop.)
        let dd = move |y: f64| 0.9 * (1.5 * y).cos();
        let drift = FnDrift::new(1, move |y: &[f64], _t: f64, out: &mut [f64]| {
            out[0] = -0.5 * dfun(y[0]) * (y[0].powi(3) - y[0]) + 0.5 * dd(y[0])
        });
        let noise = FnDiagonalNoise::new(1, move |y: &[f64], _t: f64, out: &mut [f64]| {
            out[0] = dfun(y[0]).sqrt()
        });
        let problem = Problem::new(Arc::new(drift), Diffusion::Diagonal(Arc::new(noise))).unwrap();
        let n = 20_000;
        let init = crate::mixture::GaussianMixture::new(
            vec![1.0],
            vec![
                crate::gaussian::Gaussian::new(
                    nalgebra::DVector::from_vec(vec![0.5]),
                    DMatrix::from_element(1, 1, 0.1),
                )
                .unwrap(),
            ],
        )
        .unwrap()
        .sample_n(n, 5);
        let cfg = EnsembleConfig {
            paths: n,
            initial: Initial::Each(Arc::new(init)),
            t0: 0.0,
            save_at: vec![1.0],
            max_step: 1e-3,
            seed: 6,
        };
        let ens = simulate(&problem, &EulerMaruyama, &cfg, &|_| {}).unwrap();
        let sample = ens.coordinate(0, 0);
        let g = Grid1d::new(-4.0, 4.0, 400).unwrap();
        let mut fp = FokkerPlanck1d::new(
            g,
            move |y, _| -0.5 * dfun(y) * (y * y * y - y) + 0.5 * dd(y),
            dfun,
            start,
        )
        .unwrap();
        fp.advance_to(1.0).unwrap();
        let c = fp.chi_square(&sample, 20);
        eprintln!("χ² = {} on {} dof, p = {}", c.statistic, c.dof, c.p_value);
        assert!(c.p_value > 1e-3);
        let mut wrong =
            FokkerPlanck1d::new(g, move |y, _| -0.5 * dfun(y) * (y * y * y - y), dfun, start)
                .unwrap();
        wrong.advance_to(1.0).unwrap();
        let cw = wrong.chi_square(&sample, 20);
        eprintln!("control χ² = {}, p = {}", cw.statistic, cw.p_value);
        assert!(cw.p_value < 1e-6);
    }

    #[test]
    fn bernoulli_matches_definition_and_symmetry() {
        // B(−x) − B(x) = x exactly; B(0) = 1.
        for &x in &[1e-9, 1e-5, 0.3, 2.0, 40.0, -7.0] {
            assert!((bernoulli(-x) - bernoulli(x) - x).abs() < 1e-12 * x.abs().max(1.0));
            assert!(bernoulli(x) > 0.0);
        }
        assert_eq!(bernoulli(0.0), 1.0);
        assert!((bernoulli(1.0) - 1.0 / (std::f64::consts::E - 1.0)).abs() < 1e-15);
    }
}

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
//! **Time stepping.** Explicit SSP-RK2 (Heun's method written as a convex
//! combination of two forward-Euler steps). A forward-Euler step of a rate
//! matrix A keeps p ≥ 0 when Δτ·maxᵢ|Aᵢᵢ| ≤ 1, and SSP-RK2 inherits this
//! bound; [`step_limit`](grid1d::FokkerPlanck1d::step_limit) returns it and
//! `advance_to` uses 0.9 of the smaller of the limits at τ and τ + Δτ (the
//! second stage uses the coefficients at τ + Δτ). The limit scales as h²/D, so the time error
//! O(Δτ²) = O(h⁴) is far below the O(h²) space error: the solver is second
//! order overall. (An implicit Euler step would be positive at any step but
//! only first order in time; with these grids the explicit limit is cheap.)

pub mod grid1d;
pub mod grid2d;

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
/// where `rhs(p, τ, out)` writes L(p, τ) into `out`.
pub(crate) fn ssp_rk2<F: FnMut(&[f64], f64, &mut [f64])>(
    p: &mut [f64],
    tau: f64,
    dt: f64,
    mut rhs: F,
) {
    let n = p.len();
    let mut k = vec![0.0; n];
    rhs(p, tau, &mut k);
    let p1: Vec<f64> = p.iter().zip(&k).map(|(p, k)| p + dt * k).collect();
    rhs(&p1, tau + dt, &mut k);
    for i in 0..n {
        p[i] = 0.5 * p[i] + 0.5 * (p1[i] + dt * k[i]);
    }
}

/// Advances an explicit finite-volume scheme to `tau_end` with steps of 0.9 ×
/// its positivity limit at both ends of each step (SSP-RK2's second stage uses
/// the coefficients at τ + Δτ), the last one shortened to land on `tau_end`;
/// returns the step count. Shared by the 1-D and 2-D grids.
pub(crate) fn advance_to<S>(
    solver: &mut S,
    tau_end: f64,
    now: fn(&S) -> f64,
    step_limit: fn(&S, f64) -> f64,
    step: fn(&mut S, f64),
) -> usize {
    let mut steps = 0;
    while now(solver) < tau_end - 1e-14 * tau_end.abs().max(1.0) {
        let tau = now(solver);
        let dt0 = (0.9 * step_limit(solver, tau)).min(tau_end - tau);
        let dt = dt0.min(0.9 * step_limit(solver, tau + dt0));
        step(solver, dt);
        steps += 1;
    }
    steps
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
        fp.advance_to(1.0);
        let c = fp.chi_square(&sample, 20);
        eprintln!("χ² = {} on {} dof, p = {}", c.statistic, c.dof, c.p_value);
        assert!(c.p_value > 1e-3);
        let mut wrong =
            FokkerPlanck1d::new(g, move |y, _| -0.5 * dfun(y) * (y * y * y - y), dfun, start)
                .unwrap();
        wrong.advance_to(1.0);
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

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
//! with b_f, D_f evaluated at the face. It is second order in h, reduces to
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
//! `advance_to` uses 0.9 of it. The limit scales as h²/D, so the time error
//! O(Δτ²) = O(h⁴) is far below the O(h²) space error: the solver is second
//! order overall. (An implicit Euler step would be positive at any step but
//! only first order in time; with these grids the explicit limit is cheap.)

pub mod grid1d;
pub mod grid2d;

pub use grid1d::{FokkerPlanck1d, Grid1d};
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

#[cfg(test)]
mod tests {
    use super::*;

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

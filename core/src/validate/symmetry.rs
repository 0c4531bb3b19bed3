//! Symmetry (Iᵢⱼ = Iⱼᵢ) and positive semi-definiteness (λ_min ≥ 0) of the
//! estimates.

use super::compare::Ledger;
use super::{Estimates, FD_RTOL, PSD_TOL, SYM_TOL, method_name};
use crate::check::Check;
use crate::fisher::Method;
use crate::linalg::{self, Spectrum};
use nalgebra::DMatrix;

/// λ_min / |λ_max| of a symmetric matrix (0 for a zero matrix).
pub fn relative_min_eigenvalue(m: &DMatrix<f64>) -> f64 {
    let sp = Spectrum::of(m);
    let top = sp.values.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
    if top == 0.0 { 0.0 } else { sp.min() / top }
}

/// `{what} symmetric (asymmetry)` ≤ [`SYM_TOL`].
pub fn symmetric(what: &str, m: &DMatrix<f64>) -> Check {
    Check::at_most(
        format!("{what} symmetric (asymmetry)"),
        linalg::asymmetry(m),
        SYM_TOL,
        "Iᵢⱼ = Iⱼᵢ",
    )
}

/// `{what} positive semi-definite (λ_min/λ_max)` ≥ −`tol`.
pub fn positive_semi_definite(what: &str, m: &DMatrix<f64>, tol: f64) -> Check {
    Check::at_least(
        format!("{what} positive semi-definite (λ_min/λ_max)"),
        relative_min_eigenvalue(m),
        -tol,
        "λ_min ≥ 0",
    )
}

/// The closed form as the model returned it is symmetric; every
/// deterministic estimate and E\[ℓℓᵀ\] are positive semi-definite.
pub(crate) fn check_estimates(est: &Estimates, ledger: &mut Ledger) {
    if let Some(raw) = &est.raw_closed {
        ledger.push(symmetric("closed form", raw));
    }
    for e in est.deterministic() {
        let tol = if e.method == Method::ClosedForm {
            PSD_TOL
        } else {
            FD_RTOL
        };
        ledger.push(positive_semi_definite(
            method_name(e.method),
            &e.matrix,
            tol,
        ));
    }
    // E[ℓℓᵀ] is an average of positive semi-definite matrices; −E[∇² ln p] need
    // not be positive semi-definite for finite samples, so it is only reported.
    ledger.push(positive_semi_definite(
        "score_outer",
        &est.so.matrix,
        PSD_TOL,
    ));
}

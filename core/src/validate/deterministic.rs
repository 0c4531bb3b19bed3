//! Deterministic estimates (the closed form, JᵀΣ⁻¹J of eqs. 40–42, the
//! Hessian of the closed-form KL, eq. 31) against the reference, by scaled
//! relative error.

use super::compare::Ledger;
use super::report::EstimatorReport;
use super::{Estimates, FD_RTOL, method_name, rows};
use crate::linalg::Spectrum;

/// One report per deterministic estimate; each that is not the reference is
/// compared with it (worst scaled error ≤ [`FD_RTOL`]).
pub(crate) fn compare(est: &Estimates, ledger: &mut Ledger) -> Vec<EstimatorReport> {
    let reference = est.reference();
    let mut estimators = Vec::new();
    for e in est.deterministic() {
        let mut comparisons = Vec::new();
        if let Some(r) = reference
            && r.method != e.method
        {
            let c = ledger.push_rel(
                format!(
                    "{} vs {} (worst scaled error)",
                    method_name(e.method),
                    method_name(r.method)
                ),
                &e.matrix,
                &r.matrix,
                r.method,
                FD_RTOL,
            );
            comparisons.push(c);
        }
        estimators.push(EstimatorReport {
            method: e.method,
            matrix: rows(&e.matrix),
            std_err: None,
            samples: None,
            enumerated: None,
            min_eigenvalue: Spectrum::of(&e.matrix).min(),
            comparisons,
        });
    }
    estimators
}

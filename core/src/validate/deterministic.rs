//! Deterministic estimates (the closed form, JᵀΣ⁻¹J of eqs. 40–42, the
//! Hessian of the closed-form KL, eq. 31) against the reference, by scaled
//! relative error.

use super::compare::Ledger;
use super::compare::rel_errors;
use super::report::EstimatorReport;
use super::{Estimates, FD_RTOL, method_name, rows};
use crate::check::Check;
use crate::linalg::Spectrum;
use nalgebra::DMatrix;

/// How many times its own spread a difference estimate may miss the reference
/// by and still be called unresolved rather than wrong.
const SPREAD_FACTOR: f64 = 4.0;

/// A failed comparison of a difference estimate `a` (the KL Hessian) with the
/// reference `r` is unresolved when every entry that misses by more than
/// [`FD_RTOL`] has a difference spread (the disagreement of its two chosen
/// step levels, scaled like the error) above [`FD_RTOL`] and misses by at most
/// [`SPREAD_FACTOR`] times it: the differences cannot resolve that entry (θ a
/// few ulp from the edge of the family, Bernoulli p = 1 − 10⁻¹⁵), and their
/// error says nothing about the reference. A miss beyond that factor still
/// fails.
fn unresolvable(check: Check, a: &DMatrix<f64>, r: &DMatrix<f64>, spread: &DMatrix<f64>) -> Check {
    if check.pass {
        return check;
    }
    let err = rel_errors(a, r);
    let sp = rel_errors(&(r + spread), r);
    let mut worst_spread: f64 = 0.0;
    for i in 0..err.nrows() {
        for j in 0..err.ncols() {
            if err[(i, j)] > FD_RTOL {
                if !(sp[(i, j)] > FD_RTOL && err[(i, j)] <= SPREAD_FACTOR * sp[(i, j)]) {
                    return check;
                }
                worst_spread = worst_spread.max(sp[(i, j)]);
            }
        }
    }
    check.unresolved(format!(
        "cannot resolve: the difference steps disagree by up to {worst_spread:.2e} (scaled) \
         among themselves, more than the tolerance; θ is too close to the edge of the family \
         (or too large against its Fisher unit) for differences of the KL in double precision"
    ))
}

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
            if let Some(spread) = &e.difference_spread
                && c.worst > FD_RTOL
            {
                ledger.map_last(|check| unresolvable(check, &e.matrix, &r.matrix, spread));
            }
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

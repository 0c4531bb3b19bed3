//! The Monte Carlo estimators E\[ℓℓᵀ\] (eq. 29) and −E[∇² ln p] against the
//! reference (z-scores), as exact sums over an enumerated support (scaled
//! errors), or, with no deterministic reference, against each other.

use super::compare::{Ledger, z_scores};
use super::report::EstimatorReport;
use super::{Estimates, SUM_RTOL, method_name, rows};
use crate::fisher::Method;
use crate::linalg::Spectrum;
use nalgebra::DMatrix;

/// One report per Monte Carlo estimator with its comparison; `tau_score`
/// and `tau_hess` are the deterministic allowances of the score and the
/// Hessian ([`super::EXACT_RTOL`] when exact, else [`super::FD_RTOL`]).
pub(crate) fn compare(
    est: &Estimates,
    tau_score: f64,
    tau_hess: f64,
    ledger: &mut Ledger,
) -> Vec<EstimatorReport> {
    let so = &est.so;
    let d = so.matrix.nrows();
    let reference = est.reference();
    let mut estimators = Vec::new();
    for e in [&est.so, &est.nh] {
        let se = e.std_err.clone().unwrap_or_else(|| DMatrix::zeros(d, d));
        let tau = if e.method == Method::NegHessian {
            tau_hess
        } else {
            tau_score
        };
        let mut comparisons = Vec::new();
        match reference {
            Some(r) if e.enumerated.is_some() => {
                comparisons.push(ledger.push_rel(
                    format!(
                        "{} (exact sum) vs {} (worst scaled error)",
                        method_name(e.method),
                        method_name(r.method)
                    ),
                    &e.matrix,
                    &r.matrix,
                    r.method,
                    SUM_RTOL,
                ));
            }
            Some(r) => {
                let zs = z_scores(&e.matrix, &se, &r.matrix, None, tau, &r.matrix);
                comparisons.push(ledger.push_z_against(
                    format!(
                        "{} vs {} (worst z)",
                        method_name(e.method),
                        method_name(r.method)
                    ),
                    r.method,
                    zs,
                    e.effective_samples.clone(),
                ));
            }
            None if e.method == Method::NegHessian && e.enumerated.is_some() => {
                comparisons.push(ledger.push_rel(
                    "neg_hessian vs score_outer (exact sums, worst scaled error)".to_string(),
                    &e.matrix,
                    &so.matrix,
                    Method::ScoreOuter,
                    SUM_RTOL,
                ));
            }
            None if e.method == Method::NegHessian => {
                // No deterministic oracle: the two Monte Carlo estimators,
                // on independent draws, against each other.
                let so_se = so.std_err.clone().unwrap_or_else(|| DMatrix::zeros(d, d));
                let avg = (&so.matrix + &e.matrix) * 0.5;
                let zs = z_scores(
                    &e.matrix,
                    &se,
                    &so.matrix,
                    Some(&so_se),
                    tau_hess.max(tau_score),
                    &avg,
                );
                let eff = match (&e.effective_samples, &so.effective_samples) {
                    (Some(a), Some(b)) => Some(a.zip_map(b, f64::min)),
                    _ => None,
                };
                comparisons.push(ledger.push_z_against(
                    "neg_hessian vs score_outer (worst z of the difference, combined SE)",
                    Method::ScoreOuter,
                    zs,
                    eff,
                ));
            }
            None => {}
        }
        estimators.push(EstimatorReport {
            method: e.method,
            matrix: rows(&e.matrix),
            std_err: e.std_err.as_ref().map(rows),
            samples: e.samples,
            enumerated: e.enumerated,
            min_eigenvalue: Spectrum::of(&e.matrix).min(),
            comparisons,
        });
    }
    estimators
}

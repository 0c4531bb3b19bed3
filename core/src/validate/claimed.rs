//! A claimed Fisher matrix (a hand derivation): symmetric, positive
//! semi-definite, and equal to the reference and to every Monte Carlo
//! estimator (its KL expansion is checked in [`super::kl`]).

use super::compare::{Ledger, z_scores};
use super::report::ClaimReport;
use super::symmetry::{positive_semi_definite, symmetric};
use super::{CLAIM_RTOL, Estimates, method_name, rows};
use crate::fisher;
use nalgebra::DMatrix;

/// The checks of the claimed matrix `c` and their statistics.
pub(crate) fn check(c: &DMatrix<f64>, est: &Estimates, ledger: &mut Ledger) -> ClaimReport {
    let d = c.nrows();
    let mut comparisons = Vec::new();
    ledger.push(symmetric("claimed", c));
    ledger.push(positive_semi_definite("claimed", c, CLAIM_RTOL));
    let csym = fisher::symmetrize(c.clone());
    if let Some(r) = est.reference() {
        comparisons.push(ledger.push_rel(
            format!("claimed vs {} (worst scaled error)", method_name(r.method)),
            &csym,
            &r.matrix,
            r.method,
            CLAIM_RTOL,
        ));
    }
    for e in [&est.so, &est.nh] {
        if e.enumerated.is_some() {
            comparisons.push(ledger.push_rel(
                format!(
                    "claimed vs {} (exact sum, worst scaled error)",
                    method_name(e.method)
                ),
                &csym,
                &e.matrix,
                e.method,
                CLAIM_RTOL,
            ));
            continue;
        }
        let se = e.std_err.clone().unwrap_or_else(|| DMatrix::zeros(d, d));
        let zs = z_scores(&e.matrix, &se, &csym, None, CLAIM_RTOL, &e.matrix);
        comparisons.push(ledger.push_z_against(
            format!("claimed vs {} (worst z)", method_name(e.method)),
            e.method,
            zs,
            e.effective_samples.clone(),
        ));
    }
    ClaimReport {
        matrix: rows(c),
        comparisons,
    }
}

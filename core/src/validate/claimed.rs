//! A claimed Fisher matrix (a hand derivation): symmetric, positive
//! semi-definite, and equal to the reference and to every Monte Carlo
//! estimator (its KL expansion is checked in [`super::kl`]).

use super::compare::{Ledger, comparison, rel_errors, z_comparison, z_scores};
use super::report::{ClaimReport, Measure};
use super::symmetry::{positive_semi_definite, symmetric};
use super::{CLAIM_RTOL, Estimates, describe, method_name, rows};
use crate::check::Check;
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
        let cmp = comparison(
            method_name(r.method),
            Measure::RelError,
            rel_errors(&csym, &r.matrix),
            CLAIM_RTOL,
        );
        ledger.push(Check::at_most(
            format!("claimed vs {} (worst scaled error)", method_name(r.method)),
            cmp.worst,
            CLAIM_RTOL,
            describe(r.method).to_string(),
        ));
        comparisons.push(cmp);
    }
    for e in [&est.so, &est.nh] {
        if e.enumerated.is_some() {
            let cmp = comparison(
                method_name(e.method),
                Measure::RelError,
                rel_errors(&csym, &e.matrix),
                CLAIM_RTOL,
            );
            ledger.push(Check::at_most(
                format!(
                    "claimed vs {} (exact sum, worst scaled error)",
                    method_name(e.method)
                ),
                cmp.worst,
                CLAIM_RTOL,
                describe(e.method).to_string(),
            ));
            comparisons.push(cmp);
            continue;
        }
        let se = e.std_err.clone().unwrap_or_else(|| DMatrix::zeros(d, d));
        let zs = z_scores(&e.matrix, &se, &csym, None, CLAIM_RTOL, &e.matrix);
        let cmp = z_comparison(method_name(e.method), zs.clone());
        ledger.push_z(
            format!("claimed vs {} (worst z)", method_name(e.method)),
            describe(e.method),
            cmp.worst,
            zs,
            e.effective_samples.clone(),
        );
        comparisons.push(cmp);
    }
    ClaimReport {
        matrix: rows(c),
        comparisons,
    }
}

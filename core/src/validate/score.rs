//! The zero-mean score, eq. (28): E_θ\[ℓ\] = 0, by z-scores (or, for an
//! exact sum, in units of √Iᵢᵢ).

use super::compare::Ledger;
use super::report::ScoreMean;
use super::{Estimates, SUM_RTOL, nan_max};
use crate::check::Check;
use nalgebra::DMatrix;

/// The check of eq. (28) and its statistics; `tau_score` is the score's
/// deterministic allowance, `samples` the samples asked for.
pub(crate) fn check(
    est: &Estimates,
    tau_score: f64,
    samples: usize,
    ledger: &mut Ledger,
) -> ScoreMean {
    let sm = &est.sm;
    let d = sm.mean.len();
    let (mean, se) = (&sm.mean, &sm.std_err);
    let scale_mat = est.reference().map_or(&est.so.matrix, |r| &r.matrix);
    let z: Vec<f64> = (0..d)
        .map(|i| {
            let unit = scale_mat[(i, i)].abs().sqrt();
            if sm.enumerated.is_some() {
                // An exact sum: |E[ℓᵢ]| in units of √Iᵢᵢ.
                return if unit > 0.0 {
                    mean[i].abs() / unit
                } else {
                    mean[i].abs()
                };
            }
            let den = (se[i].powi(2) + (tau_score * unit).powi(2)).sqrt();
            if den > 0.0 {
                mean[i].abs() / den
            } else if mean[i] == 0.0 {
                0.0
            } else {
                f64::INFINITY
            }
        })
        .collect();
    let worst_z = nan_max(z.iter().copied());
    if sm.enumerated.is_some() {
        ledger.push(Check::at_most(
            "score mean zero, eq. (28) (exact sum, worst |E[ℓᵢ]|/√Iᵢᵢ)",
            worst_z,
            SUM_RTOL,
            "E_θ[ℓ] = 0",
        ));
    } else {
        let eff = sm
            .effective_samples
            .as_ref()
            .map(|v| DMatrix::from_column_slice(d, 1, v.as_slice()));
        ledger.push_z(
            "score mean zero, eq. (28) (worst z)",
            "E_θ[ℓ] = 0",
            worst_z,
            DMatrix::from_column_slice(d, 1, &z),
            eff,
        );
    }
    ScoreMean {
        mean: mean.iter().copied().collect(),
        std_err: se.iter().copied().collect(),
        z,
        worst_z,
        samples,
        enumerated: sm.enumerated,
    }
}

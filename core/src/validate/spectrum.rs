//! The spectrum of the reference Fisher (or of E\[ℓℓᵀ\] when there is none):
//! eigenvalues, condition number, stiff and sloppy directions.

use super::report::{Direction, SpectrumReport};
use super::{Estimates, method_name};
use crate::error::Result;
use crate::linalg::Spectrum;
use crate::model::Model;

fn direction(sp: &Spectrum, k: usize, names: &[String]) -> Direction {
    let v: Vec<f64> = sp.vectors.column(k).iter().copied().collect();
    // Fix the sign: largest component positive, so the report is reproducible.
    let imax = (0..v.len())
        .max_by(|&a, &b| v[a].abs().total_cmp(&v[b].abs()))
        .unwrap_or(0);
    let sign = if v.get(imax).copied().unwrap_or(0.0) < 0.0 {
        -1.0
    } else {
        1.0
    };
    Direction {
        eigenvalue: sp.values[k],
        components: v.iter().map(|x| x * sign).collect(),
        dominant: names.get(imax).cloned().unwrap_or_default(),
    }
}

/// The spectrum report of `sp` (from `geometry::sloppiness::fisher_spectrum`):
/// eigenvalues, condition number, stiff and sloppy directions.
pub fn spectrum_report(sp: Spectrum, of: &str, names: &[String]) -> SpectrumReport {
    let d = sp.values.len();
    SpectrumReport {
        of: of.to_string(),
        eigenvalues: sp.values.iter().copied().collect(),
        condition_number: sp.condition_number(),
        stiff: direction(&sp, 0, names),
        sloppy: direction(&sp, d.saturating_sub(1), names),
    }
}

/// The spectrum report of a run: of the reference, through
/// `geometry::sloppiness::fisher_spectrum` (which uses a forward map's
/// whitened Jacobian when there is one), else of E\[ℓℓᵀ\].
pub(crate) fn report(
    model: &dyn Model,
    theta: &[f64],
    est: &Estimates,
    names: &[String],
) -> Result<SpectrumReport> {
    Ok(match est.reference() {
        Some(r) => spectrum_report(
            crate::geometry::sloppiness::fisher_spectrum(model, theta, &r.matrix)?,
            method_name(r.method),
            names,
        ),
        None => spectrum_report(Spectrum::of(&est.so.matrix), "score_outer", names),
    })
}

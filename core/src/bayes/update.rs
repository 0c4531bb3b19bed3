//! Bayes updates from data, eq. (32): π_T(θ) ∝ Π_{t ≤ T} p(y_t | θ) π₀(θ).
//!
//! Streaming and in log space: each observation adds ln p(y_t | θₖ) to every
//! log-weight and the weights are renormalised by log-sum-exp, so thousands of
//! observations never underflow. The log normalisers removed along the way sum
//! to the log evidence ln p(y₁…y_T) (for a grid, up to the quadrature of the
//! prior).

use super::energy::Energy;
use super::points::WeightedPoints;
use crate::error::{Error, Result};

/// Adds one observation `y` to the weighted points (coordinates are the free
/// coordinates of `energy`; the others are held at θ*). Returns the log
/// predictive probability ln Σₖ wₖ p(y | θₖ) of `y` before the update.
///
/// # Errors
/// [`Error::Failed`] when ln p(y | θ) is NaN (or +∞) at a point of positive
/// weight, naming θ and y, or when y has probability 0 under every point; the
/// weights are left unchanged then.
pub fn observe(pts: &mut WeightedPoints, energy: &Energy<'_>, y: &[f64]) -> Result<f64> {
    let model = energy.model();
    let ll = pts.map(|phi| {
        let th = energy.embed(phi);
        if model.check_params(&th).is_err() {
            f64::NEG_INFINITY
        } else {
            model.log_likelihood(&th, y)
        }
    });
    if let Some(k) = (0..ll.len()).find(|&k| {
        pts.log_weights()[k] > f64::NEG_INFINITY && (ll[k].is_nan() || ll[k] == f64::INFINITY)
    }) {
        return Err(Error::failed(
            "eq. (32), a Bayes update",
            format!(
                "ln p(y | theta) = {} at theta = {:?} for y = {y:?}",
                ll[k],
                energy.embed(pts.point(k))
            ),
        ));
    }
    let before = pts.log_weights().to_vec();
    for (w, l) in pts.log_weights_mut().iter_mut().zip(ll) {
        *w += l;
    }
    let z = pts.normalize();
    if !z.is_finite() {
        pts.log_weights_mut().copy_from_slice(&before);
        return Err(Error::failed(
            "eq. (32), a Bayes update",
            format!("y = {y:?} has probability 0 at every point of positive weight"),
        ));
    }
    Ok(z)
}

/// Adds every observation in turn; returns the log evidence of the batch.
///
/// # Errors
/// As [`observe`], for the first observation that fails.
pub fn observe_all(pts: &mut WeightedPoints, energy: &Energy<'_>, ys: &[Vec<f64>]) -> Result<f64> {
    let mut total = 0.0;
    for y in ys {
        total += observe(pts, energy, y)?;
    }
    Ok(total)
}

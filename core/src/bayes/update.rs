//! Bayes updates from data, eq. (32): π_T(θ) ∝ Π_{t ≤ T} p(y_t | θ) π₀(θ).
//!
//! Streaming and in log space: each observation adds ln p(y_t | θₖ) to every
//! log-weight and the weights are renormalised by log-sum-exp, so thousands of
//! observations never underflow. The log normalisers removed along the way sum
//! to the log evidence ln p(y₁…y_T) (for a grid, up to the quadrature of the
//! prior).

use super::energy::Energy;
use super::points::WeightedPoints;

/// Adds one observation `y` to the weighted points (coordinates are the free
/// coordinates of `energy`; the others are held at θ*). Returns the log
/// predictive probability ln Σₖ wₖ p(y | θₖ) of `y` before the update.
pub fn observe(pts: &mut WeightedPoints, energy: &Energy<'_>, y: &[f64]) -> f64 {
    let model = energy.model();
    let ll = pts.map(|phi| {
        let th = energy.embed(phi);
        if model.check_params(&th).is_err() {
            f64::NEG_INFINITY
        } else {
            model.log_likelihood(&th, y)
        }
    });
    for (w, l) in pts.log_weights_mut().iter_mut().zip(ll) {
        *w += l;
    }
    pts.normalize()
}

/// Adds every observation in turn; returns the log evidence of the batch.
pub fn observe_all(pts: &mut WeightedPoints, energy: &Energy<'_>, ys: &[Vec<f64>]) -> f64 {
    ys.iter().map(|y| observe(pts, energy, y)).sum()
}

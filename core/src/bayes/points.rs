//! Weighted point sets {(θₖ, wₖ)}: the common core of grid and particle
//! posteriors. Weights are kept as normalised log-weights (Σₖ e^{ln wₖ} = 1,
//! by log-sum-exp), so products of many likelihoods (eq. 32) and Boltzmann
//! factors e^{−TK} (eq. 34) never underflow.

use super::log_sum_exp;
use nalgebra::{DMatrix, DVector};

/// Points θₖ (flat, row k = θₖ) with normalised log-weights.
#[derive(Debug, Clone)]
pub struct WeightedPoints {
    dim: usize,
    coords: Vec<f64>,
    logw: Vec<f64>,
}

impl WeightedPoints {
    /// Points (flat, `dim` numbers each) with unnormalised log-weights; the
    /// weights are normalised here. Panics if the lengths disagree.
    pub fn new(dim: usize, coords: Vec<f64>, logw: Vec<f64>) -> Self {
        assert_eq!(
            coords.len(),
            dim * logw.len(),
            "coords and weights disagree"
        );
        let mut p = WeightedPoints { dim, coords, logw };
        p.normalize();
        p
    }

    /// The dimension of θ.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The number of points.
    pub fn len(&self) -> usize {
        self.logw.len()
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.logw.is_empty()
    }

    /// Point k.
    pub fn point(&self, k: usize) -> &[f64] {
        &self.coords[k * self.dim..(k + 1) * self.dim]
    }

    /// The normalised log-weights.
    pub fn log_weights(&self) -> &[f64] {
        &self.logw
    }

    /// Mutable log-weights; call [`WeightedPoints::normalize`] after changing them.
    pub fn log_weights_mut(&mut self) -> &mut [f64] {
        &mut self.logw
    }

    /// Renormalises the log-weights and returns the log of the mass removed
    /// (ln Σ e^{ln w} before normalising).
    pub fn normalize(&mut self) -> f64 {
        let z = log_sum_exp(&self.logw);
        if z.is_finite() {
            for v in &mut self.logw {
                *v -= z;
            }
        }
        z
    }

    /// The weights e^{ln wₖ}.
    pub fn weights(&self) -> Vec<f64> {
        self.logw.iter().map(|v| v.exp()).collect()
    }

    /// E[f(θ)] for a per-point value f.
    pub fn expect(&self, f: &[f64]) -> f64 {
        self.logw
            .iter()
            .zip(f)
            .filter(|(w, _)| w.is_finite())
            .map(|(w, v)| w.exp() * v)
            .sum()
    }

    /// Var[f(θ)] for a per-point value f.
    pub fn variance(&self, f: &[f64]) -> f64 {
        let m = self.expect(f);
        self.logw
            .iter()
            .zip(f)
            .filter(|(w, _)| w.is_finite())
            .map(|(w, v)| w.exp() * (v - m) * (v - m))
            .sum()
    }

    /// The weighted mean.
    pub fn mean(&self) -> DVector<f64> {
        let mut m = DVector::zeros(self.dim);
        for k in 0..self.len() {
            let w = self.logw[k].exp();
            if w > 0.0 {
                for (i, x) in self.point(k).iter().enumerate() {
                    m[i] += w * x;
                }
            }
        }
        m
    }

    /// The weighted covariance (centred at the weighted mean).
    pub fn cov(&self) -> DMatrix<f64> {
        let m = self.mean();
        let d = self.dim;
        let mut c = DMatrix::zeros(d, d);
        for k in 0..self.len() {
            let w = self.logw[k].exp();
            if w > 0.0 {
                let p = self.point(k);
                for i in 0..d {
                    for j in 0..=i {
                        c[(i, j)] += w * (p[i] - m[i]) * (p[j] - m[j]);
                    }
                }
            }
        }
        for i in 0..d {
            for j in 0..i {
                c[(j, i)] = c[(i, j)];
            }
        }
        c
    }

    /// The point of largest weight.
    pub fn argmax(&self) -> usize {
        (0..self.len())
            .max_by(|&a, &b| self.logw[a].total_cmp(&self.logw[b]))
            .unwrap_or(0)
    }

    /// The effective sample size (Σw)²/Σw² = 1/Σw² for normalised weights.
    pub fn ess(&self) -> f64 {
        1.0 / self.logw.iter().map(|v| (2.0 * v).exp()).sum::<f64>()
    }

    /// Evaluates f at every point.
    pub fn map<F: Fn(&[f64]) -> f64 + Sync>(&self, f: F) -> Vec<f64> {
        use rayon::prelude::*;
        (0..self.len())
            .into_par_iter()
            .map(|k| f(self.point(k)))
            .collect()
    }
}

/// Implements [`Posterior`](super::Posterior) for a representation whose
/// field `pts` holds its [`WeightedPoints`] (grids, particles): dimension,
/// mean and covariance are those of the weighted points.
macro_rules! posterior_by_points {
    ($t:ty) => {
        impl $crate::bayes::Posterior for $t {
            fn dim(&self) -> usize {
                self.pts.dim()
            }
            fn mean(&self) -> nalgebra::DVector<f64> {
                self.pts.mean()
            }
            fn cov(&self) -> nalgebra::DMatrix<f64> {
                self.pts.cov()
            }
        }
    };
}
pub(crate) use posterior_by_points;

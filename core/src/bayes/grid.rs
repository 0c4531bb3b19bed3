//! Grid posteriors in 1 to 3 dimensions.
//!
//! The posterior is stored at the midpoints of a regular grid of cells as a
//! log-weight ln(π(θₖ)·ΔV), normalised by log-sum-exp, so that Σₖ e^{ln wₖ} = 1
//! (midpoint quadrature). For a smooth posterior that decays well inside the
//! grid, midpoint sums of moments converge faster than any power of the cell
//! size; for a posterior that reaches the grid's edge they are silently wrong,
//! which is why [`GridPosterior::check_coverage`] exists.

use super::Posterior;
use super::points::WeightedPoints;
use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// One axis of a grid: `n` cells of equal width covering [lo, hi].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Number of cells.
    pub n: usize,
}

impl Axis {
    /// The cell width.
    pub fn step(&self) -> f64 {
        (self.hi - self.lo) / self.n as f64
    }
    /// The midpoint of cell i.
    pub fn mid(&self, i: usize) -> f64 {
        self.lo + (i as f64 + 0.5) * self.step()
    }
}

/// A posterior on a regular grid of 1 to 3 dimensions.
#[derive(Debug, Clone)]
pub struct GridPosterior {
    axes: Vec<Axis>,
    pts: WeightedPoints,
}

impl GridPosterior {
    /// A grid posterior with log-density `ln_density(θ)` (unnormalised; −∞
    /// allowed). Fails for 0 or more than 3 axes, an empty or inverted axis, or
    /// a density that vanishes everywhere on the grid.
    pub fn new<F: Fn(&[f64]) -> f64 + Sync>(axes: &[Axis], ln_density: F) -> Result<Self> {
        if axes.is_empty() || axes.len() > 3 {
            return Err(Error::setting(
                "grid",
                format!("needs 1 to 3 axes, got {}", axes.len()),
            ));
        }
        for (i, a) in axes.iter().enumerate() {
            if !(a.lo.is_finite() && a.hi.is_finite() && a.hi > a.lo && a.n >= 2) {
                return Err(Error::setting(
                    format!("grid axis {i}"),
                    format!(
                        "needs finite lo < hi and n >= 2 (got lo = {}, hi = {}, n = {})",
                        a.lo, a.hi, a.n
                    ),
                ));
            }
        }
        let d = axes.len();
        let total: usize = axes.iter().map(|a| a.n).product();
        let mut coords = Vec::with_capacity(total * d);
        let mut idx = vec![0usize; d];
        for _ in 0..total {
            for (k, a) in axes.iter().enumerate() {
                coords.push(a.mid(idx[k]));
            }
            for k in (0..d).rev() {
                idx[k] += 1;
                if idx[k] < axes[k].n {
                    break;
                }
                idx[k] = 0;
            }
        }
        let mut pts = WeightedPoints::new(d, coords, vec![0.0; total]);
        let lw = pts.map(ln_density);
        pts.log_weights_mut().copy_from_slice(&lw);
        let z = pts.normalize();
        if !z.is_finite() {
            return Err(Error::Msg(
                "the density is zero (or not finite) at every grid point: the grid misses its support".into(),
            ));
        }
        Ok(GridPosterior {
            axes: axes.to_vec(),
            pts,
        })
    }

    /// The axes.
    pub fn axes(&self) -> &[Axis] {
        &self.axes
    }

    /// The weighted grid points.
    pub fn points(&self) -> &WeightedPoints {
        &self.pts
    }

    /// Mutable weighted grid points.
    pub fn points_mut(&mut self) -> &mut WeightedPoints {
        &mut self.pts
    }

    /// The cell volume ΔV.
    pub fn cell_volume(&self) -> f64 {
        self.axes.iter().map(Axis::step).product()
    }

    /// ln π at grid point k (a density, per unit volume).
    pub fn ln_density(&self, k: usize) -> f64 {
        self.pts.log_weights()[k] - self.cell_volume().ln()
    }

    /// The probability mass in the band of cells along each face (the outer
    /// 2% of the axis, at least one cell), as (axis, side, mass), side 0 =
    /// lower, 1 = upper.
    pub fn face_masses(&self) -> Vec<(usize, usize, f64)> {
        let d = self.axes.len();
        let mut out = Vec::new();
        let w = self.pts.weights();
        for ax in 0..d {
            let n = self.axes[ax].n;
            let band = (n / 50).max(1);
            for side in 0..2 {
                let mass: f64 = (0..w.len())
                    .filter(|&k| {
                        let i = self.index(k)[ax];
                        if side == 0 { i < band } else { i >= n - band }
                    })
                    .map(|k| w[k])
                    .sum();
                out.push((ax, side, mass));
            }
        }
        out
    }

    fn index(&self, mut k: usize) -> Vec<usize> {
        let d = self.axes.len();
        let mut idx = vec![0; d];
        for j in (0..d).rev() {
            idx[j] = k % self.axes[j].n;
            k /= self.axes[j].n;
        }
        idx
    }

    /// Fails when the posterior is cut off by the grid: the band along some
    /// face (see [`GridPosterior::face_masses`]) carries more than `tol` of the mass and the point one cell beyond that face (from the
    /// face's heaviest cell) is still inside the support according to
    /// `in_support`. Faces on the boundary of the parameter space (a rate at 0,
    /// a probability at 1) carry mass legitimately and pass.
    pub fn check_coverage<F: Fn(&[f64]) -> bool>(
        &self,
        tol: f64,
        names: &[String],
        in_support: F,
    ) -> Result<()> {
        let lw = self.pts.log_weights();
        for (ax, side, mass) in self.face_masses() {
            if mass <= tol {
                continue;
            }
            let edge = if side == 0 { 0 } else { self.axes[ax].n - 1 };
            let heaviest = (0..lw.len())
                .filter(|&k| self.index(k)[ax] == edge)
                .max_by(|&a, &b| lw[a].total_cmp(&lw[b]))
                .expect("a face has cells");
            let mut beyond = self.pts.point(heaviest).to_vec();
            let a = self.axes[ax];
            beyond[ax] = if side == 0 {
                a.lo - 0.5 * a.step()
            } else {
                a.hi + 0.5 * a.step()
            };
            if in_support(&beyond) {
                let name = names
                    .get(ax)
                    .cloned()
                    .unwrap_or_else(|| format!("axis {ax}"));
                return Err(Error::Msg(format!(
                    "the grid does not cover the posterior: {mass:.3e} of the mass lies in the {} 2% of the grid of `{name}` (at {name} = {}), and the posterior continues beyond it; widen the grid",
                    if side == 0 { "lowest" } else { "highest" },
                    if side == 0 {
                        self.axes[ax].lo
                    } else {
                        self.axes[ax].hi
                    },
                )));
            }
        }
        Ok(())
    }
}

impl Posterior for GridPosterior {
    fn dim(&self) -> usize {
        self.axes.len()
    }
    fn mean(&self) -> DVector<f64> {
        self.pts.mean()
    }
    fn cov(&self) -> DMatrix<f64> {
        self.pts.cov()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn gaussian_moments_on_a_2d_grid() {
        // N((1, −2), diag(0.25, 4)) with correlation 0.5: exact moments are the oracle.
        let (s1, s2, r) = (0.5f64, 2.0f64, 0.5f64);
        let det = s1 * s1 * s2 * s2 * (1.0 - r * r);
        let axes = [
            Axis {
                lo: 1.0 - 9.0 * s1,
                hi: 1.0 + 9.0 * s1,
                n: 161,
            },
            Axis {
                lo: -2.0 - 9.0 * s2,
                hi: -2.0 + 9.0 * s2,
                n: 161,
            },
        ];
        let g = GridPosterior::new(&axes, |x| {
            let (a, b) = (x[0] - 1.0, x[1] + 2.0);
            -0.5 * (s2 * s2 * a * a - 2.0 * r * s1 * s2 * a * b + s1 * s1 * b * b) / det
        })
        .unwrap();
        let m = g.mean();
        let c = g.cov();
        assert_relative_eq!(m[0], 1.0, epsilon = 1e-10);
        assert_relative_eq!(m[1], -2.0, epsilon = 1e-10);
        assert_relative_eq!(c[(0, 0)], s1 * s1, epsilon = 1e-9);
        assert_relative_eq!(c[(1, 1)], s2 * s2, epsilon = 1e-9);
        assert_relative_eq!(c[(0, 1)], r * s1 * s2, epsilon = 1e-9);
        g.check_coverage(1e-8, &[], |_| true).unwrap();
    }

    #[test]
    fn truncation_is_detected_but_a_support_boundary_is_not() {
        let axes = [Axis {
            lo: -1.0,
            hi: 1.0,
            n: 100,
        }];
        let g = GridPosterior::new(&axes, |x| -0.5 * x[0] * x[0]).unwrap();
        let e = g
            .check_coverage(1e-6, &["mu".into()], |_| true)
            .unwrap_err();
        assert!(e.to_string().contains("does not cover"), "{e}");
        // An exponential density on (0, 10): the lower face is the support's edge.
        let axes = [Axis {
            lo: 0.0,
            hi: 40.0,
            n: 4000,
        }];
        let g = GridPosterior::new(&axes, |x| -x[0]).unwrap();
        g.check_coverage(1e-6, &["rate".into()], |x| x[0] > 0.0)
            .unwrap();
    }
}

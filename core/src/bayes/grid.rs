//! Grid posteriors in 1 to 3 dimensions.
//!
//! The posterior is stored at the midpoints xₖ of a regular grid of cells in
//! the grid coordinates x as a log-weight ln(π(θₖ)·|dθ/dx|·ΔV) with θₖ = θ(xₖ),
//! normalised by log-sum-exp, so that Σₖ e^{ln wₖ} = 1 (midpoint quadrature in
//! x). For a density that is smooth in x and decays well inside the grid,
//! midpoint sums of moments converge faster than any power of the cell size;
//! for a posterior that reaches the grid's edge they are silently wrong, which
//! is why [`GridPosterior::check_coverage`] exists.
//!
//! # Scales: endpoint singularities
//! On a linear axis (x = θ) the midpoint rule cannot integrate a prior that is
//! infinite at an end of its support: a Jeffreys Beta(½, ½) prior, θ^{−½}
//! near 0, gives moment errors of order h^{½} (3.4e-4 at 4000 cells). The
//! posterior of eq. (34) near the edge behaves as θ^{a − 1 + Tp*}, a power that
//! changes with T, so no fixed cell correction fixes it for every T. A log
//! axis (x = ln θ, for (0, ∞)) or a logit axis (x = ln θ/(1 − θ), for (0, 1))
//! turns every such power into an exponential tail, θ^{α−1}dθ = e^{αx}dx, on
//! which the midpoint rule converges geometrically again (the integrands
//! σ(x)^α σ(−x)^β are analytic in the strip |Im x| < π, so the error falls
//! like e^{−2π²/h}). On those axes `lo`, `hi` are values of x.

use super::points::WeightedPoints;
use crate::error::{Error, Field, Result};
use serde::{Deserialize, Serialize};

/// ln(1 + eˣ), without overflow or loss of digits.
pub fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// The coordinate in which an axis is regular.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// x = θ.
    #[default]
    Linear,
    /// x = ln θ, θ ∈ (0, ∞).
    Log,
    /// x = ln(θ/(1 − θ)), θ ∈ (0, 1).
    Logit,
}

impl Scale {
    /// θ(x). On the log and logit scales θ is kept inside its open support:
    /// where eˣ or the logistic function rounds to 0, 1 or ∞, θ is the nearest
    /// representable interior value (the mass there is far below any
    /// tolerance, and a model's KL stays finite at the node).
    pub fn to_theta(self, x: f64) -> f64 {
        match self {
            Scale::Linear => x,
            Scale::Log => x.exp().clamp(f64::MIN_POSITIVE, f64::MAX),
            Scale::Logit => {
                let t = crate::special::logistic(x);
                t.clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON / 2.0)
            }
        }
    }

    /// Whether θ(x) rounds to an end of the scale's support (x beyond
    /// ≈ −708 or 709.8 on the log scale, beyond ≈ −708 or 36.7 on the logit
    /// scale): [`Scale::to_theta`] then returns the nearest interior value, the
    /// same for every such x, and a model cannot tell these points apart.
    pub fn rounds_to_edge(self, x: f64) -> bool {
        match self {
            Scale::Linear => false,
            Scale::Log => {
                let e = x.exp();
                !(f64::MIN_POSITIVE..=f64::MAX).contains(&e)
            }
            Scale::Logit => {
                let t = crate::special::logistic(x);
                !(f64::MIN_POSITIVE..=1.0 - f64::EPSILON / 2.0).contains(&t)
            }
        }
    }

    /// x(θ) (NaN outside the support of the scale).
    pub fn from_theta(self, theta: f64) -> f64 {
        match self {
            Scale::Linear => theta,
            Scale::Log if theta > 0.0 => theta.ln(),
            Scale::Logit if theta > 0.0 && theta < 1.0 => (theta / (1.0 - theta)).ln(),
            _ => f64::NAN,
        }
    }

    /// ln |dθ/dx| at x: 0, x, and −softplus(−x) − softplus(x).
    pub fn ln_jacobian(self, x: f64) -> f64 {
        match self {
            Scale::Linear => 0.0,
            Scale::Log => x,
            Scale::Logit => -softplus(-x) - softplus(x),
        }
    }

    /// The name used in configs.
    pub fn name(self) -> &'static str {
        match self {
            Scale::Linear => "linear",
            Scale::Log => "log",
            Scale::Logit => "logit",
        }
    }
}

/// One axis of a grid: `n` cells of equal width covering [lo, hi] in the
/// coordinate x of `scale` (θ itself by default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    /// Lower end (in x).
    pub lo: f64,
    /// Upper end (in x).
    pub hi: f64,
    /// Number of cells.
    pub n: usize,
    /// The coordinate in which the cells are equal (default linear).
    #[serde(default)]
    pub scale: Scale,
}

impl Axis {
    /// A linear axis: n cells on [lo, hi] in θ.
    pub fn linear(lo: f64, hi: f64, n: usize) -> Self {
        Axis {
            lo,
            hi,
            n,
            scale: Scale::Linear,
        }
    }
    /// A log axis: n cells on [lo, hi] in ln θ.
    pub fn log(lo: f64, hi: f64, n: usize) -> Self {
        Axis {
            lo,
            hi,
            n,
            scale: Scale::Log,
        }
    }
    /// A logit axis: n cells on [lo, hi] in ln(θ/(1 − θ)).
    pub fn logit(lo: f64, hi: f64, n: usize) -> Self {
        Axis {
            lo,
            hi,
            n,
            scale: Scale::Logit,
        }
    }
    /// The cell width (in x).
    pub fn step(&self) -> f64 {
        (self.hi - self.lo) / self.n as f64
    }
    /// The midpoint of cell i (in x).
    pub fn mid(&self, i: usize) -> f64 {
        self.lo + (i as f64 + 0.5) * self.step()
    }
    /// θ at the midpoint of cell i.
    pub fn theta(&self, i: usize) -> f64 {
        self.scale.to_theta(self.mid(i))
    }
    /// The θ range [θ(lo), θ(hi)] the axis covers.
    pub fn theta_range(&self) -> (f64, f64) {
        (self.scale.to_theta(self.lo), self.scale.to_theta(self.hi))
    }
    /// Whether θ lies inside the axis (between θ(lo) and θ(hi)).
    pub fn contains_theta(&self, theta: f64) -> bool {
        let x = self.scale.from_theta(theta);
        x >= self.lo && x <= self.hi
    }
}

/// The largest number of grid points (the product of the axes' cell counts).
pub const MAX_POINTS: usize = 50_000_000;

/// A posterior on a regular grid of 1 to 3 dimensions.
#[derive(Debug, Clone)]
pub struct GridPosterior {
    axes: Vec<Axis>,
    pts: WeightedPoints,
}

impl GridPosterior {
    /// A grid posterior with log-density `ln_density(θ)` per unit θ-volume
    /// (unnormalised; −∞ allowed); the Jacobians of the axes' scales are added
    /// here. Fails for 0 or more than 3 axes, an empty or inverted axis, or a
    /// density that vanishes everywhere on the grid, or is NaN or +∞ at a point.
    pub fn new<F: Fn(&[f64]) -> f64 + Sync>(axes: &[Axis], ln_density: F) -> Result<Self> {
        Self::build(axes, |theta, x| {
            ln_density(theta)
                + axes
                    .iter()
                    .zip(x)
                    .map(|(a, &v)| a.scale.ln_jacobian(v))
                    .sum::<f64>()
        })
    }

    /// The grid posterior of a prior, its density evaluated in the grid
    /// coordinates ([`super::prior::Prior::ln_pdf_scaled`], accurate where θ
    /// rounds to a support edge). Fails as [`GridPosterior::new`], and when the
    /// prior has another dimension than the grid.
    pub fn from_prior(axes: &[Axis], prior: &super::prior::Prior) -> Result<Self> {
        if prior.dim() != axes.len() {
            return Err(Error::setting(
                "grid",
                format!(
                    "has {} axes but the prior has {} factors",
                    axes.len(),
                    prior.dim()
                ),
            ));
        }
        let scales: Vec<Scale> = axes.iter().map(|a| a.scale).collect();
        Self::build(axes, |_, x| prior.ln_pdf_scaled(&scales, x))
    }

    /// The common constructor: `ln_density_x(θ, x)` is the log-density per
    /// unit volume of the grid coordinates x.
    fn build<F: Fn(&[f64], &[f64]) -> f64 + Sync>(axes: &[Axis], ln_density_x: F) -> Result<Self> {
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
        let total = axes
            .iter()
            .try_fold(1usize, |acc, a| acc.checked_mul(a.n))
            .filter(|t| *t <= MAX_POINTS)
            .ok_or_else(|| {
                Error::setting(
                    "grid",
                    format!("has more than {MAX_POINTS} points (the product of the axes' n)"),
                )
            })?;
        let mut coords = Vec::with_capacity(total * d);
        let mut xs = Vec::with_capacity(total * d);
        let mut idx = vec![0usize; d];
        for _ in 0..total {
            for (k, a) in axes.iter().enumerate() {
                coords.push(a.theta(idx[k]));
                xs.push(a.mid(idx[k]));
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
        let lw: Vec<f64> = {
            use rayon::prelude::*;
            (0..total)
                .into_par_iter()
                .map(|k| ln_density_x(pts.point(k), &xs[k * d..(k + 1) * d]))
                .collect()
        };
        if let Some(k) = lw.iter().position(|v| v.is_nan() || *v == f64::INFINITY) {
            return Err(Error::failed(
                "grid density",
                format!(
                    "the log-density is {} at grid point {k} (theta = {:?}, grid coordinates {:?})",
                    lw[k],
                    pts.point(k),
                    &xs[k * d..(k + 1) * d]
                ),
            ));
        }
        pts.log_weights_mut().copy_from_slice(&lw);
        let z = pts.normalize();
        if !z.is_finite() {
            return Err(Error::domain(
                "grid",
                format!(
                    "{:?}",
                    axes.iter()
                        .map(|a| [a.scale.to_theta(a.lo), a.scale.to_theta(a.hi)])
                        .collect::<Vec<_>>()
                ),
                "misses the support: the density is zero (or not finite) at every grid point",
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

    /// The cell volume ΔV in the grid coordinates x.
    pub fn cell_volume(&self) -> f64 {
        self.axes.iter().map(Axis::step).product()
    }

    /// The grid coordinates x of point k.
    pub fn x(&self, k: usize) -> Vec<f64> {
        self.index(k)
            .iter()
            .zip(&self.axes)
            .map(|(&i, a)| a.mid(i))
            .collect()
    }

    /// ln π at grid point k (a density per unit θ-volume: the weight divided
    /// by the cell volume and by the Jacobian |dθ/dx| of the scales).
    pub fn ln_density(&self, k: usize) -> f64 {
        let jac: f64 = self
            .x(k)
            .iter()
            .zip(&self.axes)
            .map(|(&x, a)| a.scale.ln_jacobian(x))
            .sum();
        self.pts.log_weights()[k] - self.cell_volume().ln() - jac
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

    /// The probability mass on points where θ rounds to an end of a log or
    /// logit axis's support ([`Scale::rounds_to_edge`]), per axis and side
    /// (axis, side, mass), side 0 = lower.
    pub fn edge_rounded_masses(&self) -> Vec<(usize, usize, f64)> {
        let w = self.pts.weights();
        let mut out = Vec::new();
        for (ax, a) in self.axes.iter().enumerate() {
            for side in 0..2 {
                let mass: f64 = (0..w.len())
                    .filter(|&k| {
                        let x = a.mid(self.index(k)[ax]);
                        a.scale.rounds_to_edge(x) && ((side == 0) == (x < 0.0))
                    })
                    .map(|k| w[k])
                    .sum();
                out.push((ax, side, mass));
            }
        }
        out
    }

    /// Fails when the posterior is cut off by the grid: the band along some
    /// face (see [`GridPosterior::face_masses`]) carries more than `tol` of
    /// the mass and the point one cell beyond that face (from the face's
    /// heaviest cell) is still inside the support according to `in_support`.
    /// Faces on the boundary of the parameter space (a rate at 0, a
    /// probability at 1) carry mass legitimately and pass. Fails too when more
    /// than `tol` of the mass sits where θ rounds to an end of its support
    /// on a log or logit axis ([`GridPosterior::edge_rounded_masses`]): there
    /// the energy and the likelihood are evaluated at one θ for all points.
    pub fn check_coverage<F: Fn(&[f64]) -> bool>(
        &self,
        tol: f64,
        names: &[String],
        in_support: F,
    ) -> Result<()> {
        let name_of = |ax: usize| {
            names
                .get(ax)
                .cloned()
                .unwrap_or_else(|| format!("axis {ax}"))
        };
        for (ax, side, mass) in self.edge_rounded_masses() {
            if mass > tol {
                let a = self.axes[ax];
                return Err(Error::domain(
                    Field::key("grid").at(ax),
                    format!("[{}, {}]", a.scale.to_theta(a.lo), a.scale.to_theta(a.hi)),
                    format!(
                        "cannot resolve the posterior: {mass:.3e} of the mass lies where `{}` rounds to {} in double precision ({} coordinate {} than {}); the model cannot tell those points apart, so their weights are not reliable (a prior with a power below 1/2 at that end, at small T, puts mass there)",
                        name_of(ax),
                        a.scale.to_theta(if side == 0 { -1e308 } else { 1e308 }),
                        a.scale.name(),
                        if side == 0 { "below" } else { "above" },
                        if side == 0 {
                            "-708"
                        } else if a.scale == Scale::Logit {
                            "36.7"
                        } else {
                            "709.8"
                        },
                    ),
                ));
            }
        }
        let lw = self.pts.log_weights();
        for (ax, side, mass) in self.face_masses() {
            if mass <= tol {
                continue;
            }
            let edge = if side == 0 { 0 } else { self.axes[ax].n - 1 };
            let Some(heaviest) = (0..lw.len())
                .filter(|&k| self.index(k)[ax] == edge)
                .max_by(|&a, &b| lw[a].total_cmp(&lw[b]))
            else {
                continue;
            };
            let mut beyond = self.pts.point(heaviest).to_vec();
            let a = self.axes[ax];
            beyond[ax] = a.scale.to_theta(if side == 0 {
                a.lo - 0.5 * a.step()
            } else {
                a.hi + 0.5 * a.step()
            });
            if in_support(&beyond) {
                let name = name_of(ax);
                return Err(Error::domain(
                    Field::key("grid").at(ax),
                    format!("[{}, {}]", a.scale.to_theta(a.lo), a.scale.to_theta(a.hi)),
                    format!(
                        "does not cover the posterior: {mass:.3e} of the mass lies in the {} 2% of the grid of `{name}` (at {name} = {}{}), and the posterior continues beyond it; widen the grid",
                        if side == 0 { "lowest" } else { "highest" },
                        a.scale.to_theta(if side == 0 { a.lo } else { a.hi }),
                        match a.scale {
                            Scale::Linear => String::new(),
                            s => format!(
                                ", grid coordinate {} = {}",
                                s.name(),
                                if side == 0 { a.lo } else { a.hi }
                            ),
                        },
                    ),
                ));
            }
        }
        Ok(())
    }
}

super::points::posterior_by_points!(GridPosterior);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bayes::Posterior;
    use approx::assert_relative_eq;

    #[test]
    fn gaussian_moments_on_a_2d_grid() {
        // N((1, −2), diag(0.25, 4)) with correlation 0.5: exact moments are the oracle.
        let (s1, s2, r) = (0.5f64, 2.0f64, 0.5f64);
        let det = s1 * s1 * s2 * s2 * (1.0 - r * r);
        let axes = [
            Axis::linear(1.0 - 9.0 * s1, 1.0 + 9.0 * s1, 161),
            Axis::linear(-2.0 - 9.0 * s2, -2.0 + 9.0 * s2, 161),
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
        let axes = [Axis::linear(-1.0, 1.0, 100)];
        let g = GridPosterior::new(&axes, |x| -0.5 * x[0] * x[0]).unwrap();
        let e = g
            .check_coverage(1e-6, &["mu".into()], |_| true)
            .unwrap_err();
        assert!(e.to_string().contains("does not cover"), "{e}");
        // An exponential density on (0, 10): the lower face is the support's edge.
        let axes = [Axis::linear(0.0, 40.0, 4000)];
        let g = GridPosterior::new(&axes, |x| -x[0]).unwrap();
        g.check_coverage(1e-6, &["rate".into()], |x| x[0] > 0.0)
            .unwrap();
    }

    #[test]
    fn a_logit_axis_integrates_the_jeffreys_singularity() {
        // Beta(½, ½): mean ½, variance 1/8 (closed form). The midpoint rule on
        // a linear axis misses the θ^{−½} ends by O(h^{½}); on a logit axis the
        // ends are exponential tails and 400 cells give round-off accuracy.
        use crate::bayes::prior::{Factor, Prior};
        let prior = Prior {
            factors: vec![Factor::Beta { a: 0.5, b: 0.5 }],
        };
        let g = GridPosterior::from_prior(&[Axis::logit(-80.0, 80.0, 400)], &prior).unwrap();
        assert!((g.mean()[0] - 0.5).abs() < 1e-14, "{}", g.mean()[0]);
        assert!((g.var()[0] - 0.125).abs() < 1e-14, "{}", g.var()[0]);
        g.check_coverage(1e-8, &["p".into()], |x| x[0] > 0.0 && x[0] < 1.0)
            .unwrap();
        // Above x ≈ 36.7 θ rounds to 1: the mass there is P(X > x_f) for the
        // first face x_f of those cells, (2/π) asin √σ(−x_f) (closed form), up
        // to the midpoint rule's O(h²) error on a half-line cut at a face,
        // h²/24 · |d ln p/dx| = 0.4²/24 · ½ ≈ 3e-3 relative.
        let ax = g.axes()[0];
        let i = (0..ax.n)
            .find(|&i| ax.scale.rounds_to_edge(ax.mid(i)))
            .unwrap();
        let xf = ax.lo + i as f64 * ax.step();
        let want = 2.0 / std::f64::consts::PI * (1.0 / (1.0 + xf.exp())).sqrt().asin();
        let got = g.edge_rounded_masses()[1].2;
        assert!((got / want - 1.0).abs() < 5e-3, "{got} vs {want}");
        assert_eq!(g.edge_rounded_masses()[0].2, 0.0);
        let e = g
            .check_coverage(1e-9, &["p".into()], |x| x[0] > 0.0 && x[0] < 1.0)
            .unwrap_err();
        assert!(
            e.to_string().contains("rounds to 0.9999999999999999"),
            "{e}"
        );
        // The density per unit θ at a point is the prior's, 1/(π√(θ(1−θ))).
        let k = 123;
        let th = g.points().point(k)[0];
        let want = -(std::f64::consts::PI * (th * (1.0 - th)).sqrt()).ln();
        assert!((g.ln_density(k) - want).abs() < 1e-12);
        // The linear axis fails (so the check above can fail): 4000 cells.
        let lin = GridPosterior::from_prior(&[Axis::linear(0.0, 1.0, 4000)], &prior).unwrap();
        let err = (lin.var()[0] - 0.125).abs() / 0.125;
        assert!(err > 1e-4, "linear-axis error {err}");
        // The generic constructor (density in θ plus the Jacobian) agrees where
        // 1 − θ keeps most of its digits (|x| ≤ 20: 1 − θ ≥ 2e-9, computed from
        // the rounded θ to 5e-8 relative, which moves the mean by ~1e-13).
        let ax = [Axis::logit(-20.0, 20.0, 300)];
        let g2 = GridPosterior::new(&ax, |t| prior.ln_pdf(t)).unwrap();
        let g3 = GridPosterior::from_prior(&ax, &prior).unwrap();
        assert!((g2.mean()[0] - g3.mean()[0]).abs() < 1e-12);
        assert!((g2.var()[0] - g3.var()[0]).abs() < 1e-12);
    }

    #[test]
    fn a_log_axis_integrates_a_gamma_with_shape_below_one() {
        // Gamma(0.3, 2e-4) (mean 1500, variance 7.5e6): infinite at 0.
        use crate::bayes::prior::{Factor, Prior};
        let (k, b) = (0.3, 2e-4);
        let prior = Prior {
            factors: vec![Factor::Gamma { shape: k, rate: b }],
        };
        let g = GridPosterior::from_prior(&[Axis::log(-150.0, 14.0, 1000)], &prior).unwrap();
        assert!(
            (g.mean()[0] / (k / b) - 1.0).abs() < 1e-13,
            "{}",
            g.mean()[0]
        );
        assert!((g.var()[0] / (k / (b * b)) - 1.0).abs() < 1e-13);
    }

    #[test]
    fn bad_densities_and_sizes_are_refused() {
        let e = GridPosterior::new(&[Axis::linear(0.0, 1.0, 10)], |x| {
            if x[0] > 0.5 { f64::NAN } else { 0.0 }
        })
        .unwrap_err();
        assert!(e.to_string().contains("NaN at grid point 5"), "{e}");
        let big = Axis::linear(0.0, 1.0, 1_000_000);
        let e = GridPosterior::new(&[big, big], |_| 0.0).unwrap_err();
        assert!(e.to_string().contains("more than"), "{e}");
    }
}

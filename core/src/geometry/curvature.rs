//! Curvature of the model manifold: the Riemann tensor, Ricci tensor, scalar
//! curvature and sectional curvature.
//!
//! Convention (Landau–Lifshitz; the unit sphere has positive curvature):
//!
//! R_iklm = ½(∂_k∂_l g_im + ∂_i∂_m g_kl − ∂_k∂_m g_il − ∂_i∂_l g_km)
//!        + g_np(Γⁿ_kl Γᵖ_im − Γⁿ_km Γᵖ_il),
//!
//! Ricci R_ik = g^lm R_limk, scalar R = g^ik R_ik, sectional curvature of the
//! plane spanned by u, v: K = R_iklm uⁱvᵏuˡvᵐ / (g(u,u)g(v,v) − g(u,v)²).
//! In two dimensions R = 2K (oracles.md §3: the normal family has K = −½,
//! R = −1). Second derivatives of the metric are central differences, so the
//! cost grows as d⁴ and the routines are meant for low dimension.

use super::christoffel::{from_derivatives, metric_gradient, metric_hessian};
use super::{Metric, check_point};
use crate::error::{Error, Result};
use crate::linalg;
use nalgebra::DMatrix;

/// The covariant Riemann tensor R_iklm at one point, with its metric.
#[derive(Debug, Clone)]
pub struct Riemann {
    d: usize,
    r: Vec<f64>,
    /// The metric at the point.
    pub g: DMatrix<f64>,
    /// Its inverse.
    pub ginv: DMatrix<f64>,
}

impl Riemann {
    /// The dimension.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// R_iklm.
    pub fn get(&self, i: usize, k: usize, l: usize, m: usize) -> f64 {
        let d = self.d;
        self.r[((i * d + k) * d + l) * d + m]
    }

    /// The Ricci tensor R_ik = g^lm R_limk.
    pub fn ricci(&self) -> DMatrix<f64> {
        let d = self.d;
        DMatrix::from_fn(d, d, |i, k| {
            let mut s = 0.0;
            for l in 0..d {
                for m in 0..d {
                    s += self.ginv[(l, m)] * self.get(l, i, m, k);
                }
            }
            s
        })
    }

    /// The scalar curvature R = g^ik R_ik.
    pub fn scalar(&self) -> f64 {
        self.ricci().component_mul(&self.ginv).sum()
    }

    /// The sectional curvature of the plane spanned by `u` and `v`.
    pub fn sectional(&self, u: &[f64], v: &[f64]) -> Result<f64> {
        let d = self.d;
        let gd = |a: &[f64], b: &[f64]| -> f64 {
            (0..d)
                .flat_map(|i| (0..d).map(move |j| (i, j)))
                .map(|(i, j)| self.g[(i, j)] * a[i] * b[j])
                .sum()
        };
        let den = gd(u, u) * gd(v, v) - gd(u, v).powi(2);
        if den.abs() <= 1e-14 * gd(u, u) * gd(v, v) {
            return Err(Error::domain(
                "v",
                format!("{v:?}"),
                format!("does not span a plane with u = {u:?}"),
            ));
        }
        let mut num = 0.0;
        for i in 0..d {
            for k in 0..d {
                for l in 0..d {
                    for m in 0..d {
                        num += self.get(i, k, l, m) * u[i] * v[k] * u[l] * v[m];
                    }
                }
            }
        }
        Ok(num / den)
    }
}

/// The Riemann tensor of `m` at θ.
pub fn riemann(m: &dyn Metric, theta: &[f64]) -> Result<Riemann> {
    check_point(m, theta, "point")?;
    let d = theta.len();
    let g = m.metric(theta)?;
    let dg = metric_gradient(m, theta)?;
    let ddg = metric_hessian(m, theta)?;
    let c = from_derivatives(&g, &dg)?;
    let ginv = linalg::cholesky(&g, "metric")?.inverse();
    // ∂_a∂_b g_ij = ddg[a][b][(i, j)].
    let h = |a: usize, b: usize, i: usize, j: usize| ddg[a][b][(i, j)];
    let mut r = vec![0.0; d * d * d * d];
    for i in 0..d {
        for k in 0..d {
            for l in 0..d {
                for mm in 0..d {
                    let mut v =
                        0.5 * (h(k, l, i, mm) + h(i, mm, k, l) - h(k, mm, i, l) - h(i, l, k, mm));
                    for n in 0..d {
                        for p in 0..d {
                            v += g[(n, p)]
                                * (c.get(n, k, l) * c.get(p, i, mm)
                                    - c.get(n, k, mm) * c.get(p, i, l));
                        }
                    }
                    r[((i * d + k) * d + l) * d + mm] = v;
                }
            }
        }
    }
    Ok(Riemann { d, r, g, ginv })
}

/// The scalar curvature of `m` at θ.
pub fn scalar_curvature(m: &dyn Metric, theta: &[f64]) -> Result<f64> {
    Ok(riemann(m, theta)?.scalar())
}

/// The Gaussian curvature of a 2-D manifold at θ (the sectional curvature of
/// its one plane): R_1212 / det g. Errors in any other dimension.
pub fn gaussian_curvature(m: &dyn Metric, theta: &[f64]) -> Result<f64> {
    if m.dim() != 2 {
        return Err(Error::Dimension {
            field: "theta".into(),
            expected: "2 (Gaussian curvature needs a 2-D manifold)".into(),
            got: m.dim(),
        });
    }
    riemann(m, theta)?.sectional(&[1.0, 0.0], &[0.0, 1.0])
}

/// Every curvature of the metric at one point (units: 1/metric units).
#[derive(Debug, Clone, serde::Serialize)]
pub struct CurvatureReport {
    /// The point θ.
    pub theta: Vec<f64>,
    /// g(θ), d × d rows.
    pub metric: Vec<Vec<f64>>,
    /// The scalar curvature R = g^ik R_ik.
    pub scalar: f64,
    /// The Ricci tensor R_ik, d × d rows.
    pub ricci: Vec<Vec<f64>>,
    /// The sectional curvature of each coordinate plane (eᵢ, eⱼ), i < j.
    pub sectional: Vec<SectionalCurvature>,
    /// In two dimensions, the Gaussian curvature K = R/2.
    pub gaussian: Option<f64>,
}

/// The sectional curvature of the coordinate plane spanned by eᵢ and eⱼ.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SectionalCurvature {
    /// i (0-based parameter index).
    pub i: usize,
    /// j > i.
    pub j: usize,
    /// K(eᵢ, eⱼ).
    pub value: f64,
}

/// Scalar, Ricci, coordinate-plane sectional and (d = 2) Gaussian curvature
/// of `m` at θ, from one Riemann tensor ([`riemann`]).
///
/// # Errors
/// As [`riemann`]: θ outside the chart, a metric that is not positive
/// definite.
pub fn curvature(m: &dyn Metric, theta: &[f64]) -> Result<CurvatureReport> {
    let r = riemann(m, theta)?;
    let d = r.dim();
    let rows = crate::validate::rows;
    let mut sectional = Vec::new();
    for i in 0..d {
        for j in i + 1..d {
            let mut u = vec![0.0; d];
            let mut v = vec![0.0; d];
            u[i] = 1.0;
            v[j] = 1.0;
            sectional.push(SectionalCurvature {
                i,
                j,
                value: r.sectional(&u, &v)?,
            });
        }
    }
    Ok(CurvatureReport {
        theta: theta.to_vec(),
        metric: rows(&r.g),
        scalar: r.scalar(),
        ricci: rows(&r.ricci()),
        gaussian: (d == 2).then(|| sectional[0].value),
        sectional,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::testmodels;
    use approx::assert_relative_eq;

    #[test]
    fn unit_sphere_scalar_curvature_is_two() {
        // Oracle: the unit 2-sphere has scalar curvature R = 2 (sectional K = 1):
        // fixes the sign convention.
        let m = testmodels::sphere();
        let r = riemann(&m, &[0.9, 0.3]).unwrap();
        assert_relative_eq!(r.scalar(), 2.0, epsilon = 1e-5);
        assert_relative_eq!(
            r.sectional(&[1.0, 0.0], &[0.0, 1.0]).unwrap(),
            1.0,
            epsilon = 1e-5
        );
    }

    #[test]
    fn normal_sectional_curvature_is_minus_half() {
        // Oracle (oracles.md §3): SECTIONAL curvature K = −½ for the normal
        // family, in (μ, σ) and in (μ, σ²), at several points.
        for (m, pts) in [
            (testmodels::normal_sigma(), [[0.0, 1.0], [2.0, 0.3]]),
            (testmodels::normal_var(), [[0.0, 1.0], [-1.0, 2.5]]),
        ] {
            for p in pts {
                assert_relative_eq!(gaussian_curvature(&m, &p).unwrap(), -0.5, epsilon = 1e-5);
            }
        }
    }

    #[test]
    fn normal_scalar_curvature_is_minus_one() {
        // Oracle (oracles.md §3): SCALAR (Ricci) curvature R = −1 = 2K for the
        // normal family in both parametrisations.
        let r = scalar_curvature(&testmodels::normal_sigma(), &[0.5, 1.7]).unwrap();
        assert_relative_eq!(r, -1.0, epsilon = 1e-5);
        let r = scalar_curvature(&testmodels::normal_var(), &[0.5, 0.4]).unwrap();
        assert_relative_eq!(r, -1.0, epsilon = 1e-5);
    }

    #[test]
    fn categorical_scalar_curvature_is_half() {
        // Oracle (oracles.md §3): 3-class categorical, SCALAR curvature R = ½
        // (a sphere of radius 2, K = ¼).
        let r = scalar_curvature(&testmodels::categorical3(), &[0.2, 0.5]).unwrap();
        assert_relative_eq!(r, 0.5, epsilon = 1e-5);
    }

    #[test]
    fn one_dimensional_gaussian_curvature_is_an_error() {
        assert!(gaussian_curvature(&testmodels::poisson(), &[1.0]).is_err());
        // A 1-D manifold is flat: its Riemann tensor vanishes.
        assert_relative_eq!(
            scalar_curvature(&testmodels::poisson(), &[2.0]).unwrap(),
            0.0,
            epsilon = 1e-8
        );
    }
}

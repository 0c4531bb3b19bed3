//! Derivatives of the metric and the Christoffel symbols of the Levi-Civita
//! connection, Γᵃ_bc = ½ gᵃᵈ (∂_b g_dc + ∂_c g_db − ∂_d g_bc).
//!
//! The metric is differentiated by central differences with the step rules of
//! [`crate::numdiff`] (first derivatives h = ε^{1/3}·max(1, |θ|), second
//! derivatives h = ε^{1/4}·max(1, |θ|)), shrunk near the edge of the chart so
//! that no evaluation leaves it.

use super::{Metric, check_point};
use crate::error::{Error, Result};
use crate::numdiff;
use nalgebra::DMatrix;

/// Evaluates g at θ + Σ sᵢhᵢeᵢ for the offsets given as (index, step) pairs.
fn g_at(m: &dyn Metric, theta: &[f64], offsets: &[(usize, f64)]) -> Result<DMatrix<f64>> {
    let mut t = theta.to_vec();
    for &(i, h) in offsets {
        t[i] += h;
    }
    m.metric(&t)
}

/// A step for coordinate `i`, starting from `h`, halved (up to 40 times) until
/// θ ± 100hᵢ lies in the chart: near the edge the step stays a small fraction of
/// the distance to it, which keeps the difference quotient accurate.
fn safe_step(m: &dyn Metric, theta: &[f64], i: usize, mut h: f64) -> Result<f64> {
    for _ in 0..40 {
        let ok = [-100.0, 100.0]
            .iter()
            .all(|s| g_at(m, theta, &[(i, s * h)]).is_ok());
        if ok {
            return Ok(h);
        }
        h *= 0.5;
    }
    Err(Error::Msg(format!(
        "point {theta:?} is too close to the edge of the chart to differentiate the metric"
    )))
}

/// ∂_k g at θ: entry k is the matrix ∂g/∂θᵏ.
pub fn metric_gradient(m: &dyn Metric, theta: &[f64]) -> Result<Vec<DMatrix<f64>>> {
    check_point(m, theta, "point")?;
    m.metric(theta)?;
    (0..theta.len())
        .map(|k| {
            let h = safe_step(m, theta, k, numdiff::step1(theta[k]))?;
            let gp = g_at(m, theta, &[(k, h)])?;
            let gm = g_at(m, theta, &[(k, -h)])?;
            Ok((gp - gm) / (2.0 * h))
        })
        .collect()
}

/// Second derivatives ∂_k∂_l g at θ, as a d×d table (row k, column l) of matrices.
pub fn metric_hessian(m: &dyn Metric, theta: &[f64]) -> Result<Vec<Vec<DMatrix<f64>>>> {
    check_point(m, theta, "point")?;
    let d = theta.len();
    let g0 = m.metric(theta)?;
    let hs: Vec<f64> = (0..d)
        .map(|k| safe_step(m, theta, k, numdiff::step2(theta[k])))
        .collect::<Result<_>>()?;
    let mut out = vec![vec![DMatrix::zeros(d, d); d]; d];
    for k in 0..d {
        let hk = hs[k];
        let gp = g_at(m, theta, &[(k, hk)])?;
        let gm = g_at(m, theta, &[(k, -hk)])?;
        out[k][k] = (gp - 2.0 * &g0 + gm) / (hk * hk);
        for l in 0..k {
            let hl = hs[l];
            let pp = g_at(m, theta, &[(k, hk), (l, hl)])?;
            let pm = g_at(m, theta, &[(k, hk), (l, -hl)])?;
            let mp = g_at(m, theta, &[(k, -hk), (l, hl)])?;
            let mm = g_at(m, theta, &[(k, -hk), (l, -hl)])?;
            let v = (pp - pm - mp + mm) / (4.0 * hk * hl);
            out[k][l] = v.clone();
            out[l][k] = v;
        }
    }
    Ok(out)
}

/// Christoffel symbols of the second kind at one point: `gamma[a][(b, c)]` = Γᵃ_bc.
#[derive(Debug, Clone)]
pub struct Christoffel {
    /// Γᵃ as a symmetric d×d matrix in (b, c), for each a.
    pub gamma: Vec<DMatrix<f64>>,
}

impl Christoffel {
    /// Γᵃ_bc.
    pub fn get(&self, a: usize, b: usize, c: usize) -> f64 {
        self.gamma[a][(b, c)]
    }

    /// The geodesic acceleration −Γᵃ_bc vᵇvᶜ.
    pub fn acceleration(&self, v: &[f64], out: &mut [f64]) {
        let d = v.len();
        for (a, ga) in self.gamma.iter().enumerate() {
            let mut s = 0.0;
            for b in 0..d {
                for c in 0..d {
                    s += ga[(b, c)] * v[b] * v[c];
                }
            }
            out[a] = -s;
        }
    }
}

/// Γᵃ_bc from g and its first derivatives `dg[k]` = ∂_k g.
pub fn from_derivatives(g: &DMatrix<f64>, dg: &[DMatrix<f64>]) -> Result<Christoffel> {
    let d = g.nrows();
    let ginv = crate::linalg::cholesky(g, "metric")?.inverse();
    // First kind: Γ_dbc = ½(∂_b g_dc + ∂_c g_db − ∂_d g_bc).
    let first =
        |dd: usize, b: usize, c: usize| 0.5 * (dg[b][(dd, c)] + dg[c][(dd, b)] - dg[dd][(b, c)]);
    let gamma = (0..d)
        .map(|a| {
            DMatrix::from_fn(d, d, |b, c| {
                (0..d).map(|dd| ginv[(a, dd)] * first(dd, b, c)).sum()
            })
        })
        .collect();
    Ok(Christoffel { gamma })
}

/// The Christoffel symbols of `m` at θ.
pub fn christoffel(m: &dyn Metric, theta: &[f64]) -> Result<Christoffel> {
    let g = m.metric(theta)?;
    let dg = metric_gradient(m, theta)?;
    from_derivatives(&g, &dg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::testmodels;
    use approx::assert_relative_eq;

    #[test]
    fn normal_sigma_closed_form() {
        // Oracle: for g = diag(1/σ², 2/σ²) in (μ, σ), by hand:
        // Γ^μ_μσ = −1/σ, Γ^σ_μμ = 1/(2σ), Γ^σ_σσ = −1/σ, all others 0.
        let m = testmodels::normal_sigma();
        let s = 0.7;
        let c = christoffel(&m, &[0.3, s]).unwrap();
        assert_relative_eq!(c.get(0, 0, 1), -1.0 / s, epsilon = 1e-8);
        assert_relative_eq!(c.get(0, 1, 0), -1.0 / s, epsilon = 1e-8);
        assert_relative_eq!(c.get(1, 0, 0), 0.5 / s, epsilon = 1e-8);
        assert_relative_eq!(c.get(1, 1, 1), -1.0 / s, epsilon = 1e-8);
        assert_relative_eq!(c.get(0, 0, 0), 0.0, epsilon = 1e-8);
        assert_relative_eq!(c.get(0, 1, 1), 0.0, epsilon = 1e-8);
        assert_relative_eq!(c.get(1, 0, 1), 0.0, epsilon = 1e-8);
    }

    #[test]
    fn sphere_closed_form() {
        // Oracle: unit sphere diag(1, sin²θ): Γ^θ_φφ = −sinθ cosθ, Γ^φ_θφ = cotθ.
        let m = testmodels::sphere();
        let t = 1.1;
        let c = christoffel(&m, &[t, 0.4]).unwrap();
        assert_relative_eq!(c.get(0, 1, 1), -t.sin() * t.cos(), epsilon = 1e-8);
        assert_relative_eq!(c.get(1, 0, 1), t.cos() / t.sin(), epsilon = 1e-8);
        assert_relative_eq!(c.get(0, 0, 0), 0.0, epsilon = 1e-8);
    }

    #[test]
    fn near_the_edge_steps_shrink() {
        // σ = 1e-7 is closer to the edge σ = 0 than the default step (6e-6):
        // the step must shrink (to below σ/100) and Γ^σ_σσ = −1/σ come out right
        // to the O((h/σ)²) ≈ 1e-4 error of the central difference.
        let m = testmodels::normal_sigma();
        let s = 1e-7;
        let c = christoffel(&m, &[0.0, s]).unwrap();
        assert_relative_eq!(c.get(1, 1, 1), -1.0 / s, max_relative = 1e-3);
        assert!(christoffel(&m, &[0.0, -1.0]).is_err());
    }
}

//! Derivatives of the metric and the Christoffel symbols of the Levi-Civita
//! connection, Γᵃ_bc = ½ gᵃᵈ (∂_b g_dc + ∂_c g_db − ∂_d g_bc).
//!
//! The metric is differentiated by central differences with steps proportional
//! to the local scale sᵢ of each coordinate (first derivatives h = ε^{1/3}·sᵢ,
//! second derivatives h = ε^{1/4}·sᵢ, the rules of [`crate::numdiff`]), where sᵢ
//! is max(1, |θᵢ|) cut down to the distance from θ to the edge of the chart
//! along eᵢ: near an edge the metric changes over that distance (the categorical
//! at pᵢ = 10⁻⁶, the normal at σ = 10⁻⁵), and a step that is a fixed fraction of
//! it keeps the relative error of the difference quotient at ε^{2/3} wherever θ
//! is. The step is made representable, h = (θᵢ + h) − θᵢ.

use super::{Metric, check_point};
use crate::error::{Error, Result};
use nalgebra::DMatrix;

/// Evaluates g at θ + Σ sᵢhᵢeᵢ for the offsets given as (index, step) pairs.
fn g_at(m: &dyn Metric, theta: &[f64], offsets: &[(usize, f64)]) -> Result<DMatrix<f64>> {
    let mut t = theta.to_vec();
    for &(i, h) in offsets {
        t[i] += h;
    }
    m.metric(&t)
}

/// The largest change of g between two points relative to g0,
/// maxᵢⱼ |Aᵢⱼ − Bᵢⱼ|/√|g0ᵢᵢg0ⱼⱼ| (a correlation-like scale, as in the validator).
fn relative_change(a: &DMatrix<f64>, b: &DMatrix<f64>, g0: &DMatrix<f64>) -> f64 {
    let d = g0.nrows();
    let mut r: f64 = 0.0;
    for i in 0..d {
        for j in 0..d {
            let s = (g0[(i, i)] * g0[(j, j)]).abs().sqrt();
            if s > 0.0 {
                r = r.max((a[(i, j)] - b[(i, j)]).abs() / s);
            }
        }
    }
    r
}

/// The central-difference step for coordinate `i` and the metric at θ ± h·eᵢ.
///
/// h = `mult`·ε^{power}·L (`mult` = 1 but for the second and third step
/// sizes of an error estimate, [`super::curvature::curvature`]) with L the
/// scale over which g changes along eᵢ: first
/// L = max(1, |θᵢ|) (shrunk by 10 until θ ± h is in the chart), then, while the
/// observed relative change r of g over 2h says the metric varies faster
/// (L ≈ 2h/r is smaller), h is recomputed from that L. So the step follows the
/// metric's own scale near the edge of the chart (a categorical pᵢ = 10⁻⁶, a
/// normal σ = 10⁻⁵) at the cost of the two evaluations the difference needs
/// in the common case. h is representable: (θᵢ + h) − θᵢ.
pub(crate) fn diff_step(
    m: &dyn Metric,
    theta: &[f64],
    i: usize,
    power: f64,
    g0: &DMatrix<f64>,
    mult: f64,
) -> Result<(f64, DMatrix<f64>, DMatrix<f64>)> {
    let c = f64::EPSILON.powf(power) * mult;
    let repr = |h: f64| (theta[i] + h) - theta[i];
    let mut h = repr(c * theta[i].abs().max(1.0));
    let mut pair = None;
    // Tenfold shrinking, at least 40 times and on until h is 10⁻¹² of the
    // step relative to the point (c·|θᵢ|): the edge of the chart is judged
    // relative to θ, so σ = 1e-100 is no closer to it than σ = 1.
    let floor = 1e-12 * c * theta[i].abs();
    for k in 0..700 {
        if k >= 40 && h <= floor {
            break;
        }
        if h > 0.0
            && let (Ok(gp), Ok(gm)) = (g_at(m, theta, &[(i, h)]), g_at(m, theta, &[(i, -h)]))
        {
            pair = Some((gp, gm));
            break;
        }
        h = repr(h * 0.1);
    }
    let Some((mut gp, mut gm)) = pair else {
        return Err(Error::domain(
            "theta",
            format!("{theta:?}"),
            format!(
                "is too close to the edge of the chart to differentiate the metric along coordinate {i} (g(theta ± h e_{i}) is undefined for every step h tried)"
            ),
        ));
    };
    for _ in 0..4 {
        let r = relative_change(&gp, &gm, g0);
        if !r.is_finite() {
            return Err(Error::domain(
                "theta",
                format!("{theta:?}"),
                format!(
                    "has a metric that is not finite within ±{h:e} along coordinate {i} (relative change {r})"
                ),
            ));
        }
        // Local scale L = 2h/r; accept h ≤ 3c·L, i.e. r ≤ 6c.
        if r <= 6.0 * c {
            break;
        }
        let hn = repr(2.0 * c * h / r);
        if hn <= 0.0 || hn >= h {
            break;
        }
        h = hn;
        gp = g_at(m, theta, &[(i, h)])?;
        gm = g_at(m, theta, &[(i, -h)])?;
    }
    Ok((h, gp, gm))
}

/// ∂_k g at θ: entry k is the matrix ∂g/∂θᵏ.
///
/// Central differences (`diff_step`); at a point on a closed edge of the
/// chart (a Poisson rate at its largest allowed value), where only one side
/// exists, a one-sided difference with h = ε^{1/2}·max(1, |θₖ|) (error ≈ ε^{1/2}).
pub fn metric_gradient(m: &dyn Metric, theta: &[f64]) -> Result<Vec<DMatrix<f64>>> {
    metric_gradient_times(m, theta, 1.0)
}

/// [`metric_gradient`] with steps `mult` times the nominal ones.
pub(crate) fn metric_gradient_times(
    m: &dyn Metric,
    theta: &[f64],
    mult: f64,
) -> Result<Vec<DMatrix<f64>>> {
    Ok(metric_gradient_rounding(m, theta, mult)?.0)
}

/// Relative rounding of one evaluated metric entry assumed by the rounding
/// bounds of the differences: 8ε (a few operations, each ½ulp).
pub(crate) const ENTRY_ROUNDING: f64 = 8.0 * f64::EPSILON;

/// One d × d matrix per coordinate.
type Matrices = Vec<DMatrix<f64>>;

/// |A| + |B| entrywise.
fn abs_sum(a: &DMatrix<f64>, b: &DMatrix<f64>) -> DMatrix<f64> {
    a.abs() + b.abs()
}

/// [`metric_gradient_times`] with the rounding bound of each entry: an entry
/// of size |g| evaluated to a relative [`ENTRY_ROUNDING`] u at θ ± h loses
/// u(|g(θ + h)| + |g(θ − h)|)/(2h) in the central difference — far more than
/// the derivative itself where g mixes a large term with a slowly varying
/// small one (the categorical's 1/θᵢ + 1/p_K next to an edge, tryout 8 G7).
pub(crate) fn metric_gradient_rounding(
    m: &dyn Metric,
    theta: &[f64],
    mult: f64,
) -> Result<(Matrices, Matrices)> {
    check_point(m, theta, "point")?;
    let g0 = m.metric(theta)?;
    let u = ENTRY_ROUNDING;
    (0..theta.len())
        .map(|k| match diff_step(m, theta, k, 1.0 / 3.0, &g0, mult) {
            Ok((h, gp, gm)) => Ok(((&gp - &gm) / (2.0 * h), abs_sum(&gp, &gm) * (u / (2.0 * h)))),
            Err(e) => {
                let h = f64::EPSILON.sqrt() * theta[k].abs().max(1.0);
                for s in [1.0, -1.0] {
                    let hs = (theta[k] + s * h) - theta[k];
                    if let Ok(g) = g_at(m, theta, &[(k, hs)]) {
                        let err = abs_sum(&g, &g0) * (u / hs.abs());
                        return Ok(((g - &g0) / hs, err));
                    }
                }
                Err(e)
            }
        })
        .collect::<Result<Vec<_>>>()
        .map(|v| v.into_iter().unzip())
}

/// Second derivatives ∂_k∂_l g at θ, as a d×d table (row k, column l) of matrices.
pub fn metric_hessian(m: &dyn Metric, theta: &[f64]) -> Result<Vec<Vec<DMatrix<f64>>>> {
    Ok(metric_hessian_rounding(m, theta, 1.0)?.0)
}

/// A d × d table of d × d matrices.
type Table = Vec<Vec<DMatrix<f64>>>;

/// [`metric_hessian`] with steps `mult` times the nominal ones, and the
/// rounding bound of each entry (as [`metric_gradient_rounding`]:
/// u(|g₊| + 2|g₀| + |g₋|)/h² on the diagonal, u Σ|g±±|/(4hₖhₗ) off it).
pub(crate) fn metric_hessian_rounding(
    m: &dyn Metric,
    theta: &[f64],
    mult: f64,
) -> Result<(Table, Table)> {
    check_point(m, theta, "point")?;
    let d = theta.len();
    let u = ENTRY_ROUNDING;
    let g0 = m.metric(theta)?;
    let steps: Vec<(f64, DMatrix<f64>, DMatrix<f64>)> = (0..d)
        .map(|k| diff_step(m, theta, k, 0.25, &g0, mult))
        .collect::<Result<_>>()?;
    let hs: Vec<f64> = steps.iter().map(|s| s.0).collect();
    let mut out = vec![vec![DMatrix::zeros(d, d); d]; d];
    let mut err = out.clone();
    for (k, (hk, gp, gm)) in steps.iter().enumerate() {
        let hk = *hk;
        out[k][k] = (gp - 2.0 * &g0 + gm) / (hk * hk);
        err[k][k] = (abs_sum(gp, gm) + 2.0 * g0.abs()) * (u / (hk * hk));
        for l in 0..k {
            let hl = hs[l];
            let pp = g_at(m, theta, &[(k, hk), (l, hl)])?;
            let pm = g_at(m, theta, &[(k, hk), (l, -hl)])?;
            let mp = g_at(m, theta, &[(k, -hk), (l, hl)])?;
            let mm = g_at(m, theta, &[(k, -hk), (l, -hl)])?;
            let e = (abs_sum(&pp, &pm) + abs_sum(&mp, &mm)) * (u / (4.0 * hk * hl));
            let v = (pp - pm - mp + mm) / (4.0 * hk * hl);
            out[k][l] = v.clone();
            out[l][k] = v;
            err[k][l] = e.clone();
            err[l][k] = e;
        }
    }
    Ok((out, err))
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
    fn steps_follow_the_scale_of_the_metric() {
        // Oracle: Γ^σ_σσ = −1/σ and Γ^σ_μμ = 1/(2σ) (normal), Γ¹₁₁ = −1/(2λ)
        // (Poisson) and −(1 − 2p)/(2p(1 − p)) (Bernoulli), at points from 1e-9 to
        // 1e9 and next to the edges. A step fixed at ε^{1/3}·max(1, |θ|) and only
        // shrunk to stay in the chart (σ/100 at σ = 1e-7) was off by 1e-4; steps
        // set by the metric's own scale keep ~1e-9.
        let m = testmodels::normal_sigma();
        for s in [1e-9, 1e-7, 1e-5, 1e-2, 1.0, 1e3, 1e9] {
            let c = christoffel(&m, &[0.3, s]).unwrap();
            assert_relative_eq!(c.get(1, 1, 1), -1.0 / s, max_relative = 1e-8);
            assert_relative_eq!(c.get(1, 0, 0), 0.5 / s, max_relative = 1e-8);
        }
        let p = testmodels::poisson();
        for l in [1e-9, 1e-4, 1.0, 1e6, 1e12] {
            let c = christoffel(&p, &[l]).unwrap();
            assert_relative_eq!(c.get(0, 0, 0), -0.5 / l, max_relative = 1e-8);
        }
        let b = testmodels::bernoulli();
        for q in [1e-8, 1e-3, 0.3, 1.0 - 1e-3, 1.0 - 1e-8] {
            let c = christoffel(&b, &[q]).unwrap();
            let want = -(1.0 - 2.0 * q) / (2.0 * q * (1.0 - q));
            assert_relative_eq!(c.get(0, 0, 0), want, max_relative = 1e-6);
        }
        assert!(christoffel(&m, &[0.0, -1.0]).is_err());
    }
}

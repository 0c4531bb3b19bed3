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
//!
//! A nearly singular metric whose determinant D is known in closed form
//! ([`Metric::known_ln_sqrt_det`]: the gamma family at large shape k, where
//! D = (kψ′(k) − 1)/β² cancels to 1/(2kβ²)) would lose every digit in the
//! formula above: it forms D, and differences of it, from the rounded g. In
//! two dimensions such a metric takes the Gaussian curvature from the formula
//! in which D enters only through the known √D (Gauss; e.g. Struik, *Lectures
//! on Classical Differential Geometry*, eq. 8-5, with E = g₁₁, F = g₁₂, G = g₂₂):
//!
//! K = 1/(2√D)·[∂_u(F·E_v/(E√D) − G_u/√D) + ∂_v(2F_u/√D − E_v/√D − F·E_u/(E√D))],
//!
//! and R_iklm = K(g_il g_km − g_im g_kl) with g_11 g_22 − g_12² replaced by D,
//! Ricci R_ik = K g_ik, R = 2K (tryout 5, A5: at k = 10⁸ the general formula
//! gave R = −12.4 for the true −1).

use super::christoffel::{
    ENTRY_ROUNDING, diff_step, from_derivatives, metric_gradient_rounding, metric_gradient_times,
    metric_hessian_rounding,
};
use super::{Metric, check_point};
use crate::error::{Error, Result};
use crate::linalg;
use nalgebra::DMatrix;

/// The covariant Riemann tensor R_iklm at one point, with its metric.
#[derive(Debug, Clone)]
pub struct Riemann {
    d: usize,
    /// R in the chart it was computed in, y = S⁻¹(θ − θ₀) (see `scale`).
    r: Vec<f64>,
    /// The diagonal S of that chart (all 1 unless the metric at θ is beyond
    /// 10^±100, see [`riemann`]): R_iklm = r_iklm/(sᵢsₖsₗsₘ).
    scale: Vec<f64>,
    /// The metric and its inverse in that chart, S g S and S⁻¹g⁻¹S⁻¹.
    gs: DMatrix<f64>,
    gs_inv: DMatrix<f64>,
    /// A bound on the rounding error of each `r` (same layout): the rounding
    /// loss of the metric's derivatives propagated through the formula, and
    /// the rounding of the formula itself.
    r_err: Vec<f64>,
    /// The size of the terms that make up each `r` (Σ of their |·|).
    r_mag: Vec<f64>,
    /// How ∂g and ∂∂g were obtained.
    route: Derivatives,
    /// The Gaussian curvature when it was taken from the known determinant
    /// (2-D only; see the module docs).
    known_k: Option<f64>,
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

    /// R_iklm (it underflows or overflows where the metric is beyond
    /// 10^±100: the invariants are taken in the rescaled chart).
    pub fn get(&self, i: usize, k: usize, l: usize, m: usize) -> f64 {
        let s = &self.scale;
        self.scaled(i, k, l, m) / s[i] / s[k] / s[l] / s[m]
    }

    /// R in the chart of the computation.
    fn scaled(&self, i: usize, k: usize, l: usize, m: usize) -> f64 {
        let d = self.d;
        self.r[((i * d + k) * d + l) * d + m]
    }

    /// The Ricci tensor in the chart of the computation.
    fn ricci_scaled(&self) -> DMatrix<f64> {
        let d = self.d;
        DMatrix::from_fn(d, d, |i, k| {
            let mut s = 0.0;
            for l in 0..d {
                for m in 0..d {
                    s += self.gs_inv[(l, m)] * self.scaled(l, i, m, k);
                }
            }
            s
        })
    }

    /// The Ricci tensor R_ik = g^lm R_limk.
    pub fn ricci(&self) -> DMatrix<f64> {
        if let Some(k) = self.known_k {
            return &self.g * k;
        }
        let rs = self.ricci_scaled();
        let s = &self.scale;
        DMatrix::from_fn(self.d, self.d, |i, k| rs[(i, k)] / s[i] / s[k])
    }

    /// The scalar curvature R = g^ik R_ik.
    pub fn scalar(&self) -> f64 {
        if let Some(k) = self.known_k {
            return 2.0 * k;
        }
        self.ricci_scaled().component_mul(&self.gs_inv).sum()
    }

    /// How the metric's derivatives were obtained.
    pub fn route(&self) -> Derivatives {
        self.route
    }

    /// A bound on the rounding error of [`Riemann::scalar`]: Σ |g^ik||g^lm|
    /// (δR_limk + 2d²ε·|terms of R_limk|) (0 on the known-determinant route,
    /// whose error is only estimated by changing the steps).
    pub fn scalar_rounding(&self) -> f64 {
        if self.known_k.is_some() {
            return 0.0;
        }
        let d = self.d;
        let c = 2.0 * (d * d) as f64 * f64::EPSILON;
        let mut e = 0.0;
        for i in 0..d {
            for k in 0..d {
                for l in 0..d {
                    for m in 0..d {
                        let n = ((l * d + i) * d + m) * d + k;
                        e += (self.gs_inv[(i, k)] * self.gs_inv[(l, m)]).abs()
                            * (self.r_err[n] + c * self.r_mag[n]);
                    }
                }
            }
        }
        e
    }

    /// The sectional curvature of the plane spanned by `u` and `v`.
    pub fn sectional(&self, u_theta: &[f64], v_theta: &[f64]) -> Result<f64> {
        Ok(self.sectional_rounding(u_theta, v_theta)?.0)
    }

    /// [`Riemann::sectional`] and a bound on its rounding error (as
    /// [`Riemann::scalar_rounding`]).
    pub fn sectional_rounding(&self, u_theta: &[f64], v_theta: &[f64]) -> Result<(f64, f64)> {
        let d = self.d;
        // Components in the chart of the computation: u_y = S⁻¹u.
        // Each normalised to a largest entry of 1 (K does not change), so
        // that neither the numerator nor g(u,u) underflows.
        let chart = |w: &[f64]| -> Vec<f64> {
            let y: Vec<f64> = w.iter().zip(&self.scale).map(|(a, s)| a / s).collect();
            let top = y.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            if top > 0.0 && top.is_finite() {
                y.iter().map(|x| x / top).collect()
            } else {
                y
            }
        };
        let (u, v) = (&chart(u_theta)[..], &chart(v_theta)[..]);
        let gd = |a: &[f64], b: &[f64]| -> f64 {
            (0..d)
                .flat_map(|i| (0..d).map(move |j| (i, j)))
                .map(|(i, j)| self.gs[(i, j)] * a[i] * b[j])
                .sum()
        };
        // Scale-free: num and den divided by g(u,u)·g(v,v), so a metric of
        // 1e-200 (normal σ = 1e100) or 1e200 (σ = 1e-100) neither underflows
        // nor overflows the products; the plane test is 1 − cos²∠(u, v).
        let (guu, gvv) = (gd(u, u), gd(v, v));
        let cos = gd(u, v) / guu.sqrt() / gvv.sqrt();
        let den = 1.0 - cos * cos;
        // In 2-D every plane is the tangent plane: the sectional curvature is
        // K itself, for any u, v that span it (Euclidean test: the metric's
        // own test would refuse a nearly singular g).
        if let Some(k) = self.known_k {
            let e = u[0] * v[1] - u[1] * v[0];
            if e.abs() > 1e-14 * u[0].hypot(u[1]) * v[0].hypot(v[1]) {
                return Ok((k, 0.0));
            }
        }
        if !(guu > 0.0 && gvv > 0.0 && den > 1e-14) {
            return Err(Error::domain(
                "v",
                format!("{v_theta:?}"),
                format!("does not span a plane with u = {u_theta:?}"),
            ));
        }
        let (mut num, mut err) = (0.0, 0.0);
        let c = 2.0 * (d * d) as f64 * f64::EPSILON;
        // g(u,u), g(v,v) and the plane's cos² lose about κε (g's scaled
        // condition number): a share of the value.
        let kappa_eps = 4.0 * scaled_condition(&self.gs) * f64::EPSILON;
        for i in 0..d {
            for k in 0..d {
                for l in 0..d {
                    for m in 0..d {
                        let w = u[i] * v[k] * u[l] * v[m];
                        let n = ((i * d + k) * d + l) * d + m;
                        num += self.scaled(i, k, l, m) * w;
                        err += w.abs() * (self.r_err[n] + c * self.r_mag[n]);
                    }
                }
            }
        }
        let q = guu * gvv * den;
        Ok((num / q, err / q + kappa_eps / den * (num / q).abs()))
    }
}

/// The Gaussian curvature of a 2-D metric from its known determinant (the
/// formula of the module docs), or `None` when the metric does not know its
/// determinant at θ and at the points of the differences.
///
/// Nested central differences: ∂g at θ ± hᵢeᵢ ([`metric_gradient`]), then the
/// outer difference with the second-derivative step h = ε^{1/4}·L of
/// [`super::christoffel`]; relative error ≈ ε^{5/12} ≈ 3·10⁻⁷.
fn gaussian_curvature_known_det(m: &dyn Metric, theta: &[f64], mult: f64) -> Result<Option<f64>> {
    let Some(ln_sqrt_d) = m.known_ln_sqrt_det(theta) else {
        return Ok(None);
    };
    let sqrt_d = ln_sqrt_d?.exp();
    let g0 = m.metric(theta)?;
    // (P, Q) at t, with E = g₁₁, F = g₁₂, G = g₂₂ and u, v the two coordinates.
    let pq = |t: &[f64]| -> Result<Option<(f64, f64)>> {
        let Some(l) = m.known_ln_sqrt_det(t) else {
            return Ok(None);
        };
        let s = l?.exp();
        let g = m.metric(t)?;
        let dg = metric_gradient_times(m, t, mult)?;
        let (e, f) = (g[(0, 0)], g[(0, 1)]);
        let (e_u, e_v) = (dg[0][(0, 0)], dg[1][(0, 0)]);
        let (f_u, g_u) = (dg[0][(0, 1)], dg[0][(1, 1)]);
        let p = (f * e_v / e - g_u) / s;
        let q = (2.0 * f_u - e_v - f * e_u / e) / s;
        Ok(Some((p, q)))
    };
    let mut div = 0.0;
    for i in 0..2 {
        let (h, _, _) = diff_step(m, theta, i, 0.25, &g0, mult)?;
        let mut tp = theta.to_vec();
        let mut tm = theta.to_vec();
        tp[i] += h;
        tm[i] -= h;
        let (Some(a), Some(b)) = (pq(&tp)?, pq(&tm)?) else {
            return Ok(None);
        };
        // ∂_u P + ∂_v Q.
        div += (if i == 0 { a.0 - b.0 } else { a.1 - b.1 }) / (2.0 * h);
    }
    Ok(Some(div / (2.0 * sqrt_d)))
}

/// The metric in the chart y = S⁻¹(θ − θ₀): S g(θ₀ + Sy) S, its known
/// determinant shifted by ln det S.
struct Rescaled<'a> {
    m: &'a dyn Metric,
    at: &'a [f64],
    scale: Vec<f64>,
}

impl Rescaled<'_> {
    fn point(&self, y: &[f64]) -> Vec<f64> {
        self.at
            .iter()
            .zip(y.iter().zip(&self.scale))
            .map(|(a, (y, s))| a + s * y)
            .collect()
    }
}

impl Metric for Rescaled<'_> {
    fn dim(&self) -> usize {
        self.m.dim()
    }
    fn metric(&self, y: &[f64]) -> Result<DMatrix<f64>> {
        let g = self.m.metric(&self.point(y))?;
        let s = &self.scale;
        Ok(DMatrix::from_fn(g.nrows(), g.ncols(), |i, j| {
            s[i] * g[(i, j)] * s[j]
        }))
    }
    fn known_ln_sqrt_det(&self, y: &[f64]) -> Option<Result<f64>> {
        let shift: f64 = self.scale.iter().map(|s| s.ln()).sum();
        self.m
            .known_ln_sqrt_det(&self.point(y))
            .map(|r| r.map(|l| l + shift))
    }
}

/// How the derivatives of the metric behind a curvature were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Derivatives {
    /// Exact: the model's closed-form metric differentiated with hyper-dual
    /// numbers ([`Metric::known_metric_derivatives`]).
    Exact,
    /// Central differences of the metric ([`super::christoffel`]).
    Differences,
    /// The 2-D formula with the known determinant (module docs), on
    /// differences of the metric.
    KnownDeterminant,
}

/// The condition number of g scaled to a unit diagonal, D^{-½}gD^{-½}: the
/// relative error of g⁻¹ (and of the Christoffel symbols and contractions
/// that use it) is about this times ε. 1 when g is not positive definite.
pub(crate) fn scaled_condition(g: &DMatrix<f64>) -> f64 {
    let d = g.nrows();
    let s: Vec<f64> = (0..d).map(|i| 1.0 / g[(i, i)].sqrt()).collect();
    let a = DMatrix::from_fn(d, d, |i, j| s[i] * g[(i, j)] * s[j]);
    let ev = a.symmetric_eigenvalues();
    let (lo, hi) = ev
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(l, h), &x| (l.min(x), h.max(x)));
    if lo > 0.0 && hi.is_finite() {
        hi / lo
    } else {
        1.0
    }
}

/// |A| entrywise times `u`.
fn scaled_abs(a: &DMatrix<f64>, u: f64) -> DMatrix<f64> {
    a.abs() * u
}

/// ∂g, ∂∂g and the rounding bounds of their entries: with `exact`, the exact
/// ones when the metric knows them and ∂g is finite (bound
/// [`ENTRY_ROUNDING`]·|entry|; an entry ∂ₐ∂ₐg_aa may overflow, the Riemann
/// tensor never uses it), else central differences with steps `mult` times
/// the nominal ones.
///
/// Exact derivatives are asked for only in the chart of θ itself, i.e. when
/// every gᵢᵢ(θ) is within 10^±100 ([`riemann`]; the rescaled chart has
/// none): a formula over dual numbers is exact only while its intermediate
/// values neither overflow nor underflow (1/σ² carries 2/(σ²)³ in its
/// hyper-dual part, which underflows to 0 at σ = 10⁷⁰ and would leave a
/// third of ∂²g without a sign of it); within 10^±100 the third powers of
/// the metric's scale stay representable.
#[allow(clippy::type_complexity)]
fn derivatives(
    m: &dyn Metric,
    theta: &[f64],
    mult: f64,
    exact: bool,
) -> Result<(
    Derivatives,
    Vec<DMatrix<f64>>,
    Vec<Vec<DMatrix<f64>>>,
    Vec<DMatrix<f64>>,
    Vec<Vec<DMatrix<f64>>>,
)> {
    if exact
        && let Some(md) = m.known_metric_derivatives(theta)
        && md.dg.iter().all(|x| x.iter().all(|v| v.is_finite()))
    {
        let u = ENTRY_ROUNDING;
        let dg_err = md.dg.iter().map(|x| scaled_abs(x, u)).collect();
        let ddg_err = md
            .ddg
            .iter()
            .map(|row| row.iter().map(|x| scaled_abs(x, u)).collect())
            .collect();
        return Ok((Derivatives::Exact, md.dg, md.ddg, dg_err, ddg_err));
    }
    let (dg, dg_err) = metric_gradient_rounding(m, theta, mult)?;
    let (ddg, ddg_err) = metric_hessian_rounding(m, theta, mult)?;
    Ok((Derivatives::Differences, dg, ddg, dg_err, ddg_err))
}

/// The Riemann tensor of `m` at θ (in two dimensions with a known
/// determinant, from the Gaussian curvature of [`gaussian_curvature_known_det`]).
///
/// Where a diagonal entry of g(θ) is beyond 10^±100 (a normal σ = 10⁻¹⁰⁰ has
/// g ~ 10²⁰⁰, whose second derivatives ~ 10⁴⁰⁰ overflow) the tensor is taken
/// in the chart y = S⁻¹(θ′ − θ), S = diag(1/√gᵢᵢ(θ)), in which g is of order
/// one and the difference steps are relative to the Fisher unit; the
/// invariants (scalar, Ricci, sectional) are computed there. Exact metric
/// derivatives ([`Metric::known_metric_derivatives`]) are used in the chart
/// of θ only (see [`derivatives`]); the rescaled chart takes differences.
pub fn riemann(m: &dyn Metric, theta: &[f64]) -> Result<Riemann> {
    riemann_times(m, theta, 1.0)
}

/// [`riemann`] with every difference step `mult` times the nominal one.
fn riemann_times(m: &dyn Metric, theta: &[f64], mult: f64) -> Result<Riemann> {
    check_point(m, theta, "point")?;
    let g = m.metric(theta)?;
    let ginv = linalg::cholesky(&g, "metric")?.inverse();
    let scale: Vec<f64> = (0..theta.len()).map(|i| 1.0 / g[(i, i)].sqrt()).collect();
    if (0..theta.len()).all(|i| (1e-100..=1e100).contains(&g[(i, i)])) {
        return riemann_in_chart(m, theta, vec![1.0; theta.len()], g, ginv, mult);
    }
    let rescaled = Rescaled {
        m,
        at: theta,
        scale: scale.clone(),
    };
    riemann_in_chart(&rescaled, &vec![0.0; theta.len()], scale, g, ginv, mult)
}

/// [`riemann`] of the metric `m` of the chart with the given `scale`;
/// `g`, `ginv` are the metric at the point in the original chart.
fn riemann_in_chart(
    m: &dyn Metric,
    theta: &[f64],
    scale: Vec<f64>,
    g_orig: DMatrix<f64>,
    ginv_orig: DMatrix<f64>,
    mult: f64,
) -> Result<Riemann> {
    let d = theta.len();
    if d == 2
        && let Some(kg) = gaussian_curvature_known_det(m, theta, mult)?
    {
        let g = m.metric(theta)?;
        let ginv = linalg::cholesky(&g, "metric")?.inverse();
        let det = (2.0 * m.known_ln_sqrt_det(theta).unwrap_or(Ok(0.0))?).exp();
        // R_iklm = K(g_il g_km − g_im g_kl): ±K·D where (i, k) and (l, m) are
        // both (0, 1) or (1, 0), 0 elsewhere.
        let mut r = vec![0.0; 16];
        for (i, k, l, mm, s) in [
            (0, 1, 0, 1, 1.0),
            (0, 1, 1, 0, -1.0),
            (1, 0, 0, 1, -1.0),
            (1, 0, 1, 0, 1.0),
        ] {
            r[((i * 2 + k) * 2 + l) * 2 + mm] = s * kg * det;
        }
        let r_mag = r.iter().map(|x| x.abs()).collect();
        return Ok(Riemann {
            d,
            r,
            r_err: vec![0.0; 16],
            r_mag,
            route: Derivatives::KnownDeterminant,
            scale,
            gs: g,
            gs_inv: ginv,
            known_k: Some(kg),
            g: g_orig,
            ginv: ginv_orig,
        });
    }
    let g = m.metric(theta)?;
    let r = riemann_from(m, theta, &g, mult, true)?;
    // Exact derivatives whose tensor overflowed (∂∂g of a categorical
    // pᵢ = 10⁻¹⁰⁰ is 2·10³⁰⁰): the differences, whose rounding bound then
    // says how much of the curvature is left.
    let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
    let (r, r_err, r_mag, route) = if r.3 == Derivatives::Exact && !(finite(&r.0) && finite(&r.1)) {
        riemann_from(m, theta, &g, mult, false)?
    } else {
        r
    };
    let ginv = linalg::cholesky(&g, "metric")?.inverse();
    Ok(Riemann {
        d,
        r,
        r_err,
        r_mag,
        route,
        scale,
        gs: g,
        gs_inv: ginv,
        known_k: None,
        g: g_orig,
        ginv: ginv_orig,
    })
}

/// R_iklm of `m` at θ (layout of [`Riemann`]), its rounding bound, the size
/// of its terms and the route of the derivatives ([`derivatives`]).
#[allow(clippy::type_complexity)]
fn riemann_from(
    m: &dyn Metric,
    theta: &[f64],
    g: &DMatrix<f64>,
    mult: f64,
    exact: bool,
) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>, Derivatives)> {
    let d = theta.len();
    let (route, dg, ddg, dg_err, ddg_err) = derivatives(m, theta, mult, exact)?;
    let c = from_derivatives(g, &dg)?;
    let ginv = linalg::cholesky(g, "metric")?.inverse();
    let kappa_eps = scaled_condition(g) * f64::EPSILON;
    // Bounds on the Christoffel symbols: δΓᵃ_bc from the bounds of ∂g, plus
    // the rounding of the sum; |Γ| for the products below.
    let eps = f64::EPSILON;
    let gamma_err: Vec<DMatrix<f64>> = (0..d)
        .map(|a| {
            DMatrix::from_fn(d, d, |b, cc| {
                (0..d)
                    .map(|dd| {
                        let first = 0.5 * (dg[b][(dd, cc)] + dg[cc][(dd, b)] - dg[dd][(b, cc)]);
                        let first_err =
                            0.5 * (dg_err[b][(dd, cc)] + dg_err[cc][(dd, b)] + dg_err[dd][(b, cc)]);
                        ginv[(a, dd)].abs() * (first_err + (d + 3) as f64 * eps * first.abs())
                    })
                    .sum::<f64>()
                    + kappa_eps * c.get(a, b, cc).abs()
            })
        })
        .collect();
    let ga = |a: usize, b: usize, cc: usize| c.get(a, b, cc).abs();
    let ge = |a: usize, b: usize, cc: usize| gamma_err[a][(b, cc)];
    // ∂_a∂_b g_ij = ddg[a][b][(i, j)].
    let h = |a: usize, b: usize, i: usize, j: usize| ddg[a][b][(i, j)];
    let he = |a: usize, b: usize, i: usize, j: usize| ddg_err[a][b][(i, j)];
    let n4 = d * d * d * d;
    let (mut r, mut r_err, mut r_mag) = (vec![0.0; n4], vec![0.0; n4], vec![0.0; n4]);
    let at = |i: usize, k: usize, l: usize, m: usize| ((i * d + k) * d + l) * d + m;
    // R_iklm = −R_kilm = −R_ikml: computed for i < k, l < m and copied with
    // its sign; R_iilm = R_ikll = 0 exactly (not the rounding residue of
    // terms that cancel, which would pass for curvature of a flat metric).
    for i in 0..d {
        for k in i + 1..d {
            for l in 0..d {
                for mm in l + 1..d {
                    let mut v =
                        0.5 * (h(k, l, i, mm) + h(i, mm, k, l) - h(k, mm, i, l) - h(i, l, k, mm));
                    let mut mag = 0.5
                        * (h(k, l, i, mm).abs()
                            + h(i, mm, k, l).abs()
                            + h(k, mm, i, l).abs()
                            + h(i, l, k, mm).abs());
                    let mut err = 0.5
                        * (he(k, l, i, mm) + he(i, mm, k, l) + he(k, mm, i, l) + he(i, l, k, mm));
                    for n in 0..d {
                        for p in 0..d {
                            let gnp = g[(n, p)];
                            v += gnp
                                * (c.get(n, k, l) * c.get(p, i, mm)
                                    - c.get(n, k, mm) * c.get(p, i, l));
                            mag += gnp.abs()
                                * (ga(n, k, l) * ga(p, i, mm) + ga(n, k, mm) * ga(p, i, l));
                            err += gnp.abs()
                                * (ge(n, k, l) * ga(p, i, mm)
                                    + ga(n, k, l) * ge(p, i, mm)
                                    + ge(n, k, mm) * ga(p, i, l)
                                    + ga(n, k, mm) * ge(p, i, l));
                        }
                    }
                    err += 2.0 * (d * d + 2) as f64 * eps * mag;
                    for (a, b, x, y, sign) in [
                        (i, k, l, mm, 1.0),
                        (k, i, l, mm, -1.0),
                        (i, k, mm, l, -1.0),
                        (k, i, mm, l, 1.0),
                    ] {
                        r[at(a, b, x, y)] = sign * v;
                        r_err[at(a, b, x, y)] = err;
                        r_mag[at(a, b, x, y)] = mag;
                    }
                }
            }
        }
    }
    Ok((r, r_err, r_mag, route))
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

/// Step multipliers of the error estimate of [`curvature`] on differences
/// of the metric: the curvature is recomputed with every difference step
/// doubled and halved.
pub const ERROR_STEPS: [f64; 2] = [2.0, 0.5];

/// A curvature whose error estimate is above this fraction of its size has
/// no four significant digits: the report is UNRESOLVED
/// ([`CurvatureReport::unresolved`]).
pub const RESOLVED_RELATIVE: f64 = 1e-4;

/// Every curvature of the metric at one point (units: 1/metric units), each
/// with an error estimate.
///
/// The estimate is the larger of two: (1) a bound on rounding — each
/// derivative of the metric carries the rounding loss of its difference
/// (an entry of size |g| evaluated at steps h loses about ε|g|/h in a first
/// difference, ε|g|/h² in a second), or ε|·| when it is exact, propagated
/// through the Christoffel symbols and the Riemann tensor with the rounding of
/// the formula itself; (2) on differences of the metric, the larger change of
/// the value when every difference step is doubled or halved
/// ([`ERROR_STEPS`]): truncation error (∝ h²) grows fourfold when h doubles,
/// so one of the two changes is about three times it (docs/geometry.md
/// gives the measured ratios). Step changes alone cannot see a term that
/// every step loses to rounding (tryout 8, G7: the categorical's 1/p_K beside
/// 1/pᵢ = 10¹⁰⁰), the bound (1) can.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CurvatureReport {
    /// The point θ.
    pub theta: Vec<f64>,
    /// g(θ), d × d rows.
    pub metric: Vec<Vec<f64>>,
    /// How the derivatives of the metric were obtained: `exact` (hyper-dual
    /// numbers on the model's closed-form metric), `differences`, or
    /// `known_determinant` (2-D, module docs).
    pub derivatives: Derivatives,
    /// The scalar curvature R = g^ik R_ik.
    pub scalar: f64,
    /// Error estimate of `scalar` (absolute).
    pub scalar_error: f64,
    /// The Ricci tensor R_ik, d × d rows.
    pub ricci: Vec<Vec<f64>>,
    /// The sectional curvature of each coordinate plane (eᵢ, eⱼ), i < j.
    pub sectional: Vec<SectionalCurvature>,
    /// In two dimensions, the Gaussian curvature K = R/2.
    pub gaussian: Option<f64>,
    /// Error estimate of `gaussian` (absolute).
    pub gaussian_error: Option<f64>,
    /// `None` when every value has an error estimate within
    /// [`RESOLVED_RELATIVE`] of its size; else the reason it has not (the
    /// values are then not to be trusted: a failed computation).
    pub unresolved: Option<String>,
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
    /// Error estimate of `value` (absolute).
    pub error: f64,
}

/// The scalar curvature and the coordinate-plane sectional curvatures of
/// `r`, each with its rounding bound.
#[allow(clippy::type_complexity)]
fn invariants(r: &Riemann) -> Result<((f64, f64), Vec<(f64, f64)>)> {
    let d = r.dim();
    let mut sectional = Vec::new();
    for i in 0..d {
        for j in i + 1..d {
            let mut u = vec![0.0; d];
            let mut v = vec![0.0; d];
            u[i] = 1.0;
            v[j] = 1.0;
            sectional.push(r.sectional_rounding(&u, &v)?);
        }
    }
    Ok(((r.scalar(), r.scalar_rounding()), sectional))
}

/// Scalar, Ricci, coordinate-plane sectional and (d = 2) Gaussian curvature
/// of `m` at θ, from one Riemann tensor ([`riemann`]), with error estimates
/// (see [`CurvatureReport`]; on differences of the metric two more Riemann
/// tensors at steps ×2 and ×½, [`ERROR_STEPS`]).
///
/// # Errors
/// As [`riemann`]: θ outside the chart, a metric that is not positive
/// definite. A value without four significant digits is not an error: the
/// report says so in [`CurvatureReport::unresolved`].
pub fn curvature(m: &dyn Metric, theta: &[f64]) -> Result<CurvatureReport> {
    let r = riemann(m, theta)?;
    let d = r.dim();
    let rows = crate::validate::rows;
    let ((scalar, mut scalar_error), sect) = invariants(&r)?;
    let mut sect_error: Vec<f64> = sect.iter().map(|s| s.1).collect();
    if r.route() != Derivatives::Exact {
        for mult in ERROR_STEPS {
            let ((s2, _), k2) = invariants(&riemann_times(m, theta, mult)?)?;
            scalar_error = scalar_error.max((s2 - scalar).abs());
            for (e, (a, b)) in sect_error.iter_mut().zip(sect.iter().zip(&k2)) {
                *e = e.max((a.0 - b.0).abs());
            }
        }
    }
    let mut sectional = Vec::new();
    let mut n = 0;
    for i in 0..d {
        for j in i + 1..d {
            sectional.push(SectionalCurvature {
                i,
                j,
                value: sect[n].0,
                error: sect_error[n],
            });
            n += 1;
        }
    }
    let unresolved = unresolved_reason(scalar, scalar_error, &sectional, r.route());
    Ok(CurvatureReport {
        theta: theta.to_vec(),
        metric: rows(&r.g),
        derivatives: r.route(),
        scalar,
        scalar_error,
        ricci: rows(&r.ricci()),
        gaussian: (d == 2).then(|| sectional[0].value),
        gaussian_error: (d == 2).then(|| sectional[0].error),
        sectional,
        unresolved,
    })
}

/// Why the values of a curvature report are not resolved (an error
/// estimate above [`RESOLVED_RELATIVE`] of the value, or not finite), or
/// `None`.
fn unresolved_reason(
    scalar: f64,
    scalar_error: f64,
    sectional: &[SectionalCurvature],
    route: Derivatives,
) -> Option<String> {
    let bad = |v: f64, e: f64| !v.is_finite() || e.is_nan() || e > RESOLVED_RELATIVE * v.abs();
    let mut what = Vec::new();
    if bad(scalar, scalar_error) {
        what.push(format!("scalar R = {scalar:.4e} ± {scalar_error:.1e}"));
    }
    for s in sectional {
        if bad(s.value, s.error) {
            what.push(format!(
                "sectional K({}, {}) = {:.4e} ± {:.1e}",
                s.i, s.j, s.value, s.error
            ));
        }
    }
    if what.is_empty() {
        return None;
    }
    let how = match route {
        Derivatives::Exact => "the exact derivatives of the metric lose them to rounding",
        _ => {
            "the differences of the metric lose them to rounding or truncation (the metric's \
             entries mix terms of very different size, or vary faster than any step resolves)"
        }
    };
    Some(format!(
        "no 4 significant digits ({}): {how}",
        what.join(", ")
    ))
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

    /// The gamma (k, β) Fisher metric [[ψ′(k), −1/β], [−1/β, k/β²]], with or
    /// without its closed-form determinant (kψ′(k) − 1)/β².
    struct Gamma {
        known_det: bool,
    }

    impl Metric for Gamma {
        fn dim(&self) -> usize {
            2
        }
        fn metric(&self, t: &[f64]) -> Result<DMatrix<f64>> {
            if !(t[0] > 0.0 && t[1] > 0.0) {
                return Err(Error::domain(
                    "theta",
                    format!("{t:?}"),
                    "is outside the chart",
                ));
            }
            let (k, b) = (t[0], t[1]);
            Ok(DMatrix::from_row_slice(
                2,
                2,
                &[crate::special::trigamma(k), -1.0 / b, -1.0 / b, k / (b * b)],
            ))
        }
        fn known_ln_sqrt_det(&self, t: &[f64]) -> Option<Result<f64>> {
            self.known_det.then(|| {
                super::super::closed_form::gamma_ln_sqrt_det(t).ok_or(Error::domain(
                    "theta",
                    format!("{t:?}"),
                    "is outside the chart",
                ))
            })
        }
    }

    #[test]
    #[allow(clippy::excessive_precision)] // oracle digits as printed (tests/oracles/)
    fn gamma_curvature_keeps_its_digits_at_large_shape() {
        // Tryout 5, A5: at k = 10⁶ R was off by 6·10⁻⁴, at 10⁸ it was −12.4.
        // Oracle: tests/oracles/gamma_scalar_curvature.py (mpmath Brioschi on
        // the metric, and the closed form (ψ′ + kψ″)/(2(kψ′ − 1)²) of
        // oracles.md §3; they agree to 60 digits).
        let cases = [
            (1e-8, 1.0, -0.50000000999999990326),
            (1e-3, 1.0, -0.50099903282822021749),
            (1.0, 1.0, -0.91260738288038425431),
            (1e3, 1.0, -0.99999988882972604384),
            (1e6, 1.0, -0.99999999999988888883),
            (1e8, 1.0, -0.99999999999999998889),
            (1e12, 1.0, -1.0),
            (1.0, 1e-8, -0.91260738288038425431),
            (1.0, 1e8, -0.91260738288038425431),
            (1e6, 1e-8, -0.99999999999988888883),
            (1e6, 1e8, -0.99999999999988888883),
        ];
        let m = Gamma { known_det: true };
        for (k, b, want) in cases {
            let r = curvature(&m, &[k, b]).unwrap();
            assert_relative_eq!(r.scalar, want, max_relative = 1e-6);
            assert_relative_eq!(r.gaussian.unwrap(), want / 2.0, max_relative = 1e-6);
            // Ricci = K·g and R = g^ik R_ik = 2K.
            assert_relative_eq!(r.ricci[1][1], want / 2.0 * k / (b * b), max_relative = 1e-6);
        }
        // The general formula on the rounded metric is what failed: at
        // k = 10⁸ it has no correct digit (the test above would catch it).
        let r = scalar_curvature(&Gamma { known_det: false }, &[1e8, 1.0]).unwrap();
        assert!((r + 1.0).abs() > 0.1, "{r}");
        // At ordinary shape both routes agree.
        let a = scalar_curvature(&Gamma { known_det: false }, &[2.0, 3.0]).unwrap();
        let b = scalar_curvature(&Gamma { known_det: true }, &[2.0, 3.0]).unwrap();
        assert_relative_eq!(a, b, max_relative = 1e-6);
    }

    #[test]
    fn the_known_determinant_formula_matches_the_oracles() {
        // The same formula on the sphere (√D = sin θ, K = 1) and the normal
        // family (√D = √2/σ², K = −½; oracles.md §3), given their determinants.
        struct WithDet<M>(M, fn(&[f64]) -> f64);
        impl<M: Metric> Metric for WithDet<M> {
            fn dim(&self) -> usize {
                2
            }
            fn metric(&self, t: &[f64]) -> Result<DMatrix<f64>> {
                self.0.metric(t)
            }
            fn known_ln_sqrt_det(&self, t: &[f64]) -> Option<Result<f64>> {
                Some(Ok((self.1)(t)))
            }
        }
        let sphere = WithDet(testmodels::sphere(), |t| t[0].sin().ln());
        // Near the pole (θ = 0.1) g₂₂ = sin²θ changes over 0.05, the steps
        // shrink with it and the nested differences keep about 5 digits.
        for (p, tol) in [([0.9, 0.3], 1e-6), ([0.1, 2.0], 1e-4), ([3.0, -1.0], 1e-4)] {
            assert_relative_eq!(gaussian_curvature(&sphere, &p).unwrap(), 1.0, epsilon = tol);
            assert_relative_eq!(
                scalar_curvature(&sphere, &p).unwrap(),
                2.0,
                epsilon = 2.0 * tol
            );
        }
        let normal = WithDet(testmodels::normal_sigma(), |t| {
            0.5 * 2f64.ln() - 2.0 * t[1].ln()
        });
        for p in [[0.0, 1.0], [2.0, 1e-6], [-1e6, 1e6]] {
            assert_relative_eq!(
                gaussian_curvature(&normal, &p).unwrap(),
                -0.5,
                max_relative = 1e-6
            );
        }
        // A wrong determinant (twice the true one) gives a wrong K.
        let wrong = WithDet(testmodels::sphere(), |t| t[0].sin().ln() + 0.5 * 2f64.ln());
        let k = gaussian_curvature(&wrong, &[0.9, 0.3]).unwrap();
        assert!((k - 1.0).abs() > 0.1, "{k}");
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

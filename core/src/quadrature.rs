//! Gaussian quadrature rules: Gauss–Hermite for expectations under a normal
//! law (the heat kernel of eqs. 21–22) and Gauss–Legendre for cell averages,
//! and [`NormalExpectation`], an adaptive rule for E\[f(ξ)\], ξ ~ N(0, I_d),
//! that returns an error estimate with every value or refuses.

use crate::error::{Error, Result};
use nalgebra::DMatrix;
use std::sync::{Arc, OnceLock};

/// The m-point Gauss rule of the orthonormal polynomials with recurrence
/// b_{k+1}p_{k+1} = x p_k − b_k p_{k−1}, p_0 = 1/√μ₀ (zero diagonal): nodes by
/// Golub–Welsch (the eigenvalues of the Jacobi matrix), each refined by Newton
/// steps on p_m, and weights from the Christoffel numbers 1/Σ_{k<m} p_k(x)²,
/// which keep full relative accuracy (the squared eigenvector components of
/// Golub–Welsch lose about two digits at m = 64). Nodes increasing.
fn gauss_rule(m: usize, mu0: f64, b: impl Fn(usize) -> f64) -> (Vec<f64>, Vec<f64>) {
    assert!(m >= 1, "a quadrature rule needs at least one node");
    let mut j = DMatrix::<f64>::zeros(m, m);
    for k in 1..m {
        j[(k - 1, k)] = b(k);
        j[(k, k - 1)] = b(k);
    }
    let mut x: Vec<f64> = j.symmetric_eigen().eigenvalues.iter().copied().collect();
    x.sort_by(f64::total_cmp);
    // p_m(x), p_m′(x) and Σ_{k<m} p_k(x)² by the recurrence.
    let eval = |x: f64| {
        let (mut p0, mut p1) = (0.0, 1.0 / mu0.sqrt());
        let (mut d0, mut d1) = (0.0, 0.0);
        let mut sum = p1 * p1;
        for k in 0..m {
            let bk = if k == 0 { 0.0 } else { b(k) };
            let bk1 = b(k + 1);
            let p2 = (x * p1 - bk * p0) / bk1;
            let d2 = (p1 + x * d1 - bk * d0) / bk1;
            (p0, p1, d0, d1) = (p1, p2, d1, d2);
            if k + 1 < m {
                sum += p1 * p1;
            }
        }
        (p1, d1, sum)
    };
    let mut w = Vec::with_capacity(m);
    for xi in &mut x {
        for _ in 0..3 {
            let (p, d, _) = eval(*xi);
            if d != 0.0 && p.is_finite() && d.is_finite() {
                *xi -= p / d;
            }
        }
        w.push(1.0 / eval(*xi).2);
    }
    (x, w)
}

/// The m-point probabilists' Gauss–Hermite rule: nodes xₖ and weights wₖ with
/// Σ wₖ f(xₖ) ≈ E[f(ξ)], ξ ~ N(0, 1), exact for polynomials of degree < 2m.
/// Recurrence He_{k+1} = x He_k − k He_{k−1} (orthonormal: b_k = √k); weights
/// sum to 1 (to round-off). Nodes are returned in increasing order.
pub fn gauss_hermite(m: usize) -> (Vec<f64>, Vec<f64>) {
    gauss_rule(m, 1.0, |k| (k as f64).sqrt())
}

/// The m-point Gauss–Legendre rule on [−1, 1] (nodes increasing, weights
/// summing to 2), exact for polynomials of degree < 2m (orthonormal Legendre
/// recurrence, b_k = k/√(4k² − 1)).
pub fn gauss_legendre(m: usize) -> (Vec<f64>, Vec<f64>) {
    gauss_rule(m, 2.0, |k| {
        let kf = k as f64;
        kf / (4.0 * kf * kf - 1.0).sqrt()
    })
}

/// The half-width L of the interval [−L, L] on which the composite levels of
/// [`NormalExpectation`] integrate: P(|ξ| > L) = 2Φ(−9) = 2.3e-19 per axis.
pub const NORMAL_CUTOFF: f64 = 9.0;

/// Number of levels of the ladder of [`NormalExpectation`].
pub const LEVELS: usize = 29;

/// A one-dimensional rule (nodes, weights), shared.
pub type Rule = Arc<(Vec<f64>, Vec<f64>)>;

/// Gauss–Hermite levels of the ladder (node counts growing by about √2).
const HERMITE_LEVELS: [usize; 7] = [16, 23, 32, 45, 64, 91, 128];

/// Level k of the ladder of one-dimensional rules for E\[f(ξ)\], ξ ~ N(0, 1):
/// Gauss–Hermite with 16, 23, 32, 45, 64, 91, 128 nodes (k = 0…6), then
/// composite 8-point Gauss–Legendre on [−L, L] ([`NORMAL_CUTOFF`]) with
/// ⌊64·2^{(k−7)/2}⌋ panels, weighted by the normal density (k = 7…28, up to
/// 741 456 nodes). Node counts grow by about √2 per level, so the extra level
/// that confirms convergence costs about 2^{d/2} times the converged one.
/// Rules are computed once and shared.
pub fn normal_rule(level: usize) -> Rule {
    static RULES: [OnceLock<Rule>; LEVELS] = [const { OnceLock::new() }; LEVELS];
    let level = level.min(LEVELS - 1);
    RULES[level]
        .get_or_init(|| {
            if level < HERMITE_LEVELS.len() {
                Arc::new(gauss_hermite(HERMITE_LEVELS[level]))
            } else {
                let j = (level - HERMITE_LEVELS.len()) as i32;
                let panels = (64.0 * 2f64.powf(0.5 * j as f64)).floor() as usize;
                let (gx, gw) = gauss_legendre(8);
                let width = 2.0 * NORMAL_CUTOFF / panels as f64;
                let mut x = Vec::with_capacity(panels * 8);
                let mut w = Vec::with_capacity(panels * 8);
                let c = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
                for p in 0..panels {
                    let mid = -NORMAL_CUTOFF + (p as f64 + 0.5) * width;
                    for (a, b) in gx.iter().zip(&gw) {
                        let xi = mid + 0.5 * width * a;
                        x.push(xi);
                        w.push(0.5 * width * b * c * (-0.5 * xi * xi).exp());
                    }
                }
                Arc::new((x, w))
            }
        })
        .clone()
}

/// A value with its estimated absolute error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The value.
    pub value: f64,
    /// The estimated absolute error: the difference between the last two
    /// rules of the ladder plus a round-off allowance of 8ε·Σ|wᵢ f(ξᵢ)|.
    pub error: f64,
    /// Nodes per axis of the rule that gave `value`.
    pub nodes: usize,
    /// Evaluations of f spent in all.
    pub evaluations: usize,
}

/// An adaptive rule for E\[f(ξ)\], ξ ~ N(0, I_d): tensor products of the
/// ladder [`normal_rule`] are tried level after level until three consecutive
/// levels agree (both differences within `rel_tol`·|value|, or within the
/// round-off allowance 8ε·Σ|wᵢ f(ξᵢ)| for values that cancel to near 0), with
/// at most `max_evaluations` evaluations of f in all. The result carries the
/// error estimate (the last difference plus the allowance); when the budget is
/// spent first it is refused ([`Error::Failed`], with the last value).
///
/// The estimate assumes f is resolved by the rules (smooth on the scale of
/// the node spacing): like any quadrature, it can be fooled by a jump that
/// falls between the nodes of three rules (E 1{ξ > 0.12} gives ½ on the
/// Gauss–Hermite levels, whose nodes nearest 0 are at ±0.14 and beyond).
///
/// Gauss–Hermite converges fast for smooth f that vary on the scale of the
/// normal law; an f that oscillates or varies on a scale δ ≪ 1 needs about
/// e/(2δ²) Gauss–Hermite nodes (E cos(ωξ) with m nodes errs by
/// ≈ (eω²/(2m))^m), which is why the ladder continues with composite rules
/// whose node spacing halves at each level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalExpectation {
    /// Relative tolerance of the agreement of two levels.
    pub rel_tol: f64,
    /// Largest number of evaluations of f over all levels.
    pub max_evaluations: usize,
}

impl Default for NormalExpectation {
    fn default() -> Self {
        NormalExpectation {
            rel_tol: 1e-12,
            max_evaluations: 1 << 22,
        }
    }
}

impl NormalExpectation {
    /// E\[f(ξ)\] for ξ ~ N(0, I_d), with its error estimate.
    ///
    /// # Errors
    /// [`Error::Failed`] when f is NaN or infinite at a node (naming ξ) or
    /// when the budget is spent before two levels agree.
    pub fn estimate(&self, d: usize, f: &mut dyn FnMut(&[f64]) -> f64) -> Result<Estimate> {
        if d == 0 {
            return Err(Error::setting("dimension", "must be >= 1"));
        }
        let mut spent = 0usize;
        let mut prev: Option<(f64, usize)> = None;
        let mut agreed_once = false;
        for level in 0..LEVELS {
            let rule = normal_rule(level);
            let m = rule.0.len();
            let cost = m.checked_pow(d as u32).unwrap_or(usize::MAX);
            if spent.saturating_add(cost) > self.max_evaluations {
                let why = match prev {
                    Some((v, mp)) => format!(
                        "the last rule ({mp} nodes per axis) gave {v:e}, and the next ({m} nodes per axis, {cost} evaluations) would exceed the budget of {} evaluations ({spent} spent)",
                        self.max_evaluations
                    ),
                    None => format!(
                        "the first rule alone needs {cost} evaluations, more than the budget of {}",
                        self.max_evaluations
                    ),
                };
                return Err(Error::failed("E[f(xi)], xi ~ N(0, I)", why));
            }
            let (value, abs) = tensor_sum(&rule.0, &rule.1, d, f)?;
            spent += cost;
            let floor = 8.0 * f64::EPSILON * abs;
            if let Some((pv, _)) = prev {
                let diff = (value - pv).abs();
                let agree = diff <= (self.rel_tol * value.abs()).max(floor);
                if agree && agreed_once {
                    return Ok(Estimate {
                        value,
                        error: diff + floor,
                        nodes: m,
                        evaluations: spent,
                    });
                }
                agreed_once = agree;
            }
            prev = Some((value, m));
        }
        let (v, mp) = prev.unwrap_or((f64::NAN, 0));
        Err(Error::failed(
            "E[f(xi)], xi ~ N(0, I)",
            format!(
                "no two of the {LEVELS} rules agreed (the last, {mp} nodes per axis, gave {v:e})"
            ),
        ))
    }
}

/// Σ over the tensor grid of Πₐ w_{iₐ} f(x_{i₁}, …, x_{i_d}), and Σ|…|.
fn tensor_sum(
    x: &[f64],
    w: &[f64],
    d: usize,
    f: &mut dyn FnMut(&[f64]) -> f64,
) -> Result<(f64, f64)> {
    let m = x.len();
    let mut idx = vec![0usize; d];
    let mut xi = vec![0.0; d];
    let (mut total, mut abs) = (0.0, 0.0);
    loop {
        let mut wt = 1.0;
        for (a, &k) in idx.iter().enumerate() {
            xi[a] = x[k];
            wt *= w[k];
        }
        let v = f(&xi);
        if !v.is_finite() {
            return Err(Error::failed(
                "E[f(xi)], xi ~ N(0, I)",
                format!("f = {v} at the node xi = {xi:?}"),
            ));
        }
        total += wt * v;
        abs += (wt * v).abs();
        let mut k = 0;
        loop {
            if k == d {
                return Ok((total, abs));
            }
            idx[k] += 1;
            if idx[k] < m {
                break;
            }
            idx[k] = 0;
            k += 1;
        }
    }
}

/// The 3-point Gauss–Legendre rule on [−½, ½] (nodes, weights summing to 1):
/// the average of f over a cell of width h centred at c is
/// Σ wₖ f(c + h·xₖ), exact for polynomials of degree ≤ 5.
pub const GAUSS_LEGENDRE_3: ([f64; 3], [f64; 3]) = (
    [-0.387_298_334_620_741_7, 0.0, 0.387_298_334_620_741_7],
    [5.0 / 18.0, 8.0 / 18.0, 5.0 / 18.0],
);

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hermite_rule_reproduces_normal_moments() {
        // E[ξ^{2k}] = (2k − 1)!! for ξ ~ N(0, 1); odd moments vanish.
        let (x, w) = gauss_hermite(8);
        let moment = |p: i32| x.iter().zip(&w).map(|(x, w)| w * x.powi(p)).sum::<f64>();
        assert_relative_eq!(moment(0), 1.0, epsilon = 1e-14);
        assert!(moment(3).abs() < 1e-12);
        assert_relative_eq!(moment(2), 1.0, epsilon = 1e-12);
        assert_relative_eq!(moment(8), 105.0, max_relative = 1e-11);
        assert_relative_eq!(moment(14), 135135.0, max_relative = 1e-10);
        // E[cos ξ] = e^{−1/2}: not a polynomial, converges spectrally.
        let (x, w) = gauss_hermite(20);
        let c: f64 = x.iter().zip(&w).map(|(x, w)| w * x.cos()).sum();
        assert_relative_eq!(c, (-0.5f64).exp(), epsilon = 1e-13);
    }

    #[test]
    fn adaptive_normal_expectation_resolves_oscillations_or_refuses() {
        // E cos(ωξ) = e^{−ω²/2} (closed form). At ω = 8 (the heat semigroup's
        // E_64 cos at 0) a fixed 24-node Gauss–Hermite rule gives −0.161; the
        // ladder reaches 1.27e-14 with an error estimate at round-off.
        let (x, w) = gauss_hermite(24);
        let fixed: f64 = x.iter().zip(&w).map(|(x, w)| w * (8.0 * x).cos()).sum();
        assert!((fixed + 0.161).abs() < 1e-3, "{fixed}");
        let q = NormalExpectation::default();
        for om in [0.5f64, 2.0, 8.0, 30.0] {
            let e = q.estimate(1, &mut |z| (om * z[0]).cos()).unwrap();
            let truth = (-0.5 * om * om).exp();
            assert!(
                (e.value - truth).abs() <= e.error && e.error <= 1e-12 * truth + 2e-15,
                "ω = {om}: {e:?} vs {truth:e}"
            );
        }
        // 2-D, correlated-free product: E cos(ξ₁)cos(3ξ₂) = e^{−1/2}e^{−9/2}.
        let e = q
            .estimate(2, &mut |z| z[0].cos() * (3.0 * z[1]).cos())
            .unwrap();
        assert!(
            (e.value - (-5.0f64).exp()).abs() <= e.error && e.error < 1e-14,
            "{e:?}"
        );
        // Polynomials: exact at every level (E ξ⁸ = 105): the third level ends it.
        let e = q.estimate(1, &mut |z| z[0].powi(8)).unwrap();
        assert!((e.value - 105.0).abs() < 1e-11 && e.nodes == 32, "{e:?}");
        // Refusals: a budget too small for ω = 8 (16 + 32 + 64 nodes > 100),
        // a jump that the ladder sees (the composite levels converge only at
        // O(h): no three agree to 1e-12 within the 2-D budget), and a NaN.
        let small = NormalExpectation {
            rel_tol: 1e-12,
            max_evaluations: 100,
        };
        let e = small.estimate(1, &mut |z| (8.0 * z[0]).cos()).unwrap_err();
        assert!(e.to_string().contains("budget of 100"), "{e}");
        let e = q
            .estimate(2, &mut |z| if z[0] > 0.3 { 1.0 } else { 0.0 })
            .unwrap_err();
        assert!(e.to_string().contains("budget"), "{e}");
        let e = q
            .estimate(1, &mut |z| if z[0] > 1.0 { f64::NAN } else { 1.0 })
            .unwrap_err();
        assert!(e.to_string().contains("f = NaN at the node"), "{e}");
    }

    #[test]
    fn legendre_rules_integrate_polynomials() {
        // ∫_{−1}^{1} x^{2k} dx = 2/(2k + 1), exact up to degree 2m − 1.
        let (x, w) = gauss_legendre(8);
        for k in 0..8 {
            let s: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(2 * k)).sum();
            assert!((s - 2.0 / (2 * k + 1) as f64).abs() < 1e-14, "k = {k}: {s}");
        }
    }

    #[test]
    fn legendre_rule_averages_quintics() {
        let (x, w) = GAUSS_LEGENDRE_3;
        // Average of y⁴ over [−½, ½] is 1/80.
        let avg: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(4)).sum();
        assert_relative_eq!(avg, 1.0 / 80.0, epsilon = 1e-15);
    }
}

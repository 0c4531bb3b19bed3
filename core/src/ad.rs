//! Forward-mode automatic differentiation of log-densities (`num-dual`).
//!
//! A model writes its log-density **once**, generically over a number type
//! `D: Real` ([`LogDensity::ln_density`]); with `D = f64` that is the
//! log-likelihood, with dual numbers it carries exact derivatives:
//!
//! | helper | number type (d ≤ [`MAX_STATIC_DIM`]) | result |
//! |---|---|---|
//! | [`log_density`] | `f64` | ln p(y \| θ) |
//! | [`score`] | `DualSVec64<d>` | ℓ = ∇_θ ln p (eq. 28), exact |
//! | [`hessian`] | `Dual2SVec64<d>` | ∇²_θ ln p, exact |
//!
//! Static sizes live on the stack: no heap allocation per call, so the helpers
//! can run inside the Monte Carlo loops of [`crate::fisher`]. Above
//! [`MAX_STATIC_DIM`] parameters the score takes d passes of a one-direction
//! dual number and the Hessian d(d+1)/2 passes of a hyper-dual number (one
//! buffer allocation per call).
//!
//! The [`ad_derivatives!`](crate::ad_derivatives) macro, placed inside an
//! `impl Model for …` block, makes [`Model::score`](crate::Model::score) and
//! [`Model::hessian`](crate::Model::hessian) the exact AD ones; `ad_derivatives!(hessian)`
//! keeps a hand-written score and adds the AD Hessian.
//!
//! Special functions of dual numbers (lnΓ, ln B, log1pmx …) are in
//! [`crate::special`]; a new one takes three lines with [`univariate`].
//!
//! Reference: num-dual 0.15 (Rehner & Bauer, "Application of generalized
//! (hyper-) dual numbers in equation of state modeling", Front. Chem. Eng. 2021).

pub use num_dual::{Dual2SVec64, Dual64, DualNum, DualSVec64, DualStruct, HyperDual64};

/// The number types a log-density is written for: `f64` and every (hyper-)dual
/// number over `f64` that is `Copy` (the statically sized ones).
pub trait Real: DualNum<Primitive = f64> + Copy {}
impl<T: DualNum<Primitive = f64> + Copy> Real for T {}

/// The largest number of parameters differentiated with statically sized
/// (stack-allocated) dual numbers.
pub const MAX_STATIC_DIM: usize = 16;

/// f(x) of a dual number from the derivatives of f at the real part:
/// Σ_{k ≤ NDERIV} f⁽ᵏ⁾(x₀)/k! (x − x₀)ᵏ, which is exact because the
/// non-real part of x is nilpotent of order NDERIV + 1. `derivs(k, x₀)` returns
/// f⁽ᵏ⁾(x₀). With `D = f64` this is `derivs(0, x)`.
pub fn univariate<D: Real>(x: D, derivs: impl Fn(usize, f64) -> f64) -> D {
    let x0 = x.re();
    let n = D::NDERIV;
    if n == 0 {
        return D::from(derivs(0, x0));
    }
    let dx = x - D::from(x0);
    let fact = |k: usize| (1..=k).map(|i| i as f64).product::<f64>();
    let mut acc = D::from(derivs(n, x0) / fact(n));
    for k in (0..n).rev() {
        acc = acc * dx + D::from(derivs(k, x0) / fact(k));
    }
    acc
}

/// A log-density ln p(y | θ) written generically over the number type, so that
/// forward-mode AD gives its exact score and Hessian.
///
/// `theta` has the model's d entries (already validated by
/// [`Model::check_params`](crate::Model::check_params) when the caller is a
/// Monte Carlo loop); `y` is one observation. Return −∞ (as `D::from`) for y
/// outside the support. Write it with the accurate forms of
/// [`crate::special`] where terms cancel: AD differentiates the formula as
/// written, so its derivatives are as accurate as the formula.
pub trait LogDensity {
    /// ln p(y | θ).
    fn ln_density<D: Real>(&self, theta: &[D], y: &[f64]) -> D;
}

/// ln p(y | θ) in `f64`.
pub fn log_density<M: LogDensity + ?Sized>(m: &M, theta: &[f64], y: &[f64]) -> f64 {
    m.ln_density::<f64>(theta, y)
}

macro_rules! dispatch_static {
    ($d:expr, $f:ident, $dyn:ident, ($($arg:expr),*)) => {
        match $d {
            1 => $f::<M, 1>($($arg),*),
            2 => $f::<M, 2>($($arg),*),
            3 => $f::<M, 3>($($arg),*),
            4 => $f::<M, 4>($($arg),*),
            5 => $f::<M, 5>($($arg),*),
            6 => $f::<M, 6>($($arg),*),
            7 => $f::<M, 7>($($arg),*),
            8 => $f::<M, 8>($($arg),*),
            9 => $f::<M, 9>($($arg),*),
            10 => $f::<M, 10>($($arg),*),
            11 => $f::<M, 11>($($arg),*),
            12 => $f::<M, 12>($($arg),*),
            13 => $f::<M, 13>($($arg),*),
            14 => $f::<M, 14>($($arg),*),
            15 => $f::<M, 15>($($arg),*),
            16 => $f::<M, 16>($($arg),*),
            _ => $dyn($($arg),*),
        }
    };
}

/// The exact score ℓ = ∇_θ ln p(y | θ) (eq. 28) into `out` (length d), by
/// forward-mode AD; returns ln p(y | θ).
pub fn score<M: LogDensity + ?Sized>(m: &M, theta: &[f64], y: &[f64], out: &mut [f64]) -> f64 {
    let d = theta.len();
    dispatch_static!(d, score_static, score_dynamic, (m, theta, y, out))
}

fn score_static<M: LogDensity + ?Sized, const N: usize>(
    m: &M,
    theta: &[f64],
    y: &[f64],
    out: &mut [f64],
) -> f64 {
    let mut t = [DualSVec64::<N>::from_re(0.0); N];
    for (i, ti) in t.iter_mut().enumerate() {
        *ti = DualSVec64::<N>::from_re(theta[i]).derivative(i);
    }
    let f = m.ln_density(&t, y);
    match f.eps.0 {
        Some(g) => out[..N].copy_from_slice(g.as_slice()),
        None => out[..N].fill(0.0),
    }
    f.re
}

fn score_dynamic<M: LogDensity + ?Sized>(m: &M, theta: &[f64], y: &[f64], out: &mut [f64]) -> f64 {
    let mut t: Vec<Dual64> = theta.iter().map(|&v| Dual64::from_re(v)).collect();
    let mut value = f64::NAN;
    for i in 0..theta.len() {
        t[i].eps = 1.0;
        let f = m.ln_density(&t, y);
        out[i] = f.eps;
        value = f.re;
        t[i].eps = 0.0;
    }
    value
}

/// The exact Hessian ∇²_θ ln p(y | θ) into `out` (d × d, row-major; it is
/// symmetric), by forward-mode AD; returns ln p(y | θ).
pub fn hessian<M: LogDensity + ?Sized>(m: &M, theta: &[f64], y: &[f64], out: &mut [f64]) -> f64 {
    let d = theta.len();
    dispatch_static!(d, hessian_static, hessian_dynamic, (m, theta, y, out))
}

fn hessian_static<M: LogDensity + ?Sized, const N: usize>(
    m: &M,
    theta: &[f64],
    y: &[f64],
    out: &mut [f64],
) -> f64 {
    let mut t = [Dual2SVec64::<N>::from_re(0.0); N];
    for (i, ti) in t.iter_mut().enumerate() {
        *ti = Dual2SVec64::<N>::from_re(theta[i]).derivative(i);
    }
    let f = m.ln_density(&t, y);
    match f.v2.0 {
        // Symmetric: row-major and column-major are the same.
        Some(h) => out[..N * N].copy_from_slice(h.as_slice()),
        None => out[..N * N].fill(0.0),
    }
    f.re
}

fn hessian_dynamic<M: LogDensity + ?Sized>(
    m: &M,
    theta: &[f64],
    y: &[f64],
    out: &mut [f64],
) -> f64 {
    let d = theta.len();
    let mut t: Vec<HyperDual64> = theta.iter().map(|&v| HyperDual64::from_re(v)).collect();
    let mut value = f64::NAN;
    for i in 0..d {
        for j in 0..=i {
            t[i].eps1 = 1.0;
            t[j].eps2 = 1.0;
            let f = m.ln_density(&t, y);
            out[i * d + j] = f.eps1eps2;
            out[j * d + i] = f.eps1eps2;
            value = f.re;
            t[i].eps1 = 0.0;
            t[j].eps2 = 0.0;
        }
    }
    value
}

/// First and second derivatives of a metric g(θ) (d × d), exact up to the
/// rounding of the formula: `dg[k]` = ∂g/∂θᵏ, `ddg[k][l]` = ∂²g/∂θᵏ∂θˡ.
/// The curvature of the Fisher metric uses them in place of central
/// differences ([`crate::geometry::curvature`]).
#[derive(Debug, Clone)]
pub struct MetricDerivatives {
    /// ∂_k g, one d × d matrix per coordinate k.
    pub dg: Vec<nalgebra::DMatrix<f64>>,
    /// ∂_k∂_l g, a d × d table (row k, column l) of d × d matrices.
    pub ddg: Vec<Vec<nalgebra::DMatrix<f64>>>,
}

/// The exact derivatives of a metric written generically over the number
/// type: `g(θ)` returns the d × d entries row-major. d(d+1)/2 passes of a
/// hyper-dual number, one per pair k ≥ l (ε₁ along eₖ, ε₂ along eₗ), give
/// g, ∂_k g, ∂_l g and ∂_k∂_l g exactly (to the rounding of the formula as
/// written). Entries that overflow come out infinite or NaN; the caller
/// checks them.
pub fn metric_derivatives(
    theta: &[f64],
    g: impl Fn(&[HyperDual64]) -> Vec<HyperDual64>,
) -> MetricDerivatives {
    let d = theta.len();
    let zero = nalgebra::DMatrix::zeros(d, d);
    let mut dg = vec![zero.clone(); d];
    let mut ddg = vec![vec![zero; d]; d];
    let mut t: Vec<HyperDual64> = theta.iter().map(|&v| HyperDual64::from_re(v)).collect();
    for k in 0..d {
        for l in 0..=k {
            t[k].eps1 = 1.0;
            t[l].eps2 = 1.0;
            let v = g(&t);
            for i in 0..d {
                for j in 0..d {
                    let e = v[i * d + j];
                    ddg[k][l][(i, j)] = e.eps1eps2;
                    ddg[l][k][(i, j)] = e.eps1eps2;
                    if l == 0 {
                        dg[k][(i, j)] = e.eps1;
                    }
                }
            }
            t[k].eps1 = 0.0;
            t[l].eps2 = 0.0;
        }
    }
    MetricDerivatives { dg, ddg }
}

/// Inside an `impl Model for T` block of a type that implements
/// [`LogDensity`]: exact derivatives by AD.
///
/// - `ad_derivatives!()` — [`Model::score`](crate::Model::score),
///   [`Model::hessian`](crate::Model::hessian) and their `has_exact_*` flags;
/// - `ad_derivatives!(hessian)` — the Hessian only (the model keeps a faster
///   hand-written score, tested against [`score`]).
#[macro_export]
macro_rules! ad_derivatives {
    () => {
        fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
            $crate::ad::score(self, theta, y, out);
        }
        fn has_exact_score(&self) -> bool {
            true
        }
        $crate::ad_derivatives!(hessian);
    };
    (hessian) => {
        fn hessian(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
            $crate::ad::hessian(self, theta, y, out);
        }
        fn has_exact_hessian(&self) -> bool {
            true
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f(θ; y) = θ₀² θ₁ y + sin-free terms: ln-density stand-in with known derivatives.
    struct Poly;
    impl LogDensity for Poly {
        fn ln_density<D: Real>(&self, t: &[D], y: &[f64]) -> D {
            // Σᵢ θᵢ² y + θ₀ θ_{d−1} + ln θ₀
            let mut s = D::from(0.0);
            for &ti in t {
                s += ti * ti * y[0];
            }
            s + t[0] * t[t.len() - 1] + t[0].ln()
        }
    }

    fn check(d: usize) {
        let theta: Vec<f64> = (0..d).map(|i| 0.5 + i as f64).collect();
        let y = [1.5];
        let mut g = vec![0.0; d];
        let mut h = vec![0.0; d * d];
        let v = score(&Poly, &theta, &y, &mut g);
        let v2 = hessian(&Poly, &theta, &y, &mut h);
        let want = theta.iter().map(|t| t * t * 1.5).sum::<f64>()
            + theta[0] * theta[d - 1]
            + theta[0].ln();
        assert!((v - want).abs() < 1e-12 && (v2 - want).abs() < 1e-12);
        for i in 0..d {
            let mut gi = 2.0 * theta[i] * 1.5;
            if i == 0 {
                gi += theta[d - 1] + 1.0 / theta[0];
            }
            if i == d - 1 {
                gi += theta[0];
            }
            assert!(
                (g[i] - gi).abs() < 1e-12,
                "d = {d}: g[{i}] = {} vs {gi}",
                g[i]
            );
            for j in 0..d {
                let mut hij = if i == j { 3.0 } else { 0.0 };
                if i == 0 && j == 0 {
                    hij -= 1.0 / (theta[0] * theta[0]);
                }
                if d > 1 && ((i == 0 && j == d - 1) || (j == 0 && i == d - 1)) {
                    hij += 1.0;
                }
                if d == 1 {
                    hij += 2.0;
                }
                assert!(
                    (h[i * d + j] - hij).abs() < 1e-12,
                    "d = {d}: H[{i},{j}] = {}",
                    h[i * d + j]
                );
            }
        }
    }

    #[test]
    fn static_and_dynamic_paths_give_exact_derivatives() {
        // Oracle: the analytic gradient and Hessian of the polynomial above,
        // on both sides of MAX_STATIC_DIM.
        for d in [1, 2, 5, MAX_STATIC_DIM, MAX_STATIC_DIM + 1, 20] {
            check(d);
        }
    }

    #[test]
    fn univariate_is_exact_to_second_order() {
        // f = exp: every derivative is e^{x0}; compare with num-dual's own exp.
        let x = Dual2SVec64::<1>::from_re(0.7).derivative(0);
        let a = univariate(x, |_, x0| x0.exp());
        let b = x.exp();
        assert!((a.re - b.re).abs() < 1e-15);
        let (av1, bv1) = (a.v1.0.unwrap()[0], b.v1.0.unwrap()[0]);
        let (av2, bv2) = (a.v2.0.unwrap()[0], b.v2.0.unwrap()[0]);
        assert!((av1 - bv1).abs() < 1e-15 && (av2 - bv2).abs() < 1e-15);
        let h = HyperDual64::new(0.7, 1.0, 1.0, 0.0);
        let a = univariate(h, |_, x0| x0.exp());
        assert!((a.eps1eps2 - 0.7f64.exp()).abs() < 1e-15);
        assert_eq!(univariate(0.7f64, |_, x0| x0.exp()), 0.7f64.exp());
    }
}

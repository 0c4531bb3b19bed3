//! Numerical derivatives by central finite differences: the one place in the
//! toolkit where gradients, Jacobians and Hessians are approximated.
//!
//! Built-in models have exact derivatives (automatic differentiation,
//! [`crate::ad`]); finite differences remain for plugins and models that give
//! no derivative, and for quantities that are not log-densities (the Hessian of
//! a closed-form KL, a forward map).
//!
//! # Steps
//! A step is set per coordinate from its **scale** s (the distance over which
//! the function changes appreciably): h = ε^{1/3}·s for first derivatives
//! (error O(h²) ≈ ε^{2/3} ≈ 4e-11 relative) and h = ε^{1/4}·s for second
//! derivatives (error ≈ ε^{1/2} ≈ 1e-8). The `*_scaled` functions take the
//! scales; the best scale of a model parameter is its Fisher unit 1/√Iᵢᵢ
//! (`fisher::step_scales`). Without any information the plain functions use
//! s = max(1, |x|), which is right for parameters of order one or larger and
//! wrong for small ones (a normal σ = 10⁻⁵ would be stepped by 6·10⁻⁶): call
//! them only where nothing better is known.
//!
//! A scale far below |x| (a Fisher unit of 10⁻¹² at θ = 1) leaves few
//! representable values across it, and a model forming y − G(θ) rounds at
//! ε|θ|: the steps then widen to balance that [`resolution`] η = ε·|x|/s
//! against truncation, h = η^{1/3}·s and η^{1/4}·s, with errors of about η^{2/3}
//! and η^{1/2} in units of s (η = ε when |x| ≤ s).
//!
//! Every step is made **representable**: h ← (x + h) − x, the step the
//! arithmetic actually takes. At x = 10¹⁰ a step of 10⁻⁴ is rounded to a
//! multiple of 2⁻¹⁹ ≈ 1.9·10⁻⁶, a 1 % change that would otherwise be divided
//! into the difference quotient unseen. A step that rounds to zero is doubled
//! until it does not.

use nalgebra::{DMatrix, DVector};

/// The default scale of a coordinate with value `x` when nothing else is known:
/// max(1, |x|).
pub fn default_scale(x: f64) -> f64 {
    x.abs().max(1.0)
}

/// Step for first derivatives at coordinate value `x` (default scale).
pub fn step1(x: f64) -> f64 {
    f64::EPSILON.cbrt() * default_scale(x)
}

/// Step for second derivatives at coordinate value `x` (default scale).
pub fn step2(x: f64) -> f64 {
    f64::EPSILON.powf(0.25) * default_scale(x)
}

/// The representable step nearest to `h` at `x`: (x + h) − x, taken only when
/// x + h and x − h are then both exact (at a power of two the spacing below x
/// is half the spacing above, so a step of one ulp above is half an ulp below
/// and x − h would round back to x: a central difference with one side missing
/// halves a second derivative); doubled until both sides are exact.
pub fn representable(x: f64, h: f64) -> f64 {
    let mut h = h;
    for _ in 0..1100 {
        let r = (x + h) - x;
        if r != 0.0 && r.is_finite() && x - (x - r) == r {
            return r;
        }
        h *= 2.0;
    }
    h
}

/// The resolution η of a coordinate `x` in its scale `s`: ε·max(1, |x|/s), the
/// relative rounding a function of x carries when it varies over s (a model
/// that forms y − G(θ) with |G| ~ |θ| rounds it to ε|θ|, which is η in units of
/// s). Steps balance the truncation error against η: h = η^{1/3}·s for first
/// derivatives (error about η^{2/3}) and η^{1/4}·s for second (about η^{1/2});
/// with |x| ≤ s these are the plain ε^{1/3}·s and ε^{1/4}·s.
pub fn resolution(x: f64, s: f64) -> f64 {
    let r = f64::EPSILON * (x.abs() / s).max(1.0);
    if r.is_finite() { r } else { f64::INFINITY }
}

/// The scale `s` if it is positive and finite, else [`default_scale`]`(x)`.
fn usable_scale(x: f64, s: f64) -> f64 {
    if s > 0.0 && s.is_finite() {
        s
    } else {
        default_scale(x)
    }
}

/// First-derivative step at scale `s` (falls back to [`default_scale`] when `s`
/// is not positive and finite): [`resolution`]^{1/3}·s, made representable at `x`.
fn h1(x: f64, s: f64) -> f64 {
    let s = usable_scale(x, s);
    representable(x, resolution(x, s).cbrt().min(1.0) * s)
}

/// Second-derivative step at scale `s`: [`resolution`]^{1/4}·s, made
/// representable at `x`.
fn h2(x: f64, s: f64) -> f64 {
    let s = usable_scale(x, s);
    representable(x, resolution(x, s).powf(0.25).min(1.0) * s)
}

/// Central-difference gradient with per-coordinate scales, written into `out`;
/// `xp` is a workspace of length `x.len()` (no allocation).
pub fn gradient_work<F: FnMut(&[f64]) -> f64>(
    mut f: F,
    x: &[f64],
    scales: &[f64],
    xp: &mut [f64],
    out: &mut [f64],
) {
    xp.copy_from_slice(x);
    for i in 0..x.len() {
        let h = h1(x[i], scales[i]);
        xp[i] = x[i] + h;
        let fp = f(xp);
        xp[i] = x[i] - h;
        let fm = f(xp);
        xp[i] = x[i];
        out[i] = (fp - fm) / (2.0 * h);
    }
}

/// Central-difference gradient of a scalar function with per-coordinate scales.
pub fn gradient_scaled_into<F: Fn(&[f64]) -> f64>(
    f: F,
    x: &[f64],
    scales: &[f64],
    out: &mut [f64],
) {
    let mut xp = x.to_vec();
    gradient_work(f, x, scales, &mut xp, out);
}

/// Central-difference gradient of a scalar function at the default scales,
/// written into `out`.
pub fn gradient_into<F: Fn(&[f64]) -> f64>(f: F, x: &[f64], out: &mut [f64]) {
    let scales: Vec<f64> = x.iter().map(|v| default_scale(*v)).collect();
    gradient_scaled_into(f, x, &scales, out);
}

/// Central-difference gradient of a scalar function at the default scales.
pub fn gradient<F: Fn(&[f64]) -> f64>(f: F, x: &[f64]) -> DVector<f64> {
    let mut g = DVector::zeros(x.len());
    gradient_into(f, x, g.as_mut_slice());
    g
}

/// Central-difference Jacobian of `f(x, out)` (m outputs) with per-coordinate
/// scales into `out` (m × d, row-major); `xp` (length d), `fp`, `fm` (length m)
/// are workspaces (no allocation).
pub fn jacobian_work<F: FnMut(&[f64], &mut [f64])>(
    mut f: F,
    x: &[f64],
    scales: &[f64],
    xp: &mut [f64],
    fp: &mut [f64],
    fm: &mut [f64],
    out: &mut [f64],
) {
    let d = x.len();
    let m = fp.len();
    xp.copy_from_slice(x);
    for j in 0..d {
        let h = h1(x[j], scales[j]);
        xp[j] = x[j] + h;
        f(xp, fp);
        xp[j] = x[j] - h;
        f(xp, fm);
        xp[j] = x[j];
        for r in 0..m {
            out[r * d + j] = (fp[r] - fm[r]) / (2.0 * h);
        }
    }
}

/// Central-difference Jacobian of a vector function with per-coordinate
/// scales (rows: outputs, columns: inputs).
pub fn jacobian_scaled<F: Fn(&[f64]) -> DVector<f64>>(
    f: F,
    x: &[f64],
    scales: &[f64],
) -> DMatrix<f64> {
    let m = f(x).len();
    let mut jac = DMatrix::zeros(m, x.len());
    let mut xp = x.to_vec();
    for j in 0..x.len() {
        let h = h1(x[j], scales[j]);
        xp[j] = x[j] + h;
        let fp = f(&xp);
        xp[j] = x[j] - h;
        let fm = f(&xp);
        xp[j] = x[j];
        jac.set_column(j, &((fp - fm) / (2.0 * h)));
    }
    jac
}

/// Central-difference Jacobian of a vector function at the default scales
/// (rows: outputs, columns: inputs).
pub fn jacobian<F: Fn(&[f64]) -> DVector<f64>>(f: F, x: &[f64]) -> DMatrix<f64> {
    let scales: Vec<f64> = x.iter().map(|v| default_scale(*v)).collect();
    jacobian_scaled(f, x, &scales)
}

/// Central-difference Hessian with per-coordinate scales into `out` (d × d,
/// row-major, symmetric); `xp` is a workspace of length d (no allocation).
///
/// Diagonal entries use the three-point second difference, off-diagonal entries
/// the four-point mixed difference.
pub fn hessian_work<F: FnMut(&[f64]) -> f64>(
    f: F,
    x: &[f64],
    scales: &[f64],
    xp: &mut [f64],
    out: &mut [f64],
) {
    second_differences(f, x, |i| h2(x[i], scales[i]), xp, out);
}

/// The central second differences of [`hessian_work`] at the representable
/// steps `step(i)` of each coordinate.
fn second_differences<F: FnMut(&[f64]) -> f64>(
    mut f: F,
    x: &[f64],
    step: impl Fn(usize) -> f64,
    xp: &mut [f64],
    out: &mut [f64],
) {
    let d = x.len();
    xp.copy_from_slice(x);
    let f0 = f(xp);
    for i in 0..d {
        let hi = step(i);
        xp[i] = x[i] + hi;
        let fp = f(xp);
        xp[i] = x[i] - hi;
        let fm = f(xp);
        xp[i] = x[i];
        out[i * d + i] = (fp - 2.0 * f0 + fm) / (hi * hi);
        for j in 0..i {
            let hj = step(j);
            let mut eval = |si: f64, sj: f64| {
                xp[i] = x[i] + si * hi;
                xp[j] = x[j] + sj * hj;
                let v = f(xp);
                xp[i] = x[i];
                xp[j] = x[j];
                v
            };
            let v = (eval(1.0, 1.0) - eval(1.0, -1.0) - eval(-1.0, 1.0) + eval(-1.0, -1.0))
                / (4.0 * hi * hj);
            out[i * d + j] = v;
            out[j * d + i] = v;
        }
    }
}

/// Central-difference Hessian of a scalar function with per-coordinate scales.
pub fn hessian_scaled<F: Fn(&[f64]) -> f64>(f: F, x: &[f64], scales: &[f64]) -> DMatrix<f64> {
    let d = x.len();
    let mut out = vec![0.0; d * d];
    let mut xp = x.to_vec();
    hessian_work(f, x, scales, &mut xp, &mut out);
    DMatrix::from_row_slice(d, d, &out)
}

/// Levels of [`hessian_adaptive`]: steps ε^{1/4}·s·4^{−k}, k = 0…7.
pub const ADAPTIVE_LEVELS: usize = 8;

/// Central-difference Hessian with the step chosen per entry: the Hessian is
/// taken at steps ε^{1/4}·sᵢ·4^{−k} for k = 0 … [`ADAPTIVE_LEVELS`] − 1, and
/// each entry keeps the value at the finer step of the consecutive pair that
/// agree best (the truncation error falls as 16^{−k}, the rounding error grows
/// as 16^{k}; their crossover is where consecutive values agree best).
///
/// For a function that is accurate near its minimum (a closed-form KL written
/// without cancellation, [`crate::special`]) this goes far below the nominal
/// step and removes the truncation error of a scale that was too coarse (the
/// Fisher unit of a natural parameter whose probabilities are 10⁻⁶ is 10³
/// times its natural scale); for a noisy function it stays at the coarse
/// steps.
pub fn hessian_adaptive<F: Fn(&[f64]) -> f64>(f: F, x: &[f64], scales: &[f64]) -> DMatrix<f64> {
    hessian_adaptive_spread(f, x, scales).0
}

/// [`hessian_adaptive`] and, per entry, the disagreement |Hₖ − Hₖ₊₁| of the
/// consecutive pair of levels it chose: an estimate of the entry's difference
/// error (rounding or truncation), large where no step resolves the entry (a
/// point a few ulp from the edge of the chart, where every level rounds to
/// the same few representable steps). Pairs whose representable steps did not
/// shrink at least twofold are skipped; an entry with no such pair keeps the
/// coarsest level and an infinite spread (it cannot be resolved).
pub fn hessian_adaptive_spread<F: Fn(&[f64]) -> f64>(
    f: F,
    x: &[f64],
    scales: &[f64],
) -> (DMatrix<f64>, DMatrix<f64>) {
    let d = x.len();
    // The scale of each coordinate at level k (a quarter of the last's).
    let level_scales = |k: usize| -> Vec<f64> {
        scales
            .iter()
            .zip(x)
            .map(|(&s, &xi)| usable_scale(xi, s) * 0.25f64.powi(k as i32))
            .collect()
    };
    // The representable step of each level and coordinate, ε^{1/4}·s·4^{−k}
    // (not widened by the [`resolution`] of x: the levels themselves find
    // where rounding takes over, and widening them would break the 16^{∓k}
    // laws the choice relies on; a closed-form Cauchy KL at γ = 2 was off by
    // 2·10⁻⁴). A pair of levels whose steps did not shrink (both rounded to
    // the same few ulp of x) is no independent second estimate, and its
    // agreement proves nothing.
    let steps: Vec<Vec<f64>> = (0..ADAPTIVE_LEVELS)
        .map(|k| {
            level_scales(k)
                .iter()
                .zip(x)
                .map(|(&s, &xi)| representable(xi, f64::EPSILON.powf(0.25) * s))
                .collect()
        })
        .collect();
    let levels: Vec<DMatrix<f64>> = steps
        .iter()
        .map(|h| {
            let mut out = vec![0.0; d * d];
            let mut xp = x.to_vec();
            second_differences(&f, x, |i| h[i], &mut xp, &mut out);
            DMatrix::from_row_slice(d, d, &out)
        })
        .collect();
    let shrinks =
        |k: usize, i: usize| steps[k + 1][i] > 0.0 && steps[k][i] >= 2.0 * steps[k + 1][i];
    let best = |i: usize, j: usize| {
        let mut best = (f64::INFINITY, levels[0][(i, j)]);
        for k in 0..ADAPTIVE_LEVELS - 1 {
            if !(shrinks(k, i) && shrinks(k, j)) {
                continue;
            }
            let (a, b) = (levels[k][(i, j)], levels[k + 1][(i, j)]);
            let diff = (a - b).abs();
            if diff.is_finite() && diff < best.0 {
                best = (diff, b);
            }
        }
        best
    };
    (
        DMatrix::from_fn(d, d, |i, j| best(i, j).1),
        DMatrix::from_fn(d, d, |i, j| best(i, j).0),
    )
}

/// Central-difference Hessian of a scalar function at the default scales,
/// symmetrised.
pub fn hessian<F: Fn(&[f64]) -> f64>(f: F, x: &[f64]) -> DMatrix<f64> {
    let scales: Vec<f64> = x.iter().map(|v| default_scale(*v)).collect();
    hessian_scaled(f, x, &scales)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    // Oracle: f(x, y) = sin(x)·e^{y} + x²y has analytic derivatives.
    fn f(v: &[f64]) -> f64 {
        v[0].sin() * v[1].exp() + v[0] * v[0] * v[1]
    }

    #[test]
    fn gradient_matches_analytic() {
        let x = [0.7, -0.3];
        let g = gradient(f, &x);
        assert_relative_eq!(
            g[0],
            x[0].cos() * x[1].exp() + 2.0 * x[0] * x[1],
            epsilon = 1e-9
        );
        assert_relative_eq!(g[1], x[0].sin() * x[1].exp() + x[0] * x[0], epsilon = 1e-9);
    }

    #[test]
    fn hessian_matches_analytic() {
        let x = [0.7, -0.3];
        let h = hessian(f, &x);
        let e = x[1].exp();
        assert_relative_eq!(h[(0, 0)], -x[0].sin() * e + 2.0 * x[1], epsilon = 1e-6);
        assert_relative_eq!(h[(1, 1)], x[0].sin() * e, epsilon = 1e-6);
        assert_relative_eq!(h[(0, 1)], x[0].cos() * e + 2.0 * x[0], epsilon = 1e-6);
        assert_eq!(h[(0, 1)], h[(1, 0)]);
    }

    #[test]
    fn jacobian_matches_analytic() {
        let x = [0.4, 1.1];
        let j = jacobian(|t| DVector::from_vec(vec![t[0] * t[1], t[1].ln()]), &x);
        assert_relative_eq!(j[(0, 0)], x[1], epsilon = 1e-9);
        assert_relative_eq!(j[(0, 1)], x[0], epsilon = 1e-9);
        assert_relative_eq!(j[(1, 0)], 0.0, epsilon = 1e-12);
        assert_relative_eq!(j[(1, 1)], 1.0 / x[1], epsilon = 1e-9);
    }

    #[test]
    fn scaled_steps_follow_the_scale() {
        // Oracle: f(μ, σ) = −(y − μ)²/(2σ²) − ln σ (a normal log-density) at
        // σ = 1e-5 has ∂²_σ f = (1 − 3z²)/σ²; with the default scale (step
        // 1.2e-4 > σ) the second difference is useless, with scale σ it is right.
        let (y, mu, s) = (3e-6, 0.0, 1e-5);
        let f = |t: &[f64]| -(y - t[0]).powi(2) / (2.0 * t[1] * t[1]) - t[1].ln();
        let z: f64 = (y - mu) / s;
        let want = (1.0 - 3.0 * z * z) / (s * s);
        let plain = hessian(f, &[mu, s]);
        // (NaN here: σ − h < 0.)
        let plain_ok = (plain[(1, 1)] / want - 1.0).abs() < 0.1;
        assert!(!plain_ok, "{}", plain[(1, 1)]);
        let scaled = hessian_scaled(f, &[mu, s], &[s, s]);
        assert!(
            (scaled[(1, 1)] / want - 1.0).abs() < 1e-6,
            "{} vs {want}",
            scaled[(1, 1)]
        );
        let mut g = [0.0; 2];
        gradient_scaled_into(f, &[mu, s], &[s, s], &mut g);
        let gs = (z * z - 1.0) / s;
        assert!((g[1] / gs - 1.0).abs() < 1e-9, "{} vs {gs}", g[1]);
    }

    #[test]
    fn steps_are_representable() {
        // Oracle: f(x) = x has derivative exactly 1. At x = 1e10 the nominal
        // step 6e-6 is rounded to a multiple of 2^-19; dividing by the nominal
        // step would give a derivative off by up to 15 %, dividing by the
        // representable one gives 1 exactly.
        let x = 1e10;
        let h = representable(x, 6.055e-6);
        assert_eq!((x + h) - x, h);
        assert_eq!((x - h) + h, x);
        let mut g = [0.0];
        gradient_scaled_into(|t| t[0], &[x], &[1e-6 / f64::EPSILON.cbrt()], &mut g);
        assert_eq!(g[0], 1.0);
        // A step below the spacing of x is enlarged, not lost.
        assert!(representable(1e20, 1e-3) >= 16384.0);
        let j = jacobian_scaled(|t| DVector::from_vec(vec![t[0]]), &[x], &[1.0]);
        assert_eq!(j[(0, 0)], 1.0);
    }

    #[test]
    fn adaptive_hessian_finds_the_natural_scale() {
        // Oracle: f(x) = e^{x/c} − 1 − x/c with c = 10⁻³ has f''(0) = 1/c² = 10⁶;
        // a declared scale of 1 (10³ natural scales) leaves the fixed step
        // 1.2e-4 off by 1.2e-3, the adaptive one is right to 1e-7.
        let c = 1e-3;
        let f = |t: &[f64]| (t[0] / c).exp_m1() - t[0] / c;
        let fixed = hessian_scaled(f, &[0.0], &[1.0])[(0, 0)];
        assert!((fixed * c * c - 1.0).abs() > 1e-3, "{fixed}");
        let adaptive = hessian_adaptive(f, &[0.0], &[1.0])[(0, 0)];
        assert!((adaptive * c * c - 1.0).abs() < 1e-7, "{adaptive}");
        // A function with rounding noise of relative size 1e-12 keeps a
        // coarse step: f = x² (1 + noise).
        let g = |t: &[f64]| {
            let noise = 1e-12 * ((t[0] * 1e9).sin());
            (t[0] * t[0] + 1.0) * (1.0 + noise)
        };
        let h = hessian_adaptive(g, &[0.3], &[1.0])[(0, 0)];
        assert!((h - 2.0).abs() < 1e-4, "{h}");
    }

    #[test]
    fn steps_are_exact_on_both_sides_and_widen_with_the_resolution() {
        // At a power of two the spacing below x is half that above: a one-ulp
        // step above −0.5 is half an ulp below, and a one-sided difference
        // halved the second derivative (tryout 8, G18). Oracle: x² has
        // second derivative 2 exactly, and its second difference at any step
        // exact on both sides is 2 up to rounding.
        for x in [-0.5, 0.5, 1.0, -1.0, 2.0f64.powi(-40), -(2.0f64.powi(70))] {
            for s in [1e-30, 1e-17, 1e-12] {
                let h = h2(x, s * x.abs());
                assert!(x + h - x == h && x - (x - h) == h, "x = {x}, s = {s}");
                let d2 = hessian_scaled(|v| (v[0] - x) * (v[0] - x), &[x], &[s * x.abs()]);
                assert!((d2[(0, 0)] - 2.0).abs() < 1e-9, "x = {x}, s = {s}: {d2}");
            }
        }
        // The resolution: ε when |x| ≤ s, ε·|x|/s above; steps η^{1/3}·s.
        assert_eq!(resolution(0.5, 1.0), f64::EPSILON);
        assert_eq!(resolution(1e8, 1.0), f64::EPSILON * 1e8);
        let h = h1(1.0, 1e-12);
        let want = (f64::EPSILON * 1e12).cbrt() * 1e-12;
        assert!((h / want - 1.0).abs() < 0.01, "{h} vs {want}");
    }
}

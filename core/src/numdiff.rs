//! Numerical derivatives by central finite differences: the one place in the
//! toolkit where gradients, Jacobians and Hessians are approximated.
//!
//! Step sizes follow the usual rule for central differences: h = ε^{1/3}·max(1, |x|)
//! for first derivatives (error O(h²) ≈ ε^{2/3} ≈ 4e-11 relative) and
//! h = ε^{1/4}·max(1, |x|) for second derivatives (error ≈ ε^{1/2} ≈ 1e-8).

use nalgebra::{DMatrix, DVector};

/// Step for first derivatives at coordinate value `x`.
pub fn step1(x: f64) -> f64 {
    f64::EPSILON.cbrt() * x.abs().max(1.0)
}

/// Step for second derivatives at coordinate value `x`.
pub fn step2(x: f64) -> f64 {
    f64::EPSILON.powf(0.25) * x.abs().max(1.0)
}

/// Central-difference gradient of a scalar function, written into `out`.
pub fn gradient_into<F: Fn(&[f64]) -> f64>(f: F, x: &[f64], out: &mut [f64]) {
    let mut xp = x.to_vec();
    for i in 0..x.len() {
        let h = step1(x[i]);
        xp[i] = x[i] + h;
        let fp = f(&xp);
        xp[i] = x[i] - h;
        let fm = f(&xp);
        xp[i] = x[i];
        out[i] = (fp - fm) / (2.0 * h);
    }
}

/// Central-difference gradient of a scalar function.
pub fn gradient<F: Fn(&[f64]) -> f64>(f: F, x: &[f64]) -> DVector<f64> {
    let mut g = DVector::zeros(x.len());
    gradient_into(f, x, g.as_mut_slice());
    g
}

/// Central-difference Jacobian of a vector function (rows: outputs, columns: inputs).
pub fn jacobian<F: Fn(&[f64]) -> DVector<f64>>(f: F, x: &[f64]) -> DMatrix<f64> {
    let m = f(x).len();
    let mut jac = DMatrix::zeros(m, x.len());
    let mut xp = x.to_vec();
    for j in 0..x.len() {
        let h = step1(x[j]);
        xp[j] = x[j] + h;
        let fp = f(&xp);
        xp[j] = x[j] - h;
        let fm = f(&xp);
        xp[j] = x[j];
        jac.set_column(j, &((fp - fm) / (2.0 * h)));
    }
    jac
}

/// Central-difference Hessian of a scalar function, symmetrised.
///
/// Diagonal entries use the three-point second difference, off-diagonal entries
/// the four-point mixed difference.
pub fn hessian<F: Fn(&[f64]) -> f64>(f: F, x: &[f64]) -> DMatrix<f64> {
    let d = x.len();
    let mut h = DMatrix::zeros(d, d);
    let mut xp = x.to_vec();
    let f0 = f(x);
    for i in 0..d {
        let hi = step2(x[i]);
        xp[i] = x[i] + hi;
        let fp = f(&xp);
        xp[i] = x[i] - hi;
        let fm = f(&xp);
        xp[i] = x[i];
        h[(i, i)] = (fp - 2.0 * f0 + fm) / (hi * hi);
        for j in 0..i {
            let hj = step2(x[j]);
            let mut eval = |si: f64, sj: f64| {
                xp[i] = x[i] + si * hi;
                xp[j] = x[j] + sj * hj;
                let v = f(&xp);
                xp[i] = x[i];
                xp[j] = x[j];
                v
            };
            let v = (eval(1.0, 1.0) - eval(1.0, -1.0) - eval(-1.0, 1.0) + eval(-1.0, -1.0))
                / (4.0 * hi * hj);
            h[(i, j)] = v;
            h[(j, i)] = v;
        }
    }
    h
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
}

//! Gaussian quadrature rules: Gauss–Hermite for expectations under a normal
//! law (the heat kernel of eqs. 21–22) and Gauss–Legendre for cell averages.

use nalgebra::DMatrix;

/// The m-point probabilists' Gauss–Hermite rule: nodes xₖ and weights wₖ with
/// Σ wₖ f(xₖ) ≈ E[f(ξ)], ξ ~ N(0, 1), exact for polynomials of degree < 2m.
///
/// Computed by Golub–Welsch: the nodes are the eigenvalues of the Jacobi matrix
/// of the recurrence He_{k+1} = x He_k − k He_{k−1} (off-diagonal √k), the
/// weights the squared first components of its unit eigenvectors. Weights sum
/// to 1. Nodes are returned in increasing order.
pub fn gauss_hermite(m: usize) -> (Vec<f64>, Vec<f64>) {
    assert!(m >= 1, "a quadrature rule needs at least one node");
    let mut j = DMatrix::<f64>::zeros(m, m);
    for k in 1..m {
        let s = (k as f64).sqrt();
        j[(k - 1, k)] = s;
        j[(k, k - 1)] = s;
    }
    let eig = j.symmetric_eigen();
    let mut pairs: Vec<(f64, f64)> = (0..m)
        .map(|i| (eig.eigenvalues[i], eig.eigenvectors[(0, i)].powi(2)))
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    (
        pairs.iter().map(|p| p.0).collect(),
        pairs.iter().map(|p| p.1 / total).collect(),
    )
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
    fn legendre_rule_averages_quintics() {
        let (x, w) = GAUSS_LEGENDRE_3;
        // Average of y⁴ over [−½, ½] is 1/80.
        let avg: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(4)).sum();
        assert_relative_eq!(avg, 1.0 / 80.0, epsilon = 1e-15);
    }
}

/// Gauss–Kronrod 7–15 nodes on [−1, 1] (the non-negative half, QUADPACK `qk15`):
/// odd indices are the Gauss 7-point nodes.
const GK15_X: [f64; 8] = [
    0.991_455_371_120_812_6,
    0.949_107_912_342_758_5,
    0.864_864_423_359_769_1,
    0.741_531_185_599_394_4,
    0.586_087_235_467_691_1,
    0.405_845_151_377_397_2,
    0.207_784_955_007_898_5,
    0.0,
];
/// Kronrod weights for [`GK15_X`].
const GK15_W: [f64; 8] = [
    0.022_935_322_010_529_22,
    0.063_092_092_629_978_55,
    0.104_790_010_322_250_18,
    0.140_653_259_715_525_92,
    0.169_004_726_639_267_9,
    0.190_350_578_064_785_4,
    0.204_432_940_075_298_9,
    0.209_482_141_084_727_83,
];
/// Gauss 7-point weights for the nodes GK15_X[1], [3], [5], [7].
const G7_W: [f64; 4] = [
    0.129_484_966_168_869_7,
    0.279_705_391_489_276_7,
    0.381_830_050_505_118_9,
    0.417_959_183_673_469_4,
];

/// One Gauss–Kronrod 7–15 panel on [a, b]: (Kronrod value, |Kronrod − Gauss|).
fn gk15<F: Fn(f64) -> f64>(f: &F, a: f64, b: f64) -> (f64, f64) {
    let (c, h) = (0.5 * (a + b), 0.5 * (b - a));
    let fc = f(c);
    let (mut k, mut g) = (GK15_W[7] * fc, G7_W[3] * fc);
    for i in 0..7 {
        let s = f(c - h * GK15_X[i]) + f(c + h * GK15_X[i]);
        k += GK15_W[i] * s;
        if i % 2 == 1 {
            g += G7_W[i / 2] * s;
        }
    }
    (k * h, ((k - g) * h).abs())
}

/// ∫ₐᵇ f by globally adaptive Gauss–Kronrod 7–15 quadrature (Piessens et al.,
/// *QUADPACK*, 1983, `qag`): the panel with the largest error estimate
/// |K₁₅ − G₇| is bisected until the summed estimate is at most
/// max(`abs_tol`, `rel_tol`·|∫|), or fails after `max_panels` panels or on a
/// non-finite value of f. Returns (integral, error estimate). Handles
/// integrable endpoint singularities (1/√x) by repeated bisection.
pub fn integrate_adaptive<F: Fn(f64) -> f64>(
    f: F,
    a: f64,
    b: f64,
    rel_tol: f64,
    abs_tol: f64,
    max_panels: usize,
) -> crate::error::Result<(f64, f64)> {
    let mut panels = vec![(a, b, gk15(&f, a, b))];
    loop {
        let total: f64 = panels.iter().map(|p| p.2.0).sum();
        let err: f64 = panels.iter().map(|p| p.2.1).sum();
        if !total.is_finite() || !err.is_finite() {
            return Err(crate::error::Error::Msg(format!(
                "quadrature on [{a}, {b}]: the integrand is not finite"
            )));
        }
        if err <= abs_tol.max(rel_tol * total.abs()) {
            return Ok((total, err));
        }
        if panels.len() >= max_panels {
            return Err(crate::error::Error::Msg(format!(
                "quadrature on [{a}, {b}] did not converge in {max_panels} panels (error estimate {err:.2e} for {total:.6e})"
            )));
        }
        let worst = panels
            .iter()
            .enumerate()
            .max_by(|x, y| x.1.2.1.total_cmp(&y.1.2.1))
            .map(|(i, _)| i)
            .unwrap_or(0);
        let (lo, hi, _) = panels.swap_remove(worst);
        let mid = 0.5 * (lo + hi);
        if mid <= lo.min(hi) || mid >= lo.max(hi) {
            return Err(crate::error::Error::Msg(format!(
                "quadrature on [{a}, {b}]: a panel shrank to rounding level at {lo}"
            )));
        }
        panels.push((lo, mid, gk15(&f, lo, mid)));
        panels.push((mid, hi, gk15(&f, mid, hi)));
    }
}

#[cfg(test)]
mod adaptive_tests {
    use super::*;

    #[test]
    fn gauss_kronrod_integrates_smooth_and_singular() {
        // Oracles: ∫₀¹ eˣ = e − 1; ∫₀¹ x^{−1/2} = 2 (endpoint singularity);
        // ∫₁^1000 dx/x = ln 1000; the Kronrod panel is exact for degree 22.
        let (v, _) = integrate_adaptive(f64::exp, 0.0, 1.0, 1e-14, 0.0, 100).unwrap();
        assert!((v - (1f64.exp() - 1.0)).abs() < 1e-15);
        let (v, _) = integrate_adaptive(|x| 1.0 / x.sqrt(), 0.0, 1.0, 1e-12, 0.0, 500).unwrap();
        assert!((v - 2.0).abs() < 1e-11, "{v}");
        let (v, _) = integrate_adaptive(|x| 1.0 / x, 1.0, 1000.0, 1e-13, 0.0, 500).unwrap();
        assert!((v - 1000f64.ln()).abs() < 1e-12 * 1000f64.ln(), "{v}");
        let (k, _) = gk15(&|x: f64| x.powi(22), -1.0, 1.0);
        assert!((k - 2.0 / 23.0).abs() < 1e-15);
        // Reversed limits change the sign; a non-integrable pole fails.
        let (v, _) = integrate_adaptive(f64::exp, 1.0, 0.0, 1e-14, 0.0, 100).unwrap();
        assert!((v + (1f64.exp() - 1.0)).abs() < 1e-15);
        assert!(integrate_adaptive(|x| 1.0 / x, 0.0, 1.0, 1e-10, 0.0, 200).is_err());
    }
}

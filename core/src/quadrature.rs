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

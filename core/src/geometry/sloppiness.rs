//! Sloppiness: the spectrum of the Fisher metric, the spacing of its
//! log-eigenvalues, and how much each original parameter takes part in each
//! stiff or sloppy eigendirection.
//!
//! Eigenvalues λ₁ ≥ … ≥ λ_d of I with unit eigenvectors u_k. The participation
//! of parameter i in direction k is P_ik = (u_k)ᵢ², so each column sums to 1;
//! the participation ratio 1/Σᵢ P_ik² counts how many parameters a direction
//! mixes (1: a single parameter, d: all equally). A spectrum is "sloppy" when
//! the log-eigenvalues spread evenly over many decades; the late posterior
//! N(θ*, I⁻¹/T) (eq. 35) resolves direction k once T·λ_k ≳ 1 (oracles.md §8).

use crate::linalg::Spectrum;
use nalgebra::DMatrix;
use serde::Serialize;

/// The sloppiness analysis of one Fisher matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Sloppiness {
    /// Parameter names, in the order of the matrix.
    pub params: Vec<String>,
    /// Eigenvalues, stiffest first.
    pub eigenvalues: Vec<f64>,
    /// log₁₀ of each eigenvalue (NaN for λ ≤ 0).
    pub log10_eigenvalues: Vec<f64>,
    /// log₁₀λ_k − log₁₀λ_{k+1}, k = 1…d−1.
    pub log10_spacings: Vec<f64>,
    /// log₁₀(λ_max/λ_min): the decades spanned (infinite if λ_min ≤ 0).
    pub decades: f64,
    /// Participation P\[i\]\[k\] = (u_k)ᵢ² of parameter i in eigendirection k.
    pub participation: Vec<Vec<f64>>,
    /// For each eigendirection, the participation ratio 1/Σᵢ P_ik².
    pub participation_ratio: Vec<f64>,
    /// For each eigendirection, the parameter that takes the largest part in it.
    pub dominant_param: Vec<String>,
}

/// Analyses the symmetric matrix `fisher` whose rows and columns are `params`.
pub fn analyse(fisher: &DMatrix<f64>, params: &[String]) -> Sloppiness {
    let s = Spectrum::of(fisher);
    let d = s.values.len();
    let eigenvalues: Vec<f64> = s.values.iter().copied().collect();
    let log10: Vec<f64> = eigenvalues
        .iter()
        .map(|&v| if v > 0.0 { v.log10() } else { f64::NAN })
        .collect();
    let spacings = log10.windows(2).map(|w| w[0] - w[1]).collect();
    let decades = match (eigenvalues.first(), eigenvalues.last()) {
        (Some(&hi), Some(&lo)) if lo > 0.0 => (hi / lo).log10(),
        (Some(_), Some(_)) => f64::INFINITY,
        _ => 0.0,
    };
    let participation: Vec<Vec<f64>> = (0..d)
        .map(|i| (0..d).map(|k| s.vectors[(i, k)].powi(2)).collect())
        .collect();
    let participation_ratio = (0..d)
        .map(|k| 1.0 / (0..d).map(|i| participation[i][k].powi(2)).sum::<f64>())
        .collect();
    let dominant_param = (0..d)
        .map(|k| {
            let i = (0..d)
                .max_by(|&a, &b| participation[a][k].total_cmp(&participation[b][k]))
                .unwrap_or(0);
            params
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("theta{i}"))
        })
        .collect();
    Sloppiness {
        params: params.to_vec(),
        eigenvalues,
        log10_eigenvalues: log10,
        log10_spacings: spacings,
        decades,
        participation,
        participation_ratio,
        dominant_param,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn names(d: usize) -> Vec<String> {
        (0..d).map(|i| format!("a{i}")).collect()
    }

    #[test]
    fn diagonal_matrix_has_pure_directions() {
        // Oracle: a diagonal matrix's eigenvalues are its diagonal, each direction
        // is one parameter (participation 1, ratio 1).
        let f = DMatrix::from_diagonal(&nalgebra::dvector![1e-3, 10.0, 0.5]);
        let s = analyse(&f, &names(3));
        assert_eq!(s.eigenvalues, vec![10.0, 0.5, 1e-3]);
        assert_eq!(s.dominant_param, vec!["a1", "a2", "a0"]);
        assert_relative_eq!(s.decades, 4.0, epsilon = 1e-12);
        assert_relative_eq!(s.log10_spacings[0], 20f64.log10(), epsilon = 1e-12);
        for r in &s.participation_ratio {
            assert_relative_eq!(*r, 1.0, epsilon = 1e-12);
        }
    }

    #[test]
    fn sum_of_exponentials_cauchy_matrix_is_sloppy() {
        // y(t) = Σ Aᵢe^{−kᵢt} observed over t ∈ [0, ∞) with unit white noise has
        // Fisher Iᵢⱼ = ∫e^{−(kᵢ+kⱼ)t}dt = 1/(kᵢ + kⱼ) in the amplitudes: a Cauchy
        // matrix. Oracle: its determinant Πᵢ<ⱼ(kⱼ−kᵢ)² / Πᵢⱼ(kᵢ+kⱼ) must equal the
        // product of the eigenvalues; the spectrum then spans > 6 decades.
        let k: Vec<f64> = (1..=6).map(|i| i as f64).collect();
        let d = k.len();
        let f = DMatrix::from_fn(d, d, |i, j| 1.0 / (k[i] + k[j]));
        let s = analyse(&f, &names(d));
        let mut ln_det = 0.0;
        for i in 0..d {
            for j in 0..d {
                ln_det -= (k[i] + k[j]).ln();
                if i < j {
                    ln_det += 2.0 * (k[j] - k[i]).ln();
                }
            }
        }
        let ln_prod: f64 = s.eigenvalues.iter().map(|v| v.ln()).sum();
        assert_relative_eq!(ln_prod, ln_det, max_relative = 1e-6);
        assert!(s.decades > 6.0, "{}", s.decades);
        for k in 0..d {
            let col: f64 = (0..d).map(|i| s.participation[i][k]).sum();
            assert_relative_eq!(col, 1.0, epsilon = 1e-12);
        }
    }
}

//! Small linear-algebra helpers on `nalgebra` matrices: symmetry, Cholesky with
//! a named error, and the symmetric spectrum (stiff and sloppy directions).

use crate::error::{Error, Result};
use nalgebra::{Cholesky, DMatrix, DVector, Dyn};

/// The largest |Aᵢⱼ − Aⱼᵢ| relative to the largest |Aᵢⱼ| (0 for a zero matrix).
pub fn asymmetry(a: &DMatrix<f64>) -> f64 {
    let scale = a.amax();
    if scale == 0.0 {
        return 0.0;
    }
    (a - a.transpose()).amax() / scale
}

/// The Cholesky factor of a symmetric positive-definite matrix; the error names
/// the matrix (`what`) when it is not positive definite.
pub fn cholesky(a: &DMatrix<f64>, what: &str) -> Result<Cholesky<f64, Dyn>> {
    if !a.is_square() {
        return Err(Error::Msg(format!(
            "{what} must be square, got {}×{}",
            a.nrows(),
            a.ncols()
        )));
    }
    if a.iter().any(|v| !v.is_finite()) {
        return Err(Error::Msg(format!("{what} has a non-finite entry")));
    }
    a.clone()
        .cholesky()
        .ok_or_else(|| Error::NotPositiveDefinite {
            what: what.to_string(),
        })
}

/// Eigen-decomposition of a symmetric matrix, eigenvalues sorted in decreasing
/// order (stiffest first) with matching unit eigenvectors as columns.
#[derive(Debug, Clone)]
pub struct Spectrum {
    /// Eigenvalues, largest (stiffest) first.
    pub values: DVector<f64>,
    /// Unit eigenvectors as columns, in the order of `values`.
    pub vectors: DMatrix<f64>,
}

impl Spectrum {
    /// The spectrum of the symmetric part of `a`.
    pub fn of(a: &DMatrix<f64>) -> Self {
        let sym = (a + a.transpose()) * 0.5;
        let n = sym.nrows();
        let eig = sym.symmetric_eigen();
        let mut idx: Vec<usize> = (0..eig.eigenvalues.len()).collect();
        idx.sort_by(|&i, &j| eig.eigenvalues[j].total_cmp(&eig.eigenvalues[i]));
        let values = DVector::from_iterator(idx.len(), idx.iter().map(|&i| eig.eigenvalues[i]));
        let mut vectors = DMatrix::zeros(n, idx.len());
        for (k, &i) in idx.iter().enumerate() {
            vectors.set_column(k, &eig.eigenvectors.column(i));
        }
        Spectrum { values, vectors }
    }

    /// λ_max / λ_min (infinite when λ_min ≤ 0).
    pub fn condition_number(&self) -> f64 {
        let n = self.values.len();
        if n == 0 {
            return 1.0;
        }
        let (hi, lo) = (self.values[0], self.values[n - 1]);
        if lo <= 0.0 { f64::INFINITY } else { hi / lo }
    }

    /// The smallest eigenvalue.
    pub fn min(&self) -> f64 {
        self.values.iter().copied().fold(f64::INFINITY, f64::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn spectrum_sorted_and_reconstructs() {
        let a = DMatrix::from_row_slice(3, 3, &[4.0, 1.0, 0.0, 1.0, 3.0, 0.5, 0.0, 0.5, 1.0]);
        let s = Spectrum::of(&a);
        assert!(s.values[0] >= s.values[1] && s.values[1] >= s.values[2]);
        let rec = &s.vectors * DMatrix::from_diagonal(&s.values) * s.vectors.transpose();
        assert_relative_eq!(rec, a, epsilon = 1e-12);
        // Trace is the sum of eigenvalues.
        assert_relative_eq!(s.values.sum(), 8.0, epsilon = 1e-12);
    }

    #[test]
    fn cholesky_names_the_matrix() {
        let a = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
        let e = cholesky(&a, "noise covariance").unwrap_err();
        assert!(e.to_string().contains("noise covariance"));
    }
}

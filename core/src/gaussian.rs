//! The multivariate normal N(m, Σ): density, sampling and KL, by Cholesky
//! factors (Σ = LLᵀ; never an explicit inverse).
//!
//! This one type serves every Gaussian in bayesrg: the late posterior
//! N(μ_T, I⁻¹/T) (eq. 35), the backward posterior N(μ_τ, τI⁻¹) (eq. 38), the
//! heat kernel N(γ_τ, τK_τ⁻¹) (eqs. 21, 43) and the components of mixtures.

use crate::error::Result;
use crate::linalg;
use nalgebra::{Cholesky, DMatrix, DVector, Dyn};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// A multivariate normal distribution N(mean, cov) with a validated covariance.
#[derive(Debug, Clone)]
pub struct Gaussian {
    mean: DVector<f64>,
    cov: DMatrix<f64>,
    chol: Cholesky<f64, Dyn>,
}

impl Gaussian {
    /// N(mean, cov); fails if `cov` is not symmetric positive definite or the
    /// dimensions disagree.
    pub fn new(mean: DVector<f64>, cov: DMatrix<f64>) -> Result<Self> {
        if cov.nrows() != mean.len() {
            return Err(crate::Error::Shape {
                what: "the covariance".into(),
                got: format!("{}×{}", cov.nrows(), cov.ncols()),
                expected: format!("{0}×{0} (the mean has {0} entries)", mean.len()),
            });
        }
        if linalg::asymmetry(&cov) > 1e-10 {
            return Err(crate::Error::NotSymmetric {
                what: "covariance".into(),
            });
        }
        let chol = linalg::cholesky(&cov, "covariance")?;
        Ok(Gaussian { mean, cov, chol })
    }

    /// N(mean, P⁻¹) from a precision matrix P.
    pub fn from_precision(mean: DVector<f64>, precision: &DMatrix<f64>) -> Result<Self> {
        let c = linalg::cholesky(precision, "precision")?;
        let cov = c.inverse();
        let cov = (&cov + cov.transpose()) * 0.5;
        Gaussian::new(mean, cov)
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// The mean.
    pub fn mean(&self) -> &DVector<f64> {
        &self.mean
    }

    /// The covariance.
    pub fn cov(&self) -> &DMatrix<f64> {
        &self.cov
    }

    /// The lower Cholesky factor L of the covariance, Σ = LLᵀ.
    pub fn chol_l(&self) -> DMatrix<f64> {
        self.chol.l()
    }

    /// ln det Σ.
    pub fn ln_det(&self) -> f64 {
        2.0 * self
            .chol
            .l_dirty()
            .diagonal()
            .iter()
            .map(|v| v.ln())
            .sum::<f64>()
    }

    /// The differential entropy ½(k ln(2πe) + ln det Σ) in nats.
    pub fn entropy(&self) -> f64 {
        0.5 * (self.dim() as f64 * (2.0 * std::f64::consts::PI * std::f64::consts::E).ln()
            + self.ln_det())
    }

    /// The squared Mahalanobis distance (x − m)ᵀΣ⁻¹(x − m).
    pub fn mahalanobis2(&self, x: &[f64]) -> f64 {
        let r = DVector::from_column_slice(x) - &self.mean;
        let mut z = r.clone();
        self.chol.l_dirty().solve_lower_triangular_mut(&mut z);
        z.norm_squared()
    }

    /// The score ∇ₓ ln N(x; m, Σ) = −Σ⁻¹(x − m), by a Cholesky solve.
    pub fn score(&self, x: &[f64]) -> DVector<f64> {
        let r = DVector::from_column_slice(x) - &self.mean;
        -self.chol.solve(&r)
    }

    /// ln N(x; m, Σ).
    pub fn ln_pdf(&self, x: &[f64]) -> f64 {
        -0.5 * (self.dim() as f64 * LN_2PI + self.ln_det() + self.mahalanobis2(x))
    }

    /// Draws one sample m + Lz into `out`.
    pub fn sample_into(&self, rng: &mut dyn Rng, out: &mut [f64]) {
        let d = self.dim();
        let z = DVector::from_iterator(
            d,
            (0..d).map(|_| -> f64 { StandardNormal.sample(&mut *rng) }),
        );
        let l = self.chol.l_dirty();
        for i in 0..d {
            let mut s = self.mean[i];
            for j in 0..=i {
                s += l[(i, j)] * z[j];
            }
            out[i] = s;
        }
    }

    /// KL(self ‖ other) = ½[tr(Σ₂⁻¹Σ₁) + (m₂−m₁)ᵀΣ₂⁻¹(m₂−m₁) − k + ln(det Σ₂/det Σ₁)].
    pub fn kl(&self, other: &Gaussian) -> f64 {
        let k = self.dim() as f64;
        let tr = other.chol.solve(&self.cov).trace();
        let maha = other.mahalanobis2(self.mean.as_slice());
        0.5 * (tr + maha - k + other.ln_det() - self.ln_det())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn univariate_kl_matches_oracle() {
        // oracles.md §2: KL(N(1, 2²) ‖ N(5, 1)) = 8.806852819440055.
        let a = Gaussian::new(
            DVector::from_vec(vec![1.0]),
            DMatrix::from_element(1, 1, 4.0),
        )
        .unwrap();
        let b = Gaussian::new(
            DVector::from_vec(vec![5.0]),
            DMatrix::from_element(1, 1, 1.0),
        )
        .unwrap();
        assert_relative_eq!(a.kl(&b), 8.806852819440055, max_relative = 1e-14);
        assert_eq!(a.kl(&a), 0.0);
    }

    #[test]
    fn ln_pdf_matches_univariate_formula() {
        let g = Gaussian::new(
            DVector::from_vec(vec![0.5]),
            DMatrix::from_element(1, 1, 2.25),
        )
        .unwrap();
        let x = 1.7;
        let want = -0.5 * (LN_2PI + 2.25f64.ln() + (x - 0.5) * (x - 0.5) / 2.25);
        assert_relative_eq!(g.ln_pdf(&[x]), want, max_relative = 1e-14);
    }

    #[test]
    fn precision_round_trip() {
        let p = DMatrix::from_row_slice(2, 2, &[2.0, 0.5, 0.5, 1.0]);
        let g = Gaussian::from_precision(DVector::zeros(2), &p).unwrap();
        assert_relative_eq!(g.cov() * &p, DMatrix::identity(2, 2), epsilon = 1e-12);
    }
}

//! Gaussian mixtures p(y) = Σₖ wₖ N(y; mₖ, Σₖ): density, responsibilities,
//! closed-form score, sampling, and the exact effect of a constant-coefficient
//! diffusion (each component's mean moves by vτ and its covariance grows by
//! τK⁻¹, eqs. 20–23), which makes them the test bed of the reverse SDE (eq. 26).

use crate::error::{Error, Field, Result, require, show};
use crate::gaussian::Gaussian;
use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngExt};

/// A finite mixture of Gaussians with positive weights summing to 1.
#[derive(Debug, Clone)]
pub struct GaussianMixture {
    weights: Vec<f64>,
    components: Vec<Gaussian>,
}

impl GaussianMixture {
    /// A mixture; weights must be positive and sum to 1 (to 1e-9; they are
    /// renormalised), components of one dimension.
    pub fn new(weights: Vec<f64>, components: Vec<Gaussian>) -> Result<Self> {
        if weights.is_empty() || weights.len() != components.len() {
            return Err(Error::Dimension {
                field: Field::key("weights"),
                expected: format!("{} (one per component, at least one)", components.len()),
                got: weights.len(),
            });
        }
        for (k, &w) in weights.iter().enumerate() {
            require::positive(Field::key("weights").at(k), w)?;
        }
        let total: f64 = weights.iter().sum();
        if (total - 1.0).abs() > 1e-9 {
            return Err(Error::domain(
                "sum of weights",
                show(total),
                "must be 1 (to 1e-9)",
            ));
        }
        let d = components[0].dim();
        if let Some(k) = components.iter().position(|c| c.dim() != d) {
            return Err(Error::Dimension {
                field: Field::key("components").at(k),
                expected: format!("{d} (the dimension of the first component)"),
                got: components[k].dim(),
            });
        }
        Ok(GaussianMixture {
            weights: weights.iter().map(|w| w / total).collect(),
            components,
        })
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        self.components[0].dim()
    }

    /// The weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The components.
    pub fn components(&self) -> &[Gaussian] {
        &self.components
    }

    fn ln_terms(&self, y: &[f64]) -> Vec<f64> {
        self.weights
            .iter()
            .zip(&self.components)
            .map(|(w, c)| w.ln() + c.ln_pdf(y))
            .collect()
    }

    /// ln p(y) (log-sum-exp over components).
    pub fn ln_pdf(&self, y: &[f64]) -> f64 {
        let t = self.ln_terms(y);
        let m = t.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        m + t.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
    }

    /// p(y).
    pub fn pdf(&self, y: &[f64]) -> f64 {
        self.ln_pdf(y).exp()
    }

    /// The posterior responsibilities rₖ(y) = wₖ N(y; mₖ, Σₖ) / p(y).
    pub fn responsibilities(&self, y: &[f64]) -> Vec<f64> {
        let t = self.ln_terms(y);
        let m = t.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = t.iter().map(|v| (v - m).exp()).collect();
        let s: f64 = e.iter().sum();
        e.into_iter().map(|v| v / s).collect()
    }

    /// The score ∇ ln p(y) = Σₖ rₖ(y) (−Σₖ⁻¹(y − mₖ)), in closed form.
    pub fn score(&self, y: &[f64]) -> DVector<f64> {
        let r = self.responsibilities(y);
        let mut s = DVector::zeros(self.dim());
        for (rk, c) in r.iter().zip(&self.components) {
            s += c.score(y) * *rk;
        }
        s
    }

    /// The mean Σ wₖ mₖ.
    pub fn mean(&self) -> DVector<f64> {
        let mut m = DVector::zeros(self.dim());
        for (w, c) in self.weights.iter().zip(&self.components) {
            m += c.mean() * *w;
        }
        m
    }

    /// The covariance Σ wₖ (Σₖ + mₖmₖᵀ) − m mᵀ.
    pub fn cov(&self) -> DMatrix<f64> {
        let m = self.mean();
        let mut s = DMatrix::zeros(self.dim(), self.dim());
        for (w, c) in self.weights.iter().zip(&self.components) {
            s += (c.cov() + c.mean() * c.mean().transpose()) * *w;
        }
        s - &m * m.transpose()
    }

    /// Draws one sample into `out`: a component by its weight, then from it.
    pub fn sample_into(&self, rng: &mut dyn Rng, out: &mut [f64]) {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        let mut k = self.components.len() - 1;
        for (i, w) in self.weights.iter().enumerate() {
            acc += w;
            if u < acc {
                k = i;
                break;
            }
        }
        self.components[k].sample_into(rng, out);
    }

    /// `n` draws (n × d row-major), seeded per chunk of
    /// [`rng::CHUNK`](crate::rng::CHUNK) (the same bits with any thread count).
    pub fn sample_n(&self, n: usize, seed: u64) -> Vec<f64> {
        let d = self.dim();
        crate::rng::par_chunks(n, seed, |_, r, rng| {
            let mut out = vec![0.0; r.len() * d];
            for row in out.chunks_mut(d) {
                self.sample_into(rng, row);
            }
            out
        })
        .concat()
    }

    /// The law after diffusing for time τ with constant drift v and constant
    /// diffusion K⁻¹: each component N(mₖ + vτ, Σₖ + τK⁻¹), weights unchanged
    /// (eq. 23 with the Gaussian kernel of eq. 21).
    pub fn diffuse(&self, tau: f64, velocity: &DVector<f64>, kinv: &DMatrix<f64>) -> Result<Self> {
        if !(tau >= 0.0 && tau.is_finite()) {
            return Err(Error::domain("tau", show(tau), "must be finite and >= 0"));
        }
        let components = self
            .components
            .iter()
            .map(|c| Gaussian::new(c.mean() + velocity * tau, c.cov() + kinv * tau))
            .collect::<Result<Vec<_>>>()?;
        Ok(GaussianMixture {
            weights: self.weights.clone(),
            components,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numdiff;

    fn mix() -> GaussianMixture {
        GaussianMixture::new(
            vec![0.3, 0.7],
            vec![
                Gaussian::new(
                    DVector::from_vec(vec![-1.0, 0.5]),
                    DMatrix::from_row_slice(2, 2, &[0.3, 0.1, 0.1, 0.2]),
                )
                .unwrap(),
                Gaussian::new(
                    DVector::from_vec(vec![1.5, -0.5]),
                    DMatrix::from_row_slice(2, 2, &[0.5, -0.2, -0.2, 0.4]),
                )
                .unwrap(),
            ],
        )
        .unwrap()
    }

    #[test]
    fn score_matches_numerical_gradient() {
        // Oracle: central differences of ln p (numdiff, error ~1e-10).
        let m = mix();
        for y in [[0.0, 0.0], [-1.2, 0.7], [2.0, -1.5], [0.3, 0.1]] {
            let g = numdiff::gradient(|x| m.ln_pdf(x), &y);
            let s = m.score(&y);
            assert!((g - s).amax() < 1e-7);
        }
        let r = m.responsibilities(&[0.3, 0.1]);
        assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    }

    #[test]
    fn rejects_bad_weights() {
        let c = mix().components().to_vec();
        assert!(GaussianMixture::new(vec![0.5, 0.6], c.clone()).is_err());
        assert!(GaussianMixture::new(vec![1.2, -0.2], c).is_err());
    }
}

//! The multivariate normal N(μ, Σ) with unknown mean μ ∈ ℝᵈ and a known
//! covariance Σ given in the config (field `cov`).
//!
//! Fisher (eq. 29) I = Σ⁻¹, independent of μ; KL (eq. 30)
//! KL(μ₁‖μ₂) = ½(μ₁ − μ₂)ᵀΣ⁻¹(μ₁ − μ₂). The Hessian of ln p is −Σ⁻¹ for
//! every y, written out exactly (and tested against automatic differentiation
//! of [`LogDensity`]).

use crate::checks;
use bayesrg_core::ParamError;
use bayesrg_core::ad::{LogDensity, Real};
use bayesrg_core::gaussian::Gaussian;
use bayesrg_core::geometry::closed_form::{self as cf, ClosedFormGeometry, KnownGeodesic};
use bayesrg_core::model::{Model, check_len};
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// N(μ, Σ) with θ = μ = (mu1, …, mud) and a known symmetric positive-definite Σ.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "RawMvnMean", into = "RawMvnMean")]
pub struct MvnMean {
    /// N(0, Σ): sampling adds μ.
    noise: Gaussian,
    /// Σ⁻¹.
    precision: DMatrix<f64>,
}

/// The config form of [`MvnMean`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMvnMean {
    /// The known covariance Σ, as a list of rows (symmetric positive definite).
    pub cov: Vec<Vec<f64>>,
}

impl TryFrom<RawMvnMean> for MvnMean {
    type Error = bayesrg_core::Error;
    fn try_from(r: RawMvnMean) -> bayesrg_core::Result<Self> {
        MvnMean::new(checks::matrix("cov", &r.cov)?)
    }
}

impl From<MvnMean> for RawMvnMean {
    fn from(m: MvnMean) -> Self {
        RawMvnMean {
            cov: checks::rows(m.noise.cov()),
        }
    }
}

impl MvnMean {
    /// The model with known covariance `cov`; an error names `cov` unless it is
    /// square, symmetric and positive definite.
    pub fn new(cov: DMatrix<f64>) -> bayesrg_core::Result<Self> {
        let chol = checks::spd("cov", &cov)?;
        let precision = checks::inverse(&chol);
        let noise = Gaussian::new(DVector::zeros(cov.nrows()), cov)?;
        Ok(MvnMean { noise, precision })
    }

    /// The known covariance Σ.
    pub fn cov(&self) -> &DMatrix<f64> {
        self.noise.cov()
    }
}

const LN_2PI: f64 = 1.837_877_066_409_345_5;

impl LogDensity for MvnMean {
    fn ln_density<D: Real>(&self, theta: &[D], y: &[f64]) -> D {
        let d = theta.len();
        let mut q = D::from(0.0);
        for i in 0..d {
            let ri = -theta[i] + y[i];
            let mut row = D::from(0.0);
            for j in 0..d {
                row += (-theta[j] + y[j]) * self.precision[(i, j)];
            }
            q += ri * row;
        }
        -(q + d as f64 * LN_2PI + self.noise.ln_det()) * 0.5
    }
}

#[bayesrg_core::register_model(
    tag = "mvn_mean",
    summary = "multivariate normal N(mu, cov) with unknown mean and known covariance `cov`",
    example = || Box::new(
        MvnMean::new(DMatrix::from_row_slice(2, 2, &[2.0, 0.6, 0.6, 1.0])).expect("SPD example")
    ),
    theta = || vec![0.5, -1.0]
)]
impl Model for MvnMean {
    fn fisher_rao(&self) -> Option<&dyn ClosedFormGeometry> {
        Some(self)
    }
    fn param_names(&self) -> Vec<String> {
        checks::numbered("mu", self.noise.dim())
    }
    fn obs_dim(&self) -> usize {
        self.noise.dim()
    }
    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)
    }
    fn sample(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        self.noise.sample_into(rng, out);
        for (o, m) in out.iter_mut().zip(theta) {
            *o += m;
        }
    }
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        let r: Vec<f64> = y.iter().zip(theta).map(|(a, b)| a - b).collect();
        self.noise.ln_pdf(&r)
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        let d = theta.len();
        for (i, o) in out.iter_mut().enumerate() {
            *o = (0..d)
                .map(|j| self.precision[(i, j)] * (y[j] - theta[j]))
                .sum();
        }
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    fn hessian(&self, _theta: &[f64], _y: &[f64], out: &mut [f64]) {
        // −Σ⁻¹, independent of θ and y.
        for (o, p) in out.iter_mut().zip(self.precision.iter()) {
            *o = -p;
        }
    }
    fn has_exact_hessian(&self) -> bool {
        true
    }
    fn fisher(&self, _theta: &[f64]) -> Option<DMatrix<f64>> {
        Some(self.precision.clone())
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        // Through the Cholesky factor: a sum of squares, never negative.
        let r: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        Some(0.5 * self.noise.mahalanobis2(&r))
    }
}

/// The closed-form Fisher–Rao geometry (oracles.md §3): a constant metric: straight lines.
impl ClosedFormGeometry for MvnMean {
    fn metric(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Model::fisher(self, theta)
    }
    fn geodesic(&self, a: &[f64], b: &[f64]) -> Option<KnownGeodesic> {
        Some(cf::flat_geodesic(
            "mvn_mean",
            &Model::fisher(self, a)?,
            a,
            b,
        ))
    }
}

//! The linear-Gaussian inversion model y = Aθ + N, N ~ N(0, Σ) (eqs. 40–42 with
//! a linear forward map G(θ) = Aθ).
//!
//! Config fields: `a` (the m × d matrix A as a list of rows) and `noise_cov`
//! (the m × m noise covariance Σ, symmetric positive definite).
//! Fisher (eq. 29) I = AᵀΣ⁻¹A, independent of θ; KL (eq. 30)
//! KL(θ₁‖θ₂) = ½(A(θ₁−θ₂))ᵀΣ⁻¹(A(θ₁−θ₂)). The Jacobian of G is A; the
//! Hessian of ln p is −AᵀΣ⁻¹A for every y, written out exactly (and tested
//! against automatic differentiation of [`LogDensity`]).

use crate::checks;
use bayesrg_core::ParamError;
use bayesrg_core::ad::{LogDensity, Real};
use bayesrg_core::bayes::conjugate::{self as conj, Conjugate};
use bayesrg_core::bayes::prior::Prior;
use bayesrg_core::fisher::symmetrize;
use bayesrg_core::gaussian::Gaussian;
use bayesrg_core::geometry::closed_form::{self as cf, ClosedFormGeometry, KnownGeodesic};
use bayesrg_core::model::{Model, check_len};
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// y = Aθ + N(0, Σ), θ ∈ ℝᵈ, y ∈ ℝᵐ.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "RawLinearGaussian", into = "RawLinearGaussian")]
pub struct LinearGaussian {
    a: DMatrix<f64>,
    /// N(0, Σ).
    noise: Gaussian,
    /// Σ⁻¹.
    precision: DMatrix<f64>,
    /// AᵀΣ⁻¹A, symmetrised (the Fisher metric and minus the Hessian).
    info: DMatrix<f64>,
}

/// The config form of [`LinearGaussian`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLinearGaussian {
    /// A, m × d, as a list of m rows.
    pub a: Vec<Vec<f64>>,
    /// Σ, m × m, as a list of rows.
    pub noise_cov: Vec<Vec<f64>>,
}

impl TryFrom<RawLinearGaussian> for LinearGaussian {
    type Error = bayesrg_core::Error;
    fn try_from(r: RawLinearGaussian) -> bayesrg_core::Result<Self> {
        LinearGaussian::new(
            checks::matrix("a", &r.a)?,
            checks::matrix("noise_cov", &r.noise_cov)?,
        )
    }
}

impl From<LinearGaussian> for RawLinearGaussian {
    fn from(m: LinearGaussian) -> Self {
        RawLinearGaussian {
            a: checks::rows(&m.a),
            noise_cov: checks::rows(m.noise.cov()),
        }
    }
}

impl LinearGaussian {
    /// The model with design matrix `a` (m × d) and noise covariance
    /// `noise_cov` (m × m, symmetric positive definite); errors name the field.
    pub fn new(a: DMatrix<f64>, noise_cov: DMatrix<f64>) -> bayesrg_core::Result<Self> {
        bayesrg_core::linalg::require_finite(&a, "a")?;
        let chol = checks::spd("noise_cov", &noise_cov)?;
        if noise_cov.nrows() != a.nrows() {
            return Err(bayesrg_core::Error::Dimension {
                field: "noise_cov".into(),
                expected: format!("{} rows (one per row of `a`)", a.nrows()),
                got: noise_cov.nrows(),
            });
        }
        let precision = checks::inverse(&chol);
        let noise = Gaussian::new(DVector::zeros(a.nrows()), noise_cov)?;
        let info = symmetrize(a.tr_mul(&(&precision * &a)));
        Ok(LinearGaussian {
            a,
            noise,
            precision,
            info,
        })
    }

    /// The design matrix A.
    pub fn a(&self) -> &DMatrix<f64> {
        &self.a
    }

    fn residual(&self, theta: &[f64], y: &[f64]) -> DVector<f64> {
        DVector::from_column_slice(y) - &self.a * DVector::from_column_slice(theta)
    }
}

const LN_2PI: f64 = 1.837_877_066_409_345_5;

impl LogDensity for LinearGaussian {
    fn ln_density<D: Real>(&self, theta: &[D], y: &[f64]) -> D {
        let (m, d) = self.a.shape();
        let r = |k: usize| -> D {
            let mut g = D::from(0.0);
            for (j, t) in theta.iter().enumerate().take(d) {
                g += *t * self.a[(k, j)];
            }
            -g + y[k]
        };
        let mut q = D::from(0.0);
        for i in 0..m {
            let ri = r(i);
            let mut row = D::from(0.0);
            for j in 0..m {
                row += r(j) * self.precision[(i, j)];
            }
            q += ri * row;
        }
        -(q + m as f64 * LN_2PI + self.noise.ln_det()) * 0.5
    }
}

#[bayesrg_core::register_model(
    tag = "linear_gaussian",
    summary = "linear-Gaussian inversion y = A theta + N(0, noise_cov) (eqs. 40-42)",
    example = || Box::new(
        LinearGaussian::new(
            DMatrix::from_row_slice(3, 2, &[1.0, 0.0, 1.0, 1.0, 0.5, -1.0]),
            DMatrix::from_row_slice(3, 3, &[0.5, 0.1, 0.0, 0.1, 0.4, 0.05, 0.0, 0.05, 0.3]),
        )
        .expect("valid example")
    ),
    theta = || vec![1.0, -0.5]
)]
impl Model for LinearGaussian {
    fn fisher_rao(&self) -> Option<&dyn ClosedFormGeometry> {
        Some(self)
    }
    /// Independent normal priors on every coordinate, all free: the
    /// linear-Gaussian oracle (precision P₀ + T AᵀΣ⁻¹A).
    fn conjugate(&self, free: &[usize], prior: &Prior, star: &[f64]) -> Option<Box<dyn Conjugate>> {
        if free.len() != self.dim() {
            return None;
        }
        let (m0, p0) = conj::normal_factors(prior)?;
        let a = self.forward_jacobian(star)?;
        let sigma = self.noise_covariance()?;
        conj::LinearGaussian::new(a, &sigma, m0, p0)
            .ok()
            .map(|o| Box::new(o) as Box<dyn Conjugate>)
    }
    fn param_names(&self) -> Vec<String> {
        checks::numbered("theta", self.a.ncols())
    }
    fn obs_dim(&self) -> usize {
        self.a.nrows()
    }
    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)
    }
    fn sample(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        self.noise.sample_into(rng, out);
        let g = &self.a * DVector::from_column_slice(theta);
        for (o, gi) in out.iter_mut().zip(g.iter()) {
            *o += gi;
        }
    }
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        self.noise.ln_pdf(self.residual(theta, y).as_slice())
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        let s = self.a.tr_mul(&(&self.precision * self.residual(theta, y)));
        out.copy_from_slice(s.as_slice());
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    fn hessian(&self, _theta: &[f64], _y: &[f64], out: &mut [f64]) {
        // −AᵀΣ⁻¹A, independent of θ and y.
        for (o, v) in out.iter_mut().zip(self.info.iter()) {
            *o = -v;
        }
    }
    fn has_exact_hessian(&self) -> bool {
        true
    }
    fn fisher(&self, _theta: &[f64]) -> Option<DMatrix<f64>> {
        Some(self.info.clone())
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        let d = DVector::from_iterator(a.len(), a.iter().zip(b).map(|(x, y)| x - y));
        Some(0.5 * self.noise.mahalanobis2((&self.a * d).as_slice()))
    }
    fn forward(&self, theta: &[f64]) -> Option<DVector<f64>> {
        Some(&self.a * DVector::from_column_slice(theta))
    }
    fn forward_jacobian(&self, _theta: &[f64]) -> Option<DMatrix<f64>> {
        Some(self.a.clone())
    }
    fn noise_covariance(&self) -> Option<DMatrix<f64>> {
        Some(self.noise.cov().clone())
    }
}

/// The closed-form Fisher–Rao geometry (oracles.md §3): a constant metric JᵀΣ⁻¹J: straight lines.
impl ClosedFormGeometry for LinearGaussian {
    fn metric(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Model::fisher(self, theta)
    }
    fn geodesic(&self, a: &[f64], b: &[f64]) -> Option<KnownGeodesic> {
        Some(cf::flat_geodesic(
            "linear_gaussian",
            &Model::fisher(self, a)?,
            a,
            b,
        ))
    }
}

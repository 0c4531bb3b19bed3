//! The multivariate normal N(μ, Σ) with unknown mean **and** covariance, for a
//! small dimension d ≤ 4 (config field `dim`).
//!
//! # Parametrisation
//! θ = (μ₁, …, μ_d, Σ₁₁, Σ₂₁, Σ₂₂, Σ₃₁, Σ₃₂, Σ₃₃, …): the mean, then the
//! lower-triangular entries of the covariance **itself** (not of its Cholesky
//! factor) row by row, named `mu1…mud, cov11, cov21, cov22, …`; d + d(d+1)/2
//! parameters. Σᵢⱼ for i > j is the shared off-diagonal entry, so ∂Σ/∂Σᵢⱼ is
//! the symmetric unit matrix eᵢeⱼᵀ + eⱼeᵢᵀ (eᵢeᵢᵀ on the diagonal).
//!
//! Fisher (eq. 29): I_kl = ∂ₖμᵀΣ⁻¹∂ₗμ + ½ tr(Σ⁻¹∂ₖΣ Σ⁻¹∂ₗΣ), so the mean block
//! is Σ⁻¹, the covariance block ½ tr(Σ⁻¹EₖΣ⁻¹Eₗ), and the cross block zero.
//! KL (eq. 30): ½[tr(Σ₂⁻¹Σ₁) + (μ₂−μ₁)ᵀΣ₂⁻¹(μ₂−μ₁) − d + ln(det Σ₂/det Σ₁)],
//! evaluated as ½|L₂⁻¹(μ₁ − μ₂)|² − ½ Σᵢ log1pmx(λᵢ) with λᵢ the eigenvalues of
//! L₂⁻¹(Σ₁ − Σ₂)L₂⁻ᵀ (Σ₂ = L₂L₂ᵀ): the trace, the −d and the log-determinant
//! cancel inside log1pmx, term by term, and Σ₁ − Σ₂ is formed from the
//! parameters' difference, so the KL keeps its relative accuracy as θ′ → θ.
//! When an eigenvalue is not small (|λᵢ| ≥ ½) the covariance part is
//! ½[‖L₂⁻¹L₁‖²_F − d − 2Σᵢ ln(L₁ᵢᵢ/L₂ᵢᵢ)] instead, which keeps its digits when
//! Σ₂ ≫ Σ₁ (variance ratios 10⁻²⁴ … 10²⁴ tested).
//!
//! Derivatives: the hand-written score, and the Hessian by automatic
//! differentiation of the log-density ([`LogDensity`]; a Cholesky
//! factorisation written for dual numbers).

use crate::checks;
use bayesrg_core::ad::{LogDensity, Real};
use bayesrg_core::gaussian::Gaussian;
use bayesrg_core::geometry::closed_form::{self as cf, ClosedFormGeometry, KnownGeodesic};
use bayesrg_core::model::{Model, check_len};
use bayesrg_core::special::{ln_ratio, log1pmx};
use bayesrg_core::{ParamError, ad_derivatives};
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The largest dimension accepted.
pub const MAX_DIM: usize = 4;

/// N(μ, Σ) in θ = (μ, lower triangle of Σ row by row), d = `dim` ≤ 4.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "RawMvn", into = "RawMvn")]
pub struct Mvn {
    dim: usize,
}

/// The config form of [`Mvn`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMvn {
    /// The dimension d of an observation, 1 ≤ d ≤ 4.
    pub dim: usize,
}

impl TryFrom<RawMvn> for Mvn {
    type Error = bayesrg_core::Error;
    fn try_from(r: RawMvn) -> bayesrg_core::Result<Self> {
        Mvn::new(r.dim)
    }
}

impl From<Mvn> for RawMvn {
    fn from(m: Mvn) -> Self {
        RawMvn { dim: m.dim }
    }
}

impl Mvn {
    /// The model for observations of dimension `dim` ∈ 1..=4.
    pub fn new(dim: usize) -> bayesrg_core::Result<Self> {
        if !(1..=MAX_DIM).contains(&dim) {
            return Err(bayesrg_core::Error::domain(
                "dim",
                dim,
                format!("must be between 1 and {MAX_DIM}"),
            ));
        }
        Ok(Mvn { dim })
    }

    /// The (row, column) of covariance parameter k (0-based among the covariance
    /// parameters), row ≥ column.
    fn tri(k: usize) -> (usize, usize) {
        let mut r = 0;
        while (r + 1) * (r + 2) / 2 <= k {
            r += 1;
        }
        (r, k - r * (r + 1) / 2)
    }

    /// μ and Σ from θ (no validation).
    pub fn unpack(&self, theta: &[f64]) -> (DVector<f64>, DMatrix<f64>) {
        let d = self.dim;
        let mu = DVector::from_column_slice(&theta[..d]);
        let mut cov = DMatrix::zeros(d, d);
        for (k, &v) in theta[d..].iter().enumerate() {
            let (i, j) = Self::tri(k);
            cov[(i, j)] = v;
            cov[(j, i)] = v;
        }
        (mu, cov)
    }

    /// θ from μ and the lower triangle of Σ.
    pub fn pack(mu: &[f64], cov: &DMatrix<f64>) -> Vec<f64> {
        let mut t = mu.to_vec();
        for i in 0..cov.nrows() {
            for j in 0..=i {
                t.push(cov[(i, j)]);
            }
        }
        t
    }

    fn gaussian(&self, theta: &[f64]) -> Option<Gaussian> {
        let (mu, cov) = self.unpack(theta);
        Gaussian::new(mu, cov).ok()
    }

    /// ∂Σ/∂θ for covariance parameter k: the symmetric unit matrix.
    fn d_cov(&self, k: usize) -> DMatrix<f64> {
        let (i, j) = Self::tri(k);
        let mut e = DMatrix::zeros(self.dim, self.dim);
        e[(i, j)] = 1.0;
        e[(j, i)] = 1.0;
        e
    }
}

const LN_2PI: f64 = 1.837_877_066_409_345_5;

impl LogDensity for Mvn {
    fn ln_density<D: Real>(&self, theta: &[D], y: &[f64]) -> D {
        let d = self.dim;
        let zero = D::from(0.0);
        // Σ from θ, then its Cholesky factor L (lower), on the stack.
        let mut l = [[zero; MAX_DIM]; MAX_DIM];
        for (k, &v) in theta[d..].iter().enumerate() {
            let (i, j) = Self::tri(k);
            l[i][j] = v;
        }
        for j in 0..d {
            let row_j = l[j];
            let mut s = row_j[j];
            for v in &row_j[..j] {
                s -= *v * *v;
            }
            if s.re() <= 0.0 {
                return D::from(f64::NAN);
            }
            let ljj = s.sqrt();
            l[j][j] = ljj;
            for row in l.iter_mut().take(d).skip(j + 1) {
                let mut t = row[j];
                for (a, b) in row[..j].iter().zip(&row_j[..j]) {
                    t -= *a * *b;
                }
                row[j] = t / ljj;
            }
        }
        // z = L⁻¹(y − μ) by forward substitution; ln det Σ = 2 Σ ln Lᵢᵢ.
        let mut z = [zero; MAX_DIM];
        let mut q = zero;
        let mut ln_det = zero;
        for i in 0..d {
            let mut t = -theta[i] + y[i];
            for k in 0..i {
                t -= l[i][k] * z[k];
            }
            z[i] = t / l[i][i];
            q += z[i] * z[i];
            ln_det += l[i][i].ln();
        }
        -(q + d as f64 * LN_2PI) * 0.5 - ln_det
    }
}

#[bayesrg_core::register_model(
    tag = "mvn",
    summary = "multivariate normal N(mu, cov) in (mu, lower triangle of cov), dim <= 4",
    example = || Box::new(Mvn::new(2).expect("dim 2")),
    theta = || vec![0.5, -1.0, 2.0, 0.6, 1.0]
)]
impl Model for Mvn {
    fn fisher_rao(&self) -> Option<&dyn ClosedFormGeometry> {
        Some(self)
    }
    fn param_names(&self) -> Vec<String> {
        let mut n = checks::numbered("mu", self.dim);
        for i in 1..=self.dim {
            for j in 1..=i {
                n.push(format!("cov{i}{j}"));
            }
        }
        n
    }
    fn obs_dim(&self) -> usize {
        self.dim
    }
    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)?;
        let d = self.dim;
        for i in 0..d {
            let k = d + i * (i + 1) / 2 + i;
            checks::positive(&format!("cov{}{}", i + 1, i + 1), theta[k])?;
        }
        if self.gaussian(theta).is_none() {
            let names = self.param_names()[d..].join(", ");
            return Err(ParamError::Other(format!(
                "the covariance built from parameters {names} is not positive definite"
            )));
        }
        Ok(())
    }
    fn sample(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        self.gaussian(theta)
            .expect("validated by check_params")
            .sample_into(rng, out);
    }
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        self.gaussian(theta).map_or(f64::NAN, |g| g.ln_pdf(y))
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        let d = self.dim;
        let (mu, cov) = self.unpack(theta);
        let Some(chol) = cov.cholesky() else {
            out.fill(f64::NAN);
            return;
        };
        let p = checks::inverse(&chol);
        let u = &p * (DVector::from_column_slice(y) - mu);
        out[..d].copy_from_slice(u.as_slice());
        // ∂ ln p/∂Σ along a symmetric E: −½tr(Σ⁻¹E) + ½uᵀEu, u = Σ⁻¹(y − μ).
        for k in 0..d * (d + 1) / 2 {
            let (i, j) = Self::tri(k);
            out[d + k] = if i == j {
                0.5 * (u[i] * u[i] - p[(i, i)])
            } else {
                u[i] * u[j] - p[(i, j)]
            };
        }
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    ad_derivatives!(hessian);
    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        let d = self.dim;
        let n = self.dim();
        let (_, cov) = self.unpack(theta);
        let p = checks::inverse(&cov.cholesky()?);
        let mut f = DMatrix::zeros(n, n);
        f.view_mut((0, 0), (d, d)).copy_from(&p);
        let pe: Vec<DMatrix<f64>> = (0..n - d).map(|k| &p * self.d_cov(k)).collect();
        for k in 0..n - d {
            for l in 0..=k {
                let v = 0.5 * (&pe[k] * &pe[l]).trace();
                f[(d + k, d + l)] = v;
                f[(d + l, d + k)] = v;
            }
        }
        Some(f)
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        let (_, cov1) = self.unpack(a);
        let (_, cov2) = self.unpack(b);
        let Some(chol1) = cov1.clone().cholesky() else {
            return Some(f64::NAN);
        };
        let Some(chol2) = cov2.cholesky() else {
            return Some(f64::NAN);
        };
        let l2 = chol2.l();
        // Σ₁ − Σ₂ and μ₁ − μ₂ from the parameters' difference.
        let diff: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        let (dmu, dcov) = self.unpack(&diff);
        let mut zm = dmu;
        l2.solve_lower_triangular_mut(&mut zm);
        // M = L₂⁻¹ (Σ₁ − Σ₂) L₂⁻ᵀ
        let mut x = dcov;
        l2.solve_lower_triangular_mut(&mut x);
        let mut m = x.transpose();
        l2.solve_lower_triangular_mut(&mut m);
        let m = (&m + m.transpose()) * 0.5;
        let eig = m.symmetric_eigenvalues();
        let cov_part: f64 = if eig.iter().all(|l| l.abs() < 0.5) {
            eig.iter().map(|l| -0.5 * log1pmx(*l)).sum()
        } else {
            // An eigenvalue λ of Σ₂⁻¹Σ₁ − I far from 0: log1pmx(λ) would lose
            // all digits as λ → −1 (Σ₂ ≫ Σ₁, tryout 5, A3). With B = L₂⁻¹L₁,
            // ½[tr(Σ₂⁻¹Σ₁) − d − ln det(Σ₂⁻¹Σ₁)] = ½[‖B‖²_F − d − 2Σᵢ ln(L₁ᵢᵢ/L₂ᵢᵢ)]:
            // no term cancels beyond the sum's ≥ f(½) ≈ 0.1 (relative error ~ 20dε).
            let l1 = chol1.l();
            let mut bm = l1.clone();
            l2.solve_lower_triangular_mut(&mut bm);
            let n = l1.nrows();
            let ln_det: f64 = (0..n).map(|i| 2.0 * ln_ratio(l1[(i, i)], l2[(i, i)])).sum();
            0.5 * (bm.norm_squared() - n as f64 - ln_det)
        };
        Some(0.5 * zm.norm_squared() + cov_part)
    }
}

/// The closed-form Fisher–Rao geometry (oracles.md §3): the normal half-plane when d = 1; with equal means, the SPD cone geodesic.
impl ClosedFormGeometry for Mvn {
    fn metric(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Model::fisher(self, theta)
    }
    fn geodesic(&self, a: &[f64], b: &[f64]) -> Option<KnownGeodesic> {
        cf::mvn_geodesic(a, b)
    }
    fn acceleration(&self, theta: &[f64], v: &[f64], out: &mut [f64]) -> Option<bool> {
        cf::mvn_geodesic_acceleration(theta, v, out)
    }
}

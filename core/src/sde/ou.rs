//! Linear SDEs dY = −B(Y − m)dτ + θdW, θθᵀ = K⁻¹ (Ornstein–Uhlenbeck; B = 0 is
//! the heat kernel of eqs. 21 and 43). Their law from a point y₀ is Gaussian:
//!
//!   Y_τ ~ N(m + e^{−Bτ}(y₀ − m), Σ_τ),  Σ_τ = ∫₀^τ e^{−Bs}K⁻¹e^{−Bᵀs}ds.
//!
//! Σ_τ is computed by Van Loan's block exponential (valid for any B, including
//! B = 0 where Σ_τ = τK⁻¹). When B is stable, Σ_τ = Σ∞ − e^{−Bτ}Σ∞e^{−Bᵀτ} with the
//! stationary covariance Σ∞ solving the Lyapunov equation BΣ∞ + Σ∞Bᵀ = K⁻¹.

use crate::error::{Error, Result};
use crate::gaussian::Gaussian;
use nalgebra::{DMatrix, DVector};

/// The exact transition over one step h: y ← m + E(y − m) + Lξ.
#[derive(Debug, Clone)]
pub struct OuTransition {
    /// E = e^{−Bh}.
    pub mean_map: DMatrix<f64>,
    /// The centre m.
    pub centre: DVector<f64>,
    /// Σ_h.
    pub cov: DMatrix<f64>,
    /// A factor L with LLᵀ = Σ_h (Cholesky, or a symmetric square root when Σ_h
    /// is only semi-definite).
    pub factor: DMatrix<f64>,
}

impl OuTransition {
    /// Applies the transition to `y` with standard normals ξⱼ = `xi(j)`;
    /// `scratch` holds d entries.
    #[inline]
    pub fn step(&self, y: &mut [f64], xi: impl Fn(usize) -> f64, scratch: &mut [f64]) {
        let d = y.len();
        for i in 0..d {
            scratch[i] = y[i] - self.centre[i];
        }
        for i in 0..d {
            let mut s = self.centre[i];
            for j in 0..d {
                s += self.mean_map[(i, j)] * scratch[j];
            }
            y[i] = s;
        }
        for j in 0..d {
            let x = xi(j);
            for i in j..d {
                y[i] += self.factor[(i, j)] * x;
            }
        }
    }
}

/// (e^{−Bh}, Σ_h) by Van Loan: exp(h·[[B, K⁻¹], [0, −Bᵀ]]) = [[·, G], [0, F]],
/// e^{−Bh} = Fᵀ and Σ_h = FᵀG.
pub fn propagators(b: &DMatrix<f64>, k_inv: &DMatrix<f64>, h: f64) -> (DMatrix<f64>, DMatrix<f64>) {
    let d = b.nrows();
    let mut m = DMatrix::zeros(2 * d, 2 * d);
    m.view_mut((0, 0), (d, d)).copy_from(&(b * h));
    m.view_mut((0, d), (d, d)).copy_from(&(k_inv * h));
    m.view_mut((d, d), (d, d)).copy_from(&(-b.transpose() * h));
    let e = m.exp();
    let f = e.view((d, d), (d, d)).into_owned();
    let g = e.view((0, d), (d, d)).into_owned();
    let phi = f.transpose();
    let cov = &phi * g;
    let cov = (&cov + cov.transpose()) * 0.5;
    (phi, cov)
}

/// The exact transition of dY = −B(Y − m)dτ + θdW over a step h > 0.
pub fn transition(
    b: &DMatrix<f64>,
    m: &DVector<f64>,
    k_inv: &DMatrix<f64>,
    h: f64,
) -> Result<OuTransition> {
    if h <= 0.0 || h.is_nan() || !h.is_finite() {
        return Err(Error::setting("dt", format!("step must be > 0, got {h}")));
    }
    let (mean_map, cov) = propagators(b, k_inv, h);
    let factor = psd_factor(&cov);
    Ok(OuTransition {
        mean_map,
        centre: m.clone(),
        cov,
        factor,
    })
}

/// The lower Cholesky factor L of Σ; when Σ is only semi-definite (rounding, or
/// a singular K⁻¹), the factor of Σ + εI with ε at rounding level.
fn psd_factor(cov: &DMatrix<f64>) -> DMatrix<f64> {
    if let Some(c) = cov.clone().cholesky() {
        return c.l();
    }
    let eps = 1e-14 * cov.diagonal().amax().max(f64::MIN_POSITIVE);
    let d = cov.nrows();
    (cov + DMatrix::identity(d, d) * eps)
        .cholesky()
        .map(|c| c.l())
        .unwrap_or_else(|| DMatrix::zeros(d, d))
}

/// Solves the Lyapunov equation BΣ + ΣBᵀ = Q by the Kronecker form
/// (I⊗B + B⊗I) vec Σ = vec Q (meant for small d; cost O(d⁶)).
pub fn lyapunov(b: &DMatrix<f64>, q: &DMatrix<f64>) -> Result<DMatrix<f64>> {
    let d = b.nrows();
    let n = d * d;
    let mut a = DMatrix::zeros(n, n);
    let id = DMatrix::<f64>::identity(d, d);
    // vec is column-major: vec(BΣ) = (I⊗B)vecΣ, vec(ΣBᵀ) = (B⊗I)vecΣ.
    a += id.kronecker(b);
    a += b.kronecker(&id);
    let rhs = DVector::from_column_slice(q.as_slice());
    let x = a.lu().solve(&rhs).ok_or_else(|| {
        Error::Msg("Lyapunov equation is singular (B has eigenvalues λ, −λ)".into())
    })?;
    let s = DMatrix::from_column_slice(d, d, x.as_slice());
    Ok((&s + s.transpose()) * 0.5)
}

/// The law N(m + e^{−Bτ}(y₀ − m), Σ_τ) of the linear SDE at time τ > 0 from y₀.
pub fn law(
    b: &DMatrix<f64>,
    m: &DVector<f64>,
    k_inv: &DMatrix<f64>,
    y0: &[f64],
    tau: f64,
) -> Result<Gaussian> {
    let (phi, cov) = propagators(b, k_inv, tau);
    let mean = m + phi * (DVector::from_column_slice(y0) - m);
    Gaussian::new(mean, cov)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn example() -> (DMatrix<f64>, DMatrix<f64>) {
        let b = DMatrix::from_row_slice(2, 2, &[1.0, 0.4, -0.3, 0.7]);
        let q = DMatrix::from_row_slice(2, 2, &[1.0, 0.2, 0.2, 0.5]);
        (b, q)
    }

    #[test]
    fn van_loan_matches_lyapunov_form() {
        // Σ_h = Σ∞ − e^{−Bh}Σ∞e^{−Bᵀh} for stable B (two independent routes).
        let (b, q) = example();
        let s_inf = lyapunov(&b, &q).unwrap();
        assert_relative_eq!(&b * &s_inf + &s_inf * b.transpose(), q, epsilon = 1e-12);
        let h = 0.37;
        let (phi, cov) = propagators(&b, &q, h);
        assert_relative_eq!(phi, (-&b * h).exp(), epsilon = 1e-12);
        let want = &s_inf - &phi * &s_inf * phi.transpose();
        assert_relative_eq!(cov, want, epsilon = 1e-12);
    }

    #[test]
    fn zero_drift_is_the_heat_kernel() {
        // B = 0: Σ_τ = τK⁻¹ (eq. 43).
        let (_, q) = example();
        let (phi, cov) = propagators(&DMatrix::zeros(2, 2), &q, 2.5);
        assert_relative_eq!(phi, DMatrix::identity(2, 2), epsilon = 1e-14);
        assert_relative_eq!(cov, q * 2.5, epsilon = 1e-12);
    }

    #[test]
    fn transitions_compose() {
        // Two steps of h give one step of 2h (semigroup of the exact law).
        let (b, q) = example();
        let m = DVector::from_vec(vec![0.5, -1.0]);
        let t1 = transition(&b, &m, &q, 0.2).unwrap();
        let t2 = transition(&b, &m, &q, 0.4).unwrap();
        let cov2 = &t1.mean_map * &t1.cov * t1.mean_map.transpose() + &t1.cov;
        assert_relative_eq!(cov2, t2.cov, epsilon = 1e-12);
        assert_relative_eq!(&t1.mean_map * &t1.mean_map, t2.mean_map, epsilon = 1e-12);
    }
}

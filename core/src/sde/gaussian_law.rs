//! Does a sample follow a given Gaussian law? Three tests with exact or standard
//! null distributions, used against the heat kernel N(γ_τ, τK⁻¹) (eq. 43) and
//! the exact Ornstein–Uhlenbeck law:
//!
//! - **Hotelling T²** for the mean: T² = n(x̄ − μ)ᵀS⁻¹(x̄ − μ), and
//!   (n − d)T²/(d(n − 1)) ~ F(d, n − d) under the null.
//! - **Whitened covariance**: W = L⁻¹SL⁻ᵀ (Σ = LLᵀ) should be I; each entry is
//!   turned into a z-score with its large-n standard error (√(2/(n−1)) on the
//!   diagonal, √(1/(n−1)) off it) and the smallest two-sided p-value is
//!   Bonferroni-corrected over the d(d+1)/2 entries.
//! - **Kolmogorov–Smirnov** per coordinate against the exact marginal, the
//!   smallest p-value Bonferroni-corrected over d coordinates.

use crate::gaussian::Gaussian;
use crate::sde::ensemble::{covariance, mean};
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, FisherSnedecor, Normal};

/// The three statistics and their p-values.
#[derive(Debug, Clone, Serialize)]
pub struct LawCheck {
    /// Sample size.
    pub n: usize,
    /// Hotelling T².
    pub hotelling_t2: f64,
    /// Its p-value (F distribution).
    pub hotelling_p: f64,
    /// Largest |z| of the whitened covariance entries.
    pub whitened_max_z: f64,
    /// Bonferroni p-value of that largest |z|.
    pub whitened_p: f64,
    /// Largest KS distance over coordinates.
    pub ks_max_d: f64,
    /// Bonferroni p-value of the smallest per-coordinate KS p-value.
    pub ks_p: f64,
}

impl LawCheck {
    /// The smallest of the three p-values.
    pub fn min_p(&self) -> f64 {
        self.hotelling_p.min(self.whitened_p).min(self.ks_p)
    }
}

/// Tests the n × d row-major sample `x` against `law`.
pub fn check(x: &[f64], law: &Gaussian) -> LawCheck {
    let d = law.dim();
    let n = x.len() / d;
    let (t2, hp) = hotelling(x, law);
    let (wz, wp) = whitened_covariance(x, law);
    let (kd, kp) = ks_marginals(x, law);
    LawCheck {
        n,
        hotelling_t2: t2,
        hotelling_p: hp,
        whitened_max_z: wz,
        whitened_p: wp,
        ks_max_d: kd,
        ks_p: kp,
    }
}

/// Hotelling T² of the sample mean against the law's mean, and its p-value.
pub fn hotelling(x: &[f64], law: &Gaussian) -> (f64, f64) {
    let d = law.dim();
    let n = x.len() / d;
    let r = mean(x, d) - law.mean();
    let s = covariance(x, d);
    let Some(c) = s.cholesky() else {
        return (f64::INFINITY, 0.0);
    };
    let t2 = n as f64 * r.dot(&c.solve(&r));
    if n <= d {
        return (t2, f64::NAN);
    }
    let f = (n - d) as f64 * t2 / (d as f64 * (n - 1) as f64);
    let dist = FisherSnedecor::new(d as f64, (n - d) as f64).expect("valid degrees of freedom");
    (t2, dist.sf(f))
}

/// The largest |z| of the whitened sample covariance and its Bonferroni p-value.
pub fn whitened_covariance(x: &[f64], law: &Gaussian) -> (f64, f64) {
    let d = law.dim();
    let n = x.len() / d;
    let s = covariance(x, d);
    let l = law.chol_l();
    let a = l.solve_lower_triangular(&s).expect("L is invertible");
    let w = l
        .solve_lower_triangular(&a.transpose())
        .expect("L is invertible");
    let nu = (n as f64 - 1.0).max(1.0);
    let mut zmax: f64 = 0.0;
    for i in 0..d {
        for j in 0..=i {
            let z = if i == j {
                (w[(i, i)] - 1.0) / (2.0 / nu).sqrt()
            } else {
                w[(i, j)] / (1.0 / nu).sqrt()
            };
            zmax = zmax.max(z.abs());
        }
    }
    let k = (d * (d + 1) / 2) as f64;
    (zmax, (k * two_sided(zmax)).min(1.0))
}

/// The largest per-coordinate KS distance and the Bonferroni p-value.
pub fn ks_marginals(x: &[f64], law: &Gaussian) -> (f64, f64) {
    let d = law.dim();
    let mut dmax: f64 = 0.0;
    let mut pmin: f64 = 1.0;
    for j in 0..d {
        let sd = law.cov()[(j, j)].sqrt();
        let col: Vec<f64> = x.chunks(d).map(|r| r[j]).collect();
        let (dn, p) = ks_normal(&col, law.mean()[j], sd);
        dmax = dmax.max(dn);
        pmin = pmin.min(p);
    }
    (dmax, (d as f64 * pmin).min(1.0))
}

/// One-sample KS test of `x` against N(μ, sd²): (Dₙ, p-value), the p-value from
/// the Kolmogorov distribution with Stephens' finite-n correction
/// λ = (√n + 0.12 + 0.11/√n)Dₙ.
pub fn ks_normal(x: &[f64], mu: f64, sd: f64) -> (f64, f64) {
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let norm = Normal::new(mu, sd).expect("sd > 0");
    let mut dn: f64 = 0.0;
    for (i, &xi) in v.iter().enumerate() {
        let f = norm.cdf(xi);
        dn = dn.max((i as f64 + 1.0) / n - f).max(f - i as f64 / n);
    }
    let lam = (n.sqrt() + 0.12 + 0.11 / n.sqrt()) * dn;
    (dn, kolmogorov_sf(lam))
}

/// P(K > λ) for the Kolmogorov distribution: 2Σ(−1)^{k−1}e^{−2k²λ²}.
pub fn kolmogorov_sf(lam: f64) -> f64 {
    if lam < 0.2 {
        return 1.0;
    }
    let mut s = 0.0;
    for k in 1..=100 {
        let kf = k as f64;
        let term = (-2.0 * kf * kf * lam * lam).exp();
        s += if k % 2 == 1 { term } else { -term };
        if term < 1e-16 {
            break;
        }
    }
    (2.0 * s).clamp(0.0, 1.0)
}

/// P(|Z| > z) for a standard normal Z.
pub fn two_sided(z: f64) -> f64 {
    statrs::function::erf::erfc(z / std::f64::consts::SQRT_2)
}

/// Two-sample KS test: (D, p-value) with the effective size nₑ = n₁n₂/(n₁ + n₂)
/// in Stephens' correction.
pub fn ks_two_sample(a: &[f64], b: &[f64]) -> (f64, f64) {
    let mut x = a.to_vec();
    let mut y = b.to_vec();
    x.sort_by(f64::total_cmp);
    y.sort_by(f64::total_cmp);
    let (n1, n2) = (x.len() as f64, y.len() as f64);
    let (mut i, mut j, mut dn) = (0usize, 0usize, 0.0f64);
    while i < x.len() && j < y.len() {
        let v = x[i].min(y[j]);
        while i < x.len() && x[i] <= v {
            i += 1;
        }
        while j < y.len() && y[j] <= v {
            j += 1;
        }
        dn = dn.max((i as f64 / n1 - j as f64 / n2).abs());
    }
    let ne = n1 * n2 / (n1 + n2);
    let lam = (ne.sqrt() + 0.12 + 0.11 / ne.sqrt()) * dn;
    (dn, kolmogorov_sf(lam))
}

/// Do two n × d samples share a law? The smallest of the per-coordinate
/// two-sample KS p-values and the two-sample mean z-tests (Welch), Bonferroni-
/// corrected over the 2d tests.
pub fn same_law(x: &[f64], y: &[f64], d: usize) -> f64 {
    let (mx, my) = (mean(x, d), mean(y, d));
    let (cx, cy) = (covariance(x, d), covariance(y, d));
    let (nx, ny) = ((x.len() / d) as f64, (y.len() / d) as f64);
    let mut pmin: f64 = 1.0;
    for j in 0..d {
        let a: Vec<f64> = x.chunks(d).map(|r| r[j]).collect();
        let b: Vec<f64> = y.chunks(d).map(|r| r[j]).collect();
        pmin = pmin.min(ks_two_sample(&a, &b).1);
        let z = (mx[j] - my[j]) / (cx[(j, j)] / nx + cy[(j, j)] / ny).sqrt();
        pmin = pmin.min(two_sided(z.abs()));
    }
    (2.0 * d as f64 * pmin).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kolmogorov_known_values() {
        // Tabulated: P(K > 1.3581) = 0.05, P(K > 1.6276) = 0.01.
        assert!((kolmogorov_sf(1.3581) - 0.05).abs() < 1e-4);
        assert!((kolmogorov_sf(1.6276) - 0.01).abs() < 1e-4);
    }
}

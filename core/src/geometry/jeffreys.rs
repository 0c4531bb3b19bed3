//! The Jeffreys prior π_J(θ) ∝ √det I(θ): the Riemannian volume density of the
//! Fisher metric, invariant under reparametrisation.

use super::Metric;
use crate::error::{Error, Result};
use crate::linalg;

/// ln √det g(θ), the unnormalised log Jeffreys density: the metric's own
/// closed form when it has one ([`Metric::known_ln_sqrt_det`]), else by
/// Cholesky (Σ ln Lᵢᵢ).
///
/// # Errors
/// The metric's own errors; [`Error::Failed`] (a failed computation, exit 1,
/// not bad input) when the metric at θ is beyond double precision (an entry
/// that overflowed, or a diagonal entry that underflowed to 0 or subnormal:
/// normal σ ≤ 10⁻¹⁶⁰ or ≥ 10¹⁶⁰) or the result is not finite.
pub fn ln_density(m: &dyn Metric, theta: &[f64]) -> Result<f64> {
    let v = match m.known_ln_sqrt_det(theta) {
        Some(v) => v?,
        None => {
            let g = m.metric(theta)?;
            super::beyond_double(&g, theta, "the Jeffreys density ln √det I", "ln √det I")?;
            let c = linalg::cholesky(&g, "Fisher metric")?;
            c.l_dirty().diagonal().iter().map(|v| v.ln()).sum()
        }
    };
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::failed(
            "the Jeffreys density ln √det I",
            format!("it is {v} at θ = {theta:?}"),
        ))
    }
}

/// √det g(θ), the unnormalised Jeffreys density.
pub fn density(m: &dyn Metric, theta: &[f64]) -> Result<f64> {
    Ok(ln_density(m, theta)?.exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::testmodels;
    use approx::assert_relative_eq;

    #[test]
    fn bernoulli_is_beta_half_half() {
        // Oracle (oracles.md §5): Bernoulli → Beta(½, ½), density
        // p^{−½}(1−p)^{−½}/π; √det I = 1/√(p(1−p)) has that shape, so the
        // normalised density (÷ π = ∫√I dp) equals the Beta(½, ½) pdf.
        let m = testmodels::bernoulli();
        for p in [0.05, 0.3, 0.5, 0.9] {
            let beta = statrs::distribution::Beta::new(0.5, 0.5).unwrap();
            use statrs::distribution::Continuous;
            assert_relative_eq!(
                density(&m, &[p]).unwrap() / std::f64::consts::PI,
                beta.pdf(p),
                max_relative = 1e-12
            );
        }
    }

    #[test]
    fn normal_is_one_over_sigma_squared() {
        // Oracle (oracles.md §5): normal (μ, σ) → ∝ 1/σ² (constant √2 dropped):
        // σ²·√det I must be the same at every point and independent of μ.
        let m = testmodels::normal_sigma();
        let c0 = density(&m, &[0.0, 1.0]).unwrap();
        for p in [[3.0, 0.2], [-1.0, 4.0], [0.5, 1.0]] {
            assert_relative_eq!(
                density(&m, &p).unwrap() * p[1] * p[1],
                c0,
                max_relative = 1e-12
            );
        }
        assert_relative_eq!(c0, 2f64.sqrt(), max_relative = 1e-12);
    }

    #[test]
    fn poisson_is_inverse_sqrt() {
        // Oracle (oracles.md §5): Poisson → λ^{−½}.
        let m = testmodels::poisson();
        assert_relative_eq!(density(&m, &[4.0]).unwrap(), 0.5, max_relative = 1e-12);
    }
}

//! Special functions not provided by `statrs`: the trigamma function ψ′.
//!
//! ln Γ, ψ (digamma) and ln B are taken from `statrs::function`; re-exported here
//! so that models find every special function in one place.

pub use statrs::function::beta::ln_beta;
pub use statrs::function::gamma::{digamma, ln_gamma};

/// The trigamma function ψ′(x) = d²/dx² ln Γ(x), for x > 0.
///
/// Recurrence ψ′(x) = ψ′(x + 1) + 1/x² up to x ≥ 10, then the asymptotic series
/// ψ′(x) ≈ 1/x + 1/(2x²) + Σ B₂ₖ/x^{2k+1}; relative error below 1e-15.
pub fn trigamma(mut x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut acc = 0.0;
    while x < 10.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let z = 1.0 / (x * x);
    // Bernoulli-number series: 1/6, -1/30, 1/42, -1/30, 5/66, -691/2730, 7/6
    let series = 1.0 / x
        + z / 2.0
        + z / x
            * (1.0 / 6.0
                + z * (-1.0 / 30.0
                    + z * (1.0 / 42.0
                        + z * (-1.0 / 30.0
                            + z * (5.0 / 66.0 + z * (-691.0 / 2730.0 + z * 7.0 / 6.0))))));
    acc + series
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn trigamma_closed_forms() {
        // ψ′(1) = π²/6, ψ′(1/2) = π²/2, ψ′(n+1) = π²/6 − Σ_{k≤n} 1/k².
        let pi2 = std::f64::consts::PI.powi(2);
        assert_relative_eq!(trigamma(1.0), pi2 / 6.0, max_relative = 1e-14);
        assert_relative_eq!(trigamma(0.5), pi2 / 2.0, max_relative = 1e-14);
        assert_relative_eq!(
            trigamma(4.0),
            pi2 / 6.0 - 1.0 - 0.25 - 1.0 / 9.0,
            max_relative = 1e-14
        );
    }

    #[test]
    fn trigamma_is_derivative_of_digamma() {
        for &x in &[0.3, 1.7, 9.0, 40.0] {
            let h = 1e-5 * x;
            let fd = (digamma(x + h) - digamma(x - h)) / (2.0 * h);
            assert_relative_eq!(trigamma(x), fd, max_relative = 1e-7);
        }
    }
}

//! KL divergences (eq. 30): non-negative, zero at θ′ = θ, and equal to a Monte
//! Carlo average of the log-ratio.

mod common;

use bayesrg_core::rng;

#[test]
fn kl_is_zero_on_the_diagonal_and_positive_off_it() {
    for case in common::cases() {
        let m = case.model.as_ref();
        for a in &case.points {
            let k0 = m.kl(a, a).unwrap();
            // Exactly zero for most closed forms; the mvn form goes through a
            // Cholesky solve (tr(Σ⁻¹Σ) = d to rounding), hence 1e-12.
            assert!(k0.abs() <= 1e-12, "{}: KL(θ‖θ) = {k0} at {a:?}", case.name);
            for b in &case.points {
                if a != b {
                    let k = m.kl(a, b).unwrap();
                    assert!(k > 0.0, "{}: KL({a:?}‖{b:?}) = {k}", case.name);
                }
            }
        }
    }
}

/// Monte Carlo samples per KL check.
const N: usize = 100_000;

#[test]
fn kl_closed_form_matches_monte_carlo_log_ratio() {
    // KL(θ‖θ′) = E_θ[ln p(Y|θ) − ln p(Y|θ′)] (eq. 30), estimated from N draws
    // Y ~ p(·|θ); its standard error is sd(log-ratio)/√N. One pair per model
    // configuration (16 checks), each within 4 standard errors: a correct closed
    // form fails one with probability about 16 × 6.3e-5 ≈ 1e-3.
    for (c, case) in common::cases().iter().enumerate() {
        let m = case.model.as_ref();
        let (a, b) = (&case.points[0], &case.points[1]);
        let parts = rng::par_chunks(N, 4242 + c as u64, |_, range, r| {
            let mut y = vec![0.0; m.obs_dim()];
            let (mut s, mut s2) = (0.0, 0.0);
            for _ in range {
                m.sample(a, r, &mut y);
                let l = m.log_likelihood(a, &y) - m.log_likelihood(b, &y);
                s += l;
                s2 += l * l;
            }
            (s, s2)
        });
        let (s, s2) = parts
            .into_iter()
            .fold((0.0, 0.0), |(x, y), (p, q)| (x + p, y + q));
        let n = N as f64;
        let mean = s / n;
        let se = ((s2 / n - mean * mean) * n / (n - 1.0) / n).sqrt();
        let kl = m.kl(a, b).unwrap();
        assert!(
            (mean - kl).abs() <= 4.0 * se,
            "{}: KL({a:?}‖{b:?}) closed form {kl} vs Monte Carlo {mean} ± {se}",
            case.name
        );
    }
}

#[test]
fn kl_reference_values() {
    use bayesrg_core::Model;
    use bayesrg_models::{Exponential, Normal};
    // oracles.md §2: KL(N(1, 2²) ‖ N(5, 1)) = 8.806852819440055 and
    // KL(Exp(0.2) ‖ Exp(1)) = 2.3905620875658995.
    let k = Normal {}.kl(&[1.0, 2.0], &[5.0, 1.0]).unwrap();
    assert!((k - 8.806852819440055).abs() < 1e-13, "{k}");
    let k = Exponential {}.kl(&[0.2], &[1.0]).unwrap();
    assert!((k - 2.3905620875658995).abs() < 1e-13, "{k}");
}

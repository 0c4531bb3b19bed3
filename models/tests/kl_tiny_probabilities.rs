//! KL divergences of the finite exponential family (eq. 27) when outcome
//! probabilities are tiny (down to 8·10⁻⁴⁰): the closed form (Bregman form with
//! ΔA by log-sum-exp), the exact sum over the support and ln p(y|θ) itself keep
//! full relative accuracy (FINDINGS.md A1).
//!
//! Oracle: tests/oracles/tiny_probability_kl.py (mpmath at 50 digits on the
//! same inputs; the values below are its output).
// Oracle values are pasted with the digits mpmath printed (tests/oracles/).
#![allow(clippy::excessive_precision)]

use bayesrg_core::Model;
use bayesrg_core::kl::{self, KlOptions};
use bayesrg_models::ExpFamilyFinite;
use nalgebra::DMatrix;

fn model() -> ExpFamilyFinite {
    ExpFamilyFinite::new(DMatrix::from_row_slice(
        4,
        2,
        &[0.0, 1.0, 1.0, 0.0, 2.0, 3.0, -1.0, 0.5],
    ))
    .unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}

/// (θ, θ′, KL from mpmath).
const CASES: [([f64; 2], [f64; 2], f64); 6] = [
    ([20.0, -10.0], [-1.0, 2.0], 3.1010271422198116995),
    ([20.0, -10.0], [20.001, -10.0], 1.5290009859527340009e-13),
    ([10.0, -5.0], [10.0001, -5.0], 2.7634054947573574343e-12),
    ([-1.0, 2.0], [20.0, -10.0], 41.162389953272993532),
    ([2.0, -1.0], [-1.0, 2.0], 2.4999902194135677554),
    ([40.0, -20.0], [40.0, -19.999], 1.1695079449955170945e-20),
];

#[test]
fn closed_form_keeps_full_accuracy_at_tiny_probabilities() {
    let m = model();
    for (a, b, want) in CASES {
        let got = m.kl(&a, &b).unwrap();
        assert!(rel(got, want) < 1e-12, "{a:?} → {b:?}: {got} vs {want}");
    }
}

#[test]
fn exact_sum_and_log_likelihood_keep_full_accuracy() {
    let m = model();
    // ln p(3 | [20, −10]) = −ln1p(Σ others): 3·10⁻⁷, not 15 − 15.0000003.
    let l = m.log_likelihood(&[20.0, -10.0], &[3.0]);
    assert!(rel(l, -3.0590227434426059421e-7) < 1e-13, "{l}");
    let opt = KlOptions {
        samples: 2000,
        ..KlOptions::default()
    };
    for (a, b, want) in CASES {
        let r = kl::divergence(&m, &a, &b, &opt).unwrap();
        let s = r.exact_sum.unwrap().value;
        // The exact sum Σ p·(ln p − ln p′) carries the rounding of each log-
        // likelihood, a few ε·(|ln p| + |ln p′|), weighted by p: the bound.
        let bound: f64 = (0..4)
            .map(|y| {
                let y = [y as f64];
                let p = m.log_likelihood(&a, &y).exp();
                p * (m.log_likelihood(&a, &y).abs() + m.log_likelihood(&b, &y).abs())
            })
            .sum::<f64>()
            * 8.0
            * f64::EPSILON;
        assert!(
            (s - want).abs() <= bound.max(1e-15 * want),
            "{a:?} → {b:?}: {s} vs {want} (bound {bound:e})"
        );
    }
}

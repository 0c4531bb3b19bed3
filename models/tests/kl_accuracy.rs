//! Closed-form KL divergences where their terms cancel (issue 16, item 1):
//! θ′ within 10⁻⁴…10⁻¹² (relative) of θ, and parameters far from 1.
//!
//! Oracle: tests/oracles/kl_near_coincidence.py — each KL from its defining
//! formula in mpmath at 50 digits, on the same f64 inputs (the values below are
//! its output). The tolerance, 10⁻¹² relative, is far below what the
//! term-by-term formulas keep (the first test shows one losing every digit).

use bayesrg_core::Model;
use bayesrg_models::*;
use nalgebra::DMatrix;

fn model(name: &str) -> Box<dyn Model> {
    match name {
        "beta" => Box::new(Beta {}),
        "gamma" => Box::new(Gamma {}),
        "bernoulli" => Box::new(Bernoulli {}),
        "categorical" => Box::new(Categorical::new(3).unwrap()),
        "poisson" => Box::new(Poisson {}),
        "exponential" => Box::new(Exponential {}),
        "normal" => Box::new(Normal {}),
        "normal_var" => Box::new(NormalVar {}),
        "mvn" => Box::new(Mvn::new(2).unwrap()),
        "exp_family_finite" => Box::new(
            ExpFamilyFinite::new(DMatrix::from_row_slice(
                4,
                2,
                &[0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.5],
            ))
            .unwrap(),
        ),
        "sum_of_exponentials" => Box::new(
            SumOfExponentials::new(4, (1..=12).map(|k| 0.5 * k as f64).collect(), 0.1).unwrap(),
        ),
        _ => unreachable!("{name}"),
    }
}

type Row = (&'static str, &'static [f64], &'static [f64], f64);

/// (model, θ₁, θ₂, KL(θ₁‖θ₂)) from tests/oracles/kl_near_coincidence.py.
const TABLE: &[Row] = &[
    (
        "beta",
        &[200.0, 300.0],
        &[200.013, 299.991],
        5.427594472690811e-07,
    ),
    (
        "beta",
        &[200.0, 300.0],
        &[200.00001, 300.00001],
        1.7170527579097878e-14,
    ),
    (
        "beta",
        &[0.2, 0.2],
        &[0.200001, 0.199998],
        6.203105273892147e-11,
    ),
    (
        "beta",
        &[1000000.0, 0.001],
        &[1000010.0, 0.001000001],
        5.400002494696729e-13,
    ),
    (
        "beta",
        &[0.001, 0.001],
        &[0.001000001, 0.001000002],
        1.3749948507276026e-12,
    ),
    (
        "beta",
        &[1000000.0, 1000000.0],
        &[1000001.0, 1000001.0],
        2.4999995833333335e-13,
    ),
    (
        "beta",
        &[500000.0, 2000000.0],
        &[500003.0, 1999999.0],
        8.44999115752402e-06,
    ),
    (
        "gamma",
        &[2000.0, 0.7],
        &[2000.2, 0.7000099999999999],
        7.349124173183528e-06,
    ),
    (
        "gamma",
        &[2000.0, 0.7],
        &[2000.0001, 0.70000003],
        5.164550901078609e-14,
    ),
    (
        "gamma",
        &[1000000.0, 1.0],
        &[1000001.0, 1.000001],
        2.499999166667117e-13,
    ),
    (
        "gamma",
        &[0.001, 0.001],
        &[0.001000001, 0.001000001],
        4.995004880075984e-13,
    ),
    (
        "gamma",
        &[0.001, 1000.0],
        &[0.00099999, 1000.02],
        5.0400410795297924e-11,
    ),
    (
        "gamma",
        &[1000000.0, 1e-06],
        &[1000000.0, 1.000001e-06],
        4.999996666945204e-07,
    ),
    ("bernoulli", &[1e-06], &[1.0001e-06], 4.9996716916704184e-15),
    (
        "bernoulli",
        &[1e-06],
        &[9.999969999999999e-07],
        4.500013500273184e-18,
    ),
    ("bernoulli", &[0.3], &[0.300000001], 2.380952507591902e-18),
    (
        "bernoulli",
        &[0.999999],
        &[0.99999899999],
        4.999972494174186e-17,
    ),
    (
        "bernoulli",
        &[0.5],
        &[0.500000000001],
        1.999911514098255e-24,
    ),
    (
        "categorical",
        &[1e-06, 0.5],
        &[1.00001e-06, 0.499999999],
        5.1979768738425223e-17,
    ),
    (
        "categorical",
        &[0.2, 0.5],
        &[0.20000000010000002, 0.5000000001],
        1.0166668351050577e-19,
    ),
    ("poisson", &[1e-06], &[1.0001e-06], 4.999666691665418e-15),
    (
        "poisson",
        &[1000000000000.0],
        &[1000000001000.0],
        4.999999996666667e-07,
    ),
    ("poisson", &[3.5], &[3.500000001], 1.4285716647003895e-19),
    (
        "exponential",
        &[1e-08],
        &[1.00001e-08],
        4.99996666696109e-11,
    ),
    (
        "exponential",
        &[100000000.0],
        &[99999990.0],
        5.0000003333333585e-15,
    ),
    (
        "exponential",
        &[0.8],
        &[0.8000000001],
        7.812501292167308e-21,
    ),
    (
        "normal",
        &[10000000000.0, 1.0],
        &[10000000000.0001, 1.0001],
        1.4915897343558442e-08,
    ),
    (
        "normal",
        &[0.0, 1e-05],
        &[1e-09, 1.0001000000000001e-05],
        1.499733370829531e-08,
    ),
    (
        "normal",
        &[0.5, 1.5],
        &[0.5, 1.5000000015000001],
        1.0000001638140818e-18,
    ),
    (
        "normal",
        &[-3.0, 1000000.0],
        &[-2.0, 999999.0],
        1.5000026666704166e-12,
    ),
    (
        "normal_var",
        &[0.5, 2.25],
        &[0.5, 2.25000000225],
        2.500000410368538e-19,
    ),
    (
        "normal_var",
        &[0.0, 1e-12],
        &[1e-07, 9.9999e-13],
        0.005000050025500338,
    ),
    (
        "mvn",
        &[0.5, -1.0, 2.0, 0.6, 1.0],
        &[0.5000001, -1.0, 2.0000001, 0.5999999, 1.0000002],
        3.5730203815434446e-14,
    ),
    (
        "exp_family_finite",
        &[0.3, -0.5],
        &[0.3000001, -0.5000002],
        7.131339639310642e-15,
    ),
    (
        "exp_family_finite",
        &[20.0, -30.0],
        &[20.0001, -30.0],
        3.323919020242654e-11,
    ),
    (
        "sum_of_exponentials",
        &[0.3, 1.0, 3.0, 6.0],
        &[0.30000001, 0.99999999, 3.0, 6.0000001],
        5.2216911293427376e-14,
    ),
];

#[test]
fn closed_form_kls_keep_their_digits_near_coincidence() {
    let mut worst: (f64, &str) = (0.0, "");
    for (name, a, b, want) in TABLE {
        let m = model(name);
        m.check_params(a).unwrap();
        let got = m.kl(a, b).unwrap();
        let rel = ((got - want) / want).abs();
        let tol = 1e-11;
        assert!(
            rel < tol,
            "{name}: KL({a:?}‖{b:?}) = {got:e}, mpmath {want:e} (relative error {rel:.1e})"
        );
        if rel > worst.0 {
            worst = (rel, name);
        }
    }
    println!("worst relative error {:.1e} ({})", worst.0, worst.1);
}

#[test]
fn the_term_by_term_formulas_lose_their_digits_there() {
    // The check above can fail: the textbook gamma KL, evaluated term by term
    // at shape 2000 (issue 16, item 1), is off by more than 10⁻⁴ relative.
    use bayesrg_core::special::{digamma, ln_gamma};
    let (k1, b1, k2, b2) = (2000.0f64, 0.7f64, 2000.0001f64, 0.70000003f64);
    let naive = (k1 - k2) * digamma(k1) - ln_gamma(k1)
        + ln_gamma(k2)
        + k2 * (b1.ln() - b2.ln())
        + k1 * (b2 - b1) / b1;
    let want = 5.164550901078609e-14;
    assert!(((naive - want) / want).abs() > 1e-4, "{naive:e}");
}

#[test]
fn categorical_kl_is_infinite_where_q_has_a_zero_that_p_has_not() {
    // KL(p‖q) = Σ pₖ ln(pₖ/qₖ) = +∞ when qₖ = 0 < pₖ (not "no closed form"),
    // finite when the zero is in p, NaN for a q that is not a probability.
    let m = Categorical::new(3).unwrap();
    assert_eq!(m.kl(&[0.2, 0.5], &[0.0, 0.5]), Some(f64::INFINITY));
    assert_eq!(m.kl(&[0.2, 0.5], &[0.5, 0.5]), Some(f64::INFINITY)); // q₃ = 0
    let k = m.kl(&[0.0, 0.5], &[0.2, 0.5]).unwrap();
    // p = (0, ½, ½), q = (0.2, ½, 0.3): ½ ln(½/0.3).
    assert!((k - 0.5 * (0.5f64 / 0.3).ln()).abs() < 1e-15, "{k}");
    assert!(m.kl(&[0.2, 0.5], &[0.7, 0.5]).unwrap().is_nan());
    let b = Bernoulli {};
    assert_eq!(b.kl(&[0.3], &[0.0]), Some(f64::INFINITY));
    assert_eq!(b.kl(&[0.3], &[1.0]), Some(f64::INFINITY));
}

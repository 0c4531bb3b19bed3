//! The validator on every registered model's example instance: a correct model
//! must pass, and the same model with a claimed Fisher wrong by a factor 2 in
//! one entry must fail. Oracle: each model's closed form (or JᵀΣ⁻¹J / KL
//! Hessian) as the validator uses it; the thresholds are those of
//! `bayesrg_core::validate` (family-wise false-failure rate below 1e-3 per run).

use bayesrg::core::registry;
use bayesrg::core::validate::{Settings, validate};

/// A very sloppy model (condition number ≈ 1.3·10⁷): along its sloppiest
/// direction KL is far from quadratic even at ε = 10⁻⁴ (|ratio − 1| = 1.5·10⁻³
/// there), so the expansion check must use the ε → 0 extrapolation. Oracle: the
/// closed form I = JᵀJ/σ² is exact, so the validator must pass; the same
/// matrix claimed with one diagonal entry doubled must still fail.
#[test]
fn very_sloppy_sum_of_exponentials_passes_and_a_doubled_claim_fails() {
    bayesrg::ensure_linked();
    let model: Box<dyn bayesrg::core::Model> = serde_json::from_value(serde_json::json!({
        "type": "sum_of_exponentials",
        "terms": 4,
        "times": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0],
        "sigma": 0.1
    }))
    .unwrap();
    let theta = [0.3, 1.0, 3.0, 10.0];
    let settings = Settings {
        samples: 20_000,
        seed: 7,
        claimed: None,
    };
    let r = validate(model.as_ref(), &theta, &settings).unwrap();
    assert!(r.verdict.pass, "{:?}", r.verdict.reasons);
    let mut wrong: Vec<Vec<f64>> = bayesrg::core::validate::rows(&model.fisher(&theta).unwrap());
    wrong[3][3] *= 2.0;
    let r = validate(
        model.as_ref(),
        &theta,
        &Settings {
            claimed: Some(wrong),
            ..settings
        },
    )
    .unwrap();
    assert!(!r.verdict.pass);
}

#[test]
fn every_registered_model_passes_and_a_doubled_entry_fails() {
    bayesrg::ensure_linked();
    let entries = registry::models().unwrap();
    assert!(!entries.is_empty());
    for e in entries {
        let m = (e.example)();
        let th = (e.example_theta)();
        let s = Settings {
            samples: 50_000,
            seed: 11,
            claimed: None,
        };
        let r = validate(m.as_ref(), &th, &s).unwrap();
        assert!(r.verdict.pass, "{}: {:#?}", e.tag, r.verdict.reasons);
        // The best matrix the validator had, with one diagonal entry doubled.
        let best = bayesrg::core::fisher::best(m.as_ref(), &th, 50_000, 11).unwrap();
        let mut claim: Vec<Vec<f64>> = (0..best.nrows())
            .map(|i| best.row(i).iter().copied().collect())
            .collect();
        let last = claim.len() - 1;
        claim[last][last] *= 2.0;
        let s = Settings {
            claimed: Some(claim),
            ..s
        };
        let r = validate(m.as_ref(), &th, &s).unwrap();
        assert!(!r.verdict.pass, "{}: a doubled entry passed", e.tag);
    }
}

mod random_points {
    //! Over random valid θ of the normal pair, in both parametrisations: the
    //! exact claim I = diag(1/σ², 2/σ²) (resp. diag(1/v, 1/(2v²)), docs/conventions.md)
    //! passes, and the same claim with one diagonal entry scaled by a factor
    //! between 1.5 and 3 (or its inverse) fails.
    use bayesrg::core::Model;
    use bayesrg::core::validate::{Settings, validate};
    use bayesrg::models::{Normal, NormalVar};
    use proptest::prelude::*;

    fn claim(var_form: bool, s: f64) -> Vec<Vec<f64>> {
        let (a, b) = if var_form {
            let v = s * s;
            (1.0 / v, 0.5 / (v * v))
        } else {
            (1.0 / (s * s), 2.0 / (s * s))
        };
        vec![vec![a, 0.0], vec![0.0, b]]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
        #[test]
        fn exact_claim_passes_scaled_entry_fails(
            mu in -5.0f64..5.0,
            log_sigma in -3.0f64..3.0,
            var_form in any::<bool>(),
            entry in 0usize..2,
            factor in 1.5f64..3.0,
            shrink in any::<bool>(),
            seed in 0u64..1000,
        ) {
            let s = log_sigma.exp();
            let (model, theta): (Box<dyn Model>, Vec<f64>) = if var_form {
                (Box::new(NormalVar {}), vec![mu, s * s])
            } else {
                (Box::new(Normal {}), vec![mu, s])
            };
            let mut settings = Settings { samples: 20_000, seed, claimed: Some(claim(var_form, s)) };
            let r = validate(model.as_ref(), &theta, &settings).unwrap();
            prop_assert!(r.verdict.pass, "{:?}", r.verdict.reasons);
            let mut wrong = claim(var_form, s);
            wrong[entry][entry] *= if shrink { 1.0 / factor } else { factor };
            settings.claimed = Some(wrong);
            let r = validate(model.as_ref(), &theta, &settings).unwrap();
            prop_assert!(!r.verdict.pass);
        }
    }
}

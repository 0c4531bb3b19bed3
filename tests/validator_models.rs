//! The validator on every registered model's example instance: a correct model
//! must pass, and the same model with a claimed Fisher wrong by a factor 2 in
//! one entry must fail. Oracle: each model's closed form (or JᵀΣ⁻¹J / KL
//! Hessian) as the validator uses it; the thresholds are those of
//! `bayesrg_core::validate` (family-wise false-failure rate below 1e-3 per run).

use bayesrg::core::registry;
use bayesrg::core::validate::{Settings, validate};

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

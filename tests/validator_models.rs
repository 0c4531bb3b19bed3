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
        seed: bayesrg::core::rng::Seed::new(7),
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
            seed: bayesrg::core::rng::Seed::new(11),
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
            let mut settings = Settings { samples: 20_000, seed: bayesrg::core::rng::Seed::new(seed), claimed: Some(claim(var_form, s)) };
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

mod issue_16 {
    //! The cases of issue 16, items 1, 2, 3 and 9, as a user meets them: the
    //! model named by its type in JSON, validated at the point of the issue.
    //! Each correct model must pass and the same metric with one entry off by
    //! 1 % must fail (not "unresolved"). Oracles: the closed forms, checked
    //! against mpmath in tests/oracles/fisher_and_log_density.py (beta, gamma)
    //! and below (normal, Bernoulli: I by hand).
    use bayesrg::core::Model;
    use bayesrg::core::validate::{Settings, rows, validate};

    fn model(ty: &str) -> Box<dyn Model> {
        bayesrg::ensure_linked();
        serde_json::from_value(serde_json::json!({ "type": ty })).unwrap()
    }

    /// Passes with the samples of the issue (50 000); a claim with I[i][i]
    /// ×1.01 fails for every i.
    fn passes_and_one_percent_fails(ty: &str, theta: &[f64], want: &[f64]) {
        let m = model(ty);
        let s = Settings {
            samples: 50_000,
            seed: bayesrg::core::rng::Seed::new(42),
            claimed: None,
        };
        let r = validate(m.as_ref(), theta, &s).unwrap();
        assert!(
            r.verdict.pass,
            "{ty} at {theta:?}: {:#?}",
            r.verdict.reasons
        );
        // The reference is the closed form and equals the outside oracle.
        let f = m.fisher(theta).unwrap();
        for (k, w) in want.iter().enumerate() {
            let (i, j) = (k / f.ncols(), k % f.ncols());
            assert!(
                (f[(i, j)] - w).abs() <= 1e-13 * w.abs(),
                "{ty}: I[{i}][{j}] = {} vs {w}",
                f[(i, j)]
            );
        }
        for i in 0..f.nrows() {
            let mut c = rows(&f);
            c[i][i] *= 1.01;
            let r = validate(
                m.as_ref(),
                theta,
                &Settings {
                    claimed: Some(c),
                    ..s.clone()
                },
            )
            .unwrap();
            assert!(
                !r.verdict.pass && !r.verdict.inconclusive,
                "{ty}: 1 % off in I[{i}][{i}] passed"
            );
            // Not only the comparison with the closed form: the claim also
            // fails the KL expansion (eq. 31), independently of it.
            assert!(
                r.checks
                    .iter()
                    .any(|c| !c.pass && c.name.starts_with("claimed: KL expansion")),
                "{ty}: {:#?}",
                r.verdict.reasons
            );
        }
    }

    #[test]
    fn item_1_closed_forms_that_cancel() {
        // mpmath: ψ′(200) − ψ′(500), −ψ′(500), ψ′(300) − ψ′(500); ψ′(2000).
        passes_and_one_percent_fails(
            "beta",
            &[200.0, 300.0],
            &[
                0.0030105194998969018,
                -0.0020020013333322665,
                -0.0020020013333322665,
                0.001336893728382411,
            ],
        );
        passes_and_one_percent_fails(
            "gamma",
            &[2000.0, 0.7],
            &[
                0.0005001250208333323,
                -1.4285714285714286,
                -1.4285714285714286,
                4081.632653061225,
            ],
        );
    }

    #[test]
    fn item_2_samples_at_the_edge_of_the_support() {
        // mpmath: ψ′(0.2) − ψ′(0.4), −ψ′(0.4); ψ′(10⁻³), −1/β, k/β².
        passes_and_one_percent_fails(
            "beta",
            &[0.2, 0.2],
            &[
                18.99202061489418,
                -7.275356590529597,
                -7.275356590529597,
                18.99202061489418,
            ],
        );
        // Gamma(0.001, 0.001): the rate entry rests on rare draws (y of order
        // one has probability ~10⁻³), so the run says how many samples it
        // needs (and is not a pass or a failure) …
        let m = model("gamma");
        let th = [0.001, 0.001];
        let s = Settings {
            samples: 50_000,
            seed: bayesrg::core::rng::Seed::new(42),
            claimed: None,
        };
        let r = validate(m.as_ref(), &th, &s).unwrap();
        assert!(
            r.verdict.pass || r.verdict.inconclusive,
            "{:#?}",
            r.verdict.reasons
        );
        if !r.verdict.pass {
            assert!(r.verdict.reasons[0].contains("too few events: raise samples to"));
        }
        // … and with 400 000 samples it passes, the 1 % errors fail.
        let m = model("gamma");
        let big = Settings {
            samples: 400_000,
            ..s
        };
        let r = validate(m.as_ref(), &th, &big).unwrap();
        assert!(r.verdict.pass, "{:#?}", r.verdict.reasons);
        let f = m.fisher(&th).unwrap();
        assert!((f[(0, 0)] / 1000001.6425331958 - 1.0).abs() < 1e-13);
        for i in 0..2 {
            let mut c = rows(&f);
            c[i][i] *= 1.01;
            let r = validate(
                m.as_ref(),
                &th,
                &Settings {
                    claimed: Some(c),
                    samples: 50_000,
                    seed: bayesrg::core::rng::Seed::new(42),
                },
            )
            .unwrap();
            assert!(!r.verdict.pass && !r.verdict.inconclusive);
        }
    }

    #[test]
    fn item_3_derivative_steps_that_ignore_scale() {
        // I = diag(1/σ², 2/σ²) at σ = 10⁻⁵, and at μ = 10¹⁰ (σ = 1).
        passes_and_one_percent_fails("normal", &[0.0, 1e-5], &[1e10, 0.0, 0.0, 2e10]);
        passes_and_one_percent_fails("normal", &[1e10, 1.0], &[1.0, 0.0, 0.0, 2.0]);
    }

    #[test]
    fn item_9_what_monte_carlo_cannot_resolve() {
        // I = 1/(p(1 − p)) at p = 10⁻⁶: an exact sum over {0, 1}.
        let p: f64 = 1e-6;
        passes_and_one_percent_fails("bernoulli", &[p], &[1.0 / (p * (1.0 - p))]);
        let r = validate(
            model("bernoulli").as_ref(),
            &[p],
            &Settings {
                samples: 50_000,
                seed: bayesrg::core::rng::Seed::new(42),
                claimed: None,
            },
        )
        .unwrap();
        assert!(r.estimators.iter().any(|e| e.enumerated.is_some()));
    }
}

/// Near a boundary (Poisson λ = 1e-30, Bernoulli p = 1e-30, categorical
/// p₁ = 1e-100, gamma shape 1e-100) the Fisher unit is far below the scale of θ
/// and no KL-expansion step of ≥ 10⁻¹² Fisher units is in the asymptotic
/// regime of eq. (31): with the correct closed-form metric claimed (oracle:
/// the closed forms 1/λ, 1/(p(1−p)), diag(1/pᵢ) + 1/p₃, [[ψ′(k), −1/β],
/// [−1/β, k/β²]], which the exact sums confirm), no KL-expansion check may FAIL;
/// a failure there must be unresolved with its reason. At λ = 1, where the
/// expansion resolves, a claim ×1.1 must still FAIL its KL check (resolved).
#[test]
fn kl_expansion_near_a_boundary_is_unresolved_not_failed() {
    bayesrg::ensure_linked();
    let kl_checks = |spec: serde_json::Value, theta: &[f64], claimed: Vec<Vec<f64>>| {
        let model: Box<dyn bayesrg::core::Model> = serde_json::from_value(spec).unwrap();
        let s = Settings {
            samples: 20_000,
            seed: bayesrg::core::rng::Seed::new(5),
            claimed: Some(claimed),
        };
        let r = validate(model.as_ref(), theta, &s).unwrap();
        r.checks
            .into_iter()
            .filter(|c| c.name.contains("KL expansion"))
            .collect::<Vec<_>>()
    };
    let cases = [
        (
            serde_json::json!({"type": "poisson"}),
            vec![1e-30],
            vec![vec![1e30]],
        ),
        (
            serde_json::json!({"type": "bernoulli"}),
            vec![1e-30],
            vec![vec![1.0 / (1e-30 * (1.0 - 1e-30))]],
        ),
        (
            serde_json::json!({"type": "categorical", "classes": 3}),
            vec![1e-100, 0.5],
            vec![vec![1e100 + 2.0, 2.0], vec![2.0, 4.0]],
        ),
    ];
    for (spec, theta, claimed) in cases {
        let checks = kl_checks(spec.clone(), &theta, claimed);
        assert!(!checks.is_empty(), "{spec}");
        for c in &checks {
            assert!(c.pass || c.note.is_some(), "{spec} at {theta:?}: {c:?}");
            if let Some(n) = &c.note {
                assert!(n.contains("asymptotic regime"), "{n}");
            }
        }
    }
    let checks = kl_checks(
        serde_json::json!({"type": "poisson"}),
        &[1.0],
        vec![vec![1.1]],
    );
    let claimed: Vec<_> = checks
        .iter()
        .filter(|c| c.name.starts_with("claimed: KL"))
        .collect();
    assert_eq!(claimed.len(), 1);
    assert!(
        !claimed[0].pass && claimed[0].note.is_none(),
        "{:?}",
        claimed[0]
    );
    let checks = kl_checks(
        serde_json::json!({"type": "poisson"}),
        &[1.0],
        vec![vec![1.0]],
    );
    assert!(checks.iter().all(|c| c.pass), "{checks:?}");
}

/// θ where the model's own closed form is not finite (a Bernoulli p = 5e-324:
/// 1/(p(1−p)) = ∞; a gamma shape of 1e-200: ψ′(k) ≈ 1/k² = 1e400) is a failed
/// computation naming the entry and θ, not a table of NaN verdicts. Oracle: the
/// closed forms themselves overflow there (1/5e-324 > f64::MAX).
#[test]
fn a_closed_form_beyond_double_precision_is_a_named_failure() {
    bayesrg::ensure_linked();
    assert!((1.0 / 5e-324f64).is_infinite() && (1.0 / (1e-200f64 * 1e-200)).is_infinite());
    for (spec, theta, entry) in [
        (
            serde_json::json!({"type": "bernoulli"}),
            vec![5e-324],
            "I[p][p] = inf",
        ),
        (
            serde_json::json!({"type": "gamma"}),
            vec![1e-200, 1.0],
            "= inf",
        ),
    ] {
        let model: Box<dyn bayesrg::core::Model> = serde_json::from_value(spec.clone()).unwrap();
        let s = Settings {
            samples: 1000,
            seed: bayesrg::core::rng::Seed::new(5),
            claimed: None,
        };
        let e = validate(model.as_ref(), &theta, &s).unwrap_err();
        assert!(!e.is_bad_input(), "{spec}: {e}");
        let msg = e.to_string();
        assert!(
            msg.contains(entry) && msg.contains(&format!("{:e}", theta[0])),
            "{spec}: {msg}"
        );
    }
    // Through the binary: exit 1 and one line on stderr.
    let d = std::env::temp_dir().join(format!("brg-f13-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let cfg = d.join("c.toml");
    std::fs::write(&cfg, "theta = [5e-324]\n[model]\ntype = \"bernoulli\"\n").unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_bayesrg"))
        .args(["fisher", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("5e-324") && err.contains("inf"), "{err}");
    std::fs::remove_dir_all(&d).ok();
}

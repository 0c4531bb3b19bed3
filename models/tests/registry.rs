//! The catalogue and typetag agree; configs and θ are validated with messages
//! that name the field or parameter; the example files are valid.

use bayesrg_core::validate::{Settings, validate};
use bayesrg_core::{Model, registry};
use serde_json::json;
use std::collections::BTreeSet;

/// The models this crate registers, listed by hand (docs/models.md): the
/// oracle the catalogue is compared with, so a model that loses its
/// registration, or is renamed, fails here.
const MODEL_TYPES: &[&str] = bayesrg_testkit::BUILT_IN_MODELS;

fn from_json(v: serde_json::Value) -> Result<Box<dyn Model>, String> {
    serde_json::from_value::<Box<dyn Model>>(v).map_err(|e| e.to_string())
}

#[test]
fn every_tag_is_catalogued_and_round_trips_through_typetag() {
    bayesrg_models::ensure_linked();
    let entries = registry::models().expect("no duplicate tags");
    let listed: BTreeSet<&str> = entries.iter().map(|e| e.tag).collect();
    let ours: BTreeSet<&str> = MODEL_TYPES.iter().copied().collect();
    assert_eq!(
        listed, ours,
        "the catalogue differs from the documented models"
    );
    for e in entries {
        let m = (e.example)();
        let th = (e.example_theta)();
        assert_eq!(bayesrg_core::model::type_name(m.as_ref()), e.tag);
        m.check_params(&th)
            .unwrap_or_else(|err| panic!("{}: example theta invalid: {err}", e.tag));
        // The JSON {"type": tag, …settings} of the example deserialises to the same model.
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["type"], e.tag, "{v}");
        let back = from_json(v.clone()).unwrap_or_else(|err| panic!("{}: {err} in {v}", e.tag));
        assert_eq!(back.param_names(), m.param_names());
        assert_eq!(back.obs_dim(), m.obs_dim());
        let f = m.fisher(&th).expect("closed-form Fisher");
        assert_eq!(back.fisher(&th).unwrap(), f, "{}", e.tag);
        assert_eq!(f.nrows(), th.len());
        assert!(m.kl(&th, &th).is_some(), "{}: closed-form KL", e.tag);
    }
}

#[test]
fn invalid_theta_names_the_parameter_and_constraint() {
    bayesrg_models::ensure_linked();
    let cases: Vec<(serde_json::Value, Vec<f64>, &[&str])> = vec![
        (
            json!({"type": "bernoulli"}),
            vec![1.2],
            &["`p`", "1.2", "(0, 1)"],
        ),
        (json!({"type": "bernoulli"}), vec![0.0], &["`p`", "(0, 1)"]),
        (json!({"type": "poisson"}), vec![-1.0], &["`rate`", "> 0"]),
        (
            json!({"type": "exponential"}),
            vec![0.0],
            &["`rate`", "> 0"],
        ),
        (
            json!({"type": "gamma"}),
            vec![-2.0, 1.0],
            &["`shape`", "> 0"],
        ),
        (json!({"type": "gamma"}), vec![2.0, 0.0], &["`rate`", "> 0"]),
        (json!({"type": "beta"}), vec![1.0, -3.0], &["`b`", "> 0"]),
        (
            json!({"type": "categorical", "classes": 3}),
            vec![1.5, 0.1],
            &["`p1`", "(0, 1)"],
        ),
        (
            json!({"type": "categorical", "classes": 3}),
            vec![0.6, 0.7],
            &["p3 = 1 - (p1 + p2)", "> 0"],
        ),
        (
            json!({"type": "mvn", "dim": 2}),
            vec![0.0, 0.0, -1.0, 0.0, 1.0],
            &["`cov11`", "> 0"],
        ),
        (
            json!({"type": "mvn", "dim": 2}),
            vec![0.0, 0.0, 1.0, 2.0, 1.0],
            &["cov11, cov21, cov22", "not positive definite"],
        ),
        (
            json!({"type": "sum_of_exponentials", "terms": 2, "times": [1.0, 2.0], "sigma": 0.1}),
            vec![1.0, -0.5],
            &["`rate2`", "> 0"],
        ),
        (
            json!({"type": "normal"}),
            vec![0.0, f64::NAN],
            &["`sigma`", "finite"],
        ),
        (
            json!({"type": "gamma"}),
            vec![1.0],
            &["2 parameters", "shape, rate"],
        ),
    ];
    for (cfg, th, want) in cases {
        let m = from_json(cfg.clone()).unwrap();
        let msg = m.check_params(&th).unwrap_err().to_string();
        for w in want {
            assert!(
                msg.contains(w),
                "{cfg} at {th:?}: message {msg:?} lacks {w:?}"
            );
        }
    }
}

#[test]
fn bad_settings_are_errors_naming_the_field() {
    bayesrg_models::ensure_linked();
    let cases: Vec<(serde_json::Value, &[&str])> = vec![
        (
            json!({"type": "mvn_mean", "cov": [[1.0, 2.0], [2.0, 1.0]]}),
            &["`cov`", "not positive definite"],
        ),
        (
            json!({"type": "mvn_mean", "cov": [[1.0, 0.5], [0.0, 1.0]]}),
            &["`cov`", "symmetric"],
        ),
        (
            json!({"type": "mvn_mean", "cov": [[1.0, 0.0], [0.0]]}),
            &["`cov`", "rectangular"],
        ),
        (
            json!({"type": "mvn_mean", "cov": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]}),
            &["`cov`", "square"],
        ),
        (
            json!({"type": "mvn_mean", "cov": []}),
            &["`cov`", "non-empty"],
        ),
        (json!({"type": "mvn_mean"}), &["missing field", "cov"]),
        (
            json!({"type": "mvn_mean", "cov": [[1.0]], "extra": 1}),
            &["unknown field", "extra"],
        ),
        (
            json!({"type": "mvn", "dim": 5}),
            &["`dim`", "between 1 and 4"],
        ),
        (
            json!({"type": "categorical", "classes": 1}),
            &["`classes`", "at least 2"],
        ),
        (
            json!({"type": "exp_family_finite", "stats": [[1.0, 0.0], [1.0, 1.0]]}),
            &["`stats`", "affinely independent"],
        ),
        (
            json!({"type": "exp_family_finite", "stats": [[1.0], [2.0], [3.0, 1.0]]}),
            &["`stats`", "rectangular"],
        ),
        (
            json!({"type": "exp_family_finite", "stats": [[1.0]]}),
            &["`stats`", "at least 2 rows"],
        ),
        (
            json!({"type": "linear_gaussian", "a": [[1.0], [2.0]], "noise_cov": [[1.0]]}),
            &["`noise_cov`", "`a`", "rows"],
        ),
        (
            json!({"type": "linear_gaussian", "a": [[1.0]], "noise_cov": [[-1.0]]}),
            &["`noise_cov`", "not positive definite"],
        ),
        (
            json!({"type": "sum_of_exponentials", "terms": 2, "times": [1.0, 2.0], "sigma": 0.0}),
            &["`sigma`", "> 0"],
        ),
        (
            json!({"type": "sum_of_exponentials", "terms": 2, "times": [1.0, -2.0], "sigma": 1.0}),
            &["`times[1]`", "-2 must be >= 0"],
        ),
        (
            json!({"type": "sum_of_exponentials", "terms": 3, "times": [1.0, 2.0], "sigma": 1.0}),
            &["`times`", "3 terms"],
        ),
        (
            json!({"type": "no_such_model"}),
            &["unknown variant", "no_such_model"],
        ),
    ];
    for (cfg, want) in cases {
        let msg = from_json(cfg.clone()).expect_err(&format!("{cfg} should be rejected"));
        for w in want {
            assert!(msg.contains(w), "{cfg}: message {msg:?} lacks {w:?}");
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExampleFile {
    theta: Vec<f64>,
    samples: Option<usize>,
    seed: Option<u64>,
    model: Box<dyn Model>,
}

#[test]
fn example_files_pass_the_validator() {
    bayesrg_models::ensure_linked();
    // One examples/<tag>.toml per model of this crate (normal and normal_var
    // belong to the `fisher` command and are tested with it, tests/fisher_cli.rs,
    // as they may carry a claimed Fisher matrix). Each must
    // parse, hold a valid θ, and pass `bayesrg fisher`'s validator with the
    // file's own samples and seed (the validator sets its z threshold for a
    // family-wise false-failure rate of 1e-3, see core/src/validate.rs).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for tag in MODEL_TYPES {
        let path = dir.join(format!("{tag}.toml"));
        if tag.starts_with("normal") {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let ex: ExampleFile =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(bayesrg_core::model::type_name(ex.model.as_ref()), *tag);
        let mut settings = Settings::default();
        if let Some(n) = ex.samples {
            settings.samples = n;
        }
        if let Some(s) = ex.seed {
            settings.seed = bayesrg_core::rng::Seed::new(s);
        }
        let report = validate(ex.model.as_ref(), &ex.theta, &settings)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            report.verdict.pass,
            "{}: {:?}",
            path.display(),
            report.verdict.reasons
        );
    }
}

#[test]
fn catalogue_examples_pass_the_quick_validator() {
    bayesrg_models::ensure_linked();
    // `bayesrg reproduce --quick` validates every catalogue entry at its example
    // θ with 20 000 samples and the default seed; each of ours must pass.
    let settings = Settings {
        samples: 20_000,
        ..Settings::default()
    };
    for e in registry::models().unwrap() {
        let report = validate((e.example)().as_ref(), &(e.example_theta)(), &settings).unwrap();
        assert!(
            report.verdict.pass,
            "{}: {:?}",
            e.tag, report.verdict.reasons
        );
    }
}

//! Every example config of `bayesrg bayes` and `bayesrg flow` runs through the
//! library and reports every check passing; in particular KL(p_τ‖p₀) is
//! non-decreasing on every flow example.

use std::path::Path;

fn configs(dir: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_flow_example_passes_and_kl_is_monotone() {
    let files = configs("examples/flow");
    assert!(files.len() >= 5);
    for f in files {
        let s = bayesrg_cli::commands::flow::run_file(&f, None).unwrap();
        let failed: Vec<_> = s.checks.iter().filter(|c| !c.pass).collect();
        assert!(s.pass, "{}: {failed:?}", f.display());
        assert!(
            s.checks
                .iter()
                .any(|c| c.name.starts_with("largest decrease of KL")),
            "{}: no KL monotonicity check",
            f.display()
        );
    }
}

/// The one-dimensional examples (about a CPU second each); the 2-D ones
/// (a few CPU seconds each) are run by `bayesrg reproduce`, and their
/// mathematics is tested in core (linear-Gaussian, gamma late-time law).
#[test]
fn every_one_dimensional_bayes_example_passes() {
    let files = configs("examples/bayes");
    assert!(files.len() >= 5);
    for f in files.into_iter().filter(|f| {
        [
            "normal.toml",
            "bernoulli.toml",
            "bernoulli_jeffreys.toml",
            "poisson.toml",
        ]
        .iter()
        .any(|n| f.ends_with(n))
    }) {
        let s = bayesrg_cli::commands::bayes::run_file(&f, None).unwrap();
        let failed: Vec<_> = s.checks.iter().filter(|c| !c.pass).collect();
        assert!(s.pass, "{}: {failed:?}", f.display());
        // Each of these pairs a family with its conjugate prior, so the model's
        // `conjugate` capability must supply the exact oracle (renaming a type
        // must not silently drop the check).
        assert!(
            s.checks
                .iter()
                .any(|c| c.name.contains("vs the conjugate closed form")),
            "{}: the conjugate oracle did not run",
            f.display()
        );
    }
}

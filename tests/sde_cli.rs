//! `bayesrg sde` through the binary: a good config writes its files and passes;
//! bad configs exit with status 2, a clear message and no output folder.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bayesrg"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("brg-sde-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

const GOOD: &str = r#"
seed = 3
paths = 4000
dt = 0.5
save_at = [0.5, 1.0]
y0 = [0.0, 1.0]
sample_paths = 10

[drift]
type = "constant"
velocity = [1.0, -1.0]

[diffusion]
type = "k_inv"
matrix = [[1.0, 0.3], [0.3, 0.5]]
"#;

#[test]
fn good_config_writes_everything_and_passes() {
    let d = tmp("good");
    let cfg = d.join("c.toml");
    std::fs::write(&cfg, GOOD).unwrap();
    let out = d.join("out");
    let o = bin()
        .args([
            "sde",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for f in [
        "summary.json",
        "moments.csv",
        "paths_0.csv",
        "paths_1.csv",
        "marginal_1_y0.png",
        "mean.png",
        "variance.png",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["checks"].as_array().unwrap().len(), 6);
    // moments.csv: header + one row per saved time; paths: header + 10 rows.
    let lines = |f: &str| {
        std::fs::read_to_string(out.join(f))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(lines("moments.csv"), 3);
    assert_eq!(lines("paths_0.csv"), 11);
    std::fs::remove_dir_all(&d).ok();
}

fn bad(name: &str, from: &str, to: &str, needle: &str) {
    let d = tmp(name);
    let cfg = d.join("c.toml");
    let text = GOOD.replace(from, to);
    assert_ne!(text, GOOD, "replacement {from:?} did not apply");
    std::fs::write(&cfg, text).unwrap();
    let out = d.join("out");
    let o = bin()
        .args([
            "sde",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{name}: {err}");
    assert!(
        err.contains(needle),
        "{name}: message `{err}` lacks `{needle}`"
    );
    assert!(!out.exists(), "{name}: output written");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn zero_step_is_rejected() {
    bad("zero", "dt = 0.5", "dt = 0.0", "`dt` = 0 must be > 0");
}

#[test]
fn negative_step_is_rejected() {
    bad("neg", "dt = 0.5", "dt = -0.1", "`dt` = -0.1 must be > 0");
}

#[test]
fn k_not_positive_definite_is_rejected() {
    bad(
        "pd",
        "[[1.0, 0.3], [0.3, 0.5]]",
        "[[1.0, 2.0], [2.0, 0.5]]",
        "not positive definite",
    );
}

#[test]
fn mismatched_dimensions_are_rejected() {
    bad(
        "dim",
        "velocity = [1.0, -1.0]",
        "velocity = [1.0, -1.0, 2.0]",
        "`drift.velocity` has 3 entries; expected 2 (the length of y0)",
    );
    bad(
        "y0",
        "y0 = [0.0, 1.0]",
        "y0 = [0.0]",
        "`drift.velocity` has 2 entries; expected 1",
    );
    bad(
        "rows",
        "[[1.0, 0.3], [0.3, 0.5]]",
        "[[1.0, 0.3], [0.3]]",
        "must be square",
    );
}

#[test]
fn unknown_stepper_and_field_are_rejected() {
    bad(
        "stepper",
        "sample_paths = 10",
        "stepper = \"rk45\"",
        "unknown stepper `rk45`",
    );
    bad("field", "sample_paths = 10", "smaple_paths = 10", "c.toml:");
}

#[test]
fn expression_errors_name_the_field_its_line_and_the_position() {
    bad(
        "expr",
        "type = \"constant\"\nvelocity = [1.0, -1.0]",
        "type = \"expression\"\nb = [\"-y1\", \"y1 * z\"]",
        "`drift.b[1]` = \"y1 * z\" is not a valid expression: unknown variable `z`",
    );
    bad(
        "expr-dim",
        "type = \"constant\"\nvelocity = [1.0, -1.0]",
        "type = \"expression\"\nb = [\"-y3\", \"y1\"]",
        "unknown variable `y3` (the variables are y1 … y2 (or y[0] … y[1]) and tau) at character 2",
    );
}

/// An Euler–Maruyama run beyond its stability limit (h·λ_max = 5 > 2) fails
/// with exit 1 and says why, instead of reporting failed law checks.
#[test]
fn unstable_step_is_exit_1_with_its_cause() {
    let d = tmp("unstable");
    let cfg = d.join("c.toml");
    let text = GOOD
        .replace("dt = 0.5", "dt = 2.0")
        .replace("save_at = [0.5, 1.0]", "save_at = [20.0]")
        .replace(
            "type = \"constant\"\nvelocity = [1.0, -1.0]",
            "type = \"ou\"\nb = [[2.5, 0.0], [0.0, 1.0]]",
        );
    std::fs::write(&cfg, text).unwrap();
    let o = bin()
        .args(["sde", cfg.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("h·λ_max = 5") && err.contains("stability limit"),
        "{err}"
    );
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn every_example_config_passes() {
    bayesrg::ensure_linked();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/sde");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let s = bayesrg_cli::commands::sde::run_file(&p, None, true).unwrap();
            assert!(s.pass, "{}: {:?}", p.display(), s.checks);
            n += 1;
        }
    }
    assert!(n >= 3);
}

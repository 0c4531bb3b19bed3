//! `bayesrg fisher` through the binary: every example's verdict, the JSON
//! report, and every kind of bad input (exit status 2 with a clear message).
//!
//! Oracles: the normal family's I(μ, σ) = diag(1/σ², 2/σ²) (docs/conventions.md);
//! the example files' own claims (a pass, or a fail for names with `wrong`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bayesrg"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fisher(args: &[&str]) -> Output {
    bin()
        .arg("fisher")
        .args(args)
        .output()
        .expect("run bayesrg")
}

/// Writes `text` to a fresh config file for this test and returns its path.
fn config(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fisher_cli");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn json(out: &Output) -> serde_json::Value {
    let s = String::from_utf8(out.stdout.clone()).unwrap();
    // Exactly one JSON object on stdout.
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("stdout is not one JSON object: {e}\n{s}"))
}

/// Runs a bad config and returns stderr, asserting exit status 2, an `error:`
/// line, nothing on stdout and no panic.
fn bad(name: &str, text: &str) -> String {
    let p = config(name, text);
    let out = fisher(&[p.to_str().unwrap()]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{name}: {err}");
    assert!(err.starts_with("error: "), "{name}: {err}");
    assert!(!err.contains("panicked"), "{name}: {err}");
    assert!(out.stdout.is_empty(), "{name}: stdout not empty");
    err
}

const MODEL: &str = "[model]\ntype = \"normal\"\n";

#[test]
fn every_example_passes_except_the_wrong_ones() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    let mut wrong = 0;
    for f in &files {
        let out = fisher(&["--json", f.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let expect_fail = name.contains("wrong");
        let code = out.status.code();
        assert_eq!(
            code,
            Some(if expect_fail { 1 } else { 0 }),
            "{name}: exit {code:?}, stderr {err}"
        );
        let r = json(&out);
        assert_eq!(
            r["verdict"]["pass"],
            serde_json::json!(!expect_fail),
            "{name}: {}",
            r["verdict"]
        );
        let failed: Vec<&serde_json::Value> = r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["pass"] == false)
            .collect();
        assert_eq!(failed.is_empty(), !expect_fail, "{name}: {failed:?}");
        if expect_fail {
            wrong += 1;
        }
    }
    assert!(wrong >= 1, "no example with a wrong claim");
}

#[test]
fn json_report_holds_every_part() {
    let f = root().join("examples/normal.toml");
    let out = fisher(&[
        "--json",
        "--samples",
        "20000",
        "--seed",
        "3",
        f.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let r = json(&out);
    assert_eq!(r["samples"], 20000);
    assert_eq!(r["seed"], 3);
    // Closed form diag(1/σ², 2/σ²) at σ = 1.5.
    let cf = &r["closed_form"];
    let s2 = 1.5f64 * 1.5;
    assert!((cf[0][0].as_f64().unwrap() - 1.0 / s2).abs() < 1e-15);
    assert!((cf[1][1].as_f64().unwrap() - 2.0 / s2).abs() < 1e-15);
    assert_eq!(cf[0][1], 0.0);
    let methods: Vec<&str> = r["estimators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["method"].as_str().unwrap())
        .collect();
    for m in ["closed_form", "kl_hessian", "score_outer", "neg_hessian"] {
        assert!(methods.contains(&m), "{methods:?}");
    }
    for e in r["estimators"].as_array().unwrap() {
        let mc = matches!(e["method"].as_str(), Some("score_outer" | "neg_hessian"));
        assert_eq!(e["std_err"].is_array(), mc, "{e}");
        if e["method"] != "closed_form" {
            let c = &e["comparisons"][0];
            assert!(c["worst"].as_f64().unwrap() <= c["threshold"].as_f64().unwrap());
            let kind = if mc { "z_score" } else { "rel_error" };
            assert_eq!(c["measure"], kind);
        }
    }
    let k = &r["kl_expansion"];
    assert_eq!(k["epsilons"].as_array().unwrap().len(), 4);
    // Two axes and three random directions; every ratio near 1.
    let dirs = k["directions"].as_array().unwrap();
    assert_eq!(dirs.len(), 5);
    for d in dirs {
        let last = d["ratios"][3].as_f64().unwrap();
        assert!((last - 1.0).abs() < 1e-3, "{d}");
    }
    let eig: Vec<f64> = r["spectrum"]["eigenvalues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!((eig[0] - 2.0 / s2).abs() < 1e-12 && (eig[1] - 1.0 / s2).abs() < 1e-12);
    assert_eq!(r["spectrum"]["stiff"]["dominant"], "sigma");
    assert_eq!(r["verdict"]["pass"], true);
}

#[test]
fn wrong_claim_fails_with_reasons_and_table() {
    let f = root().join("examples/normal_wrong_claim.toml");
    let out = fisher(&[f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("verdict: FAIL"), "{table}");
    assert!(table.contains("claimed vs closed_form"), "{table}");
    let out = fisher(&[root().join("examples/normal.toml").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("verdict: PASS")
    );
}

#[test]
fn library_summary_carries_the_validator_checks() {
    bayesrg::ensure_linked();
    let f = root().join("examples/normal_wrong_claim.toml");
    let ov = bayesrg_cli::commands::fisher::Overrides {
        samples: Some(20_000),
        seed: None,
    };
    let s = bayesrg_cli::commands::fisher::run(&f, ov).unwrap();
    assert_eq!(s.command, "fisher");
    assert!(!s.pass);
    let report_checks = s.details["checks"].as_array().unwrap();
    assert_eq!(s.checks.len(), report_checks.len());
    assert!(
        s.checks
            .iter()
            .any(|c| !c.pass && c.name.starts_with("claimed"))
    );
}

#[test]
fn malformed_toml_shows_line_and_column() {
    let e = bad(
        "syntax.toml",
        "theta = [0.5, 1.5\nseed = 1\n[model]\ntype = \"normal\"\n",
    );
    assert!(e.contains("syntax.toml:2:"), "{e}");
}

#[test]
fn unknown_model_type_lists_the_known_ones() {
    let e = bad(
        "unknown_type.toml",
        "theta = [0.5, 1.5]\n[model]\ntype = \"nromal\"\n",
    );
    assert!(e.contains("unknown_type.toml:3:8"), "{e}");
    assert!(e.contains("unknown model type `nromal`"), "{e}");
    for t in bayesrg::core::registry::model_tags() {
        assert!(e.contains(t), "{t} missing from {e}");
    }
    let e = bad("no_type.toml", "theta = [0.5, 1.5]\n[model]\n");
    assert!(e.contains("no `type`") && e.contains("normal_var"), "{e}");
}

#[test]
fn missing_and_unknown_fields() {
    let e = bad("no_theta.toml", &format!("seed = 1\n{MODEL}"));
    assert!(e.contains("missing field `theta`"), "{e}");
    let e = bad("no_model.toml", "theta = [0.5, 1.5]\n");
    assert!(e.contains("missing field `model`"), "{e}");
    let e = bad(
        "extra.toml",
        &format!("theta = [0.5, 1.5]\nsamplez = 10\n{MODEL}"),
    );
    assert!(
        e.contains("extra.toml:2:1") && e.contains("unknown field `samplez`"),
        "{e}"
    );
    let e = bad(
        "extra_model.toml",
        &format!("theta = [0.5, 1.5]\n{MODEL}sigma = 2\n"),
    );
    assert!(e.contains("unknown field `sigma`"), "{e}");
    let e = bad("wrong_type.toml", &format!("theta = \"0.5\"\n{MODEL}"));
    assert!(e.contains("wrong_type.toml:1:9"), "{e}");
}

#[test]
fn theta_of_the_wrong_length() {
    let e = bad("long.toml", &format!("theta = [0.5, 1.5, 2.0]\n{MODEL}"));
    assert!(e.contains("long.toml:1:9"), "{e}");
    assert!(
        e.contains("3 entries") && e.contains("2 parameters (mu, sigma)"),
        "{e}"
    );
}

#[test]
fn invalid_theta_names_parameter_and_constraint() {
    let e = bad("neg_sigma.toml", &format!("theta = [0.5, -1.0]\n{MODEL}"));
    assert!(e.contains("neg_sigma.toml:1:9"), "{e}");
    assert!(e.contains("`sigma`") && e.contains("must be > 0"), "{e}");
    let e = bad(
        "neg_var.toml",
        "theta = [0.5, 0.0]\n[model]\ntype = \"normal_var\"\n",
    );
    assert!(e.contains("`var`") && e.contains("must be > 0"), "{e}");
}

#[test]
fn invalid_model_field_names_it() {
    // A covariance that is not positive definite (eigenvalues 3 and −1).
    let e = bad(
        "cov.toml",
        "theta = [0.0, 0.0]\n[model]\ntype = \"mvn_mean\"\ncov = [[1.0, 2.0], [2.0, 1.0]]\n",
    );
    assert!(e.contains("cov.toml:") && e.contains("cov"), "{e}");
    assert!(e.contains("positive definite"), "{e}");
}

#[test]
fn zero_samples() {
    let e = bad(
        "zero.toml",
        &format!("theta = [0.5, 1.5]\nsamples = 0\n{MODEL}"),
    );
    assert!(
        e.contains("zero.toml:2:11") && e.contains("`samples`"),
        "{e}"
    );
    let e = bad(
        "negative.toml",
        &format!("theta = [0.5, 1.5]\nsamples = -5\n{MODEL}"),
    );
    assert!(e.contains("negative.toml:2:11"), "{e}");
    // On the command line.
    let f = root().join("examples/normal.toml");
    let out = fisher(&["--samples", "0", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8(out.stderr).unwrap();
    assert!(e.contains("--samples") && e.contains("at least 2"), "{e}");
}

#[test]
fn claimed_fisher_of_the_wrong_shape() {
    let e = bad(
        "claim_rows.toml",
        &format!("theta = [0.5, 1.5]\nclaimed_fisher = [[1.0, 0.0]]\n{MODEL}"),
    );
    assert!(
        e.contains("claim_rows.toml:2:18") && e.contains("2×2"),
        "{e}"
    );
    let e = bad(
        "claim_ragged.toml",
        &format!("theta = [0.5, 1.5]\nclaimed_fisher = [[1.0, 0.0], [0.0]]\n{MODEL}"),
    );
    assert!(e.contains("row 2 has 1 entries"), "{e}");
}

#[test]
fn missing_file() {
    let out = fisher(&["/nonexistent/bayesrg/fisher.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("cannot read")
    );
}

/// The empirical Fisher (issue 16 item 11): data inline or from a CSV file,
/// reported beside I(θ) in the JSON; bad data name the file and line.
/// Oracle: I(μ, σ) = diag(1/σ², 2/σ²) and, for data shifted by 3σ from μ
/// (seen at θ = (μ, σ)), the mean score ℓ_μ = 3/σ, far outside noise.
#[test]
fn empirical_fisher_from_inline_data_and_csv() {
    // Eight observations at μ + 3σ ± small spread: the mean score is ≈ 3/σ.
    let sigma = 1e-4;
    let rows: Vec<String> = (0..8)
        .map(|k| format!("[{}]", 5.0 + sigma * (3.0 + 0.01 * k as f64)))
        .collect();
    let p = config(
        "emp_inline.toml",
        &format!(
            "theta = [5.0, {sigma}]\nsamples = 4000\ndata = [{}]\n{MODEL}",
            rows.join(", ")
        ),
    );
    let out = fisher(&[p.to_str().unwrap(), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = json(&out);
    let e = &j["empirical"];
    assert_eq!(e["observations"], 8);
    assert_eq!(e["diagnosis"], "theta_off_data");
    let m0 = e["mean_score"][0].as_f64().unwrap();
    assert!((m0 * sigma - 3.035).abs() < 1e-6, "{m0}");
    let i11 = e["fisher"][1][1].as_f64().unwrap();
    assert!((i11 * sigma * sigma - 2.0).abs() < 1e-9, "{i11}");
    // The validator's own report is still there, unchanged in shape.
    assert!(j["verdict"]["pass"].as_bool().unwrap());

    // The same rows from a CSV file with a header, next to the config.
    let csv: String = std::iter::once("y".to_string())
        .chain((0..8).map(|k| format!("{}", 5.0 + sigma * (3.0 + 0.01 * k as f64))))
        .collect::<Vec<_>>()
        .join("\n");
    let dir = p.parent().unwrap();
    std::fs::write(dir.join("emp.csv"), csv).unwrap();
    let q = config(
        "emp_file.toml",
        &format!("theta = [5.0, {sigma}]\nsamples = 4000\ndata_file = \"emp.csv\"\n{MODEL}"),
    );
    let out = fisher(&[q.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["empirical"]["mean_score"], e["mean_score"]);

    // Bad data: a non-number in the CSV (file:line), a row of the wrong size
    // inline (config:line:col), an impossible outcome, both sources at once.
    std::fs::write(dir.join("emp_bad.csv"), "y\n0.1\nabc\n").unwrap();
    let err = bad(
        "emp_bad_csv.toml",
        &format!("theta = [0.0, 1.0]\ndata_file = \"emp_bad.csv\"\n{MODEL}"),
    );
    assert!(err.contains("emp_bad.csv:3: column 1 is `abc`"), "{err}");
    let err = bad(
        "emp_bad_row.toml",
        &format!("theta = [0.0, 1.0]\ndata = [[0.1], [0.2, 0.3]]\n{MODEL}"),
    );
    assert!(
        err.contains("emp_bad_row.toml:2:16") && err.contains("`data[1]` has 2 entries"),
        "{err}"
    );
    let err = bad(
        "emp_bad_outcome.toml",
        "theta = [3.0]\ndata = [[1.0], [2.5]]\n[model]\ntype = \"poisson\"\n",
    );
    assert!(
        err.contains("`data[1]`") && err.contains("not an outcome"),
        "{err}"
    );
    let err = bad(
        "emp_both.toml",
        &format!("theta = [0.0, 1.0]\ndata = [[0.1], [0.2]]\ndata_file = \"emp.csv\"\n{MODEL}"),
    );
    assert!(err.contains("not both"), "{err}");
}

/// The verdict line of a table report ("PASS", "FAIL", "INCONCLUSIVE").
fn verdict(out: &Output) -> String {
    let s = String::from_utf8_lossy(&out.stdout);
    s.lines()
        .find_map(|l| l.trim().strip_prefix("verdict: "))
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or_else(|| panic!("no verdict in\n{s}"))
        .to_string()
}

/// The verdict does not depend on the scale (issue: scale-free Monte Carlo
/// moments). Oracle: the normal's I(μ, σ) = diag(1/σ², 2/σ²) (oracles.md
/// §1) and the standard error of its E\[ℓ_μ²\] entry, √(2/n)/σ² (ℓ_μ = z/σ,
/// Var z² = 2). At every σ from 10⁻¹⁵⁰ to 10¹⁵⁰ and μ ∈ {0, 10⁸, 10¹⁶}: the
/// right matrix claimed passes, one off by 10 standard errors in I_μμ or by
/// a factor 1.1 in I_σσ fails. Where the draws y = μ + σz cannot be held in
/// f64 (the step of f64 near μ not below 10⁻⁶σ) the right claim is
/// inconclusive with the rounding named, never a pass or a fail.
#[test]
fn verdicts_do_not_depend_on_the_scale() {
    let n = 50_000;
    for s in [1e-150, 1e-100, 1e-10, 1.0, 1e10, 1e100, 1e150] {
        for mu in [0.0_f64, 1e8, 1e16] {
            let step = if mu == 0.0 {
                0.0
            } else {
                2f64.powi(mu.log2().floor() as i32 - 52)
            };
            let resolved = step < 1e-6 * s;
            let (a, b) = (1.0 / (s * s), 2.0 / (s * s));
            let se = (2.0 / n as f64).sqrt() * a;
            for (kind, aa, bb) in [
                ("right", a, b),
                ("10 SE", a + 10.0 * se, b),
                ("x1.1", a, 1.1 * b),
            ] {
                let p = config(
                    "scale.toml",
                    &format!(
                        "theta = [{mu:e}, {s:e}]\nsamples = {n}\nseed = 7\n\
                         claimed_fisher = [[{aa:e}, 0.0], [0.0, {bb:e}]]\n\
                         [model]\ntype = \"normal\"\n"
                    ),
                );
                let o = fisher(&[p.to_str().unwrap()]);
                let v = verdict(&o);
                let want = match (kind, resolved) {
                    ("right", true) => "PASS",
                    ("right", false) => "INCONCLUSIVE",
                    _ => "FAIL",
                };
                let text = String::from_utf8_lossy(&o.stdout);
                assert_eq!(v, want, "sigma {s:e}, mu {mu:e}, claim {kind}:\n{text}");
                assert_eq!(o.status.code(), Some(if want == "PASS" { 0 } else { 1 }));
                if want == "INCONCLUSIVE" {
                    assert!(text.contains("the draws are rounded"), "{text}");
                }
            }
        }
    }
}

//! `bayesrg bayes` and `bayesrg flow` through the binary: bad input exits 2
//! with a clear message and writes nothing; a good config exits 0 with every
//! check passing.

use std::path::PathBuf;
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    // Under target/ (cargo's scratch folder for integration tests), not /tmp:
    // the tests of this file share it, so none can remove it when done; the
    // first use in a run clears what an earlier run left.
    static FRESH: std::sync::Once = std::sync::Once::new();
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bayes-cli");
    FRESH.call_once(|| {
        let _ = std::fs::remove_dir_all(&d);
    });
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn run(sub: &str, name: &str, text: &str) -> (i32, String, PathBuf) {
    let cfg = tmp(&format!("{name}.toml"));
    std::fs::write(&cfg, text).unwrap();
    let out = tmp(&format!("{name}-out"));
    let o = Command::new(env!("CARGO_BIN_EXE_bayesrg"))
        .args([sub, cfg.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let msg = String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout);
    (o.status.code().unwrap_or(-1), msg, out)
}

const NORMAL: &str = r#"
theta_star = [0.5, 1.5]
free = ["mu"]
t = [0, 1, 10]
particles = 2000
[model]
type = "normal"
[[prior]]
dist = "normal"
mean = 0.0
sd = 2.0
[[grid]]
lo = -14.0
hi = 14.0
n = 2000
"#;

fn bad(sub: &str, name: &str, text: &str, needle: &str) {
    let (code, msg, out) = run(sub, name, text);
    assert_eq!(code, 2, "{name}: {msg}");
    assert!(msg.contains(needle), "{name}: `{needle}` not in: {msg}");
    assert!(!msg.contains("panicked"), "{name}: {msg}");
    assert!(!out.exists(), "{name}: output written on error");
}

#[test]
fn bayes_good_config_passes() {
    let (code, msg, out) = run("bayes", "good", NORMAL);
    assert_eq!(code, 0, "{msg}");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["pass"], true);
    assert!(out.join("flow.csv").exists() && out.join("variance.png").exists());
}

#[test]
fn bayes_bad_inputs_exit_2() {
    bad(
        "bayes",
        "t-order",
        &NORMAL.replace("t = [0, 1, 10]", "t = [0, 10, 1]"),
        "must increase",
    );
    bad(
        "bayes",
        "no-mass",
        &NORMAL
            .replace("theta_star = [0.5, 1.5]", "theta_star = [12.0, 1.5]")
            .replace("sd = 2.0", "sd = 0.5"),
        "no mass near theta*",
    );
    bad(
        "bayes",
        "cover",
        &NORMAL.replace("lo = -14.0\nhi = 14.0", "lo = -2.0\nhi = 2.0"),
        "does not cover the posterior",
    );
    bad(
        "bayes",
        "free",
        &NORMAL.replace("free = [\"mu\"]", "free = [\"nu\"]"),
        "not a parameter",
    );
    bad(
        "bayes",
        "syntax",
        &NORMAL.replace("t = [0, 1, 10]", "t = [0, 1,"),
        "syntax.toml:",
    );
}

/// Reads column `col` of the row with T = `t` from a flow.csv.
fn flow_value(out: &std::path::Path, t: f64, col: &str) -> f64 {
    let text = std::fs::read_to_string(out.join("flow.csv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let j = head.iter().position(|h| *h == col).unwrap();
    let row = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|r| r[0].parse::<f64>().unwrap() == t)
        .unwrap();
    row[j].parse().unwrap()
}

const POISSON_5_37: &str = r#"
theta_star = [3.5]
t = [5, 37]
particles = 2000
late_tolerance = 0.1
[model]
type = "poisson"
[[prior]]
dist = "gamma"
shape = 4.0
rate = 1.0
[[grid]]
lo = 0.0
hi = 40.0
n = 8000
"#;

#[test]
fn bayes_save_points_need_not_start_at_zero() {
    // Issue 16 item 8: t = [5, 37] used to be integrated as if T started at
    // 5 (five checks failed). The flow starts from the prior at T = 0; the
    // posterior at T = 5 is Gamma(4 + 5·3.5, 1 + 5) (oracles.md §7), mean
    // 21.5/6, variance 21.5/36 — not the prior's 4 and 4 (the old answer).
    let (code, msg, out) = run("bayes", "t5-37", POISSON_5_37);
    assert_eq!(code, 0, "{msg}");
    let m = flow_value(&out, 5.0, "mean_rate");
    let v = flow_value(&out, 5.0, "var_rate");
    assert!(
        (m - 21.5 / 6.0).abs() < 1e-10 * (21.5f64 / 36.0).sqrt(),
        "{m}"
    );
    assert!((v / (21.5 / 36.0) - 1.0).abs() < 1e-10, "{v}");
    let m37 = flow_value(&out, 37.0, "mean_rate");
    assert!((m37 - (4.0 + 37.0 * 3.5) / 38.0).abs() < 1e-9, "{m37}");
}

const POISSON_1E6: &str = r#"
theta_star = [1e6]
t = [0.01, 0.1, 1]
particles = 2000
late_tolerance = 0.05
[model]
type = "poisson"
[[prior]]
dist = "gamma"
shape = 100.0
rate = 8.333333333333333e-5
[[grid]]
lo = 3e5
hi = 2.6e6
n = 6000
"#;

#[test]
fn bayes_checks_are_relative_at_a_rate_of_a_million() {
    // Absolute tolerances (1e-8 on a mean of 1e6) failed a correct flow;
    // relative ones (mean in posterior sd, variance relative) pass it, and
    // the record is the closed form Gamma(100 + Tλ*, b + T) to 1e-9 relative.
    let (code, msg, out) = run("bayes", "rate-1e6", POISSON_1E6);
    assert_eq!(code, 0, "{msg}");
    let b = 8.333333333333333e-5 + 1.0;
    let (m, v) = ((100.0 + 1e6) / b, (100.0 + 1e6) / (b * b));
    let got = flow_value(&out, 1.0, "mean_rate");
    assert!((got - m).abs() < 1e-9 * v.sqrt(), "{got} vs {m}");
    // Control: a grid too coarse for the posterior at T = 1 (cells of 1150 for
    // an sd of 1000) fails the conjugate check (exit 1), so the check can fail.
    let (code, msg, _) = run(
        "bayes",
        "rate-1e6-coarse",
        &POISSON_1E6.replace("n = 6000", "n = 2000"),
    );
    assert_eq!(code, 1, "{msg}");
    assert!(
        msg.contains("[FAIL] grid RK4 of (33) vs the conjugate closed form"),
        "{msg}"
    );
}

#[test]
fn bayes_singular_prior_on_a_linear_axis_is_refused() {
    // Jeffreys' Beta(½, ½) is infinite at 0 and 1: the midpoint rule on a
    // linear axis misses the ends by O(h^½) (3.4e-4 at 4000 cells); bayesrg
    // refuses such a grid and names the remedy. A grid past the support of
    // the prior is refused too.
    let cfg = r#"
theta_star = [0.3]
t = [0, 1, 100]
particles = 0
late_tolerance = 0.05
[model]
type = "bernoulli"
[[prior]]
dist = "beta"
a = 0.5
b = 0.5
[[grid]]
lo = 0.0
hi = 1.0
n = 4000
"#;
    bad("bayes", "jeffreys-linear", cfg, "scale = \"logit\"");
    bad(
        "bayes",
        "beyond-support",
        &cfg.replace("hi = 1.0", "hi = 1.2")
            .replace("a = 0.5\nb = 0.5", "a = 2.0\nb = 2.0"),
        "reaches past the end 1",
    );
    let (code, msg, _) = run(
        "bayes",
        "jeffreys-logit",
        &cfg.replace(
            "lo = 0.0\nhi = 1.0\nn = 4000",
            "lo = -80.0\nhi = 80.0\nn = 2000\nscale = \"logit\"",
        ),
    );
    assert_eq!(code, 0, "{msg}");
}

const FLOW: &str = r#"
mu = [3.5]
tau = [0.01, 0.1, 1.0]
samples = 500
[model]
type = "poisson"
[y_grid]
lo = 0
hi = 80
discrete = true
"#;

#[test]
fn flow_good_and_bad() {
    let (code, msg, out) = run("flow", "flow-good", FLOW);
    assert_eq!(code, 0, "{msg}");
    assert!(out.join("observables.csv").exists() && out.join("predictive.png").exists());
    bad(
        "flow",
        "tau-order",
        &FLOW.replace("tau = [0.01, 0.1, 1.0]", "tau = [0.1, 0.1, 1.0]"),
        "must increase",
    );
    bad(
        "flow",
        "no-forward",
        &FLOW.replace("samples = 500", "samples = 500\ndata_space = true"),
        "no forward map",
    );
    bad(
        "flow",
        "y-cover",
        &FLOW.replace("hi = 80", "hi = 4"),
        "does not cover",
    );
}

//! `bayesrg bayes` and `bayesrg flow` through the binary: bad input exits 2
//! with a clear message and writes nothing; a good config exits 0 with every
//! check passing.

use std::path::PathBuf;
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("brg-bayes-cli-{}", std::process::id()));
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

//! `bayesrg sde` with drift and diffusion from a run-time plugin (ABI 1.1 SDE
//! terms; plugins/c-example/ou_sde.c), against the expression route and the
//! closed form.
//!
//! Oracle: the Euler–Maruyama chain of the Ornstein–Uhlenbeck process
//! dY = a(m − Y)dτ + σ dW from y₀ with step h is Gaussian with, after n
//! steps, mean m + ρⁿ(y₀ − m) and variance σ²h(1 − ρ²ⁿ)/(1 − ρ²), ρ = 1 − ah
//! (a closed form of the discrete chain, so the tolerance is the Monte Carlo
//! standard error alone; it differs from the continuous law
//! m + e^{−aτ}(y₀ − m), σ²(1 − e^{−2aτ})/(2a) by O(h)). The plugin route and
//! the expression route with the same seed draw the same Brownian increments
//! and evaluate the same arithmetic, so their ensembles agree to rounding.
//! Faults: a plugin whose drift returns NaN, or reports a caught panic, from
//! τ = 0.3 on makes the run fail with exit 1 naming the plugin, the function
//! and τ, and writes no result folder.

mod plugin_support;

use plugin_support::{ROOT, show, tmp};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// plugins/c-example/ou_sde.c compiled with the system C compiler.
fn ou_plugin() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let dir = tmp().join("sde-plugin");
        std::fs::create_dir_all(&dir).unwrap();
        let lib = dir.join("libou_sde.so");
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let o = Command::new(cc)
            .args([
                "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-shared", "-fPIC",
            ])
            .arg("-I")
            .arg(Path::new(ROOT).join("plugins/api/include"))
            .arg(Path::new(ROOT).join("plugins/c-example/ou_sde.c"))
            .arg("-o")
            .arg(&lib)
            .arg("-lm")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", show(&o));
        lib
    })
}

const RATE: f64 = 2.0;
const MEAN: f64 = 0.5;
const SIGMA: f64 = 0.7;
const DT: f64 = 0.01;
const PATHS: usize = 6_000;

fn config(drift: &str, diffusion: &str, stepper: &str) -> String {
    format!(
        "seed = 11\npaths = {PATHS}\ndt = {DT}\nsave_at = [0.5, 1.0]\ny0 = [-1.0, 2.0]\n\
         stepper = \"{stepper}\"\nsample_paths = 5\n\n[drift]\n{drift}\n\n[diffusion]\n{diffusion}\n"
    )
}

fn plugin_terms(extra: &str) -> String {
    format!(
        "type = \"plugin\"\nterms = {{ type = \"ou-sde/ou\", rate = {RATE}, mean = {MEAN}, \
         sigma = {SIGMA}, dim = 2{extra} }}"
    )
}

/// Runs `bayesrg sde` on `text`; the output folder's summary on success.
fn run(name: &str, text: &str) -> (Output, PathBuf) {
    let dir = tmp().join("sde-plugin").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("c.toml");
    std::fs::write(&cfg, text).unwrap();
    let out = dir.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_bayesrg"))
        .arg("sde")
        .arg("--plugin")
        .arg(ou_plugin())
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .output()
        .unwrap();
    (o, out)
}

fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

/// (mean, variance) of the Euler–Maruyama OU chain after n steps from y0.
fn em_law(y0: f64, n: i32) -> (f64, f64) {
    let rho = 1.0 - RATE * DT;
    let mean = MEAN + rho.powi(n) * (y0 - MEAN);
    let var = SIGMA * SIGMA * DT * (1.0 - rho.powi(2 * n)) / (1.0 - rho * rho);
    (mean, var)
}

fn saved(s: &serde_json::Value) -> Vec<(f64, Vec<f64>, Vec<Vec<f64>>)> {
    s["details"]["saved"]
        .as_array()
        .unwrap_or_else(|| panic!("no saved times in {s}"))
        .iter()
        .map(|v| {
            (
                v["t"].as_f64().unwrap(),
                serde_json::from_value(v["mean"].clone()).unwrap(),
                serde_json::from_value(v["cov"].clone()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn ou_from_the_plugin_has_the_law_of_the_expression_route_and_the_closed_form() {
    let (o, out) = run(
        "ou",
        &config(&plugin_terms(""), &plugin_terms(""), "euler_maruyama"),
    );
    assert!(o.status.success(), "{}", show(&o));
    let plug = saved(&summary(&out));
    let expr = format!(
        "type = \"expression\"\nb = [\"{RATE} * ({MEAN} - y1)\", \"{RATE} * ({MEAN} - y2)\"]"
    );
    let (o, out) = run(
        "ou-expr",
        &config(
            &expr,
            &format!("type = \"diagonal\"\nsigma = [\"{SIGMA}\", \"{SIGMA}\"]"),
            "euler_maruyama",
        ),
    );
    assert!(o.status.success(), "{}", show(&o));
    let ex = saved(&summary(&out));
    assert_eq!(plug.len(), 2);
    for ((t, m, c), (te, me, ce)) in plug.iter().zip(&ex) {
        assert_eq!(t, te);
        let n = (t / DT).round() as i32;
        for (i, y0) in [-1.0, 2.0].into_iter().enumerate() {
            let (mu, var) = em_law(y0, n);
            // Mean: 5 standard errors √(var/N); variance: 5 SE of a Gaussian
            // sample variance, var·√(2/(N−1)).
            let se_m = (var / PATHS as f64).sqrt();
            let se_v = var * (2.0 / (PATHS as f64 - 1.0)).sqrt();
            assert!(
                (m[i] - mu).abs() < 5.0 * se_m,
                "τ = {t}: mean {} vs {mu}",
                m[i]
            );
            assert!(
                (c[i][i] - var).abs() < 5.0 * se_v,
                "τ = {t}: variance {} vs {var}",
                c[i][i]
            );
            // The same increments and arithmetic: the same ensemble to rounding.
            assert!((m[i] - me[i]).abs() < 1e-12, "{} vs {}", m[i], me[i]);
            assert!(
                (c[i][i] - ce[i][i]).abs() < 1e-12,
                "{} vs {}",
                c[i][i],
                ce[i][i]
            );
        }
        // Independent coordinates: the covariance is 0 within its SE.
        let (_, v0) = em_law(-1.0, n);
        assert!(c[0][1].abs() < 5.0 * v0 / (PATHS as f64).sqrt(), "{c:?}");
    }
    // The check can fail: a wrong rate in the oracle is many SE away.
    let (t, m, _) = &plug[0];
    let n = (t / DT).round() as i32;
    let rho = 1.0 - 1.5 * DT;
    let wrong = MEAN + rho.powi(n) * (-1.0 - MEAN);
    let (_, var) = em_law(-1.0, n);
    assert!((m[0] - wrong).abs() > 5.0 * (var / PATHS as f64).sqrt());
}

#[test]
fn milstein_uses_the_plugins_derivative() {
    // σ constant, ∂σ/∂y = 0: Milstein is Euler–Maruyama here, the same law.
    let (o, out) = run(
        "ou-milstein",
        &config(&plugin_terms(""), &plugin_terms(""), "milstein"),
    );
    assert!(o.status.success(), "{}", show(&o));
    let s = saved(&summary(&out));
    let (t, m, c) = &s[1];
    let (mu, var) = em_law(2.0, (t / DT).round() as i32);
    assert!((m[1] - mu).abs() < 5.0 * (var / PATHS as f64).sqrt());
    assert!((c[1][1] - var).abs() < 5.0 * var * (2.0 / PATHS as f64).sqrt());
}

#[test]
fn a_nan_or_panicking_plugin_fails_with_exit_1_naming_the_plugin_and_tau() {
    for (fail, what) in [(1, "returned NaN"), (2, "deliberate failure")] {
        let terms = plugin_terms(&format!(", fail = {fail}, fail_after = 0.3"));
        let (o, out) = run(
            &format!("fail{fail}"),
            &config(&terms, &plugin_terms(""), "euler_maruyama"),
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{}", show(&o));
        assert!(
            err.contains("plugin `ou-sde`")
                && err.contains("terms `ou-sde/ou`")
                && err.contains("`drift`")
                && err.contains(what)
                && err.contains("at τ = 0.3"),
            "{err}"
        );
        assert!(!out.exists(), "no result folder after a failed run");
    }
}

#[test]
fn missing_functions_and_unknown_terms_are_bad_input() {
    // Dimension mismatch: the plugin's terms declare 2, y0 has 2; ask for 3.
    let text = config(&plugin_terms(""), &plugin_terms(""), "euler_maruyama")
        .replace("y0 = [-1.0, 2.0]", "y0 = [-1.0, 2.0, 0.0]");
    let (o, _) = run("dim", &text);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(err.contains("drift.terms"), "{err}");
    let text = config(
        &plugin_terms("").replace("ou-sde/ou", "ou-sde/nothing"),
        &plugin_terms(""),
        "euler_maruyama",
    );
    let (o, _) = run("unknown", &text);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(err.contains("ou-sde/nothing"), "{err}");
}

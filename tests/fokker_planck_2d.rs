//! `bayesrg fokker-planck` with a 2-D config (eq. 15, the forward equation
//! of the SDE of eqs. 45–46): the density against closed forms.
//!
//! Oracles (closed forms, for a Gaussian start N(μ₀, Σ₀) and constant D):
//! - the 2-D Ornstein–Uhlenbeck process with B = diag(b₁, b₂): mean
//!   m + e^{−Bτ}(μ₀ − m), covariance e^{−Bτ}Σ₀e^{−Bτ} + [Dᵢⱼ(1 − e^{−(bᵢ+bⱼ)τ})/(bᵢ+bⱼ)];
//! - the heat kernel (b = 0): mean μ₀, covariance Σ₀ + τD (eq. 21).
//!
//! Tolerances from the grid spacing h (the larger of the two): the
//! finite-volume scheme and the midpoint moments are second order, and the
//! moment quadrature alone biases a variance by h²/12 per axis (a cell's mass
//! put at its centre), so means and covariances are held to h².
//! Mass is conserved to rounding (zero-flux walls). A wrong oracle (D₁₂ = 0)
//! is shown to fail the same tolerance.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bayesrg"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("brg-fp2d-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(name: &str, text: &str, out: Option<&PathBuf>) -> (std::process::Output, serde_json::Value) {
    let d = tmp(name);
    let cfg = d.join("c.toml");
    std::fs::write(&cfg, text).unwrap();
    let mut c = bin();
    c.args(["fokker-planck", cfg.to_str().unwrap(), "--json"]);
    if let Some(o) = out {
        c.arg("--out").arg(o);
    }
    let o = c.output().unwrap();
    let v = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (o, v)
}

const D: [[f64; 2]; 2] = [[0.5, 0.15], [0.15, 0.3]];
const MU0: [f64; 2] = [-0.5, 0.4];
const S0: [[f64; 2]; 2] = [[0.2, 0.05], [0.05, 0.15]];

fn config(drift: [&str; 2], n: usize, l: f64) -> String {
    format!(
        "lo = [-{l}, -{l}]\nhi = [{l}, {l}]\ncells = [{n}, {n}]\nsave_at = [0.25, 1.0]\n\
         drift = [\"{}\", \"{}\"]\ndiffusion = {D:?}\n\n[[initial]]\nweight = 1.0\n\
         mean = {MU0:?}\ncov = {S0:?}\n",
        drift[0], drift[1]
    )
}

/// Mean and covariance of the OU law with B = diag(b), centre m, at τ.
fn ou_law(b: [f64; 2], m: [f64; 2], d: [[f64; 2]; 2], t: f64) -> ([f64; 2], [[f64; 2]; 2]) {
    let e = [(-b[0] * t).exp(), (-b[1] * t).exp()];
    let mean = [m[0] + e[0] * (MU0[0] - m[0]), m[1] + e[1] * (MU0[1] - m[1])];
    let mut cov = [[0.0; 2]; 2];
    for i in 0..2 {
        for j in 0..2 {
            let s = b[i] + b[j];
            let noise = if s == 0.0 {
                d[i][j] * t
            } else {
                d[i][j] * (1.0 - (-s * t).exp()) / s
            };
            cov[i][j] = e[i] * S0[i][j] * e[j] + noise;
        }
    }
    (mean, cov)
}

fn moments(s: &serde_json::Value) -> (f64, [f64; 2], [[f64; 2]; 2]) {
    (
        s["t"].as_f64().unwrap(),
        serde_json::from_value(s["mean"].clone()).unwrap(),
        serde_json::from_value(s["cov"].clone()).unwrap(),
    )
}

fn max_err(m: [f64; 2], c: [[f64; 2]; 2], want: ([f64; 2], [[f64; 2]; 2])) -> (f64, f64) {
    let em = (m[0] - want.0[0]).abs().max((m[1] - want.0[1]).abs());
    let ec = (0..4)
        .map(|k| (c[k / 2][k % 2] - want.1[k / 2][k % 2]).abs())
        .fold(0.0, f64::max);
    (em, ec)
}

#[test]
fn ou_in_two_dimensions_follows_its_closed_form_and_writes_csv_and_heat_maps() {
    let n = 72;
    let h = 8.0 / n as f64;
    let out = tmp("ou-out").join("out");
    let _ = std::fs::remove_dir_all(&out);
    let (o, r) = run(
        "ou",
        &config(["-0.3 * (y1 - 0.5)", "-0.2 * (y2 + 0.3)"], n, 4.0),
        Some(&out),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mass0 = r["mass0"].as_f64().unwrap();
    assert!((mass0 - 1.0).abs() < 1e-6, "{mass0}");
    for s in r["saved"].as_array().unwrap() {
        let (t, m, c) = moments(s);
        assert!((s["mass"].as_f64().unwrap() - mass0).abs() < 1e-12);
        let want = ou_law([0.3, 0.2], [0.5, -0.3], D, t);
        let (em, ec) = max_err(m, c, want);
        assert!(
            em < h * h,
            "τ = {t}: mean {m:?} vs {:?} (tol {})",
            want.0,
            h * h
        );
        assert!(ec < h * h, "τ = {t}: cov {c:?} vs {:?}", want.1);
        // The check can fail: without the correlation of D the covariance
        // is off by far more than the tolerance.
        let wrong = ou_law([0.3, 0.2], [0.5, -0.3], [[0.5, 0.0], [0.0, 0.3]], t);
        assert!(max_err(m, c, wrong).1 > h * h, "τ = {t}");
    }
    assert!(
        r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["pass"] == true),
        "{r}"
    );
    // Long-format CSV: a header and one row per saved time and grid point.
    let csv = std::fs::read_to_string(out.join("density.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("tau,y1,y2,density"));
    assert_eq!(lines.count(), 2 * n * n);
    // Its densities integrate to the mass at each time (Σ p h² ≈ 1).
    let total: f64 = csv
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("1,"))
        .map(|l| l.rsplit(',').next().unwrap().parse::<f64>().unwrap())
        .sum::<f64>()
        * h
        * h;
    assert!((total - 1.0).abs() < 0.02, "{total}");
    for k in 0..2 {
        assert!(out.join(format!("density_{k}.png")).exists());
        let svg = std::fs::read_to_string(out.join(format!("density_{k}.svg"))).unwrap();
        assert!(
            svg.contains("y1 (state") && svg.contains("y2 (state"),
            "axis labels"
        );
        assert!(svg.contains("density p"), "colour-bar label");
    }
    std::fs::remove_dir_all(tmp("ou-out")).ok();
}

#[test]
fn zero_drift_is_the_heat_kernel() {
    let n = 48;
    let h = 11.0 / n as f64;
    let (o, r) = run("heat", &config(["0", "0"], n, 5.5), None);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for s in r["saved"].as_array().unwrap() {
        let (t, m, c) = moments(s);
        let want = ou_law([0.0, 0.0], [0.0, 0.0], D, t);
        let (em, ec) = max_err(m, c, want);
        assert!(em < h * h && ec < h * h, "τ = {t}: {m:?} {c:?} vs {want:?}");
    }
}

#[test]
fn bad_2d_values_are_exit_2_naming_the_field() {
    let (o, _) = run(
        "bad-var",
        &config(["-1.0 * (y3 - 0.5)", "0"], 20, 4.0),
        None,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("drift[0]") && err.contains("unknown variable `y3`"),
        "{err}"
    );
    let text = config(["0", "0"], 20, 4.0).replace("cells = [20, 20]", "cells = [20, 2]");
    let (o, _) = run("bad-cells", &text, None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("cells[1]"), "{err}");
    let text = config(["0", "0"], 20, 4.0).replace(
        "\n\n[[initial]]",
        "\nboundary = \"absorbing\"\n\n[[initial]]",
    );
    let (o, _) = run("bad-boundary", &text, None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("reflecting"), "{err}");
}

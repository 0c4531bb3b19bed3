//! `bayesrg sde` on stiff Ornstein–Uhlenbeck drifts, where the exact law used to
//! overflow (issue #16, item 5): b·t far beyond 700 must run and pass.

use std::process::Command;

fn run(name: &str, config: &str) -> (i32, String, serde_json::Value) {
    let d = std::env::temp_dir().join(format!("brg-sde-ou-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let cfg = d.join("c.toml");
    std::fs::write(&cfg, config).unwrap();
    let out = d.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_bayesrg"))
        .args([
            "sde",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .output()
        .unwrap();
    let summary = std::fs::read_to_string(out.join("summary.json"))
        .map(|s| serde_json::from_str(&s).unwrap())
        .unwrap_or(serde_json::Value::Null);
    std::fs::remove_dir_all(&d).ok();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        summary,
    )
}

#[test]
fn scalar_ou_with_b_1000_at_t_1() {
    // Oracle: N(e^{−1000}·1 ≈ 0, (1 − e^{−2000})/2000) (issue #16: this exited 2
    // with "covariance has a non-finite entry").
    let (code, err, s) = run(
        "b1000",
        r#"
paths = 4000
dt = 1.0
save_at = [0.01, 1.0]
y0 = [1.0]
stepper = "exact_ou"
sample_paths = 5
[drift]
type = "ou"
b = [[1000.0]]
[diffusion]
type = "k_inv"
matrix = [[1.0]]
"#,
    );
    assert_eq!(code, 0, "{err}");
    let saved = &s["details"]["saved"];
    for (k, t) in [0.01f64, 1.0].into_iter().enumerate() {
        let want = -(-2000.0 * t).exp_m1() / 2000.0;
        let v = saved[k]["exact_cov"][0][0].as_f64().unwrap();
        assert!((v - want).abs() < 1e-14 * want, "t = {t}: {v} vs {want}");
        let m = saved[k]["exact_mean"][0].as_f64().unwrap();
        assert!(
            (m - (-1000.0 * t).exp()).abs() <= 1e-14 * (-1000.0 * t).exp(),
            "{m}"
        );
    }
}

#[test]
fn stiff_non_normal_ou_passes() {
    // A Jordan-block drift with B·t = 2000 at the last saved time; the exact
    // law is checked against the mpmath value of tests/oracles/ou_law.py
    // (Σ_40 = [[0.099, −0.023], [−0.023, 0.012]] for these B and K⁻¹).
    let (code, err, s) = run(
        "jordan",
        r#"
paths = 4000
dt = 0.5
save_at = [0.02, 40.0]
y0 = [1.0, -1.0]
stepper = "exact_ou"
sample_paths = 5
[drift]
type = "ou"
b = [[50.0, 200.0], [0.0, 50.0]]
[diffusion]
type = "k_inv"
matrix = [[0.7, 0.1], [0.1, 1.2]]
"#,
    );
    assert_eq!(code, 0, "{err}");
    let c = &s["details"]["saved"][1]["exact_cov"];
    let want = [
        // mpmath: 0.098999999999999995781, −0.022999999999999999056,
        // 0.011999999999999999556 (the nearest doubles are these literals).
        [0.099, -0.023],
        [-0.023, 0.012],
    ];
    for i in 0..2 {
        for j in 0..2 {
            let v = c[i][j].as_f64().unwrap();
            assert!((v - want[i][j]).abs() < 1e-15, "({i}, {j}): {v}");
        }
    }
}

//! `bayesrg geodesic` and `bayesrg spectrum` through the binary: bad input
//! exits with status 2, a clear message and no output folder.
// Oracle values are pasted with the digits mpmath printed (tests/oracles/).
#![allow(clippy::excessive_precision)]

use std::path::PathBuf;
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("brg-geo-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `bayesrg <cmd> <config text> --out <dir>`; returns (status, stderr, out dir).
fn run(cmd: &str, name: &str, config: &str) -> (i32, String, String, PathBuf) {
    let d = tmp(name);
    let cfg = d.join("c.toml");
    std::fs::write(&cfg, config).unwrap();
    let out = d.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_bayesrg"))
        .args([
            cmd,
            cfg.to_str().unwrap(),
            "--json",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        out,
    )
}

fn bad(cmd: &str, name: &str, config: &str, expect: &[&str]) {
    let (code, err, _, out) = run(cmd, name, config);
    assert_eq!(code, 2, "{name}: {err}");
    for e in expect {
        assert!(err.contains(e), "{name}: `{e}` not in: {err}");
    }
    assert!(!out.exists(), "{name}: output folder left behind");
    std::fs::remove_dir_all(out.parent().unwrap()).ok();
}

#[test]
fn geodesic_bad_input() {
    bad(
        "geodesic",
        "unknown-model",
        "from = [0.0]\nto = [1.0]\n[model]\ntype = \"nonesuch\"\n",
        &["nonesuch"],
    );
    bad(
        "geodesic",
        "bad-point",
        "from = [0.0, 1.0]\nto = [0.0, -2.0]\n[model]\ntype = \"normal\"\n",
        &["`to`", "sigma"],
    );
    bad(
        "geodesic",
        "wrong-length",
        "from = [0.0]\nto = [0.0, 2.0]\n[model]\ntype = \"normal\"\n",
        &["`from`", "2 parameters"],
    );
    bad(
        "geodesic",
        "plot-not-2d",
        "from = [1.0, 2.0, 3.0]\nto = [2.0, 2.0, 3.0]\nplot = true\n[model]\ntype = \"lattice_field\"\nshape = [3]\n",
        &["2-D family", "dimension 3"],
    );
    bad(
        "geodesic",
        "plot-1d",
        "from = [1.0]\nto = [2.0]\nplot = true\n[model]\ntype = \"poisson\"\n",
        &["2-D family", "`poisson` has dimension 1"],
    );
    bad(
        "geodesic",
        "unknown-closed-form",
        "from = [0.0, 1.0]\nto = [1.0, 1.0]\nclosed_form = \"cauchy\"\n[model]\ntype = \"normal\"\n",
        &["cauchy", "normal_var"],
    );
    bad("geodesic", "syntax", "from = [0.0, 1.0\n", &["c.toml:"]);
}

#[test]
fn geodesic_closed_form_of_another_family_is_refused() {
    // Issue #11 §2: a named closed form must be the model's own geometry. Each
    // pair has matching dimension except the first, so only the Fisher-metric
    // comparison can refuse them.
    for (name, cfg, expect) in [
        (
            "cf-dimension",
            "from = [0.0, 1.0]\nto = [1.0, 1.0]\nclosed_form = \"bernoulli\"\n[model]\ntype = \"normal\"\n",
            &["closed_form", "1-parameter", "2 parameters"][..],
        ),
        (
            "cf-chart",
            "from = [0.0, 1.0]\nto = [1.0, 4.0]\nclosed_form = \"normal\"\n[model]\ntype = \"normal_var\"\n",
            &["closed_form", "normal_var", "Fisher metric at `from`"][..],
        ),
        (
            "cf-family",
            "from = [1.0]\nto = [1000.0]\nclosed_form = \"exponential\"\n[model]\ntype = \"poisson\"\n",
            &["closed_form", "`poisson`", "Fisher metric"][..],
        ),
        (
            "cf-simplex",
            "from = [0.2, 0.3]\nto = [0.5, 0.1]\nclosed_form = \"normal\"\n[model]\ntype = \"categorical\"\nclasses = 3\n",
            &["closed_form", "`categorical`"][..],
        ),
    ] {
        bad("geodesic", name, cfg, expect);
    }
    // The model's own closed form, named, is accepted (exit 0).
    let (code, err, _, dir) = run(
        "geodesic",
        "cf-own",
        "from = [0.2, 0.3]\nto = [0.5, 1e-6]\nclosed_form = \"categorical\"\n[model]\ntype = \"categorical\"\nclasses = 3\n",
    );
    assert_eq!(code, 0, "{err}");
    std::fs::remove_dir_all(dir.parent().unwrap()).ok();
}

#[test]
fn geodesic_issue_16_cases_through_the_binary() {
    // Exponential 1 → 1000 (was exit 2, "shooting failed"): ln 1000 from
    // mpmath (tests/oracles/geodesic_distances.py), 6.9077552789821370521.
    let (code, err, out, dir) = run(
        "geodesic",
        "exp-1000",
        "from = [1.0]\nto = [1000.0]\n[model]\ntype = \"exponential\"\n",
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let d = v["details"]["distance"].as_f64().unwrap();
    assert!((d - 6.907_755_278_982_137).abs() <= 1e-8 * d, "{d}");
    std::fs::remove_dir_all(dir.parent().unwrap()).ok();
    // Categorical from a probability of 1e-6 (was exit 2): 1.1651118707028665211.
    let (code, err, out, dir) = run(
        "geodesic",
        "cat-1e-6",
        "from = [1e-6, 0.5]\nto = [0.3, 0.3]\n[model]\ntype = \"categorical\"\nclasses = 3\n",
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let d = v["details"]["distance"].as_f64().unwrap();
    assert!((d - 1.165_111_870_702_866_5).abs() <= 1e-8 * d, "{d}");
    std::fs::remove_dir_all(dir.parent().unwrap()).ok();
}

#[test]
fn geodesic_and_curvature_across_hundreds_of_decades_through_the_binary() {
    // Tryout 7 F8/F7 (were exit 1 "no geodesic found" and exit 2 "too close to
    // the edge of the chart" / "does not span a plane"). Oracles (oracles.md
    // §3): exponential |ln(λ₂/λ₁)| = 200·ln 10; Bernoulli
    // 2|arcsin√p₂ − arcsin√p₁|; normal R = −1 at every σ.
    let cases = [
        ("exponential", 1e-100, 1e100, 200.0 * 10f64.ln()),
        (
            "bernoulli",
            1e-100,
            1.0 - 1e-10,
            2.0 * ((1.0f64 - 1e-10).sqrt().asin() - 1e-50f64.asin()),
        ),
    ];
    for (name, a, b, want) in cases {
        let (code, err, out, dir) = run(
            "geodesic",
            name,
            &format!("from = [{a:e}]\nto = [{b:e}]\n[model]\ntype = \"{name}\"\n"),
        );
        assert_eq!(code, 0, "{name}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let d = v["details"]["distance"].as_f64().unwrap();
        assert!((d - want).abs() <= 1e-8 * want, "{name}: {d} vs {want}");
        std::fs::remove_dir_all(dir.parent().unwrap()).ok();
    }
    for sigma in ["1e-100", "1e100"] {
        let d = tmp(&format!("curv-{sigma}"));
        let cfg = d.join("c.toml");
        std::fs::write(
            &cfg,
            format!("theta = [0.0, {sigma}]\n[model]\ntype = \"normal\"\n"),
        )
        .unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_bayesrg"))
            .args(["curvature", cfg.to_str().unwrap(), "--json"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "σ = {sigma}: {err}");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let r = v["scalar"]
            .as_f64()
            .or(v["details"]["scalar"].as_f64())
            .unwrap();
        assert!((r + 1.0).abs() <= 1e-5, "σ = {sigma}: R = {r}");
        std::fs::remove_dir_all(&d).ok();
    }
}

#[test]
fn geodesic_that_cannot_converge_is_exit_1_with_the_reason() {
    // A tolerance below rounding cannot be met: a failed computation (exit 1)
    // whose summary names the attempts, not bad input (exit 2).
    let (code, err, out, dir) = run(
        "geodesic",
        "no-converge",
        "from = [0.0, 1.0]\nto = [3.0, 0.5]\ntol = 1e-18\n[model]\ntype = \"normal\"\n",
    );
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let why = v["details"]["failure"].as_str().unwrap();
    assert!(
        why.contains("Fisher units") && why.contains("continuation"),
        "{why}"
    );
    assert!(dir.join("summary.json").exists());
    std::fs::remove_dir_all(dir.parent().unwrap()).ok();
}

#[test]
fn spectrum_bad_input() {
    bad(
        "spectrum",
        "no-theta",
        "[model]\ntype = \"normal\"\n",
        &["theta"],
    );
    bad(
        "spectrum",
        "free-field-on-normal",
        "[model]\ntype = \"normal\"\n[free_field]\nmass = 1.0\n",
        &["lattice_field"],
    );
    bad(
        "spectrum",
        "bad-shape",
        "[model]\ntype = \"lattice_field\"\nshape = [1]\n[free_field]\nmass = 1.0\n",
        &["at least 2 sites"],
    );
    bad(
        "spectrum",
        "negative-mass",
        "[model]\ntype = \"lattice_field\"\nshape = [4]\n[free_field]\nmass = -1.0\n",
        &["mass"],
    );
    bad(
        "spectrum",
        "bad-cutoff",
        "[model]\ntype = \"lattice_field\"\nshape = [4]\n[free_field]\nmass = 1.0\ncutoff = { lambda = 0.0 }\n",
        &["lambda"],
    );
    bad(
        "spectrum",
        "bad-stiffness",
        "theta = [1.0, -1.0, 1.0, 1.0]\n[model]\ntype = \"lattice_field\"\nshape = [4]\n",
        &["1c", "> 0"],
    );
}

#[test]
fn good_runs_exit_zero_with_json() {
    let (code, err, out, dir) = run(
        "geodesic",
        "good",
        "from = [0.0, 1.0]\nto = [1.0, 2.0]\nclosed_form = \"normal\"\n[model]\ntype = \"normal\"\n",
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["pass"], true);
    assert!(dir.join("geodesic.png").exists());
    std::fs::remove_dir_all(dir.parent().unwrap()).ok();
}

/// The spectrum summary of a run that exited 0 or 1 (pass or failed check).
fn spectrum_json(name: &str, config: &str) -> (i32, serde_json::Value, PathBuf) {
    let (code, err, out, dir) = run("spectrum", name, config);
    assert!(code == 0 || code == 1, "{name}: exit {code}: {err}");
    (code, serde_json::from_str(&out).unwrap(), dir)
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

#[test]
fn spectrum_of_gamma_across_decades_of_shape() {
    // Issue #16 item 4: at shape 1e6 `bayesrg spectrum` said λ_min = 1.1e-10
    // (truth 5.000002e-13) and passed. Oracle: tests/oracles/fisher_spectra.py
    // (mpmath, 40 digits), rate 1. Each eigenvalue must be within the error
    // bound the JSON reports, and λ_min must carry ≥ 8 digits.
    for (shape, lmin) in [
        (1e-3, 0.0009990000016415314),
        (1e-1, 0.09013253647573781),
        (1e1, 0.0051151579242124535),
        (1e3, 5.001661664671666e-07),
        (1e5, 5.0000166661666645e-11),
        (1e6, 5.000001666661666e-13),
    ] {
        let (code, v, dir) = spectrum_json(
            &format!("gamma{shape}"),
            &format!("theta = [{shape:e}, 1.0]\n[model]\ntype = \"gamma\"\n"),
        );
        assert_eq!(code, 0, "shape {shape}: {}", v["checks"]);
        let d = &v["details"];
        let (ev, err, dig) = (
            floats(&d["eigenvalues"]),
            floats(&d["error_bounds"]),
            floats(&d["digits"]),
        );
        assert!(
            (ev[1] - lmin).abs() <= err[1],
            "shape {shape}: {} vs {lmin}",
            ev[1]
        );
        assert!(dig[1] >= 8.0, "shape {shape}: {dig:?}");
        let csv = std::fs::read_to_string(dir.join("spectrum.csv")).unwrap();
        assert!(csv.starts_with("index,eigenvalue,error_bound,digits,null,"));
        std::fs::remove_dir_all(dir.parent().unwrap()).ok();
    }
}

#[test]
fn spectrum_of_sloppy_sums_of_exponentials() {
    // Issue #16 item 4: rates 1, 1.02, … had negative eigenvalues from the
    // formed JᵀJ/σ². Oracle: tests/oracles/fisher_spectra.py (mpmath, 50
    // digits) for 2…6 rates; every eigenvalue positive, within its bound.
    let times = "[0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0]";
    for (n, lmin) in [
        (2, 0.006919443597511464),
        (3, 1.466598924485212e-06),
        (4, 3.6581926688078606e-10),
        (5, 8.507097713372434e-14),
        (6, 1.7473915947819565e-17),
    ] {
        let rates: Vec<String> = (0..n)
            .map(|i| format!("{:?}", 1.0 + 0.02 * i as f64))
            .collect();
        let (code, v, dir) = spectrum_json(
            &format!("soe{n}"),
            &format!(
                "theta = [{}]\n[model]\ntype = \"sum_of_exponentials\"\nterms = {n}\ntimes = {times}\nsigma = 0.1\n",
                rates.join(", ")
            ),
        );
        assert_eq!(code, 0, "{n} rates: {}", v["checks"]);
        let d = &v["details"];
        let (ev, err) = (floats(&d["eigenvalues"]), floats(&d["error_bounds"]));
        assert!(ev.iter().all(|x| *x > 0.0), "{ev:?}");
        assert!(
            (ev[n - 1] - lmin).abs() <= err[n - 1],
            "{n}: {} vs {lmin}",
            ev[n - 1]
        );
        assert_eq!(d["rank"], n);
        std::fs::remove_dir_all(dir.parent().unwrap()).ok();
    }
}

#[test]
fn spectrum_of_a_non_identifiable_model() {
    // Issue #16 item 7: rank 1 and the null direction ±(2, −1)/√5 (closed form),
    // exit 1 when the config claims (by default) a definite metric, 0 with
    // expect_rank = 1.
    let model = "[model]\ntype = \"linear_gaussian\"\na = [[1.0, 2.0], [2.0, 4.0]]\nnoise_cov = [[1.0, 0.0], [0.0, 1.0]]\n";
    let (code, v, dir) = spectrum_json("lg-default", &format!("theta = [1.0, 2.0]\n{model}"));
    assert_eq!(code, 1);
    assert_eq!(v["details"]["rank"], 1);
    std::fs::remove_dir_all(dir.parent().unwrap()).ok();
    let (code, v, dir) = spectrum_json(
        "lg-rank1",
        &format!("theta = [1.0, 2.0]\nexpect_rank = 1\n{model}"),
    );
    assert_eq!(code, 0, "{}", v["checks"]);
    let n = floats(&v["details"]["null_space"][0]);
    assert!(((2.0 * n[0] - n[1]).abs() / 5f64.sqrt() - 1.0).abs() < 1e-12);
    std::fs::remove_dir_all(dir.parent().unwrap()).ok();
}

/// FINDINGS.md A5: points 1e-11 apart. The path and velocity checks allow the
/// rounding of the compared points (16ε·|θ| in Fisher units over d); before,
/// they failed at 3e-5 > 1e-6. Oracle: tests/oracles/geodesic_nearby_and_far.py.
#[test]
fn geodesic_of_nearby_points_passes() {
    for (name, cfg, want) in [
        (
            "near-bern",
            "from = [0.5]\nto = [0.50000000001]\n[model]\ntype = \"bernoulli\"\n",
            2.0000001654807419982e-11,
        ),
        (
            "near-normal",
            "from = [0.0, 1.0]\nto = [0.0, 1.00000000001]\n[model]\ntype = \"normal\"\n",
            1.4142136793785788025e-11,
        ),
    ] {
        let (code, err, out, dir) = run("geodesic", name, cfg);
        assert_eq!(code, 0, "{name}: {err}\n{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let d = v["details"]["distance"].as_f64().unwrap();
        assert!((d - want).abs() <= 1e-6 * want, "{name}: {d}");
        std::fs::remove_dir_all(dir.parent().unwrap()).ok();
    }
}

/// FINDINGS.md D2: σ from 1e-300 to 1e300. The closed-form velocity overflows;
/// it used to be passed on as a guess and reported as "`guess[0]` is NaN" (exit
/// 2, a name the user never wrote). Oracle: √2·ln(1e600) = 1953.8082402181762136.
#[test]
fn geodesic_over_600_decades_is_not_bad_input() {
    let (code, err, out, dir) = run(
        "geodesic",
        "far-normal",
        "from = [0.0, 1e-300]\nto = [0.0, 1e300]\n[model]\ntype = \"normal\"\n",
    );
    assert!(!err.contains("guess"), "{err}");
    assert_ne!(code, 2, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    if code == 0 {
        let d = v["details"]["distance"].as_f64().unwrap();
        assert!((d - 1953.8082402181762136).abs() <= 1e-8 * d, "{d}");
        // D6: path.csv holds σ from 1e-300 to 1e300 in exponent form.
        let csv = std::fs::read_to_string(dir.join("path.csv")).unwrap();
        assert!(csv.lines().all(|l| l.len() < 200), "{csv}");
        assert!(csv.contains("e-300") || csv.contains("e300"), "{csv}");
    } else {
        assert!(v["details"]["failure"].is_string(), "{out}");
    }
    std::fs::remove_dir_all(dir.parent().unwrap()).ok();
}

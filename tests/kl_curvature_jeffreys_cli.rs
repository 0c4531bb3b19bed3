//! `bayesrg kl`, `bayesrg curvature`, `bayesrg jeffreys` through the binary
//! (issue 17, "Command line").
//!
//! Oracles (docs/conventions.md, ../shared/notes/oracles.md):
//! - KL(N(1, 2²) ‖ N(5, 1)) = ln(σ₂/σ₁) + (σ₁² + (μ₁ − μ₂)²)/(2σ₂²) − ½
//!   = 8.806852819440055 (the value quoted in issue 17); the Monte Carlo
//!   estimate within 5 of its standard errors; ½δᵀIδ with I = diag(1/σ², 2/σ²).
//! - Poisson: KL(λ‖λ′) = λ ln(λ/λ′) − λ + λ′, matched by the exact sum over the
//!   support, across decades of λ.
//! - Curvature: the normal family has K = −½, R = −1 at every point; the
//!   categorical family over 3 classes is a sphere of radius 2: K = ¼, R = ½.
//! - Jeffreys: √det I = √2/σ² for the normal family, 1/√λ for the Poisson.
// Oracle values are pasted with the digits mpmath printed (tests/oracles/).
#![allow(clippy::excessive_precision)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(cmd: &str, name: &str, text: &str, json: bool) -> Output {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("geometry_cli");
    std::fs::create_dir_all(&dir).unwrap();
    let p: PathBuf = dir.join(name);
    std::fs::write(&p, text).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_bayesrg"));
    c.arg(cmd).arg(&p);
    if json {
        c.arg("--json");
    }
    c.output().expect("run bayesrg")
}

fn json(cmd: &str, name: &str, text: &str) -> serde_json::Value {
    let out = run(cmd, name, text, true);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn bad(cmd: &str, name: &str, text: &str) -> String {
    let out = run(cmd, name, text, false);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{name}: {err}");
    assert!(
        err.starts_with("error: ") && !err.contains("panicked"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    err
}

fn close(a: f64, b: f64, rtol: f64) -> bool {
    (a - b).abs() <= rtol * b.abs()
}

#[test]
fn kl_of_two_normals_by_three_routes() {
    let v = json(
        "kl",
        "kl_normal.toml",
        "theta = [1.0, 2.0]\ntheta_prime = [5.0, 1.0]\nsamples = 200000\n[model]\ntype = \"normal\"\n",
    );
    let oracle = (1.0f64 / 2.0).ln() + (4.0 + 16.0) / 2.0 - 0.5;
    assert!(close(oracle, 8.806852819440055, 1e-15));
    let cf = v["closed_form"].as_f64().unwrap();
    assert!(close(cf, oracle, 1e-14), "{cf}");
    let mc = v["monte_carlo"]["value"].as_f64().unwrap();
    let se = v["monte_carlo"]["std_err"].as_f64().unwrap();
    assert!(se > 0.0 && (mc - oracle).abs() <= 5.0 * se, "{mc} ± {se}");
    // ½δᵀIδ at θ: δ = (4, −1), I = diag(1/4, 2/4).
    let q = v["quadratic"].as_f64().unwrap();
    assert!(close(q, 0.5 * (16.0 / 4.0 + 2.0 / 4.0), 1e-12), "{q}");
    assert!(v["exact_sum"].is_null());
}

#[test]
fn kl_of_poissons_across_decades_matches_the_exact_sum() {
    for (l, lp) in [(1e-3f64, 2e-3f64), (1.0, 3.5), (1e3, 1.01e3)] {
        let v = json(
            "kl",
            "kl_poisson.toml",
            &format!(
                "theta = [{l}]\ntheta_prime = [{lp}]\nsamples = 50000\n[model]\ntype = \"poisson\"\n"
            ),
        );
        let f: f64 = l * (l / lp).ln() - l + lp;
        let sum = v["exact_sum"]["value"].as_f64().unwrap();
        assert!(close(sum, f, 1e-9), "λ = {l}: exact sum {sum} vs {f}");
        let cf = v["closed_form"].as_f64().unwrap();
        assert!(close(cf, f, 1e-9), "λ = {l}: closed form {cf} vs {f}");
        let mc = v["monte_carlo"]["value"].as_f64().unwrap();
        let se = v["monte_carlo"]["std_err"].as_f64().unwrap();
        assert!(
            (mc - f).abs() <= 5.0 * se.max(1e-300),
            "λ = {l}: {mc} ± {se} vs {f}"
        );
    }
}

#[test]
fn curvature_of_the_normal_and_categorical_families() {
    for theta in ["[0.0, 1.0]", "[-40.0, 3.0]", "[1e3, 1e2]"] {
        let v = json(
            "curvature",
            "curv_normal.toml",
            &format!("theta = {theta}\n[model]\ntype = \"normal\"\n"),
        );
        let r = v["scalar"].as_f64().unwrap();
        let k = v["gaussian"].as_f64().unwrap();
        assert!(close(r, -1.0, 1e-5), "θ = {theta}: R = {r}");
        assert!(close(k, -0.5, 1e-5), "θ = {theta}: K = {k}");
        assert!(close(
            v["sectional"][0]["value"].as_f64().unwrap(),
            -0.5,
            1e-5
        ));
        // Ricci in 2-D: R_ik = K g_ik.
        let g11 = v["metric"][1][1].as_f64().unwrap();
        let ric11 = v["ricci"][1][1].as_f64().unwrap();
        assert!(close(ric11, k * g11, 1e-5), "{ric11} vs {}", k * g11);
    }
    let v = json(
        "curvature",
        "curv_cat.toml",
        "theta = [0.2, 0.3]\n[model]\ntype = \"categorical\"\nclasses = 3\n",
    );
    assert!(close(v["gaussian"].as_f64().unwrap(), 0.25, 1e-5));
    assert!(close(v["scalar"].as_f64().unwrap(), 0.5, 1e-5));
}

#[test]
fn curvature_next_to_a_simplex_edge_is_right_or_unresolved() {
    // Tryout 8, G7: R = 500 ± 1e-7 at (1e-100, 0.999) and 1.0 ± 2e-10 at
    // (1e-300, 0.5), exit 0, for the true ½ (oracle: the 3-class categorical
    // is a sphere of radius 2, R = ½ at every point).
    let cat = |t: &str| format!("theta = {t}\n[model]\ntype = \"categorical\"\nclasses = 3\n");
    for theta in ["[1e-100, 0.999]", "[1e-10, 0.5]", "[0.5, 1e-100]"] {
        let v = json("curvature", "curv_edge.toml", &cat(theta));
        assert_eq!(v["derivatives"], "exact", "{theta}");
        assert!(v["unresolved"].is_null(), "{theta}: {v}");
        assert!(
            close(v["scalar"].as_f64().unwrap(), 0.5, 1e-10),
            "{theta}: {v}"
        );
    }
    // ∂∂g ~ 1/p³ overflows: the differences cannot vouch for any digit.
    let out = run("curvature", "curv_edge.toml", &cat("[1e-300, 0.5]"), false);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("verdict: UNRESOLVED"), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not resolved"), "{err}");
}

#[test]
fn jeffreys_density_across_scales() {
    for s in [1e-4, 1.0, 1e4] {
        let v = json(
            "jeffreys",
            "jeff_normal.toml",
            &format!("theta = [2.0, {s}]\n[model]\ntype = \"normal\"\n"),
        );
        let want = 2f64.sqrt() / (s * s);
        assert!(
            close(v["density"].as_f64().unwrap(), want, 1e-12),
            "σ = {s}"
        );
        assert!(close(v["ln_density"].as_f64().unwrap(), want.ln(), 1e-12));
    }
    let v = json(
        "jeffreys",
        "jeff_pois.toml",
        "theta = [1e-6]\n[model]\ntype = \"poisson\"\n",
    );
    assert!(close(v["density"].as_f64().unwrap(), 1e3, 1e-12));
}

#[test]
fn bad_input_names_the_field() {
    let m = "[model]\ntype = \"normal\"\n";
    let e = bad("kl", "no_prime.toml", &format!("theta = [0.0, 1.0]\n{m}"));
    assert!(e.contains("needs `theta_prime`"), "{e}");
    let e = bad(
        "curvature",
        "prime.toml",
        &format!("theta = [0.0, 1.0]\ntheta_prime = [0.0, 2.0]\n{m}"),
    );
    assert!(
        e.contains("prime.toml:2:15") && e.contains("`bayesrg kl` only"),
        "{e}"
    );
    let e = bad(
        "kl",
        "bad_prime.toml",
        &format!("theta = [0.0, 1.0]\ntheta_prime = [0.0, -2.0]\n{m}"),
    );
    assert!(
        e.contains("bad_prime.toml:2:15") && e.contains("sigma"),
        "{e}"
    );
    let e = bad(
        "jeffreys",
        "bad_theta.toml",
        &format!("theta = [0.0, 0.0]\n{m}"),
    );
    assert!(
        e.contains("bad_theta.toml:1:9") && e.contains("sigma"),
        "{e}"
    );
    let e = bad(
        "kl",
        "few.toml",
        &format!("theta = [0.0, 1.0]\ntheta_prime = [0.0, 2.0]\nsamples = 1\n{m}"),
    );
    assert!(e.contains("few.toml:3:11") && e.contains("samples"), "{e}");
    let e = bad(
        "jeffreys",
        "unknown.toml",
        &format!("theta = [0.0, 1.0]\nsamples_ = 3\n{m}"),
    );
    assert!(e.contains("samples_"), "{e}");
}

mod plugin_support;

/// FINDINGS.md A1: the finite exponential family at probabilities down to
/// 3·10⁻²⁰. Oracle: tests/oracles/tiny_probability_kl.py (mpmath, 50 digits).
#[test]
fn kl_of_the_finite_exponential_family_at_tiny_probabilities() {
    let stats = "stats = [[0.0, 1.0], [1.0, 0.0], [2.0, 3.0], [-1.0, 0.5]]";
    // The exact sum's tolerance: ε·Σ p(|ln p| + |ln p′|) ≈ 1e-21 absolutely at
    // the near point (see models/tests/kl_tiny_probabilities.rs).
    for (tp, want, sum_rtol) in [
        ("[-1.0, 2.0]", 3.1010271422198116995, 1e-13),
        ("[20.001, -10.0]", 1.5290009859527340009e-13, 1e-7),
    ] {
        let v = json(
            "kl",
            "kl_ef_tiny.toml",
            &format!(
                "theta = [20.0, -10.0]\ntheta_prime = {tp}\nsamples = 2000\n[model]\ntype = \"exp_family_finite\"\n{stats}\n"
            ),
        );
        let cf = v["closed_form"].as_f64().unwrap();
        let es = v["exact_sum"]["value"].as_f64().unwrap();
        assert!(close(cf, want, 1e-12), "{tp}: closed form {cf} vs {want}");
        assert!(close(es, want, sum_rtol), "{tp}: exact sum {es} vs {want}");
        // 2000 draws never see the outcomes of probability ≤ 3e-7 that carry
        // the KL: unresolved, not a z of 10⁹ (A2).
        assert_eq!(v["check"], "unresolved", "{v}");
        assert!(v["z"].is_null());
    }
}

/// FINDINGS.md A2: Bernoulli 1e-6 → 5e-7 at 20 000 draws (no success drawn).
#[test]
fn kl_monte_carlo_without_the_rare_event_is_unresolved() {
    let text = "theta = [1e-6]\ntheta_prime = [5e-7]\nsamples = 20000\nseed = 1\n[model]\ntype = \"bernoulli\"\n";
    let v = json("kl", "kl_bern_rare.toml", text);
    // tests/oracles/tiny_probability_kl.py
    assert!(close(
        v["closed_form"].as_f64().unwrap(),
        1.9314730556002864281e-7,
        1e-13
    ));
    assert_eq!(v["check"], "unresolved", "{v}");
    assert!(v["z"].is_null());
    let why = v["monte_carlo"]["unresolved"].as_str().unwrap();
    assert!(why.contains("expected fewer than 25 times"), "{why}");
    let out = run("kl", "kl_bern_rare.toml", text, false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("verdict: UNRESOLVED"), "{stdout}");
    assert!(!stdout.contains("z ="), "{stdout}");
    // With the event resolved (p = 0.3 → 0.4) the same command passes.
    let v = json(
        "kl",
        "kl_bern_ok.toml",
        "theta = [0.3]\ntheta_prime = [0.4]\nsamples = 20000\n[model]\ntype = \"bernoulli\"\n",
    );
    assert_eq!(v["check"], "pass", "{v}");
}

/// FINDINGS.md A3: a plugin whose KL has its arguments swapped exits 1; the
/// same plugin with the right KL exits 0. Oracle: KL(2‖3) of the exponential
/// family, ln(2/3) + 3/2 − 1 = 0.0945348918918356.
#[test]
fn kl_fails_when_the_monte_carlo_contradicts_the_closed_form() {
    for (swapped, code) in [(false, 0), (true, 1)] {
        let defines: &[&str] = if swapped { &["-DKL_SWAPPED"] } else { &[] };
        let name = if swapped { "kl-swapped" } else { "kl-right" };
        let lib = plugin_support::c_lib(name, "tests/faults/kl_swapped.c", defines);
        let text = format!(
            "plugins = [{:?}]\ntheta = [2.0]\ntheta_prime = [3.0]\nsamples = 20000\n[model]\ntype = \"my-c/exponential\"\n",
            lib.display().to_string()
        );
        let out = run("kl", &format!("{name}.toml"), &text, false);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(code), "{name}: {stdout}");
        let closed: f64 = if swapped {
            (3.0f64 / 2.0).ln() + 2.0 / 3.0 - 1.0
        } else {
            (2.0f64 / 3.0).ln() + 3.0 / 2.0 - 1.0
        };
        assert!(stdout.contains(&format!("{closed:.15e}")), "{stdout}");
        assert!(
            stdout.contains(if swapped {
                "verdict: FAIL"
            } else {
                "verdict: PASS"
            }),
            "{stdout}"
        );
    }
}

/// FINDINGS.md A9: the gamma Jeffreys density at shape 10¹² (β = 2). Oracle:
/// tests/oracles/gamma_jeffreys_large_shape.py (mpmath, 60 digits).
#[test]
fn jeffreys_of_the_gamma_at_a_large_shape() {
    let v = json(
        "jeffreys",
        "jeffreys_gamma_1e12.toml",
        "theta = [1e12, 2.0]\n[model]\ntype = \"gamma\"\n",
    );
    let ln = v["ln_density"].as_f64().unwrap();
    assert!(close(ln, -14.855231328804025402, 1e-14), "{ln}");
}

/// Tryout 8 G3/G13: KL at extreme scales. Oracle: tests/oracles/kl_extreme_scales.py
/// (mpmath, 80 digits, of the f64 inputs). The beta closed form was NaN from
/// shapes 10⁻²⁰⁰; the categorical exact sum lost p₃ ln(p₃/q₃) next to the
/// vertex p₃ = 1 (1 − p₁ − p₂ rounds to 1) and came out negative.
#[test]
fn kl_at_extreme_scales_matches_mpmath() {
    let cases: [(&str, &str, &str, f64, bool); 6] = [
        (
            "beta",
            "[1e-300, 1e-300]",
            "[2e-300, 1e-300]",
            0.21231792754821907,
            false,
        ),
        (
            "beta",
            "[1e-200, 1e-200]",
            "[2e-200, 1e-200]",
            0.21231792754821907,
            false,
        ),
        (
            "beta",
            "[1e-150, 3.0]",
            "[2e-150, 3.0]",
            0.30685281944005469,
            false,
        ),
        (
            "categorical",
            "[1e-30, 1e-30]",
            "[1.5e-30, 1e-30]",
            9.4534891891835568e-32,
            true,
        ),
        (
            "categorical",
            "[1e-150, 1e-150]",
            "[1.5e-150, 1e-150]",
            9.4534891891835641e-152,
            true,
        ),
        (
            "categorical",
            "[1e-300, 1e-300]",
            "[1.5e-300, 1e-300]",
            9.4534891891835648e-302,
            true,
        ),
    ];
    for (i, (ty, a, b, want, sum)) in cases.iter().enumerate() {
        let extra = if *ty == "categorical" {
            "classes = 3\n"
        } else {
            ""
        };
        let v = json(
            "kl",
            &format!("kl_extreme_{i}.toml"),
            &format!(
                "theta = {a}\ntheta_prime = {b}\nsamples = 2000\n[model]\ntype = \"{ty}\"\n{extra}"
            ),
        );
        let closed = v["closed_form"].as_f64().unwrap_or(f64::NAN);
        assert!(
            close(closed, *want, 1e-12),
            "{ty} {a}: closed form {closed} vs {want}"
        );
        if *sum {
            let s = v["exact_sum"]["value"].as_f64().unwrap();
            let r = v["exact_sum"]["rounding"].as_f64().unwrap();
            // The compensated sum keeps a few ulp of its largest term
            // (p₁ ln(p₁/q₁) ≈ 4·10⁻¹ of the value): 10⁻¹² relative.
            assert!(close(s, *want, 1e-12), "{ty} {a}: exact sum {s} vs {want}");
            assert!(r < 1e-9 * want, "{ty} {a}: rounding bound {r}");
        }
    }
}

/// Tryout 8 G13: exact sums whose terms cancel below their rounding
/// (Poisson 1 vs 1 + 10⁻¹², KL 5.0009·10⁻²⁵; Bernoulli 0.5 vs 0.5 + 10⁻⁹,
/// KL 2.0·10⁻¹⁸; tests/oracles/kl_extreme_scales.py) carry a rounding bound
/// that covers the distance to the mpmath value and exceeds the value (no
/// significant digit), while the closed form is right.
#[test]
fn exact_sums_below_their_rounding_say_so() {
    let cases = [
        (
            "poisson",
            "[1.0]",
            "[1.000000000001]",
            5.0008890453366436e-25,
        ),
        (
            "bernoulli",
            "[0.5]",
            "[0.500000001]",
            1.9999998868722758e-18,
        ),
    ];
    for (i, (ty, a, b, want)) in cases.iter().enumerate() {
        let v = json(
            "kl",
            &format!("kl_cancel_{i}.toml"),
            &format!("theta = {a}\ntheta_prime = {b}\nsamples = 2000\n[model]\ntype = \"{ty}\"\n"),
        );
        let closed = v["closed_form"].as_f64().unwrap();
        assert!(
            close(closed, *want, 1e-6),
            "{ty}: closed form {closed} vs {want}"
        );
        let s = v["exact_sum"]["value"].as_f64().unwrap();
        let r = v["exact_sum"]["rounding"].as_f64().unwrap();
        assert!(
            (s - want).abs() <= r && r >= want.abs(),
            "{ty}: sum {s} ± {r} vs {want}"
        );
    }
}

/// Tryout 8 G14: the gamma Jeffreys ln √det I = ½ ln(kψ′(k) − 1) − ln β at
/// tiny shapes, where kψ′(k) ≈ 1/k overflowed to "inf (ln inf)". Oracle:
/// tests/oracles/kl_extreme_scales.py (mpmath, 80 digits).
#[test]
fn jeffreys_of_the_gamma_at_tiny_shapes() {
    for (i, (k, b, want)) in [
        ("1e-300", "1.0", 345.38776394910685),
        ("1e-150", "2.0", 172.00073479399348),
        ("1e-5", "1.0", 5.7564577325423603),
        ("0.5", "1.0", 0.19174643855412823),
    ]
    .iter()
    .enumerate()
    {
        let v = json(
            "jeffreys",
            &format!("jeffreys_gamma_tiny_{i}.toml"),
            &format!("theta = [{k}, {b}]\n[model]\ntype = \"gamma\"\n"),
        );
        let ln = v["ln_density"].as_f64().unwrap_or(f64::NAN);
        assert!(close(ln, *want, 1e-13), "k = {k}: {ln} vs {want}");
    }
}

/// Tryout 8 G14 and G13: a valid θ whose result is beyond double precision is
/// a failed computation (exit 1, the reason on stderr), not bad input (exit 2)
/// and not a non-finite value with exit 0: the normal's metric diag(1/σ²,
/// 2/σ²) at σ = 10⁻³⁰⁰ and 10³⁰⁰.
#[test]
fn jeffreys_beyond_double_precision_is_a_failed_computation() {
    for (i, s) in ["1e-300", "1e300"].iter().enumerate() {
        let out = run(
            "jeffreys",
            &format!("jeffreys_normal_extreme_{i}.toml"),
            &format!("theta = [0.0, {s}]\n[model]\ntype = \"normal\"\n"),
            false,
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "σ = {s}: {err}");
        assert!(err.contains("beyond double precision"), "{err}");
        assert!(out.stdout.is_empty() && !err.contains("panicked"));
    }
}

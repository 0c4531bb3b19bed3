//! `bayesrg geodesic` and `bayesrg spectrum` through the binary: bad input
//! exits with status 2, a clear message and no output folder.

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

//! `bayesrg fokker-planck`, `bayesrg semigroup`, `bayesrg reverse` through the
//! binary: the example configs against closed forms, bad input at its line.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bayesrg"))
}

fn example(name: &str) -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/examples/diffusion/").to_string() + name
}

fn json(args: &[&str]) -> serde_json::Value {
    let o = bin().args(args).arg("--json").output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn semigroup_example_is_its_closed_form() {
    let r = json(&["semigroup", &example("semigroup_polynomial.toml")]);
    // (y1 − v1t)² + tK11 + (y1 − v1t)(y2 − v2t) + tK12, t = 0.7, v = (0.3, −1).
    for v in r["values"].as_array().unwrap() {
        let y: Vec<f64> = serde_json::from_value(v["y"].clone()).unwrap();
        let (a, b) = (y[0] - 0.21, y[1] + 0.7);
        let want = a * a + 0.56 + a * b + 0.21;
        let got = v["value"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }
}

#[test]
fn fokker_planck_example_writes_its_density_and_follows_ou() {
    let out = std::env::temp_dir().join(format!("brg-fp-cli-{}", std::process::id()));
    let r = json(&[
        "fokker-planck",
        &example("fokker_planck_ou.toml"),
        "--out",
        out.to_str().unwrap(),
    ]);
    for s in r["saved"].as_array().unwrap() {
        let t = s["t"].as_f64().unwrap();
        let m = 0.5 + (-1.3 * t).exp() * (-2.0);
        assert!((s["mean"].as_f64().unwrap() - m).abs() < 1e-3, "{s}");
    }
    let csv = std::fs::read_to_string(out.join("density.csv")).unwrap();
    assert_eq!(csv.lines().count(), 401);
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn reverse_example_recovers_its_mixture() {
    let r = json(&["reverse", &example("reverse_mixture.toml")]);
    assert!(r["checks"][0]["pass"].as_bool().unwrap(), "{r}");
}

#[test]
fn bad_values_are_exit_2_at_their_line() {
    let d = std::env::temp_dir().join(format!("brg-fp-bad-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let cfg: PathBuf = d.join("c.toml");
    let text = std::fs::read_to_string(example("fokker_planck_ou.toml"))
        .unwrap()
        .replace("\"-1.3 * (y - 0.5)\"", "\"-1.3 * (x - 0.5)\"");
    std::fs::write(&cfg, text).unwrap();
    let o = bin()
        .args(["fokker-planck", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("c.toml:8:") && err.contains("unknown variable `x`"),
        "{err}"
    );
    // Weights that do not sum to 1, at the components' line and column
    // (tryout 8 G10), in `fokker-planck` (`initial`) and `reverse`
    // (`components`); the column counted by hand in the text.
    for (cmd, file, from, to, at) in [
        (
            "fokker-planck",
            "fokker_planck_ou.toml",
            "weight = 1.0",
            "weight = 1.5",
            "c.toml:10:11: `initial`",
        ),
        (
            "reverse",
            "reverse_mixture.toml",
            "weight = 0.35",
            "weight = 0.45",
            "c.toml:10:1: `components`",
        ),
    ] {
        let text = std::fs::read_to_string(example(file)).unwrap();
        assert!(text.contains(from), "{file} has no `{from}`");
        std::fs::write(&cfg, text.replace(from, to)).unwrap();
        let o = bin().args([cmd, cfg.to_str().unwrap()]).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.contains(at) && err.contains("must have weights that sum to 1"),
            "{cmd}: want {at}: {err}"
        );
    }
    std::fs::remove_dir_all(&d).ok();
}

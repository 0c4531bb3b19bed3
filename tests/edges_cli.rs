//! Numbers and messages at the edges, through the binary (tryout 7, F11, F18,
//! F20): a grid that cannot hold the posterior at large T, integer sizes out
//! of range, huge and tiny numbers in messages and CSV headers, a NaN datum,
//! a work budget that is a product of settings.

use std::path::PathBuf;
use std::process::Command;

/// A path under cargo's scratch folder for integration tests; each test
/// uses its own names, and [`run`] clears its output folder first.
fn tmp(name: &str) -> PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("edges-cli");
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// Runs `bayesrg SUB CONFIG [--out DIR]` on `text`; (exit code, stderr +
/// stdout, output folder).
fn run(sub: &str, name: &str, text: &str, out: bool) -> (i32, String, PathBuf) {
    let cfg = tmp(&format!("{name}.toml"));
    std::fs::write(&cfg, text).unwrap();
    let dir = tmp(&format!("{name}-out"));
    let _ = std::fs::remove_dir_all(&dir);
    let mut c = Command::new(env!("CARGO_BIN_EXE_bayesrg"));
    c.args([sub, cfg.to_str().unwrap()]);
    if out {
        c.args(["--out", dir.to_str().unwrap()]);
    }
    let o = c.output().unwrap();
    let msg = String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout);
    (o.status.code().unwrap_or(-1), msg, dir)
}

/// Runs `bayesrg SUB` on `text` and checks that it is refused as bad input
/// (exit 2, no panic) with every one of `needles` in its message; the
/// message.
fn refused(sub: &str, name: &str, text: &str, out: bool, needles: &[&str]) -> String {
    let (code, msg, _) = run(sub, name, text, out);
    assert_eq!(code, 2, "{name}: {msg}");
    assert!(!msg.contains("panicked"), "{name}: {msg}");
    for n in needles {
        assert!(msg.contains(n), "{name}: `{n}` not in: {msg}");
    }
    msg
}

/// The longest run of digits in `s`: a message prints numbers short (the
/// guide: 1e300, not 301 digits), so no run is longer than 17 digits (the
/// most a shortest round-trip f64 needs) plus a few for an integer.
fn longest_digit_run(s: &str) -> usize {
    s.split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

/// The number after `key` in `msg` (up to the next space, comma or paren).
fn number_after(msg: &str, key: &str) -> f64 {
    let at = msg
        .find(key)
        .unwrap_or_else(|| panic!("`{key}` not in: {msg}"))
        + key.len();
    let tail = &msg[at..];
    let end = tail.find([' ', ',', ')', ';']).unwrap_or(tail.len());
    tail[..end]
        .parse()
        .unwrap_or_else(|e| panic!("{e}: `{}` in {msg}", &tail[..end]))
}

/// Column `col` of the row whose first column is `t`, from a CSV file.
fn csv_value(path: &std::path::Path, t: f64, col: &str) -> f64 {
    let mut r = csv::Reader::from_path(path).unwrap();
    let j = r.headers().unwrap().iter().position(|h| h == col).unwrap();
    r.records()
        .map(Result::unwrap)
        .find(|rec| rec[0].parse::<f64>().unwrap() == t)
        .map(|rec| rec[j].parse().unwrap())
        .unwrap_or_else(|| panic!("no row {t} in {}", path.display()))
}

/// A Gaussian location posterior on a grid of `n` cells over [−14, 14]
/// (oracles.md §7: prior N(0, 2²), σ = 1.5, θ* = 0.5).
fn normal(t: f64, n: usize) -> String {
    format!(
        "theta_star = [0.5, 1.5]\nfree = [\"mu\"]\nt = [0, {t:e}]\nparticles = 0\n[model]\ntype = \"normal\"\n[[prior]]\ndist = \"normal\"\nmean = 0.0\nsd = 2.0\n[[grid]]\nlo = -14.0\nhi = 14.0\nn = {n}\n"
    )
}

/// A Poisson rate under a Gamma(4, 1) prior on [0, 40] with 8000 cells
/// (oracles.md §7: π_T = Gamma(4 + 3.5T, 1 + T)).
fn poisson(t: f64) -> String {
    format!(
        "theta_star = [3.5]\nt = [0, {t:e}]\nparticles = 0\n[model]\ntype = \"poisson\"\n[[prior]]\ndist = \"gamma\"\nshape = 4.0\nrate = 1.0\n[[grid]]\nlo = 0.0\nhi = 40.0\nn = 8000\n"
    )
}

/// At decades of T: a grid with at least 1.5 cells per posterior sd gives
/// the closed-form variance of §7 to 1e-8; one with fewer than 0.35 is
/// refused before the run (exit 2, `grid[0].n`, with the cell count for 1.5
/// per sd, the sd being σ/√(I T) of eq. 35); in between the run ends with
/// every check value finite, never a FAIL of value `inf` (F18).
#[test]
fn bayes_grid_refuses_a_posterior_narrower_than_its_cells_at_decades_of_t() {
    // (name, config, T, asymptotic sd, closed-form variance, axis width, cells)
    let mut cases = Vec::new();
    for k in [1, 2, 3, 4, 5, 6, 8, 11, 15] {
        let t = 10f64.powi(k);
        let var = 1.0 / (1.0 / 4.0 + t / 2.25);
        cases.push((
            format!("normal-1e{k}"),
            normal(t, 5000),
            t,
            1.5 / t.sqrt(),
            var,
            28.0,
            5000.0,
        ));
    }
    for k in [1, 2, 4, 5, 6, 9, 12] {
        let t = 10f64.powi(k);
        let var = (4.0 + 3.5 * t) / ((1.0 + t) * (1.0 + t));
        cases.push((
            format!("poisson-1e{k}"),
            poisson(t),
            t,
            (3.5 / t).sqrt(),
            var,
            40.0,
            8000.0,
        ));
    }
    let (mut exact, mut refused, mut between) = (0, 0, 0);
    for (name, text, t, sd, var, width, n) in cases {
        let h = width / n;
        let (code, msg, out) = run("bayes", &name, &text, true);
        assert!(!msg.contains("panicked"), "{name}: {msg}");
        if sd >= 1.5 * h {
            exact += 1;
            assert_eq!(code, 0, "{name}: {msg}");
            let param = if width == 28.0 { "mu" } else { "rate" };
            let got = csv_value(&out.join("flow.csv"), t, &format!("var_{param}"));
            assert!(
                ((got - var) / var).abs() < 1e-8,
                "{name}: var {got} vs closed form {var}"
            );
        } else if sd < 0.35 * h {
            refused += 1;
            assert_eq!(code, 2, "{name}: {msg}");
            assert!(
                msg.contains("`grid[0].n`") && msg.contains("cannot hold the posterior"),
                "{name}: {msg}"
            );
            let line = text.lines().position(|l| l.starts_with("n = ")).unwrap() + 1;
            assert!(
                msg.contains(&format!("{name}.toml:{line}:5:")),
                "{name}: no line:col of n: {msg}"
            );
            let needed = number_after(&msg, "needs n >= ");
            let want = (width * 1.5 / sd).ceil();
            assert!(
                ((needed - want) / want).abs() < 1e-9,
                "{name}: {needed} vs {want}"
            );
            assert!(!out.exists(), "{name}: output written on error");
        } else {
            between += 1;
            assert!(code == 0 || code == 1, "{name}: {msg}");
            if !out.join("summary.json").exists() {
                // Stopped by the run's own check of the grid's sd.
                assert!(code == 1 && msg.contains("of a cell"), "{name}: {msg}");
                continue;
            }
            let s: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                    .unwrap();
            for c in s["checks"].as_array().unwrap() {
                assert!(
                    c["value"].as_f64().is_some_and(f64::is_finite),
                    "{name}: {c}"
                );
            }
        }
    }
    assert!(
        exact >= 5 && refused >= 5 && between >= 2,
        "{exact} {refused} {between}"
    );
}

/// Where eq. (35) cannot foresee it (the data posterior of eq. 32), a
/// posterior whose sd on the grid falls below a quarter of a cell fails the
/// run (exit 1) naming when and why: n observations of N(0.5, 1.5²) give an
/// sd of about 1.5/√n, 0.047 at n = 1000, a twelfth of the 0.56-wide cells
/// of a 50-cell grid.
#[test]
fn bayes_data_posterior_below_a_quarter_cell_fails_naming_when() {
    let text = normal(1.0, 50).replace("particles = 0", "particles = 0\nn_data = 1000");
    let (code, msg, _) = run("bayes", "data-collapse", &text, true);
    assert_eq!(code, 1, "{msg}");
    assert!(
        msg.contains("observations") && msg.contains("of a cell"),
        "{msg}"
    );
    assert!(!msg.contains("panicked"), "{msg}");
}

const CATEGORICAL: &str = "theta = [0.5]\n[model]\ntype = \"categorical\"\nclasses = CLASSES\n";

/// An integer size out of range names its key, with file:line:col and the
/// bounds, in short numbers (F11).
#[test]
fn integer_sizes_out_of_range_name_their_key() {
    for v in ["1e30", "-1", "18446744073709551615", "1.5", "-1e300"] {
        let (code, msg, _) = run(
            "fisher",
            "classes",
            &CATEGORICAL.replace("CLASSES", v),
            false,
        );
        assert_eq!(code, 2, "{v}: {msg}");
        assert!(
            msg.contains("classes.toml:4:11: `model.classes`"),
            "{v}: {msg}"
        );
        assert!(
            msg.contains("must be a whole number from 0 to"),
            "{v}: {msg}"
        );
        assert!(longest_digit_run(&msg) <= 20, "{v}: {msg}");
    }
    // The same in another command and nested in an array of tables.
    let grid = normal(1.0, 50).replace("n = 50", "n = -5");
    let needle = ":14:5: `grid[0].n` = -5 must be a whole number from 0";
    refused("bayes", "grid-n", &grid, true, &[needle]);
    let flow = "mu = [3.0]\ntau = [0.1]\nsamples = 1e30\nseed = 3\n[model]\ntype = \"poisson\"\n[y_grid]\nlo = 0\nhi = 80\ndiscrete = true\n";
    let needle = ":3:11: `samples` = 1e30 must be a whole number";
    refused("flow", "samples", flow, true, &[needle]);
    // A JSON config is told the same, at serde_json's place (try8's last
    // note: JSON configs showed serde's "invalid value: integer `-1`,
    // expected usize at line 3 column 48", the place said twice).
    for (v, shown) in [("-1", "-1"), ("1e30", "1e30"), ("2.5", "2.5")] {
        let cfg = tmp("classes.json");
        let text = format!(
            "{{\n  \"theta\": [0.5],\n  \"model\": {{\"type\": \"categorical\", \"classes\": {v}}}\n}}\n"
        );
        std::fs::write(&cfg, text).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_bayesrg"))
            .args(["fisher", cfg.to_str().unwrap()])
            .output()
            .unwrap();
        let msg = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{v}: {msg}");
        assert!(
            msg.contains(&format!(
                "classes.json:3:{}: `model.classes` = {shown} must be a whole number from 0 to",
                48 + v.len() - 2
            )),
            "{v}: {msg}"
        );
        assert!(!msg.contains(" at line "), "{v}: {msg}");
    }
}

/// Huge and tiny numbers in messages and CSV headers are short (F11), and the
/// KL of a flow at τ = 1e-300 is not negative (F20): its closed form is
/// O(τ), and the quadrature is of two equal distributions to rounding.
#[test]
fn huge_and_tiny_numbers_are_short_and_kl_is_not_negative() {
    let huge = "mu = [3.0]\ntau = [1e100]\nsamples = 2000\nseed = 3\n[model]\ntype = \"poisson\"\n[y_grid]\nlo = 0\nhi = 80\ndiscrete = true\n";
    let msg = refused("flow", "tau-huge", huge, true, &["`tau` = 1e100"]);
    assert!(longest_digit_run(&msg) <= 20, "{msg}");
    let tiny = "mu = [0.0, 1.0]\ntau = [1e-300, 1e-200]\nsamples = 2000\nseed = 3\n[model]\ntype = \"normal\"\n[y_grid]\nlo = -15.0\nhi = 15.0\nn = 3000\n";
    let (code, msg, out) = run("flow", "tau-tiny", tiny, true);
    assert_eq!(code, 0, "{msg}");
    let pred = std::fs::read_to_string(out.join("predictive.csv")).unwrap();
    let head = pred.lines().next().unwrap();
    assert_eq!(head, "y,p_0,p_tau=1e-300,p_tau=1e-200");
    for tau in [1e-300, 1e-200] {
        let kl = csv_value(&out.join("observables.csv"), tau, "kl_to_p0");
        assert!((0.0..1e-15).contains(&kl), "tau {tau}: kl {kl}");
    }
}

/// A NaN datum is named as NaN, not as too few rows (F20).
#[test]
fn a_nan_datum_is_named_before_the_count() {
    let text = "theta = [0.5, 1.5]\ndata = [[nan]]\n[model]\ntype = \"normal\"\n";
    refused("fisher", "data-nan", text, false, &["`data[0][0]` is NaN"]);
}

/// `reverse`'s work budget names every factor with its value and where it
/// is written (or that it is left at its default), and their product
/// against the budget: paths × steps × 4d² evaluations (d = 2).
#[test]
fn reverse_budget_names_every_factor() {
    let base = "seed = 3\nPATHS\nhorizon = 1.5\nvelocity = [0.3, -0.2]\nk_inv = [[0.5, 0.2], [0.2, 0.3]]\n[[components]]\nweight = 1.0\nmean = [-1.5, 0.5]\ncov = [[0.2, 0.05], [0.05, 0.1]]\n";
    let text = base.replace("PATHS", "paths = 100000000000000");
    let msg = refused(
        "reverse",
        "rv-paths",
        &text,
        false,
        &[
            "rv-paths.toml:2:9: `paths` asks for",
            "`paths` = 1e14 × `steps` = 100 × 16",
            "`paths` is at 2:9, `steps` is not in the file (its default)",
        ],
    );
    let product = number_after(&msg, "about ");
    assert!(
        (product / (1e14 * 100.0 * 16.0) - 1.0).abs() < 0.05,
        "{msg}"
    );
    let text = base.replace("PATHS", "paths = 1000\nsteps = 100000000000");
    refused(
        "reverse",
        "rv-steps",
        &text,
        false,
        &[
            "rv-steps.toml:3:9: `steps` asks for",
            "`paths` = 1000 × `steps` = 1e11 × 16",
            "`paths` is at 2:9, `steps` is at 3:9",
        ],
    );
}

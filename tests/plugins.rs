//! Run-time plugins end to end: the example plugins (Rust cdylib and C) are
//! built from the tests, loaded through the library and the `bayesrg` binary,
//! and checked against their closed forms; each broken plugin must produce its
//! own clear error, exit status 2 and no crash. (Faults that end the process —
//! crashes, `exit`, hangs — are the table of `tests/plugin_faults.rs`.)

use bayesrg::core::Model;
use bayesrg::core::fisher;
use bayesrg::plugins::{FaultPolicy, PluginHost, PluginModel};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

mod plugin_support;

use plugin_support::{ROOT, c_lib, dylib, rust_plugins, tmp};

fn cauchy_lib() -> PathBuf {
    dylib(rust_plugins(), "bayesrg_plugin_cauchy")
}

fn panicky_lib() -> PathBuf {
    dylib(rust_plugins(), "bayesrg_test_panic_plugin")
}

fn rayleigh_lib() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| c_lib("rayleigh", "plugins/c-example/rayleigh.c", &[]))
}

fn broken(name: &str, defines: &[&str]) -> PathBuf {
    c_lib(name, "plugins/test-broken/broken.c", defines)
}

fn bayesrg(args: &[&str], plugins: &[&Path]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bayesrg"));
    for p in plugins {
        c.arg("--plugin").arg(p);
    }
    let o = c.args(args).current_dir(ROOT).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs `bayesrg models --plugin lib` and expects exit 2 with an error naming
/// the file and containing `want`.
fn expect_load_error(libs: &[&Path], want: &str) {
    let (code, _, err) = bayesrg(&["models"], libs);
    assert_eq!(code, 2, "expected exit 2, stderr:\n{err}");
    assert!(err.contains(want), "stderr lacks `{want}`:\n{err}");
    let last = libs.last().unwrap().display().to_string();
    assert!(err.contains(&last), "stderr does not name `{last}`:\n{err}");
    // The host itself must not panic (its sources live under src/), and the
    // plugin's panic is reported once, inside the one error message.
    assert!(
        !err.contains("panicked at src/"),
        "the host panicked:\n{err}"
    );
    assert_eq!(err.matches("error: ").count(), 1, "{err}");
    assert!(err.matches("panicked").count() <= 1, "{err}");
}

/// A host of its own (faults recorded, not fatal) with `lib` loaded.
fn host_with(lib: &Path) -> PluginHost {
    let mut host = PluginHost::with_policy(FaultPolicy::Record);
    host.load(lib).unwrap();
    host
}

fn load_model(lib: &Path, tag: &str, params: serde_json::Value) -> (PluginHost, PluginModel) {
    let host = host_with(lib);
    let m = host.create(tag, params).unwrap();
    (host, m)
}

#[test]
fn models_lists_plugin_models_like_builtins() {
    let (code, out, err) = bayesrg(&["models", "--json"], &[&cauchy_lib(), rayleigh_lib()]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let row = |t: &str| {
        rows.iter()
            .find(|r| r["type"] == t)
            .unwrap_or_else(|| panic!("`{t}` not listed: {out}"))
            .clone()
    };
    let c = row("cauchy-plugin/cauchy");
    assert_eq!(c["params"], serde_json::json!(["x0", "gamma"]));
    assert_eq!(c["closed_form_fisher"], true);
    assert_eq!(c["closed_form_kl"], true);
    let r = row("c-example/rayleigh");
    assert_eq!(r["params"], serde_json::json!(["sigma"]));
    assert_eq!(r["closed_form_fisher"], true);
    // The built-ins are still there.
    row("normal");
}

#[test]
fn a_listing_runs_no_plugin_function_so_one_failing_model_hides_nothing() {
    // `rfaulty/fisher_fails_at_example` fails in `fisher` at its example θ.
    // `models` reads closed forms from the plugin's table of functions: it
    // must list that model, the plugin's other model and the built-ins, exit 0.
    let faults = dylib(rust_plugins(), "bayesrg_test_faults_plugin");
    let (code, out, err) = bayesrg(&["models", "--json"], &[&faults]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    for t in [
        "rfaulty/normal",
        "rfaulty/fisher_fails_at_example",
        "normal",
    ] {
        let r = rows.iter().find(|r| r["type"] == t);
        let r = r.unwrap_or_else(|| panic!("`{t}` not listed: {out}"));
        assert_eq!(r["closed_form_fisher"], true, "{t}");
    }
    // And the failure is real: running that model's `fisher` is exit 2.
    let cfg = tmp().join("fisher_fails_at_example.toml");
    std::fs::write(
        &cfg,
        "theta = [0.5, 1.5]\n[model]\ntype = \"rfaulty/fisher_fails_at_example\"\nfault = \"error\"\nin = \"fisher\"\n",
    )
    .unwrap();
    let (code, _, err) = bayesrg(&["fisher", cfg.to_str().unwrap()], &[&faults]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("fisher failed on purpose"), "{err}");
}

#[test]
fn cauchy_plugin_fisher_matches_monte_carlo_and_kl() {
    let (host, m) = load_model(&cauchy_lib(), "cauchy-plugin/cauchy", serde_json::json!({}));
    let theta = [0.5, 2.0];
    m.check_params(&theta).unwrap();
    let closed = fisher::closed_form(&m, &theta).unwrap().matrix;
    // Oracle: the closed form diag(1/(2γ²), 1/(2γ²)) written out here.
    let want = 0.5 / (theta[1] * theta[1]);
    assert!((closed[(0, 0)] - want).abs() < 1e-15 && (closed[(1, 1)] - want).abs() < 1e-15);
    assert_eq!(closed[(0, 1)], 0.0);
    // Second method: Monte Carlo E[ℓℓᵀ] through the plugin's sampler and score;
    // each entry within 5 standard errors of the closed form.
    let mc = fisher::score_outer(&m, &theta, 100_000, 7).unwrap();
    let se = mc.std_err.unwrap();
    for i in 0..2 {
        for j in 0..2 {
            let z = (mc.matrix[(i, j)] - closed[(i, j)]).abs() / se[(i, j)];
            assert!(z < 5.0, "entry ({i},{j}): z = {z}");
        }
    }
    // The exact score agrees with the numerical derivative of the log-likelihood.
    let y = [1.7];
    let mut s = [0.0; 2];
    m.score(&theta, &y, &mut s);
    let mut num = [0.0; 2];
    bayesrg::core::numdiff::gradient_into(|t| m.log_likelihood(t, &y), &theta, &mut num);
    for i in 0..2 {
        assert!(
            (s[i] - num[i]).abs() < 1e-6,
            "score {s:?} vs numerical {num:?}"
        );
    }
    // eq. (31): KL(θ‖θ+δ) / (½ δᵀIδ) → 1; the error is O(|δ|) ≈ 1e-3 here.
    let d = [1e-3, -2e-3];
    let kl = m.kl(&theta, &[theta[0] + d[0], theta[1] + d[1]]).unwrap();
    let quad = 0.5 * want * (d[0] * d[0] + d[1] * d[1]);
    assert!((kl / quad - 1.0).abs() < 5e-3, "ratio {}", kl / quad);
    // The sampler: P(|Y − x₀| < γ) = 1/2 for the Cauchy law; binomial standard
    // error 1/(2√n), 5 of them allowed.
    let n = 40_000;
    let mut rng = bayesrg::core::rng::stream(3, 0);
    let mut y = [0.0];
    let inside = (0..n)
        .filter(|_| {
            m.sample(&theta, &mut rng, &mut y);
            (y[0] - theta[0]).abs() < theta[1]
        })
        .count();
    let p = inside as f64 / n as f64;
    assert!((p - 0.5).abs() < 5.0 * 0.5 / (n as f64).sqrt(), "p = {p}");
    assert!(host.first_fault().is_none());
}

#[test]
fn c_plugin_fisher_matches_monte_carlo() {
    let (host, m) = load_model(rayleigh_lib(), "c-example/rayleigh", serde_json::json!({}));
    let theta = [1.5];
    // Oracle: I(σ) = 4/σ² for the Rayleigh family.
    let want = 4.0 / (theta[0] * theta[0]);
    let closed = fisher::closed_form(&m, &theta).unwrap().matrix;
    assert!((closed[(0, 0)] - want).abs() < 1e-14);
    let mc = fisher::score_outer(&m, &theta, 100_000, 11).unwrap();
    let z = (mc.matrix[(0, 0)] - want).abs() / mc.std_err.unwrap()[(0, 0)];
    assert!(z < 5.0, "z = {z}");
    // The KL Hessian (eq. 31) of the C plugin's closed-form KL is the Fisher.
    let kh = fisher::kl_hessian(&m, &theta).unwrap().matrix;
    assert!((kh[(0, 0)] / want - 1.0).abs() < 1e-4, "{kh}");
    // Invalid θ is reported with the plugin's own message.
    let e = m.check_params(&[-1.0]).unwrap_err().to_string();
    assert!(e.contains("`sigma` = -1 must be > 0"), "{e}");
    // The C plugin validates its parameters too.
    let e = host
        .create("c-example/rayleigh", serde_json::json!({"k": 1}))
        .unwrap_err();
    assert!(e.to_string().contains("takes no parameters"), "{e}");
}

#[test]
fn config_tags_params_and_plugins_key() {
    // A config struct with deny_unknown_fields and no `plugins` field.
    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Cfg {
        theta: Vec<f64>,
        model: Box<dyn Model>,
    }
    let dir = tmp().join("config-case");
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("libcauchy-link.so");
    let _ = std::fs::remove_file(&link);
    #[cfg(unix)]
    std::os::unix::fs::symlink(cauchy_lib(), &link).unwrap();
    #[cfg(not(unix))]
    std::fs::copy(cauchy_lib(), &link).unwrap();
    let cfg = dir.join("c.toml");
    std::fs::write(
        &cfg,
        "plugins = [\"libcauchy-link.so\"]\ntheta = [0.0, 1.0]\n\n[model]\ntype = \"cauchy-plugin/cauchy\"\n",
    )
    .unwrap();
    // Reading the config loads nothing: its plugins are listed, the caller
    // loads them and installs the host for deserialisation.
    let paths = bayesrg_cli::config::plugin_paths(&cfg).unwrap();
    assert_eq!(paths, vec![dir.join("libcauchy-link.so")]);
    let mut host = PluginHost::with_policy(FaultPolicy::Record);
    host.load_all(&paths).unwrap();
    assert!(
        host.plugins().iter().any(|p| p.name == "cauchy-plugin"),
        "the relative path was not loaded"
    );
    host.install();
    let c: Cfg = bayesrg_cli::config::load(&cfg).unwrap();
    assert_eq!(c.model.param_names(), ["x0", "gamma"]);
    // The same through the library crates alone, as docs/plugins.md §10
    // shows it (tryout 8 G11: the page named functions of the binary).
    let mut doc: serde_json::Value =
        toml::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    let lib_paths = bayesrg::plugins::document::plugin_paths(&doc, &dir, "c.toml").unwrap();
    assert_eq!(lib_paths, paths);
    bayesrg::plugins::document::prepare(&mut doc, "c.toml").unwrap();
    let from_lib: Cfg = serde_json::from_value(doc).unwrap();
    assert_eq!(from_lib.model.param_names(), ["x0", "gamma"]);
    // Serialised through typetag as the long form, and back.
    let json = serde_json::to_value(&c.model).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"type": "plugin", "tag": "cauchy-plugin/cauchy", "params": {}})
    );
    let back: Box<dyn Model> = serde_json::from_value(json).unwrap();
    assert_eq!(
        back.log_likelihood(&[0.0, 1.0], &[0.0]),
        -std::f64::consts::PI.ln()
    );
    // Parameters that are not valid for the model: named in the error.
    std::fs::write(
        &cfg,
        "plugins = [\"libcauchy-link.so\"]\ntheta = [0.0, 1.0]\n[model]\ntype = \"cauchy-plugin/cauchy\"\nwidth = 3\n",
    )
    .unwrap();
    let e = format!("{:#}", bayesrg_cli::config::load::<Cfg>(&cfg).unwrap_err());
    assert!(
        e.contains("c.toml") && e.contains("unknown field `width`"),
        "{e}"
    );
    // A plugin tag that no loaded plugin provides.
    std::fs::write(&cfg, "theta = [0.0]\n[model]\ntype = \"nobody/nothing\"\n").unwrap();
    let e = format!("{:#}", bayesrg_cli::config::load::<Cfg>(&cfg).unwrap_err());
    assert!(
        e.contains("unknown plugin model type `nobody/nothing`"),
        "{e}"
    );
    // A plugins key naming a missing file: reading the config is fine (it
    // loads nothing); loading names the file.
    std::fs::write(
        &cfg,
        "plugins = [\"nope.so\"]\ntheta = [0.0]\n[model]\ntype = \"normal\"\n",
    )
    .unwrap();
    bayesrg_cli::config::load::<Cfg>(&cfg).unwrap();
    let paths = bayesrg_cli::config::plugin_paths(&cfg).unwrap();
    let e = PluginHost::new().load_all(&paths).unwrap_err().to_string();
    assert!(e.ends_with("nope.so`: file not found"), "{e}");
    // A plugins key of the wrong shape is named with its file.
    std::fs::write(&cfg, "plugins = \"a.so\"\ntheta = [0.0]\n").unwrap();
    let e = format!("{:#}", bayesrg_cli::config::plugin_paths(&cfg).unwrap_err());
    assert!(
        e.contains("c.toml: `plugins` must be a list of paths"),
        "{e}"
    );
    let e = format!(
        "{:#}",
        bayesrg_cli::config::load::<toml::Table>(&cfg).unwrap_err()
    );
    assert!(
        e.contains("c.toml: `plugins` must be a list of paths"),
        "{e}"
    );
}

#[test]
fn panics_and_errors_inside_plugins_are_reported() {
    // Creation that panics inside the plugin: an error, not a crash.
    let host = host_with(&panicky_lib());
    let e = host
        .create("panicky/panicky", serde_json::json!({"panic_in": "create"}))
        .unwrap_err()
        .to_string();
    // The test plugin panics in `param_names`, which `dim` calls.
    assert!(
        e.contains("`dim` panicked (caught inside the plugin): at plugins/test-panic/src/lib.rs:")
            && e.ends_with(": deliberate panic while creating"),
        "{e}"
    );
    // A log-likelihood that panics: NaN, and the first fault is recorded, with
    // a count of all.
    let m = host
        .create("panicky/panicky", serde_json::json!({}))
        .unwrap();
    assert!(host.first_fault().is_none());
    assert!(m.log_likelihood(&[1.0], &[0.0]).is_nan());
    assert!(m.log_likelihood(&[2.0], &[0.0]).is_nan());
    let f = host.first_fault().expect("a fault is recorded").to_string();
    assert!(
        f.starts_with("plugin `panicky` (")
            && f.contains("libbayesrg_test_panic_plugin")
            && f.contains("model `panicky/panicky`: `log_likelihood` panicked")
            && f.ends_with("deliberate panic in log_likelihood"),
        "{f}"
    );
    assert_eq!(host.fault_count(), 2);
    // A C plugin whose functions return errors.
    let lib = broken("broken-fail2", &["-DFAIL=2"]);
    let (host, m) = load_model(&lib, "broken/flat", serde_json::json!({}));
    let mut y = [0.0];
    m.sample(&[0.0], &mut bayesrg::core::rng::stream(1, 0), &mut y);
    assert!(y[0].is_nan());
    let f = host.first_fault().expect("a fault is recorded").to_string();
    assert!(
        f.ends_with("`sample` failed: sample failed on purpose"),
        "{f}"
    );
    // Each host keeps its own faults.
    assert!(host_with(&lib).first_fault().is_none());
}

#[test]
fn binary_reports_a_panicking_plugin_cleanly() {
    // The panicky plugin's example parameters make creation panic.
    expect_load_error(&[&panicky_lib()], "panicked (caught inside the plugin)");
}

#[test]
fn loading_errors_each_have_a_clear_message() {
    expect_load_error(&[Path::new("/no/such/dir/libx.so")], "file not found");
    let fake = tmp().join("not-a-library.so");
    std::fs::write(&fake, "this is text, not a shared library\n").unwrap();
    expect_load_error(&[&fake], "not a loadable shared library");
    expect_load_error(
        &[&broken("no-header", &["-DNO_HEADER"])],
        "not a bayesrg plugin: it exports no `BAYESRG_PLUGIN_HEADER` symbol",
    );
    expect_load_error(
        &[&broken("abi99", &["-DABI_MAJOR=99"])],
        "built for plugin ABI 99.",
    );
    expect_load_error(
        &[&broken("sparc", &["-DTARGET=\"sparc-plan9\""])],
        "built for target `sparc-plan9`",
    );
    expect_load_error(
        &[&broken("builtin-tag", &["-DTAG=\"normal\""])],
        "model tag `normal` collides with the built-in model type `normal`",
    );
    expect_load_error(
        &[&broken("bad-namespace", &["-DTAG=\"other/flat\""])],
        "must be namespaced as `broken/<model-name>`",
    );
    let a = broken("dup-a", &[]);
    let b = broken("dup-b", &[]);
    expect_load_error(
        &[&a, &b],
        "model tag `broken/flat` collides with the model of the same tag from plugin `broken`",
    );
    // The same file twice is loaded once, not a collision.
    let (code, _, err) = bayesrg(&["models"], &[&a, &a]);
    assert_eq!(code, 0, "{err}");
    expect_load_error(
        &[&broken("fail-create", &["-DFAIL=1"])],
        "`create` failed: the broken plugin refuses to create a model",
    );
}

fn write_config(name: &str, text: &str) -> PathBuf {
    let p = tmp().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn fisher_validates_the_cauchy_plugin_example() {
    let lib = cauchy_lib();
    let (code, out, err) = bayesrg(
        &["fisher", "examples/plugins/cauchy.toml", "--json"],
        &[&lib],
    );
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["model"], "cauchy-plugin/cauchy");
    assert_eq!(r["verdict"]["pass"], true, "{out}");
    // Without the plugin the same file is bad input with a clear message.
    let (code, _, err) = bayesrg(&["fisher", "examples/plugins/cauchy.toml"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("unknown plugin model type `cauchy-plugin/cauchy`"),
        "{err}"
    );
}

#[test]
fn fisher_validates_the_c_plugin_named_in_the_config() {
    // `plugins = [...]` relative to the config's folder; no --plugin flag.
    let lib = rayleigh_lib()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let cfg = write_config(
        "rayleigh.toml",
        &format!(
            "plugins = [\"{lib}\"]\ntheta = [1.5]\nsamples = 50000\nseed = 5\n\
             claimed_fisher = [[1.777778]]\n\n[model]\ntype = \"c-example/rayleigh\"\n"
        ),
    );
    let (code, out, err) = bayesrg(&["fisher", cfg.to_str().unwrap(), "--json"], &[]);
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["verdict"]["pass"], true, "{out}");
}

#[test]
fn plugin_faults_and_bad_parameters_exit_2_through_fisher() {
    let cauchy = cauchy_lib();
    let cfg = write_config(
        "cauchy-bad-params.toml",
        "theta = [0.5, 2.0]\n[model]\ntype = \"cauchy-plugin/cauchy\"\nwidth = 3\n",
    );
    let (code, _, err) = bayesrg(&["fisher", cfg.to_str().unwrap()], &[&cauchy]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("unknown field `width`") && err.contains("cauchy-bad-params.toml"),
        "{err}"
    );

    let fail2 = broken("broken-fail2-bin", &["-DFAIL=2"]);
    let cfg = write_config(
        "broken-flat.toml",
        "theta = [0.0]\nsamples = 1000\n[model]\ntype = \"broken/flat\"\n",
    );
    let (code, _, err) = bayesrg(&["fisher", cfg.to_str().unwrap()], &[&fail2]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("failed on purpose") && err.contains("broken-fail2-bin"),
        "{err}"
    );

    let panicky = panicky_lib();
    let cfg = write_config(
        "panicky.toml",
        "theta = [0.0]\nsamples = 1000\n[model]\ntype = \"panicky/panicky\"\n",
    );
    let (code, _, err) = bayesrg(&["fisher", cfg.to_str().unwrap()], &[&panicky]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("panicked (caught inside the plugin)"), "{err}");
    assert!(!err.contains("panicked at src/"), "{err}");
}

#[test]
fn bayes_runs_on_a_plugin_model() {
    let lib = cauchy_lib();
    let text = std::fs::read_to_string(Path::new(ROOT).join("examples/bayes/normal.toml"))
        .unwrap()
        .replace("type = \"normal\"", "type = \"cauchy-plugin/cauchy\"")
        .replace("free = [\"mu\"]", "free = [\"x0\"]");
    let cfg = write_config("bayes-cauchy.toml", &text);
    let (code, _, err) = bayesrg(&["bayes", cfg.to_str().unwrap()], &[&lib]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn flow_and_sde_run_on_plugin_models() {
    // flow on the C plugin (light-tailed Rayleigh), named in the config.
    let lib = rayleigh_lib()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let cfg = write_config(
        "flow-rayleigh.toml",
        &format!(
            "plugins = [\"{lib}\"]\nmu = [1.5]\ntau = [0.001, 0.01, 0.1]\nsamples = 4000\nseed = 3\n\n\
             [model]\ntype = \"c-example/rayleigh\"\n\n[y_grid]\nlo = 0.0\nhi = 30.0\nn = 600\n"
        ),
    );
    let (code, _, err) = bayesrg(&["flow", cfg.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    // sde with the Fisher diffusion of the Rust plugin, in an inline table.
    let text = std::fs::read_to_string(Path::new(ROOT).join("examples/sde/fisher_normal.toml"))
        .unwrap()
        .replace(
            "{ type = \"normal\" }",
            "{ type = \"cauchy-plugin/cauchy\" }",
        )
        .replace("theta = [0.0, 1.5]", "theta = [0.0, 2.0]")
        .replace("paths = 20000", "paths = 4000");
    let cfg = write_config("sde-cauchy.toml", &text);
    let (code, _, err) = bayesrg(&["sde", cfg.to_str().unwrap()], &[&cauchy_lib()]);
    assert_eq!(code, 0, "{err}");
}

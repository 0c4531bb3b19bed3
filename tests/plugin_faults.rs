//! Plugin faults (issue 11 §4) through real `bayesrg` commands: a table of
//! fault-injection plugins, in C (`plugins/test-faults/faults.c`, one library
//! per case) and in Rust (`plugins/test-faults`, the fault chosen by the
//! model's parameters). Every faulty case must end with exit status 2 and one
//! message naming the plugin's library and the function (no exit 101, no death
//! by signal, nothing left beside the output folder, at most one line about a
//! panic) within the 10 s deadline; the healthy controls must pass. The table
//! is data: a new case is one more row.
//!
//! C cases name their library with `plugins = […]` in the config, Rust cases
//! with `--plugin`, so both routes into the supervisor are exercised.

mod plugin_support;

use bayesrg::core::Model;
use bayesrg::plugins::{FaultPolicy, PluginHost};
use plugin_support::{c_lib, dylib, run_bayesrg, rust_plugins, tmp};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Which library a case loads.
#[derive(Clone, Copy)]
enum Lib {
    /// `faults.c` compiled with these `-D` flags.
    C(&'static [&'static str]),
    /// The Rust fault plugin, with these lines in its `[model]` table.
    Rust(&'static str),
}

/// The command a case runs.
#[derive(Clone, Copy, PartialEq)]
enum Cmd {
    /// `bayes CFG --out out`: check_params, sample, log_likelihood, fisher, kl.
    Bayes,
    /// `fisher CFG`: check_params, sample, score, fisher, kl.
    Fisher,
    /// `geodesic CFG --out out`: calls `fisher` while the results are written.
    Geodesic,
}

struct Case {
    name: &'static str,
    lib: Lib,
    cmd: Cmd,
    /// Extra environment (`{dir}` is the case's folder).
    env: &'static [(&'static str, &'static str)],
    /// `--plugin-timeout` in seconds.
    timeout: Option<&'static str>,
    /// The exit status: 2 for a fault, 0 for a healthy control.
    status: i32,
    /// What the one message must contain besides the library's file name.
    expect: &'static [&'static str],
}

const fn fault(name: &'static str, lib: Lib, cmd: Cmd, expect: &'static [&'static str]) -> Case {
    Case {
        name,
        lib,
        cmd,
        env: &[],
        timeout: None,
        status: 2,
        expect,
    }
}

use Cmd::{Bayes, Fisher, Geodesic};
use Lib::{C, Rust};

const CASES: &[Case] = &[
    // Healthy controls: the same plugins without a fault pass.
    Case {
        status: 0,
        ..fault("c-healthy", C(&[]), Bayes, &[])
    },
    Case {
        status: 0,
        ..fault("rust-healthy", Rust(""), Bayes, &[])
    },
    Case {
        status: 0,
        ..fault("c-healthy-fisher", C(&[]), Fisher, &[])
    },
    // C: crashes, exit, hangs.
    fault(
        "c-abort-log-likelihood",
        C(&["-DFAULT=F_ABORT", "-DIN=IN_LOGLIK"]),
        Bayes,
        &["model `faulty/normal`: `log_likelihood` crashed", "SIGABRT"],
    ),
    fault(
        "c-abort-check-params",
        C(&["-DFAULT=F_ABORT", "-DIN=IN_CHECK"]),
        Bayes,
        &["`check_params` crashed", "SIGABRT"],
    ),
    fault(
        "c-null-sample",
        C(&["-DFAULT=F_NULL", "-DIN=IN_SAMPLE"]),
        Bayes,
        &["`sample` crashed", "SIGSEGV"],
    ),
    fault(
        "c-null-score",
        C(&["-DFAULT=F_NULL", "-DIN=IN_SCORE"]),
        Fisher,
        &["`score` crashed", "SIGSEGV"],
    ),
    fault(
        "c-stack-overflow-sample",
        C(&["-DFAULT=F_STACK", "-DIN=IN_SAMPLE"]),
        Bayes,
        &["`sample` crashed", "SIGABRT"],
    ),
    fault(
        "c-exit0-log-likelihood",
        C(&["-DFAULT=F_EXIT0", "-DIN=IN_LOGLIK"]),
        Bayes,
        &["`log_likelihood` ended the whole process with exit status 0"],
    ),
    fault(
        "c-exit0-create",
        C(&["-DFAULT=F_EXIT0", "-DIN=IN_CREATE"]),
        Bayes,
        &["`create` ended the whole process with exit status 0"],
    ),
    Case {
        timeout: Some("0.5"),
        ..fault(
            "c-endless-sample",
            C(&["-DFAULT=F_LOOP", "-DIN=IN_SAMPLE"]),
            Bayes,
            &["`sample` did not return within 0.5 s", "--plugin-timeout"],
        )
    },
    Case {
        env: &[("BAYESRG_PLUGIN_TIMEOUT", "0.5")],
        ..fault(
            "c-endless-fisher-env",
            C(&["-DFAULT=F_LOOP", "-DIN=IN_FISHER"]),
            Bayes,
            &["`fisher` did not return within 0.5 s"],
        )
    },
    fault(
        "c-constructor-aborts",
        C(&["-DFAULT=F_CTOR_ABORT"]),
        Bayes,
        &[
            "plugin library `",
            "its constructors (run while the library is opened) crashed",
            "SIGABRT",
        ],
    ),
    fault(
        "c-model-count-past-table",
        C(&["-DFAULT=F_COUNT"]),
        Bayes,
        &[
            "corrupt model table: 1000 entries",
            "past the end of the library's image",
        ],
    ),
    // A crash while the result folder is being written: its staging folder
    // exists (the plugin only faults then) and must be removed.
    Case {
        env: &[("BRG_FAULT_WATCH", "{dir}")],
        ..fault(
            "c-abort-while-writing-results",
            C(&["-DFAULT=F_ABORT", "-DIN=IN_FISHER", "-DWHEN_STAGING"]),
            Geodesic,
            &["`fisher` crashed", "SIGABRT"],
        )
    },
    // C: broken results and buffers.
    fault(
        "c-overrun-sample",
        C(&["-DFAULT=F_OVERRUN", "-DIN=IN_SAMPLE"]),
        Bayes,
        &["`sample` wrote past the end of its output buffer (1 value)"],
    ),
    fault(
        "c-overrun-log-likelihood",
        C(&["-DFAULT=F_OVERRUN", "-DIN=IN_LOGLIK"]),
        Bayes,
        &["`log_likelihood` wrote past the end of its output buffer (1 value)"],
    ),
    fault(
        "c-overrun-fisher",
        C(&["-DFAULT=F_OVERRUN", "-DIN=IN_FISHER"]),
        Bayes,
        &["`fisher` wrote past the end of its output buffer (4 values)"],
    ),
    fault(
        "c-overrun-score",
        C(&["-DFAULT=F_OVERRUN", "-DIN=IN_SCORE"]),
        Fisher,
        &["`score` wrote past the end of its output buffer (2 values)"],
    ),
    fault(
        "c-nan-log-likelihood",
        C(&["-DFAULT=F_NAN", "-DIN=IN_LOGLIK"]),
        Bayes,
        &["`log_likelihood` returned NaN at θ = [", "], y = ["],
    ),
    fault(
        "c-inf-log-likelihood",
        C(&["-DFAULT=F_INF", "-DIN=IN_LOGLIK"]),
        Bayes,
        &["`log_likelihood` returned inf at θ = ["],
    ),
    fault(
        "c-nan-sample",
        C(&["-DFAULT=F_NAN", "-DIN=IN_SAMPLE"]),
        Bayes,
        &["`sample` returned the sample [NaN] at θ = [0.5, 1.5], seed = "],
    ),
    fault(
        "c-nan-fisher",
        C(&["-DFAULT=F_NAN", "-DIN=IN_FISHER"]),
        Bayes,
        &["`fisher` returned the matrix [", "NaN] at θ = [0.5, 1.5]"],
    ),
    fault(
        "c-nan-kl",
        C(&["-DFAULT=F_NAN", "-DIN=IN_KL"]),
        Bayes,
        &["`kl` returned NaN at θ₁ = [0.5, 1.5]"],
    ),
    fault(
        "c-nan-score",
        C(&["-DFAULT=F_NAN", "-DIN=IN_SCORE"]),
        Fisher,
        &[
            "`score` returned the score [",
            "NaN] at θ = [0.5, 1.5], y = [",
        ],
    ),
    fault(
        "c-error-status-sample",
        C(&["-DFAULT=F_STATUS", "-DIN=IN_SAMPLE"]),
        Bayes,
        &["`sample` failed: sample failed on purpose"],
    ),
    fault(
        "c-dim-0",
        C(&["-DFAULT=F_DIM0"]),
        Bayes,
        &["`dim` declares 0 parameters"],
    ),
    fault(
        "c-dim-65536",
        C(&["-DFAULT=F_DIM_HUGE"]),
        Bayes,
        &["`dim` declares implausible sizes dim = 65536"],
    ),
    fault(
        "c-example-theta-of-wrong-length",
        C(&["-DFAULT=F_THETA_LEN"]),
        Bayes,
        &["`dim` declares dim = 2, but its example θ has 3 entries"],
    ),
    // Rust: the same kinds, and the two a C plugin cannot commit.
    fault(
        "rust-panic-log-likelihood",
        Rust("fault = \"panic\"\nin = \"log_likelihood\""),
        Bayes,
        &[
            "`log_likelihood` panicked (caught inside the plugin): at plugins/test-faults/src/lib.rs:",
            "deliberate panic in LogLikelihood",
        ],
    ),
    fault(
        "rust-panic-score",
        Rust("fault = \"panic\"\nin = \"score\""),
        Fisher,
        &["`score` panicked (caught inside the plugin)"],
    ),
    fault(
        "rust-panic-while-unwinding",
        Rust("fault = \"panic_while_unwinding\"\nin = \"sample\""),
        Bayes,
        &["`sample` crashed", "SIGABRT"],
    ),
    fault(
        "rust-abort-kl",
        Rust("fault = \"abort\"\nin = \"kl\""),
        Bayes,
        &["`kl` crashed", "SIGABRT"],
    ),
    fault(
        "rust-null-sample",
        Rust("fault = \"null\"\nin = \"sample\""),
        Bayes,
        &["`sample` crashed", "SIGSEGV"],
    ),
    fault(
        "rust-stack-overflow-log-likelihood",
        Rust("fault = \"stack_overflow\"\nin = \"log_likelihood\""),
        Bayes,
        &["`log_likelihood` crashed", "SIGABRT"],
    ),
    fault(
        "rust-exit0-fisher",
        Rust("fault = \"exit0\"\nin = \"fisher\""),
        Bayes,
        &["`fisher` ended the whole process with exit status 0"],
    ),
    Case {
        timeout: Some("0.5"),
        ..fault(
            "rust-endless-kl",
            Rust("fault = \"loop\"\nin = \"kl\""),
            Bayes,
            &["`kl` did not return within 0.5 s"],
        )
    },
    Case {
        env: &[("BRG_TEST_CTOR_ABORT", "1")],
        ..fault(
            "rust-constructor-aborts",
            Rust(""),
            Bayes,
            &[
                "its constructors (run while the library is opened) crashed",
                "SIGABRT",
            ],
        )
    },
    fault(
        "rust-overrun-score",
        Rust("fault = \"overrun\"\nin = \"score\""),
        Fisher,
        &["`score` wrote past the end of its output buffer (2 values)"],
    ),
    fault(
        "rust-overrun-sample",
        Rust("fault = \"overrun\"\nin = \"sample\""),
        Bayes,
        &["`sample` wrote past the end of its output buffer (1 value)"],
    ),
    fault(
        "rust-nan-log-likelihood",
        Rust("fault = \"nan\"\nin = \"log_likelihood\""),
        Bayes,
        &["`log_likelihood` returned NaN at θ = ["],
    ),
    fault(
        "rust-inf-log-likelihood",
        Rust("fault = \"inf\"\nin = \"log_likelihood\""),
        Bayes,
        &["`log_likelihood` returned inf at θ = ["],
    ),
    fault(
        "rust-nan-sample",
        Rust("fault = \"nan\"\nin = \"sample\""),
        Bayes,
        &["`sample` returned the sample [NaN]"],
    ),
    fault(
        "rust-nan-fisher",
        Rust("fault = \"nan\"\nin = \"fisher\""),
        Bayes,
        &["`fisher` returned the matrix ["],
    ),
    fault(
        "rust-nan-kl",
        Rust("fault = \"nan\"\nin = \"kl\""),
        Bayes,
        &["`kl` returned NaN at θ₁ = ["],
    ),
    fault(
        "rust-error-fisher",
        Rust("fault = \"error\"\nin = \"fisher\""),
        Bayes,
        &["`fisher` failed: fisher failed on purpose"],
    ),
    fault(
        "rust-dim-0",
        Rust("fault = \"dim0\""),
        Bayes,
        &["`dim` declares 0 parameters"],
    ),
];

/// The config of a command, with the model table's extra lines and the
/// plugins key (C cases).
fn config(cmd: Cmd, model: &str, plugins: Option<&Path>) -> String {
    let plugins = plugins
        .map(|p| {
            format!(
                "plugins = [{}]\n",
                toml::Value::String(p.display().to_string())
            )
        })
        .unwrap_or_default();
    let tag = if plugins.is_empty() {
        "rfaulty/normal"
    } else {
        "faulty/normal"
    };
    let body = match cmd {
        Cmd::Bayes => {
            "theta_star = [0.5, 1.5]\nfree = [\"mu\"]\nt = [0, 1, 10, 100]\n\
                       particles = 500\nn_data = 100\nseed = 1\nlate_tolerance = 0.2\n\n\
                       [[prior]]\ndist = \"normal\"\nmean = 0.0\nsd = 2.0\n\n\
                       [[grid]]\nlo = -14.0\nhi = 14.0\nn = 700\n"
        }
        Cmd::Fisher => "theta = [0.5, 1.5]\nsamples = 2000\nseed = 1\n",
        Cmd::Geodesic => "from = [0.0, 1.0]\nto = [1.0, 2.0]\nclosed_form = \"normal\"\n",
    };
    format!("{plugins}{body}\n[model]\ntype = \"{tag}\"\n{model}\n")
}

/// Runs one case; `Err` says what went wrong.
fn run_case(case: &Case, rust_lib: &Path) -> Result<(), String> {
    let dir = tmp().join("faults").join(case.name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (lib, model, plugin_flag): (PathBuf, &str, bool) = match case.lib {
        C(defines) => (
            c_lib(
                &format!("faults-{}", case.name),
                "plugins/test-faults/faults.c",
                defines,
            ),
            "",
            false,
        ),
        Rust(model) => (rust_lib.to_path_buf(), model, true),
    };
    let cfg = dir.join("cfg.toml");
    std::fs::write(
        &cfg,
        config(case.cmd, model, (!plugin_flag).then_some(&*lib)),
    )
    .unwrap();
    let mut args: Vec<String> = match case.cmd {
        Cmd::Bayes => vec![
            "bayes".into(),
            "cfg.toml".into(),
            "--out".into(),
            "out".into(),
        ],
        Cmd::Fisher => vec!["fisher".into(), "cfg.toml".into()],
        Cmd::Geodesic => vec![
            "geodesic".into(),
            "cfg.toml".into(),
            "--out".into(),
            "out".into(),
        ],
    };
    if plugin_flag {
        args.extend(["--plugin".into(), lib.display().to_string()]);
    }
    if let Some(t) = case.timeout {
        args.extend(["--plugin-timeout".into(), t.into()]);
    }
    let dir_text = dir.display().to_string();
    let env: Vec<(&str, String)> = case
        .env
        .iter()
        .map(|(k, v)| (*k, v.replace("{dir}", &dir_text)))
        .collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run_bayesrg(&args, &dir, &env, Duration::from_secs(10));

    let err = &run.stderr;
    let mut problems = Vec::new();
    if run.hung {
        problems.push("did not end within 10 s".to_string());
    }
    if run.status.code().is_none() {
        problems.push(format!("died by a signal: {:?}", run.status));
    }
    if run.code() != case.status {
        problems.push(format!("exit status {} (want {})", run.code(), case.status));
    }
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    if case.status == 2 {
        let lib_name = lib.file_name().unwrap().to_string_lossy().into_owned();
        match errors.as_slice() {
            [one] => {
                for want in case.expect.iter().copied().chain([lib_name.as_str()]) {
                    if !one.contains(want) {
                        problems.push(format!("the message lacks `{want}`"));
                    }
                }
            }
            _ => problems.push(format!("{} error messages, want one", errors.len())),
        }
    } else if !errors.is_empty() {
        problems.push("an error message from a healthy plugin".into());
    }
    if err.matches("panicked").count() > 1 {
        problems.push("a panic is reported more than once".into());
    }
    if err.contains("panicked at src/") {
        problems.push("the host panicked".into());
    }
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let want_left: &[&str] = if case.status == 0 && case.cmd != Cmd::Fisher {
        &["cfg.toml", "out"]
    } else {
        &["cfg.toml"]
    };
    if left != want_left {
        problems.push(format!("the folder holds {left:?}, want {want_left:?}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}\n--- stderr:\n{err}--- stdout (last 300 bytes):\n{}",
            case.name,
            problems.join("; "),
            &run.stdout[run.stdout.len().saturating_sub(300)..]
        ))
    }
}

#[test]
fn every_plugin_fault_is_named_once_with_exit_2_and_nothing_left() {
    let rust_lib = dylib(rust_plugins(), "bayesrg_test_faults_plugin");
    // Two workers: the cases are separate processes.
    let next = AtomicUsize::new(0);
    let failures: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut fails = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(case) = CASES.get(i) else { break };
                        if let Err(e) = run_case(case, &rust_lib) {
                            fails.push(e);
                        }
                    }
                    fails
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_table_checks_can_fail() {
    // A case whose expectation is wrong must be reported: a healthy plugin
    // expected to fault, and a fault expected with the wrong function.
    let rust_lib = dylib(rust_plugins(), "bayesrg_test_faults_plugin");
    let wrong = fault(
        "wrong-expectation-healthy",
        C(&[]),
        Fisher,
        &["`sample` crashed"],
    );
    let e = run_case(&wrong, &rust_lib).unwrap_err();
    assert!(
        e.contains("exit status 0 (want 2)") && e.contains("0 error messages"),
        "{e}"
    );
    let wrong = fault(
        "wrong-expectation-function",
        Rust("fault = \"nan\"\nin = \"kl\""),
        Bayes,
        &["`sample` returned"],
    );
    let e = run_case(&wrong, &rust_lib).unwrap_err();
    assert!(e.contains("the message lacks ``sample` returned`"), "{e}");
}

#[test]
fn minus_infinity_is_a_log_likelihood_and_nan_is_a_fault() {
    // In the process, faults recorded: −inf (outside the support) passes
    // through; NaN and +inf are faults naming the function and the inputs.
    let neg = c_lib(
        "faults-neg-inf",
        "plugins/test-faults/faults.c",
        &["-DFAULT=F_NEG_INF", "-DIN=IN_LOGLIK"],
    );
    let nan = c_lib(
        "faults-nan-inproc",
        "plugins/test-faults/faults.c",
        &["-DFAULT=F_NAN", "-DIN=IN_LOGLIK"],
    );
    for (lib, want_fault) in [(neg, false), (nan, true)] {
        let mut host = PluginHost::with_policy(FaultPolicy::Record);
        host.load(&lib).unwrap();
        let m = host.create("faulty/normal", serde_json::json!({})).unwrap();
        let v = m.log_likelihood(&[0.5, 1.5], &[0.25]);
        match (want_fault, host.first_fault()) {
            (false, None) => assert_eq!(v, f64::NEG_INFINITY),
            (true, Some(f)) => {
                assert!(v.is_nan());
                assert_eq!(
                    f.to_string(),
                    format!(
                        "plugin `faulty` ({}), model `faulty/normal`: `log_likelihood` returned NaN at θ = [0.5, 1.5], y = [0.25]",
                        lib.canonicalize().unwrap().display()
                    )
                );
            }
            (w, f) => panic!("want a fault: {w}, got {f:?}"),
        }
    }
}

//! `bayesrg plugin new NAME --lang rust|c` (issue 17, "Writing a model"): the
//! skeleton it writes builds with the line it prints and validates as it
//! stands — `bayesrg fisher example.toml` must PASS — in both languages. The
//! validator is the oracle: it checks the skeleton's exact score, Fisher
//! metric and KL divergence against Monte Carlo estimates and against each
//! other, and a skeleton with a wrong Fisher metric fails it.
//!
//! The Rust skeleton is built by cargo exactly as a user would (its own
//! workspace, a release build, offline from the local registry cache). The
//! first run compiles serde and serde_json for it (a minute or so on two
//! cores); the build folder is kept between runs, so later runs take seconds.

mod plugin_support;

use plugin_support::{ROOT, show, tmp};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bayesrg(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bayesrg"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// The build-and-validate line `plugin new` printed (after "cd DIR && ").
fn printed_line(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("cd "))
        .unwrap_or_else(|| panic!("no build line in:\n{text}"));
    line.trim().to_string()
}

/// Runs a printed shell line with the test's `bayesrg` and `cargo` first on
/// the PATH, offline.
fn sh(line: &str, cwd: &Path) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_bayesrg")).parent().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let cargo_dir = Path::new(&cargo)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = std::env::join_paths([bin.to_path_buf(), cargo_dir].into_iter().chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    Command::new("sh")
        .args(["-c", line])
        .current_dir(cwd)
        .env("PATH", path)
        .env("CARGO_NET_OFFLINE", "true")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap()
}

/// A fresh folder for a skeleton; `keep` (a subfolder such as `target`) is
/// carried over from the previous run.
fn fresh(name: &str, keep: Option<&str>) -> PathBuf {
    let base = tmp().join("plugin-new");
    std::fs::create_dir_all(&base).unwrap();
    let dir = base.join(name);
    let cache = base.join(format!("{name}.cache"));
    if let Some(k) = keep
        && dir.join(k).exists()
    {
        let _ = std::fs::remove_dir_all(&cache);
        std::fs::rename(dir.join(k), &cache).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn restore(name: &str, keep: &str) {
    let base = tmp().join("plugin-new");
    let cache = base.join(format!("{name}.cache"));
    if cache.exists() {
        std::fs::rename(&cache, base.join(name).join(keep)).unwrap();
    }
}

#[test]
fn the_c_skeleton_builds_with_the_printed_line_and_validates() {
    let dir = fresh("cexp", None);
    let out = bayesrg(
        &[
            "plugin",
            "new",
            "cexp",
            "--lang",
            "c",
            "--dir",
            dir.to_str().unwrap(),
        ],
        Path::new(ROOT),
    );
    assert!(out.status.success(), "{}", show(&out));
    let line = printed_line(&out);
    assert!(
        line.contains("cc -O2 -shared -fPIC") && line.ends_with("bayesrg fisher example.toml"),
        "{line}"
    );
    // It compiles cleanly under strict warnings, too.
    let strict = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args([
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fsyntax-only",
            "cexp.c",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(strict.status.success(), "{}", show(&strict));
    let run = sh(&line, Path::new(ROOT));
    assert!(run.status.success(), "{}", show(&run));
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("verdict: PASS"), "{text}");
    assert!(text.contains("cexp/exponential"), "{text}");

    // The validator is a real oracle: a wrong Fisher metric (2/λ² for 1/λ²)
    // in the skeleton fails it (exit 1).
    let src = dir.join("cexp.c");
    let good = std::fs::read_to_string(&src).unwrap();
    let bad = good.replace(
        "out[0] = 1.0 / (theta[0] * theta[0]);",
        "out[0] = 2.0 / (theta[0] * theta[0]);",
    );
    assert_ne!(good, bad);
    std::fs::write(&src, bad).unwrap();
    let run = sh(&line, Path::new(ROOT));
    assert_eq!(run.status.code(), Some(1), "{}", show(&run));
    assert!(String::from_utf8_lossy(&run.stdout).contains("verdict: FAIL"));
}

#[test]
fn the_rust_skeleton_builds_with_the_printed_line_and_validates() {
    let dir = fresh("rexp", Some("target"));
    let api = Path::new(ROOT).join("plugins/api");
    let out = bayesrg(
        &[
            "plugin",
            "new",
            "rexp",
            "--lang",
            "rust",
            "--dir",
            dir.to_str().unwrap(),
            "--api",
            api.to_str().unwrap(),
        ],
        Path::new(ROOT),
    );
    assert!(out.status.success(), "{}", show(&out));
    restore("rexp", "target");
    let cargo_toml = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(
        cargo_toml.contains(&format!(
            "bayesrg-plugin-api = {{ path = \"{}\" }}",
            api.display()
        )),
        "{cargo_toml}"
    );
    // Offline: the workspace's lock file pins versions already in the cache.
    std::fs::copy(Path::new(ROOT).join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let line = printed_line(&out);
    assert!(line.contains("cargo build --release"), "{line}");
    let run = sh(&line, Path::new(ROOT));
    assert!(run.status.success(), "{}", show(&run));
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        text.contains("verdict: PASS") && text.contains("rexp/exponential"),
        "{text}"
    );
}

#[test]
fn plugin_new_refuses_bad_names_and_occupied_folders() {
    let base = tmp().join("plugin-new");
    std::fs::create_dir_all(base.join("occupied")).unwrap();
    std::fs::write(base.join("occupied/keep.txt"), "mine").unwrap();
    let out = bayesrg(
        &["plugin", "new", "x", "--lang", "c", "--dir", "occupied"],
        &base,
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists and is not an empty folder")
    );
    assert_eq!(
        std::fs::read_to_string(base.join("occupied/keep.txt")).unwrap(),
        "mine"
    );
    for bad in ["My Plugin", "a/b", "", "9lives"] {
        let out = bayesrg(&["plugin", "new", bad, "--dir", "never"], &base);
        assert_eq!(out.status.code(), Some(2), "`{bad}`: {}", show(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("plugin name"),
            "{}",
            show(&out)
        );
    }
    assert!(!base.join("never").exists());
}

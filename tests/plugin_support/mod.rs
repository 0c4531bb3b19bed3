//! What the plugin tests share: building the plugin libraries (Rust crates of
//! the workspace with cargo, C sources with the system `cc`) and running the
//! `bayesrg` binary with a deadline.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A folder for this test binary's files, under cargo's target tmp dir.
pub fn tmp() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-tests");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Builds the Rust plugin crates (once per test binary) with the cargo running
/// the tests, into the workspace's own target folder (cargo has released its
/// build lock by the time tests run, and the dependencies are already built),
/// and returns the folder holding the libraries.
pub fn rust_plugins() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("target folder")
            .to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(ROOT)
            .args([
                "build",
                "-p",
                "bayesrg-plugin-cauchy",
                "-p",
                "bayesrg-test-panic-plugin",
                "-p",
                "bayesrg-test-faults-plugin",
                "--target-dir",
            ])
            .arg(&target)
            .output()
            .expect("run cargo");
        assert!(
            out.status.success(),
            "building the plugins failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target.join("debug")
    })
}

/// `libSTEM.so` (or the platform's names) in `dir`.
pub fn dylib(dir: &Path, stem: &str) -> PathBuf {
    dir.join(format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

/// Compiles a C plugin with the system C compiler into `tmp()/NAME.so`.
pub fn c_lib(name: &str, src: &str, defines: &[&str]) -> PathBuf {
    let out = tmp().join(format!("{name}{}", std::env::consts::DLL_SUFFIX));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let o = Command::new(cc)
        .args(["-O1", "-shared", "-fPIC", "-I"])
        .arg(Path::new(ROOT).join("plugins/api/include"))
        .args(defines)
        .arg(Path::new(ROOT).join(src))
        .arg("-o")
        .arg(&out)
        .arg("-lm")
        .output()
        .expect("run the C compiler `cc`");
    assert!(
        o.status.success(),
        "cc failed on {src}:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// How a run of `bayesrg` ended.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// Whether the deadline was reached (the process was then killed).
    pub hung: bool,
}

impl Run {
    /// The exit code; -1 for a death by signal.
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }
}

/// Runs `bayesrg ARGS` in `dir` with extra environment variables, killing it
/// when it has not ended by `deadline` (a bound against hangs, not a timing).
pub fn run_bayesrg(args: &[&str], dir: &Path, env: &[(&str, &str)], deadline: Duration) -> Run {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new(env!("CARGO_BIN_EXE_bayesrg"));
    // A process group of its own, so that a hung run is killed with the
    // supervised child it started.
    c.args(args)
        .process_group(0)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let child = c.spawn().expect("start bayesrg");
    let pid = child.id();
    let start = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let mut hung = false;
    let out = loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(o) => break o.expect("wait for bayesrg"),
            Err(_) if !hung && start.elapsed() > deadline => {
                hung = true;
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .status();
            }
            Err(_) => {}
        }
    };
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        hung,
    }
}

/// A finished command's status, stdout and stderr, for assertion messages.
pub fn show(o: &std::process::Output) -> String {
    format!(
        "status {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

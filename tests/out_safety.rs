//! `--out` never costs a user a file (issue 11 §1; the rules are in
//! `src/output.rs` and docs/guide.md): every writing command refuses, before
//! any work, a folder it did not write and a folder holding an input or the
//! working folder, and leaves it byte for byte as it was; its own result folders
//! are replaced atomically; interrupted and killed runs leave no staging folder
//! behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_bayesrg");

/// A fresh sandbox: `work/` (the working folder, holding the configs and a
/// user's file), `mine/` (a user's folder) and `data/` (an input folder).
fn sandbox(tag: &str) -> PathBuf {
    let b = std::env::temp_dir().join(format!("brg-out-safety-{}-{tag}", std::process::id()));
    std::fs::remove_dir_all(&b).ok();
    for d in ["work", "mine", "data"] {
        std::fs::create_dir_all(b.join(d)).unwrap();
    }
    std::fs::write(b.join("work/notes.txt"), "my notes").unwrap();
    std::fs::write(b.join("mine/thesis.tex"), "\\documentclass{article}").unwrap();
    std::fs::write(b.join("data/train-images-idx3-ubyte"), "not really mnist").unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, src) in [
        ("sde.toml", "examples/sde/heat_kernel.toml"),
        ("bayes.toml", "examples/bayes/poisson.toml"),
        ("flow.toml", "examples/flow/normal.toml"),
        ("geodesic.toml", "examples/geodesic/normal.toml"),
        ("spectrum.toml", "examples/spectrum/normal.toml"),
    ] {
        std::fs::copy(root.join(src), b.join("work").join(name)).unwrap();
    }
    b.canonicalize().unwrap()
}

/// Every file under `dir` with its contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, d: &Path, m: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().to_path_buf();
            if e.file_type().unwrap().is_dir() {
                m.insert(rel.join(""), Vec::new());
                walk(base, &p, m);
            } else {
                m.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut m = BTreeMap::new();
    walk(dir, dir, &mut m);
    m
}

/// The command line of each writing command, with `OUT` for the result folder.
fn commands() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("sde", vec!["sde", "sde.toml", "--out", "OUT"]),
        ("bayes", vec!["bayes", "bayes.toml", "--out", "OUT"]),
        ("flow", vec!["flow", "flow.toml", "--out", "OUT"]),
        (
            "geodesic",
            vec!["geodesic", "geodesic.toml", "--out", "OUT"],
        ),
        (
            "spectrum",
            vec!["spectrum", "spectrum.toml", "--out", "OUT"],
        ),
        ("prune", vec!["prune", "--quick", "--quiet", "--out", "OUT"]),
        (
            "reproduce",
            vec![
                "reproduce",
                "--quick",
                "--quiet",
                "--only",
                "geometry",
                "--out",
                "OUT",
            ],
        ),
    ]
}

/// `args` with `out` in place of `OUT`.
fn with_out<'a>(args: &[&'a str], out: &'a str) -> Vec<&'a str> {
    args.iter()
        .map(|a| if *a == "OUT" { out } else { a })
        .collect()
}

fn run_in(work: &Path, args: &[&str], out: &str) -> Output {
    Command::new(BIN)
        .args(with_out(args, out))
        .current_dir(work)
        .output()
        .unwrap()
}

#[test]
fn every_writing_command_refuses_folders_it_did_not_write() {
    let b = sandbox("refuse");
    let work = b.join("work");
    let mine = b.join("mine");
    let before = snapshot(&b);
    let targets = [
        (".", "working folder"),
        ("..", "working folder"),
        (mine.to_str().unwrap(), "did not write"),
        ("notes.txt", "not a folder"),
    ];
    for (name, args) in commands() {
        for (target, why) in targets {
            let o = run_in(&work, &args, target);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{name} --out {target}: {err}");
            assert!(err.contains(why), "{name} --out {target}: {err}");
            assert_eq!(snapshot(&b), before, "{name} --out {target} touched files");
        }
    }
    std::fs::remove_dir_all(&b).unwrap();
}

#[test]
fn a_folder_holding_an_input_is_refused() {
    let b = sandbox("inputs");
    let work = b.join("work");
    let before = snapshot(&b);
    // The config's own folder (named from outside it).
    let o = Command::new(BIN)
        .args(["geodesic", "work/geodesic.toml", "--out", "work"])
        .current_dir(&b)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("input"), "{err}");
    // The MNIST folder of `prune --data D --out D`.
    let data = b.join("data");
    let o = Command::new(BIN)
        .args(["prune", "--quick", "--quiet", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&data)
        .current_dir(&work)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("input"), "{err}");
    assert_eq!(snapshot(&b), before);
    std::fs::remove_dir_all(&b).unwrap();
}

#[test]
fn own_results_are_replaced_and_unwritable_places_found_first() {
    let b = sandbox("replace");
    let work = b.join("work");
    let args = ["spectrum", "spectrum.toml", "--out", "OUT"];
    for _ in 0..2 {
        let o = run_in(&work, &args, "res");
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert!(work.join("res/summary.json").is_file());
    assert!(work.join("res/.bayesrg-results.json").is_file());
    // A user's file inside makes the folder the user's.
    std::fs::write(work.join("res/mine.txt"), "x").unwrap();
    let o = run_in(&work, &args, "res");
    assert_eq!(o.status.code(), Some(2));
    assert!(work.join("res/mine.txt").is_file());
    // Below a file: refused before the work starts (prune would train first).
    let o = run_in(
        &work,
        &["prune", "--quick", "--quiet", "--out", "OUT"],
        "notes.txt/res",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--out"));
    let leftovers: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".partial-"))
        .collect();
    assert!(leftovers.is_empty());
    std::fs::remove_dir_all(&b).unwrap();
}

#[test]
fn an_edited_result_file_is_never_replaced() {
    // FINDINGS.md C1: a file the user edited inside a result folder was
    // replaced silently. The manifest records each file's size and CRC-32; a
    // folder whose files differ from them is refused (exit 2) by name.
    let b = sandbox("edited");
    let work = b.join("work");
    let args = ["spectrum", "spectrum.toml", "--out", "OUT"];
    let ok = |o: &Output| {
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    ok(&run_in(&work, &args, "res"));
    let manifest = std::fs::read_to_string(work.join("res/.bayesrg-results.json")).unwrap();
    let m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let csv = std::fs::read(work.join("res/spectrum.csv")).unwrap();
    // The stamp is the file's own size and CRC-32 (an independent check: the
    // byte count read back from the file).
    assert_eq!(
        m["stamps"]["spectrum.csv"]["size"].as_u64(),
        Some(csv.len() as u64),
        "{manifest}"
    );
    assert_eq!(
        m["stamps"]["spectrum.csv"]["crc32"].as_str().map(str::len),
        Some(8)
    );
    // Unchanged: replaced as before.
    ok(&run_in(&work, &args, "res"));
    // An appended line (the finding's case) and an edit of the same size.
    for (file, edit) in [
        ("spectrum.csv", None),
        ("summary.json", Some(b"X".as_slice())),
    ] {
        let path = work.join("res").join(file);
        let mut bytes = std::fs::read(&path).unwrap();
        match edit {
            None => bytes.extend_from_slice(b"edited by me\n"),
            Some(x) => bytes[0] = x[0],
        }
        std::fs::write(&path, &bytes).unwrap();
        let before = snapshot(&work.join("res"));
        let o = run_in(&work, &args, "res");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{file}: {err}");
        assert!(err.contains(&format!("`{file}` changed")), "{err}");
        assert!(err.contains("Move the file"), "{err}");
        assert_eq!(snapshot(&work.join("res")), before, "{file} touched");
        // Moving the edited file away makes the folder bayesrg's again.
        std::fs::rename(&path, b.join(format!("kept-{file}"))).unwrap();
        ok(&run_in(&work, &args, "res"));
        assert_eq!(
            std::fs::read(b.join(format!("kept-{file}"))).unwrap(),
            bytes
        );
    }
    std::fs::remove_dir_all(&b).unwrap();
}

/// Starts a long run into `work/res`, waits for its staging folder, signals it.
fn interrupt(work: &Path, signal: i32) -> std::process::ExitStatus {
    std::fs::write(
        work.join("long.toml"),
        "seed = 1\npaths = 4000000\ndt = 0.001\nsave_at = [5.0]\ny0 = [0.0]\n\
         stepper = \"euler_maruyama\"\n[drift]\ntype = \"zero\"\n[diffusion]\n\
         type = \"k_inv\"\nmatrix = [[1.0]]\n",
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args(["sde", "long.toml", "--out", "res"])
        .current_dir(work)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let staging = work.join(format!(".res.partial-{}", child.id()));
    let t0 = Instant::now();
    while !staging.exists() && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(staging.exists(), "the run never started its staging folder");
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let status = child.wait().unwrap();
    if signal != libc::SIGKILL {
        assert!(
            !staging.exists(),
            "signal {signal} left {}",
            staging.display()
        );
    }
    status
}

#[test]
fn interrupted_and_killed_runs_leave_no_staging_folder() {
    let b = sandbox("signals");
    let work = b.join("work");
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let status = interrupt(&work, sig);
        assert_eq!(status.code(), Some(130), "signal {sig}");
    }
    // SIGKILL cannot be caught: the next run into the same place removes it.
    interrupt(&work, libc::SIGKILL);
    let stale = std::fs::read_dir(&work)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".res.partial-"))
        .count();
    assert_eq!(stale, 1);
    let o = run_in(&work, &["geodesic", "geodesic.toml", "--out", "OUT"], "res");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let names: Vec<String> = std::fs::read_dir(&work)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".res."))
        .collect();
    assert!(names.is_empty(), "{names:?}");
    std::fs::remove_dir_all(&b).unwrap();
}

/// The files of a result folder but the run times (timings.json, at any
/// depth), which differ between runs by design.
fn results(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut m = snapshot(dir);
    m.retain(|p, _| p.file_name() != Some("timings.json".as_ref()));
    m
}

/// What beside `work` starts with `.{name}.`: staging (`.partial-`) or
/// set-aside (`.old-`) folders.
fn leftovers(work: &Path, name: &str) -> Vec<String> {
    std::fs::read_dir(work)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{name}.")))
        .collect()
}

/// Runs `args` (with `out` for `OUT`) in `work` and sends SIGINT `delay`
/// after the start; returns the exit status code, or −2 for a death by
/// SIGINT itself (a signal before the handler is installed, at the first
/// result folder: nothing was written yet).
fn interrupt_after(work: &Path, args: &[&str], out: &str, delay: Duration) -> i32 {
    let args = with_out(args, out);
    let mut child = Command::new(BIN)
        .args(&args)
        .current_dir(work)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    // SAFETY: sending a signal to our own child (still a zombie at worst:
    // it is not reaped before `wait`).
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(libc::SIGINT)) => -2,
        _ => panic!("{args:?} after {delay:?}: {status:?}"),
    }
}

/// SIGINT at many moments of a run that replaces its own earlier results:
/// `reproduce` (whose stages make folders inside the staging folder while
/// they run, and one of which starts a nested result folder) and
/// `geodesic`, each 10 times with the signal from the very start to past
/// the end of an uninterrupted run. Every run ends with 130 (interrupted),
/// 0 (done first) or, signalled before it installed its handler, by SIGINT;
/// no `.rep.partial-` or `.rep.old-` folder stays; `rep` is a whole result
/// folder, the same bits as an uninterrupted run's (one seed) but the run
/// times, never half-written; and a user's folder given as `--out` is
/// refused or interrupted, and stays byte for byte.
#[test]
fn interrupts_at_any_moment_leave_whole_results_and_no_staging_folder() {
    let b = sandbox("moments");
    let work = b.join("work");
    let mine = b.join("mine");
    let mine_before = snapshot(&mine);
    let runs = commands()
        .into_iter()
        .filter(|(name, _)| matches!(*name, "reproduce" | "geodesic"));
    for (_, args) in runs {
        let t0 = Instant::now();
        let o = run_in(&work, &args, "rep");
        let full = t0.elapsed();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let want = results(&work.join("rep"));
        assert!(want.contains_key(Path::new(".bayesrg-results.json")));
        let mut codes = Vec::new();
        for k in 0..10u32 {
            // From 0 to 1.25 times an uninterrupted run, uneven steps.
            let delay = full.mul_f64(f64::from(k * k) / 64.0);
            let code = interrupt_after(&work, &args, "rep", delay);
            assert!(
                matches!(code, 0 | 130 | -2),
                "{args:?} after {delay:?}: exit {code:?}"
            );
            codes.push(code);
            let left = leftovers(&work, "rep");
            assert!(left.is_empty(), "{args:?} after {delay:?} left {left:?}");
            assert!(
                results(&work.join("rep")) == want,
                "{args:?} after {delay:?}: `rep` is not a whole result folder"
            );
            let user = interrupt_after(&work, &args, mine.to_str().unwrap(), delay);
            assert!(
                matches!(user, 2 | 130 | -2),
                "{args:?} --out mine after {delay:?}: exit {user:?}"
            );
            assert!(
                snapshot(&mine) == mine_before,
                "{args:?} --out mine after {delay:?} touched it"
            );
            assert!(leftovers(&b, "mine").is_empty());
        }
        assert!(
            codes.contains(&130),
            "{args:?}: no run was interrupted: {codes:?}"
        );
    }
    std::fs::remove_dir_all(&b).unwrap();
}

/// Tryout 8 G16: commands that print and write no result folder (`fisher`
/// here) end on SIGINT, SIGTERM and SIGHUP as every command does, with
/// status 130 and "interrupted", not by the signal. The signal is sent once
/// the process has its handler (its bit in `SigCgt` of /proc/PID/status), so
/// the test does not depend on how fast the machine starts it.
#[cfg(target_os = "linux")]
#[test]
fn commands_without_a_result_folder_end_with_130_on_a_signal() {
    let b = sandbox("no-out-signals");
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(
        b.join("slow.toml"),
        "theta = [0.0, 1.0]\nsamples = 20000000\n[model]\ntype = \"normal\"\n",
    )
    .unwrap();
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        signalled_run(&b, &["fisher", "slow.toml"], sig);
    }
    std::fs::remove_dir_all(&b).unwrap();
}

/// Runs `bayesrg ARGS` in `dir`, sends `sig` once its handler is installed,
/// and checks that it ended with status 130 and "interrupted" on stderr.
#[cfg(target_os = "linux")]
fn signalled_run(dir: &Path, args: &[&str], sig: libc::c_int) {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_handler(&mut child, sig);
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{args:?}, signal {sig}: {err}");
    assert!(err.contains("interrupted"), "{args:?}, signal {sig}: {err}");
}

/// Waits until `child` has installed its handler of `sig` (its bit in
/// `SigCgt` of /proc/PID/status) and checks it is still running.
#[cfg(target_os = "linux")]
fn wait_for_handler(child: &mut std::process::Child, sig: libc::c_int) {
    let status = format!("/proc/{}/status", child.id());
    let caught = || {
        std::fs::read_to_string(&status)
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            .is_some_and(|m| m & (1 << (sig - 1)) != 0)
    };
    let t0 = Instant::now();
    while !caught() && child.try_wait().unwrap().is_none() && t0.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "signal {sig}: the run ended before it could be signalled"
    );
}

/// Tryout 9 H6: a sweep that is still building and checking its tasks (here
/// 90,000) ends on SIGTERM and SIGHUP with status 130 and "interrupted",
/// not by the signal, and nothing is written. And a signal the process was
/// started with ignored stays ignored (`nohup` ignores SIGHUP): the run goes
/// on, and ends on SIGTERM.
#[cfg(target_os = "linux")]
#[test]
fn a_sweep_checking_its_tasks_ends_with_130_and_an_ignored_signal_stays_ignored() {
    use std::os::unix::process::CommandExt;
    let b = sandbox("sweep-check-signals");
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(
        b.join("many.toml"),
        "command = \"fisher\"\n[base]\ntheta = [0.0, 1.0]\n[base.model]\ntype = \"normal\"\n\
         [[axes]]\npath = \"theta[0]\"\nrange = { start = -1.0, stop = 1.0, num = 300 }\n\
         [[axes]]\npath = \"theta[1]\"\nrange = { start = 0.5, stop = 2.0, num = 300 }\n",
    )
    .unwrap();
    for sig in [libc::SIGTERM, libc::SIGHUP] {
        signalled_run(&b, &["sweep", "many.toml", "--quiet", "--out", "o"], sig);
        assert!(!b.join("o").exists(), "signal {sig}: nothing written");
    }
    std::fs::write(
        b.join("slow.toml"),
        "theta = [0.0, 1.0]\nsamples = 20000000\n[model]\ntype = \"normal\"\n",
    )
    .unwrap();
    let mut command = Command::new(BIN);
    command
        .args(["fisher", "slow.toml"])
        .current_dir(&b)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    // SAFETY: signal(2) between fork and exec, async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    wait_for_handler(&mut child, libc::SIGTERM);
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGHUP) };
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "an ignored SIGHUP ended the run"
    );
    // SAFETY: as above.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130));
    std::fs::remove_dir_all(&b).unwrap();
}

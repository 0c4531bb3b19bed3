//! The fault-injection suite of issue 11: every case of the table
//! `tests/faults/cases.toml` runs the real `bayesrg` binary on a faulty input
//! (a config value, a size, an `--out` target, an interruption, a plugin
//! fault, an unwritable output) and must end as the table documents it:
//!
//! - the exit status given (0, 1 or 2; 130 for an interruption), never 101
//!   (a panic) and never a death by signal;
//! - within 10 s (a kill deadline against hangs, not a timing assertion);
//! - for exit 2: stderr holds every phrase the case lists (the field, the
//!   file:line:col where the config layer can give it);
//! - no file outside bayesrg's own results touched: every file of the case's
//!   folder is compared before and after, except under the `--out` target
//!   of a run that succeeded;
//! - no staging folder (`.NAME.partial-PID`) or aside folder
//!   (`.NAME.old-PID`) left anywhere in the case's folder.
//!
//! The table is data: a new case is one more `[[case]]`. A case names a base
//! config (`[base.NAME]`) and changes it with `set` (dotted paths such as
//! `"grid[0].n"` to any TOML value, NaN and infinities included), `unset`,
//! `append` (raw text at the end) or replaces it with `config`. Plugin cases
//! compile `plugins/test-faults/faults.c` with the given `-D` flags (`c`) or
//! load the Rust fault plugin (`rust = true`), through the helpers of
//! `tests/plugin_support`. Cases marked `pending = "HELPER"` wait for another
//! branch's checks and are skipped (listed in the output); `FAULT_PENDING=1`
//! runs them too, and `FAULT_CASE=TEXT` only the cases whose name holds TEXT.
//!
//! Cases run in parallel threads (each its own process and folder).

mod plugin_support;

use plugin_support::{c_lib, dylib, rust_plugins, tmp};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    base: BTreeMap<String, Base>,
    case: Vec<Case>,
}

/// A valid config of one command, which cases change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Base {
    command: String,
    config: String,
    /// Extra arguments after the config file.
    #[serde(default)]
    args: Vec<String>,
    /// Whether the command writes `--out out` by default.
    #[serde(default)]
    out: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// The base config (omit for `argv`-only cases).
    #[serde(default)]
    base: Option<String>,
    /// Replaces the base config's text.
    #[serde(default)]
    config: Option<String>,
    /// Values to set, by dotted path.
    #[serde(default)]
    set: toml::Table,
    /// Paths to remove.
    #[serde(default)]
    unset: Vec<String>,
    /// Raw text appended to the config.
    #[serde(default)]
    append: Option<String>,
    /// The `--out` target instead of `out` (`""`: no `--out`).
    #[serde(default)]
    out: Option<String>,
    /// Extra command-line arguments.
    #[serde(default)]
    args: Vec<String>,
    /// The whole command line instead (`{cfg}` is the config file).
    #[serde(default)]
    argv: Option<Vec<String>>,
    /// Files to create in the working folder first (path → content; a path
    /// ending in `/` is a folder).
    #[serde(default)]
    files: BTreeMap<String, String>,
    /// Sparse files to create (path → length in bytes).
    #[serde(default)]
    sparse: BTreeMap<String, u64>,
    /// Symbolic links to create (link → target).
    #[serde(default)]
    symlinks: BTreeMap<String, String>,
    /// `stdout = "full"` (/dev/full) or `"closed"` (a pipe closed at once).
    #[serde(default)]
    stdout: Option<String>,
    /// A file-size limit in bytes (RLIMIT_FSIZE, SIGXFSZ ignored): a full disk.
    #[serde(default)]
    fsize_limit: Option<u64>,
    /// Send SIGINT/SIGTERM this many ms after the start.
    #[serde(default)]
    signal: Option<String>,
    #[serde(default)]
    after_ms: Option<u64>,
    /// A C fault plugin: the `-D` flags for faults.c (named by `plugins = […]`).
    #[serde(default)]
    c: Option<Vec<String>>,
    /// The Rust fault plugin (loaded with `--plugin`).
    #[serde(default)]
    rust: bool,
    /// Extra environment.
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// The documented exit status.
    exit: i32,
    /// Phrases stderr must hold.
    #[serde(default)]
    stderr: Vec<String>,
    /// Skipped until the named helper's branch is merged.
    #[serde(default)]
    pending: Option<String>,
    /// Why the case exists (documentation only).
    #[serde(default)]
    #[allow(dead_code)]
    why: Option<String>,
}

/// One step of a dotted path: a key or an index.
enum Seg {
    Key(String),
    Index(usize),
}

/// Sets `path` (`a.b[2].c`) in `t` to `v` (`None`: removes it), creating
/// tables on the way.
fn set_path(t: &mut toml::Table, path: &str, v: Option<toml::Value>) {
    let mut segs = Vec::new();
    for part in path.split('.') {
        let (name, rest) = part.split_once('[').unwrap_or((part, ""));
        segs.push(Seg::Key(name.to_string()));
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            segs.push(Seg::Index(
                idx.trim_end_matches(']').parse().expect("index"),
            ));
        }
    }
    let mut root = toml::Value::Table(std::mem::take(t));
    set_in(&mut root, &segs, v);
    if let toml::Value::Table(x) = root {
        *t = x;
    }
}

fn set_in(cur: &mut toml::Value, segs: &[Seg], v: Option<toml::Value>) {
    let (first, rest) = segs.split_first().expect("a non-empty path");
    match first {
        Seg::Key(k) => {
            let tab = cur.as_table_mut().expect("a table on the path");
            if rest.is_empty() {
                match v {
                    Some(v) => {
                        tab.insert(k.clone(), v);
                    }
                    None => {
                        tab.remove(k);
                    }
                }
            } else {
                let next = tab
                    .entry(k.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                set_in(next, rest, v);
            }
        }
        Seg::Index(i) => {
            let arr = cur.as_array_mut().expect("an array on the path");
            if rest.is_empty() {
                match v {
                    Some(v) => arr[*i] = v,
                    None => {
                        arr.remove(*i);
                    }
                }
            } else {
                set_in(&mut arr[*i], rest, v);
            }
        }
    }
}

/// The config text of a case.
fn config_text(case: &Case, base: Option<&Base>, plugin: Option<&Path>) -> Option<String> {
    let mut text = match (&case.config, base) {
        (Some(c), _) => c.clone(),
        (None, Some(b)) => b.config.clone(),
        (None, None) => return None,
    };
    if !case.set.is_empty() || !case.unset.is_empty() {
        let mut t: toml::Table = text.parse().expect("base config parses");
        for (k, v) in &case.set {
            set_path(&mut t, k, Some(v.clone()));
        }
        for k in &case.unset {
            set_path(&mut t, k, None);
        }
        text = toml::to_string(&t).expect("serialise config");
    }
    if let Some(a) = &case.append {
        text.push('\n');
        text.push_str(a);
        text.push('\n');
    }
    if let Some(p) = plugin {
        text = format!(
            "plugins = [{}]\n{text}",
            toml::Value::String(p.display().to_string())
        );
    }
    Some(text)
}

/// Every file under `dir` with its content (folders as `None`), skipping
/// `skip`.
fn snapshot(dir: &Path, skip: Option<&Path>) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if skip.is_some_and(|s| p == s) {
                continue;
            }
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                out.insert(p.clone(), None);
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).ok());
            }
        }
    }
    out
}

/// Staging and aside folders of bayesrg anywhere under `dir`.
fn leftovers(dir: &Path) -> Vec<String> {
    snapshot(dir, None)
        .keys()
        .filter_map(|p| {
            let n = p.file_name()?.to_string_lossy().into_owned();
            (n.starts_with('.') && (n.contains(".partial-") || n.contains(".old-"))).then_some(n)
        })
        .collect()
}

struct Outcome {
    code: Option<i32>,
    signal: Option<i32>,
    stderr: String,
    hung: bool,
}

fn run(case: &Case, args: &[String], work: &Path, env: &[(String, String)]) -> Outcome {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let mut c = Command::new(env!("CARGO_BIN_EXE_bayesrg"));
    c.args(args)
        .current_dir(work)
        .process_group(0)
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    // Tests must not depend on the machine's thread count.
    c.env("RAYON_NUM_THREADS", "2");
    for (k, v) in env {
        c.env(k, v);
    }
    match case.stdout.as_deref() {
        Some("full") => {
            c.stdout(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            );
        }
        Some("closed") => {
            c.stdout(Stdio::piped());
        }
        _ => {
            c.stdout(Stdio::null());
        }
    }
    if let Some(limit) = case.fsize_limit {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            c.pre_exec(move || {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let r = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                libc::setrlimit(libc::RLIMIT_FSIZE, &r);
                Ok(())
            });
        }
    }
    let mut child = c.spawn().expect("start bayesrg");
    if case.stdout.as_deref() == Some("closed") {
        drop(child.stdout.take());
    }
    let pid = child.id() as i32;
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    let start = Instant::now();
    let mut signalled = false;
    let mut hung = false;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if let (Some(sig), Some(ms), false) = (&case.signal, case.after_ms, signalled)
            && start.elapsed() >= Duration::from_millis(ms)
        {
            let sig = match sig.as_str() {
                "INT" => libc::SIGINT,
                "TERM" => libc::SIGTERM,
                other => panic!("unknown signal {other}"),
            };
            // SAFETY: a plain kill(2) of our own child.
            unsafe { libc::kill(pid, sig) };
            signalled = true;
        }
        if !hung && start.elapsed() > DEADLINE {
            hung = true;
            // SAFETY: kill(2) of the child's process group.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Outcome {
        code: status.code(),
        signal: status.signal(),
        stderr: reader.join().unwrap(),
        hung,
    }
}

/// Runs one case; `Err` lists what went wrong.
fn run_case(
    case: &Case,
    bases: &BTreeMap<String, Base>,
    libs: &Mutex<HashMap<String, PathBuf>>,
) -> Result<(), String> {
    let root = tmp().join("fault-injection").join(&case.name);
    let _ = std::fs::remove_dir_all(&root);
    let work = root.join("work");
    std::fs::create_dir_all(&work).unwrap();
    // A file of the user's beside and above the working folder.
    std::fs::write(root.join("user-file.txt"), "the user's own file\n").unwrap();
    std::fs::write(work.join("notes.txt"), "the user's notes\n").unwrap();
    for (p, content) in &case.files {
        let path = work.join(p);
        if p.ends_with('/') {
            std::fs::create_dir_all(&path).unwrap();
        } else {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, content).unwrap();
        }
    }
    for (p, len) in &case.sparse {
        std::fs::File::create(work.join(p))
            .unwrap()
            .set_len(*len)
            .unwrap();
    }
    for (link, target) in &case.symlinks {
        std::os::unix::fs::symlink(target, work.join(link)).unwrap();
    }
    let base = case.base.as_ref().map(|b| {
        bases
            .get(b)
            .unwrap_or_else(|| panic!("{}: no base `{b}`", case.name))
    });
    // The plugin library, compiled once per set of flags.
    let c_plugin = case.c.as_ref().map(|defines| {
        let key = defines.join(" ");
        let mut m = libs.lock().unwrap();
        if let Some(p) = m.get(&key) {
            return p.clone();
        }
        let d: Vec<&str> = defines.iter().map(String::as_str).collect();
        let p = c_lib(
            &format!("fi-{}", m.len()),
            "plugins/test-faults/faults.c",
            &d,
        );
        m.insert(key, p.clone());
        p
    });
    let text = config_text(case, base, c_plugin.as_deref());
    if let Some(t) = &text {
        std::fs::write(work.join("cfg.toml"), t).unwrap();
    }
    let out = case.out.clone().unwrap_or_else(|| {
        if base.is_some_and(|b| b.out) {
            "out".into()
        } else {
            String::new()
        }
    });
    let mut args: Vec<String> = match (&case.argv, base) {
        (Some(a), _) => a.iter().map(|s| s.replace("{cfg}", "cfg.toml")).collect(),
        (None, Some(b)) => {
            let mut a = vec![b.command.clone(), "cfg.toml".into()];
            a.extend(b.args.iter().cloned());
            if !out.is_empty() {
                a.extend(["--out".into(), out.clone()]);
            }
            a
        }
        (None, None) => panic!("{}: neither base nor argv", case.name),
    };
    args.extend(case.args.iter().cloned());
    if case.rust {
        args.extend([
            "--plugin".into(),
            dylib(rust_plugins(), "bayesrg_test_faults_plugin")
                .display()
                .to_string(),
        ]);
    }
    let env: Vec<(String, String)> = case
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.replace("{work}", &work.display().to_string())))
        .collect();
    let out_path = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .map(|o| work.join(o));
    let before = snapshot(&root, None);
    let o = run(case, &args, &work, &env);

    let mut problems = Vec::new();
    if o.hung {
        problems.push("did not end within 10 s".to_string());
    }
    if let Some(s) = o.signal {
        problems.push(format!("died by signal {s}"));
    }
    if o.code == Some(101) || o.stderr.contains("panicked at") {
        problems.push("panicked".into());
    }
    if o.code != Some(case.exit) {
        problems.push(format!(
            "exit status {:?} (documented: {})",
            o.code, case.exit
        ));
    }
    for want in &case.stderr {
        if !o.stderr.contains(want.as_str()) {
            problems.push(format!("stderr lacks `{want}`"));
        }
    }
    if case.exit == 2 && !o.stderr.contains("error: ") {
        problems.push("no error message".into());
    }
    let left = leftovers(&root);
    if !left.is_empty() {
        problems.push(format!("staging folders left: {left:?}"));
    }
    // Nothing outside the results touched. bayesrg may write its --out
    // folder (and create the folders above it) when that folder held none of
    // the user's files before: it did not exist, was empty or held only
    // bayesrg's results. It may remove the staging folders of killed runs.
    let users_files_in_out = |m: &BTreeMap<PathBuf, Option<Vec<u8>>>| {
        out_path.as_deref().is_none_or(|out| {
            // The files bayesrg's manifest lists are its own.
            let manifest = out.join(".bayesrg-results.json");
            let listed: Vec<PathBuf> = m
                .get(&manifest)
                .and_then(|c| c.as_ref())
                .and_then(|c| serde_json::from_slice::<serde_json::Value>(c).ok())
                .and_then(|v| v["files"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|f| f.as_str().map(|f| out.join(f)))
                .collect();
            m.get(out).is_some_and(|c| c.is_some())
                || m.iter().any(|(p, c)| {
                    p.starts_with(out) && c.is_some() && *p != manifest && !listed.contains(p)
                })
        })
    };
    let skip = (!users_files_in_out(&before))
        .then_some(out_path.as_deref())
        .flatten();
    let strip = |m: BTreeMap<PathBuf, Option<Vec<u8>>>| -> BTreeMap<PathBuf, Option<Vec<u8>>> {
        m.into_iter()
            .filter(|(p, c)| {
                let in_out =
                    skip.is_some_and(|s| p.starts_with(s) || (c.is_none() && s.starts_with(p)));
                let staging = p.components().any(|c| {
                    let n = c.as_os_str().to_string_lossy();
                    n.starts_with('.') && (n.contains(".partial-") || n.contains(".old-"))
                });
                !in_out && !staging
            })
            .collect()
    };
    let (b, a) = (strip(before), strip(snapshot(&root, None)));
    if a != b {
        let changed: Vec<String> = a
            .keys()
            .chain(b.keys())
            .filter(|k| a.get(*k) != b.get(*k))
            .map(|k| k.strip_prefix(&root).unwrap_or(k).display().to_string())
            .collect();
        problems.push(format!("files outside the results changed: {changed:?}"));
    }
    if problems.is_empty() {
        let _ = std::fs::remove_dir_all(&root);
        Ok(())
    } else {
        Err(format!(
            "{} (`bayesrg {}`): {}\n--- stderr:\n{}",
            case.name,
            args.join(" "),
            problems.join("; "),
            o.stderr.chars().take(1500).collect::<String>()
        ))
    }
}

#[test]
fn every_fault_ends_as_documented() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/faults/cases.toml");
    let table: Table = toml::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut names = std::collections::HashSet::new();
    for c in &table.case {
        assert!(names.insert(c.name.clone()), "duplicate case {}", c.name);
    }
    let only = std::env::var("FAULT_CASE").ok();
    let (pending, cases): (Vec<&Case>, Vec<&Case>) = table
        .case
        .iter()
        .filter(|c| only.as_deref().is_none_or(|o| c.name.contains(o)))
        .partition(|c| c.pending.is_some() && std::env::var_os("FAULT_PENDING").is_none());
    assert!(
        only.is_some() || table.case.len() >= 150,
        "the table has {} cases; issue 11 asks for at least 150",
        table.case.len()
    );
    // Build the Rust plugins once, before the threads start.
    if cases.iter().any(|c| c.rust) {
        rust_plugins();
    }
    let libs = Mutex::new(HashMap::new());
    let next = Mutex::new(0usize);
    let failures = Mutex::new(Vec::new());
    let durations = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 6);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap();
                        *n += 1;
                        *n - 1
                    };
                    let Some(case) = cases.get(i) else { break };
                    let start = Instant::now();
                    if let Err(e) = run_case(case, &table.base, &libs) {
                        failures.lock().unwrap().push(e);
                    }
                    durations
                        .lock()
                        .unwrap()
                        .push((start.elapsed(), case.name.clone()));
                }
            });
        }
    });
    // For whoever tunes the table (not an assertion): the slowest cases.
    let mut durations = durations.into_inner().unwrap();
    durations.sort();
    for (d, name) in durations.iter().rev().take(8) {
        eprintln!("{:>6.2} s  {name}", d.as_secs_f64());
    }
    eprintln!("{} cases run, {} pending", cases.len(), pending.len());
    for p in &pending {
        eprintln!(
            "pending ({}): {}",
            p.pending.as_deref().unwrap_or(""),
            p.name
        );
    }
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

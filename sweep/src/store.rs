//! The results folder of a sweep: one file per finished task, written once.
//!
//! ```text
//! DIR/tasks/ID.json        a finished task: {"task": …, "result": …, "digest": …}
//! DIR/tasks/ID.error.json  a failed task: {"task": …, "error": "…", "digest": …} (run again by a rerun)
//! ```
//!
//! Task files are written to a temporary name and renamed into place, so a
//! killed run leaves only whole files, and a task's result is never written
//! twice: [`Store::record`] keeps the first result of a task (a cluster may
//! run a task twice when a worker is lost; both runs give the same bits).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use bayesrg_core::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::spec::Task;

/// What became of one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The command's result, as JSON.
    Result(Value),
    /// Why it failed (a bad configuration, a computation that failed, a panic).
    Error(String),
}

/// A task with its outcome: the content of a task file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The task.
    pub task: Task,
    /// Its outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// A task file as it is on disk: the record and the digest of its canonical
/// JSON ([`crate::canonical::digest`]). A file whose digest does not match
/// (an emptied result table, a changed number or flag, a seed edited by
/// hand: tryout 8 G2) is not trusted; its task runs again.
#[derive(Serialize, Deserialize)]
struct Sealed {
    #[serde(flatten)]
    record: Record,
    digest: String,
}

/// The digest that seals `record` in its task file.
fn seal(record: &Record) -> std::result::Result<String, String> {
    let v = serde_json::to_value(record).map_err(|e| e.to_string())?;
    Ok(crate::canonical::digest(&crate::canonical::canonical(&v)))
}

/// A sweep's results folder.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    recovered: Option<String>,
}

/// The marker of a sweep's results folder: the spec it ran, as JSON.
pub const MARKER: &str = ".bayesrg-sweep.json";

/// The digests of the tables (`results.csv`, `tasks.csv`) as the sweep last
/// wrote them ([`Store::write_tables`]), so that a table edited by hand is
/// refused before it would be overwritten (tryout 9 H12; docs/guide.md rule
/// 1: bayesrg replaces only files it wrote).
pub const TABLE_STAMPS: &str = ".bayesrg-sweep-tables.json";

static TMP: AtomicU64 = AtomicU64::new(0);

/// Held (shared) by every [`Store::write_atomic`] from its temporary file to
/// the rename; [`stop_writes`] takes it for good.
static WRITES: RwLock<()> = RwLock::new(());

/// The results folders this process holds: each with an open descriptor of
/// the folder that has an exclusive `flock` on it (released when the process
/// ends, however it ends, or by [`Store::release`]).
static HELD: Mutex<Vec<(PathBuf, fs::File)>> = Mutex::new(Vec::new());

/// Waits for the task files being written by this process to be in place,
/// then blocks every later write (for ever): what a signal handler calls
/// before it exits, so that the exit leaves no temporary file behind
/// (tryout 7 F4: `tasks/.ID.json.tmp-PID-N` files were left by SIGTERM).
/// Returns once no write is under way; do not write a task file after it
/// (that write would wait for ever).
pub fn stop_writes() {
    let guard = WRITES
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    std::mem::forget(guard);
}

impl Store {
    /// Opens the results folder `dir` of the sweep `spec` for a run: creates
    /// it, or resumes an earlier sweep's folder. Refused untouched (bad input):
    /// a symbolic link, a file, a folder that is neither empty nor marked as a
    /// sweep's by [`MARKER`], the folder of another sweep (its marker's spec
    /// has a task that `spec` lacks: only the same sweep, or one that grew,
    /// resumes a folder), a folder holding one of `inputs` (the spec
    /// file), and a folder another process's sweep is running into (tryout 8
    /// G1: two sweeps into one folder each wrote the tables of their own
    /// spec, so the last to end decided what `results.csv` held). The marker
    /// then holds `spec`, and this process holds the folder (an exclusive
    /// `flock` on it, on Unix) until it ends or calls [`Store::release`].
    ///
    /// # Errors
    /// [`Error::Domain`] on `out` for each refusal; a folder that cannot be
    /// created or written.
    pub fn create(dir: &Path, inputs: &[&Path], spec: &crate::SweepSpec) -> Result<Self> {
        Store::create_named(dir, "--out", inputs, spec)
    }

    /// [`Store::create`], with `arg` the name of the folder's argument in
    /// error messages (`--out` on the command line, `out` in Python).
    ///
    /// # Errors
    /// As [`Store::create`].
    pub fn create_named(
        dir: &Path,
        arg: &str,
        inputs: &[&Path],
        spec: &crate::SweepSpec,
    ) -> Result<Self> {
        let refuse = |why: &str| Error::domain(arg, format!("`{}`", dir.display()), why);
        if dir.is_symlink() {
            return Err(refuse("is a symbolic link; give a folder"));
        }
        let abs = std::path::absolute(dir).map_err(|e| io("resolve", dir, e))?;
        if abs.exists() && !abs.is_dir() {
            return Err(refuse("is a file; give a folder"));
        }
        // The hold comes first, so that of two sweeps started into one folder
        // at once the second is told the folder is in use (not that it holds
        // files without a marker, which the first is writing).
        let made = !abs.exists();
        if made {
            fs::create_dir_all(&abs).map_err(|e| io("create", &abs, e))?;
        }
        hold(&abs).map_err(|why| refuse(&why))?;
        let mut recovered = None;
        let mut checked = || {
            let empty = fs::read_dir(&abs)
                .map_err(|e| io("read", &abs, e))?
                .next()
                .is_none();
            let marker = abs.join(MARKER);
            // A lost or damaged marker strands no finished task (tryout 8
            // G15) when everything in the folder is a sweep's own file and a
            // task file is sealed by its digest: the folder is resumed and
            // its marker written again.
            let lost = |why: &str| {
                only_sweep_files(&abs, spec).then(|| {
                    format!(
                        "the sweep marker {} {why}; the folder holds only a sweep's files \
                         (sealed task files), so it is resumed and the marker written again",
                        marker.display()
                    )
                })
            };
            if !empty && !marker.is_file() {
                match lost("is missing") {
                    Some(note) => recovered = Some(note),
                    None => {
                        return Err(refuse(&format!(
                            "is not the folder of this bayesrg sweep (it has no {MARKER}, and \
                             it holds files other than a sweep's, or task files that are not \
                             tasks of this spec); give a new folder, nothing was touched"
                        )));
                    }
                }
            }
            if marker.is_file() {
                match resumable(&marker, spec) {
                    Ok(()) => {}
                    Err(Refusal::Unreadable(why)) => match lost("cannot be read") {
                        Some(note) => recovered = Some(note),
                        None => return Err(refuse(&why)),
                    },
                    Err(Refusal::Other(why)) => return Err(refuse(&why)),
                }
            }
            if let Some(name) = edited_table(&abs) {
                return Err(refuse(&format!(
                    "holds `{name}`, changed since the sweep wrote it (edited by hand?); the \
                     sweep writes its tables anew, so move that file away (or give a new \
                     folder) and rerun: nothing was touched"
                )));
            }
            for input in inputs {
                if std::path::absolute(input).is_ok_and(|f| f.starts_with(&abs)) {
                    return Err(refuse(&format!(
                        "holds the input `{}`; give another folder",
                        input.display()
                    )));
                }
            }
            Ok(())
        };
        if let Err(e) = checked() {
            unhold(&abs);
            if made {
                let _ = fs::remove_dir(&abs);
            }
            return Err(e);
        }
        let mut store = Store::open(&abs)?;
        store.recovered = recovered;
        store.remove_stale_temp();
        let text = serde_json::to_string_pretty(spec)
            .map_err(|e| Error::failed("writing the sweep marker", e.to_string()))?;
        store.write_atomic(MARKER, &text)?;
        Ok(store)
    }

    /// Writes `text` to the file `name` (a path relative to the folder),
    /// atomically: to a temporary name beside it, then renamed.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_atomic(&self, name: &str, text: &str) -> Result<()> {
        let path = self.dir.join(name);
        let tmp = path.with_file_name(format!(
            ".{}.tmp-{}-{}",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            std::process::id(),
            TMP.fetch_add(1, Ordering::Relaxed)
        ));
        let _writing = WRITES
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let write = || -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io("write", &path, e)
        })
    }

    /// Writes the merged tables (`(name, text)` pairs, each atomically,
    /// [`Store::write_atomic`]) and then their digests ([`TABLE_STAMPS`]),
    /// by which the next run tells a table edited by hand.
    ///
    /// # Errors
    /// A file that cannot be written.
    pub fn write_tables(&self, tables: &[(&str, &str)]) -> Result<()> {
        let mut stamps = serde_json::Map::new();
        for (name, text) in tables {
            self.write_atomic(name, text)?;
            stamps.insert(
                (*name).to_string(),
                Value::String(crate::canonical::digest(text)),
            );
        }
        self.write_atomic(TABLE_STAMPS, &Value::Object(stamps).to_string())
    }

    /// Opens (creating it if needed) the task folder `dir/tasks`, without the
    /// checks of [`Store::create`] (for reading a folder, and for tests).
    ///
    /// # Errors
    /// The folder cannot be created.
    pub fn open(dir: &Path) -> Result<Self> {
        let tasks = dir.join("tasks");
        fs::create_dir_all(&tasks).map_err(|e| io("create", &tasks, e))?;
        Ok(Store {
            dir: dir.to_path_buf(),
            recovered: None,
        })
    }

    /// Removes the temporary files ([`Store::write_atomic`]) that processes
    /// no longer running left in the folder and its `tasks` folder (a run
    /// killed by SIGKILL or before signal handling; tryout 7 F4). Those of
    /// running processes (a cluster client writing into the folder) are kept.
    pub fn remove_stale_temp(&self) {
        for dir in [self.dir.clone(), self.dir.join("tasks")] {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let dead = temp_pid(&name).is_some_and(|pid| !process_alive(pid));
                if dead && e.file_type().is_ok_and(|t| t.is_file()) {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }

    /// Why [`Store::create`] resumed this folder without a readable marker,
    /// for a warning (the caller prints it), if it did.
    pub fn recovery(&self) -> Option<&str> {
        self.recovered.as_deref()
    }

    /// Lets another process run a sweep into this folder: [`release`].
    pub fn release(&self) {
        release(&self.dir);
    }

    /// The results folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, id: &str, failed: bool) -> PathBuf {
        let name = if failed {
            format!("{id}.error.json")
        } else {
            format!("{id}.json")
        };
        self.dir.join("tasks").join(name)
    }

    /// Whether `task` has finished (a failed task has not). A task file that
    /// cannot be read or parsed (truncated by a full disk, edited by hand),
    /// or that is not this task's own (another task's record copied over it,
    /// a result that is not a table, such as `"result": null`: tryout 7 F2)
    /// does not count: the task runs again and its file is replaced
    /// ([`Store::unreadable`] lists such files for a warning).
    pub fn is_finished(&self, task: &Task) -> bool {
        matches!(
            self.read_own(task, false),
            Ok(Some(Record {
                outcome: Outcome::Result(_),
                ..
            }))
        )
    }

    /// The record of a finished or failed task, if any. A task file that
    /// cannot be read, or is not the task's own, counts as no record (the
    /// task is pending; see [`Store::unreadable`]).
    ///
    /// # Errors
    /// None today; kept for a store that can fail as a whole.
    pub fn load(&self, task: &Task) -> Result<Option<Record>> {
        for failed in [false, true] {
            if let Ok(Some(rec)) = self.read_own(task, failed) {
                return Ok(Some(rec));
            }
        }
        Ok(None)
    }

    /// The task files of `tasks` that exist but cannot be read or parsed, or
    /// are not their task's own record: (task index, path, why). Their tasks
    /// count as not run (tryout 5 D5: one truncated file blocked every
    /// resume); a caller warns with this.
    pub fn unreadable(&self, tasks: &[Task]) -> Vec<(usize, PathBuf, String)> {
        let mut out = Vec::new();
        for t in tasks {
            for failed in [false, true] {
                if let Err(why) = self.read_own(t, failed) {
                    out.push((t.index, self.file(&t.id, failed), why));
                }
            }
        }
        out
    }

    /// The record in the file of `task` (its failure's file when `failed`):
    /// `Ok(None)` when there is none, `Err` (why) when it cannot be read, is
    /// not a task record, or is not this task's own: the record must name
    /// the task's id, command and configuration, and hold a result table
    /// (the finished file) or an error (the failure's file).
    fn read_own(&self, task: &Task, failed: bool) -> std::result::Result<Option<Record>, String> {
        let path = self.file(&task.id, failed);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        let Sealed {
            record: rec,
            digest,
        } = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        if seal(&rec)? != digest {
            return Err(
                "its content does not match its digest (the file was damaged or edited)".into(),
            );
        }
        let own = &rec.task;
        if own.id != task.id || own.command != task.command || own.config != task.config {
            return Err(format!(
                "it holds the record of another task: {} `{}`, id {}",
                own.command,
                crate::spec::coords_text(own),
                own.id
            ));
        }
        match (&rec.outcome, failed) {
            (Outcome::Result(Value::Object(_)), false) | (Outcome::Error(_), true) => Ok(Some(rec)),
            (Outcome::Result(v), false) => Err(format!(
                "its result is {}, not a table of results",
                crate::spec::kind(v)
            )),
            (Outcome::Result(_), true) => Err("a failure's file holds a result".into()),
            (Outcome::Error(_), false) => Err("a finished task's file holds an error".into()),
        }
    }

    /// Writes the outcome of `task`, unless it has already finished; returns
    /// whether it wrote. A success removes an earlier failure's file.
    ///
    /// # Errors
    /// The file cannot be written.
    /// A result that is not a table (a runner's bug) is recorded as the
    /// task's error: a task file holds a result table or an error.
    pub fn record(&self, task: &Task, outcome: Outcome) -> Result<bool> {
        if self.is_finished(task) {
            return Ok(false);
        }
        let outcome = match outcome {
            Outcome::Result(v) if !v.is_object() => Outcome::Error(format!(
                "the command's result is {}, not a table of results",
                crate::spec::kind(&v)
            )),
            o => o,
        };
        let failed = matches!(outcome, Outcome::Error(_));
        let path = self.file(&task.id, failed);
        let rec = Record {
            task: task.clone(),
            outcome,
        };
        let digest = seal(&rec).map_err(|e| Error::failed("writing a task file", e))?;
        let text = serde_json::to_string(&Sealed {
            record: rec,
            digest,
        })
        .map_err(|e| Error::failed("writing a task file", e.to_string()))?;
        let name = path
            .strip_prefix(&self.dir)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.write_atomic(&name, &text)?;
        if !failed {
            let _ = fs::remove_file(self.file(&task.id, true));
        }
        Ok(true)
    }
}

/// Whether the folder marked by `marker` may be resumed by `spec`: every task
/// of the spec it ran is a task of `spec` (the same sweep, or one with more
/// points). Returns why not.
fn resumable(marker: &Path, spec: &crate::SweepSpec) -> std::result::Result<(), Refusal> {
    let unreadable = |e: String| {
        format!(
            "has a sweep marker {MARKER} that cannot be read ({e}); give a new folder, \
             nothing was touched"
        )
    };
    let unreadable = |e: String| Refusal::Unreadable(unreadable(e));
    let text = fs::read_to_string(marker).map_err(|e| unreadable(e.to_string()))?;
    let old: crate::SweepSpec =
        serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))?;
    let old_tasks = old.expand().map_err(|e| unreadable(e.to_string()))?;
    let new_ids: std::collections::HashSet<String> = spec
        .expand()
        .map_err(|e| Refusal::Other(e.to_string()))?
        .into_iter()
        .map(|t| t.id)
        .collect();
    let lost: Vec<&Task> = old_tasks
        .iter()
        .filter(|t| !new_ids.contains(&t.id))
        .collect();
    match lost.first() {
        None => Ok(()),
        Some(t) => Err(Refusal::Other(format!(
            "holds the results of another sweep: {} of its {} tasks are not tasks of this \
             spec (the first: task {}, {} `{}`); a folder is resumed only by the same sweep \
             or one with more points. Give a new folder; nothing was touched",
            lost.len(),
            old_tasks.len(),
            t.index,
            t.command,
            crate::spec::coords_text(t)
        ))),
    }
}

/// The first table of the results folder `dir` that differs from what the
/// sweep last wrote there ([`TABLE_STAMPS`]); `None` when none does, or when
/// the folder has no stamps (a new folder, or one of an earlier version).
fn edited_table(dir: &Path) -> Option<String> {
    let stamps: serde_json::Map<String, Value> =
        serde_json::from_str(&fs::read_to_string(dir.join(TABLE_STAMPS)).ok()?).ok()?;
    stamps.into_iter().find_map(|(name, stamp)| {
        let path = dir.join(&name);
        if !path.exists() {
            return None;
        }
        let same = fs::read_to_string(&path)
            .is_ok_and(|t| Some(crate::canonical::digest(&t).as_str()) == stamp.as_str());
        (!same).then_some(name)
    })
}

/// Why a marked folder is not resumed: its marker cannot be read, or it is
/// another sweep's.
enum Refusal {
    Unreadable(String),
    Other(String),
}

/// Whether everything in the results folder `dir` is a sweep's own file
/// (the marker, `results.csv`, `tasks.csv`, temporary files of
/// [`Store::write_atomic`], and a `tasks` folder of task files), every task
/// file is one of a task of `spec` (by its id: tryout 9 H1, a folder whose
/// marker was lost was taken over by another sweep, whose tables replaced
/// the study's), and at least one task file's digest seals its record.
fn only_sweep_files(dir: &Path, spec: &crate::SweepSpec) -> bool {
    let Ok(tasks_of_spec) = spec.expand() else {
        return false;
    };
    let ids: std::collections::HashSet<String> = tasks_of_spec.into_iter().map(|t| t.id).collect();
    let ours = |n: &str| {
        n.strip_suffix(".json")
            .map(|s| s.strip_suffix(".error").unwrap_or(s))
            .is_some_and(|id| ids.contains(id))
    };
    let names = |d: &Path| -> Option<Vec<(String, bool)>> {
        fs::read_dir(d)
            .ok()?
            .map(|e| {
                let e = e.ok()?;
                Some((
                    e.file_name().to_string_lossy().into_owned(),
                    e.file_type().ok()?.is_file(),
                ))
            })
            .collect()
    };
    let Some(top) = names(dir) else {
        return false;
    };
    let top_ok = top.iter().all(|(n, file)| match n.as_str() {
        "tasks" => !file,
        MARKER | TABLE_STAMPS | "results.csv" | "tasks.csv" => *file,
        n => *file && temp_pid(n).is_some(),
    });
    let Some(tasks) = names(&dir.join("tasks")) else {
        return false;
    };
    let tasks_ok = tasks
        .iter()
        .all(|(n, file)| *file && (ours(n) || temp_pid(n).is_some()));
    let sealed = tasks.iter().any(|(n, _)| {
        n.ends_with(".json")
            && fs::read_to_string(dir.join("tasks").join(n))
                .ok()
                .and_then(|t| serde_json::from_str::<Sealed>(&t).ok())
                .is_some_and(|s| seal(&s.record).is_ok_and(|d| d == s.digest))
    });
    top_ok && tasks_ok && sealed
}

/// Takes this process's hold on the results folder `dir` (absolute): an
/// exclusive, non-blocking `flock` on the folder itself, so no file is added
/// to it and the hold ends with the process, even one killed by SIGKILL.
/// Holding it already is fine (a second call from the same process). Returns
/// why not when another process holds it. A file system without `flock`
/// support is run without the hold.
fn hold(dir: &Path) -> std::result::Result<(), String> {
    let mut held = HELD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if held.iter().any(|(p, _)| p == dir) {
        return Ok(());
    }
    let Ok(folder) = fs::File::open(dir) else {
        return Ok(());
    };
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this function owns.
        let r = unsafe { libc::flock(folder.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Err(
                "is in use: another sweep is running into it now; wait for it to end, \
                        or give another folder. Nothing was touched"
                    .into(),
            );
        }
    }
    held.push((dir.to_path_buf(), folder));
    Ok(())
}

/// Lets another process run a sweep into the results folder `dir`: drops
/// the hold [`Store::create`] took on it, if this process has one (a Python
/// session that ran a sweep goes on after it; the command line holds its
/// folder until it exits).
pub fn release(dir: &Path) {
    if let Ok(abs) = std::path::absolute(dir) {
        unhold(&abs);
    }
}

/// Drops this process's hold on `dir` (absolute), if it has one.
fn unhold(dir: &Path) {
    HELD.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .retain(|(p, _)| p != dir);
}

/// The process id in the name of a temporary file of [`Store::write_atomic`]
/// (`.NAME.tmp-PID-N`), if `name` is one.
fn temp_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let (_, tail) = rest.rsplit_once(".tmp-")?;
    let (pid, n) = tail.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Whether the process `pid` still runs (on other systems than Unix: always
/// assumed, so nothing is removed). The one liveness test of the workspace:
/// the command line's result folders (`src/output.rs`) use it too.
pub fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(p) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: signal 0 only checks for existence and permission.
        let r = unsafe { libc::kill(p, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::failed(format!("{what} {}", path.display()), e.to_string())
}

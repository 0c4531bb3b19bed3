//! The results folder of a sweep: one file per finished task, written once.
//!
//! ```text
//! DIR/tasks/ID.json        a finished task: {"task": …, "result": …}
//! DIR/tasks/ID.error.json  a failed task: {"task": …, "error": "…"} (run again by a rerun)
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

/// A sweep's results folder.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// The marker of a sweep's results folder: the spec it ran, as JSON.
pub const MARKER: &str = ".bayesrg-sweep.json";

static TMP: AtomicU64 = AtomicU64::new(0);

impl Store {
    /// Opens the results folder `dir` of the sweep `spec` for a run: creates
    /// it, or resumes an earlier sweep's folder. Refused untouched (bad input):
    /// a symbolic link, a file, a folder that is neither empty nor marked as a
    /// sweep's by [`MARKER`], the folder of another sweep (its marker's spec
    /// has a task that `spec` lacks: only the same sweep, or one that grew,
    /// resumes a folder), and a folder holding one of `inputs` (the spec
    /// file). The marker then holds `spec`.
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
        if abs.exists() {
            if !abs.is_dir() {
                return Err(refuse("is a file; give a folder"));
            }
            let empty = fs::read_dir(&abs)
                .map_err(|e| io("read", &abs, e))?
                .next()
                .is_none();
            if !empty && !abs.join(MARKER).is_file() {
                return Err(refuse(&format!(
                    "is not the folder of a bayesrg sweep (it has no {MARKER}); \
                     give a new folder, nothing was touched"
                )));
            }
        }
        if abs.join(MARKER).is_file() {
            resumable(&abs.join(MARKER), spec).map_err(|why| refuse(&why))?;
        }
        for input in inputs {
            if std::path::absolute(input).is_ok_and(|f| f.starts_with(&abs)) {
                return Err(refuse(&format!(
                    "holds the input `{}`; give another folder",
                    input.display()
                )));
            }
        }
        let store = Store::open(&abs)?;
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
        })
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
    /// cannot be read or parsed (truncated by a full disk, edited by hand)
    /// does not count: the task runs again and its file is replaced
    /// ([`Store::unreadable`] lists such files for a warning).
    pub fn is_finished(&self, task: &Task) -> bool {
        matches!(
            self.read(&self.file(&task.id, false)),
            Ok(Some(Record {
                outcome: Outcome::Result(_),
                ..
            }))
        )
    }

    /// The record of a finished or failed task, if any. An unreadable task
    /// file counts as no record (the task is pending; see
    /// [`Store::unreadable`]).
    ///
    /// # Errors
    /// None today; kept for a store that can fail as a whole.
    pub fn load(&self, task: &Task) -> Result<Option<Record>> {
        for failed in [false, true] {
            if let Ok(Some(rec)) = self.read(&self.file(&task.id, failed)) {
                return Ok(Some(rec));
            }
        }
        Ok(None)
    }

    /// The task files of `tasks` that exist but cannot be read or parsed:
    /// (task index, path, why). Their tasks count as not run (tryout 5 D5:
    /// one truncated file blocked every resume); a caller warns with this.
    pub fn unreadable(&self, tasks: &[Task]) -> Vec<(usize, PathBuf, String)> {
        let mut out = Vec::new();
        for t in tasks {
            for failed in [false, true] {
                let path = self.file(&t.id, failed);
                if let Err(why) = self.read(&path) {
                    out.push((t.index, path, why));
                }
            }
        }
        out
    }

    /// The record in `path`: `Ok(None)` when there is no such file, `Err`
    /// (why) when it cannot be read or is not a task record.
    fn read(&self, path: &Path) -> std::result::Result<Option<Record>, String> {
        match fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| e.to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Writes the outcome of `task`, unless it has already finished; returns
    /// whether it wrote. A success removes an earlier failure's file.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn record(&self, task: &Task, outcome: Outcome) -> Result<bool> {
        if self.is_finished(task) {
            return Ok(false);
        }
        let failed = matches!(outcome, Outcome::Error(_));
        let path = self.file(&task.id, failed);
        let rec = Record {
            task: task.clone(),
            outcome,
        };
        let text = serde_json::to_string(&rec)
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
fn resumable(marker: &Path, spec: &crate::SweepSpec) -> std::result::Result<(), String> {
    let unreadable = |e: String| {
        format!(
            "has a sweep marker {MARKER} that cannot be read ({e}); give a new folder, \
             nothing was touched"
        )
    };
    let text = fs::read_to_string(marker).map_err(|e| unreadable(e.to_string()))?;
    let old: crate::SweepSpec =
        serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))?;
    let old_tasks = old.expand().map_err(|e| unreadable(e.to_string()))?;
    let new_ids: std::collections::HashSet<String> = spec
        .expand()
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|t| t.id)
        .collect();
    let lost: Vec<&Task> = old_tasks
        .iter()
        .filter(|t| !new_ids.contains(&t.id))
        .collect();
    match lost.first() {
        None => Ok(()),
        Some(t) => Err(format!(
            "holds the results of another sweep: {} of its {} tasks are not tasks of this \
             spec (the first: task {}, {} `{}`); a folder is resumed only by the same sweep \
             or one with more points. Give a new folder; nothing was touched",
            lost.len(),
            old_tasks.len(),
            t.index,
            t.command,
            crate::spec::coords_text(t)
        )),
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::failed(format!("{what} {}", path.display()), e.to_string())
}

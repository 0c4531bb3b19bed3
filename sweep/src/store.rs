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

static TMP: AtomicU64 = AtomicU64::new(0);

impl Store {
    /// Opens (creating it if needed) the task folder `dir/tasks`.
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

    /// Whether `task` has finished (a failed task has not).
    pub fn is_finished(&self, task: &Task) -> bool {
        self.file(&task.id, false).is_file()
    }

    /// The record of a finished or failed task, if any.
    ///
    /// # Errors
    /// A task file that cannot be read or parsed.
    pub fn load(&self, task: &Task) -> Result<Option<Record>> {
        for failed in [false, true] {
            let path = self.file(&task.id, failed);
            match fs::read_to_string(&path) {
                Ok(text) => {
                    let rec: Record = serde_json::from_str(&text).map_err(|e| {
                        Error::failed("reading a task file", format!("{}: {e}", path.display()))
                    })?;
                    return Ok(Some(rec));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("read", &path, e)),
            }
        }
        Ok(None)
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
        let tmp = self.dir.join("tasks").join(format!(
            ".{}.tmp-{}-{}",
            task.id,
            std::process::id(),
            TMP.fetch_add(1, Ordering::Relaxed)
        ));
        let write = || -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&tmp);
            return Err(io("write", &path, e));
        }
        if !failed {
            let _ = fs::remove_file(self.file(&task.id, true));
        }
        Ok(true)
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::failed(format!("{what} {}", path.display()), e.to_string())
}

//! Running a sweep's tasks on this machine.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use bayesrg_core::error::Result;
use bayesrg_core::observe::{self, Observer, tick};
use rayon::prelude::*;
use serde_json::Value;

use crate::spec::Task;
use crate::store::{Outcome, Store};

/// Runs one task: the command `command` on the configuration `config`,
/// returning its result as JSON or why it failed. The facade crate `bayesrg`
/// implements it by calling the command's library runner; tests use toy
/// runners.
pub trait TaskRunner: Sync {
    /// The result of `command` on `config`.
    ///
    /// # Errors
    /// Why the task failed, as the message a user reads.
    fn run(&self, command: &str, config: &Value) -> std::result::Result<Value, String>;
}

/// What one local run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LocalRun {
    /// Tasks found finished and skipped.
    pub skipped: usize,
    /// Tasks run and finished now.
    pub finished: usize,
    /// Tasks that failed now: (task index, error).
    pub failed: Vec<(usize, String)>,
}

/// Runs every task of `tasks` that `store` does not hold as finished, in
/// parallel on rayon's pool, writing each outcome as it comes. A failed (or
/// panicking) task is recorded with its error and does not stop the others.
/// Progress reaches `obs` as the count of tasks done; when `obs` asks to
/// stop, no new task starts and the call returns
/// [`bayesrg_core::Error::Cancelled`] once running tasks have finished
/// (their results are kept, so a rerun resumes).
///
/// # Errors
/// A task file that cannot be written; cancellation.
pub fn run_local(
    tasks: &[Task],
    runner: &dyn TaskRunner,
    store: &Store,
    obs: &mut dyn Observer,
) -> Result<LocalRun> {
    let pending: Vec<&Task> = tasks.iter().filter(|t| !store.is_finished(t)).collect();
    let mut out = LocalRun {
        skipped: tasks.len() - pending.len(),
        ..LocalRun::default()
    };
    obs.phase("sweep", Some(pending.len() as u64));
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<Result<(usize, Option<String>)>>();
    let mut status = Ok(());
    std::thread::scope(|s| {
        let stop = &stop;
        s.spawn(move || {
            pending.par_iter().for_each_with(tx, |tx, task| {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let Some(outcome) = try_run(runner, task) else {
                    // A requested stop (Ctrl-C in Python): nothing recorded.
                    stop.store(true, Ordering::Relaxed);
                    let _ = tx.send(Err(bayesrg_core::Error::Cancelled));
                    return;
                };
                let err = match &outcome {
                    Outcome::Error(e) => Some(e.clone()),
                    Outcome::Result(_) => None,
                };
                let sent = store.record(task, outcome).map(|_| (task.index, err));
                let _ = tx.send(sent);
            });
        });
        let mut done = 0u64;
        for msg in rx {
            match msg {
                Ok((_, None)) => out.finished += 1,
                Ok((i, Some(e))) => out.failed.push((i, e)),
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    if status.is_ok() {
                        status = Err(e);
                    }
                }
            }
            done += 1;
            if status.is_ok()
                && let Err(e) = tick(obs, done)
            {
                stop.store(true, Ordering::Relaxed);
                status = Err(e);
            }
        }
    });
    status?;
    out.failed.sort();
    Ok(out)
}

/// Runs one task, turning a panic into its error. A computation stopped by
/// [`bayesrg_core::observe::request_stop`] is no outcome of the task: its
/// unwind goes on to the caller that asked for the stop.
pub fn run_one(runner: &dyn TaskRunner, task: &Task) -> Outcome {
    match catch_unwind(AssertUnwindSafe(|| runner.run(&task.command, &task.config))) {
        Ok(r) => outcome(r),
        Err(p) if observe::is_stopped(p.as_ref()) => std::panic::resume_unwind(p),
        Err(p) => panicked(p),
    }
}

/// [`run_one`], with `None` for a task that a requested stop ended (by
/// unwinding, or by an error while the stop was requested): it stays pending.
fn try_run(runner: &dyn TaskRunner, task: &Task) -> Option<Outcome> {
    match catch_unwind(AssertUnwindSafe(|| runner.run(&task.command, &task.config))) {
        Ok(Err(_)) if observe::stop_requested() => None,
        Ok(r) => Some(outcome(r)),
        Err(p) if observe::is_stopped(p.as_ref()) => None,
        Err(p) => Some(panicked(p)),
    }
}

fn outcome(r: std::result::Result<serde_json::Value, String>) -> Outcome {
    match r {
        Ok(v) => Outcome::Result(v),
        Err(e) => Outcome::Error(e),
    }
}

fn panicked(p: Box<dyn std::any::Any + Send>) -> Outcome {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    Outcome::Error(format!("the task panicked: {msg}"))
}

//! Sweeps from Python (issue 15): the same library calls as `bayesrg sweep`
//! (crate `bayesrg-sweep`, [`bayesrg::tasks`]), so a sweep run from Python,
//! locally or on a Dask cluster, writes the same task files and merges into
//! the same bytes as the command line. Specs, tasks and outcomes cross as
//! JSON text; the Python half is `python/bayesrg/sweep.py`.

use bayesrg::sweep::{self, Outcome, Store, SweepSpec, Task};
use bayesrg_core::observe::Silent;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::path::Path;

fn spec(spec_json: &str) -> PyResult<SweepSpec> {
    // Through a value, so that an error names the key path (`axes[0].values`),
    // not a position in the JSON text made from the user's dict.
    let s: SweepSpec = bayesrg::tasks::parse(&crate::json_value(spec_json, "spec")?)
        .map_err(|e| crate::InputError::new_err(format!("sweep spec: {e}")))?;
    s.validate().map_err(crate::core_err)?;
    Ok(s)
}

fn json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The tasks of a sweep spec (JSON text) as a JSON list, in order.
#[pyfunction]
fn sweep_tasks(spec_json: &str) -> PyResult<String> {
    json(&spec(spec_json)?.expand().map_err(crate::core_err)?)
}

/// Opens the results folder `out` for the spec (created, or an earlier
/// sweep's folder resumed; anything else refused untouched) and returns, as
/// JSON, `{"pending": [tasks not yet finished], "warnings": [texts]}` (a
/// warning for each task file that cannot be read: its task runs again).
#[pyfunction]
fn sweep_open(out: &str, spec_json: &str, inputs: Vec<String>) -> PyResult<String> {
    let s = spec(spec_json)?;
    let inputs: Vec<&Path> = inputs.iter().map(Path::new).collect();
    let tasks = s.expand().map_err(crate::core_err)?;
    bayesrg::tasks::check_all(&s, &tasks).map_err(crate::core_err)?;
    let store = Store::create_named(Path::new(out), "out", &inputs, &s).map_err(crate::core_err)?;
    let warnings: Vec<String> = store
        .recovery()
        .map(str::to_string)
        .into_iter()
        .chain(store.unreadable(&tasks).into_iter().map(|(i, path, why)| {
            format!(
                "the file of task {i}, {}, cannot be read ({why}); the task runs again and its \
                 file is replaced",
                path.display()
            )
        }))
        .collect();
    let pending: Vec<&Task> = tasks.iter().filter(|t| !store.is_finished(t)).collect();
    json(&serde_json::json!({"pending": pending, "warnings": warnings}))
}

/// Runs one task (`command` on the configuration `config_json`) and returns
/// its outcome as JSON: `{"result": …}` or `{"error": "…"}`. Never raises for
/// a failed task (a cluster worker sends the outcome back as it is). The GIL
/// is released while it runs.
#[pyfunction]
fn sweep_run_task(py: Python<'_>, command: &str, config_json: &str) -> PyResult<String> {
    let outcome = match serde_json::from_str::<serde_json::Value>(config_json) {
        Ok(config) => {
            let task = Task {
                index: 0,
                id: String::new(),
                coords: Vec::new(),
                seed: Default::default(),
                command: command.to_string(),
                config,
            };
            crate::interrupt::run(py, || sweep::run_one(&bayesrg::tasks::Runner, &task))?
                .map_err(crate::panic_error)?
        }
        Err(e) => Outcome::Error(format!("configuration is not JSON: {e}")),
    };
    json(&outcome)
}

/// Writes the outcome (JSON, as from [`sweep_run_task`]) of the task (JSON, one of
/// [`sweep_open`]'s) into `out`; returns whether it wrote (a task's result is
/// written once).
#[pyfunction]
fn sweep_record(out: &str, task_json: &str, outcome_json: &str) -> PyResult<bool> {
    let task: Task = serde_json::from_str(task_json)
        .map_err(|e| crate::InputError::new_err(format!("task: {e}")))?;
    let outcome: Outcome = serde_json::from_str(outcome_json)
        .map_err(|e| crate::InputError::new_err(format!("outcome: {e}")))?;
    let store = Store::open(Path::new(out)).map_err(crate::core_err)?;
    store.record(&task, outcome).map_err(crate::core_err)
}

/// Runs the pending tasks on this machine (rayon's threads, GIL released;
/// Ctrl-C stops it, keeping the tasks finished so far).
#[pyfunction]
fn sweep_local(py: Python<'_>, out: &str, spec_json: &str) -> PyResult<()> {
    let s = spec(spec_json)?;
    let tasks = s.expand().map_err(crate::core_err)?;
    crate::interrupt::run(py, || {
        let store = Store::open(Path::new(out))?;
        sweep::run_local(&tasks, &bayesrg::tasks::Runner, &store, &mut Silent).map(|_| ())
    })?
    .map_err(crate::panic_error)?
    .map_err(crate::core_err)
}

/// Merges `out` into `results.csv` and `tasks.csv`; returns the counts
/// (ok, check_failed, failed, pending).
#[pyfunction]
fn sweep_merge(out: &str, spec_json: &str) -> PyResult<(usize, usize, usize, usize)> {
    let s = spec(spec_json)?;
    let tasks = s.expand().map_err(crate::core_err)?;
    let store = Store::open(Path::new(out)).map_err(crate::core_err)?;
    let c = sweep::merge_into(&s, &tasks, &store).map_err(crate::core_err)?;
    Ok((c.ok, c.check_failed, c.failed, c.pending))
}

/// Lets another process run a sweep into `out`: drops the hold that
/// [`sweep_open`] took on the folder (`bayesrg.sweep` calls it when it ends,
/// however it ends).
#[pyfunction]
fn sweep_release(out: &str) {
    sweep::store::release(Path::new(out));
}

/// Adds the sweep functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    add_functions!(
        m,
        sweep_tasks,
        sweep_open,
        sweep_run_task,
        sweep_record,
        sweep_release,
        sweep_local,
        sweep_merge
    );
    Ok(())
}

//! # bayesrg-sweep: parameter studies
//!
//! A sweep (issue 15) is one command's base configuration plus axes
//! ([`SweepSpec`]). It expands to tasks ([`SweepSpec::expand`]), each a full
//! configuration with its own seed derived from the sweep's seed and the
//! task's coordinates. Tasks run locally in parallel ([`run_local`]) or on a
//! cluster (the Python package's `bayesrg.sweep(spec, client=…)`, through
//! Dask); either way each outcome is written once to the results folder
//! ([`Store`]) and the folder is merged by one function ([`merge()`]) into one
//! tidy table, so a cluster run and a local run give the same bytes.
//!
//! ```
//! use bayesrg_sweep::SweepSpec;
//! let spec: SweepSpec = serde_json::from_str(r#"{
//!     "command": "fisher", "seed": 7,
//!     "base": {"model": {"type": "normal"}, "theta": [0.0, 1.0]},
//!     "axes": [{"path": "theta[1]", "range": {"start": 0.01, "stop": 100.0, "num": 5, "log": true}}]
//! }"#).unwrap();
//! let tasks = spec.expand().unwrap();
//! assert_eq!(tasks.len(), 5);
//! assert_eq!(tasks[4].config["theta"][1], 100.0);
//! ```
#![warn(missing_docs)]

pub mod canonical;
pub mod local;
pub mod merge;
pub mod spec;
pub mod store;

pub use local::{LocalRun, TaskRunner, run_local, run_one};
pub use merge::{Counts, Merged, merge};
pub use spec::{Axis, Mode, Range, SweepSpec, Task};
pub use store::{MARKER, Outcome, Record, Store};

/// The records of `tasks` held by `store`, in task order.
///
/// # Errors
/// A task file that cannot be read or parsed.
pub fn records(tasks: &[Task], store: &Store) -> bayesrg_core::error::Result<Vec<Option<Record>>> {
    tasks.iter().map(|t| store.load(t)).collect()
}

/// Merges the folder of `store` for `spec` and writes `results.csv` and
/// `tasks.csv` into it (atomically); returns the counts.
///
/// # Errors
/// A table that cannot be written; bad input ([`Error::Domain`] on
/// `keep[i]`, the first entry at fault) when entries of `spec.keep` match no
/// quantity of any finished task (tryout 5 D4: a misspelt `keep` gave an
/// empty table and exit 0). The tables are then written without those
/// entries (as if `keep` lacked them: all numbers when none is left; tryout
/// 7 F11), so that the message is true and nothing is lost; the message
/// lists the quantities there are.
///
/// [`Error::Domain`]: bayesrg_core::Error::Domain
pub fn merge_into(
    spec: &SweepSpec,
    tasks: &[Task],
    store: &Store,
) -> bayesrg_core::error::Result<Counts> {
    let records = records(tasks, store)?;
    let mut merged = merge(tasks, &records, &spec.keep)?;
    let unmatched = std::mem::take(&mut merged.unmatched_keep);
    let kept: Vec<String> = spec
        .keep
        .iter()
        .filter(|k| !unmatched.contains(k))
        .cloned()
        .collect();
    if !unmatched.is_empty() {
        merged = merge(tasks, &records, &kept)?;
    }
    store.write_tables(&[
        ("results.csv", &merged.results),
        ("tasks.csv", &merged.tasks),
    ])?;
    if let Some(first) = spec.keep.iter().position(|k| unmatched.contains(k)) {
        let written = if kept.is_empty() {
            "every number".to_string()
        } else {
            format!("`keep` = {kept:?}")
        };
        return Err(bayesrg_core::Error::Domain {
            field: bayesrg_core::error::Field::key("keep").at(first),
            value: format!("{unmatched:?}"),
            constraint: format!(
                "matches no quantity of any finished task, so the tables are written without \
                 it (with {written}; the task files are kept: fix `keep` and rerun to merge \
                 again); the results have: {}",
                quantity_roots(&records)
            ),
        });
    }
    Ok(merged.counts)
}

/// The top-level quantities (first path component) of the finished records,
/// in order of first appearance, for an error message.
fn quantity_roots(records: &[Option<Record>]) -> String {
    let mut roots: Vec<&str> = Vec::new();
    for r in records.iter().flatten() {
        if let Outcome::Result(serde_json::Value::Object(m)) = &r.outcome {
            for k in m.keys() {
                if !roots.contains(&k.as_str()) {
                    roots.push(k);
                }
            }
        }
    }
    roots.join(", ")
}

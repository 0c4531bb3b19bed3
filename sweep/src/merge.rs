//! The merged table of a sweep: one row per task and quantity.
//!
//! `results.csv` has the columns `task` (the task's index), one column per
//! axis (and `replicate`), `quantity` (the path of a number in the command's
//! JSON result: `report.max_z`, `checks[3].value`) and `value`. Booleans are
//! written 1 and 0; texts are left out, and so are arrays of more than
//! [`LONG_ARRAY`] entries, unless `keep` names them (all stay in the task
//! files). A `keep` entry that matches nothing is an error of the spec
//! ([`crate::merge_into`]).
//! `tasks.csv` has one row per task: `task`, `id`, the axes, `seed`,
//! `status` and `error`. The status is `ok` (finished, every check passed),
//! `check_failed` (finished, but a check of the run failed: what the command
//! line reports by exit status 1; `error` names the failed checks by their
//! paths in the result), `failed` (no result: the error) or `pending`. A pandas user loads
//! either with `pd.read_csv(path)`, and
//! `df.pivot_table(index=axes, columns="quantity", values="value")` widens it.
//!
//! The local run and a cluster run write task files through [`crate::Store`]
//! and merge with this one function, so both give the same bytes.

use bayesrg_core::error::{Error, Result};
use serde_json::Value;

use crate::spec::Task;
use crate::store::{Outcome, Record};

/// Arrays longer than this (a Fisher diagonal of 31,000 weights, a path of
/// 10,000 steps) are left out of the merged table unless `keep` names them.
pub const LONG_ARRAY: usize = 64;

/// The two tables of a merged sweep, as CSV text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// `results.csv`: task, axes…, quantity, value.
    pub results: String,
    /// `tasks.csv`: task, id, axes…, seed, status, error.
    pub tasks: String,
    /// How many tasks finished, failed, or have no record.
    pub counts: Counts,
    /// The `keep` entries that match no quantity (number, text or null) of
    /// any finished task's result; empty when no task has finished.
    pub unmatched_keep: Vec<String>,
}

/// The key of a task's result that says whether every check of the run
/// passed; a result with `false` there is counted and marked `check_failed`.
/// (Results without it, from task files of earlier versions, count as `ok`.)
pub const PASS: &str = "pass";

/// How many tasks are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Finished, every check passed.
    pub ok: usize,
    /// Finished, but a check of the run failed (tryout 9 H2).
    pub check_failed: usize,
    /// Failed (with a recorded error).
    pub failed: usize,
    /// Not run.
    pub pending: usize,
}

/// Merges the records of `tasks` (`records[i]` belongs to `tasks[i]`;
/// `None` when it has not run), keeping quantities whose path starts with one
/// of `keep` (all numbers when `keep` is empty). Texts are kept only when a
/// `keep` entry is a prefix of their path (then the `value` column holds
/// text); nulls (NaN or ±∞ in the run) never are. Rows follow the task order, and within
/// a task the order of its result, so the bytes depend on the results only.
///
/// # Errors
/// Only when CSV writing fails (it writes to memory).
pub fn merge(tasks: &[Task], records: &[Option<Record>], keep: &[String]) -> Result<Merged> {
    let axes: Vec<String> = tasks
        .first()
        .map(|t| t.coords.iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    let mut results = csv::Writer::from_writer(Vec::new());
    let mut table = csv::Writer::from_writer(Vec::new());
    let mut head = vec!["task".to_string()];
    head.extend(axes.iter().cloned());
    let mut rhead = head.clone();
    rhead.extend(["quantity".into(), "value".into()]);
    results.write_record(&rhead).map_err(csv_err)?;
    let mut thead = head;
    thead.insert(1, "id".into());
    thead.extend(["seed".into(), "status".into(), "error".into()]);
    table.write_record(&thead).map_err(csv_err)?;
    let mut counts = Counts::default();
    let mut matched = vec![false; keep.len()];
    for (task, rec) in tasks.iter().zip(records) {
        let mut key = vec![task.index.to_string()];
        key.extend(task.coords.iter().map(|(_, v)| cell(v)));
        let (status, error) = match rec.as_ref().map(|r| &r.outcome) {
            Some(Outcome::Result(v)) => {
                let mut rows = Vec::new();
                flatten(v, &mut String::new(), keep, &mut rows);
                let failed_checks = (v.get(PASS) == Some(&Value::Bool(false))).then(|| {
                    let mut at: Vec<&str> = rows
                        .iter()
                        .filter(|(q, x)| {
                            matches!(x, Leaf::Number(n) if n == "0") && q.as_str() != PASS
                        })
                        .filter_map(|(q, _)| q.strip_suffix(".pass"))
                        .collect();
                    at.dedup();
                    if at.is_empty() {
                        "a check of the run failed".to_string()
                    } else {
                        format!("failed checks: {}", at.join(", "))
                    }
                });
                match failed_checks {
                    Some(_) => counts.check_failed += 1,
                    None => counts.ok += 1,
                }
                for (q, x) in rows {
                    let mut kept = keep.is_empty();
                    for (k, m) in keep.iter().zip(matched.iter_mut()) {
                        let hit = q.starts_with(k.as_str());
                        *m |= hit;
                        kept |= hit;
                    }
                    let value = match x {
                        Leaf::Number(v) => v,
                        // Texts only when named.
                        Leaf::Text(t) if !keep.is_empty() => t,
                        Leaf::Text(_) | Leaf::Null => continue,
                    };
                    if kept {
                        let mut row = key.clone();
                        row.extend([q, value]);
                        results.write_record(&row).map_err(csv_err)?;
                    }
                }
                match failed_checks {
                    Some(why) => ("check_failed", why),
                    None => ("ok", String::new()),
                }
            }
            Some(Outcome::Error(e)) => {
                counts.failed += 1;
                ("failed", e.clone())
            }
            None => {
                counts.pending += 1;
                ("pending", String::new())
            }
        };
        let mut row = key;
        row.insert(1, task.id.clone());
        row.extend([task.seed.value().to_string(), status.into(), error]);
        table.write_record(&row).map_err(csv_err)?;
    }
    let unmatched_keep = if counts.ok + counts.check_failed > 0 {
        keep.iter()
            .zip(&matched)
            .filter(|(_, m)| !**m)
            .map(|(k, _)| k.clone())
            .collect()
    } else {
        Vec::new()
    };
    Ok(Merged {
        results: into_text(results)?,
        tasks: into_text(table)?,
        counts,
        unmatched_keep,
    })
}

/// A leaf of a result: a number (or boolean as 1/0) as its cell, a text, or
/// a null (NaN or ±∞ in the run).
enum Leaf {
    Number(String),
    Text(String),
    Null,
}

/// An axis value as a table cell: numbers and texts as they are, anything
/// else as compact JSON.
fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => crate::canonical::canonical(other),
    }
}

/// The leaves of `v` with their paths, in the order of its JSON; long
/// arrays only when a prefix of `keep` reaches into them.
fn flatten(v: &Value, path: &mut String, keep: &[String], out: &mut Vec<(String, Leaf)>) {
    match v {
        Value::Number(n) => out.push((path.clone(), Leaf::Number(n.to_string()))),
        Value::Bool(b) => out.push((
            path.clone(),
            Leaf::Number(if *b { "1" } else { "0" }.into()),
        )),
        Value::String(t) => out.push((path.clone(), Leaf::Text(t.clone()))),
        Value::Null => out.push((path.clone(), Leaf::Null)),
        Value::Object(map) => {
            for (k, x) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                flatten(x, path, keep, out);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            let named = keep
                .iter()
                .any(|k| k.starts_with(path.as_str()) || path.starts_with(k.as_str()));
            if items.len() > LONG_ARRAY && !named {
                return;
            }
            for (i, x) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                flatten(x, path, keep, out);
                path.truncate(len);
            }
        }
    }
}

fn csv_err(e: csv::Error) -> Error {
    Error::failed("writing the merged table", e.to_string())
}

fn into_text(w: csv::Writer<Vec<u8>>) -> Result<String> {
    let bytes = w
        .into_inner()
        .map_err(|e| Error::failed("writing the merged table", e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| Error::failed("writing the merged table", e.to_string()))
}

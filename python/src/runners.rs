//! The library runners from Python (issue 14): dynamical Bayes (eqs. 32–36),
//! the DB-RG flow (eqs. 38–45), SDE ensembles and the section-4 pruning run,
//! through [`bayesrg::tasks::run_typed`] — the function `bayesrg sweep` calls —
//! so a spec and a seed give the same bits here as on the command line.
//!
//! A spec crosses as Python data (dict, list, float, int, str, bool, None),
//! converted value by value into a `serde_json::Value` (a float keeps its
//! bits: no decimal text in between); the result comes back the same way.
//! A model written in Python runs through
//! [`bayesrg_core::bayes::experiment::run_with_model`] and
//! [`bayesrg_core::bayes::flow::run_with_model`], the same code as a built-in
//! model. The GIL is released during the run, and Ctrl-C stops it
//! ([`crate::interrupt`]).

use crate::{InputError, PyBayesModel, panic_error};
use bayesrg::tasks::{self, TaskError};
use bayesrg_core::bayes::{ModelGiven, experiment, flow};
use bayesrg_core::observe::Silent;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Python data → JSON value. `at` is the path for error messages.
fn to_value(obj: &Bound<'_, PyAny>, at: &str) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(v) = obj.extract::<i64>() {
            return Ok(Value::from(v));
        }
        if let Ok(v) = obj.extract::<u64>() {
            return Ok(Value::from(v));
        }
        return Err(InputError::new_err(format!(
            "`{at}`: the integer {obj} does not fit in 64 bits"
        )));
    }
    if obj.is_instance_of::<PyFloat>() {
        let v: f64 = obj.extract()?;
        return Number::from_f64(v).map(Value::Number).ok_or_else(|| {
            InputError::new_err(format!("`{at}` = {v}: a spec's numbers must be finite"))
        });
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.extract::<String>()?));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, v) in d.iter() {
            let key: String = k.extract().map_err(|_| {
                InputError::new_err(format!("`{at}`: a key {k} that is not a string"))
            })?;
            let path = if at.is_empty() {
                key.clone()
            } else {
                format!("{at}.{key}")
            };
            m.insert(key, to_value(&v, &path)?);
        }
        return Ok(Value::Object(m));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for (i, v) in obj.try_iter()?.enumerate() {
            out.push(to_value(&v?, &format!("{at}[{i}]"))?);
        }
        return Ok(Value::Array(out));
    }
    // NumPy arrays and scalars: their Python values (float64 keeps its bits).
    if obj.hasattr("tolist")? {
        let plain = obj.call_method0("tolist")?;
        if !plain.is(obj) {
            return to_value(&plain, at);
        }
    }
    Err(InputError::new_err(format!(
        "`{at}`: a value of type {} (a spec holds dicts, lists, numbers, strings, booleans and None)",
        obj.get_type().name()?
    )))
}

/// JSON value → Python data.
fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

fn task_err(e: TaskError) -> PyErr {
    match e {
        TaskError::Input(m) => InputError::new_err(m),
        // A runner that a stop request (another call's Ctrl-C) ended.
        TaskError::Failed(m) if m == bayesrg_core::Error::Cancelled.to_string() => {
            crate::interrupt::stopped()
        }
        TaskError::Failed(m) => crate::ComputationError::new_err(m),
    }
}

/// Runs the library runner `kind` (`bayes`, `flow`, `sde`, `prune`,
/// `fisher`) on `spec` (the content of its config file, as Python data) and
/// returns its result as Python data: the document `bayesrg sweep` stores
/// for the same task. The GIL is released during the run.
///
/// Raises `InputError` (an unknown kind, a spec that does not parse — the
/// message names the field — or fails its checks) or `ComputationError`.
#[pyfunction]
fn run_task<'py>(
    py: Python<'py>,
    kind: &str,
    spec: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let config = to_value(spec, "")?;
    let kind = kind.to_string();
    let r = crate::interrupt::run(py, || tasks::run_typed(&kind, &config))?;
    match r {
        Ok(Ok(v)) => to_py(py, &v),
        Ok(Err(e)) => Err(task_err(e)),
        Err(p) => Err(panic_error(p)),
    }
}

/// Runs dynamical Bayes (`kind = "bayes"`) or the DB-RG flow (`"flow"`) on
/// the model instance `model` (built in or written in Python): `spec` is the
/// rest of the config, without `model`. The same code and the same bits as
/// [`run_task`] with the model's description in the spec.
///
/// Raises `InputError` (a spec that does not parse or fails its checks, a
/// `kind` other than bayes/flow), `ComputationError`, or the exception the
/// Python model raised.
#[pyfunction]
fn run_with_model<'py>(
    py: Python<'py>,
    kind: &str,
    model: &PyBayesModel,
    spec: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let config = to_value(spec, "")?;
    if config.get("model").is_some_and(|m| !m.is_null()) {
        return Err(InputError::new_err(
            "`model`: give the model either in the spec or as the instance, not both",
        ));
    }
    let v = match kind {
        "bayes" => {
            let s: experiment::BayesSpec<ModelGiven> = tasks::parse(&config).map_err(task_err)?;
            let r = model.run(py, |m| experiment::run_with_model(&s, m, &mut Silent))?;
            serde_json::to_value(r)
        }
        "flow" => {
            let s: flow::FlowSpec<ModelGiven> = tasks::parse(&config).map_err(task_err)?;
            let r = model.run(py, |m| flow::run_with_model(&s, m, &mut Silent))?;
            serde_json::to_value(r)
        }
        other => {
            return Err(InputError::new_err(format!(
                "`kind` = {other:?}: a model instance runs through `bayes` or `flow`"
            )));
        }
    }
    .map_err(|e| PyRuntimeError::new_err(format!("result not representable as JSON: {e}")))?;
    to_py(py, &v)
}

/// The kinds `run_task` takes.
#[pyfunction]
fn run_kinds() -> Vec<&'static str> {
    tasks::COMMANDS.to_vec()
}

/// Adds the runner functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    add_functions!(m, run_task, run_with_model, run_kinds);
    Ok(())
}

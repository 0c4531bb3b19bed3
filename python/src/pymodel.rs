//! A model written in Python, wrapped as a Rust [`Model`] so that the same
//! estimators and the same validator run on it (issue 14).
//!
//! # The Python protocol
//! An object with `log_likelihood(theta, y)` (θ: shape (d,), y: shape (n, k) →
//! shape (n,)) and `sample(theta, n, rng)` (rng: a `numpy.random.Generator` →
//! shape (n, k), or (n,) when k = 1); optionally `score(theta, y)` → (n, d),
//! `hessian(theta, y)` → (n, d, d), `fisher(theta)` → (d, d),
//! `kl(theta, theta2)` → float and `check_params(theta)` (raises to reject θ).
//!
//! # Batches
//! The [`Model`] trait is per observation; a Python call costs microseconds.
//! The Monte Carlo loops draw each chunk of 1024 observations through
//! [`Model::sample_batch`] (one Python `sample` call); this wrapper keeps the
//! chunk's draws in a thread-local batch, and the first per-observation
//! `log_likelihood` / `score` / `hessian` request at a given θ for a draw of
//! that batch evaluates the user's vectorised method once for the whole batch.
//! Later requests for the batch's draws are served from it. A request for a
//! y that is not the batch's current or next draw is one Python call with a
//! batch of one. Which route a request takes depends only on the sequence of
//! calls inside one chunk, never on threads, so a seed still fixes every bit
//! (for user code whose rows do not depend on each other).
//!
//! # Errors
//! The trait's methods cannot fail, so the first exception raised by the
//! user's code (or a wrong shape it returns) is kept in the wrapper, every
//! later call returns NaN at once, and the binding raises that exception —
//! with its traceback — when the Rust computation returns ([`PyModel::take_error`]).

use bayesrg_core::ParamError;
use bayesrg_core::model::{Model, check_len};
use nalgebra::DMatrix;
use numpy::{PyArray1, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rand::Rng;
use std::cell::RefCell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinct ids of wrappers (for the thread-local batch).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Bumped at every call from Python into Rust: a batch left from an earlier
/// computation is never used by a later one.
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// At most this many (quantity, θ) evaluations are kept per batch (numerical
/// derivatives of a model without `score` ask at O(d²) points θ ± hᵢeᵢ ± hⱼeⱼ).
const MAX_ENTRIES: usize = 64;

/// Starts a computation: batches of earlier computations are retired.
pub fn next_generation() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    LogLikelihood,
    Score,
    Hessian,
}

impl Kind {
    fn method(self) -> &'static str {
        match self {
            Kind::LogLikelihood => "log_likelihood",
            Kind::Score => "score",
            Kind::Hessian => "hessian",
        }
    }
}

struct Entry {
    kind: Kind,
    theta: Vec<u64>,
    values: Vec<f64>,
}

/// One chunk's draws and the quantities evaluated on them.
struct Batch {
    owner: u64,
    generation: u64,
    k: usize,
    ys: Vec<f64>,
    row: usize,
    entries: Vec<Entry>,
}

thread_local! {
    static BATCH: RefCell<Option<Batch>> = const { RefCell::new(None) };
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// A model whose methods are those of a Python object.
pub struct PyModel {
    obj: Py<PyAny>,
    id: u64,
    class: &'static str,
    names: Vec<String>,
    obs_dim: usize,
    has_score: bool,
    has_hessian: bool,
    has_fisher: bool,
    has_kl: bool,
    has_check: bool,
    error: Mutex<Option<PyErr>>,
}

impl std::fmt::Debug for PyModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PyModel({})", self.class)
    }
}

/// Interned names `python/ClassName` (a model's type name is `&'static str`).
fn intern(name: String) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut v = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = v.iter().find(|s| **s == name) {
        return s;
    }
    let s: &'static str = Box::leak(name.into_boxed_str());
    v.push(s);
    s
}

fn callable(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<bool> {
    Ok(obj.hasattr(name)? && obj.getattr(name)?.is_callable())
}

impl PyModel {
    /// Wraps `obj`: `param_names` and `obs_dim` are read from its attributes.
    ///
    /// # Errors
    /// `TypeError` when `log_likelihood` or `sample` is missing, `param_names`
    /// is not a non-empty sequence of strings or `obs_dim` not a positive integer.
    pub fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        use pyo3::exceptions::PyTypeError;
        let class = obj.get_type().name()?.to_string();
        for m in ["log_likelihood", "sample"] {
            if !callable(obj, m)? {
                return Err(PyTypeError::new_err(format!(
                    "a Python model needs a method `{m}`; `{class}` has none \
                     (see help(bayesrg.PythonModel))"
                )));
            }
        }
        let names: Vec<String> = obj
            .getattr("param_names")
            .and_then(|v| v.extract())
            .map_err(|e| {
                PyTypeError::new_err(format!(
                    "`{class}.param_names` must be a sequence of parameter names: {e}"
                ))
            })?;
        if names.is_empty() {
            return Err(PyTypeError::new_err(format!(
                "`{class}.param_names` is empty: a model has at least one parameter"
            )));
        }
        let obs_dim: usize = obj
            .getattr("obs_dim")
            .and_then(|v| v.extract())
            .map_err(|e| {
                PyTypeError::new_err(format!(
                    "`{class}.obs_dim` must be the length of one observation (an int >= 1): {e}"
                ))
            })?;
        if obs_dim == 0 {
            return Err(PyTypeError::new_err(format!(
                "`{class}.obs_dim` is 0: an observation has at least one value"
            )));
        }
        Ok(PyModel {
            obj: obj.clone().unbind(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            class: intern(format!("python/{class}")),
            names,
            obs_dim,
            has_score: callable(obj, "score")?,
            has_hessian: callable(obj, "hessian")?,
            has_fisher: callable(obj, "fisher")?,
            has_kl: callable(obj, "kl")?,
            has_check: callable(obj, "check_params")?,
            error: Mutex::new(None),
        })
    }

    /// The wrapped Python object.
    pub fn object(&self) -> &Py<PyAny> {
        &self.obj
    }

    /// The first exception the user's code raised since the last call, if any
    /// (and forgets it).
    pub fn take_error(&self) -> Option<PyErr> {
        self.error.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn failed(&self) -> bool {
        self.error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    fn keep(&self, e: PyErr) {
        let mut slot = self.error.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(e);
        }
    }

    /// Calls `method(*args)` and converts the result to `n_expect` f64 values
    /// whose array has `shape[0] == lead` (when given); `what` names the
    /// expected shape in errors. `None` (and the error kept) on failure.
    fn call(
        &self,
        method: &str,
        args: impl FnOnce(Python<'_>) -> PyResult<Bound<'_, PyTuple>>,
        n_expect: usize,
        lead: Option<usize>,
        what: &str,
    ) -> Option<Vec<f64>> {
        // Stopped (Ctrl-C, [`crate::interrupt`]) or failed: no more calls into
        // the user's code; NaN ends the computation, whose result is dropped.
        if self.failed() || bayesrg_core::observe::stop_requested() {
            return None;
        }
        let r = Python::attach(|py| -> PyResult<Vec<f64>> {
            let a = args(py)?;
            let out = self.obj.bind(py).call_method1(method, a)?;
            to_f64(py, &out, n_expect, lead).map_err(|(returned, cause)| {
                let e = pyo3::exceptions::PyValueError::new_err(format!(
                    "`{}.{method}` returned {returned}; expected {what}",
                    &self.class["python/".len()..]
                ));
                e.set_cause(py, cause);
                e
            })
        });
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.keep(e);
                None
            }
        }
    }

    fn width(&self, kind: Kind) -> usize {
        let d = self.names.len();
        match kind {
            Kind::LogLikelihood => 1,
            Kind::Score => d,
            Kind::Hessian => d * d,
        }
    }

    /// The user's vectorised `kind` at θ over the observations `ys` (n rows).
    fn eval(&self, kind: Kind, theta: &[f64], ys: &[f64]) -> Option<Vec<f64>> {
        let k = self.obs_dim;
        let n = ys.len() / k;
        let d = self.names.len();
        let w = self.width(kind);
        let what = match kind {
            Kind::LogLikelihood => format!("shape ({n},)"),
            Kind::Score => format!("shape ({n}, {d})"),
            Kind::Hessian => format!("shape ({n}, {d}, {d})"),
        };
        self.call(
            kind.method(),
            |py| {
                let t = PyArray1::from_slice(py, theta);
                let y = PyArray1::from_slice(py, ys).reshape([n, k])?;
                PyTuple::new(py, [t.into_any(), y.into_any()])
            },
            n * w,
            Some(n),
            &what,
        )
    }

    /// `kind` at θ for the observation `y`: from the thread's batch when y is
    /// its current or next draw, else one Python call.
    fn per_observation(&self, kind: Kind, theta: &[f64], y: &[f64], out: &mut [f64]) {
        if let Some(v) = self.batched(kind, theta, y) {
            out.copy_from_slice(&v);
            return;
        }
        match self.eval(kind, theta, y) {
            Some(v) => out.copy_from_slice(&v),
            None => out.fill(f64::NAN),
        }
    }

    fn batched(&self, kind: Kind, theta: &[f64], y: &[f64]) -> Option<Vec<f64>> {
        let mut batch = BATCH.with(|b| b.borrow_mut().take())?;
        let r = self.lookup(&mut batch, kind, theta, y);
        BATCH.with(|b| *b.borrow_mut() = Some(batch));
        r
    }

    fn lookup(&self, b: &mut Batch, kind: Kind, theta: &[f64], y: &[f64]) -> Option<Vec<f64>> {
        if b.owner != self.id || b.generation != GENERATION.load(Ordering::Relaxed) {
            return None;
        }
        let k = b.k;
        let n = b.ys.len() / k;
        let row = [b.row, b.row + 1]
            .into_iter()
            .find(|&r| r < n && same_bits(&b.ys[r * k..(r + 1) * k], y))?;
        b.row = row;
        let tb = bits(theta);
        let w = self.width(kind);
        let i = match b
            .entries
            .iter()
            .position(|e| e.kind == kind && e.theta == tb)
        {
            Some(i) => i,
            None => {
                if b.entries.len() >= MAX_ENTRIES {
                    return None;
                }
                let values = self.eval(kind, theta, &b.ys)?;
                b.entries.push(Entry {
                    kind,
                    theta: tb,
                    values,
                });
                b.entries.len() - 1
            }
        };
        Some(b.entries[i].values[row * w..(row + 1) * w].to_vec())
    }

    /// `sample(theta, n, rng)` with a NumPy generator seeded by one word of `rng`.
    fn draw(&self, theta: &[f64], n: usize, rng: &mut dyn Rng) -> Option<Vec<f64>> {
        let word = rng.next_u64();
        let k = self.obs_dim;
        self.call(
            "sample",
            |py| {
                let np = py.import("numpy")?;
                let random = np.getattr("random")?;
                let bitgen = random.getattr("PCG64")?.call1((word,))?;
                let g = random.getattr("Generator")?.call1((bitgen,))?;
                let t = PyArray1::from_slice(py, theta);
                PyTuple::new(py, [t.into_any(), n.into_pyobject(py)?.into_any(), g])
            },
            n * k,
            Some(n),
            &format!("shape ({n}, {k})"),
        )
    }
}

/// The values of an array-like as contiguous f64, checking their number and
/// the leading dimension. The error says what was returned, in Python's
/// words ("an array of shape (1999,)"), with the exception NumPy raised
/// reading it, if any.
fn to_f64(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    n_expect: usize,
    lead: Option<usize>,
) -> Result<Vec<f64>, (String, Option<PyErr>)> {
    let kind = || {
        obj.get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default()
    };
    let a = py
        .import("numpy")
        .and_then(|np| {
            np.getattr("ascontiguousarray")?
                .call1((obj, np.getattr("float64")?))
        })
        .map_err(|e| {
            (
                format!(
                    "a value of type {} that NumPy cannot read as float64",
                    kind()
                ),
                Some(e),
            )
        })?;
    let a = a.cast::<PyArrayDyn<f64>>().map_err(|_| {
        (
            format!("a value of type {} that is not an array", kind()),
            None,
        )
    })?;
    let shape = a.shape().to_vec();
    let ok_lead = match lead {
        Some(l) => shape.first() == Some(&l) || (shape.is_empty() && l == 1 && n_expect == 1),
        None => true,
    };
    if a.len() != n_expect || !ok_lead {
        let dims: Vec<String> = shape.iter().map(|n| n.to_string()).collect();
        let shape = match dims.len() {
            1 => format!("({},)", dims[0]),
            _ => format!("({})", dims.join(", ")),
        };
        return Err((format!("an array of shape {shape}"), None));
    }
    a.readonly()
        .as_slice()
        .map(|s| s.to_vec())
        .map_err(|e| (format!("an array NumPy cannot lay out: {e}"), None))
}

impl serde::Serialize for PyModel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("PyModel", 1)?;
        st.serialize_field("class", &self.class["python/".len()..])?;
        st.end()
    }
}

impl<'de> serde::Deserialize<'de> for PyModel {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(
            "a model written in Python cannot be read from a config file; \
             pass the Python object to the bayesrg package instead",
        ))
    }
}

#[typetag::serde(name = "python")]
impl Model for PyModel {
    fn param_names(&self) -> Vec<String> {
        self.names.clone()
    }

    fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)?;
        if !self.has_check {
            return Ok(());
        }
        let r = Python::attach(|py| -> PyResult<()> {
            let t = PyArray1::from_slice(py, theta);
            self.obj.bind(py).call_method1("check_params", (t,))?;
            Ok(())
        });
        r.map_err(|e| {
            let msg = Python::attach(|py| e.value(py).to_string());
            ParamError::Other(format!(
                "theta = {theta:?} is rejected by `{}.check_params`: {msg}",
                &self.class["python/".len()..]
            ))
        })
    }

    fn sample(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        match self.draw(theta, 1, rng) {
            Some(v) => out.copy_from_slice(&v),
            None => out.fill(f64::NAN),
        }
    }

    fn sample_batch(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        let k = self.obs_dim;
        let n = out.len() / k;
        match self.draw(theta, n, rng) {
            Some(v) => out.copy_from_slice(&v),
            None => out.fill(f64::NAN),
        }
        let generation = GENERATION.load(Ordering::Relaxed);
        let batch = Batch {
            owner: self.id,
            generation,
            k,
            ys: out.to_vec(),
            row: 0,
            entries: Vec::new(),
        };
        BATCH.with(|b| *b.borrow_mut() = Some(batch));
    }

    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        let mut v = [0.0];
        self.per_observation(Kind::LogLikelihood, theta, y, &mut v);
        v[0]
    }

    fn log_likelihood_rows(&self, theta: &[f64], ys: &[f64], out: &mut [f64]) {
        // One vectorised call over every row (the predictive on a y grid,
        // the Monte Carlo K(θ) of the dynamical-Bayes runner).
        match self.eval(Kind::LogLikelihood, theta, ys) {
            Some(v) => out.copy_from_slice(&v),
            None => out.fill(f64::NAN),
        }
    }

    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        if self.has_score {
            self.per_observation(Kind::Score, theta, y, out);
        } else {
            bayesrg_core::numdiff::gradient_into(|t| self.log_likelihood(t, y), theta, out);
        }
    }

    fn has_exact_score(&self) -> bool {
        self.has_score
    }

    fn hessian(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        if self.has_hessian {
            self.per_observation(Kind::Hessian, theta, y, out);
            return;
        }
        // The trait's numerical default, through the batched score / ll above.
        let d = theta.len();
        let h = if self.has_score {
            let jac = bayesrg_core::numdiff::jacobian(
                |t| {
                    let mut s = nalgebra::DVector::zeros(d);
                    self.score(t, y, s.as_mut_slice());
                    s
                },
                theta,
            );
            (&jac + jac.transpose()) * 0.5
        } else {
            bayesrg_core::numdiff::hessian(|t| self.log_likelihood(t, y), theta)
        };
        for i in 0..d {
            for j in 0..d {
                out[i * d + j] = h[(i, j)];
            }
        }
    }

    fn has_exact_hessian(&self) -> bool {
        self.has_hessian
    }

    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        if !self.has_fisher {
            return None;
        }
        let d = self.names.len();
        let v = self.call(
            "fisher",
            |py| PyTuple::new(py, [PyArray1::from_slice(py, theta)]),
            d * d,
            Some(d),
            &format!("shape ({d}, {d})"),
        )?;
        Some(DMatrix::from_row_slice(d, d, &v))
    }

    fn kl(&self, theta: &[f64], theta2: &[f64]) -> Option<f64> {
        if !self.has_kl {
            return None;
        }
        let v = self.call(
            "kl",
            |py| {
                PyTuple::new(
                    py,
                    [
                        PyArray1::from_slice(py, theta),
                        PyArray1::from_slice(py, theta2),
                    ],
                )
            },
            1,
            None,
            "a float",
        )?;
        Some(v[0])
    }

    fn runtime_type_name(&self) -> Option<&'static str> {
        Some(self.class)
    }
}

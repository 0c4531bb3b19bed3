//! `bayesrg._bayesrg`: the compiled half of the Python package `bayesrg`
//! (issue 14). It only converts at the edge and calls the library: every
//! number comes from `bayesrg_core` exactly as the command line computes it,
//! so a seed gives the same bits in Python, in Rust and in `bayesrg fisher`.
//!
//! Conventions at the boundary:
//! - θ is a sequence of d floats; a batch of observations is a C-contiguous
//!   `float64` array of shape (n, k) with k = `obs_dim`.
//! - Reports (validation, KL, curvature, spectra, geodesics) cross as JSON
//!   text (serde_json writes the shortest decimal that reads back to the same
//!   double, so no bit is lost; NaN and ±∞ become `null`) and the Python layer
//!   (`python/bayesrg/__init__.py`) turns them into objects with NumPy arrays.
//! - The GIL is released during Rust work; a model written in Python takes it
//!   back for each call into user code ([`pymodel`]).
//! - Errors: bad input raises `bayesrg.InputError` (a `ValueError`), a failed
//!   computation `bayesrg.ComputationError` (a `RuntimeError`), an exception in
//!   a Python model's code is re-raised as it was (with its traceback), and a
//!   Rust panic becomes a `RuntimeError` instead of aborting the interpreter.

use bayesrg_core::fisher::{self, FisherEstimate};
use bayesrg_core::geometry::{FisherMetric, curvature, distance, geodesic, sloppiness};
use bayesrg_core::kl::{self, KlOptions};
use bayesrg_core::rng::{self, Seed};
use bayesrg_core::validate::{self, Settings};
use bayesrg_core::{Error, Model};
use nalgebra::DMatrix;
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use serde_json::json;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// Adds the `#[pyfunction]`s `$f…` to the module `$m`.
macro_rules! add_functions {
    ($m:expr, $($f:ident),+ $(,)?) => {
        $($m.add_function(wrap_pyfunction!($f, $m)?)?;)+
    };
}

pub mod interrupt;
pub mod pymodel;
pub mod runners;
pub mod sweep;
use pymodel::PyModel;

create_exception!(
    bayesrg,
    InputError,
    PyValueError,
    "Bad input: a value outside its domain, of the wrong shape or not finite (the command line's exit status 2)."
);
create_exception!(
    bayesrg,
    ComputationError,
    PyRuntimeError,
    "A computation that failed: a solver that did not converge, a NaN that arose (the command line's exit status 1)."
);

/// A panic caught at the boundary as a `RuntimeError` (never an abort of the
/// interpreter); the unwind of a stopped computation as `KeyboardInterrupt`.
pub(crate) fn panic_error(panic: Box<dyn std::any::Any + Send>) -> PyErr {
    if bayesrg_core::observe::is_stopped(panic.as_ref()) {
        return interrupt::stopped();
    }
    let msg = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    PyRuntimeError::new_err(format!(
        "internal error (a panic in the Rust library, please report it): {msg}"
    ))
}

/// A library error as a Python exception (a computation a stop request
/// ended as `KeyboardInterrupt`).
fn core_err(e: Error) -> PyErr {
    if matches!(e, Error::Cancelled) {
        interrupt::stopped()
    } else if e.is_bad_input() {
        InputError::new_err(e.to_string())
    } else {
        ComputationError::new_err(e.to_string())
    }
}

enum Inner {
    Builtin(Box<dyn Model>),
    Python(Arc<PyModel>),
}

/// A statistical model p(y | θ): a built-in family (`Model.from_json`) or an
/// object written in Python (`Model.from_python`).
#[pyclass(name = "Model", module = "bayesrg._bayesrg", frozen)]
pub struct PyBayesModel {
    inner: Inner,
}

impl PyBayesModel {
    fn model(&self) -> &dyn Model {
        match &self.inner {
            Inner::Builtin(m) => m.as_ref(),
            Inner::Python(m) => m.as_ref(),
        }
    }

    fn python(&self) -> Option<&PyModel> {
        match &self.inner {
            Inner::Builtin(_) => None,
            Inner::Python(m) => Some(m),
        }
    }

    /// Runs `f` on the model without the GIL, stopped by Ctrl-C
    /// ([`interrupt::run`]), and turns its outcome into a Python result
    /// ([`Self::outcome`]).
    pub(crate) fn run<T, F>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(&dyn Model) -> bayesrg_core::Result<T> + Send,
    {
        let model = self.start();
        let r = interrupt::run(py, || f(model));
        self.outcome(r)
    }

    /// [`Self::run`] for a quick call (θ's check, a closed form): on this
    /// thread, without the GIL, not interruptible.
    fn run_quick<T, F>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(&dyn Model) -> bayesrg_core::Result<T> + Send,
    {
        let model = self.start();
        let r = py.detach(|| std::panic::catch_unwind(AssertUnwindSafe(|| f(model))));
        self.outcome(Ok(r))
    }

    /// Starts a computation: a Python model's batches and kept exception of
    /// earlier ones are retired.
    fn start(&self) -> &dyn Model {
        pymodel::next_generation();
        if let Some(p) = self.python() {
            p.take_error();
        }
        self.model()
    }

    /// A computation's outcome as a Python result: a `KeyboardInterrupt`
    /// first, then the user's exception (it caused whatever followed), then a
    /// library error, then a panic.
    fn outcome<T>(&self, r: PyResult<std::thread::Result<bayesrg_core::Result<T>>>) -> PyResult<T> {
        let user = self.python().and_then(|p| p.take_error());
        let r = r?;
        if let Some(e) = user {
            return Err(e);
        }
        match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(core_err(e)),
            Err(panic) => Err(panic_error(panic)),
        }
    }

    /// A per-observation quantity of `width` values for every row of `y`:
    /// checks θ and the shape of y, then runs `f(model, ys, out)` without the
    /// GIL on the rows (row-major) into `out` (n × width). Returns n and `out`.
    fn per_rows<F>(
        &self,
        py: Python<'_>,
        theta: &[f64],
        y: &Bound<'_, PyAny>,
        width: usize,
        f: F,
    ) -> PyResult<(usize, Vec<f64>)>
    where
        F: FnOnce(&dyn Model, &[f64], &mut [f64]) + Send,
    {
        self.check(py, theta)?;
        let y = observations(py, y)?.readonly();
        let ys = self.rows(&y)?.to_vec();
        let n = ys.len() / self.model().obs_dim();
        let v = self.run(py, |m| {
            let mut out = vec![0.0; n * width];
            f(m, &ys, &mut out);
            Ok(out)
        })?;
        Ok((n, v))
    }

    fn check(&self, py: Python<'_>, theta: &[f64]) -> PyResult<()> {
        self.run_quick(py, |m| m.check_params(theta).map_err(Error::from))
    }

    /// Observations as a flat row-major slice, checking k = obs_dim.
    fn rows<'a>(&self, y: &'a PyReadonlyArray2<'_, f64>) -> PyResult<&'a [f64]> {
        let k = self.model().obs_dim();
        let shape = y.shape();
        if shape[1] != k {
            return Err(InputError::new_err(format!(
                "y has shape ({}, {}); this model's observations have {k} value(s) each: shape (n, {k})",
                shape[0], shape[1]
            )));
        }
        y.as_slice()
            .map_err(|_| InputError::new_err("y must be a C-contiguous float64 array"))
    }
}

/// Observations `y` as a C-contiguous float64 array of shape (n, k): any
/// array-like NumPy reads as numbers (float32, integers, lists), a 1-D one as
/// (n, 1) (tryout 5 D10: float32 was refused here and accepted everywhere else).
fn observations<'py>(
    py: Python<'py>,
    y: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let np = py.import("numpy")?;
    let a = np
        .getattr("ascontiguousarray")?
        .call1((y, np.getattr("float64")?))
        .map_err(|e| {
            let err = InputError::new_err(format!("`y` cannot be read as float64 numbers: {e}"));
            err.set_cause(py, Some(e));
            err
        })?;
    let ndim: usize = a.getattr("ndim")?.extract()?;
    let a = match ndim {
        1 => a.call_method1("reshape", ((-1i64, 1i64),))?,
        2 => a,
        _ => {
            let shape = a.getattr("shape")?;
            return Err(InputError::new_err(format!(
                "`y` has shape {shape}; observations have shape (n, k) (or (n,) when k = 1)"
            )));
        }
    };
    Ok(a.cast_into::<PyArray2<f64>>()?)
}

/// A Python int argument `name` as u64; `InputError` naming it when it is
/// negative or 2⁶⁴ or more (not a bare `OverflowError`, tryout 5 D10).
pub(crate) fn unsigned(name: &str, v: &Bound<'_, PyAny>) -> PyResult<u64> {
    if let Ok(u) = v.extract::<u64>() {
        return Ok(u);
    }
    match v.extract::<i128>() {
        Ok(i) if i < 0 => Err(InputError::new_err(format!("`{name}` = {i} must be >= 0"))),
        Ok(i) => Err(InputError::new_err(format!(
            "`{name}` = {i} must be < 2**64"
        ))),
        Err(_) if v.is_instance_of::<pyo3::types::PyInt>() => Err(InputError::new_err(format!(
            "`{name}` = {v} must be < 2**64"
        ))),
        Err(e) => Err(e),
    }
}

fn matrix_rows(m: &DMatrix<f64>) -> Vec<Vec<f64>> {
    validate::rows(m)
}

fn array2<'py>(
    py: Python<'py>,
    n: usize,
    m: usize,
    v: Vec<f64>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    PyArray1::from_vec(py, v).reshape([n, m])
}

#[pymethods]
impl PyBayesModel {
    /// A built-in model from its JSON description, e.g.
    /// `{"type": "normal"}` or `{"type": "mvn_mean", "dim": 3}`.
    ///
    /// Raises `InputError` for an unknown type or a field it does not take.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        bayesrg::ensure_linked();
        /// The description under the key `model`, so that an error names the
        /// key path the user wrote (`model.classes`), not a position in
        /// this JSON text (tryout 7 F19).
        #[derive(serde::Deserialize)]
        struct Described {
            model: Box<dyn Model>,
        }
        let value = json_value(text, "model")?;
        let m = bayesrg::tasks::parse::<Described>(&json!({ "model": value }))
            .map_err(|e| {
                InputError::new_err(format!(
                    "{e} (known model types: {})",
                    bayesrg_core::registry::model_tags().join(", ")
                ))
            })?
            .model;
        Ok(PyBayesModel {
            inner: Inner::Builtin(m),
        })
    }

    /// Wraps a Python object following the model protocol (see
    /// `bayesrg.PythonModel`). Raises `TypeError` when it does not.
    #[staticmethod]
    fn from_python(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyBayesModel {
            inner: Inner::Python(Arc::new(PyModel::new(obj)?)),
        })
    }

    /// The wrapped Python object (None for a built-in model).
    #[getter]
    fn python_object(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.python().map(|p| p.object().clone_ref(py))
    }

    /// The model's JSON description (built-in models).
    fn to_json(&self) -> PyResult<String> {
        match &self.inner {
            Inner::Builtin(m) => {
                serde_json::to_string(m).map_err(|e| PyRuntimeError::new_err(e.to_string()))
            }
            Inner::Python(_) => Err(InputError::new_err(
                "a model written in Python has no JSON description",
            )),
        }
    }

    /// The registered type name (`normal`, …; `python/ClassName` for a Python model).
    #[getter]
    fn type_name(&self) -> &'static str {
        bayesrg_core::model::type_name(self.model())
    }

    /// Names of the parameters θ₁…θ_d.
    #[getter]
    fn param_names(&self) -> Vec<String> {
        self.model().param_names()
    }

    /// The dimension d of the parameter space.
    #[getter]
    fn dim(&self) -> usize {
        self.model().dim()
    }

    /// The number k of values in one observation.
    #[getter]
    fn obs_dim(&self) -> usize {
        self.model().obs_dim()
    }

    /// Raises `InputError` naming the parameter when θ is outside the parameter space.
    fn check_params(&self, py: Python<'_>, theta: Vec<f64>) -> PyResult<()> {
        self.check(py, &theta)
    }

    /// ln p(yᵢ | θ) for each row yᵢ of y (shape (n, k), or (n,) when k = 1;
    /// any dtype NumPy reads as float64) → shape (n,); one vectorised call
    /// for a model written in Python.
    fn log_likelihood<'py>(
        &self,
        py: Python<'py>,
        theta: Vec<f64>,
        y: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let (_, v) = self.per_rows(py, &theta, y, 1, |m, ys, out| {
            m.log_likelihood_rows(&theta, ys, out)
        })?;
        Ok(PyArray1::from_vec(py, v))
    }

    /// The score ∂ ln p(yᵢ | θ)/∂θ (eq. 28) of each row of y (as for
    /// `log_likelihood`) → shape (n, d).
    fn score<'py>(
        &self,
        py: Python<'py>,
        theta: Vec<f64>,
        y: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let d = theta.len();
        let k = self.model().obs_dim();
        let (n, v) = self.per_rows(py, &theta, y, d, |m, ys, out| {
            for (r, o) in ys.chunks_exact(k).zip(out.chunks_exact_mut(d)) {
                m.score(&theta, r, o);
            }
        })?;
        array2(py, n, d, v)
    }

    /// n draws y ~ p(· | θ) → shape (n, k), seeded: chunk c of 1024 draws uses
    /// stream c of `seed`, as every Monte Carlo loop of the library does.
    fn sample<'py>(
        &self,
        py: Python<'py>,
        theta: Vec<f64>,
        n: &Bound<'py, PyAny>,
        seed: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let n = usize::try_from(unsigned("n", n)?)
            .map_err(|_| InputError::new_err("`n` does not fit this machine's memory"))?;
        let seed = unsigned("seed", seed)?;
        self.check(py, &theta)?;
        let k = self.model().obs_dim();
        // The draws and their concatenation, before any is made (tryout 5
        // B2: `sample(θ, 10**10)` grew toward the machine's memory).
        bayesrg_core::budget::check_memory("n", 2.0 * n as f64 * k.max(1) as f64 * 8.0)
            .map_err(core_err)?;
        let v = self.run(py, |m| {
            let parts = rng::par_chunks(n, seed, |_, range, r| {
                let mut ys = vec![0.0; range.len() * k];
                m.sample_batch(&theta, r, &mut ys);
                ys
            });
            Ok(parts.concat())
        })?;
        array2(py, n, k, v)
    }

    /// The closed-form Fisher metric I(θ) (eq. 29), shape (d, d), or None.
    fn fisher_closed_form<'py>(
        &self,
        py: Python<'py>,
        theta: Vec<f64>,
    ) -> PyResult<Option<Bound<'py, PyArray2<f64>>>> {
        self.check(py, &theta)?;
        let d = theta.len();
        let m = self.run_quick(py, |m| Ok(m.fisher(&theta)))?;
        m.map(|m| array2(py, d, d, matrix_rows(&m).concat()))
            .transpose()
    }

    /// The closed-form KL(θ ‖ θ′) (eq. 30), or None.
    fn kl_closed_form(
        &self,
        py: Python<'_>,
        theta: Vec<f64>,
        theta2: Vec<f64>,
    ) -> PyResult<Option<f64>> {
        self.check(py, &theta)?;
        self.check(py, &theta2)?;
        self.run_quick(py, |m| Ok(m.kl(&theta, &theta2)))
    }

    fn __repr__(&self) -> String {
        match &self.inner {
            Inner::Builtin(m) => format!(
                "bayesrg.Model({})",
                serde_json::to_string(m).unwrap_or_default()
            ),
            Inner::Python(p) => format!("bayesrg.Model(python: {p:?})"),
        }
    }
}

fn estimate_json(e: &FisherEstimate) -> serde_json::Value {
    json!({
        "method": e.method,
        "matrix": matrix_rows(&e.matrix),
        "std_err": e.std_err.as_ref().map(matrix_rows),
        "samples": e.samples,
        "biased": e.biased,
        "enumerated": e.enumerated,
        "effective_samples": e.effective_samples.as_ref().map(matrix_rows),
    })
}

/// JSON text made by the Python side (`json.dumps` of the user's dict) as a
/// value, for [`bayesrg::tasks::parse`], whose errors name key paths;
/// `what` names the argument when the text is not JSON.
pub(crate) fn json_value(text: &str, what: &str) -> PyResult<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| InputError::new_err(format!("`{what}` is not valid JSON: {e}")))
}

fn to_json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// The Fisher metric I(θ) (eq. 29) by one estimator, as JSON: `method`,
/// `matrix` (d rows), `std_err`, `samples`, `biased`, `enumerated`,
/// `effective_samples`. `method`: closed_form, score_outer, neg_hessian,
/// kl_hessian, jacobian, empirical (needs `data`, shape (n, k)).
#[pyfunction]
#[pyo3(signature = (model, theta, method, samples, seed, data=None))]
fn fisher_estimate(
    py: Python<'_>,
    model: &PyBayesModel,
    theta: Vec<f64>,
    method: &str,
    samples: usize,
    seed: u64,
    data: Option<PyReadonlyArray2<'_, f64>>,
) -> PyResult<String> {
    let data: Option<Vec<Vec<f64>>> = match &data {
        Some(y) => Some(
            model
                .rows(y)?
                .chunks_exact(model.model().obs_dim())
                .map(|r| r.to_vec())
                .collect(),
        ),
        None => None,
    };
    let method = method.to_string();
    let e = model.run(py, |m| match method.as_str() {
        "closed_form" => fisher::closed_form(m, &theta),
        "score_outer" => fisher::score_outer(m, &theta, samples, seed),
        "neg_hessian" => fisher::neg_hessian(m, &theta, samples, seed),
        "kl_hessian" => fisher::kl_hessian(m, &theta),
        "jacobian" => fisher::jacobian_form(m, &theta),
        "empirical" => match &data {
            Some(d) => fisher::empirical(m, &theta, d),
            None => Err(Error::setting("data", "the empirical Fisher needs data")),
        },
        other => Err(Error::setting(
            "method",
            format!(
                "unknown estimator `{other}`; known: closed_form, score_outer, neg_hessian, \
                 kl_hessian, jacobian, empirical"
            ),
        )),
    })?;
    to_json(&estimate_json(&e))
}

/// The Fisher validator (`bayesrg fisher`): the report as JSON, the same
/// document `bayesrg fisher --json` prints for the same model, θ, samples and seed.
#[pyfunction]
#[pyo3(signature = (model, theta, samples, seed, claimed=None))]
fn validate_json(
    py: Python<'_>,
    model: &PyBayesModel,
    theta: Vec<f64>,
    samples: usize,
    seed: u64,
    claimed: Option<Vec<Vec<f64>>>,
) -> PyResult<String> {
    let settings = Settings {
        samples,
        seed: Seed::new(seed),
        claimed,
    };
    let r = model.run(py, |m| validate::validate(m, &theta, &settings))?;
    to_json(&r)
}

/// KL(θ ‖ θ′) (eqs. 30–31): closed form, exact sum, Monte Carlo with its
/// standard error, and the quadratic form ½ΔθᵀIΔθ; JSON.
#[pyfunction]
fn kl_json(
    py: Python<'_>,
    model: &PyBayesModel,
    theta: Vec<f64>,
    theta_prime: Vec<f64>,
    samples: usize,
    seed: u64,
) -> PyResult<String> {
    let opt = KlOptions {
        samples,
        seed: Seed::new(seed),
    };
    let r = model.run(py, |m| kl::divergence(m, &theta, &theta_prime, &opt))?;
    to_json(&r)
}

/// How the geometry functions compute the Fisher metric I(θ) (eq. 29): a
/// Python tuple `(samples, seed)`. The metric is the closed form when the model
/// has one, else [`fisher::best`] with `samples` draws of `seed` (common random
/// numbers), as [`fisher::FisherOptions`] says.
#[derive(FromPyObject)]
struct FisherArg(usize, u64);

impl FisherArg {
    fn options(&self) -> fisher::FisherOptions {
        fisher::FisherOptions {
            samples: self.0,
            seed: Seed::new(self.1),
        }
    }

    fn metric<'m>(&self, m: &'m dyn Model) -> FisherMetric<'m> {
        let o = self.options();
        FisherMetric {
            samples: o.samples,
            seed: o.seed,
            ..FisherMetric::new(m)
        }
    }
}

fn geodesic_json(g: &geodesic::Geodesic) -> serde_json::Value {
    json!({
        "t": g.t,
        "points": g.points,
        "velocities": g.velocities,
        "length": g.length,
        "speed_drift": g.speed_drift,
    })
}

/// The Fisher–Rao distance from θ₁ to θ₂ and the geodesic joining them; JSON.
/// The metric: [`FisherArg`].
#[pyfunction]
fn distance_json(
    py: Python<'_>,
    model: &PyBayesModel,
    theta1: Vec<f64>,
    theta2: Vec<f64>,
    fisher: FisherArg,
) -> PyResult<String> {
    let shot = model.run(py, |m| {
        distance::distance(
            &fisher.metric(m),
            &theta1,
            &theta2,
            &distance::ShootOptions::default(),
        )
    })?;
    to_json(&json!({
        "distance": shot.distance,
        "velocity": shot.velocity,
        "residual": shot.residual,
        "iterations": shot.iterations,
        "method": shot.method,
        "attempts": shot.attempts,
        "geodesic": geodesic_json(&shot.geodesic),
    }))
}

/// The geodesic θ(t), t ∈ [0, 1], from θ with initial velocity v (the
/// exponential map); JSON.
#[pyfunction]
fn geodesic_json_fn(
    py: Python<'_>,
    model: &PyBayesModel,
    theta: Vec<f64>,
    velocity: Vec<f64>,
    fisher: FisherArg,
) -> PyResult<String> {
    let g = model.run(py, |m| {
        geodesic::exp_map(
            &fisher.metric(m),
            &theta,
            &velocity,
            &geodesic::default_options(),
        )
    })?;
    to_json(&geodesic_json(&g))
}

/// Scalar, Ricci, sectional and (d = 2) Gaussian curvature of the Fisher
/// metric at θ; JSON.
#[pyfunction]
fn curvature_json(
    py: Python<'_>,
    model: &PyBayesModel,
    theta: Vec<f64>,
    fisher: FisherArg,
) -> PyResult<String> {
    to_json(&model.run(py, |m| curvature::curvature(&fisher.metric(m), &theta))?)
}

/// The sloppiness spectrum of I(θ) (eigenvalues with error bounds, decades,
/// participation); JSON.
#[pyfunction]
fn spectrum_json(
    py: Python<'_>,
    model: &PyBayesModel,
    theta: Vec<f64>,
    fisher: FisherArg,
) -> PyResult<String> {
    let r = model.run(py, |m| {
        m.check_params(&theta)?;
        let i = fisher.options().best(m, &theta)?;
        let s = sloppiness::fisher_spectrum(m, &theta, &i)?;
        Ok(sloppiness::from_spectrum(&s, &m.param_names()))
    })?;
    to_json(&r)
}

/// The type tags of every built-in model.
#[pyfunction]
fn model_types() -> Vec<&'static str> {
    bayesrg::ensure_linked();
    bayesrg_core::registry::model_tags()
}

/// The compiled module.
#[pymodule]
fn _bayesrg(m: &Bound<'_, PyModule>) -> PyResult<()> {
    bayesrg::ensure_linked();
    m.add_class::<PyBayesModel>()?;
    m.add("InputError", m.py().get_type::<InputError>())?;
    m.add("ComputationError", m.py().get_type::<ComputationError>())?;
    add_functions!(
        m,
        fisher_estimate,
        validate_json,
        kl_json,
        distance_json,
        geodesic_json_fn,
        curvature_json,
        spectrum_json,
        model_types,
    );
    sweep::register(m)?;
    runners::register(m)?;
    m.add("DEFAULT_SAMPLES", validate::DEFAULT_SAMPLES)?;
    m.add("DEFAULT_SEED", validate::DEFAULT_SEED.value())?;
    Ok(())
}

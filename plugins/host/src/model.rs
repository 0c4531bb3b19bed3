//! [`PluginModel`]: a plugin's model as a [`Model`].
//!
//! Every call goes through one path ([`PluginModel::call`]): the supervisor's
//! breadcrumb is set on entry and cleared on return, the plugin writes into
//! host buffers followed by a red zone of canary values (a write past the end
//! is a fault, not silent heap corruption), the status is read, and the result
//! is checked (a NaN or `+inf` log-likelihood, a non-finite sample, score or
//! Fisher entry, a NaN KL are faults that name the function and the inputs).
//! Faults of functions without an error channel go to the host's
//! [`FaultPolicy`](crate::FaultPolicy).

use crate::error::PluginError;
use crate::fault::{FaultKind, Function, PluginFault};
use crate::host::PluginModelType;
use crate::supervisor;
use bayesrg_core::model::{Model, check_len};
use bayesrg_core::{ParamError, numdiff};
use bayesrg_plugin_api as api;
use nalgebra::DMatrix;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_void};
use std::sync::Arc;

/// The largest number of parameters a plugin model may declare: a d × d
/// Fisher matrix of 4096² doubles is 128 MiB.
pub const MAX_DIM: usize = 4096;
/// The largest observation length a plugin model may declare.
pub const MAX_OBS_DIM: usize = 1 << 20;

/// The size of the error buffer passed to every call, in bytes.
const ERR_CAP: usize = 1024;
/// The size of a parameter-name buffer, in bytes.
const NAME_CAP: usize = 256;
/// Canary values after every output buffer.
const RED_ZONE: usize = 8;
/// The canary: a quiet NaN with a payload no arithmetic produces.
const CANARY: u64 = 0x7FF8_BAD0_CAFE_F00D;
/// The byte canary after the error and name buffers.
const CANARY_BYTE: u8 = 0xA5;

thread_local! {
    /// Reused host buffers: outputs (with their red zone) and the error text.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

#[derive(Default)]
struct Scratch {
    out: Vec<f64>,
    err: Vec<u8>,
}

/// What one call wrote: whether the red zones are intact, and the message.
struct Written {
    status: api::Status,
    overrun: Option<(&'static str, usize, &'static str)>,
    message: String,
}

/// A model provided by a run-time plugin: an instance made by the plugin's
/// `create` from JSON parameters. It implements [`Model`], so it works wherever
/// a built-in model does; it is (de)serialised as
/// `{type = "plugin", tag = "…", params = {…}}`.
pub struct PluginModel {
    ty: Arc<PluginModelType>,
    params: serde_json::Value,
    inst: *mut c_void,
    names: Vec<String>,
    obs_dim: usize,
}

// SAFETY: the ABI requires instances to be immutable after `create` and their
// functions to be callable from several threads at once.
unsafe impl Send for PluginModel {}
// SAFETY: as above.
unsafe impl Sync for PluginModel {}

impl std::fmt::Debug for PluginModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginModel")
            .field("tag", &self.ty.tag)
            .field("params", &self.params)
            .finish()
    }
}

impl Drop for PluginModel {
    fn drop(&mut self) {
        let _in = supervisor::enter(self.ty.site_id, Function::Destroy);
        // SAFETY: `inst` came from this entry's `create`; whoever allocates frees.
        unsafe { (self.ty.vt.destroy)(self.inst) }
    }
}

/// `[1, 2.5]`, at most eight entries shown.
fn show(v: &[f64]) -> String {
    let mut s: Vec<String> = v.iter().take(8).map(|x| format!("{x}")).collect();
    if v.len() > 8 {
        s.push(format!("… ({} in all)", v.len()));
    }
    format!("[{}]", s.join(", "))
}

/// Runs one plugin call with host buffers: an output of `out_len` values (plus
/// a red zone) and the error buffer (plus a red zone), under the breadcrumb.
/// `body` gets (output pointer, error pointer, error capacity); `take` reads
/// the output before the buffers are reused.
fn raw_call(
    ty: &PluginModelType,
    function: Function,
    out_len: usize,
    body: impl FnOnce(*mut f64, *mut c_char, usize) -> api::Status,
    take: impl FnOnce(&[f64]),
) -> Written {
    SCRATCH.with(|s| {
        // A nested call (none today) would find the scratch borrowed: it gets
        // fresh buffers instead.
        let mut fresh = Scratch::default();
        let mut guard = s.try_borrow_mut().ok();
        let sc: &mut Scratch = guard.as_deref_mut().unwrap_or(&mut fresh);
        if sc.err.len() != ERR_CAP + RED_ZONE {
            sc.err = vec![0; ERR_CAP + RED_ZONE];
            sc.err[ERR_CAP..].fill(CANARY_BYTE);
        }
        sc.out.clear();
        sc.out.resize(out_len, f64::NAN);
        sc.out.extend([f64::from_bits(CANARY); RED_ZONE]);
        let status = {
            let _in = supervisor::enter(ty.site_id, function);
            body(
                sc.out.as_mut_ptr(),
                sc.err.as_mut_ptr().cast::<c_char>(),
                ERR_CAP,
            )
        };
        let mut overrun = None;
        if sc.out[out_len..].iter().any(|v| v.to_bits() != CANARY) {
            overrun = Some(("output buffer", out_len, "value"));
        }
        if sc.err[ERR_CAP..].iter().any(|&b| b != CANARY_BYTE) {
            overrun = Some(("error buffer", ERR_CAP, "byte"));
            sc.err[ERR_CAP..].fill(CANARY_BYTE);
        }
        let mut message = String::new();
        if status != api::STATUS_OK {
            sc.err[ERR_CAP - 1] = 0;
            message = CStr::from_bytes_until_nul(&sc.err[..ERR_CAP])
                .map(|c| c.to_string_lossy().into_owned())
                .unwrap_or_default();
            sc.err[..ERR_CAP].fill(0);
            if message.is_empty() {
                message = "(no message)".into();
            }
        }
        take(&sc.out[..out_len]);
        Written {
            status,
            overrun,
            message,
        }
    })
}

impl PluginModel {
    /// Creates an instance of `ty` from JSON parameters: `create`, then the
    /// sizes and parameter names, each checked.
    pub(crate) fn create(
        ty: Arc<PluginModelType>,
        params: serde_json::Value,
    ) -> Result<Self, PluginError> {
        let text = CString::new(params.to_string())
            .map_err(|_| PluginError::NulInParams(ty.tag.to_string()))?;
        let mut inst_bits = 0u64;
        let w = raw_call(
            &ty,
            Function::Create,
            1,
            |out, e, c| {
                // `create` writes a pointer; it gets the first output slot,
                // null until written.
                // SAFETY: the slot holds 8 bytes, at least a pointer.
                unsafe {
                    out.cast::<*mut c_void>().write(std::ptr::null_mut());
                    (ty.vt.create)(text.as_ptr(), out.cast::<*mut c_void>(), e, c)
                }
            },
            |o| inst_bits = o[0].to_bits(),
        );
        let fault = |function, kind| {
            PluginError::Fault(PluginFault {
                site: ty.site.clone(),
                function,
                kind,
            })
        };
        Self::status_result(&w, Function::Create).map_err(|k| fault(Function::Create, k))?;
        let inst = inst_bits as usize as *mut c_void;
        if inst.is_null() {
            return Err(fault(Function::Create, FaultKind::NullInstance));
        }
        let mut m = PluginModel {
            ty: ty.clone(),
            params,
            inst,
            names: Vec::new(),
            obs_dim: 0,
        };
        let d = m.size(Function::Dim)?;
        let od = m.size(Function::ObsDim)?;
        let bad = |why: String| fault(Function::Dim, FaultKind::BadSizes(why));
        if d == 0 {
            return Err(bad(
                "declares 0 parameters (a model needs at least one)".into()
            ));
        }
        if d > MAX_DIM || od > MAX_OBS_DIM {
            return Err(bad(format!(
                "declares implausible sizes dim = {d}, obs_dim = {od} (at most {MAX_DIM} \
                 parameters and {MAX_OBS_DIM} values per observation)"
            )));
        }
        if od == 0 {
            return Err(fault(
                Function::ObsDim,
                FaultKind::BadSizes("declares observations of length 0".into()),
            ));
        }
        for i in 0..d {
            let name = m.param_name(i)?;
            m.names.push(name);
        }
        m.obs_dim = od;
        if !ty.example_theta.is_empty()
            && ty.example_theta.len() != d
            && ty.example_params == m.params
        {
            return Err(bad(format!(
                "declares dim = {d}, but its example θ has {} entries",
                ty.example_theta.len()
            )));
        }
        Ok(m)
    }

    /// The status of a call as a fault kind (`Err`) when it is not OK. The
    /// Rust guest's "FUNCTION panicked at …" reads "panicked … at …" here.
    fn status_result(w: &Written, function: Function) -> Result<(), FaultKind> {
        if let Some((buffer, len, unit)) = w.overrun {
            return Err(FaultKind::Overrun { buffer, len, unit });
        }
        match w.status {
            api::STATUS_OK => Ok(()),
            api::STATUS_ERROR => Err(FaultKind::Error(w.message.clone())),
            api::STATUS_PANIC => {
                let prefix = format!("{} panicked ", function.name());
                let msg = w.message.strip_prefix(&prefix).unwrap_or(&w.message);
                Err(FaultKind::Panic(msg.to_string()))
            }
            code => Err(FaultKind::UnknownStatus {
                code,
                message: w.message.clone(),
            }),
        }
    }

    fn fault(&self, function: Function, kind: FaultKind) -> PluginFault {
        PluginFault {
            site: self.ty.site.clone(),
            function,
            kind,
        }
    }

    fn size(&self, function: Function) -> Result<usize, PluginError> {
        let f = match function {
            Function::Dim => self.ty.vt.dim,
            _ => self.ty.vt.obs_dim,
        };
        let mut v = 0usize;
        let w = raw_call(
            &self.ty,
            function,
            1,
            // SAFETY: the first output slot holds 8 bytes, at least a usize.
            |out, e, c| unsafe {
                out.cast::<usize>().write(0);
                f(self.inst, out.cast::<usize>(), e, c)
            },
            |o| v = o[0].to_bits() as usize,
        );
        Self::status_result(&w, function).map_err(|k| self.fault(function, k))?;
        Ok(v)
    }

    fn param_name(&self, i: usize) -> Result<String, PluginError> {
        // The name is written as bytes into the output slots (NAME_CAP bytes,
        // then the red zone).
        let slots = NAME_CAP / 8;
        let mut name = String::new();
        let w = raw_call(
            &self.ty,
            Function::ParamName,
            slots,
            |out, e, c| {
                // SAFETY: `slots` doubles are NAME_CAP bytes; zero them first so
                // a name without a NUL is cut at the buffer's end.
                unsafe {
                    std::ptr::write_bytes(out.cast::<u8>(), 0, NAME_CAP);
                    (self.ty.vt.param_name)(self.inst, i, out.cast::<c_char>(), NAME_CAP - 1, e, c)
                }
            },
            |o| {
                let bytes: Vec<u8> = o.iter().flat_map(|v| v.to_bits().to_ne_bytes()).collect();
                let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                name = String::from_utf8_lossy(&bytes[..end]).into_owned();
            },
        );
        Self::status_result(&w, Function::ParamName)
            .map_err(|k| self.fault(Function::ParamName, k))?;
        Ok(name)
    }

    /// The plugin model type of this instance.
    pub fn model_type(&self) -> &PluginModelType {
        &self.ty
    }

    /// The namespaced tag `plugin-name/model-name`.
    pub fn tag(&self) -> &'static str {
        self.ty.tag
    }

    /// Runs a call without an error channel: a failing status goes to the
    /// host's fault policy, and `false` tells the caller to return its NaN.
    fn call(
        &self,
        function: Function,
        out_len: usize,
        body: impl FnOnce(*mut f64, *mut c_char, usize) -> api::Status,
        take: impl FnOnce(&[f64]),
    ) -> bool {
        let w = raw_call(&self.ty, function, out_len, body, take);
        match Self::status_result(&w, function) {
            Ok(()) => true,
            Err(k) => {
                self.report(function, k);
                false
            }
        }
    }

    /// Hands a fault to the host's policy (under `Exit` this does not return).
    fn report(&self, function: Function, kind: FaultKind) {
        self.ty.faults.report(self.fault(function, kind));
    }

    /// Reports a result that is not a number; `false` when it was reported.
    fn finite_or_report(
        &self,
        function: Function,
        bad: bool,
        kind: impl FnOnce() -> FaultKind,
    ) -> bool {
        if bad {
            self.report(function, kind());
        }
        !bad
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    tag: String,
    #[serde(default = "empty_object")]
    params: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::json!({})
}

impl Serialize for PluginModel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            tag: self.ty.tag.to_string(),
            params: self.params.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for PluginModel {
    /// Creates the model through the installed catalogue
    /// ([`crate::PluginHost::install`]).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        crate::installed()
            .create(&w.tag, w.params)
            .map_err(serde::de::Error::custom)
    }
}

#[typetag::serde(name = "plugin")]
impl Model for PluginModel {
    fn param_names(&self) -> Vec<String> {
        self.names.clone()
    }

    fn dim(&self) -> usize {
        self.names.len()
    }

    fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    /// The length and finiteness of θ, then the plugin's own check. A
    /// rejection (`STATUS_ERROR`) is a [`ParamError`] with the plugin's
    /// message; a panic or a write past a buffer is a fault.
    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)?;
        let w = raw_call(
            &self.ty,
            Function::CheckParams,
            0,
            // SAFETY: θ has d entries (checked above); buffers are the host's.
            |_, e, c| unsafe {
                (self.ty.vt.check_params)(self.inst, theta.as_ptr(), theta.len(), e, c)
            },
            |_| {},
        );
        match Self::status_result(&w, Function::CheckParams) {
            Ok(()) => Ok(()),
            Err(FaultKind::Error(msg)) => Err(ParamError::Other(msg)),
            Err(k) => {
                let msg = self.fault(Function::CheckParams, k.clone()).to_string();
                self.report(Function::CheckParams, k);
                Err(ParamError::Other(msg))
            }
        }
    }

    fn sample(&self, theta: &[f64], rng: &mut dyn rand::Rng, out: &mut [f64]) {
        let seed = rng.next_u64();
        let m = out.len();
        let ok = self.call(
            Function::Sample,
            m,
            // SAFETY: the output holds m values and a red zone.
            |o, e, c| unsafe {
                (self.ty.vt.sample)(self.inst, theta.as_ptr(), theta.len(), seed, o, m, e, c)
            },
            |o| out.copy_from_slice(o),
        ) && self.finite_or_report(
            Function::Sample,
            out.iter().any(|v| !v.is_finite()),
            || FaultKind::NotFinite {
                value: format!("the sample {}", show(out)),
                inputs: format!("θ = {}, seed = {seed}", show(theta)),
            },
        );
        if !ok {
            out.fill(f64::NAN);
        }
    }

    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        let mut v = f64::NAN;
        let ok = self.call(
            Function::LogLikelihood,
            1,
            // SAFETY: one output value and a red zone.
            |o, e, c| unsafe {
                (self.ty.vt.log_likelihood)(
                    self.inst,
                    theta.as_ptr(),
                    theta.len(),
                    y.as_ptr(),
                    y.len(),
                    o,
                    e,
                    c,
                )
            },
            |o| v = o[0],
        ) && self.finite_or_report(
            Function::LogLikelihood,
            v.is_nan() || v == f64::INFINITY,
            || FaultKind::NotFinite {
                value: format!("{v}"),
                inputs: format!("θ = {}, y = {}", show(theta), show(y)),
            },
        );
        if ok { v } else { f64::NAN }
    }

    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        let Some(f) = self.ty.vt.score else {
            return numdiff::gradient_into(|t| self.log_likelihood(t, y), theta, out);
        };
        let d = out.len();
        let ok =
            self.call(
                Function::Score,
                d,
                // SAFETY: d output values and a red zone.
                |o, e, c| unsafe {
                    f(
                        self.inst,
                        theta.as_ptr(),
                        theta.len(),
                        y.as_ptr(),
                        y.len(),
                        o,
                        e,
                        c,
                    )
                },
                |o| out.copy_from_slice(o),
            ) && self.finite_or_report(Function::Score, out.iter().any(|v| !v.is_finite()), || {
                FaultKind::NotFinite {
                    value: format!("the score {}", show(out)),
                    inputs: format!("θ = {}, y = {}", show(theta), show(y)),
                }
            });
        if !ok {
            out.fill(f64::NAN);
        }
    }

    fn has_exact_score(&self) -> bool {
        self.ty.vt.score.is_some()
    }

    fn runtime_type_name(&self) -> Option<&'static str> {
        Some(self.ty.tag)
    }

    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        let f = self.ty.vt.fisher?;
        let d = theta.len();
        let mut m = vec![f64::NAN; d * d];
        let ok =
            self.call(
                Function::Fisher,
                d * d,
                // SAFETY: d² output values and a red zone.
                |o, e, c| unsafe { f(self.inst, theta.as_ptr(), d, o, e, c) },
                |o| m.copy_from_slice(o),
            ) && self.finite_or_report(Function::Fisher, m.iter().any(|v| !v.is_finite()), || {
                FaultKind::NotFinite {
                    value: format!("the matrix {}", show(&m)),
                    inputs: format!("θ = {}", show(theta)),
                }
            });
        ok.then(|| DMatrix::from_row_slice(d, d, &m))
    }

    fn kl(&self, theta: &[f64], theta2: &[f64]) -> Option<f64> {
        let f = self.ty.vt.kl?;
        if theta2.len() != theta.len() {
            return None;
        }
        let mut v = f64::NAN;
        let ok = self.call(
            Function::Kl,
            1,
            // SAFETY: one output value and a red zone.
            |o, e, c| unsafe {
                f(
                    self.inst,
                    theta.as_ptr(),
                    theta2.as_ptr(),
                    theta.len(),
                    o,
                    e,
                    c,
                )
            },
            |o| v = o[0],
        ) && self.finite_or_report(Function::Kl, v.is_nan(), || FaultKind::NotFinite {
            value: "NaN".into(),
            inputs: format!("θ₁ = {}, θ₂ = {}", show(theta), show(theta2)),
        });
        ok.then_some(v)
    }
}

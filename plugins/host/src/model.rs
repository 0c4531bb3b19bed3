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
use serde::{Deserialize, Serialize};
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
    static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch {
            out: Vec::new(),
            err: Vec::new(),
        })
    };
}

/// Host buffers, reused by the calls of one thread. `out` holds `f64` bit
/// patterns (a plugin writes doubles, and sometimes a pointer or a size).
#[derive(Default)]
struct Scratch {
    out: Vec<u64>,
    err: Vec<u8>,
}

/// The red zone after an output, as it must read after a call.
const OUT_ZONE: [u64; RED_ZONE] = [CANARY; RED_ZONE];
/// The red zone after the error buffer.
const ERR_ZONE: [u8; RED_ZONE] = [CANARY_BYTE; RED_ZONE];

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

plugin_instance!(PluginModel, create);

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
pub(crate) fn raw_call(
    site_id: supervisor::SiteId,
    function: Function,
    out_len: usize,
    body: impl FnOnce(*mut f64, *mut c_char, usize) -> api::Status,
    take: impl FnOnce(&[f64]),
) -> Result<(), FaultKind> {
    SCRATCH.with(|s| {
        // The buffers are reused: the outputs are reset to NaN and the red
        // zones rewritten only when a call broke them. A nested call (none
        // today) finds the scratch borrowed: fresh buffers.
        let mut fresh = Scratch::default();
        let mut shared = s.try_borrow_mut();
        let sc: &mut Scratch = match &mut shared {
            Ok(sc) => sc,
            Err(_) => &mut fresh,
        };
        if sc.err.len() != ERR_CAP + RED_ZONE {
            sc.err = vec![0; ERR_CAP];
            sc.err.extend(ERR_ZONE);
        }
        if sc.out.len() != out_len + RED_ZONE {
            sc.out.clear();
            sc.out.resize(out_len, f64::NAN.to_bits());
            sc.out.extend(OUT_ZONE);
        } else {
            sc.out[..out_len].fill(f64::NAN.to_bits());
        }
        let status = {
            let _in = supervisor::enter(site_id, function);
            body(
                sc.out.as_mut_ptr().cast::<f64>(),
                sc.err.as_mut_ptr().cast::<c_char>(),
                ERR_CAP,
            )
        };
        let out_intact = sc.out[out_len..] == OUT_ZONE;
        let err_intact = sc.err[ERR_CAP..] == ERR_ZONE;
        if status == api::STATUS_OK && out_intact && err_intact {
            // SAFETY: u64 and f64 have one size and alignment; every bit
            // pattern is an f64.
            take(unsafe { std::slice::from_raw_parts(sc.out.as_ptr().cast::<f64>(), out_len) });
            return Ok(());
        }
        if !out_intact {
            sc.out[out_len..].copy_from_slice(&OUT_ZONE);
            return Err(FaultKind::Overrun {
                buffer: "output buffer",
                len: out_len,
                unit: "value",
            });
        }
        if !err_intact {
            sc.err[ERR_CAP..].copy_from_slice(&ERR_ZONE);
            sc.err[..ERR_CAP].fill(0);
            return Err(FaultKind::Overrun {
                buffer: "error buffer",
                len: ERR_CAP,
                unit: "byte",
            });
        }
        sc.err[ERR_CAP - 1] = 0;
        let mut message = CStr::from_bytes_until_nul(&sc.err[..ERR_CAP])
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default();
        sc.err[..ERR_CAP].fill(0);
        if message.is_empty() {
            message = "(no message)".into();
        }
        Err(match status {
            api::STATUS_ERROR => FaultKind::Error(message),
            api::STATUS_PANIC => {
                // The Rust guest's "FUNCTION panicked at …" reads "panicked … at …".
                let prefix = format!("{} panicked ", function.name());
                match message.strip_prefix(&prefix) {
                    Some(rest) => FaultKind::Panic(rest.to_string()),
                    None => FaultKind::Panic(message),
                }
            }
            code => FaultKind::UnknownStatus { code, message },
        })
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
            ty.site_id,
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
        w.map_err(|k| fault(Function::Create, k))?;
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
            self.ty.site_id,
            function,
            1,
            // SAFETY: the first output slot holds 8 bytes, at least a usize.
            |out, e, c| unsafe {
                out.cast::<usize>().write(0);
                f(self.inst, out.cast::<usize>(), e, c)
            },
            |o| v = o[0].to_bits() as usize,
        );
        w.map_err(|k| self.fault(function, k))?;
        Ok(v)
    }

    fn param_name(&self, i: usize) -> Result<String, PluginError> {
        // The name is written as bytes into the output slots (NAME_CAP bytes,
        // then the red zone).
        let slots = NAME_CAP / 8;
        let mut name = String::new();
        let w = raw_call(
            self.ty.site_id,
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
        w.map_err(|k| self.fault(Function::ParamName, k))?;
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
        match raw_call(self.ty.site_id, function, out_len, body, take) {
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

/// How a plugin object (a model, SDE terms) is written in a config:
/// `{ tag = "plugin/name", params = {…} }`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Wire {
    pub(crate) tag: String,
    #[serde(default = "empty_object")]
    pub(crate) params: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::json!({})
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
            self.ty.site_id,
            Function::CheckParams,
            0,
            // SAFETY: θ has d entries (checked above); buffers are the host's.
            |_, e, c| unsafe {
                (self.ty.vt.check_params)(self.inst, theta.as_ptr(), theta.len(), e, c)
            },
            |_| {},
        );
        match w {
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

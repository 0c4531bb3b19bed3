//! SDE terms from a plugin (ABI 1.1): the table of [`api::SdeEntry`] read
//! and checked at load time (`read_sde_table`), the types it provides
//! ([`PluginSdeType`]) and their instances ([`PluginSdeTerms`]), which are
//! `bayesrg_core`'s [`SdeTerms`] for `bayesrg sde` (`drift.terms`,
//! `diffusion.terms`; docs/plugins.md, "SDE terms").
//!
//! Every call goes through the same checked path as a model's
//! (`model::raw_call`): the supervisor's breadcrumb (a crash is named
//! as this plugin's), host buffers with a red zone (a write past the end is
//! an error). A failed call is an error *value* returned to the caller
//! ([`SdeTerms::eval`]), which the SDE runner reports with τ and y as a failed
//! computation (exit 1); it is not a fault of the host's [`crate::FaultPolicy`].

use crate::error::{LoadErrorKind, PluginError};
use crate::fault::{FaultKind, Function, PluginFault, Site};
use crate::host::PluginInfo;
use crate::model::raw_call;
use crate::supervisor;
use bayesrg_core::sde::external::{SdeTerms, TermFunction};
use bayesrg_plugin_api as api;
use std::ffi::{CString, c_void};
use std::sync::Arc;

/// The largest state dimension a plugin's SDE terms may declare.
pub const MAX_SDE_DIM: usize = 1 << 16;

/// The function table of one set of SDE terms, copied out of the library.
#[derive(Clone, Copy)]
pub(crate) struct SdeVtable {
    pub(crate) create: api::CreateFn,
    pub(crate) destroy: api::DestroyFn,
    pub(crate) dim: api::SizeFn,
    pub(crate) drift: Option<api::SdeTermFn>,
    pub(crate) diffusion: Option<api::SdeTermFn>,
    pub(crate) diffusion_derivative: Option<api::SdeTermFn>,
}

/// One set of SDE terms provided by a loaded plugin.
pub struct PluginSdeType {
    /// The namespaced tag `plugin-name/terms-name`.
    pub tag: String,
    /// One line saying what the SDE is.
    pub summary: String,
    /// Parameters (JSON) valid for the terms.
    pub example_params: serde_json::Value,
    /// The plugin that provides them.
    pub plugin: Arc<PluginInfo>,
    pub(crate) site: Arc<Site>,
    pub(crate) site_id: supervisor::SiteId,
    pub(crate) vt: SdeVtable,
}

impl std::fmt::Debug for PluginSdeType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginSdeType")
            .field("tag", &self.tag)
            .field("plugin", &self.plugin.path)
            .finish()
    }
}

/// An instance of a plugin's SDE terms, made by its `create` from JSON
/// parameters; (de)serialised as `{type = "plugin", tag = "…", params = {…}}`.
pub struct PluginSdeTerms {
    ty: Arc<PluginSdeType>,
    params: serde_json::Value,
    inst: *mut c_void,
    dim: usize,
}

plugin_instance!(PluginSdeTerms, create_sde);

impl PluginSdeTerms {
    /// Creates an instance of `ty` from JSON parameters: `create`, then `dim`,
    /// each checked.
    ///
    /// # Errors
    /// [`PluginError::Fault`] naming the plugin when `create` or `dim` fails,
    /// returns a null instance or an implausible dimension.
    pub(crate) fn create(
        ty: Arc<PluginSdeType>,
        params: serde_json::Value,
    ) -> Result<Self, PluginError> {
        let fault = |function, kind| {
            PluginError::Fault(PluginFault {
                site: ty.site.clone(),
                function,
                kind,
            })
        };
        let text = CString::new(params.to_string())
            .map_err(|_| PluginError::NulInParams(ty.tag.clone()))?;
        let mut bits = 0u64;
        raw_call(
            ty.site_id,
            Function::Create,
            1,
            // SAFETY: the first output slot holds 8 bytes, at least a pointer.
            |out, e, c| unsafe {
                out.cast::<*mut c_void>().write(std::ptr::null_mut());
                (ty.vt.create)(text.as_ptr(), out.cast::<*mut c_void>(), e, c)
            },
            |o| bits = o[0].to_bits(),
        )
        .map_err(|k| fault(Function::Create, k))?;
        let inst = bits as usize as *mut c_void;
        if inst.is_null() {
            return Err(fault(Function::Create, FaultKind::NullInstance));
        }
        let mut t = PluginSdeTerms {
            ty: ty.clone(),
            params,
            inst,
            dim: 0,
        };
        let mut d = 0usize;
        raw_call(
            ty.site_id,
            Function::Dim,
            1,
            // SAFETY: the first output slot holds 8 bytes, at least a usize.
            |out, e, c| unsafe {
                out.cast::<usize>().write(0);
                (ty.vt.dim)(t.inst, out.cast::<usize>(), e, c)
            },
            |o| d = o[0].to_bits() as usize,
        )
        .map_err(|k| fault(Function::Dim, k))?;
        if d == 0 || d > MAX_SDE_DIM {
            return Err(fault(
                Function::Dim,
                FaultKind::BadSizes(format!(
                    "declares a state of dimension {d} (1 to {MAX_SDE_DIM})"
                )),
            ));
        }
        t.dim = d;
        Ok(t)
    }

    fn function(&self, f: TermFunction) -> (Function, Option<api::SdeTermFn>) {
        match f {
            TermFunction::Drift => (Function::Drift, self.ty.vt.drift),
            TermFunction::Diffusion => (Function::Diffusion, self.ty.vt.diffusion),
            TermFunction::DiffusionDerivative => (
                Function::DiffusionDerivative,
                self.ty.vt.diffusion_derivative,
            ),
        }
    }
}

#[typetag::serde(name = "plugin")]
impl SdeTerms for PluginSdeTerms {
    fn label(&self) -> String {
        format!("{}, terms `{}`", self.ty.site_without_model(), self.ty.tag)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn provides(&self, f: TermFunction) -> bool {
        self.function(f).1.is_some()
    }
    fn eval(&self, f: TermFunction, y: &[f64], tau: f64, out: &mut [f64]) -> Result<(), String> {
        let (function, Some(call)) = self.function(f) else {
            return Err("is not provided by the plugin".into());
        };
        let d = self.dim;
        if y.len() != d || out.len() != d {
            return Err(format!(
                "was called with {} coordinates for a state of dimension {d}",
                y.len()
            ));
        }
        raw_call(
            self.ty.site_id,
            function,
            d,
            // SAFETY: y has d values; the output holds d values and a red zone.
            |o, e, c| unsafe { call(self.inst, y.as_ptr(), d, tau, o, e, c) },
            |o| out.copy_from_slice(o),
        )
        .map_err(|k| k.to_string())
    }
}

impl PluginSdeType {
    /// ``plugin `NAME` (PATH)``.
    fn site_without_model(&self) -> String {
        Site {
            model: None,
            ..(*self.site).clone()
        }
        .to_string()
    }

    /// An instance with the given parameters.
    ///
    /// # Errors
    /// As [`PluginSdeTerms`]'s `create`.
    pub fn create(
        self: &Arc<Self>,
        params: serde_json::Value,
    ) -> Result<PluginSdeTerms, PluginError> {
        PluginSdeTerms::create(self.clone(), params)
    }
}

/// One SDE-term entry, read and checked (before its site is registered).
pub(crate) struct SdeEntryRead {
    pub(crate) summary: String,
    pub(crate) example_params: serde_json::Value,
    pub(crate) vt: SdeVtable,
}

/// Reads the SDE-term table of a header (ABI ≥ 1.1, `header_size` large
/// enough; else none): tags namespaced by the plugin's `name`, unique,
/// `create`, `destroy` and `dim` present, the table inside the library.
///
/// # Safety
/// `base` is the plugin's header, `header_size` bytes long as it declares
/// (checked ≥ the 1.0 size by the caller).
pub(crate) unsafe fn read_sde_table(
    base: *const u8,
    header_size: usize,
    name: &str,
    inside: impl Fn(*const u8, usize) -> bool,
) -> Result<Vec<(String, SdeEntryRead)>, LoadErrorKind> {
    if header_size < api::HEADER_SIZE_1_1 {
        return Ok(Vec::new());
    }
    // SAFETY: the header is at least as large as ABI 1.1's (checked above).
    let h: &api::PluginHeader = unsafe { &*base.cast::<api::PluginHeader>() };
    let n = h.n_sde_terms;
    if n == 0 {
        return Ok(Vec::new());
    }
    let stride = h.sde_entry_size;
    if n > 10_000 || h.sde_terms.is_null() || stride < std::mem::size_of::<api::SdeEntry>() {
        return Err(LoadErrorKind::CorruptTable(format!(
            "SDE-term table: {n} entries of {stride} bytes at {:p} (an entry is at least {} bytes)",
            h.sde_terms,
            std::mem::size_of::<api::SdeEntry>()
        )));
    }
    if !inside(h.sde_terms.cast(), n * stride) {
        return Err(LoadErrorKind::CorruptTable(format!(
            "the SDE-term table ({n} entries of {stride} bytes) runs past the end of the \
             library's image (is `n_sde_terms` larger than the table?)"
        )));
    }
    let mut out: Vec<(String, SdeEntryRead)> = Vec::with_capacity(n);
    for i in 0..n {
        // SAFETY: n entries of `stride` ≥ our entry size, inside the library.
        let e: &api::SdeEntry = unsafe {
            &*h.sde_terms
                .cast::<u8>()
                .add(i * stride)
                .cast::<api::SdeEntry>()
        };
        let tag = unsafe { crate::host::plugin_str(e.tag, &format!("the tag of SDE terms {i}"))? };
        let rest = tag.strip_prefix(&format!("{name}/")).unwrap_or("");
        if rest.is_empty() || rest.contains('/') || tag.chars().any(char::is_whitespace) {
            return Err(LoadErrorKind::Namespace {
                tag,
                plugin: name.to_string(),
            });
        }
        if out.iter().any(|(t, _)| *t == tag) {
            return Err(LoadErrorKind::DuplicateTag(tag));
        }
        let missing = |function: &'static str| LoadErrorKind::MissingFunction {
            tag: tag.clone(),
            function,
        };
        let vt = SdeVtable {
            create: e.create.ok_or_else(|| missing("create"))?,
            destroy: e.destroy.ok_or_else(|| missing("destroy"))?,
            dim: e.dim.ok_or_else(|| missing("dim"))?,
            drift: e.drift,
            diffusion: e.diffusion,
            diffusion_derivative: e.diffusion_derivative,
        };
        let summary = if e.summary.is_null() {
            String::new()
        } else {
            unsafe { crate::host::plugin_str(e.summary, &format!("the summary of `{tag}`"))? }
        };
        let example_params = if e.example_params.is_null() {
            serde_json::json!({})
        } else {
            let text = unsafe { crate::host::plugin_str(e.example_params, "example parameters")? };
            serde_json::from_str(&text).map_err(|err| LoadErrorKind::ExampleParams {
                tag: tag.clone(),
                reason: err.to_string(),
            })?
        };
        out.push((
            tag,
            SdeEntryRead {
                summary,
                example_params,
                vt,
            },
        ));
    }
    Ok(out)
}

//! Run-time model plugins: loading shared libraries through the versioned C ABI
//! of [`bayesrg_plugin_api`], and [`PluginModel`], the adapter that makes a
//! plugin's model a [`Model`] like any built-in.
//!
//! # Where plugins come from
//! Only from paths the user names: `--plugin PATH` on the command line (any
//! subcommand) or `plugins = ["PATH", …]` at the top of a config file (relative
//! to the config file's folder). Nothing is loaded from the working directory,
//! a search path or the environment; every path is made absolute before it is
//! opened, so the dynamic loader never searches. **Loading a plugin runs its
//! code** with the user's rights.
//!
//! # Checks
//! [`load`] reads the header symbol and checks the magic number, the ABI major
//! version, the struct sizes and the target before it reads anything else, then
//! the model table: every tag must be `plugin-name/model-name`, collide with no
//! built-in model type and no model of another loaded plugin, and every
//! required function must be present. Libraries are never unloaded.
//!
//! # Naming a plugin model in a config
//! typetag's registry is fixed at start-up, so a plugin model is deserialised
//! through one registered type, [`PluginModel`] (tag `plugin`):
//! `{type = "plugin", tag = "cauchy-plugin/cauchy", params = {…}}`. Config files
//! may write the shorter `type = "cauchy-plugin/cauchy"` with the parameters as
//! sibling keys: [`prepare_config`] (called by [`crate::config::load`]) rewrites
//! every table whose `type` contains a `/` into the long form. Built-in tags
//! never contain `/`.
//!
//! # Faults
//! A plugin function can fail or panic (the panic is caught inside the plugin).
//! Functions of [`Model`] that return a `Result` report it directly; the others
//! (`log_likelihood`, `sample`, …) return NaN and record the first fault, which
//! [`take_fault`] returns; the command line turns it into an error (exit 2).

use anyhow::{Result, anyhow, bail};
use bayesrg_core::model::{Model, check_len};
use bayesrg_core::registry;
use bayesrg_core::{ParamError, numdiff};
use bayesrg_plugin_api as api;
use nalgebra::DMatrix;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::ffi::{CStr, CString, c_char, c_void};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The typetag tag under which every plugin model is (de)serialised.
pub const PLUGIN_TYPE: &str = "plugin";

/// The function table of one plugin model, copied out of the library.
#[derive(Clone, Copy)]
struct Vtable {
    create: api::CreateFn,
    destroy: api::DestroyFn,
    dim: api::SizeFn,
    obs_dim: api::SizeFn,
    param_name: api::ParamNameFn,
    check_params: api::CheckFn,
    log_likelihood: api::LogLikFn,
    sample: api::SampleFn,
    score: Option<api::ScoreFn>,
    fisher: Option<api::FisherFn>,
    kl: Option<api::KlFn>,
}

/// A loaded plugin library.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    /// The absolute path it was loaded from.
    pub path: PathBuf,
    /// Its name (the namespace of its tags).
    pub name: String,
    /// Its version string.
    pub version: String,
    /// The ABI minor version it was built with.
    pub abi_minor: u32,
}

/// One model type provided by a loaded plugin.
pub struct PluginModelType {
    /// The namespaced tag `plugin-name/model-name` (leaked: plugins are never
    /// unloaded, so their types live as long as the process).
    pub tag: &'static str,
    /// One line saying what the family is.
    pub summary: String,
    /// Parameters (JSON) valid for the model, used for listings.
    pub example_params: serde_json::Value,
    /// A valid θ for the example parameters.
    pub example_theta: Vec<f64>,
    /// The plugin that provides it.
    pub plugin: Arc<PluginInfo>,
    vt: Vtable,
}

impl std::fmt::Debug for PluginModelType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginModelType")
            .field("tag", &self.tag)
            .field("plugin", &self.plugin.path)
            .finish()
    }
}

impl PluginModelType {
    /// An instance with the example parameters.
    pub fn example(&self) -> Result<PluginModel> {
        PluginModel::new(self.tag, self.example_params.clone())
    }
}

#[derive(Default)]
struct State {
    plugins: Vec<Arc<PluginInfo>>,
    models: BTreeMap<String, Arc<PluginModelType>>,
}

static STATE: Mutex<State> = Mutex::new(State {
    plugins: Vec::new(),
    models: BTreeMap::new(),
});
static FAULT: Mutex<Option<String>> = Mutex::new(None);

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The first fault recorded by a plugin function without an error channel,
/// cleared by the call. See the module docs.
pub fn take_fault() -> Option<String> {
    FAULT.lock().unwrap_or_else(|e| e.into_inner()).take()
}

fn record_fault(msg: String) {
    let mut f = FAULT.lock().unwrap_or_else(|e| e.into_inner());
    if f.is_none() {
        *f = Some(msg);
    }
}

/// Every loaded plugin, in load order.
pub fn loaded_plugins() -> Vec<Arc<PluginInfo>> {
    state().plugins.clone()
}

/// Every model type of the loaded plugins, sorted by tag.
pub fn model_types() -> Vec<Arc<PluginModelType>> {
    state().models.values().cloned().collect()
}

/// Loads every plugin in `paths`, in order (see [`load`]).
pub fn load_all<P: AsRef<Path>>(paths: &[P]) -> Result<()> {
    paths.iter().try_for_each(|p| load(p.as_ref()))
}

/// A string the plugin points to, checked for null and UTF-8.
///
/// # Safety
/// `p` must be null or point to a NUL-terminated string.
unsafe fn plugin_str(p: *const c_char, what: &str) -> Result<String, String> {
    if p.is_null() {
        return Err(format!("{what} is a null pointer"));
    }
    // SAFETY: guaranteed by the caller.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map(str::to_owned)
        .map_err(|_| format!("{what} is not valid UTF-8"))
}

/// Loads one plugin library from a path the user named.
///
/// Loading the same file twice is a no-op. Errors name the file and say what
/// is wrong: missing file, not a shared library, no header symbol, wrong magic,
/// ABI major mismatch, struct sizes too small, target mismatch, a tag that is
/// not namespaced or collides with a built-in or another plugin's model, or a
/// missing required function. A library that fails a check stays mapped (never
/// unloaded) but none of its models is registered.
pub fn load(path: &Path) -> Result<()> {
    let shown = path.display();
    if !path.exists() {
        bail!("plugin `{shown}`: file not found");
    }
    let abs = path
        .canonicalize()
        .map_err(|e| anyhow!("plugin `{shown}`: {e}"))?;
    // One load at a time, so that two threads loading the same file do not
    // both open it and then collide on its tags.
    static LOADING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = LOADING.lock().unwrap_or_else(|e| e.into_inner());
    if state().plugins.iter().any(|p| p.path == abs) {
        return Ok(());
    }
    // SAFETY: loading runs the library's initialisers; the user named this file.
    let lib = unsafe { libloading::Library::new(&abs) }
        .map_err(|e| anyhow!("plugin `{shown}`: not a loadable shared library: {e}"))?;
    // Never unload (see the ABI rules).
    let lib: &'static libloading::Library = Box::leak(Box::new(lib));
    let (info, types) = read_header(lib, &abs).map_err(|e| anyhow!("plugin `{shown}`: {e}"))?;
    let mut st = state();
    let builtins = registry::model_tags();
    for t in &types {
        if builtins.contains(&t.tag) {
            bail!(
                "plugin `{shown}`: model tag `{}` collides with the built-in model type `{}`",
                t.tag,
                t.tag
            );
        }
        if let Some(other) = st.models.get(t.tag) {
            bail!(
                "plugin `{shown}`: model tag `{}` collides with the model of the same tag from plugin `{}` ({})",
                t.tag,
                other.plugin.name,
                other.plugin.path.display()
            );
        }
    }
    st.plugins.push(info);
    for t in types {
        st.models.insert(t.tag.to_string(), Arc::new(t));
    }
    Ok(())
}

/// Reads and checks the header of a loaded library, in the documented order.
fn read_header(
    lib: &'static libloading::Library,
    abs: &Path,
) -> Result<(Arc<PluginInfo>, Vec<PluginModelType>), String> {
    // SAFETY: the symbol, if present, is the address of a static; we only read
    // it after checking the magic number, the major version and the sizes.
    let sym = unsafe { lib.get::<*const u8>(api::HEADER_SYMBOL.as_bytes()) }.map_err(|_| {
        format!(
            "not a bayesrg plugin: it exports no `{}` symbol",
            api::HEADER_SYMBOL
        )
    })?;
    let base: *const u8 = *sym;
    if base.is_null() {
        return Err(format!("`{}` is a null symbol", api::HEADER_SYMBOL));
    }
    // SAFETY: a symbol of this name is at least as large as the fields read in
    // turn: each read depends on the previous check passing.
    let magic = unsafe { base.cast::<u64>().read_unaligned() };
    if magic != api::MAGIC {
        return Err(format!(
            "not a bayesrg plugin: `{}` does not start with the magic number",
            api::HEADER_SYMBOL
        ));
    }
    let (major, minor, header_size, entry_size) = unsafe {
        (
            base.add(8).cast::<u32>().read_unaligned(),
            base.add(12).cast::<u32>().read_unaligned(),
            base.add(16).cast::<u32>().read_unaligned() as usize,
            base.add(20).cast::<u32>().read_unaligned() as usize,
        )
    };
    if major != api::ABI_MAJOR {
        return Err(format!(
            "built for plugin ABI {major}.{minor}, but this bayesrg speaks ABI {}.{}; \
             rebuild the plugin against bayesrg-plugin-api {}.x",
            api::ABI_MAJOR,
            api::ABI_MINOR,
            api::ABI_MAJOR
        ));
    }
    if header_size < size_of::<api::PluginHeader>() || entry_size < size_of::<api::ModelEntry>() {
        return Err(format!(
            "corrupt header: struct sizes {header_size}/{entry_size} are smaller than ABI {}.0's {}/{}",
            api::ABI_MAJOR,
            size_of::<api::PluginHeader>(),
            size_of::<api::ModelEntry>()
        ));
    }
    // SAFETY: the plugin declares a header at least as large as ours.
    let h: &api::PluginHeader = unsafe { &*base.cast::<api::PluginHeader>() };
    let target = unsafe { plugin_str(h.target, "the target string")? };
    if target != api::target() {
        return Err(format!(
            "built for target `{target}`, but this bayesrg runs on `{}`",
            api::target()
        ));
    }
    let name = unsafe { plugin_str(h.name, "the plugin name")? };
    let version = unsafe { plugin_str(h.version, "the plugin version")? };
    if name.is_empty() || name.contains(['/', '"', '\\']) || name.chars().any(char::is_whitespace) {
        return Err(format!(
            "invalid plugin name `{name}` (non-empty, no `/`, quotes or spaces)"
        ));
    }
    if h.n_models > 10_000 || (h.n_models > 0 && h.models.is_null()) {
        return Err(format!("corrupt model table ({} entries)", h.n_models));
    }
    let info = Arc::new(PluginInfo {
        path: abs.to_path_buf(),
        name: name.clone(),
        version,
        abi_minor: minor,
    });
    let mut types: Vec<PluginModelType> = Vec::with_capacity(h.n_models);
    for i in 0..h.n_models {
        // SAFETY: the table holds n_models entries of the plugin's entry size,
        // which is at least ours.
        let e: &api::ModelEntry = unsafe {
            &*h.models
                .cast::<u8>()
                .add(i * entry_size)
                .cast::<api::ModelEntry>()
        };
        let tag = unsafe { plugin_str(e.tag, &format!("the tag of model {i}"))? };
        if registry::model_tags().contains(&tag.as_str()) {
            return Err(format!(
                "model tag `{tag}` collides with the built-in model type `{tag}`"
            ));
        }
        let want = format!("{name}/");
        let rest = tag.strip_prefix(&want).unwrap_or("");
        if rest.is_empty() || rest.contains('/') || tag.chars().any(char::is_whitespace) {
            return Err(format!(
                "model tag `{tag}` must be namespaced as `{name}/<model-name>`"
            ));
        }
        if types.iter().any(|t| t.tag == tag) {
            return Err(format!("model tag `{tag}` appears twice in the plugin"));
        }
        let need = |f: bool, what: &str| {
            if f {
                Ok(())
            } else {
                Err(format!(
                    "model `{tag}`: the required function `{what}` is null"
                ))
            }
        };
        need(e.create.is_some(), "create")?;
        need(e.destroy.is_some(), "destroy")?;
        need(e.dim.is_some(), "dim")?;
        need(e.obs_dim.is_some(), "obs_dim")?;
        need(e.param_name.is_some(), "param_name")?;
        need(e.check_params.is_some(), "check_params")?;
        need(e.log_likelihood.is_some(), "log_likelihood")?;
        need(e.sample.is_some(), "sample")?;
        let vt = Vtable {
            create: e.create.unwrap(),
            destroy: e.destroy.unwrap(),
            dim: e.dim.unwrap(),
            obs_dim: e.obs_dim.unwrap(),
            param_name: e.param_name.unwrap(),
            check_params: e.check_params.unwrap(),
            log_likelihood: e.log_likelihood.unwrap(),
            sample: e.sample.unwrap(),
            score: e.score,
            fisher: e.fisher,
            kl: e.kl,
        };
        let summary = if e.summary.is_null() {
            String::new()
        } else {
            unsafe { plugin_str(e.summary, &format!("the summary of `{tag}`"))? }
        };
        let example_params = if e.example_params.is_null() {
            serde_json::json!({})
        } else {
            let text = unsafe { plugin_str(e.example_params, "example parameters")? };
            serde_json::from_str(&text)
                .map_err(|err| format!("model `{tag}`: example parameters are not JSON: {err}"))?
        };
        let example_theta = if e.example_theta.is_null() || e.example_theta_len > 1 << 20 {
            Vec::new()
        } else {
            // SAFETY: the plugin declares this many values.
            unsafe { std::slice::from_raw_parts(e.example_theta, e.example_theta_len) }.to_vec()
        };
        types.push(PluginModelType {
            tag: Box::leak(tag.into_boxed_str()),
            summary,
            example_params,
            example_theta,
            plugin: info.clone(),
            vt,
        });
    }
    Ok((info, types))
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
        // SAFETY: `inst` came from this entry's `create`; whoever allocates frees.
        unsafe { (self.ty.vt.destroy)(self.inst) }
    }
}

const ERR_CAP: usize = 1024;

/// Calls a plugin function with a fresh host-owned error buffer.
fn call_plugin(
    ty: &PluginModelType,
    what: &str,
    f: impl FnOnce(*mut c_char, usize) -> api::Status,
) -> Result<(), String> {
    let mut buf = [0 as c_char; ERR_CAP];
    let st = f(buf.as_mut_ptr(), ERR_CAP);
    if st == api::STATUS_OK {
        return Ok(());
    }
    buf[ERR_CAP - 1] = 0;
    // SAFETY: the buffer is NUL-terminated (forced above).
    let msg = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy();
    let msg = if msg.is_empty() {
        "(no message)".into()
    } else {
        msg
    };
    let kind = match st {
        api::STATUS_ERROR => "failed",
        api::STATUS_PANIC => "panicked (caught inside the plugin)",
        _ => "returned an unknown status",
    };
    Err(format!(
        "plugin model `{}` ({}): {what} {kind}: {msg}",
        ty.tag,
        ty.plugin.path.display()
    ))
}

impl PluginModel {
    /// Creates an instance of the loaded plugin model `tag` from JSON parameters.
    pub fn new(tag: &str, params: serde_json::Value) -> Result<Self> {
        let found = state().models.get(tag).cloned();
        let ty = found.ok_or_else(|| {
            let loaded: Vec<String> = state().models.keys().cloned().collect();
            let have = if loaded.is_empty() {
                "no plugin is loaded".to_string()
            } else {
                format!("loaded plugin models: {}", loaded.join(", "))
            };
            anyhow!(
                "unknown plugin model type `{tag}` ({have}); load its plugin with \
                 `--plugin PATH` or `plugins = [\"PATH\"]` at the top of the config"
            )
        })?;
        let text = CString::new(params.to_string())
            .map_err(|_| anyhow!("parameters of `{tag}` contain a NUL byte"))?;
        let mut inst: *mut c_void = std::ptr::null_mut();
        call_plugin(&ty, "create", |e, c| unsafe {
            (ty.vt.create)(text.as_ptr(), &mut inst, e, c)
        })
        .map_err(|e| anyhow!(e))?;
        if inst.is_null() {
            bail!(
                "plugin model `{tag}` ({}): create returned a null instance",
                ty.plugin.path.display()
            );
        }
        let mut m = PluginModel {
            ty,
            params,
            inst,
            names: Vec::new(),
            obs_dim: 0,
        };
        let (d, od) = (
            m.size("dim", m.ty.vt.dim)?,
            m.size("obs_dim", m.ty.vt.obs_dim)?,
        );
        if d > 1 << 16 || od > 1 << 24 {
            bail!("plugin model `{tag}`: implausible sizes dim = {d}, obs_dim = {od}");
        }
        for i in 0..d {
            let mut buf = [0 as c_char; 256];
            call_plugin(&m.ty, "param_name", |e, c| unsafe {
                (m.ty.vt.param_name)(m.inst, i, buf.as_mut_ptr(), buf.len(), e, c)
            })
            .map_err(|e| anyhow!(e))?;
            buf[255] = 0;
            m.names.push(
                unsafe { CStr::from_ptr(buf.as_ptr()) }
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        m.obs_dim = od;
        Ok(m)
    }

    fn size(&self, what: &str, f: api::SizeFn) -> Result<usize> {
        let mut out = 0usize;
        call_plugin(&self.ty, what, |e, c| unsafe {
            f(self.inst, &mut out, e, c)
        })
        .map_err(|e| anyhow!(e))?;
        Ok(out)
    }

    /// The plugin model type of this instance.
    pub fn model_type(&self) -> &PluginModelType {
        &self.ty
    }

    /// The namespaced tag `plugin-name/model-name`.
    pub fn tag(&self) -> &'static str {
        self.ty.tag
    }

    fn call(&self, what: &str, f: impl FnOnce(*mut c_char, usize) -> api::Status) -> bool {
        match call_plugin(&self.ty, what, f) {
            Ok(()) => true,
            Err(e) => {
                record_fault(e);
                false
            }
        }
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
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        PluginModel::new(&w.tag, w.params).map_err(|e| serde::de::Error::custom(format!("{e:#}")))
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

    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)?;
        call_plugin(&self.ty, "check_params", |e, c| unsafe {
            (self.ty.vt.check_params)(self.inst, theta.as_ptr(), theta.len(), e, c)
        })
        .map_err(|msg| {
            // A plain rejection reads best without the plugin prefix.
            let short = msg
                .split(": check_params failed: ")
                .nth(1)
                .map(str::to_owned);
            ParamError::Other(short.unwrap_or(msg))
        })
    }

    fn sample(&self, theta: &[f64], rng: &mut dyn rand::Rng, out: &mut [f64]) {
        let seed = rng.next_u64();
        let ok = self.call("sample", |e, c| unsafe {
            (self.ty.vt.sample)(
                self.inst,
                theta.as_ptr(),
                theta.len(),
                seed,
                out.as_mut_ptr(),
                out.len(),
                e,
                c,
            )
        });
        if !ok {
            out.fill(f64::NAN);
        }
    }

    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        let mut v = f64::NAN;
        let ok = self.call("log_likelihood", |e, c| unsafe {
            (self.ty.vt.log_likelihood)(
                self.inst,
                theta.as_ptr(),
                theta.len(),
                y.as_ptr(),
                y.len(),
                &mut v,
                e,
                c,
            )
        });
        if ok { v } else { f64::NAN }
    }

    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        match self.ty.vt.score {
            Some(f) => {
                let ok = self.call("score", |e, c| unsafe {
                    f(
                        self.inst,
                        theta.as_ptr(),
                        theta.len(),
                        y.as_ptr(),
                        y.len(),
                        out.as_mut_ptr(),
                        e,
                        c,
                    )
                });
                if !ok {
                    out.fill(f64::NAN);
                }
            }
            None => numdiff::gradient_into(|t| self.log_likelihood(t, y), theta, out),
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
        let mut out = vec![f64::NAN; d * d];
        let ok = self.call("fisher", |e, c| unsafe {
            f(self.inst, theta.as_ptr(), d, out.as_mut_ptr(), e, c)
        });
        ok.then(|| DMatrix::from_row_slice(d, d, &out))
    }

    fn kl(&self, theta: &[f64], theta2: &[f64]) -> Option<f64> {
        let f = self.ty.vt.kl?;
        if theta2.len() != theta.len() {
            return None;
        }
        let mut v = f64::NAN;
        let ok = self.call("kl", |e, c| unsafe {
            f(
                self.inst,
                theta.as_ptr(),
                theta2.as_ptr(),
                theta.len(),
                &mut v,
                e,
                c,
            )
        });
        ok.then_some(v)
    }
}

/// The top-level `plugins` key of a config document, resolved against `base`.
fn plugin_paths(doc: &mut serde_json::Value, base: &Path, origin: &str) -> Result<Vec<PathBuf>> {
    let Some(obj) = doc.as_object_mut() else {
        return Ok(Vec::new());
    };
    let Some(v) = obj.remove("plugins") else {
        return Ok(Vec::new());
    };
    let bad =
        || anyhow!("{origin}: `plugins` must be a list of paths, like plugins = [\"lib.so\"]");
    let arr = v.as_array().ok_or_else(bad)?;
    arr.iter()
        .map(|p| {
            let p = Path::new(p.as_str().ok_or_else(bad)?);
            Ok(if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            })
        })
        .collect()
}

/// Whether a config document needs [`prepare_config`]: it has a top-level
/// `plugins` key or names a plugin model type (a `type` containing `/`).
pub fn needs_preparation(doc: &serde_json::Value) -> bool {
    fn names_plugin(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Object(m) => {
                m.get("type")
                    .and_then(|t| t.as_str())
                    .is_some_and(|t| t.contains('/'))
                    || m.values().any(names_plugin)
            }
            serde_json::Value::Array(a) => a.iter().any(names_plugin),
            _ => false,
        }
    }
    doc.get("plugins").is_some() || names_plugin(doc)
}

/// Prepares a parsed config document before it is deserialised: removes the
/// top-level `plugins = ["PATH", …]` key and loads those plugins (paths relative
/// to `base`, the config file's folder), then rewrites every table whose `type`
/// names a plugin model (`type = "plugin-name/model"`, other keys = parameters)
/// into the form [`PluginModel`] deserialises from. Config structs therefore
/// never declare a `plugins` field, and `deny_unknown_fields` stays usable.
pub fn prepare_config(doc: &mut serde_json::Value, base: &Path, origin: &str) -> Result<()> {
    let paths = plugin_paths(doc, base, origin)?;
    load_all(&paths).map_err(|e| anyhow!("{origin}: {e:#}"))?;
    rewrite_tags(doc);
    Ok(())
}

/// Rewrites `{type = "p/m", k = v, …}` into
/// `{type = "plugin", tag = "p/m", params = {k = v, …}}`, everywhere in `doc`.
pub fn rewrite_tags(doc: &mut serde_json::Value) {
    match doc {
        serde_json::Value::Object(m) => {
            let tag = m
                .get("type")
                .and_then(|t| t.as_str())
                .filter(|t| t.contains('/'))
                .map(str::to_owned);
            if let Some(tag) = tag {
                m.remove("type");
                let params = std::mem::take(m);
                m.insert("type".into(), PLUGIN_TYPE.into());
                m.insert("tag".into(), tag.into());
                m.insert("params".into(), serde_json::Value::Object(params));
            } else {
                m.values_mut().for_each(rewrite_tags);
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(rewrite_tags),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rewrite_moves_parameters_under_params() {
        let mut d =
            json!({"theta": [1.0], "model": {"type": "p/m", "k": 2}, "other": {"type": "normal"}});
        assert!(needs_preparation(&d));
        rewrite_tags(&mut d);
        assert_eq!(
            d,
            json!({"theta": [1.0], "model": {"type": "plugin", "tag": "p/m", "params": {"k": 2}},
                   "other": {"type": "normal"}})
        );
        assert!(!needs_preparation(&json!({"model": {"type": "normal"}})));
    }

    #[test]
    fn plugin_paths_are_relative_to_the_config_folder() {
        let mut d = json!({"plugins": ["a.so", "/abs/b.so"], "x": 1});
        let p = plugin_paths(&mut d, Path::new("/cfg/dir"), "c.toml").unwrap();
        assert_eq!(
            p,
            vec![PathBuf::from("/cfg/dir/a.so"), PathBuf::from("/abs/b.so")]
        );
        assert_eq!(d, json!({"x": 1}));
        let mut bad = json!({"plugins": "a.so"});
        let e = plugin_paths(&mut bad, Path::new("."), "c.toml").unwrap_err();
        assert!(
            e.to_string().contains("c.toml: `plugins` must be a list"),
            "{e}"
        );
    }

    #[test]
    fn unknown_plugin_model_is_a_clear_error() {
        let e = PluginModel::new("nobody/nothing", json!({})).unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown plugin model type `nobody/nothing`"),
            "{e}"
        );
    }

    #[test]
    fn missing_file_is_named() {
        let e = load(Path::new("/no/such/libplugin.so")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "plugin `/no/such/libplugin.so`: file not found"
        );
    }
}

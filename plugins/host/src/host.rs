//! [`PluginHost`]: the plugins a caller loaded, explicitly, and the model types
//! they provide.
//!
//! # Checks
//! [`PluginHost::load`] reads the header symbol and checks the magic number,
//! the ABI major version, the struct sizes and the target before it reads
//! anything else, then checks that the model table lies inside the library,
//! then reads the table: every tag must be `plugin-name/model-name` and collide
//! with no built-in model type and no model of another plugin of this host, and
//! every required function must be present. Libraries are never unloaded.
//! Opening the library and reading its header run under the supervisor's
//! breadcrumb ([`crate::supervisor`]), so a constructor that aborts or a model
//! count past the end of the table is reported as that library's fault.
//!
//! # The one global: the installed catalogue
//! A document names a plugin model as `{type = "plugin", tag = …}` and serde
//! builds it through typetag, which calls [`PluginModel`]'s `Deserialize` with
//! no context: no way to pass a host. So a host that should serve
//! deserialisation is published with [`PluginHost::install`] into one
//! process-wide slot, read by [`installed`]. It holds an immutable snapshot of
//! the host's model types (replaced wholesale by the next `install`); loading
//! and faults stay owned by the [`PluginHost`] value.

use crate::error::{LoadError, LoadErrorKind, PluginError};
use crate::fault::{FaultPolicy, FaultSink, Function, PluginFault, Site};
use crate::model::PluginModel;
use crate::sde::{PluginSdeTerms, PluginSdeType, read_sde_table};
use crate::supervisor;
use bayesrg_core::registry;
use bayesrg_plugin_api as api;
use std::collections::BTreeMap;
use std::ffi::{CStr, c_char};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

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

/// The function table of one plugin model, copied out of the library.
#[derive(Clone, Copy)]
pub(crate) struct Vtable {
    pub(crate) create: api::CreateFn,
    pub(crate) destroy: api::DestroyFn,
    pub(crate) dim: api::SizeFn,
    pub(crate) obs_dim: api::SizeFn,
    pub(crate) param_name: api::ParamNameFn,
    pub(crate) check_params: api::CheckFn,
    pub(crate) log_likelihood: api::LogLikFn,
    pub(crate) sample: api::SampleFn,
    pub(crate) score: Option<api::ScoreFn>,
    pub(crate) fisher: Option<api::FisherFn>,
    pub(crate) kl: Option<api::KlFn>,
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
    pub(crate) site: Arc<Site>,
    pub(crate) site_id: supervisor::SiteId,
    pub(crate) vt: Vtable,
    pub(crate) faults: Arc<FaultSink>,
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
    pub fn example(self: &Arc<Self>) -> Result<PluginModel, PluginError> {
        PluginModel::create(self.clone(), self.example_params.clone())
    }

    /// Where this model's code runs (for messages).
    pub fn site(&self) -> &Site {
        &self.site
    }

    /// Whether the plugin exports a closed-form Fisher metric for this model
    /// (read from its table of functions: nothing of the plugin runs).
    pub fn provides_fisher(&self) -> bool {
        self.vt.fisher.is_some()
    }

    /// Whether the plugin exports a closed-form KL divergence for this model
    /// (read from its table of functions: nothing of the plugin runs).
    pub fn provides_kl(&self) -> bool {
        self.vt.kl.is_some()
    }
}

/// The plugins loaded by one caller and the model types they provide.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use bayesrg_plugin_host::PluginHost;
/// let mut host = PluginHost::new();
/// host.load(std::path::Path::new("target/debug/libbayesrg_plugin_cauchy.so"))?;
/// let model = host.create("cauchy-plugin/cauchy", serde_json::json!({}))?;
/// host.install(); // only needed to deserialise plugin models from documents
/// # Ok(()) }
/// ```
pub struct PluginHost {
    plugins: Vec<Arc<PluginInfo>>,
    models: BTreeMap<String, Arc<PluginModelType>>,
    sde: BTreeMap<String, Arc<PluginSdeType>>,
    faults: Arc<FaultSink>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("plugins", &self.plugins)
            .field("models", &self.models.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Default for PluginHost {
    fn default() -> Self {
        Self::new()
    }
}

impl PluginHost {
    /// An empty host with the fault policy of this process
    /// ([`FaultPolicy::for_this_process`]: `Exit` in a supervised child,
    /// `Record` elsewhere).
    pub fn new() -> Self {
        Self::with_policy(FaultPolicy::for_this_process())
    }

    /// An empty host with the given fault policy.
    pub fn with_policy(policy: FaultPolicy) -> Self {
        PluginHost {
            plugins: Vec::new(),
            models: BTreeMap::new(),
            sde: BTreeMap::new(),
            faults: Arc::new(FaultSink::new(policy)),
        }
    }

    /// The fault policy of this host.
    pub fn policy(&self) -> FaultPolicy {
        self.faults.policy()
    }

    /// Every loaded plugin, in load order.
    pub fn plugins(&self) -> &[Arc<PluginInfo>] {
        &self.plugins
    }

    /// Every model type of the loaded plugins, sorted by tag.
    pub fn model_types(&self) -> Vec<Arc<PluginModelType>> {
        self.models.values().cloned().collect()
    }

    /// The model type of `tag`, if a loaded plugin provides it.
    pub fn model_type(&self, tag: &str) -> Option<&Arc<PluginModelType>> {
        self.models.get(tag)
    }

    /// Creates an instance of the loaded plugin model `tag` from JSON parameters.
    ///
    /// # Errors
    /// [`PluginError::UnknownType`] when no loaded plugin provides `tag`;
    /// [`PluginError::Fault`] when `create` rejects the parameters (its
    /// message), panics, or gives sizes the host cannot use.
    pub fn create(&self, tag: &str, params: serde_json::Value) -> Result<PluginModel, PluginError> {
        create_from(&self.models, tag, params)
    }

    /// The first fault recorded under [`FaultPolicy::Record`] by a function
    /// without an error channel (a NaN log-likelihood, a failed `sample`, …);
    /// `None` when there was none. See [`PluginHost::fault_count`] for how many
    /// followed it.
    pub fn first_fault(&self) -> Option<PluginFault> {
        self.faults.first().map(|(f, _)| f)
    }

    /// How many faults this host's plugins have had (under
    /// [`FaultPolicy::Record`]; under `Exit` the first ends the process).
    pub fn fault_count(&self) -> usize {
        self.faults.first().map_or(0, |(_, n)| n)
    }

    /// Publishes this host's model types as the catalogue that deserialisation
    /// of [`PluginModel`] uses (see the module docs), replacing any earlier one.
    /// Types loaded after this call are published by calling it again.
    pub fn install(&self) {
        let snapshot = Arc::new(Catalog {
            models: self.models.clone(),
            sde: self.sde.clone(),
        });
        *INSTALLED.write().unwrap_or_else(|e| e.into_inner()) = Some(snapshot);
    }

    /// Loads every plugin in `paths`, in order (see [`PluginHost::load`]).
    pub fn load_all<P: AsRef<Path>>(&mut self, paths: &[P]) -> Result<(), LoadError> {
        paths
            .iter()
            .try_for_each(|p| self.load(p.as_ref()).map(drop))
    }

    /// Loads one plugin library from a path the user named.
    ///
    /// Loading the same file twice is a no-op. A library that fails a check
    /// stays mapped (never unloaded) but none of its models is added.
    ///
    /// # Errors
    /// A [`LoadError`] naming the file: missing file, not a shared library, no
    /// header symbol, wrong magic, ABI major mismatch, struct sizes too small,
    /// target mismatch, a model table outside the library, a tag that is not
    /// namespaced or collides with a built-in or another plugin's model, or a
    /// missing required function.
    pub fn load(&mut self, path: &Path) -> Result<Arc<PluginInfo>, LoadError> {
        let err = |kind| LoadError {
            path: path.to_path_buf(),
            kind,
        };
        if !path.exists() {
            return Err(err(LoadErrorKind::NotFound));
        }
        let abs = path.canonicalize().map_err(|e| err(e.into()))?;
        if let Some(p) = self.plugins.iter().find(|p| p.path == abs) {
            return Ok(p.clone());
        }
        let lib_site = Arc::new(Site {
            library: abs.clone(),
            plugin: None,
            model: None,
        });
        let lib_id = supervisor::register_site(&lib_site);
        let lib = {
            let _in = supervisor::enter(lib_id, Function::Load);
            // SAFETY: loading runs the library's initialisers; the user named
            // this file, and the supervisor names it if they crash.
            unsafe { libloading::Library::new(&abs) }
        }
        .map_err(|e| err(LoadErrorKind::NotALibrary(e.to_string())))?;
        // Never unload (see the ABI rules).
        let lib: &'static libloading::Library = Box::leak(Box::new(lib));
        let (info, entries, sde_entries) = {
            let _in = supervisor::enter(lib_id, Function::Header);
            read_header(lib, &abs).map_err(err)?
        };
        // A tag that another loaded plugin already provides.
        let taken = |tag: &String, other: Option<&Arc<PluginInfo>>| match other {
            Some(other) => Err(err(LoadErrorKind::Collision {
                tag: tag.clone(),
                other: other.name.clone(),
                other_path: other.path.clone(),
            })),
            None => Ok(()),
        };
        for (tag, _) in &entries {
            taken(tag, self.models.get(tag).map(|o| &o.plugin))?;
        }
        for (tag, _) in &sde_entries {
            taken(tag, self.sde.get(tag).map(|o| &o.plugin))?;
        }
        // Where a fault of the entry `tag` happened.
        let site_of = |tag: &String| {
            Arc::new(Site {
                library: abs.clone(),
                plugin: Some(info.name.clone()),
                model: Some(tag.clone()),
            })
        };
        for (tag, e) in sde_entries {
            let site = site_of(&tag);
            let t = PluginSdeType {
                tag: tag.clone(),
                summary: e.summary,
                example_params: e.example_params,
                plugin: info.clone(),
                site_id: supervisor::register_site(&site),
                site,
                vt: e.vt,
            };
            self.sde.insert(tag, Arc::new(t));
        }
        for (tag, e) in entries {
            let site = site_of(&tag);
            let t = PluginModelType {
                tag: Box::leak(tag.clone().into_boxed_str()),
                summary: e.summary,
                example_params: e.example_params,
                example_theta: e.example_theta,
                plugin: info.clone(),
                site_id: supervisor::register_site(&site),
                site,
                vt: e.vt,
                faults: self.faults.clone(),
            };
            self.models.insert(tag, Arc::new(t));
        }
        self.plugins.push(info.clone());
        Ok(info)
    }
}

/// What the installed catalogue holds: a snapshot of one host's model types.
#[derive(Debug, Default)]
pub struct Catalog {
    models: BTreeMap<String, Arc<PluginModelType>>,
    sde: BTreeMap<String, Arc<PluginSdeType>>,
}

impl Catalog {
    /// Every model type, sorted by tag.
    pub fn model_types(&self) -> Vec<Arc<PluginModelType>> {
        self.models.values().cloned().collect()
    }

    /// Creates an instance (see [`PluginHost::create`]).
    pub fn create(&self, tag: &str, params: serde_json::Value) -> Result<PluginModel, PluginError> {
        create_from(&self.models, tag, params)
    }

    /// Every set of SDE terms (ABI 1.1), sorted by tag.
    pub fn sde_types(&self) -> Vec<Arc<PluginSdeType>> {
        self.sde.values().cloned().collect()
    }

    /// Creates an instance of the SDE terms `tag` from JSON parameters.
    ///
    /// # Errors
    /// [`PluginError::UnknownType`] for a tag no loaded plugin provides; a
    /// fault of `create` or `dim`.
    pub fn create_sde(
        &self,
        tag: &str,
        params: serde_json::Value,
    ) -> Result<PluginSdeTerms, PluginError> {
        let ty = self.sde.get(tag).ok_or_else(|| PluginError::UnknownType {
            tag: tag.to_string(),
            loaded: self.sde.keys().cloned().collect(),
        })?;
        ty.create(params)
    }
}

static INSTALLED: RwLock<Option<Arc<Catalog>>> = RwLock::new(None);

/// The catalogue published by the last [`PluginHost::install`] (empty when
/// none was).
pub fn installed() -> Arc<Catalog> {
    INSTALLED
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

/// Every model type of the installed catalogue, sorted by tag (what
/// `bayesrg models` lists besides the built-ins).
pub fn model_types() -> Vec<Arc<PluginModelType>> {
    installed().model_types()
}

fn create_from(
    models: &BTreeMap<String, Arc<PluginModelType>>,
    tag: &str,
    params: serde_json::Value,
) -> Result<PluginModel, PluginError> {
    let ty = models.get(tag).ok_or_else(|| PluginError::UnknownType {
        tag: tag.to_string(),
        loaded: models.keys().cloned().collect(),
    })?;
    PluginModel::create(ty.clone(), params)
}

/// A string the plugin points to, checked for null and UTF-8.
///
/// # Safety
/// `p` must be null or point to a NUL-terminated string.
pub(crate) unsafe fn plugin_str(p: *const c_char, what: &str) -> Result<String, LoadErrorKind> {
    if p.is_null() {
        return Err(LoadErrorKind::BadString(format!(
            "{what} is a null pointer"
        )));
    }
    // SAFETY: guaranteed by the caller.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map(str::to_owned)
        .map_err(|_| LoadErrorKind::BadString(format!("{what} is not valid UTF-8")))
}

/// One model-table entry, read and checked.
struct Entry {
    summary: String,
    example_params: serde_json::Value,
    example_theta: Vec<f64>,
    vt: Vtable,
}

/// Whether `len` bytes from `p` lie inside the image of the shared object
/// that holds `anchor` (the header symbol), by the dynamic loader's own map.
#[cfg(unix)]
fn inside_same_object(anchor: *const u8, p: *const u8, len: usize) -> bool {
    fn base(a: *const u8) -> Option<usize> {
        // SAFETY: dladdr only reads the loader's tables; `info` is plain data.
        let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::dladdr(a.cast(), &mut info) };
        (ok != 0 && !info.dli_fbase.is_null()).then_some(info.dli_fbase as usize)
    }
    let Some(b) = base(anchor) else {
        return true; // no map to consult: the supervisor is the safety net
    };
    let last = (p as usize).checked_add(len.saturating_sub(1));
    base(p) == Some(b) && last.is_some_and(|l| base(l as *const u8) == Some(b))
}

#[cfg(not(unix))]
fn inside_same_object(_anchor: *const u8, _p: *const u8, _len: usize) -> bool {
    true
}

/// A plugin's header, read and checked: the plugin and its models by tag.
type Header = (
    Arc<PluginInfo>,
    Vec<(String, Entry)>,
    Vec<(String, crate::sde::SdeEntryRead)>,
);

/// Reads and checks the header of a loaded library, in the documented order.
fn read_header(lib: &'static libloading::Library, abs: &Path) -> Result<Header, LoadErrorKind> {
    // SAFETY: the symbol, if present, is the address of a static; we only read
    // it after checking the magic number, the major version and the sizes.
    let sym = unsafe { lib.get::<*const u8>(api::HEADER_SYMBOL.as_bytes()) }
        .map_err(|_| LoadErrorKind::NoHeader(api::HEADER_SYMBOL))?;
    let base: *const u8 = *sym;
    if base.is_null() {
        return Err(LoadErrorKind::NullHeader(api::HEADER_SYMBOL));
    }
    // SAFETY: a symbol of this name is at least as large as the fields read in
    // turn: each read depends on the previous check passing.
    let magic = unsafe { base.cast::<u64>().read_unaligned() };
    if magic != api::MAGIC {
        return Err(LoadErrorKind::BadMagic(api::HEADER_SYMBOL));
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
        return Err(LoadErrorKind::AbiMajor {
            major,
            minor,
            host_major: api::ABI_MAJOR,
            host_minor: api::ABI_MINOR,
        });
    }
    if header_size < api::HEADER_SIZE_1_0 || entry_size < size_of::<api::ModelEntry>() {
        return Err(LoadErrorKind::StructSizes {
            header: header_size,
            entry: entry_size,
            major: api::ABI_MAJOR,
            min_header: api::HEADER_SIZE_1_0,
            min_entry: size_of::<api::ModelEntry>(),
        });
    }
    // The header as far as the plugin declares it (a 1.0 header ends before
    // the SDE-term fields, which stay zero: none).
    // SAFETY: all-zero bits are a valid header (integers and null pointers),
    // and the plugin's header holds `header_size` ≥ the 1.0 size bytes.
    let mut copy: api::PluginHeader = unsafe { std::mem::zeroed() };
    unsafe {
        std::ptr::copy_nonoverlapping(
            base,
            (&raw mut copy).cast::<u8>(),
            header_size.min(size_of::<api::PluginHeader>()),
        );
    }
    let h = &copy;
    let target = unsafe { plugin_str(h.target, "the target string")? };
    if target != api::target() {
        return Err(LoadErrorKind::Target {
            plugin: target,
            host: api::target(),
        });
    }
    let name = unsafe { plugin_str(h.name, "the plugin name")? };
    let version = unsafe { plugin_str(h.version, "the plugin version")? };
    if name.is_empty() || name.contains(['/', '"', '\\']) || name.chars().any(char::is_whitespace) {
        return Err(LoadErrorKind::BadName(name));
    }
    if h.n_models > 10_000 || (h.n_models > 0 && h.models.is_null()) {
        return Err(LoadErrorKind::CorruptTable(format!(
            "{} entries at {:p}",
            h.n_models, h.models
        )));
    }
    let table_bytes = h.n_models * entry_size;
    if h.n_models > 0 && !inside_same_object(base, h.models.cast(), table_bytes) {
        return Err(LoadErrorKind::CorruptTable(format!(
            "{} entries of {entry_size} bytes run past the end of the library's image \
             (is `n_models` larger than the table?)",
            h.n_models
        )));
    }
    let info = Arc::new(PluginInfo {
        path: abs.to_path_buf(),
        name: name.clone(),
        version,
        abi_minor: minor,
    });
    let builtins = registry::model_tags();
    let mut out: Vec<(String, Entry)> = Vec::with_capacity(h.n_models);
    for i in 0..h.n_models {
        // SAFETY: the table holds n_models entries of the plugin's entry size,
        // which is at least ours, inside the library (checked above).
        let e: &api::ModelEntry = unsafe {
            &*h.models
                .cast::<u8>()
                .add(i * entry_size)
                .cast::<api::ModelEntry>()
        };
        let tag = unsafe { plugin_str(e.tag, &format!("the tag of model {i}"))? };
        if builtins.contains(&tag.as_str()) {
            return Err(LoadErrorKind::BuiltinTag(tag));
        }
        let rest = tag.strip_prefix(&format!("{name}/")).unwrap_or("");
        if rest.is_empty() || rest.contains('/') || tag.chars().any(char::is_whitespace) {
            return Err(LoadErrorKind::Namespace { tag, plugin: name });
        }
        if out.iter().any(|(t, _)| *t == tag) {
            return Err(LoadErrorKind::DuplicateTag(tag));
        }
        // Each required function, in table order: the first null one is named.
        fn need<F>(f: Option<F>, tag: &str, function: &'static str) -> Result<F, LoadErrorKind> {
            f.ok_or_else(|| LoadErrorKind::MissingFunction {
                tag: tag.to_string(),
                function,
            })
        }
        let vt = Vtable {
            create: need(e.create, &tag, "create")?,
            destroy: need(e.destroy, &tag, "destroy")?,
            dim: need(e.dim, &tag, "dim")?,
            obs_dim: need(e.obs_dim, &tag, "obs_dim")?,
            param_name: need(e.param_name, &tag, "param_name")?,
            check_params: need(e.check_params, &tag, "check_params")?,
            log_likelihood: need(e.log_likelihood, &tag, "log_likelihood")?,
            sample: need(e.sample, &tag, "sample")?,
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
            serde_json::from_str(&text).map_err(|err| LoadErrorKind::ExampleParams {
                tag: tag.clone(),
                reason: err.to_string(),
            })?
        };
        let example_theta = if e.example_theta.is_null() || e.example_theta_len > 1 << 20 {
            Vec::new()
        } else {
            // SAFETY: the plugin declares this many values.
            unsafe { std::slice::from_raw_parts(e.example_theta, e.example_theta_len) }.to_vec()
        };
        out.push((
            tag,
            Entry {
                summary,
                example_params,
                example_theta,
                vt,
            },
        ));
    }
    // SAFETY: `base` is the header, `header_size` bytes long (≥ the 1.0 size).
    let sde = unsafe {
        read_sde_table(base, header_size, &name, |p, len| {
            inside_same_object(base, p, len)
        })?
    };
    Ok((info, out, sde))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_plugin_model_is_a_clear_error() {
        let host = PluginHost::with_policy(FaultPolicy::Record);
        let e = host.create("nobody/nothing", json!({})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown plugin model type `nobody/nothing` (no plugin is loaded); load its plugin \
             with `--plugin PATH` or `plugins = [\"PATH\"]` at the top of the config"
        );
    }

    #[test]
    fn missing_file_is_named() {
        let mut host = PluginHost::with_policy(FaultPolicy::Record);
        let e = host.load(Path::new("/no/such/libplugin.so")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "plugin `/no/such/libplugin.so`: file not found"
        );
    }

    #[test]
    fn the_table_check_sees_the_end_of_an_object() {
        // This test binary is an object: an address inside it passes, a span
        // running far past its end does not.
        static X: [u8; 16] = [0; 16];
        let a = X.as_ptr();
        assert!(inside_same_object(a, a, 16));
        #[cfg(unix)]
        assert!(!inside_same_object(a, a, 1 << 40));
    }
}

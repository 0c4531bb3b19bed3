//! # bayesrg-plugin-host
//!
//! The host side of bayesrg's run-time model plugins: shared libraries that
//! speak the versioned C ABI of [`bayesrg_plugin_api`] (Rust `cdylib`s, C, …).
//!
//! - [`PluginHost`] loads plugins **explicitly**, from paths the caller names,
//!   checks each header and model table, and creates [`PluginModel`]s — the
//!   adapter that makes a plugin's model a [`bayesrg_core::Model`] like any
//!   built-in. Nothing is loaded as a side effect of reading a config: the
//!   config layer only *returns* the paths it finds ([`document::plugin_paths`]).
//! - [`PluginHost::install`] publishes the host's model types for typetag, so
//!   that `{type = "plugin", tag = "p/m", params = {…}}` in a document
//!   deserialises (see [`host`] for why this one global remains).
//! - [`fault`]: what a faulty plugin did ([`PluginFault`]) and what the host
//!   does about it ([`FaultPolicy`]): every result of a plugin is checked (no
//!   NaN log-likelihood, no NaN sample, nothing written past a buffer).
//! - [`supervisor`]: the `bayesrg` process re-executes itself as a supervised
//!   child whenever a plugin is named, so that a plugin that crashes, calls
//!   `exit`, or hangs is named in one message (exit 2) and its partial results
//!   are removed.
//!
//! # Where plugins come from
//! Only from paths the user names: `--plugin PATH` on the command line (any
//! subcommand) or `plugins = ["PATH", …]` at the top of a config file named on
//! the command line (relative to the config file's folder). Nothing is loaded
//! from the working directory, a search path or the environment; every path is
//! made absolute before it is opened, so the dynamic loader never searches.
//! **Loading a plugin runs its code** with the user's rights.
//!
//! # Naming a plugin model in a config
//! typetag's registry is fixed at start-up, so a plugin model is deserialised
//! through one registered type, [`PluginModel`] (tag `plugin`):
//! `{type = "plugin", tag = "cauchy-plugin/cauchy", params = {…}}`. Config files
//! may write the shorter `type = "cauchy-plugin/cauchy"` with the parameters as
//! sibling keys: [`document::prepare`] rewrites every table whose `type`
//! contains a `/` into the long form. Built-in tags never contain `/`.
#![warn(missing_docs)]

/// The impls every plugin instance shares, for a struct with fields `ty`
/// (its type: `tag`, `site_id` and `vt.destroy`), `params` and `inst`: `Send`
/// and `Sync` (the ABI requires instances to be immutable after `create` and
/// their functions to be callable from several threads at once), `Debug`
/// (tag and parameters), `Drop` (`destroy` under the supervisor's
/// breadcrumb), and `Serialize`/`Deserialize` as the plugin wire format
/// (`{tag, params}`; deserialising creates the instance through the
/// installed catalogue's `$create`, [`PluginHost::install`]).
macro_rules! plugin_instance {
    ($t:ident, $create:ident) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let wire = $crate::model::Wire {
                    tag: self.ty.tag.to_string(),
                    params: self.params.clone(),
                };
                serde::Serialize::serialize(&wire, s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let w = <$crate::model::Wire as serde::Deserialize>::deserialize(d)?;
                $crate::installed()
                    .$create(&w.tag, w.params)
                    .map_err(serde::de::Error::custom)
            }
        }

        // SAFETY: see the macro's documentation (the ABI's rule).
        unsafe impl Send for $t {}
        // SAFETY: as above.
        unsafe impl Sync for $t {}

        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("tag", &self.ty.tag)
                    .field("params", &self.params)
                    .finish()
            }
        }

        impl Drop for $t {
            fn drop(&mut self) {
                let _in =
                    $crate::supervisor::enter(self.ty.site_id, $crate::fault::Function::Destroy);
                // SAFETY: `inst` came from this entry's `create`; whoever
                // allocates frees.
                unsafe { (self.ty.vt.destroy)(self.inst) }
            }
        }
    };
}

pub mod document;
pub mod error;
pub mod fault;
pub mod host;
mod model;
pub mod sde;
pub mod supervisor;

pub use error::{LoadError, LoadErrorKind, PluginError};
pub use fault::{FaultKind, FaultPolicy, Function, PluginFault, Site};
pub use host::{Catalog, PluginHost, PluginInfo, PluginModelType, installed, model_types};
pub use model::PluginModel;
pub use sde::{PluginSdeTerms, PluginSdeType};

/// The typetag tag under which every plugin model is (de)serialised.
pub const PLUGIN_TYPE: &str = "plugin";

/// Ensures this crate is linked, so that the typetag registration of
/// [`PluginModel`] is present. Call it from the binary (typetag registrations
/// of a crate that nothing references may be dropped by the linker).
pub fn ensure_linked() {
    std::hint::black_box(PLUGIN_TYPE);
}

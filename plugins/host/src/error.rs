//! Typed errors of loading plugins and creating their models.

use crate::fault::PluginFault;
use std::path::PathBuf;
use thiserror::Error;

/// A plugin library that could not be loaded: the file as the user named it
/// and what is wrong. Displayed as ``plugin `PATH`: REASON``.
#[derive(Debug, Error)]
#[error("plugin `{}`: {kind}", path.display())]
pub struct LoadError {
    /// The path as the user named it.
    pub path: PathBuf,
    /// What is wrong.
    pub kind: LoadErrorKind,
}

/// What is wrong with a plugin library (see [`LoadError`]).
#[derive(Debug, Error)]
pub enum LoadErrorKind {
    /// No file at the path.
    #[error("file not found")]
    NotFound,
    /// The path cannot be made absolute.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The dynamic loader refused the file.
    #[error("not a loadable shared library: {0}")]
    NotALibrary(String),
    /// The header symbol is missing.
    #[error("not a bayesrg plugin: it exports no `{0}` symbol")]
    NoHeader(&'static str),
    /// The header symbol is null.
    #[error("`{0}` is a null symbol")]
    NullHeader(&'static str),
    /// The header does not start with the magic number.
    #[error("not a bayesrg plugin: `{0}` does not start with the magic number")]
    BadMagic(&'static str),
    /// Another ABI major version.
    #[error(
        "built for plugin ABI {major}.{minor}, but this bayesrg speaks ABI {host_major}.{host_minor}; \
         rebuild the plugin against bayesrg-plugin-api {host_major}.x"
    )]
    AbiMajor {
        /// The plugin's major version.
        major: u32,
        /// The plugin's minor version.
        minor: u32,
        /// The host's major version.
        host_major: u32,
        /// The host's minor version.
        host_minor: u32,
    },
    /// Struct sizes smaller than ABI 1.0's.
    #[error(
        "corrupt header: struct sizes {header}/{entry} are smaller than ABI {major}.0's {min_header}/{min_entry}"
    )]
    StructSizes {
        /// The declared header size.
        header: usize,
        /// The declared model-entry size.
        entry: usize,
        /// The host's major version.
        major: u32,
        /// The smallest header size allowed.
        min_header: usize,
        /// The smallest entry size allowed.
        min_entry: usize,
    },
    /// Built for another target.
    #[error("built for target `{plugin}`, but this bayesrg runs on `{host}`")]
    Target {
        /// The plugin's target.
        plugin: String,
        /// The host's target.
        host: String,
    },
    /// A string of the header or model table is null or not UTF-8.
    #[error("{0}")]
    BadString(String),
    /// The plugin name is not usable as a namespace.
    #[error("invalid plugin name `{0}` (non-empty, no `/`, quotes or spaces)")]
    BadName(String),
    /// The model table is implausible or lies outside the library.
    #[error("corrupt model table: {0}")]
    CorruptTable(String),
    /// A tag that is not `plugin-name/model-name`.
    #[error("model tag `{tag}` must be namespaced as `{plugin}/<model-name>`")]
    Namespace {
        /// The tag.
        tag: String,
        /// The plugin's name.
        plugin: String,
    },
    /// A tag equal to a built-in model type.
    #[error("model tag `{0}` collides with the built-in model type `{0}`")]
    BuiltinTag(String),
    /// A tag listed twice in one plugin.
    #[error("model tag `{0}` appears twice in the plugin")]
    DuplicateTag(String),
    /// A tag of a model of another loaded plugin.
    #[error(
        "model tag `{tag}` collides with the model of the same tag from plugin `{other}` ({})",
        other_path.display()
    )]
    Collision {
        /// The tag.
        tag: String,
        /// The other plugin's name.
        other: String,
        /// The other plugin's library.
        other_path: PathBuf,
    },
    /// A required function pointer is null.
    #[error("model `{tag}`: the required function `{function}` is null")]
    MissingFunction {
        /// The model's tag.
        tag: String,
        /// The function.
        function: &'static str,
    },
    /// The example parameters are not JSON.
    #[error("model `{tag}`: example parameters are not JSON: {reason}")]
    ExampleParams {
        /// The model's tag.
        tag: String,
        /// The JSON error.
        reason: String,
    },
}

/// Creating or using a plugin model failed.
#[derive(Debug, Error)]
pub enum PluginError {
    /// No loaded plugin provides the tag.
    #[error(
        "unknown plugin model type `{tag}` ({}); load its plugin with \
         `--plugin PATH` or `plugins = [\"PATH\"]` at the top of the config",
        if loaded.is_empty() { "no plugin is loaded".to_string() }
        else { format!("loaded plugin models: {}", loaded.join(", ")) }
    )]
    UnknownType {
        /// The tag asked for.
        tag: String,
        /// The tags of the loaded plugin models.
        loaded: Vec<String>,
    },
    /// The parameters cannot be passed as C text.
    #[error("parameters of `{0}` contain a NUL byte")]
    NulInParams(String),
    /// The plugin failed or broke a rule (see [`PluginFault`]).
    #[error(transparent)]
    Fault(#[from] PluginFault),
}

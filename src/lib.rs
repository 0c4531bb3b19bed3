//! # bayesrg
//!
//! Information geometry and Bayesian renormalization. This facade re-exports the
//! member crates and holds what the command line shares: reading config files
//! ([`config`]) and writing result folders atomically ([`output`]).
#![warn(missing_docs)]

pub mod commands;
pub mod config;
pub mod locate;
pub mod output;
pub mod plot;
pub mod print;
pub mod progress;
pub mod report;

pub use bayesrg_autoencoder as autoencoder;
pub use bayesrg_core as core;
pub use bayesrg_models as models;
pub use bayesrg_plugin_host as plugins;
pub use bayesrg_schemes as schemes;

/// Ensures every member crate is linked, so that all typetag registrations are
/// present. Call before deserialising any model or scheme.
pub fn ensure_linked() {
    bayesrg_models::ensure_linked();
    bayesrg_schemes::ensure_linked();
    bayesrg_autoencoder::ensure_linked();
    bayesrg_plugin_host::ensure_linked();
}

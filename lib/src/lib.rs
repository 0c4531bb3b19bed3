//! # bayesrg
//!
//! Information geometry and Bayesian renormalization, after *Bayesian
//! renormalization* (Berman, Klinger, Stapleton; equation numbers are the
//! paper's). This is the library: it re-exports the member crates and adds
//! what needs all of them. It has no command-line dependencies (no clap,
//! plotters or indicatif); the `bayesrg` program is the crate `bayesrg-cli`.
//!
//! - [`core`]: the `Model` trait, Fisher metrics (eq. 29) and their
//!   validation, KL (eqs. 30–31), geometry, diffusions (eqs. 43–46),
//!   dynamical Bayes and the DB-RG flow (eqs. 32–45);
//! - [`models`]: families with closed forms;
//! - [`schemes`]: coarse-graining schemes and the eq. (55) sweep;
//! - [`autoencoder`]: the section-4 MNIST autoencoder;
//! - [`plugins`]: loading run-time model plugins;
//! - [`sweep`] and [`tasks`]: parameter studies over any command.
//!
//! Call [`ensure_linked`] once before deserialising a model or scheme by its
//! `type` tag.
#![warn(missing_docs)]

pub mod tasks;

pub use bayesrg_autoencoder as autoencoder;
pub use bayesrg_core as core;
pub use bayesrg_models as models;
pub use bayesrg_plugin_host as plugins;
pub use bayesrg_schemes as schemes;
pub use bayesrg_sweep as sweep;

/// Ensures every member crate is linked, so that all typetag registrations are
/// present. Call before deserialising any model or scheme.
pub fn ensure_linked() {
    bayesrg_models::ensure_linked();
    bayesrg_schemes::ensure_linked();
    bayesrg_autoencoder::ensure_linked();
    bayesrg_plugin_host::ensure_linked();
}

//! # bayesrg-schemes
//!
//! Coarse-graining schemes: rules that decide which parameters of a model to
//! remove, such as the information shell of eq. (55) ([`shell`]), and the
//! matched-count sweep that compares them ([`sweep`]).
#![warn(missing_docs)]

pub mod shell;
pub mod sweep;

pub use shell::{
    Candidates, DiagonalFisher, InformationShell, KlCostShell, Magnitude, Random, Scheme,
};

/// The tags of every scheme this crate registers.
pub const SCHEME_TYPES: &[&str] = &["information_shell", "random", "magnitude", "kl_cost_shell"];

/// Ensures this crate is linked into the final binary, so that its registered
/// types do not vanish when nothing else references the crate.
#[inline(never)]
pub fn ensure_linked() {
    std::hint::black_box(SCHEME_TYPES);
}

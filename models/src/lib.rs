//! # bayesrg-models
//!
//! Toy statistical models with exact sampling and closed-form Fisher metrics
//! (eq. 29) and KL divergences (eq. 30), used as oracles throughout bayesrg.
//! Each model registers with `typetag` under its tag and with the catalogue in
//! [`bayesrg_core::registry`].
#![warn(missing_docs)]

pub mod lattice_field;
pub mod normal;

pub use lattice_field::LatticeField;
pub use normal::{Normal, NormalVar};

/// The tags of every model this crate registers. A test checks that each is
/// listed by the catalogue and deserialises through typetag.
pub const MODEL_TYPES: &[&str] = &["lattice_field", "normal", "normal_var"];

/// Ensures this crate is linked into the final binary, so that its registered
/// types do not vanish when nothing else references the crate. Call it once
/// from any binary that deserialises models.
#[inline(never)]
pub fn ensure_linked() {
    std::hint::black_box(MODEL_TYPES);
}

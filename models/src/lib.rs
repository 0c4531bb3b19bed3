//! # bayesrg-models
//!
//! Toy statistical models with exact sampling and closed-form Fisher metrics
//! (eq. 29) and KL divergences (eq. 30), used as oracles throughout bayesrg.
//! Each model registers with one attribute, `#[bayesrg_core::register_model(tag = …)]`,
//! which writes its tag once for `typetag` and for the catalogue in
//! [`bayesrg_core::registry`] (`bayesrg models` lists it).
#![warn(missing_docs)]

pub mod bernoulli;
pub mod beta;
pub mod categorical;
pub mod checks;
pub mod exp_family_finite;
pub mod exponential;
pub mod gamma;
pub mod lattice_field;
pub mod linear_gaussian;
pub mod mvn;
pub mod mvn_mean;
pub mod normal;
pub mod poisson;
pub mod sum_of_exponentials;

pub use bernoulli::Bernoulli;
pub use beta::Beta;
pub use categorical::Categorical;
pub use exp_family_finite::ExpFamilyFinite;
pub use exponential::Exponential;
pub use gamma::Gamma;
pub use lattice_field::LatticeField;
pub use linear_gaussian::LinearGaussian;
pub use mvn::Mvn;
pub use mvn_mean::MvnMean;
pub use normal::{Normal, NormalVar};
pub use poisson::Poisson;
pub use sum_of_exponentials::SumOfExponentials;

/// Ensures this crate is linked into the final binary, so that its registered
/// types do not vanish when nothing else references the crate. Call it once
/// from any binary that deserialises models.
#[inline(never)]
pub fn ensure_linked() {
    // A call into this crate keeps it, and its registrations, in the binary.
    std::hint::black_box(ensure_linked as fn());
}

//! # bayesrg-models
//!
//! Toy statistical models with exact sampling and closed-form Fisher metrics
//! (eq. 29) and KL divergences (eq. 30), used as oracles throughout bayesrg.
//! Each model registers with `typetag` under its tag and with the catalogue in
//! [`bayesrg_core::registry`].
#![warn(missing_docs)]

pub mod bernoulli;
pub mod beta;
pub mod categorical;
pub mod checks;
pub mod exp_family_finite;
pub mod exponential;
pub mod gamma;
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
pub use linear_gaussian::LinearGaussian;
pub use mvn::Mvn;
pub use mvn_mean::MvnMean;
pub use normal::{Normal, NormalVar};
pub use poisson::Poisson;
pub use sum_of_exponentials::SumOfExponentials;

/// The tags of every model this crate registers. A test checks that each is
/// listed by the catalogue and deserialises through typetag.
pub const MODEL_TYPES: &[&str] = &[
    "bernoulli",
    "beta",
    "categorical",
    "exp_family_finite",
    "exponential",
    "gamma",
    "linear_gaussian",
    "mvn",
    "mvn_mean",
    "normal",
    "normal_var",
    "poisson",
    "sum_of_exponentials",
];

/// Ensures this crate is linked into the final binary, so that its registered
/// types do not vanish when nothing else references the crate. Call it once
/// from any binary that deserialises models.
#[inline(never)]
pub fn ensure_linked() {
    std::hint::black_box(MODEL_TYPES);
}

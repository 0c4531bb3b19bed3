//! bayesrg-testkit: the test fixtures shared by the workspace's tests, so
//! that each is written once (issue 12, "No copies").
//!
//! - [`models`]: test-local models with closed forms (Bernoulli, Poisson,
//!   gamma, normal mean, linear Gaussian, sum of exponentials), for the tests
//!   of `bayesrg-core`, which cannot depend on `bayesrg-models`;
//! - [`BUILT_IN_MODELS`] and [`AUTOENCODER_MODELS`]: the registered model
//!   tags, listed by hand from docs/models.md, the oracle the catalogue is
//!   compared with.
//!
//! A dev-dependency only: nothing in the library crates depends on it.

pub mod models;

/// The model tags `bayesrg-models` registers, listed by hand (docs/models.md):
/// a model that loses its registration, or is renamed, fails the registry
/// tests that compare the catalogue with this list.
pub const BUILT_IN_MODELS: &[&str] = &[
    "bernoulli",
    "beta",
    "categorical",
    "exp_family_finite",
    "exponential",
    "gamma",
    "lattice_field",
    "linear_gaussian",
    "mvn",
    "mvn_mean",
    "normal",
    "normal_var",
    "poisson",
    "sum_of_exponentials",
];

/// The model tags `bayesrg-autoencoder` registers (docs/models.md).
pub const AUTOENCODER_MODELS: &[&str] = &["autoencoder_regression"];

/// The built-in model tags whose family does not write out a closed-form
/// geometry (`Model::fisher_rao`: distance, geodesic, Christoffel
/// acceleration), listed by hand (docs/geometry.md); every other tag of
/// [`BUILT_IN_MODELS`] does ([`closed_form_geometry_models`]).
pub const WITHOUT_CLOSED_FORM_GEOMETRY: &[&str] = &["beta", "gamma", "sum_of_exponentials"];

/// The built-in model tags whose family writes out its closed-form geometry:
/// [`BUILT_IN_MODELS`] but [`WITHOUT_CLOSED_FORM_GEOMETRY`].
pub fn closed_form_geometry_models() -> Vec<&'static str> {
    BUILT_IN_MODELS
        .iter()
        .copied()
        .filter(|t| !WITHOUT_CLOSED_FORM_GEOMETRY.contains(t))
        .collect()
}

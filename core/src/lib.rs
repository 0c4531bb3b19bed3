//! # bayesrg-core
//!
//! Traits and mathematics of bayesrg: the [`Model`] trait, the Fisher
//! metric (eq. 29) and its estimators, KL divergences (eqs. 30–31), seeded
//! parallel random streams, numerical derivatives and special functions.
//!
//! Equation numbers refer to *Bayesian renormalization* (the paper in
//! `shared/paper`); `docs/equations.md` maps each one to code and tests.
#![warn(missing_docs)]

pub mod ad;
pub mod bayes;
pub mod budget;
pub mod check;
pub mod diffusion_runs;
pub mod empirical;
pub mod error;
pub mod fisher;
pub mod fokker_planck;
pub mod gaussian;
pub mod geometry;
pub mod kl;
pub mod linalg;
pub mod mixture;
pub mod model;
pub mod numdiff;
pub mod observe;
pub mod ode;
pub mod quadrature;
pub mod rank;
pub mod registry;
pub mod reverse;
pub mod rng;
pub mod sde;
pub mod semigroup;
pub mod special;
pub mod validate;

pub use error::{Error, ParamError, Result};
pub use model::Model;

#[doc(hidden)]
pub use inventory;

pub use bayesrg_macros::register_model;

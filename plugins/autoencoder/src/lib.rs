//! # bayesrg-autoencoder
//!
//! The section-4 experiment of the paper: a dense ReLU autoencoder on MNIST
//! (eqs. 48–53), its exact diagonal Fisher metric (eq. 29, regression form),
//! and the hooks the coarse-graining schemes of `bayesrg-schemes` need (the
//! information shell of eq. 55 and its rivals).
//!
//! - [`mnist`]: IDX reader (raw or gzip) and the embedded subset;
//! - [`net`]: the network (per-example f64 reference code), weights files;
//! - [`batched`]: the GEMM-shaped f32/f64 kernels of training and sweeps;
//! - [`train`]: Adam training;
//! - [`fisher`]: exact, Monte Carlo and empirical diagonal Fisher;
//! - [`model`]: the network as a typetag-registered [`bayesrg_core::Model`];
//! - [`section4`]: the runner of the whole experiment (train, Fisher, the
//!   matched-count sweep of eq. 55, checks).
#![warn(missing_docs)]
// Index loops over several parallel arrays read like the formulas they implement.
#![allow(clippy::needless_range_loop)]

pub mod batched;
pub mod fisher;
pub mod mnist;
pub mod model;
pub mod net;
pub mod section4;
pub mod train;

pub use net::{Architecture, Autoencoder};
pub use train::{Precision, TrainSpec};

/// Ensures this crate is linked, so that its typetag registrations are present.
#[inline(never)]
pub fn ensure_linked() {
    std::hint::black_box(ensure_linked as fn());
}

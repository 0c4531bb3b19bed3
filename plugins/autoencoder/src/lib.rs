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

/// Test helpers shared by the modules' tests.
#[cfg(test)]
pub(crate) mod testutil {
    /// `f` run inside a fresh rayon pool of `threads` threads (for the
    /// same-bits-at-any-thread-count tests).
    pub(crate) fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a rayon pool")
            .install(f)
    }

    /// A 6 → 3 → 6 network initialised from `init` and `count` inputs drawn
    /// uniformly on [0, 1) from stream 0 of `data`, every `zero_every`-th
    /// value an exact zero (like image pixels).
    pub(crate) fn tiny(
        bias: bool,
        count: usize,
        zero_every: usize,
        data: u64,
        init: u64,
    ) -> (crate::Autoencoder, Vec<f64>) {
        use bayesrg_core::rng::Seed;
        use rand::RngExt;
        let arch = crate::Architecture {
            input: 6,
            latent: 3,
            bias,
        };
        let mut rng = Seed::new(data).stream(0);
        let values: Vec<f64> = (0..6 * count)
            .map(|i| {
                if i % zero_every == 0 {
                    0.0
                } else {
                    rng.random::<f64>()
                }
            })
            .collect();
        (crate::Autoencoder::init(arch, Seed::new(init)), values)
    }
}

//! Stochastic differential equations dY = b(Y, τ) dτ + σ(Y, τ) dW, in the
//! convention of `docs/conventions.md` ("generator ½, no √2").
//!
//! With an additive diffusion σ = θ, θθᵀ = K⁻¹, the generator is
//! L f = bᵃ∂ₐf + ½K⁻¹ᵃᵇ∂ₐ∂_b f, and with drift b = γ̇_τ the transition density is
//! exactly the heat kernel N(y₀ + γ_τ − γ₀, τK⁻¹) of eqs. (21) and (43). This is
//! the SDE (46) of the paper without its √2 and with the mean path followed by
//! +γ̇ (eqs. 18–19).
//!
//! The pieces are kept apart, as in diffrax:
//! - [`terms`]: the problem — a [`Drift`] and a
//!   [`Diffusion`] (additive through K⁻¹, K or a factor θ;
//!   state-dependent diagonal or general), bundled in a [`Problem`];
//!   the natural-gradient drift −½K(y)⁻¹∇V + ½∂_bK⁻¹ᵃᵇ (eq. 16 in our convention).
//! - [`steppers`]: fixed-step schemes, each declaring its strong and weak order,
//!   the noise it supports and whether it solves the Itô or Stratonovich equation.
//! - [`brownian`]: Brownian increments ΔW and the time integral ΔZ = ∫(W − W_t)ds,
//!   and a shared, refinable [`BrownianPath`](brownian::BrownianPath) for strong-order tests.
//! - [`ensemble`]: many paths in parallel with per-chunk seeded streams, saved only
//!   at requested times (memory ∝ paths × saved times).
//! - [`external`]: drift and diffusion from a run-time plugin ([`external::SdeTerms`]).
//! - [`ou`]: the exact Gaussian transition of linear SDEs (Ornstein–Uhlenbeck and
//!   the heat kernel), by Van Loan's matrix exponential and the Lyapunov equation.
//! - [`gaussian_law`]: tests of a sample against a Gaussian law (Hotelling T²,
//!   whitened covariance, per-coordinate Kolmogorov–Smirnov with Bonferroni).
//!
//! A minimal run:
//! ```
//! use bayesrg_core::sde::{terms::*, steppers::EulerMaruyama, ensemble::*};
//! use nalgebra::DMatrix;
//! use std::sync::Arc;
//! let k_inv = DMatrix::from_row_slice(2, 2, &[1.0, 0.3, 0.3, 0.5]);
//! let p = Problem::new(
//!     Arc::new(ConstantDrift::new(vec![1.0, -1.0])),
//!     Diffusion::Additive(AdditiveNoise::from_k_inv(&k_inv).unwrap()),
//! ).unwrap();
//! let cfg = EnsembleConfig::new(2048, vec![0.0, 0.0], vec![0.5, 1.0], 0.1, 7);
//! let ens = simulate(&p, &EulerMaruyama, &cfg, &|_| {}).unwrap();
//! assert_eq!(ens.times(), &[0.5, 1.0]);
//! let m = ens.mean(1); // ≈ (1, −1): the law is N(γ_τ, τK⁻¹)
//! assert!((m[0] - 1.0).abs() < 0.1);
//! ```

#![allow(clippy::needless_range_loop)] // index loops are the clearest form of small linear algebra

pub mod brownian;
pub mod ensemble;
pub mod expr;
pub mod external;
pub mod gaussian_law;
pub mod ou;
pub mod runner;
pub mod spec;
pub mod steppers;
pub mod terms;

pub use ensemble::{Ensemble, EnsembleConfig, simulate};
pub use runner::{SdeResult, run};
pub use spec::{DiffusionSpec, DriftSpec, FisherDiffusion, SdeSpec};
pub use steppers::{Calculus, NoiseKind, Stepper, StepperInfo};
pub use terms::{AdditiveNoise, Diffusion, Drift, Problem};

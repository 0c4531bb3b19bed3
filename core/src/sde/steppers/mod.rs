//! Fixed-step SDE schemes. Each declares its strong and weak order, the noise it
//! supports and the calculus (Itô or Stratonovich) of the equation it solves.
//!
//! | stepper | calculus | noise | strong | weak |
//! |---|---|---|---|---|
//! | [`EulerMaruyama`] | Itô | any | 0.5 (1.0 additive) | 1.0 |
//! | [`Milstein`] | Itô | additive, diagonal | 1.0 | 1.0 |
//! | [`StochasticHeun`] | Stratonovich | any | 0.5 (1.0 commutative) | 1.0 |
//! | [`ExactOu`] | either (additive) | additive, linear drift | 1.0 | exact in law |
//! | [`LeimkuhlerMatthews`] | Itô (additive) | additive | — | 1.0 (2.0 for stationary averages) |
//! | [`Sra1`] | either (additive) | additive | 1.5 | 2.0 |

mod euler_maruyama;
mod exact_ou;
mod heun;
mod leimkuhler_matthews;
mod milstein;
mod sra1;

pub use euler_maruyama::EulerMaruyama;
pub use exact_ou::ExactOu;
pub use heun::StochasticHeun;
pub use leimkuhler_matthews::LeimkuhlerMatthews;
pub use milstein::Milstein;
pub use sra1::Sra1;

use crate::error::{Error, Result};
use crate::sde::ou::OuTransition;
use crate::sde::terms::Problem;
use std::sync::Arc;

/// The stochastic calculus an SDE is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Calculus {
    /// Itô (the convention of `docs/conventions.md`).
    Ito,
    /// Stratonovich.
    Stratonovich,
    /// The scheme supports only additive noise, where the two agree.
    Either,
}

/// The structure of the diffusion term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum NoiseKind {
    /// σ constant.
    Additive,
    /// σ(y) diagonal.
    Diagonal,
    /// σ(y) a general d × m matrix.
    General,
}

/// What a stepper declares about itself.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepperInfo {
    /// Short name, as used in config files.
    pub name: &'static str,
    /// Strong order for the most general noise it supports.
    pub strong_order: f64,
    /// Strong order for additive noise.
    pub strong_order_additive: f64,
    /// Weak order (`f64::INFINITY` for exact in law).
    pub weak_order: f64,
    /// The calculus of the equation it solves.
    pub calculus: Calculus,
    /// The noise kinds it accepts.
    pub noise: &'static [NoiseKind],
    /// Whether it needs ΔZ = ∫(W − W_t)ds besides ΔW.
    pub needs_time_integral: bool,
}

/// The Brownian input to one step of size h.
#[derive(Debug, Clone, Copy)]
pub struct Increment<'a> {
    /// The step h.
    pub h: f64,
    /// ΔW (m entries).
    pub dw: &'a [f64],
    /// ΔZ = ∫(W(s) − W(t))ds (m entries; empty unless the stepper asked for it).
    pub dz: &'a [f64],
}

/// Per-path scratch space and memory of a stepper. Reset between paths.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Scratch vectors of length max(d·m, d, m).
    pub(crate) a: Vec<f64>,
    pub(crate) b: Vec<f64>,
    pub(crate) c: Vec<f64>,
    pub(crate) s: Vec<f64>,
    /// Memory carried from step to step (Leimkuhler–Matthews keeps ξₙ).
    pub(crate) mem: Vec<f64>,
    pub(crate) mem_valid: bool,
    /// The last exact OU transition used, keyed by the bits of h.
    pub(crate) ou: Option<(u64, Arc<OuTransition>)>,
}

impl Workspace {
    /// Scratch space for dimension `d` and noise dimension `m`.
    pub fn new(d: usize, m: usize) -> Self {
        let n = (d * m).max(d).max(m);
        Workspace {
            a: vec![0.0; n],
            b: vec![0.0; n],
            c: vec![0.0; n],
            s: vec![0.0; n],
            mem: vec![0.0; m],
            mem_valid: false,
            ou: None,
        }
    }
    /// Forgets the memory of the previous path (call before each new path).
    pub fn reset(&mut self) {
        self.mem_valid = false;
    }
}

/// A fixed-step scheme for dY = b dτ + σ dW.
pub trait Stepper: Send + Sync {
    /// Name, orders, calculus and supported noise.
    fn info(&self) -> StepperInfo;

    /// Checks that the stepper can integrate `problem` (noise kind, linear drift…).
    fn check(&self, problem: &Problem) -> Result<()> {
        let info = self.info();
        let kind = problem.diffusion.kind();
        if !info.noise.contains(&kind) {
            return Err(Error::Msg(format!(
                "stepper `{}` does not support {kind:?} noise (it supports {:?})",
                info.name, info.noise
            )));
        }
        Ok(())
    }

    /// Advances `y` from time `t` by one step with the Brownian increment `inc`.
    fn step(&self, problem: &Problem, t: f64, inc: &Increment, y: &mut [f64], ws: &mut Workspace);
}

/// The stepper called `name` in config files: `euler_maruyama`, `milstein`,
/// `heun`, `exact_ou`, `leimkuhler_matthews`, `sra1`.
pub fn by_name(name: &str) -> Result<Box<dyn Stepper>> {
    Ok(match name {
        "euler_maruyama" | "em" => Box::new(EulerMaruyama),
        "milstein" => Box::new(Milstein),
        "heun" | "stochastic_heun" => Box::new(StochasticHeun),
        "exact_ou" | "exact" => Box::new(ExactOu::default()),
        "leimkuhler_matthews" | "lm" => Box::new(LeimkuhlerMatthews),
        "sra1" => Box::new(Sra1),
        other => {
            return Err(Error::Msg(format!(
                "unknown stepper `{other}` (known: euler_maruyama, milstein, heun, exact_ou, leimkuhler_matthews, sra1)"
            )));
        }
    })
}

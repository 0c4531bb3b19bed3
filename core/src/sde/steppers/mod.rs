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
use crate::sde::terms::{FusedLinearStep, Problem};
use nalgebra::{DMatrix, DVector};
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

/// The Brownian input to one step of size h: of one path ([`Stepper::step`]:
/// m entries in `dw` and `dz`), or of a block of n paths
/// ([`Stepper::step_block`]: n × m entries, row-major, row i for path i).
#[derive(Debug, Clone, Copy)]
pub struct Increment<'a> {
    /// The step h.
    pub h: f64,
    /// ΔW (m entries a path).
    pub dw: &'a [f64],
    /// ΔZ = ∫(W(s) − W(t))ds (m entries a path; empty unless the stepper asked for it).
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

/// Scratch space and per-path memory for stepping a block of paths together
/// ([`Stepper::step_block`]). Allocated once per chunk of an ensemble, never
/// per step.
#[derive(Debug, Clone)]
pub struct BlockWorkspace {
    /// The scratch of the path being stepped (row-by-row stepping).
    pub(crate) path: Workspace,
    /// Per-path step memory, n × m (Leimkuhler–Matthews keeps ξₙ).
    pub(crate) mem: Vec<f64>,
    pub(crate) mem_valid: Vec<bool>,
    /// Block scratch, n × max(d, m).
    pub(crate) a: Vec<f64>,
    m: usize,
    /// Euler–Maruyama's fused linear step, keyed by the bits of h and the
    /// drift's address (`None` inside: the problem has no fused form).
    pub(crate) fused: Option<((u64, usize), Option<FusedLinearStep>)>,
}

impl BlockWorkspace {
    /// Space for blocks of up to `paths` paths of dimension `d`, noise dimension `m`.
    pub fn new(paths: usize, d: usize, m: usize) -> Self {
        BlockWorkspace {
            path: Workspace::new(d, m),
            mem: vec![0.0; paths * m],
            mem_valid: vec![false; paths],
            a: vec![0.0; paths * d.max(m)],
            m,
            fused: None,
        }
    }
    /// Forgets the memory of the previous paths (call before each new block).
    pub fn reset(&mut self) {
        self.mem_valid.fill(false);
        self.path.reset();
    }
}

/// Steps each path of a block with [`Stepper::step`], one after the other,
/// carrying each path's memory: the default [`Stepper::step_block`].
pub fn step_rows<S: Stepper + ?Sized>(
    stepper: &S,
    problem: &Problem,
    t: f64,
    block: &Increment,
    ys: &mut [f64],
    ws: &mut BlockWorkspace,
) {
    let d = problem.dim();
    let m = ws.m;
    for (i, y) in ys.chunks_exact_mut(d).enumerate() {
        let inc = Increment {
            h: block.h,
            dw: &block.dw[i * m..(i + 1) * m],
            dz: if block.dz.is_empty() {
                &[]
            } else {
                &block.dz[i * m..(i + 1) * m]
            },
        };
        let mem = &mut ws.mem[i * m..(i + 1) * m];
        ws.path.mem[..m].copy_from_slice(mem);
        ws.path.mem_valid = ws.mem_valid[i];
        stepper.step(problem, t, &inc, y, &mut ws.path);
        mem.copy_from_slice(&ws.path.mem[..m]);
        ws.mem_valid[i] = ws.path.mem_valid;
    }
}

/// A step that is the same affine map for every path:
///
///   y ← A·y + C·ξ + c,  ξ ~ N(0, I_m) the step's standard normals,
///
/// with A (d × d), C (d × m) and c (d) fixed for a problem and a step size h.
/// Euler–Maruyama on a linear drift b(y) = −B(y − m) with additive noise θ is
/// one: A = I − hB, C = √h·θ, c = hBm. Ensembles step such problems with a
/// kernel that skips the structural zeros of A and C (a diagonal B, a
/// triangular θ) and runs across paths.
#[derive(Debug, Clone)]
pub struct AffineStep {
    /// A, d × d.
    pub a: DMatrix<f64>,
    /// C, d × m.
    pub c: DMatrix<f64>,
    /// c, d entries.
    pub shift: DVector<f64>,
}

/// A fixed-step scheme for dY = b dτ + σ dW.
pub trait Stepper: Send + Sync {
    /// The step of size `h` as an [`AffineStep`] of the state and the step's
    /// standard normals, when it is one for `problem` (it is then used by
    /// ensembles instead of [`Stepper::step_block`]; the law of the chain is
    /// the same). `None` by default.
    fn affine_step(&self, problem: &Problem, h: f64) -> Option<AffineStep> {
        let _ = (problem, h);
        None
    }

    /// Name, orders, calculus and supported noise.
    fn info(&self) -> StepperInfo;

    /// Checks that the stepper can integrate `problem` (noise kind, linear drift…).
    fn check(&self, problem: &Problem) -> Result<()> {
        let info = self.info();
        let kind = problem.diffusion.kind();
        if !info.noise.contains(&kind) {
            return Err(Error::Unsupported {
                what: format!("stepper `{}`", info.name),
                reason: format!(
                    "does not support {kind:?} noise (it supports {:?})",
                    info.noise
                ),
            });
        }
        Ok(())
    }

    /// Advances `y` from time `t` by one step with the Brownian increment `inc`.
    fn step(&self, problem: &Problem, t: f64, inc: &Increment, y: &mut [f64], ws: &mut Workspace);

    /// Advances a block of n paths from time `t` by one step `inc.h`: `ys` holds the
    /// states (n × d, row-major), `inc.dw` their Brownian increments (n × m) and `inc.dz`
    /// the time integrals ΔZ (n × m; empty unless [`StepperInfo::needs_time_integral`]).
    /// Must give the same result as [`Stepper::step`] on each row (up to the
    /// order of floating-point sums). The default does exactly that
    /// ([`step_rows`]); a stepper overrides it to use block products.
    fn step_block(
        &self,
        problem: &Problem,
        t: f64,
        inc: &Increment,
        ys: &mut [f64],
        ws: &mut BlockWorkspace,
    ) {
        step_rows(self, problem, t, inc, ys, ws)
    }
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
            return Err(Error::Unknown {
                what: "stepper".into(),
                name: other.into(),
                known: "euler_maruyama, milstein, heun, exact_ou, leimkuhler_matthews, sra1".into(),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sde::terms::{AdditiveNoise, ConstantDrift, Diffusion, Drift, LinearDrift};
    use nalgebra::{DMatrix, DVector};

    /// The increments `dw` of a block's step h, with no ΔZ.
    fn inc(h: f64, dw: &[f64]) -> Increment<'_> {
        Increment { h, dw, dz: &[] }
    }

    fn problem(d: usize, linear: bool) -> Problem {
        let k_inv = DMatrix::from_fn(d, d, |i, j| 0.5f64.powi((i as i32 - j as i32).abs()));
        let drift: Arc<dyn Drift> = if linear {
            let b = DMatrix::from_fn(d, d, |i, j| {
                if i == j {
                    1.5
                } else {
                    0.1 / (1.0 + (i + 2 * j) as f64)
                }
            });
            let m = DVector::from_fn(d, |i, _| 1e3 * (i as f64 - 0.3));
            Arc::new(LinearDrift::new(b, m).unwrap())
        } else {
            Arc::new(ConstantDrift::new((0..d).map(|i| i as f64 - 2.0).collect()))
        };
        Problem::new(
            drift,
            Diffusion::Additive(AdditiveNoise::from_k_inv(&k_inv).unwrap()),
        )
        .unwrap()
    }

    /// Euler–Maruyama's affine form y ← Ay + Cξ + c equals its step with
    /// ΔW = √h·ξ (the oracle: [`Stepper::step`]) for a linear drift; a
    /// constant drift (not linear in the sense of [`Drift::linear`]) has none.
    #[test]
    fn euler_maruyama_affine_step_equals_step() {
        for d in [1usize, 4, 20] {
            let p = problem(d, true);
            let h = 0.013;
            let op = EulerMaruyama.affine_step(&p, h).unwrap();
            let y0: Vec<f64> = (0..d).map(|k| k as f64 * 0.37 - 1.5).collect();
            let xi: Vec<f64> = (0..d).map(|k| ((k * 31) % 7) as f64 * 0.3 - 0.9).collect();
            let want = &op.a * DVector::from_column_slice(&y0)
                + &op.c * DVector::from_column_slice(&xi)
                + &op.shift;
            let dw: Vec<f64> = xi.iter().map(|x| x * h.sqrt()).collect();
            let mut y = y0.clone();
            let inc = Increment {
                h,
                dw: &dw,
                dz: &[],
            };
            EulerMaruyama.step(&p, 0.0, &inc, &mut y, &mut Workspace::new(d, d));
            let scale = want.amax().max(1.0);
            for (a, b) in y.iter().zip(want.iter()) {
                assert!((a - b).abs() < 1e-12 * scale, "d = {d}: {a} vs {b}");
            }
            // Power: another step size gives another map.
            let other = EulerMaruyama.affine_step(&p, 2.0 * h).unwrap();
            assert!((&other.a - &op.a).amax() > 1e-3);
        }
        assert!(
            EulerMaruyama
                .affine_step(&problem(3, false), 0.01)
                .is_none()
        );
    }

    /// Euler–Maruyama's block step (matrix products) equals its row-by-row step
    /// (the oracle: [`Stepper::step`] on each path), at d = 3 and 12 (unrolled
    /// row loops) and d = 20 (matrix products), for linear and constant drifts.
    #[test]
    fn euler_maruyama_block_step_equals_row_steps() {
        for d in [3usize, 12, 20] {
            for linear in [true, false] {
                let p = problem(d, linear);
                let n = 37;
                let h = 0.013;
                let y0: Vec<f64> = (0..n * d)
                    .map(|k| ((k * 7919) % 101) as f64 * 0.37 - 15.0)
                    .collect();
                let dw: Vec<f64> = (0..n * d)
                    .map(|k| ((k * 104_729) % 89) as f64 * 0.01 - 0.44)
                    .collect();
                let mut ws = BlockWorkspace::new(n, d, d);
                let mut block = y0.clone();
                EulerMaruyama.step_block(&p, 0.0, &inc(h, &dw), &mut block, &mut ws);
                let mut rows = y0.clone();
                step_rows(&EulerMaruyama, &p, 0.0, &inc(h, &dw), &mut rows, &mut ws);
                let scale = y0.iter().fold(1.0f64, |a, v| a.max(v.abs())) * 1e3;
                let err = block
                    .iter()
                    .zip(&rows)
                    .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
                assert!(err <= 1e-13 * scale, "d = {d}, linear = {linear}: {err}");
                // Power: the increments of another path give a different step.
                let mut shifted = dw.clone();
                shifted.rotate_left(d);
                let mut wrong = y0.clone();
                EulerMaruyama.step_block(&p, 0.0, &inc(h, &shifted), &mut wrong, &mut ws);
                let diff = wrong
                    .iter()
                    .zip(&rows)
                    .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
                assert!(diff > 1e-3, "d = {d}: {diff}");
            }
        }
    }
}

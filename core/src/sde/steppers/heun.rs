//! Stochastic Heun (Stratonovich): predictor ỹ = y + b(y)h + σ(y)ΔW, corrector
//! y ← y + ½(b(y) + b(ỹ))h + ½(σ(y) + σ(ỹ))ΔW.

use super::{Calculus, Increment, NoiseKind, Stepper, StepperInfo, Workspace};
use crate::sde::terms::Problem;

/// Stochastic Heun, solving the **Stratonovich** SDE. Strong order 1 for
/// commutative (additive, diagonal) noise, 0.5 in general; weak order 1.
#[derive(Debug, Clone, Copy, Default)]
pub struct StochasticHeun;

impl Stepper for StochasticHeun {
    fn info(&self) -> StepperInfo {
        StepperInfo {
            name: "heun",
            strong_order: 0.5,
            strong_order_additive: 1.0,
            weak_order: 1.0,
            calculus: Calculus::Stratonovich,
            noise: &[NoiseKind::Additive, NoiseKind::Diagonal, NoiseKind::General],
            needs_time_integral: false,
        }
    }

    fn step(&self, p: &Problem, t: f64, inc: &Increment, y: &mut [f64], ws: &mut Workspace) {
        let d = y.len();
        let h = inc.h;
        // a = b(y); c = σ(y)ΔW (accumulated from zero).
        p.drift.eval(y, t, &mut ws.a[..d]);
        ws.c[..d].fill(0.0);
        p.diffusion
            .apply_add(y, t, inc.dw, &mut ws.c[..d], &mut ws.s);
        // b = predictor ỹ.
        for i in 0..d {
            ws.b[i] = y[i] + ws.a[i] * h + ws.c[i];
        }
        // y ← y + ½(b(y) + b(ỹ))h + ½(σ(y) + σ(ỹ))ΔW.
        let pred = ws.b[..d].to_vec();
        let mut bt = vec![0.0; d];
        p.drift.eval(&pred, t + h, &mut bt);
        let mut st = vec![0.0; d];
        p.diffusion
            .apply_add(&pred, t + h, inc.dw, &mut st, &mut ws.s);
        for i in 0..d {
            y[i] += 0.5 * (ws.a[i] + bt[i]) * h + 0.5 * (ws.c[i] + st[i]);
        }
    }
}

//! Milstein for diagonal noise (Itô):
//! yᵢ ← yᵢ + bᵢh + σᵢΔWᵢ + ½σᵢ∂ᵢσᵢ(ΔWᵢ² − h).

use super::{Calculus, EulerMaruyama, Increment, NoiseKind, Stepper, StepperInfo, Workspace};
use crate::sde::terms::{Diffusion, Problem};

/// Milstein (Itô), diagonal or additive noise. Strong order 1, weak order 1.
/// For additive noise it is Euler–Maruyama.
#[derive(Debug, Clone, Copy, Default)]
pub struct Milstein;

impl Stepper for Milstein {
    fn info(&self) -> StepperInfo {
        StepperInfo {
            name: "milstein",
            strong_order: 1.0,
            strong_order_additive: 1.0,
            weak_order: 1.0,
            calculus: Calculus::Ito,
            noise: &[NoiseKind::Additive, NoiseKind::Diagonal],
            needs_time_integral: false,
        }
    }

    fn step(&self, p: &Problem, t: f64, inc: &Increment, y: &mut [f64], ws: &mut Workspace) {
        let Diffusion::Diagonal(g) = &p.diffusion else {
            return EulerMaruyama.step(p, t, inc, y, ws);
        };
        let d = y.len();
        p.drift.eval(y, t, &mut ws.a[..d]);
        g.sigma(y, t, &mut ws.b[..d]);
        g.dsigma(y, t, &mut ws.c[..d]);
        for i in 0..d {
            let dw = inc.dw[i];
            y[i] += ws.a[i] * inc.h + ws.b[i] * dw + 0.5 * ws.b[i] * ws.c[i] * (dw * dw - inc.h);
        }
    }
}

//! SRA1 (Rößler 2010), the stochastic Runge–Kutta scheme for additive noise:
//!
//!   H = y + ¾h·b(y, t) + (3/2)·θΔZ/h,
//!   y ← y + h(⅓b(y, t) + ⅔b(H, t + ¾h)) + θΔW,
//!
//! with ΔZ = ∫(W(s) − W(t))ds. Tableau c₀ = (0, ¾), A₀ = ((0,0),(¾,0)),
//! B₀ = ((0,0),(3/2,0)), α = (⅓, ⅔), β₁ = (1, 0), β₂ = (−1, 1).

use super::{Calculus, Increment, NoiseKind, Stepper, StepperInfo, Workspace};
use crate::sde::terms::{Diffusion, Problem};

/// SRA1: strong order 1.5, weak order 2, additive noise only. On a **linear**
/// drift the leading order-1.5 error terms vanish (they carry b''), so it
/// converges with strong order 2 there.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sra1;

impl Stepper for Sra1 {
    fn info(&self) -> StepperInfo {
        StepperInfo {
            name: "sra1",
            strong_order: 1.5,
            strong_order_additive: 1.5,
            weak_order: 2.0,
            calculus: Calculus::Either,
            noise: &[NoiseKind::Additive],
            needs_time_integral: true,
        }
    }

    fn step(&self, p: &Problem, t: f64, inc: &Increment, y: &mut [f64], ws: &mut Workspace) {
        let Diffusion::Additive(a) = &p.diffusion else {
            unreachable!("checked by Stepper::check")
        };
        let d = y.len();
        let h = inc.h;
        p.drift.eval(y, t, &mut ws.a[..d]);
        for i in 0..d {
            ws.b[i] = y[i] + 0.75 * h * ws.a[i];
        }
        a.apply_add(inc.dz, 1.5 / h, &mut ws.b[..d]);
        let (hb, rest) = ws.b.split_at_mut(d);
        let _ = rest;
        p.drift.eval(hb, t + 0.75 * h, &mut ws.c[..d]);
        for i in 0..d {
            y[i] += h * (ws.a[i] / 3.0 + 2.0 * ws.c[i] / 3.0);
        }
        a.apply_add(inc.dw, 1.0, y);
    }
}

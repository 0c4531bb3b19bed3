//! Leimkuhler–Matthews for sampling stationary laws, in the ½ convention:
//!
//!   yₙ₊₁ = yₙ + h·b(yₙ) + √h·θ(ξₙ + ξₙ₊₁)/2,
//!
//! the noise being the average of consecutive standard-normal draws. (The usual
//! form for dX = −∇U dt + √2 dW is Xₙ₊₁ = Xₙ − h∇U + √(2h)(Rₙ + Rₙ₊₁)/2; our
//! dY = −½K⁻¹∇V dτ + θdW is that equation in time s = τ/2, hence √h, not √(2h).)

use super::{Calculus, Increment, NoiseKind, Stepper, StepperInfo, Workspace};
use crate::sde::terms::{Diffusion, Problem};

/// Leimkuhler–Matthews (additive noise). Not a pathwise scheme; weak order 1 on
/// finite horizons, and for linear drift its stationary law is exact at any stable
/// step (Euler's stationary covariance is biased by O(h)). The first step of a
/// path, with no ξₙ yet, uses ξₙ = ξₙ₊₁ (an Euler step).
#[derive(Debug, Clone, Copy, Default)]
pub struct LeimkuhlerMatthews;

impl Stepper for LeimkuhlerMatthews {
    fn info(&self) -> StepperInfo {
        StepperInfo {
            name: "leimkuhler_matthews",
            strong_order: 0.0,
            strong_order_additive: 0.0,
            weak_order: 1.0,
            calculus: Calculus::Either,
            noise: &[NoiseKind::Additive],
            needs_time_integral: false,
        }
    }

    fn step(&self, p: &Problem, t: f64, inc: &Increment, y: &mut [f64], ws: &mut Workspace) {
        let Diffusion::Additive(a) = &p.diffusion else {
            unreachable!("checked by Stepper::check")
        };
        let d = y.len();
        let m = inc.dw.len();
        let sh = inc.h.sqrt();
        // ξₙ₊₁ = ΔW/√h; noise = √h(ξₙ + ξₙ₊₁)/2 = (√h ξₙ + ΔW)/2.
        if !ws.mem_valid {
            for j in 0..m {
                ws.mem[j] = inc.dw[j] / sh;
            }
            ws.mem_valid = true;
        }
        for j in 0..m {
            let xi = inc.dw[j] / sh;
            ws.b[j] = 0.5 * sh * (ws.mem[j] + xi);
            ws.mem[j] = xi;
        }
        p.drift.eval(y, t, &mut ws.a[..d]);
        for i in 0..d {
            y[i] += ws.a[i] * inc.h;
        }
        a.apply_add(&ws.b[..m], 1.0, y);
    }
}

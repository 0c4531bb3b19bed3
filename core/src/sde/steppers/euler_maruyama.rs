//! Euler–Maruyama: y ← y + b(y, t)h + σ(y, t)ΔW.

use super::{
    AffineStep, BlockWorkspace, Calculus, Increment, NoiseKind, Stepper, StepperInfo, Workspace,
    step_rows,
};
use crate::sde::terms::{Diffusion, FusedLinearStep, Problem};
use nalgebra::DMatrix;
use std::sync::Arc;

/// Euler–Maruyama (Itô). Strong order 0.5 (1.0 for additive noise), weak order 1.
/// With constant drift and additive noise it is exact in law (the heat kernel of
/// eq. 43) at any step.
///
/// With additive noise a block of n paths is stepped as Y ← Y + h·b(Y) + ΔW θᵀ
/// (n × d blocks): for a linear drift and d = m ≤ 16 as one fused product
/// ([`FusedLinearStep`]); otherwise the drift by
/// [`Drift::eval_block`](crate::sde::terms::Drift::eval_block) (one product for
/// a linear drift) and the noise by one product with θᵀ.
#[derive(Debug, Clone, Copy, Default)]
pub struct EulerMaruyama;

impl Stepper for EulerMaruyama {
    fn info(&self) -> StepperInfo {
        StepperInfo {
            name: "euler_maruyama",
            strong_order: 0.5,
            strong_order_additive: 1.0,
            weak_order: 1.0,
            calculus: Calculus::Ito,
            noise: &[NoiseKind::Additive, NoiseKind::Diagonal, NoiseKind::General],
            needs_time_integral: false,
        }
    }

    /// A = I − hB, C = √h·θ, c = hBm for a linear drift −B(y − m) and
    /// additive noise θ.
    fn affine_step(&self, p: &Problem, h: f64) -> Option<AffineStep> {
        let Diffusion::Additive(noise) = &p.diffusion else {
            return None;
        };
        let (b, m) = p.drift.linear()?;
        let d = b.nrows();
        Some(AffineStep {
            a: DMatrix::identity(d, d) - &b * h,
            c: noise.factor() * h.sqrt(),
            shift: (&b * &m) * h,
        })
    }

    #[inline]
    fn step(&self, p: &Problem, t: f64, inc: &Increment, y: &mut [f64], ws: &mut Workspace) {
        let d = y.len();
        let b = &mut ws.a[..d];
        p.drift.eval(y, t, b);
        match &p.diffusion {
            Diffusion::Additive(a) => {
                for i in 0..d {
                    y[i] += b[i] * inc.h;
                }
                a.apply_add(inc.dw, 1.0, y);
            }
            other => {
                // σ is evaluated at the old state: accumulate into a copy.
                let c = &mut ws.c[..d];
                c.copy_from_slice(y);
                other.apply_add(c, t, inc.dw, y, &mut ws.s);
                for i in 0..d {
                    y[i] += b[i] * inc.h;
                }
            }
        }
    }

    fn step_block(
        &self,
        p: &Problem,
        t: f64,
        inc: &Increment,
        ys: &mut [f64],
        ws: &mut BlockWorkspace,
    ) {
        let Diffusion::Additive(a) = &p.diffusion else {
            return step_rows(self, p, t, inc, ys, ws);
        };
        let (h, dw) = (inc.h, inc.dw);
        let key = (h.to_bits(), Arc::as_ptr(&p.drift).cast::<()>() as usize);
        if ws.fused.as_ref().is_none_or(|(k, _)| *k != key) {
            ws.fused = Some((key, FusedLinearStep::new(p.drift.as_ref(), a, h)));
        }
        if let Some((_, Some(f))) = &ws.fused {
            return f.apply(a, dw, ys);
        }
        let b = &mut ws.a[..ys.len()];
        p.drift.eval_block(ys, t, b);
        for (y, bi) in ys.iter_mut().zip(b.iter()) {
            *y += bi * h;
        }
        a.apply_add_block(dw, 1.0, ys);
    }
}

//! The exact Gaussian step of a linear SDE dY = −B(Y − m)dτ + θdW:
//! y ← m + e^{−Bh}(y − m) + L_h ξ, L_hL_hᵀ = Σ_h = ∫₀ʰ e^{−Bs}θθᵀe^{−Bᵀs}ds,
//! with ξ = ΔW/√h. Exact in law at any step and any B·h (B = 0 gives the heat
//! kernel); (e^{−Bh}, Σ_h) come from [`ou::propagators`] (docs/sde.md, "The exact
//! Ornstein–Uhlenbeck law").

use super::{Calculus, Increment, NoiseKind, Stepper, StepperInfo, Workspace};
use crate::error::{Error, Result};
use crate::sde::ou::{self, OuTransition};
use crate::sde::terms::{Diffusion, Problem};
use std::sync::{Arc, RwLock};

/// The exact Ornstein–Uhlenbeck step: an oracle and a production stepper for
/// linear drift and additive square noise. Transitions are cached per step size.
#[derive(Debug, Default)]
pub struct ExactOu {
    cache: RwLock<Vec<(u64, Arc<OuTransition>)>>,
}

/// What `exact_ou` cannot integrate, and why.
fn unsupported(reason: &str) -> Error {
    Error::Unsupported {
        what: "stepper `exact_ou`".into(),
        reason: reason.into(),
    }
}

impl ExactOu {
    fn transition(&self, p: &Problem, h: f64) -> Arc<OuTransition> {
        let key = h.to_bits();
        if let Some(t) = self.cache.read().unwrap().iter().find(|e| e.0 == key) {
            return t.1.clone();
        }
        let (b, m) = p.drift.linear().expect("checked by Stepper::check");
        let Diffusion::Additive(a) = &p.diffusion else {
            unreachable!("checked by Stepper::check")
        };
        let t =
            Arc::new(ou::transition(&b, &m, a.k_inv(), h).expect("h > 0 checked by the runner"));
        let mut c = self.cache.write().unwrap();
        c.push((key, t.clone()));
        t
    }
}

impl Stepper for ExactOu {
    fn info(&self) -> StepperInfo {
        StepperInfo {
            name: "exact_ou",
            strong_order: 1.0,
            strong_order_additive: 1.0,
            weak_order: f64::INFINITY,
            calculus: Calculus::Either,
            noise: &[NoiseKind::Additive],
            needs_time_integral: false,
        }
    }

    fn check(&self, p: &Problem) -> Result<()> {
        let Diffusion::Additive(a) = &p.diffusion else {
            return Err(unsupported("needs additive noise"));
        };
        if a.noise_dim() != a.dim() {
            return Err(unsupported("needs a square diffusion factor (m = d)"));
        }
        if p.drift.linear().is_none() {
            return Err(unsupported(
                "needs a linear drift −B(y − m) (zero, ou or quadratic potential)",
            ));
        }
        Ok(())
    }

    fn step(&self, p: &Problem, _t: f64, inc: &Increment, y: &mut [f64], ws: &mut Workspace) {
        let key = inc.h.to_bits();
        let tr = match &ws.ou {
            Some((k, t)) if *k == key => t.clone(),
            _ => {
                let t = self.transition(p, inc.h);
                ws.ou = Some((key, t.clone()));
                t
            }
        };
        let d = y.len();
        let sh = inc.h.sqrt();
        tr.step(y, |j| inc.dw[j] / sh, &mut ws.a[..d]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sde::terms::{AdditiveNoise, LinearDrift};
    use nalgebra::{DMatrix, DVector};

    #[test]
    fn one_stiff_step_is_the_exact_law() {
        // b = 1000, unit noise, one step h = 1 (b·h = 1000, where the old Van
        // Loan form overflowed): y ← e^{−1000}y + √((1 − e^{−2000})/2000)·ξ,
        // ξ = ΔW/√h. Oracle: the closed form.
        let drift =
            LinearDrift::new(DMatrix::from_element(1, 1, 1000.0), DVector::zeros(1)).unwrap();
        let noise = AdditiveNoise::from_k_inv(&DMatrix::from_element(1, 1, 1.0)).unwrap();
        let p = Problem::new(Arc::new(drift), Diffusion::Additive(noise)).unwrap();
        let s = ExactOu::default();
        s.check(&p).unwrap();
        let mut ws = Workspace::new(1, 1);
        let mut y = [3.0];
        let dw = [0.7];
        let inc = Increment {
            h: 1.0,
            dw: &dw,
            dz: &[],
        };
        s.step(&p, 0.0, &inc, &mut y, &mut ws);
        let want = 0.7 * (-(-2000.0f64).exp_m1() / 2000.0).sqrt();
        assert!((y[0] - want).abs() < 1e-15 * want, "{} vs {want}", y[0]);
    }
}

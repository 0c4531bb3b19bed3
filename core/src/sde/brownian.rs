//! Brownian increments and a shared, refinable Brownian path.
//!
//! Over a step of length h a stepper may need ΔW = W(t+h) − W(t) and the time
//! integral ΔZ = ∫ₜ^{t+h} (W(s) − W(t)) ds (the Itô integral I₍₁,₀₎ of the strong
//! order-1.5 schemes). Per Brownian coordinate they are jointly Gaussian with
//! Var ΔW = h, Var ΔZ = h³/3, Cov = h²/2, drawn from two standard normals ξ, η as
//! ΔW = √h ξ, ΔZ = ½h^{3/2}(ξ + η/√3).

use crate::rng::NormalStream;
use crate::sde::steppers::{Stepper, Workspace};
use crate::sde::terms::Problem;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// Fills `dw` with ΔW over a step h and, when `dz` is given, ΔZ jointly with it.
#[inline]
pub fn draw_increment<R: Rng + ?Sized>(
    rng: &mut R,
    h: f64,
    dw: &mut [f64],
    dz: Option<&mut [f64]>,
) {
    let sh = h.sqrt();
    match dz {
        None => {
            for w in dw.iter_mut() {
                let xi: f64 = StandardNormal.sample(rng);
                *w = sh * xi;
            }
        }
        Some(dz) => {
            let c = 0.5 * h * sh;
            let r3 = 1.0 / 3f64.sqrt();
            for (w, z) in dw.iter_mut().zip(dz.iter_mut()) {
                let xi: f64 = StandardNormal.sample(rng);
                let eta: f64 = StandardNormal.sample(rng);
                *w = sh * xi;
                *z = c * (xi + eta * r3);
            }
        }
    }
}

/// Fills `dw` with ΔW over a step h for a block of paths (any number of
/// coordinates, drawn from `normals`) and, when `dz` is given (same length),
/// ΔZ jointly with it. The law is that of [`draw_increment`]; the order of the
/// draws is: all ξ of the block, then all η.
#[inline]
pub fn draw_increments(normals: &mut NormalStream, h: f64, dw: &mut [f64], dz: Option<&mut [f64]>) {
    let sh = h.sqrt();
    let Some(dz) = dz else {
        // √h·ξ in the normal transform itself (no second pass).
        normals.fill_scaled(dw, sh);
        return;
    };
    normals.fill(dw);
    normals.fill(dz);
    let c = 0.5 * h * sh;
    let r3 = 1.0 / 3f64.sqrt();
    for (w, z) in dw.iter_mut().zip(dz.iter_mut()) {
        *z = c * (*w + *z * r3);
        *w *= sh;
    }
}

/// One Brownian path in ℝᵐ on [t₀, t₁], stored as its increments on a fine grid of
/// `n_fine` equal steps, from which the increments of any coarser grid (a divisor
/// of `n_fine`) are summed exactly. Strong-order tests refine the same path.
#[derive(Debug, Clone)]
pub struct BrownianPath {
    m: usize,
    t0: f64,
    h: f64,
    n: usize,
    dw: Vec<f64>,
    dz: Vec<f64>,
}

impl BrownianPath {
    /// Draws a path of `m` Brownian motions on [t0, t1] with `n_fine` fine steps.
    pub fn new<R: Rng + ?Sized>(m: usize, t0: f64, t1: f64, n_fine: usize, rng: &mut R) -> Self {
        let h = (t1 - t0) / n_fine as f64;
        let mut dw = vec![0.0; n_fine * m];
        let mut dz = vec![0.0; n_fine * m];
        for k in 0..n_fine {
            draw_increment(
                rng,
                h,
                &mut dw[k * m..(k + 1) * m],
                Some(&mut dz[k * m..(k + 1) * m]),
            );
        }
        BrownianPath {
            m,
            t0,
            h,
            n: n_fine,
            dw,
            dz,
        }
    }

    /// The number of Brownian coordinates m.
    pub fn noise_dim(&self) -> usize {
        self.m
    }
    /// The number of fine steps.
    pub fn n_fine(&self) -> usize {
        self.n
    }
    /// The fine step.
    pub fn fine_step(&self) -> f64 {
        self.h
    }

    /// W at the fine grid points t₀ + k·h, k = 0..=n (row k, m entries each).
    pub fn values(&self) -> Vec<f64> {
        let m = self.m;
        let mut w = vec![0.0; (self.n + 1) * m];
        for k in 0..self.n {
            for j in 0..m {
                w[(k + 1) * m + j] = w[k * m + j] + self.dw[k * m + j];
            }
        }
        w
    }

    /// (ΔW, ΔZ) of the grid with `n` equal steps (n must divide `n_fine`), each
    /// n × m row-major. ΔZ over a coarse step is Σₖ [ΔZₖ + (W(tₖ) − W(t_start))·h].
    pub fn increments(&self, n: usize) -> (Vec<f64>, Vec<f64>) {
        assert!(
            n > 0 && self.n.is_multiple_of(n),
            "{n} steps do not divide {}",
            self.n
        );
        let r = self.n / n;
        let m = self.m;
        let mut dw = vec![0.0; n * m];
        let mut dz = vec![0.0; n * m];
        for c in 0..n {
            for j in 0..m {
                let (mut w, mut z) = (0.0, 0.0);
                for k in c * r..(c + 1) * r {
                    z += self.dz[k * m + j] + w * self.h;
                    w += self.dw[k * m + j];
                }
                dw[c * m + j] = w;
                dz[c * m + j] = z;
            }
        }
        (dw, dz)
    }

    /// Integrates `problem` from `y0` over the whole path with `n` equal steps of
    /// `stepper`, driven by this path's increments; returns the final state.
    ///
    /// # Panics
    /// If the stepper cannot integrate the problem ([`Stepper::check`]) or `n`
    /// does not divide the number of fine steps.
    pub fn solve(
        &self,
        problem: &Problem,
        stepper: &dyn Stepper,
        y0: &[f64],
        n: usize,
    ) -> Vec<f64> {
        if let Err(e) = stepper.check(problem) {
            panic!("BrownianPath::solve: {e}");
        }
        let (dw, dz) = self.increments(n);
        let h = self.h * (self.n / n) as f64;
        let m = self.m;
        let mut y = y0.to_vec();
        let mut ws = Workspace::new(problem.dim(), m);
        for c in 0..n {
            let inc = crate::sde::steppers::Increment {
                h,
                dw: &dw[c * m..(c + 1) * m],
                dz: &dz[c * m..(c + 1) * m],
            };
            stepper.step(problem, self.t0 + c as f64 * h, &inc, &mut y, &mut ws);
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn coarse_increments_have_the_right_moments() {
        // Var ΔW = H, Var ΔZ = H³/3, Cov = H²/2 on the coarse grid (oracle: the
        // Gaussian law of (W, ∫W)); tolerance 5 standard errors of a variance
        // estimate from n draws, √(2/n) relative.
        let n = 4000;
        let (mut sw, mut sz, mut swz) = (0.0, 0.0, 0.0);
        let mut rng = stream(3, 0);
        for _ in 0..n {
            let p = BrownianPath::new(1, 0.0, 1.0, 16, &mut rng);
            let (dw, dz) = p.increments(2);
            sw += dw[0] * dw[0];
            sz += dz[0] * dz[0];
            swz += dw[0] * dz[0];
        }
        let hh = 0.5f64;
        let tol = 5.0 * (2.0 / n as f64).sqrt();
        assert!((sw / n as f64 / hh - 1.0).abs() < tol);
        assert!((sz / n as f64 / (hh.powi(3) / 3.0) - 1.0).abs() < tol);
        assert!((swz / n as f64 / (hh * hh / 2.0) - 1.0).abs() < tol * 1.5);
    }
}

//! The 2-D Fokker–Planck solver ∂_τ p = −∇·(b p) + ½ ∂ₐ∂_b(Dᵃᵇ p) for a
//! drift b(y, τ) and either a constant full diffusion matrix D = K⁻¹ or a
//! diagonal state-dependent one (scheme in the [module docs](super)).
//!
//! **Whitened grid.** A cross term D₁₂ ∂₁∂₂ p cannot be discretised on an
//! axis-aligned grid with non-negative weights once the correlation is strong,
//! so the solver works in whitened coordinates z = L⁻¹y, D = LLᵀ (Cholesky):
//! there dZ = L⁻¹b(Lz) dτ + dW has identity diffusion, the Scharfetter–Gummel
//! fluxes of each axis are positive, and the density in y is
//! p_y(y) = p_z(L⁻¹y) / det L. The computational domain is the bounding box in
//! z of the requested y-box: a parallelogram in y that contains that box.
//! Faces on its boundary carry no flux.

use super::{Advance, WALL_MASS_LIMIT, bernoulli, check_density, l1_distance, min_cell};
use crate::error::{Error, Result};
use crate::linalg;
use crate::quadrature::GAUSS_LEGENDRE_3;
use nalgebra::{DMatrix, Matrix2, Vector2};

/// A drift b(y, τ) in 2-D.
pub type Drift2d = Box<dyn Fn([f64; 2], f64) -> [f64; 2] + Send + Sync>;

/// The 2-D solver: constant full diffusion D (whitened grid) or diagonal
/// state-dependent D(y) ([`diagonal`](Self::diagonal)).
pub struct FokkerPlanck2d {
    l: Matrix2<f64>,
    linv: Matrix2<f64>,
    det_l: f64,
    zlo: [f64; 2],
    h: [f64; 2],
    n: [usize; 2],
    drift: Drift2d,
    diag: Option<DiagonalTables>,
    p: Vec<f64>,
    tau: f64,
    mass_outside: f64,
}

/// A diagonal diffusion evaluated, and checked, once at every point the
/// fluxes use: both components at the cell centres, component a at the faces
/// normal to axis a (face (i, j) of axis 0 lies between cells (i, j) and
/// (i + 1, j)).
struct DiagonalTables {
    center: Vec<[f64; 2]>,
    face: [Vec<f64>; 2],
}

/// A diagonal, state-dependent diffusion y ↦ (K⁻¹₁₁(y), K⁻¹₂₂(y)), both > 0.
pub type DiagonalDiffusion2d = Box<dyn Fn([f64; 2]) -> [f64; 2] + Send + Sync>;

impl FokkerPlanck2d {
    /// A solver whose domain contains the box [lo, hi] in y (the bounding box
    /// in z of its image, so strongly correlated D wastes cells: prefer
    /// [`whitened`](Self::whitened) then), with n\[0\] × n\[1\] cells, for drift
    /// b(y, τ) and constant diffusion `d` (2×2, symmetric positive definite),
    /// started at τ = 0 from the density `p0(y)`.
    pub fn new(
        lo: [f64; 2],
        hi: [f64; 2],
        n: [usize; 2],
        drift: impl Fn([f64; 2], f64) -> [f64; 2] + Send + Sync + 'static,
        d: &DMatrix<f64>,
        p0: impl Fn([f64; 2]) -> f64,
    ) -> Result<Self> {
        let (_, linv) = Self::factor(d)?;
        if !(lo[0] < hi[0] && lo[1] < hi[1]) {
            return Err(Error::domain(
                "grid",
                format!("{lo:?}..{hi:?}"),
                "needs lo < hi on both axes",
            ));
        }
        let mut zlo = [f64::INFINITY; 2];
        let mut zhi = [f64::NEG_INFINITY; 2];
        for y in [
            [lo[0], lo[1]],
            [lo[0], hi[1]],
            [hi[0], lo[1]],
            [hi[0], hi[1]],
        ] {
            let z = linv * Vector2::new(y[0], y[1]);
            for k in 0..2 {
                zlo[k] = zlo[k].min(z[k]);
                zhi[k] = zhi[k].max(z[k]);
            }
        }
        Self::whitened(zlo, zhi, n, drift, d, p0)
    }

    /// A solver on the parallelogram {y = Lz : zlo ≤ z ≤ zhi} (D = LLᵀ, the
    /// lower Cholesky factor), i.e. a box in whitened coordinates: a law with
    /// covariance τD is a unit-free disc of radius √τ there.
    pub fn whitened(
        zlo: [f64; 2],
        zhi: [f64; 2],
        n: [usize; 2],
        drift: impl Fn([f64; 2], f64) -> [f64; 2] + Send + Sync + 'static,
        d: &DMatrix<f64>,
        p0: impl Fn([f64; 2]) -> f64,
    ) -> Result<Self> {
        let (l, linv) = Self::factor(d)?;
        let s = Self::build(l, linv, zlo, zhi, n, Box::new(drift), &p0)?;
        s.check_start()?;
        Ok(s)
    }

    /// Refuses a start that reaches the walls (more than [`WALL_MASS_LIMIT`]
    /// of its mass in the boundary cells: the box truncates it).
    fn check_start(&self) -> Result<()> {
        let wall = self.wall_mass();
        if wall > WALL_MASS_LIMIT {
            return Err(Error::setting(
                "p0",
                format!(
                    "reaches the walls of the box: {wall:.3e} of its mass in the box lies in the boundary cells (limit {WALL_MASS_LIMIT:e}), and {:.3e} of a unit mass lies outside the box; the box would truncate it: widen the box",
                    self.mass_outside
                ),
            ));
        }
        Ok(())
    }

    /// Replaces the density by new cell values (z-density cell averages,
    /// cell (i, j) at index i + n₀·j, as [`cell_averages`](Self::cell_averages)
    /// gives them) and resets the clock to τ = 0. Unlike the constructors it
    /// accepts a density that reaches the walls (a law on the bounded box,
    /// whose walls reflect), and any mass.
    ///
    /// # Errors
    /// As [`super::grid1d::FokkerPlanck1d::restart`].
    pub fn restart(&mut self, cells: Vec<f64>) -> Result<()> {
        super::restart(self, cells)?;
        self.mass_outside = 1.0 - self.mass();
        Ok(())
    }

    /// 1 − (mass of the start in the box): for a start given as a probability
    /// density, the mass the box left out.
    pub fn mass_outside_at_start(&self) -> f64 {
        self.mass_outside
    }

    /// The fraction of the mass in the boundary cells (the outer ring).
    pub fn wall_mass(&self) -> f64 {
        let [nx, ny] = self.n;
        let total: f64 = self.p.iter().sum();
        if total <= 0.0 {
            return 0.0;
        }
        let mut w = 0.0;
        for j in 0..ny {
            for i in 0..nx {
                if i == 0 || j == 0 || i + 1 == nx || j + 1 == ny {
                    w += self.p[i + nx * j];
                }
            }
        }
        w / total
    }

    /// A solver on the box [lo, hi] in y for drift b(y, τ) and a diagonal,
    /// state-dependent diffusion K⁻¹(y) = diag(D₁(y), D₂(y)): the flux of axis
    /// a is bₐp − ½∂ₐ(Dₐp), discretised as in 1-D with q = Dₐp, so the
    /// stationary law of the potential drift −½DₐV_a + ½∂ₐDₐ is e^{−V} to O(h²).
    pub fn diagonal(
        lo: [f64; 2],
        hi: [f64; 2],
        n: [usize; 2],
        drift: impl Fn([f64; 2], f64) -> [f64; 2] + Send + Sync + 'static,
        diffusion: impl Fn([f64; 2]) -> [f64; 2] + Send + Sync + 'static,
        p0: impl Fn([f64; 2]) -> f64,
    ) -> Result<Self> {
        let id = Matrix2::identity();
        let mut s = Self::build(id, id, lo, hi, n, Box::new(drift), &p0)?;
        let check = |y: [f64; 2], comp: usize, what: &str| -> Result<f64> {
            let d = diffusion(y)[comp];
            if d.is_finite() && d > 0.0 {
                Ok(d)
            } else {
                Err(Error::domain(
                    "diffusion",
                    d,
                    format!(
                        "must be finite and > 0: K^-1_{{{0}{0}}}(y) at {what} (y = {y:?})",
                        comp + 1
                    ),
                ))
            }
        };
        let [nx, ny] = n;
        let mut center = Vec::with_capacity(nx * ny);
        for j in 0..ny {
            for i in 0..nx {
                let c = s.zcenter(i, j);
                let what = format!("the centre of cell ({i}, {j})");
                center.push([check(c, 0, &what)?, check(c, 1, &what)?]);
            }
        }
        let mut face = [Vec::with_capacity(nx * ny), Vec::with_capacity(nx * ny)];
        for (axis, fa) in face.iter_mut().enumerate() {
            for j in 0..ny {
                for i in 0..nx {
                    let zf = s.zface(i, j, axis);
                    let interior = if axis == 0 { i + 1 < nx } else { j + 1 < ny };
                    fa.push(if interior {
                        check(
                            zf,
                            axis,
                            &format!("the face of cell ({i}, {j}) along axis {axis}"),
                        )?
                    } else {
                        f64::NAN
                    });
                }
            }
        }
        s.diag = Some(DiagonalTables { center, face });
        s.check_start()?;
        Ok(s)
    }

    fn factor(d: &DMatrix<f64>) -> Result<(Matrix2<f64>, Matrix2<f64>)> {
        if d.nrows() != 2 || d.ncols() != 2 {
            return Err(Error::Shape {
                what: "the 2-D diffusion K⁻¹".into(),
                got: format!("{}×{}", d.nrows(), d.ncols()),
                expected: "2×2".into(),
            });
        }
        if linalg::asymmetry(d) > 1e-12 {
            return Err(Error::NotSymmetric {
                what: "diffusion K⁻¹".into(),
            });
        }
        let c = linalg::cholesky(d, "diffusion K⁻¹")?;
        let lf = c.l();
        let l = Matrix2::new(lf[(0, 0)], 0.0, lf[(1, 0)], lf[(1, 1)]);
        let linv = l.try_inverse().expect("Cholesky factor is invertible");
        Ok((l, linv))
    }

    fn build(
        l: Matrix2<f64>,
        linv: Matrix2<f64>,
        zlo: [f64; 2],
        zhi: [f64; 2],
        n: [usize; 2],
        drift: Drift2d,
        p0: &dyn Fn([f64; 2]) -> f64,
    ) -> Result<Self> {
        if !(zlo[0] < zhi[0] && zlo[1] < zhi[1]) || n[0] < 3 || n[1] < 3 {
            return Err(Error::domain(
                "grid",
                format!("{zlo:?}..{zhi:?}, {n:?} cells"),
                "needs lo < hi and at least 3 cells per axis",
            ));
        }
        let h = [
            (zhi[0] - zlo[0]) / n[0] as f64,
            (zhi[1] - zlo[1]) / n[1] as f64,
        ];
        let mut s = FokkerPlanck2d {
            l,
            linv,
            det_l: l[(0, 0)] * l[(1, 1)],
            zlo,
            h,
            n,
            drift,
            diag: None,
            p: vec![],
            tau: 0.0,
            mass_outside: 0.0,
        };
        s.p = s.cell_averages(p0);
        check_density("p0", "the starting density", &s.p, |k| s.cell_name(k))?;
        s.mass_outside = 1.0 - s.mass();
        Ok(s)
    }

    fn zcenter(&self, i: usize, j: usize) -> [f64; 2] {
        [
            self.zlo[0] + (i as f64 + 0.5) * self.h[0],
            self.zlo[1] + (j as f64 + 0.5) * self.h[1],
        ]
    }

    /// The face between cell (i, j) and its upper neighbour along `axis`
    /// (computed as zlo + (index + 1)·h, so that faces fall on round values).
    fn zface(&self, i: usize, j: usize, axis: usize) -> [f64; 2] {
        let mut z = self.zcenter(i, j);
        let k = if axis == 0 { i } else { j };
        z[axis] = self.zlo[axis] + (k + 1) as f64 * self.h[axis];
        z
    }

    fn to_y(&self, z: [f64; 2]) -> [f64; 2] {
        let y = self.l * Vector2::new(z[0], z[1]);
        [y[0], y[1]]
    }

    /// The cell values this solver would start from for the y-density `f`:
    /// cell averages, in z, of the z-density f(Lz)·det L (3×3 Gauss–Legendre
    /// per cell), in the order of [`restart`](Self::restart).
    pub fn cell_averages(&self, f: &dyn Fn([f64; 2]) -> f64) -> Vec<f64> {
        let (x, w) = GAUSS_LEGENDRE_3;
        let mut out = Vec::with_capacity(self.n[0] * self.n[1]);
        for j in 0..self.n[1] {
            for i in 0..self.n[0] {
                let c = self.zcenter(i, j);
                let mut s = 0.0;
                for a in 0..3 {
                    for b in 0..3 {
                        let z = [c[0] + self.h[0] * x[a], c[1] + self.h[1] * x[b]];
                        s += w[a] * w[b] * f(self.to_y(z));
                    }
                }
                out.push(s * self.det_l);
            }
        }
        out
    }

    /// Whitened drift L⁻¹b(Lz, τ) at the face `what`, checked.
    fn zdrift(&self, z: [f64; 2], tau: f64, what: impl Fn() -> String) -> Result<[f64; 2]> {
        let y = self.to_y(z);
        let b = (self.drift)(y, tau);
        if !(b[0].is_finite() && b[1].is_finite()) {
            return Err(Error::setting(
                "drift",
                format!(
                    "b(y, tau) = {b:?} at {} (y = {y:?}) at tau = {tau}: it must be finite at every face",
                    what()
                ),
            ));
        }
        let a = self.linv * Vector2::new(b[0], b[1]);
        Ok([a[0], a[1]])
    }

    /// Calls `f(cell, neighbour, axis, α, β, P)` for every interior face, with
    /// J = α p_cell − β p_neighbour the flux per unit face length and P the
    /// cell Péclet number (in z).
    fn for_faces(
        &self,
        tau: f64,
        mut f: impl FnMut(usize, usize, usize, f64, f64, f64),
    ) -> Result<()> {
        let [nx, ny] = self.n;
        for j in 0..ny {
            for i in 0..nx {
                for axis in 0..2 {
                    let (ii, jj) = if axis == 0 { (i + 1, j) } else { (i, j + 1) };
                    if ii >= nx || jj >= ny {
                        continue;
                    }
                    let zf = self.zface(i, j, axis);
                    let h = self.h[axis];
                    let b = self.zdrift(zf, tau, || {
                        format!("the face between cells ({i}, {j}) and ({ii}, {jj})")
                    })?[axis];
                    let (pe, da, db) = match &self.diag {
                        None => (2.0 * h * b, 1.0, 1.0),
                        Some(t) => (
                            2.0 * h * b / t.face[axis][i + nx * j],
                            t.center[i + nx * j][axis],
                            t.center[ii + nx * jj][axis],
                        ),
                    };
                    f(
                        i + nx * j,
                        ii + nx * jj,
                        axis,
                        bernoulli(-pe) * da / (2.0 * h),
                        bernoulli(pe) * db / (2.0 * h),
                        pe,
                    );
                }
            }
        }
        Ok(())
    }

    fn rhs(&self, p: &[f64], tau: f64, out: &mut [f64]) -> Result<()> {
        out.iter_mut().for_each(|v| *v = 0.0);
        self.for_faces(tau, |a, b, axis, al, be, _| {
            let j = (al * p[a] - be * p[b]) / self.h[axis];
            out[a] -= j;
            out[b] += j;
        })
    }

    /// The largest positivity-preserving forward-Euler (and SSP-RK2) step at τ.
    ///
    /// # Errors
    /// A drift that is not finite at a face (naming it).
    pub fn step_limit(&self, tau: f64) -> Result<f64> {
        Ok(self.limits_at(tau)?.0)
    }

    fn limits_at(&self, tau: f64) -> Result<(f64, f64, String)> {
        let mut out = vec![0.0; self.p.len()];
        let pmax = self.p.iter().copied().fold(0.0, f64::max);
        let cut = super::PECLET_DENSITY_CUTOFF * pmax;
        let (mut pe_max, mut at) = (0.0f64, (0usize, 0usize, 0usize));
        self.for_faces(tau, |a, b, axis, al, be, pe| {
            out[a] += al / self.h[axis];
            out[b] += be / self.h[axis];
            if self.p[a].max(self.p[b]) >= cut && pe.abs() > pe_max {
                pe_max = pe.abs();
                at = (a, b, axis);
            }
        })?;
        let (a, _, axis) = at;
        let zf = self.zface(a % self.n[0], a / self.n[0], axis);
        let where_ = format!(
            "face along axis {axis} at y = {:?}, tau = {tau}",
            self.to_y(zf)
        );
        Ok((
            1.0 / out.iter().copied().fold(0.0, f64::max),
            pe_max,
            where_,
        ))
    }

    /// One SSP-RK2 step of size `dt` (no positivity guard: see
    /// [`step_limit`](Self::step_limit)).
    ///
    /// # Errors
    /// As [`super::grid1d::FokkerPlanck1d::step`].
    pub fn step(&mut self, dt: f64) -> Result<()> {
        super::step(self, dt)
    }

    /// Advances to `tau_end` ≥ τ with 0.9 × the positivity limit at both ends
    /// of each step; returns the step count and the accuracy diagnostics
    /// ([`Advance::warnings`]).
    ///
    /// # Errors
    /// See `advance_to` (fokker_planck/mod.rs).
    pub fn advance_to(&mut self, tau_end: f64) -> Result<Advance> {
        super::advance_to(self, tau_end)
    }

    /// The current time.
    pub fn tau(&self) -> f64 {
        self.tau
    }

    /// Total mass.
    pub fn mass(&self) -> f64 {
        self.p.iter().sum::<f64>() * self.h[0] * self.h[1]
    }

    /// The smallest cell value.
    pub fn min(&self) -> f64 {
        min_cell(&self.p)
    }

    /// Mean and covariance in y (midpoint rule in z, mapped by L).
    pub fn moments(&self) -> (Vector2<f64>, Matrix2<f64>) {
        let mut m = Vector2::zeros();
        let mut s = Matrix2::zeros();
        let mass: f64 = self.p.iter().sum();
        for j in 0..self.n[1] {
            for i in 0..self.n[0] {
                let c = self.zcenter(i, j);
                let z = Vector2::new(c[0], c[1]);
                let w = self.p[i + self.n[0] * j] / mass;
                m += w * z;
                s += w * z * z.transpose();
            }
        }
        let cov = s - m * m.transpose();
        (self.l * m, self.l * cov * self.l.transpose())
    }

    /// The y-density at y by bilinear interpolation of the cell values in z
    /// (0 outside the domain).
    pub fn density_at(&self, y: [f64; 2]) -> f64 {
        let z = self.linv * Vector2::new(y[0], y[1]);
        let mut idx = [0usize; 2];
        let mut t = [0.0; 2];
        for k in 0..2 {
            let s = (z[k] - self.zlo[k]) / self.h[k] - 0.5;
            if s < -0.5 || s > self.n[k] as f64 - 0.5 {
                return 0.0;
            }
            let s = s.clamp(0.0, (self.n[k] - 1) as f64 - 1e-12);
            idx[k] = s.floor() as usize;
            t[k] = s - idx[k] as f64;
        }
        let at =
            |i: usize, j: usize| self.p[i.min(self.n[0] - 1) + self.n[0] * j.min(self.n[1] - 1)];
        let [i, j] = idx;
        let v = (1.0 - t[0]) * (1.0 - t[1]) * at(i, j)
            + t[0] * (1.0 - t[1]) * at(i + 1, j)
            + (1.0 - t[0]) * t[1] * at(i, j + 1)
            + t[0] * t[1] * at(i + 1, j + 1);
        v / self.det_l
    }

    /// L¹ distance to a reference y-density (cell averages compared in z; the
    /// L¹ norm is invariant under the change of variables).
    pub fn l1_error(&self, exact: impl Fn([f64; 2]) -> f64) -> f64 {
        l1_distance(&self.p, &self.cell_averages(&exact), &self.h)
    }
}

super::explicit_by_inherent!(FokkerPlanck2d);

impl FokkerPlanck2d {
    fn cell_name(&self, k: usize) -> String {
        let (i, j) = (k % self.n[0], k / self.n[0]);
        format!("cell ({i}, {j}) (y = {:?})", self.to_y(self.zcenter(i, j)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gaussian::Gaussian;
    use nalgebra::DVector;

    #[test]
    fn correlated_heat_kernel_with_linear_drift() {
        // Oracle: drift c (constant), D = K⁻¹ constant with correlation 0.9,
        // start N(m0, S0) → N(m0 + cτ, S0 + τD) (conventions.md).
        let d = DMatrix::from_row_slice(2, 2, &[1.0, 0.9 * 0.5, 0.9 * 0.5, 0.25]);
        let s0 = DMatrix::from_row_slice(2, 2, &[0.2, -0.05, -0.05, 0.1]);
        let m0 = DVector::from_vec(vec![-0.5, 0.3]);
        let c = [0.4, -0.2];
        let tau = 1.0;
        let g0 = Gaussian::new(m0.clone(), s0.clone()).unwrap();
        let mut fp = FokkerPlanck2d::whitened(
            // In z the start has covariance L⁻¹S0L⁻ᵀ (z₂ sd ≈ 2, mean ≈ 2.4)
            // plus τI by the end: ±14 keeps the boundary > 5 sd away.
            [-10.0, -14.0],
            [10.0, 14.0],
            [140, 196],
            move |_, _| c,
            &d,
            move |y| g0.ln_pdf(&y).exp(),
        )
        .unwrap();
        let m_start = fp.mass();
        let steps = fp.advance_to(tau).unwrap().steps;
        let m = &m0 + DVector::from_vec(vec![c[0] * tau, c[1] * tau]);
        let s = &s0 + &d * tau;
        let g = Gaussian::new(m.clone(), s.clone()).unwrap();
        let (mm, ss) = fp.moments();
        eprintln!("2-D: {steps} steps, mean {mm:?}, cov {ss:?}");
        for k in 0..2 {
            assert!((mm[k] - m[k]).abs() < 5e-3);
            for l in 0..2 {
                assert!((ss[(k, l)] - s[(k, l)]).abs() < 1e-2);
            }
        }
        let l1 = fp.l1_error(|y| g.ln_pdf(&y).exp());
        eprintln!("2-D L1 {l1}");
        assert!(l1 < 5e-3, "L1 {l1}");
        assert!((fp.mass() - m_start).abs() < 1e-12);
        assert!(fp.min() >= 0.0);
        let y = [m[0] + 0.3, m[1] - 0.1];
        assert!((fp.density_at(y) - g.ln_pdf(&y).exp()).abs() < 1e-2);
    }

    #[test]
    fn second_order_in_h_with_rotating_drift() {
        // OU with a non-normal drift matrix: b = −B y, B = [[1, 0.8], [−0.8, 1]],
        // D correlated. Exact law N(e^{−Bτ}m0, Σ(τ)) with
        // Σ(τ) = e^{−Bτ}S0e^{−Bᵀτ} + ∫₀^τ e^{−Bs}De^{−Bᵀs} ds (computed by a
        // fine RK4 on Σ̇ = −BΣ − ΣBᵀ + D). The L¹ error must fall at order 2 ± 0.3.
        let bm = Matrix2::new(1.0, 0.8, -0.8, 1.0);
        let d = Matrix2::new(0.6, 0.3, 0.3, 0.4);
        let m0 = Vector2::new(1.0, -0.5);
        let s0 = Matrix2::new(0.1, 0.0, 0.0, 0.1);
        let tau = 0.5;
        let (mut m, mut s) = (m0, s0);
        let nstep = 2000;
        let dt = tau / nstep as f64;
        let fm = |m: &Vector2<f64>| -bm * m;
        let fs = |s: &Matrix2<f64>| -bm * s - s * bm.transpose() + d;
        for _ in 0..nstep {
            let (k1, l1) = (fm(&m), fs(&s));
            let (k2, l2) = (fm(&(m + 0.5 * dt * k1)), fs(&(s + 0.5 * dt * l1)));
            let (k3, l3) = (fm(&(m + 0.5 * dt * k2)), fs(&(s + 0.5 * dt * l2)));
            let (k4, l4) = (fm(&(m + dt * k3)), fs(&(s + dt * l3)));
            m += dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
            s += dt / 6.0 * (l1 + 2.0 * l2 + 2.0 * l3 + l4);
        }
        let exact = Gaussian::new(
            DVector::from_column_slice(m.as_slice()),
            DMatrix::from_column_slice(2, 2, s.as_slice()),
        )
        .unwrap();
        let start = Gaussian::new(
            DVector::from_column_slice(m0.as_slice()),
            DMatrix::from_column_slice(2, 2, s0.as_slice()),
        )
        .unwrap();
        let dd = DMatrix::from_column_slice(2, 2, d.as_slice());
        let mut errs = vec![];
        let mut hs = vec![];
        for n in [30, 60, 120] {
            let st = start.clone();
            let mut fp = FokkerPlanck2d::whitened(
                [-6.0, -6.0],
                [6.0, 6.0],
                [n, n],
                move |y, _| {
                    let b = -bm * Vector2::new(y[0], y[1]);
                    [b[0], b[1]]
                },
                &dd,
                move |y| st.ln_pdf(&y).exp(),
            )
            .unwrap();
            fp.advance_to(tau).unwrap();
            hs.push(12.0 / n as f64);
            errs.push(fp.l1_error(|y| exact.ln_pdf(&y).exp()));
        }
        let sl = (errs[0] / errs[2]).ln() / (hs[0] / hs[2]).ln();
        eprintln!("2-D L1 errors {errs:?}, order {sl}");
        assert!((sl - 2.0).abs() < 0.3, "order {sl}");
    }

    #[test]
    fn mass_and_positivity_under_a_strong_rotating_drift() {
        // A discontinuous start (uniform on a square) in a strong, time-
        // dependent swirl with a weak correlated diffusion: cell Péclet numbers
        // ≫ 1. The grid is built from a y-box (bounding box of its image in z).
        let d = DMatrix::from_row_slice(2, 2, &[0.02, 0.01, 0.01, 0.03]);
        let swirl = |y: [f64; 2], t: f64| {
            let s = 8.0 * (1.0 + t);
            [-s * y[1] - y[0], s * y[0] - y[1]]
        };
        let start = |y: [f64; 2]| {
            if (0.2..0.8).contains(&y[0]) && (-0.3..0.3).contains(&y[1]) {
                1.0 / 0.36
            } else {
                0.0
            }
        };
        let mut fp =
            FokkerPlanck2d::new([-1.5, -1.5], [1.5, 1.5], [60, 60], swirl, &d, start).unwrap();
        let m0 = fp.mass();
        let mut worst = f64::INFINITY;
        while fp.tau() < 0.3 {
            fp.advance_to((fp.tau() + 0.01).min(0.3)).unwrap();
            worst = worst.min(fp.min());
        }
        crate::fokker_planck::assert_positive_conserved(worst, m0, fp.mass());
        // The mean of a linear drift solves ṁ = B(τ)m exactly: a rotation
        // times e^{−τ}, so |m(τ)| = |m(0)|e^{−τ} = 0.5e^{−0.3}. Here the cell
        // Péclet number is ≈ 37, where Scharfetter–Gummel is first-order
        // upwind: error O(h|∇b|τ) ≈ 0.05 · 8 · 0.3 ≈ 0.1 at most (measured 0.022).
        let (m, _) = fp.moments();
        assert!(
            (m.norm() - 0.5 * (-0.3f64).exp()).abs() < 0.05,
            "|m| = {}",
            m.norm()
        );
        // A run at 3× the limit goes negative, so the check above can fail.
        let mut bad =
            FokkerPlanck2d::new([-1.5, -1.5], [1.5, 1.5], [60, 60], swirl, &d, start).unwrap();
        crate::fokker_planck::assert_goes_negative(|| {
            let dt = 3.0 * bad.step_limit(bad.tau()).unwrap();
            bad.step(dt).unwrap();
            bad.min()
        });
    }

    #[test]
    fn stationary_law_with_state_dependent_diagonal_diffusion() {
        // V = y₁⁴/4 + y₂²/2 + 0.5y₁y₂, D(y) = (1 + 0.5 sin 1.3y₁, 1 + 0.4 cos y₂) and
        // the drift −½DₐVₐ + ½∂ₐDₐ: the stationary law is e^{−V}/Z (conventions.md).
        // (i) The generator applied to the cell averages of e^{−V} (the
        // stationary residual) is O(h²): it must fall at order 2 ± 0.3 and be
        // O(1) without the ½∂ₐDₐ term. (ii) A run from N(0, I) on a coarse 30²
        // grid reaches e^{−V} to within its O(h²) error (h ≈ 0.25, < 2e-2 in L¹).
        let v = |y: [f64; 2]| y[0].powi(4) / 4.0 + y[1] * y[1] / 2.0 + 0.5 * y[0] * y[1];
        let gv = |y: [f64; 2]| [y[0].powi(3) + 0.5 * y[1], y[1] + 0.5 * y[0]];
        // Dₐ depends on yₐ, so that the divergence term ∂ₐDₐ does not vanish.
        let dfn = |y: [f64; 2]| [1.0 + 0.5 * (1.3 * y[0]).sin(), 1.0 + 0.4 * y[1].cos()];
        let div = |y: [f64; 2]| [0.65 * (1.3 * y[0]).cos(), -0.4 * y[1].sin()];
        let drift = move |y: [f64; 2], with: bool| {
            let (g, d, dv) = (gv(y), dfn(y), div(y));
            let k = if with { 0.5 } else { 0.0 };
            [
                -0.5 * d[0] * g[0] + k * dv[0],
                -0.5 * d[1] * g[1] + k * dv[1],
            ]
        };
        let (lo, hi) = ([-3.5, -4.5], [3.5, 4.5]);
        // Z on a fine midpoint grid.
        let z = {
            let n = 1400;
            let (hx, hy) = ((hi[0] - lo[0]) / n as f64, (hi[1] - lo[1]) / n as f64);
            let mut s = 0.0;
            for j in 0..n {
                for i in 0..n {
                    s += (-v([lo[0] + (i as f64 + 0.5) * hx, lo[1] + (j as f64 + 0.5) * hy])).exp();
                }
            }
            s * hx * hy
        };
        let target = move |y: [f64; 2]| (-v(y)).exp() / z;
        let narrow = |y: [f64; 2]| {
            (-(y[0] * y[0] + y[1] * y[1]) / 0.72).exp() / (0.72 * std::f64::consts::PI)
        };
        let residual = |n: usize, with: bool| {
            // e^{−V} on the box reaches its walls (a law on the bounded box):
            // set by `restart`, which allows that, after a start inside.
            let mut fp =
                FokkerPlanck2d::diagonal(lo, hi, [n, n], move |y, _| drift(y, with), dfn, narrow)
                    .unwrap();
            fp.restart(fp.cell_averages(&target)).unwrap();
            let mut r = vec![0.0; fp.p.len()];
            fp.rhs(&fp.p, 0.0, &mut r).unwrap();
            r.iter().map(|x| x.abs()).sum::<f64>() * fp.h[0] * fp.h[1]
        };
        let errs: Vec<f64> = [20, 40, 80].iter().map(|&n| residual(n, true)).collect();
        let order = (errs[0] / errs[2]).ln() / 4f64.ln();
        let without = residual(80, false);
        eprintln!("2-D stationary residuals {errs:?}, order {order}; without ½∂D: {without}");
        assert!((order - 2.0).abs() < 0.3, "order {order}");
        assert!(without > 20.0 * errs[2]);

        let mut fp =
            FokkerPlanck2d::diagonal(lo, hi, [30, 30], move |y, _| drift(y, true), dfn, narrow)
                .unwrap();
        let m0 = fp.mass();
        fp.advance_to(8.0).unwrap();
        let l1 = fp.l1_error(target) / m0;
        eprintln!("2-D run to τ = 8: L¹ to e^(−V) {l1}");
        assert!(l1 < 2e-2);
        assert!((fp.mass() - m0).abs() < 1e-12);
    }

    #[test]
    fn issue_cases_are_refused_in_2d() {
        // The 2-D counterparts of the 1-D issue cases: a drift infinite at a
        // face, a diagonal diffusion negative at cell centres but positive at
        // the grid's nodes (where it used to be checked), a start that leaves
        // the box (N(0, I) on [−1, 1]²: 1 − erf(1/√2)² = 0.534 outside, closed
        // form), going backwards.
        let d = DMatrix::identity(2, 2);
        let start = |y: [f64; 2]| {
            (-((y[0] - 0.2).powi(2) + y[1] * y[1]) / 0.02).exp() / (0.02 * std::f64::consts::PI)
        };
        let mut fp = FokkerPlanck2d::new(
            [-1.0; 2],
            [1.0; 2],
            [10, 10],
            |y, _| [1.0 / y[0], 0.0],
            &d,
            start,
        )
        .unwrap();
        let e = fp.advance_to(0.1).unwrap_err();
        assert!(
            e.to_string().contains("inf") && e.to_string().contains("face between cells (4, "),
            "{e}"
        );
        let e = FokkerPlanck2d::diagonal(
            [-1.0; 2],
            [1.0; 2],
            [10, 10],
            |_, _| [0.0; 2],
            |y| [(10.0 * std::f64::consts::PI * (y[0] + 1.0)).cos(), 1.0],
            start,
        )
        .err()
        .unwrap();
        assert!(
            e.to_string().contains(
                "`diffusion` = -1 must be finite and > 0: K^-1_{11}(y) at the centre of cell (0, 0)"
            ),
            "{e}"
        );
        let e = FokkerPlanck2d::new(
            [-1.0; 2],
            [1.0; 2],
            [20, 20],
            |_, _| [0.0; 2],
            &d,
            |y| (-(y[0] * y[0] + y[1] * y[1]) / 2.0).exp() / (2.0 * std::f64::consts::PI),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("5.339e-1 of a unit mass"), "{e}");
        let mut fp =
            FokkerPlanck2d::new([-1.0; 2], [1.0; 2], [20, 20], |_, _| [0.0; 2], &d, start).unwrap();
        fp.advance_to(0.01).unwrap();
        assert!(
            fp.advance_to(0.005)
                .unwrap_err()
                .to_string()
                .contains("forward only")
        );
    }

    #[test]
    fn rejects_indefinite_diffusion() {
        let d = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
        let e = FokkerPlanck2d::new([-1.0; 2], [1.0; 2], [10, 10], |_, _| [0.0; 2], &d, |_| 1.0)
            .err()
            .unwrap();
        assert!(e.to_string().contains("diffusion K⁻¹"));
    }
}

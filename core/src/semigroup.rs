//! The conditional-expectation semigroup of a diffusion, eqs. (20)–(24).
//!
//! E_t acts on functions through the heat kernel π(y, y₀; t), the transition
//! density from y₀ to y in time t (eq. 22):
//!
//!   E_t f(y) = ∫ π(y, y₀; t) f(y₀) dy₀,
//!
//! so that p_t = E_t(p₀) (eqs. 20, 23) and E_{t₂}∘E_{t₁} = E_{t₁+t₂} (eq. 24).
//! For a constant drift v and constant K (eq. 21 in the convention of
//! docs/conventions.md) the kernel is π(y, y₀; t) = N(y; y₀ + vt, tK⁻¹), and
//! [`HeatSemigroup`] evaluates E_t f(y) = E_ξ f(y − vt − √t Lξ), LLᵀ = K⁻¹,
//! ξ ~ N(0, I), by tensor Gauss–Hermite quadrature. For a general drift and
//! diffusion the semigroup acting on densities is the Fokker–Planck propagator
//! ([`crate::fokker_planck`]; restart a solver from any density to apply it).

use crate::error::{Error, Result};
use crate::gaussian::Gaussian;
use crate::linalg;
use crate::quadrature::gauss_hermite;
use nalgebra::{DMatrix, DVector};

/// The semigroup of dY = v dt + θ dW, θθᵀ = K⁻¹, with v and K constant.
#[derive(Debug, Clone)]
pub struct HeatSemigroup {
    velocity: DVector<f64>,
    kinv: DMatrix<f64>,
    l: DMatrix<f64>,
    nodes: Vec<f64>,
    weights: Vec<f64>,
}

impl HeatSemigroup {
    /// The semigroup of drift `velocity` (γ̇, constant) and diffusion `kinv`
    /// (K⁻¹, symmetric positive definite), with a 24-point Gauss–Hermite rule
    /// per dimension (exact for polynomial f of degree < 48 in each variable).
    pub fn new(velocity: DVector<f64>, kinv: DMatrix<f64>) -> Result<Self> {
        if kinv.nrows() != velocity.len() {
            return Err(Error::Msg(format!(
                "K⁻¹ is {}×{} but the drift has {} entries",
                kinv.nrows(),
                kinv.ncols(),
                velocity.len()
            )));
        }
        if linalg::asymmetry(&kinv) > 1e-12 {
            return Err(Error::Msg("K⁻¹ is not symmetric".into()));
        }
        let l = linalg::cholesky(&kinv, "K⁻¹")?.l();
        let (nodes, weights) = gauss_hermite(24);
        Ok(HeatSemigroup {
            velocity,
            kinv,
            l,
            nodes,
            weights,
        })
    }

    /// Uses an m-point Gauss–Hermite rule per dimension (mᵈ evaluations of f
    /// per point y).
    pub fn with_nodes(mut self, m: usize) -> Self {
        let (x, w) = gauss_hermite(m.max(1));
        self.nodes = x;
        self.weights = w;
        self
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        self.velocity.len()
    }

    /// The heat kernel π(·, y₀; t) = N(y₀ + vt, tK⁻¹) as a Gaussian in y
    /// (eq. 21); t > 0.
    pub fn kernel(&self, y0: &[f64], t: f64) -> Result<Gaussian> {
        if !(t > 0.0 && t.is_finite()) {
            return Err(Error::Msg(format!("kernel time must be > 0, got {t}")));
        }
        let m = DVector::from_column_slice(y0) + &self.velocity * t;
        Gaussian::new(m, &self.kinv * t)
    }

    /// E_t f(y) = ∫ π(y, y₀; t) f(y₀) dy₀ (eq. 22), by tensor Gauss–Hermite
    /// quadrature over y₀ = y − vt − √t Lξ. E_0 is the identity.
    ///
    /// # Panics
    /// If `y` does not have the semigroup's dimension.
    pub fn apply(&self, t: f64, f: &dyn Fn(&[f64]) -> f64, y: &[f64]) -> f64 {
        let d = self.dim();
        assert_eq!(y.len(), d, "point has the wrong dimension");
        if t == 0.0 {
            return f(y);
        }
        let m = self.nodes.len();
        let st = t.sqrt();
        let mut idx = vec![0usize; d];
        let mut y0 = vec![0.0; d];
        let mut total = 0.0;
        loop {
            let w: f64 = idx.iter().map(|&k| self.weights[k]).product();
            for (a, y0a) in y0.iter_mut().enumerate() {
                let mut s = y[a] - self.velocity[a] * t;
                for (b, &k) in idx.iter().enumerate().take(a + 1) {
                    s -= st * self.l[(a, b)] * self.nodes[k];
                }
                *y0a = s;
            }
            total += w * f(&y0);
            // Next multi-index.
            let mut k = 0;
            loop {
                if k == d {
                    return total;
                }
                idx[k] += 1;
                if idx[k] < m {
                    break;
                }
                idx[k] = 0;
                k += 1;
            }
        }
    }

    /// E_t applied to the Gaussian density N(·; μ, S), in closed form: the
    /// density N(·; μ + vt, S + tK⁻¹) (eq. 23 for a Gaussian p₀).
    pub fn apply_to_gaussian(&self, t: f64, g: &Gaussian) -> Result<Gaussian> {
        Gaussian::new(g.mean() + &self.velocity * t, g.cov() + &self.kinv * t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fokker_planck::grid1d::normal_pdf;
    use crate::fokker_planck::{FokkerPlanck1d, FokkerPlanck2d, Grid1d};

    fn semigroup_2d() -> HeatSemigroup {
        HeatSemigroup::new(
            DVector::from_vec(vec![0.3, -0.6]),
            DMatrix::from_row_slice(2, 2, &[0.8, 0.3, 0.3, 0.5]),
        )
        .unwrap()
    }

    #[test]
    fn acts_on_gaussians_and_on_constants_as_the_closed_form() {
        // Oracles: E_t 1 = 1 (a conditional expectation keeps normalisation);
        // E_t N(·; μ, S) = N(·; μ + vt, S + tK⁻¹); E_t cos(a·y) =
        // cos(a·(y − vt)) e^{−t aᵀK⁻¹a/2}.
        // 40 nodes: the integrand in ξ is a Gaussian narrower than the kernel,
        // where Gauss–Hermite converges geometrically but not fast.
        let e = semigroup_2d().with_nodes(40);
        let g = Gaussian::new(
            DVector::from_vec(vec![0.5, -1.0]),
            DMatrix::from_row_slice(2, 2, &[0.4, -0.1, -0.1, 0.3]),
        )
        .unwrap();
        let t = 0.7;
        let want = e.apply_to_gaussian(t, &g).unwrap();
        let a = [1.3, -0.7];
        let kaa = 0.8 * a[0] * a[0] + 2.0 * 0.3 * a[0] * a[1] + 0.5 * a[1] * a[1];
        for y in [[0.0, 0.0], [1.0, -2.0], [-0.5, 0.4]] {
            assert!((e.apply(t, &|_| 1.0, &y) - 1.0).abs() < 1e-13);
            let got = e.apply(t, &|x| g.ln_pdf(x).exp(), &y);
            let exact = want.ln_pdf(&y).exp();
            assert!(
                (got - exact).abs() < 1e-10 * exact.max(1e-3),
                "{got} vs {exact}"
            );
            let cos = e.apply(t, &|x| (a[0] * x[0] + a[1] * x[1]).cos(), &y);
            let arg = a[0] * (y[0] - 0.3 * t) + a[1] * (y[1] + 0.6 * t);
            assert!((cos - arg.cos() * (-0.5 * t * kaa).exp()).abs() < 1e-12);
        }
    }

    #[test]
    fn semigroup_property_eq_24() {
        // E_{t2}(E_{t1} f) against E_{t1+t2} f for a non-Gaussian, non-
        // polynomial f; both sides by independent quadratures (16² nodes nested
        // vs 24² direct). Agreement to 1e-9 relative.
        let inner = semigroup_2d().with_nodes(16);
        let outer = semigroup_2d().with_nodes(16);
        let direct = semigroup_2d();
        let f = |x: &[f64]| {
            (-(x[0] * x[0] + 2.0 * x[1] * x[1]) / 2.0).exp() * (1.0 + x[0] * x[1]).powi(2)
                + 0.3 * (2.0 * x[0]).sin()
        };
        let (t1, t2) = (0.4, 0.9);
        for y in [[0.2, -0.3], [1.5, 1.0], [-1.0, -2.0]] {
            let comp = outer.apply(t2, &|z| inner.apply(t1, &f, z), &y);
            let once = direct.apply(t1 + t2, &f, &y);
            assert!(
                (comp - once).abs() < 1e-9 * once.abs().max(1e-2),
                "{comp} vs {once}"
            );
            // And the property is not trivially true: E_{t1} f differs from E_{t1+t2} f.
            assert!((inner.apply(t1, &f, &y) - once).abs() > 1e-3);
        }
    }

    #[test]
    fn p_t_equals_e_t_p0_against_fokker_planck_1d() {
        // Eq. (23): p_t = E_t(p₀) with the non-Gaussian p₀ ∝ e^{−y⁴} (Z by the
        // trapezoid rule), against the 1-D grid solver at
        // 600 cells (its O(h²) error is ~1e-5 here: tolerance 2e-4).
        let (v, d, t) = (0.5, 0.6, 0.8);
        let z = {
            let n = 40_000;
            let h = 12.0 / n as f64;
            (0..=n)
                .map(|k| (-(-6.0 + k as f64 * h).powi(4)).exp())
                .sum::<f64>()
                * h
        };
        let p0 = move |y: f64| (-y.powi(4)).exp() / z;
        let g = Grid1d::new(-6.0, 6.0, 600).unwrap();
        let mut fp = FokkerPlanck1d::constant_diffusion(g, move |_, _| v, d, p0).unwrap();
        fp.advance_to(t);
        let e = HeatSemigroup::new(DVector::from_vec(vec![v]), DMatrix::from_element(1, 1, d))
            .unwrap()
            .with_nodes(80);
        let mut worst: f64 = 0.0;
        for i in (0..600).step_by(7) {
            let y = g.center(i);
            let et = e.apply(t, &|x| p0(x[0]), &[y]);
            worst = worst.max((et - fp.density_at(y)).abs());
        }
        eprintln!("|E_t p0 − FP| max {worst}");
        assert!(worst < 2e-4);

        // The grid propagator is a semigroup too (eq. 24 for a non-linear,
        // time-homogeneous drift): t1 then t2 against t1 + t2. The two runs use
        // different step sequences, so they agree to the O(Δτ²) time error.
        let drift = |y: f64, _t: f64| -y * y * y + 0.5 * y;
        let g = Grid1d::new(-4.0, 4.0, 200).unwrap();
        let start = |y: f64| normal_pdf(y, 1.0, 0.3);
        let mut a = FokkerPlanck1d::constant_diffusion(g, drift, 0.7, start).unwrap();
        a.advance_to(0.35);
        let mid = a.cells().to_vec();
        a.restart(mid).unwrap();
        a.advance_to(0.5);
        let mut b = FokkerPlanck1d::constant_diffusion(g, drift, 0.7, start).unwrap();
        b.advance_to(0.85);
        let diff: f64 = a
            .cells()
            .iter()
            .zip(b.cells())
            .map(|(x, y)| (x - y).abs())
            .sum::<f64>()
            * g.h();
        let moved: f64 = {
            let c = FokkerPlanck1d::constant_diffusion(g, drift, 0.7, start).unwrap();
            c.cells()
                .iter()
                .zip(b.cells())
                .map(|(x, y)| (x - y).abs())
                .sum::<f64>()
                * g.h()
        };
        eprintln!("grid semigroup: |E_.5 E_.35 − E_.85| = {diff}, |E_.85 − id| = {moved}");
        assert!(diff < 1e-6 && moved > 0.1);
    }

    #[test]
    fn p_t_equals_e_t_p0_against_fokker_planck_2d() {
        // Eq. (23) in 2-D with a correlated K⁻¹ and a two-component p₀: the
        // quadrature E_t(p₀) against the whitened 2-D grid solver.
        let e = semigroup_2d();
        let kinv = DMatrix::from_row_slice(2, 2, &[0.8, 0.3, 0.3, 0.5]);
        let g1 = Gaussian::new(
            DVector::from_vec(vec![-1.0, 0.5]),
            DMatrix::from_row_slice(2, 2, &[0.2, 0.05, 0.05, 0.1]),
        )
        .unwrap();
        let g2 = Gaussian::new(
            DVector::from_vec(vec![1.0, -0.5]),
            DMatrix::from_row_slice(2, 2, &[0.1, 0.0, 0.0, 0.3]),
        )
        .unwrap();
        let p0 = move |y: &[f64]| 0.4 * g1.ln_pdf(y).exp() + 0.6 * g2.ln_pdf(y).exp();
        let p0c = p0.clone();
        let t = 0.5;
        let mut fp = FokkerPlanck2d::whitened(
            [-7.0, -7.0],
            [7.0, 7.0],
            [140, 140],
            |_, _| [0.3, -0.6],
            &kinv,
            move |y| p0c(&y),
        )
        .unwrap();
        fp.advance_to(t);
        let mut worst: f64 = 0.0;
        for y in [[0.0, 0.0], [-0.8, 0.2], [1.2, -1.0], [0.5, -0.7]] {
            let et = e.apply(t, &p0, &y);
            worst = worst.max((et - fp.density_at(y)).abs());
        }
        eprintln!("2-D |E_t p0 − FP| max {worst}");
        // Peak density ~0.3; grid h = 0.1 in z gives O(h²) ≈ 3e-3 relative.
        assert!(worst < 3e-3);
    }
}

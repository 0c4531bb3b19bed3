//! The free scalar field on a periodic lattice (eqs. 3–6 with S_int = 0): a
//! Gaussian field φ on the sites of an N (1-D) or L₁×L₂ (2-D) periodic lattice
//! with one parameter per momentum mode.
//!
//! # Modes
//! The field is expanded in the real orthonormal Fourier basis of the lattice:
//! in 1-D the constant mode, cos(pₖx) and sin(pₖx) for 0 < k < N/2, and the
//! alternating mode (−1)ˣ when N is even, with pₖ = 2πk/N; in 2-D the products
//! of the 1-D modes of each axis. Each basis vector eⱼ is an eigenvector of the
//! lattice Laplacian with −Δeⱼ = p̂ⱼ² eⱼ, where p̂² = Σ_axes 4 sin²(p/2) is the
//! lattice momentum squared. The coefficients cⱼ = ⟨eⱼ, φ⟩ are independent,
//!
//!   cⱼ ~ N(0, 1/θⱼ),   p(φ | θ) ∝ Πⱼ √θⱼ · exp(−½ Σⱼ θⱼ cⱼ²),
//!
//! so θⱼ is the **stiffness** of mode j: the coefficient of the action
//! ½ φ(p) G(p²) K_Λ⁻¹(p²) φ(−p) of eq. (3). The free massive field is
//! θⱼ = p̂ⱼ² + m² (its action is ½ φᵀ(−Δ + m²)φ); with Polchinski's smooth
//! cutoff it is θⱼ = (p̂ⱼ² + m²)/K_Λ(p̂ⱼ²) ([`LatticeField::free_field_theta`]).
//!
//! # Fisher metric and KL (closed forms)
//! Per observation (one field configuration), Iⱼₖ = δⱼₖ/(2θⱼ²) and
//! KL(θ‖θ′) = ½ Σⱼ (θ′ⱼ/θⱼ − 1 − ln(θ′ⱼ/θⱼ)). On the free field the diagonal
//! Fisher is ½ K_Λ(p̂²)² / (p̂² + m²)², strictly decreasing in p̂², which is
//! why information shells (eq. 55) are Wilson's momentum shells; see
//! docs/lattice.md.

use bayesrg_core::ParamError;
use bayesrg_core::ad::{LogDensity, Real};
use bayesrg_core::geometry::closed_form::{self as cf, ClosedFormGeometry, KnownGeodesic};
use bayesrg_core::model::{Lattice, LatticeMode, Model, check_len};
use nalgebra::DMatrix;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::sync::OnceLock;

const LN_2PI: f64 = 1.837_877_066_409_345_5;
/// The largest number of lattice sites accepted.
pub const MAX_SITES: usize = 1024;

/// A Gaussian free field on a periodic lattice of `shape` (1 or 2 axes), with
/// one stiffness parameter per real Fourier mode.
///
/// Config field: `shape` (`[N]` or `[L1, L2]`, every axis ≥ 2 sites, at most
/// [`MAX_SITES`] sites), validated when the config is read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "RawLatticeField", into = "RawLatticeField")]
pub struct LatticeField {
    shape: Vec<usize>,
    basis: OnceLock<Basis>,
}

/// The config form of [`LatticeField`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLatticeField {
    /// Sites along each axis: `[N]` in 1-D, `[L1, L2]` in 2-D; each ≥ 2.
    pub shape: Vec<usize>,
}

impl TryFrom<RawLatticeField> for LatticeField {
    type Error = bayesrg_core::Error;
    fn try_from(r: RawLatticeField) -> bayesrg_core::Result<Self> {
        Ok(LatticeField::new(r.shape)?)
    }
}

impl From<LatticeField> for RawLatticeField {
    fn from(f: LatticeField) -> Self {
        RawLatticeField { shape: f.shape }
    }
}

/// One real Fourier mode of the lattice (the core's [`LatticeMode`]).
pub use bayesrg_core::model::LatticeMode as Mode;

#[derive(Debug, Clone)]
struct Basis {
    modes: Vec<Mode>,
    /// Rows: modes; columns: sites. Orthogonal: M Mᵀ = I.
    m: DMatrix<f64>,
}

/// The real orthonormal Fourier modes of a periodic chain of n sites:
/// (name, k, n×1 vector).
fn modes_1d(n: usize) -> Vec<(String, f64, Vec<f64>)> {
    let nf = n as f64;
    let mut out = vec![("0".to_string(), 0.0, vec![1.0 / nf.sqrt(); n])];
    for k in 1..n.div_ceil(2) {
        let p = 2.0 * PI * k as f64 / nf;
        let a = (2.0 / nf).sqrt();
        out.push((
            format!("{k}c"),
            p,
            (0..n).map(|x| a * (p * x as f64).cos()).collect(),
        ));
        out.push((
            format!("{k}s"),
            p,
            (0..n).map(|x| a * (p * x as f64).sin()).collect(),
        ));
    }
    if n.is_multiple_of(2) {
        out.push((
            format!("{}", n / 2),
            PI,
            (0..n)
                .map(|x| if x % 2 == 0 { 1.0 } else { -1.0 } / nf.sqrt())
                .collect(),
        ));
    }
    out
}

fn p_hat2(p: f64) -> f64 {
    4.0 * (p / 2.0).sin().powi(2)
}

// The cutoff K_Λ and the free-field formulas live with the lattice geometry
// in core (`bayesrg_core::geometry::lattice`), where the spectrum runner uses them.
pub use bayesrg_core::geometry::lattice::{
    Correspondence, Cutoff, ShellRow, TIE_RTOL, correspondence, free_field_fisher,
    free_field_theta, resolved_cutoff2, resolved_momentum2,
};

impl LatticeField {
    /// A lattice of the given shape.
    pub fn new(shape: Vec<usize>) -> Result<Self, ParamError> {
        let f = LatticeField {
            shape,
            basis: OnceLock::new(),
        };
        f.check_shape()?;
        Ok(f)
    }

    /// Sites along each axis.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Checks that the shape has 1 or 2 axes of at least 2 sites and at most
    /// [`MAX_SITES`] sites in all.
    fn check_shape(&self) -> Result<(), ParamError> {
        let s = &self.shape;
        if s.is_empty() || s.len() > 2 {
            return Err(ParamError::Other(format!(
                "`shape` must have 1 or 2 axes, got {s:?}"
            )));
        }
        if s.iter().any(|&n| n < 2) {
            return Err(ParamError::Other(format!(
                "`shape`: every axis needs at least 2 sites, got {s:?}"
            )));
        }
        let sites = s.iter().try_fold(1usize, |a, &n| a.checked_mul(n));
        if sites.is_none_or(|n| n > MAX_SITES) {
            return Err(ParamError::Other(format!(
                "`shape` {s:?} has more than {MAX_SITES} sites"
            )));
        }
        Ok(())
    }

    /// The number of sites (= the number of modes = the dimension).
    pub fn sites(&self) -> usize {
        self.shape.iter().product()
    }

    fn basis(&self) -> &Basis {
        self.basis.get_or_init(|| {
            let axes: Vec<_> = self.shape.iter().map(|&n| modes_1d(n)).collect();
            let n = self.sites();
            let (modes, rows): (Vec<Mode>, Vec<Vec<f64>>) = if axes.len() == 1 {
                axes[0]
                    .iter()
                    .map(|(name, p, v)| {
                        (
                            Mode {
                                name: name.clone(),
                                momentum: vec![*p],
                                p_hat2: p_hat2(*p),
                            },
                            v.clone(),
                        )
                    })
                    .unzip()
            } else {
                let mut out = vec![];
                for (na, pa, va) in &axes[0] {
                    for (nb, pb, vb) in &axes[1] {
                        // Site (x, y) is index x·L₂ + y.
                        let v: Vec<f64> = va
                            .iter()
                            .flat_map(|a| vb.iter().map(move |b| a * b))
                            .collect();
                        out.push((
                            Mode {
                                name: format!("{na}.{nb}"),
                                momentum: vec![*pa, *pb],
                                p_hat2: p_hat2(*pa) + p_hat2(*pb),
                            },
                            v,
                        ));
                    }
                }
                out.into_iter().unzip()
            };
            let m = DMatrix::from_fn(n, n, |j, x| rows[j][x]);
            Basis { modes, m }
        })
    }

    /// The modes, in parameter order.
    pub fn modes(&self) -> &[Mode] {
        &self.basis().modes
    }

    /// The mode coefficients c = Mφ of a field configuration.
    pub fn coefficients(&self, phi: &[f64]) -> Vec<f64> {
        let m = &self.basis().m;
        (0..m.nrows())
            .map(|j| m.row(j).iter().zip(phi).map(|(a, b)| a * b).sum())
            .collect()
    }

    /// The lattice Laplacian −Δ (periodic, nearest neighbours) as a matrix on sites.
    pub fn laplacian(&self) -> DMatrix<f64> {
        let n = self.sites();
        let mut l = DMatrix::zeros(n, n);
        let strides: Vec<usize> = if self.shape.len() == 1 {
            vec![1]
        } else {
            vec![self.shape[1], 1]
        };
        for x in 0..n {
            for (ax, &len) in self.shape.iter().enumerate() {
                let st = strides[ax];
                let coord = (x / st) % len;
                let up = x - coord * st + ((coord + 1) % len) * st;
                let dn = x - coord * st + ((coord + len - 1) % len) * st;
                l[(x, x)] += 2.0;
                l[(x, up)] -= 1.0;
                l[(x, dn)] -= 1.0;
            }
        }
        l
    }

    /// The free field's stiffnesses θⱼ = (p̂ⱼ² + m²)/K_Λ(p̂ⱼ²) (K_Λ = 1 without a cutoff).
    pub fn free_field_theta(&self, mass: f64, cutoff: Option<Cutoff>) -> Vec<f64> {
        free_field_theta(self, mass, cutoff)
    }
}

/// The log-density for automatic differentiation (tests the hand-written
/// score and Hessian).
impl LogDensity for LatticeField {
    fn ln_density<D: Real>(&self, theta: &[D], y: &[f64]) -> D {
        let c = self.coefficients(y);
        let mut s = D::from(0.0);
        for (t, c) in theta.iter().zip(&c) {
            s += (t.ln() - *t * (c * c) - LN_2PI) * 0.5;
        }
        s
    }
}

#[bayesrg_core::register_model(
    tag = "lattice_field",
    summary = "Gaussian free field on a periodic 1-D/2-D lattice, one stiffness per Fourier mode",
    example = || Box::new(LatticeField::new(vec![8]).expect("valid shape")),
    theta = || LatticeField::new(vec![8])
        .expect("valid shape")
        .free_field_theta(0.5, None)
)]
impl Model for LatticeField {
    fn lattice(&self) -> Option<&dyn Lattice> {
        Some(self)
    }
    fn fisher_rao(&self) -> Option<&dyn ClosedFormGeometry> {
        Some(self)
    }
    fn param_names(&self) -> Vec<String> {
        self.modes().iter().map(|m| m.name.clone()).collect()
    }
    fn dim(&self) -> usize {
        self.sites()
    }
    fn obs_dim(&self) -> usize {
        self.sites()
    }
    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)?;
        for (m, &t) in self.modes().iter().zip(theta) {
            if t <= 0.0 {
                return Err(ParamError::invalid(
                    m.name.clone(),
                    t,
                    "must be > 0 (a stiffness)",
                ));
            }
        }
        Ok(())
    }
    fn sample(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        let m = &self.basis().m;
        out.iter_mut().for_each(|v| *v = 0.0);
        for (j, &t) in theta.iter().enumerate() {
            let z: f64 = StandardNormal.sample(&mut *rng);
            let c = z / t.sqrt();
            for (o, b) in out.iter_mut().zip(m.row(j).iter()) {
                *o += c * b;
            }
        }
    }
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        let c = self.coefficients(y);
        theta
            .iter()
            .zip(&c)
            .map(|(t, c)| 0.5 * (t.ln() - t * c * c - LN_2PI))
            .sum()
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        let c = self.coefficients(y);
        for j in 0..theta.len() {
            out[j] = 0.5 * (1.0 / theta[j] - c[j] * c[j]);
        }
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    fn hessian(&self, theta: &[f64], _y: &[f64], out: &mut [f64]) {
        // diag(−1/(2θⱼ²)), independent of y.
        let d = theta.len();
        out.fill(0.0);
        for (j, t) in theta.iter().enumerate() {
            out[j * d + j] = -0.5 / (t * t);
        }
    }
    fn has_exact_hessian(&self) -> bool {
        true
    }
    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Some(DMatrix::from_diagonal(&nalgebra::DVector::from_iterator(
            theta.len(),
            theta.iter().map(|t| 0.5 / (t * t)),
        )))
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        Some(
            a.iter()
                .zip(b)
                .map(|(a, b)| 0.5 * (b / a - 1.0 - (b / a).ln()))
                .sum(),
        )
    }
}

/// The lattice structure: the shape and the real Fourier modes, in the order of θ.
impl Lattice for LatticeField {
    fn shape(&self) -> &[usize] {
        LatticeField::shape(self)
    }
    fn modes(&self) -> &[LatticeMode] {
        LatticeField::modes(self)
    }
}

/// The closed-form Fisher–Rao geometry (oracles.md §3): a product of lines in ln θⱼ/√2.
impl ClosedFormGeometry for LatticeField {
    fn metric(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Model::fisher(self, theta)
    }
    fn geodesic(&self, a: &[f64], b: &[f64]) -> Option<KnownGeodesic> {
        Some(cf::lattice_field_geodesic(a, b))
    }
    fn acceleration(&self, theta: &[f64], v: &[f64], out: &mut [f64]) -> Option<bool> {
        Some(cf::lattice_field_acceleration(theta, v, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use bayesrg_core::fisher;

    #[test]
    fn modes_are_orthonormal_laplacian_eigenvectors() {
        // Oracle: the basis must satisfy M Mᵀ = I and M(−Δ)Mᵀ = diag(p̂²), the
        // defining property that makes θ = p̂² + m² the free field.
        for shape in [vec![7], vec![8], vec![4, 6]] {
            let f = LatticeField::new(shape).unwrap();
            let m = &f.basis().m;
            let n = f.sites();
            assert_relative_eq!(m * m.transpose(), DMatrix::identity(n, n), epsilon = 1e-12);
            let d = m * f.laplacian() * m.transpose();
            let want = DMatrix::from_diagonal(&nalgebra::DVector::from_iterator(
                n,
                f.modes().iter().map(|md| md.p_hat2),
            ));
            assert_relative_eq!(d, want, epsilon = 1e-12);
        }
    }

    #[test]
    fn fisher_closed_form_matches_monte_carlo() {
        // Oracle: Monte Carlo E[ℓℓᵀ] over exact samples; every entry within
        // 5 standard errors (plus 1e-12) of the closed form diag(1/(2θ²)).
        for shape in [vec![8], vec![3, 4]] {
            let f = LatticeField::new(shape).unwrap();
            let theta = f.free_field_theta(0.7, None);
            let mc = fisher::score_outer(&f, &theta, 40_000, 11).unwrap();
            let exact = f.fisher(&theta).unwrap();
            let se = mc.std_err.unwrap();
            for i in 0..theta.len() {
                for j in 0..theta.len() {
                    let z = (mc.matrix[(i, j)] - exact[(i, j)]).abs();
                    assert!(
                        z <= 5.0 * se[(i, j)] + 1e-12,
                        "({i},{j}) {z} vs se {}",
                        se[(i, j)]
                    );
                }
            }
        }
    }

    #[test]
    fn kl_matches_gaussian_field_kl() {
        // Oracle: the KL of the two site-space Gaussians N(0, MᵀΘ⁻¹M) from the
        // generic MVN formula, and its Hessian (eq. 31) against the Fisher.
        let f = LatticeField::new(vec![3, 3]).unwrap();
        let a = f.free_field_theta(0.5, None);
        let b = f.free_field_theta(
            1.1,
            Some(Cutoff {
                lambda: 2.0,
                power: 2.0,
            }),
        );
        let cov = |t: &[f64]| {
            let m = &f.basis().m;
            let d = DMatrix::from_diagonal(&nalgebra::DVector::from_iterator(
                t.len(),
                t.iter().map(|v| 1.0 / v),
            ));
            m.transpose() * d * m
        };
        let ga =
            bayesrg_core::gaussian::Gaussian::new(nalgebra::DVector::zeros(9), cov(&a)).unwrap();
        let gb =
            bayesrg_core::gaussian::Gaussian::new(nalgebra::DVector::zeros(9), cov(&b)).unwrap();
        assert_relative_eq!(f.kl(&a, &b).unwrap(), ga.kl(&gb), max_relative = 1e-9);
        let h = fisher::kl_hessian(&f, &a).unwrap().matrix;
        assert_relative_eq!(
            h,
            f.fisher(&a).unwrap(),
            max_relative = 1e-5,
            epsilon = 1e-6
        );
    }

    #[test]
    fn fisher_order_is_momentum_order() {
        // Derived in docs/lattice.md: I = ½K²/(p̂²+m²)² is strictly decreasing in
        // p̂² (for K non-increasing), so rank correlation with |p̂| is exactly −1
        // (ties in p̂ are ties in I) and sorting by Fisher sorts by momentum.
        for (shape, cut) in [
            (vec![16], None),
            (vec![8, 8], None),
            (
                vec![8, 8],
                Some(Cutoff {
                    lambda: 1.5,
                    power: 2.0,
                }),
            ),
        ] {
            let f = LatticeField::new(shape).unwrap();
            let th = f.free_field_theta(0.3, cut);
            let c = correspondence(&f, &th);
            assert_eq!(c.spearman_fisher_momentum, -1.0);
            assert!(c.orders_agree);
            for (row, md) in c.rows.iter().zip(f.modes()) {
                let _ = md;
                assert_relative_eq!(
                    row.fisher,
                    0.5 / (row.theta * row.theta),
                    max_relative = 1e-15
                );
            }
        }
    }

    #[test]
    fn ten_by_ten_lattice_ties_are_ties() {
        // Issue #16 item 10: on 10 × 10 (mass 0.5) the modes (1, 4) and (0, 5)
        // have p̂² = 4sin²(π/10) + 4sin²(2π/5) = 4 = 4sin²(π/2) exactly
        // (sin²x + cos²x = 1), evaluated 3.9999999999999996 vs 4: exact ranks
        // gave Spearman −0.998. Oracle: the derived −1 and identical orders.
        let f = LatticeField::new(vec![10, 10]).unwrap();
        let th = f.free_field_theta(0.5, None);
        let c = correspondence(&f, &th);
        assert_eq!(c.spearman_fisher_momentum, -1.0);
        assert!(c.orders_agree);
        // The (1,4)-type modes and the (0,5)-type modes share one shell.
        let at2: Vec<&ShellRow> = c
            .rows
            .iter()
            .filter(|r| (r.p_hat - 2.0).abs() < 1e-12)
            .collect();
        assert!(at2.len() > 2);
        assert!(at2.iter().all(|r| r.momentum_rank == at2[0].momentum_rank));
        // The check can fail: swap the stiffness of two modes in different shells.
        let mut bad = th.clone();
        let (lo, hi) = (1, bad.len() - 1);
        bad.swap(lo, hi);
        let c = correspondence(&f, &bad);
        assert!(c.spearman_fisher_momentum > -1.0);
        assert!(!c.orders_agree);
    }

    #[test]
    fn tie_tolerance_separates_rounding_from_distinct_momenta() {
        // Derived: TIE_RTOL must exceed the rounding spread of equal momenta
        // and stay far below the gap between distinct ones. Check both on
        // lattices up to MAX_SITES sites: sorted |p̂| values are either within
        // 16ε (a rounding tie) or apart by more than 1e-6 relative.
        for shape in [
            vec![10, 10],
            vec![12, 12],
            vec![16, 16],
            vec![32, 32],
            vec![30, 34],
            vec![2, 512],
            vec![1024],
            vec![7, 9],
        ] {
            let f = LatticeField::new(shape.clone()).unwrap();
            let mut p: Vec<f64> = f.modes().iter().map(|m| m.p_hat2.sqrt()).collect();
            p.sort_by(f64::total_cmp);
            for w in p.windows(2) {
                let rel = (w[1] - w[0]) / w[1].max(f64::MIN_POSITIVE);
                assert!(
                    rel <= 16.0 * f64::EPSILON || rel > 1e-6,
                    "{shape:?}: {} vs {} ({rel:e})",
                    w[0],
                    w[1]
                );
                assert!(rel > 1e-6 || rel <= TIE_RTOL);
            }
        }
    }

    #[test]
    fn cutoff_mapping_resolves_the_momentum_ball() {
        // Derived: with no cutoff a mode is resolved at backward time τ (I ≥ τ)
        // iff p̂² ≤ (2τ)^{−½} − m². Count both ways at several τ.
        let f = LatticeField::new(vec![12, 12]).unwrap();
        let m = 0.4;
        let th = f.free_field_theta(m, None);
        for tau in [1e-3, 1e-2, 0.05, 0.3] {
            let by_fisher = th.iter().filter(|t| 0.5 / (*t * *t) >= tau).count();
            let l2 = resolved_cutoff2(tau, m);
            let by_momentum = f.modes().iter().filter(|md| md.p_hat2 <= l2).count();
            assert_eq!(by_fisher, by_momentum, "tau {tau}");
        }
        // The bisection agrees with the closed form without a cutoff.
        for tau in [1e-3, 0.2] {
            assert_relative_eq!(
                resolved_momentum2(tau, m, None),
                resolved_cutoff2(tau, m),
                max_relative = 1e-12
            );
        }
        // With a smooth cutoff, the Fisher at p̂ = Λ is ½e^{−2}/(Λ²+m²)² and the
        // shell Θ^> at that scale is exactly the open ball p̂ < Λ.
        let cut = Cutoff {
            lambda: 1.7,
            power: 2.0,
        };
        let th = f.free_field_theta(m, Some(cut));
        let i_star = free_field_fisher(cut.lambda.powi(2), m, Some(cut));
        assert_relative_eq!(
            i_star,
            0.5 * (-2.0f64).exp() / (1.7f64.powi(2) + m * m).powi(2),
            max_relative = 1e-14
        );
        for (t, md) in th.iter().zip(f.modes()) {
            assert_eq!(0.5 / (t * t) > i_star, md.p_hat2 < cut.lambda.powi(2));
        }
    }

    #[test]
    fn bad_shape_and_params_are_errors() {
        assert!(LatticeField::new(vec![]).is_err());
        assert!(LatticeField::new(vec![1]).is_err());
        assert!(LatticeField::new(vec![2, 2, 2]).is_err());
        assert!(LatticeField::new(vec![64, 64]).is_err());
        let f = LatticeField::new(vec![4]).unwrap();
        let e = f.check_params(&[1.0, -1.0, 1.0, 1.0]).unwrap_err();
        assert!(e.to_string().contains("1c"), "{e}");
    }
}

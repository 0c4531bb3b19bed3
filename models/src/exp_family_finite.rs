//! The exponential family of the paper's eq. (27) over a finite sample space:
//!
//!   p(y | θ) = e^{−θ·S(y) − A(θ)},  y ∈ {0, …, n−1},  A(θ) = ln Σ_y e^{−θ·S(y)},
//!
//! with a user-given table of sufficient statistics S (n rows, one per outcome,
//! d columns; config field `stats`). The normaliser A is explicit here, where
//! eq. (27) absorbs it into S. θ ranges over all of ℝᵈ.
//!
//! Score (eq. 28): ℓ(y) = E_θ\[S\] − S(y), since ∇A = −E_θ\[S\].
//! Fisher (eq. 29): I(θ) = ∇²A = Cov_θ(S).
//! KL (eq. 30) in Bregman form: KL(θ₁‖θ₂) = A(θ₂) − A(θ₁) − (θ₂−θ₁)·∇A(θ₁)
//! = A(θ₂) − A(θ₁) + (θ₂−θ₁)·E_θ₁\[S\]. Those terms cancel as θ₂ → θ₁; it is
//! evaluated as Σ_y p₁(y)·(e^{w_y} − 1 − w_y) with w_y = ln(p₂(y)/p₁(y))
//! = −(θ₂−θ₁)·S(y) − ΔA, ΔA = ln(1 + Σ_y p₁(y) expm1(−(θ₂−θ₁)·S(y))): terms
//! ≥ 0 built from the parameter difference, full relative accuracy. ΔA is
//! taken by a log-sum-exp instead when θ₂ moves the mass off θ₁'s likely
//! outcomes (1 + Σ ≪ 1), and ln p(y|θ) by a log-sum-exp around the largest
//! logit with ln1p, so outcomes of probability 10⁻²⁰ keep full accuracy.
//!
//! The n outcomes are enumerated ([`Model::support`]): the validator's
//! expectations are exact sums. Hessians by automatic differentiation of the
//! log-density ([`LogDensity`]).

use crate::checks;
use bayesrg_core::ad::{LogDensity, Real};
use bayesrg_core::fisher::symmetrize;
use bayesrg_core::geometry::closed_form::{self as cf, ClosedFormGeometry, KnownGeodesic};
use bayesrg_core::model::{Model, Support, check_len};
use bayesrg_core::special::expm1mx;
use bayesrg_core::{ParamError, ad_derivatives};
use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// Eq. (27) on {0, …, n−1} with sufficient statistics `stats` (n × d), θ ∈ ℝᵈ.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "RawExpFamilyFinite", into = "RawExpFamilyFinite")]
pub struct ExpFamilyFinite {
    stats: DMatrix<f64>,
}

/// The config form of [`ExpFamilyFinite`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpFamilyFinite {
    /// S(y) for y = 0, …, n−1: one row of d statistics per outcome.
    pub stats: Vec<Vec<f64>>,
}

impl TryFrom<RawExpFamilyFinite> for ExpFamilyFinite {
    type Error = bayesrg_core::Error;
    fn try_from(r: RawExpFamilyFinite) -> bayesrg_core::Result<Self> {
        ExpFamilyFinite::new(checks::matrix("stats", &r.stats)?)
    }
}

impl From<ExpFamilyFinite> for RawExpFamilyFinite {
    fn from(m: ExpFamilyFinite) -> Self {
        RawExpFamilyFinite {
            stats: checks::rows(&m.stats),
        }
    }
}

impl ExpFamilyFinite {
    /// The family with sufficient-statistics table `stats` (n × d). The table
    /// must have n ≥ 2 rows and affinely independent columns (no column is
    /// constant or an affine combination of the others), or θ would not be
    /// identifiable and the Fisher metric would be singular everywhere.
    pub fn new(stats: DMatrix<f64>) -> bayesrg_core::Result<Self> {
        let (n, d) = stats.shape();
        if n < 2 {
            return Err(bayesrg_core::Error::Dimension {
                field: "stats".into(),
                expected: "at least 2 rows (outcomes)".into(),
                got: n,
            });
        }
        bayesrg_core::linalg::require_finite(&stats, "stats")?;
        let mean = stats.row_mean();
        let centred = DMatrix::from_fn(n, d, |i, j| stats[(i, j)] - mean[j]);
        let sv = centred.singular_values();
        let (hi, lo) = (sv.max(), sv.min());
        if d > n - 1 || hi == 0.0 || lo <= 1e-10 * hi {
            return Err(bayesrg_core::Error::domain(
                "stats",
                format!("a table of {n} outcomes × {d} statistics"),
                "must have affinely independent columns (at most n − 1 of them, none \
                 constant or a combination of the others), otherwise theta is not identifiable",
            ));
        }
        Ok(ExpFamilyFinite { stats })
    }

    /// The table S (rows: outcomes, columns: statistics).
    pub fn stats(&self) -> &DMatrix<f64> {
        &self.stats
    }

    /// The logits z = −θ·S(y), and ln p(y | θ) = z_y − A(θ) by a log-sum-exp
    /// that keeps full relative accuracy: with m = max z at the row y*,
    /// A − m = ln1p(Σ_{y≠y*} e^{z_y − m}), so ln p(y*) is −ln1p(small) and not
    /// the difference of two numbers of size |m| (which loses ε·|m| absolutely:
    /// 3·10⁻¹⁵ at m = 15, the whole of a KL of 10⁻¹³).
    fn log_probs(&self, theta: &[f64]) -> (DVector<f64>, f64) {
        let z = -(&self.stats * DVector::from_column_slice(theta));
        let top = z.imax();
        let m = z[top];
        let rest: f64 = z
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != top)
            .map(|(_, v)| (v - m).exp())
            .sum();
        let l = rest.ln_1p();
        (z.map(|v| (v - m) - l), m + l)
    }

    /// The log-partition A(θ) = ln Σ_y e^{−θ·S(y)}.
    pub fn log_partition(&self, theta: &[f64]) -> f64 {
        self.log_probs(theta).1
    }

    /// The probabilities p(y | θ), y = 0, …, n−1.
    pub fn probs(&self, theta: &[f64]) -> DVector<f64> {
        self.log_probs(theta).0.map(f64::exp)
    }

    /// E_θ\[S\] = −∇A(θ).
    pub fn mean_stats(&self, theta: &[f64]) -> DVector<f64> {
        self.stats.tr_mul(&self.probs(theta))
    }
}

impl LogDensity for ExpFamilyFinite {
    fn ln_density<D: Real>(&self, theta: &[D], y: &[f64]) -> D {
        let c = y[0];
        let n = self.stats.nrows();
        if c < 0.0 || c.fract() != 0.0 || c >= n as f64 {
            return D::from(f64::NEG_INFINITY);
        }
        let z = |row: usize| -> D {
            let mut v = D::from(0.0);
            for (j, t) in theta.iter().enumerate() {
                v -= *t * self.stats[(row, j)];
            }
            v
        };
        // log-sum-exp around the largest real part.
        let m = (0..n).map(|r| z(r).re()).fold(f64::NEG_INFINITY, f64::max);
        let mut sum = D::from(0.0);
        for r in 0..n {
            sum += (z(r) - m).exp();
        }
        z(c as usize) - m - sum.ln()
    }
}

#[bayesrg_core::register_model(
    tag = "exp_family_finite",
    summary = "exponential family p ~ exp(-theta . S(y)) on {0..n-1}, table `stats` (eq. 27)",
    example = || Box::new(
        ExpFamilyFinite::new(DMatrix::from_row_slice(
            4,
            2,
            &[0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.5]
        ))
        .expect("valid example table")
    ),
    theta = || vec![0.3, -0.5]
)]
impl Model for ExpFamilyFinite {
    fn fisher_rao(&self) -> Option<&dyn ClosedFormGeometry> {
        Some(self)
    }
    fn param_names(&self) -> Vec<String> {
        checks::numbered("theta", self.stats.ncols())
    }
    fn obs_dim(&self) -> usize {
        1
    }
    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)
    }
    fn sample(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        let p = self.probs(theta);
        let u: f64 = rng.random();
        let mut acc = 0.0;
        let n = p.len();
        for (y, &py) in p.iter().enumerate().take(n - 1) {
            acc += py;
            if u < acc {
                out[0] = y as f64;
                return;
            }
        }
        out[0] = (n - 1) as f64;
    }
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        let c = y[0];
        if c < 0.0 || c.fract() != 0.0 || c >= self.stats.nrows() as f64 {
            return f64::NEG_INFINITY;
        }
        self.log_probs(theta).0[c as usize]
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        let m = self.mean_stats(theta);
        let row = y[0] as usize;
        for (j, o) in out.iter_mut().enumerate() {
            *o = m[j] - self.stats[(row, j)];
        }
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    ad_derivatives!(hessian);
    fn support(&self, theta: &[f64]) -> Option<Support> {
        let n = self.stats.nrows();
        Some(Support {
            points: (0..n).map(|y| y as f64).collect(),
            probs: self.probs(theta).iter().copied().collect(),
            tail_mass: 0.0,
        })
    }
    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        let p = self.probs(theta);
        let m = self.stats.tr_mul(&p);
        let d = self.stats.ncols();
        // Cov_θ(S) = Σ_y p_y (S(y) − m)(S(y) − m)ᵀ, centred for accuracy.
        let mut c = DMatrix::zeros(d, d);
        for (y, &py) in p.iter().enumerate() {
            let r = self.stats.row(y).transpose() - &m;
            c += py * &r * r.transpose();
        }
        Some(symmetrize(c))
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        let (lp, _) = self.log_probs(a);
        let dth: Vec<f64> = b.iter().zip(a).map(|(x, y)| x - y).collect();
        // Δz_y = −(θ₂ − θ₁)·S(y)
        let dz: Vec<f64> = (0..self.stats.nrows())
            .map(|y| {
                -dth.iter()
                    .enumerate()
                    .map(|(j, d)| d * self.stats[(y, j)])
                    .sum::<f64>()
            })
            .collect();
        // p₁(y)·e^{x}, formed in logs so that a p₁ that underflows to 0 with a
        // huge x still gives p₂(y) (never 0·∞).
        let scaled = |l: f64, x: f64| (l + x).exp();
        // ΔA = A(θ₂) − A(θ₁) = ln Σ_y p₁(y) e^{Δz_y}. As ln1p(Σ p₁ expm1(Δz)) while
        // that sum stays above −½ (no cancellation in 1 + s); otherwise, when θ₂
        // moves the mass away from θ₁'s likely outcomes (1 + s ≪ 1, where the
        // ln1p form loses ε/(1 + s) relatively: 4·10⁻⁵ at θ = [20, −10]), by a
        // log-sum-exp of ln p₁ + Δz.
        let s: f64 = lp
            .iter()
            .zip(&dz)
            .map(|(&l, &z)| {
                if z > 1.0 {
                    scaled(l, z) - l.exp()
                } else {
                    l.exp() * z.exp_m1()
                }
            })
            .sum();
        let da = if s > -0.5 {
            s.ln_1p()
        } else {
            let m = lp
                .iter()
                .zip(&dz)
                .map(|(l, z)| l + z)
                .fold(f64::NEG_INFINITY, f64::max);
            m + lp
                .iter()
                .zip(&dz)
                .map(|(l, z)| (l + z - m).exp())
                .sum::<f64>()
                .ln()
        };
        // Σ_y p₁(y)·(e^w − 1 − w), w = Δz_y − ΔA: terms ≥ 0, and stationary in
        // ΔA (∂/∂ΔA = 1 − Σ p₂ = 0), so an error δ in ΔA costs only δ²/2.
        Some(
            lp.iter()
                .zip(&dz)
                .map(|(&l, &z)| {
                    let w = z - da;
                    let p = l.exp();
                    if p == 0.0 {
                        scaled(l, w)
                    } else if w > 1.0 {
                        scaled(l, w) - p - p * w
                    } else {
                        p * expm1mx(w)
                    }
                })
                .sum(),
        )
    }
}

/// The closed-form Fisher–Rao geometry (oracles.md §3): with as many statistics as free probabilities, the categorical sphere pulled back to natural coordinates.
impl ClosedFormGeometry for ExpFamilyFinite {
    fn metric(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Model::fisher(self, theta)
    }
    fn geodesic(&self, a: &[f64], b: &[f64]) -> Option<KnownGeodesic> {
        cf::exp_family_full_simplex_geodesic(self, a, b)
    }
}

//! The free scalar field on a lattice, as the Fisher geometry sees it (eqs.
//! 3–6 with S_int = 0; docs/lattice.md): the stiffness θⱼ = (p̂ⱼ² + m²)/K_Λ(p̂ⱼ²)
//! of each real Fourier mode, its diagonal Fisher ½K_Λ(p̂²)²/(p̂² + m²)², the
//! momentum Λ(τ) resolved by the backward posterior N(μ, τI⁻¹) of eq. (38),
//! and the comparison of information shells (eq. 55) with Wilson's momentum
//! shells. Polchinski's smooth cutoff K_Λ of eqs. (3)–(6) maps to the Fisher
//! threshold I_Λ = ½K_Λ(Λ²)²/(Λ² + m²)².
//!
//! Everything here works on any model with the lattice capability
//! ([`Model::lattice`](crate::model::Model::lattice), [`Lattice`]); the family
//! itself is `bayesrg_models::lattice_field`, which re-exports these items.

use crate::error::ParamError;
use crate::model::Lattice;
use crate::rank;
use serde::{Deserialize, Serialize};

/// A smooth cutoff function K_Λ(p̂²) of eq. (3): 1 well below Λ, → 0 above.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Cutoff {
    /// The cutoff scale Λ > 0 (in units of the lattice momentum |p̂|).
    pub lambda: f64,
    /// The steepness n ≥ 1 of K_Λ(p̂²) = exp(−(p̂²/Λ²)ⁿ).
    #[serde(default = "default_power")]
    pub power: f64,
}

fn default_power() -> f64 {
    2.0
}

impl Cutoff {
    /// K_Λ(p̂²) = exp(−(p̂²/Λ²)ⁿ).
    pub fn k(&self, p_hat2: f64) -> f64 {
        (-(p_hat2 / (self.lambda * self.lambda)).powf(self.power)).exp()
    }

    /// Checks Λ > 0 and n ≥ 1.
    pub fn check(&self) -> Result<(), ParamError> {
        if !(self.lambda > 0.0 && self.lambda.is_finite()) {
            return Err(ParamError::invalid("lambda", self.lambda, "must be > 0"));
        }
        if !(self.power >= 1.0 && self.power.is_finite()) {
            return Err(ParamError::invalid("power", self.power, "must be >= 1"));
        }
        Ok(())
    }
}

/// The free field's stiffnesses θⱼ = (p̂ⱼ² + m²)/K_Λ(p̂ⱼ²) on any lattice
/// ([`Lattice`], a model capability), in the order of its modes.
pub fn free_field_theta(lattice: &dyn Lattice, mass: f64, cutoff: Option<Cutoff>) -> Vec<f64> {
    lattice
        .modes()
        .iter()
        .map(|md| (md.p_hat2 + mass * mass) / cutoff.map_or(1.0, |c| c.k(md.p_hat2)))
        .collect()
}

/// The diagonal Fisher ½K_Λ(p̂²)²/(p̂² + m²)² of the free-field mode with lattice
/// momentum squared `p_hat2`.
pub fn free_field_fisher(p_hat2: f64, mass: f64, cutoff: Option<Cutoff>) -> f64 {
    let k = cutoff.map_or(1.0, |c| c.k(p_hat2));
    0.5 * (k / (p_hat2 + mass * mass)).powi(2)
}

/// Without a cutoff: the Fisher scale I* at which the information shell
/// Θ^>_{I*} (eq. 55) is exactly the momentum ball p̂² < Λ², namely
/// I* = ½(Λ² + m²)⁻²; and its inverse, the momentum cutoff Λ(τ) resolved by the
/// backward posterior N(μ, τI⁻¹) (eq. 38): a mode is resolved iff I ≥ τ iff
/// p̂² ≤ Λ(τ)² = (2τ)^{−½} − m².
pub fn resolved_cutoff2(tau: f64, mass: f64) -> f64 {
    (2.0 * tau).powf(-0.5) - mass * mass
}

/// The momentum cutoff Λ(τ)² resolved at backward time τ with any cutoff:
/// the p̂² at which the free-field Fisher ½K_Λ(p̂²)²/(p̂² + m²)² equals τ, by
/// bisection (the Fisher is strictly decreasing in p̂²). A mode is resolved,
/// I ≥ τ, iff p̂² ≤ Λ(τ)². Returns a negative number when not even p̂ = 0 is
/// resolved. Without a cutoff this is [`resolved_cutoff2`].
pub fn resolved_momentum2(tau: f64, mass: f64, cutoff: Option<Cutoff>) -> f64 {
    let f = |x: f64| free_field_fisher(x, mass, cutoff);
    if f(0.0) < tau {
        return -1.0;
    }
    let mut hi = 1.0;
    while f(hi) >= tau && hi < 1e12 {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f(mid) >= tau {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The relative tolerance within which two momenta |p̂| or two Fisher values
/// of the lattice count as tied: 64ε ≈ 1.4·10⁻¹⁴.
///
/// Why this value: p̂² = Σ_axes 4sin²(p/2) and I = ½K²/(p̂² + m²)² are each a
/// few roundings from exact, so values equal in exact arithmetic (the
/// accidental degeneracy 4sin²(π/10) + 4sin²(2π/5) = 4 of a 10 × 10 lattice,
/// evaluated as 3.9999999999999996) differ by a few ulps (≲ 10ε), while
/// distinct lattice momenta differ far more (≥ 10⁻⁶ relative on every lattice
/// up to the 1024 sites of `bayesrg_models::lattice_field::MAX_SITES`, checked
/// by a test there).
pub const TIE_RTOL: f64 = 64.0 * f64::EPSILON;

/// One row of the Wilson-shell table: a mode, its momentum and its Fisher.
#[derive(Debug, Clone, Serialize)]
pub struct ShellRow {
    /// Mode name.
    pub mode: String,
    /// |p̂|.
    pub p_hat: f64,
    /// The stiffness θⱼ.
    pub theta: f64,
    /// The diagonal Fisher Iⱼⱼ.
    pub fisher: f64,
    /// Rank by Fisher (1 = largest Fisher, integrated out last); modes tied
    /// to within [`TIE_RTOL`] share their average rank.
    pub fisher_rank: f64,
    /// Rank by momentum (1 = smallest |p̂|); ties as for `fisher_rank`.
    pub momentum_rank: f64,
}

/// The comparison of information shells with momentum shells on a free field.
#[derive(Debug, Clone, Serialize)]
pub struct Correspondence {
    /// One row per mode, sorted by decreasing Fisher (ties by increasing |p̂|).
    pub rows: Vec<ShellRow>,
    /// Spearman correlation of the diagonal Fisher with |p̂|, ties to within
    /// [`TIE_RTOL`] (derived: exactly −1).
    pub spearman_fisher_momentum: f64,
    /// Whether every mode has the same tie-aware rank by decreasing Fisher as
    /// by increasing |p̂| (same shells, same order).
    pub orders_agree: bool,
}

/// Sorts the modes of `field` at θ by diagonal Fisher (the information-shell
/// order of eq. 55, done directly here) and compares with the order by |p̂|,
/// with ties to within [`TIE_RTOL`] ([`rank::ranks_tol`]).
pub fn correspondence(field: &dyn Lattice, theta: &[f64]) -> Correspondence {
    let modes = field.modes();
    let n = modes.len();
    let fisher: Vec<f64> = theta.iter().map(|t| 0.5 / (t * t)).collect();
    let p: Vec<f64> = modes.iter().map(|m| m.p_hat2.sqrt()).collect();
    let f_up = rank::ranks_tol(&fisher, TIE_RTOL);
    let f_rank: Vec<f64> = f_up.iter().map(|r| (n + 1) as f64 - r).collect();
    let p_rank = rank::ranks_tol(&p, TIE_RTOL);
    let mut by_f: Vec<usize> = (0..n).collect();
    by_f.sort_by(|&a, &b| {
        f_rank[a]
            .total_cmp(&f_rank[b])
            .then(p[a].total_cmp(&p[b]))
            .then(a.cmp(&b))
    });
    let orders_agree = f_rank == p_rank;
    let rows = by_f
        .iter()
        .map(|&j| ShellRow {
            mode: modes[j].name.clone(),
            p_hat: p[j],
            theta: theta[j],
            fisher: fisher[j],
            fisher_rank: f_rank[j],
            momentum_rank: p_rank[j],
        })
        .collect();
    Correspondence {
        rows,
        spearman_fisher_momentum: rank::spearman_tol(&fisher, &p, TIE_RTOL),
        orders_agree,
    }
}

//! Observables of the DB-RG flow along τ (section 5 of the paper).
//!
//! - KL(p_τ‖p₀) between the predictive at τ and at the start of the flow: the
//!   monotone of the flow (information removed; it must not decrease);
//! - the predictive entropy H(p_τ);
//! - the posterior widths √(τ/λᵢ) along the Fisher eigendirections (λᵢ the
//!   eigenvalues of I(μ_τ)): sloppy directions (small λ) spread first;
//! - the effective number of resolved parameters
//!   n_eff(τ) = Σᵢ Tλᵢ/(1 + Tλᵢ) = Σᵢ λᵢ/(λᵢ + τ), T = 1/τ: each eigendirection
//!   counts 1 when its posterior width √(τ/λᵢ) is well below 1 (resolved) and
//!   0 when well above (the scale criterion of oracles.md §8, with unit prior
//!   precision in the chosen parametrisation);
//! - the Fisher speed of the MAP path, ‖dμ/dτ‖_I = √(μ̇ᵀ I μ̇), the size of the
//!   drift grad_I V of eq. (36) (0 for a fixed μ).

use crate::linalg::Spectrum;
use nalgebra::{DMatrix, DVector};

/// KL(p‖q) by quadrature on points with weights `w` (cell widths for a
/// density, 1 for a probability mass function), from the logarithms `ln_p`,
/// `ln_q` of the densities: finite where the densities themselves underflow.
///
/// Both are first normalised by their quadrature masses (p̂ = p/Σwp), so the
/// result is the KL divergence of two distributions on the points, and it is
/// summed in Gibbs' form Σ wₖ [p̂ₖ ln(p̂ₖ/q̂ₖ) − p̂ₖ + q̂ₖ], whose every term is
/// ≥ 0 (x ln(x/y) − x + y ≥ 0): the sum cannot go negative by rounding, as
/// Σ wp ln(p/q) of two densities equal to rounding did (tryout 7, F20:
/// −5.3e-18 at τ = 1e-300). A point where p̂ underflows adds w q̂.
pub fn kl_quadrature(ln_p: &[f64], ln_q: &[f64], w: &[f64]) -> f64 {
    let ln_mass = |l: &[f64]| {
        let lw: Vec<f64> = l.iter().zip(w).map(|(a, b)| a + b.ln()).collect();
        super::log_sum_exp(&lw)
    };
    let (mp, mq) = (ln_mass(ln_p), ln_mass(ln_q));
    ln_p.iter()
        .zip(ln_q)
        .zip(w)
        .map(|((lp, lq), wv)| wv * gibbs_term(lp - mp, lq - mq))
        .sum()
}

/// x ln(x/y) − x + y ≥ 0 for x = e^{ln_x}, y = e^{ln_y}, without overflow
/// and never below 0: x·φ(d) with φ(d) = d − 1 + e^{−d}, d = ln x − ln y
/// (a series for |d| < 10⁻², where the sum cancels), or x(d − 1) + y for
/// d < −1 (where e^{−d} may overflow; y > x·e there, so nothing cancels).
fn gibbs_term(ln_x: f64, ln_y: f64) -> f64 {
    let x = ln_x.exp();
    if x == 0.0 {
        return ln_y.exp();
    }
    let d = ln_x - ln_y;
    let t = if d.abs() < 1e-2 {
        x * d * d * (0.5 - d * (1.0 / 6.0 - d * (1.0 / 24.0 - d / 120.0)))
    } else if d < -1.0 {
        x * (d - 1.0) + ln_y.exp()
    } else {
        x * (d + (-d).exp_m1())
    };
    t.max(0.0)
}

/// H(p) = −Σ wₖ pₖ ln pₖ by quadrature, from the logarithms `ln_p`.
pub fn entropy_quadrature(ln_p: &[f64], w: &[f64]) -> f64 {
    -ln_p
        .iter()
        .zip(w)
        .map(|(lp, wv)| (lp.exp(), lp, wv))
        .filter(|(p, _, _)| *p > 0.0)
        .map(|(p, lp, wv)| wv * p * lp)
        .sum::<f64>()
}

/// Eigenvalues λᵢ of I (stiffest first) and the widths √(τ/λᵢ) of π_τ along
/// the matching eigendirections.
pub fn widths(fisher: &DMatrix<f64>, tau: f64) -> (DVector<f64>, DVector<f64>) {
    let s = Spectrum::of(fisher);
    let w = s.values.map(|l| (tau / l).sqrt());
    (s.values, w)
}

/// n_eff(τ) = Σᵢ λᵢ/(λᵢ + τ).
pub fn n_eff(eigenvalues: &DVector<f64>, tau: f64) -> f64 {
    eigenvalues.iter().map(|l| l / (l + tau)).sum()
}

/// √(δᵀ I δ)/Δτ for a step δ = μ(τ+Δτ) − μ(τ) of the MAP path.
pub fn fisher_speed(mu0: &[f64], mu1: &[f64], dtau: f64, fisher: &DMatrix<f64>) -> f64 {
    let d = DVector::from_iterator(mu0.len(), mu0.iter().zip(mu1).map(|(a, b)| b - a));
    (d.dot(&(fisher * &d))).max(0.0).sqrt() / dtau
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// The energy distance 2E‖X−Y‖ − E‖X−X′‖ − E‖Y−Y′‖ between two samples
/// (U-statistics for the within-sample terms); 0 iff the laws agree.
///
/// Deterministic whatever the number of threads (`crate::rng` rule): each
/// row's inner sum is computed sequentially in one task, and the row sums
/// are added in row order, never in the thread pool's order.
pub fn energy_distance(x: &[Vec<f64>], y: &[Vec<f64>]) -> f64 {
    use rayon::prelude::*;
    let in_order = |rows: Vec<f64>| rows.iter().sum::<f64>();
    let cross = in_order(
        x.par_iter()
            .map(|a| y.iter().map(|b| dist(a, b)).sum::<f64>())
            .collect(),
    ) / (x.len() * y.len()) as f64;
    let within = |s: &[Vec<f64>]| {
        let n = s.len();
        let t = in_order(
            (0..n)
                .into_par_iter()
                .map(|i| (i + 1..n).map(|j| dist(&s[i], &s[j])).sum::<f64>())
                .collect(),
        );
        2.0 * t / (n * (n - 1)) as f64
    };
    2.0 * cross - within(x) - within(y)
}

/// The worst z-score of the sample mean and covariance of the i.i.d. draws
/// `ys` (n × m) against a Gaussian law N(m, S): |ȳₐ − mₐ|/√(Sₐₐ/n) and
/// |Ĉₐᵦ − Sₐᵦ|/√((SₐₐSᵦᵦ + Sₐᵦ²)/n), the sampling errors of Gaussian draws
/// (Isserlis: Var(yₐyᵦ) = SₐₐSᵦᵦ + Sₐᵦ²). The draws must be independent:
/// draws sharing a θ (as [`super::backward::predictive_samples`] makes) have
/// larger errors than these, and the statistic would be inflated.
pub fn gaussian_moment_z(ys: &[Vec<f64>], law: &crate::gaussian::Gaussian) -> f64 {
    let m = law.dim();
    let flat: Vec<f64> = ys.concat();
    let mean = crate::sde::ensemble::mean(&flat, m);
    let cov = crate::sde::ensemble::covariance(&flat, m);
    let nn = ys.len() as f64;
    let s = law.cov();
    let mut worst: f64 = 0.0;
    for a in 0..m {
        worst = worst.max((mean[a] - law.mean()[a]).abs() / (s[(a, a)] / nn).sqrt());
        for b in 0..m {
            let se = ((s[(a, a)] * s[(b, b)] + s[(a, b)].powi(2)) / nn).sqrt();
            worst = worst.max((cov[(a, b)] - s[(a, b)]).abs() / se);
        }
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn energy_distance_has_the_same_bits_with_any_thread_count() {
        // Issue 11 §5: the parallel float sum used to differ between 1, 2
        // and 4 threads (up to 9e-11 relative). Oracle: the single-thread
        // value, bit for bit. The values are spread over decades, so a sum
        // in another order would round differently.
        let pts = |n: usize, s: f64| -> Vec<Vec<f64>> {
            (0..n)
                .map(|i| {
                    let t = i as f64;
                    vec![
                        (t * 0.731).sin() * 10f64.powi((i % 7) as i32 - 3) + s,
                        (t * 1.37).cos(),
                    ]
                })
                .collect()
        };
        let (x, y) = (pts(700, 0.0), pts(500, 0.3));
        let at = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| energy_distance(&x, &y))
        };
        let one = at(1);
        assert!(one.is_finite() && one != 0.0);
        for t in [2, 3, 4, 8] {
            assert_eq!(at(t).to_bits(), one.to_bits(), "{t} threads");
        }
    }

    #[test]
    fn quadrature_kl_and_entropy_of_normals() {
        // Oracles.md §2: KL(N(1, 2²) ‖ N(5, 1)) = 8.806852819440055; H(N(1, 4)) = ½ln(2πe·4).
        let n = 40_000;
        let (lo, hi) = (-30.0, 30.0);
        let h = (hi - lo) / n as f64;
        let ys: Vec<f64> = (0..n).map(|i| lo + (i as f64 + 0.5) * h).collect();
        let pdf = |m: f64, v: f64, y: f64| {
            (-(y - m) * (y - m) / (2.0 * v)).exp() / (2.0 * std::f64::consts::PI * v).sqrt()
        };
        let p: Vec<f64> = ys.iter().map(|&y| pdf(1.0, 4.0, y).ln()).collect();
        let q: Vec<f64> = ys.iter().map(|&y| pdf(5.0, 1.0, y).ln()).collect();
        let w = vec![h; n];
        assert_relative_eq!(
            kl_quadrature(&p, &q, &w),
            8.806852819440055,
            max_relative = 1e-9
        );
        let want = 0.5 * (2.0 * std::f64::consts::PI * std::f64::consts::E * 4.0).ln();
        assert_relative_eq!(entropy_quadrature(&p, &w), want, max_relative = 1e-9);
    }

    #[test]
    fn quadrature_kl_stays_finite_where_densities_underflow() {
        // Tryout 5 A2: on a wide grid, N(5, 1) underflows to 0 (below
        // 10⁻³⁰⁸ beyond |y − 5| ≈ 37.6) where N(1, 2²) does not, and
        // KL = Σ p ln(p/q) became +∞. From the logarithms it is the closed
        // form again (oracles.md §2), the far cells adding their (tiny,
        // finite) share.
        let n = 80_000;
        let (lo, hi) = (-60.0, 60.0);
        let h = (hi - lo) / n as f64;
        let ys: Vec<f64> = (0..n).map(|i| lo + (i as f64 + 0.5) * h).collect();
        let ln_pdf = |m: f64, v: f64, y: f64| {
            -(y - m) * (y - m) / (2.0 * v) - 0.5 * (2.0 * std::f64::consts::PI * v).ln()
        };
        let p: Vec<f64> = ys.iter().map(|&y| ln_pdf(1.0, 4.0, y)).collect();
        let q: Vec<f64> = ys.iter().map(|&y| ln_pdf(5.0, 1.0, y)).collect();
        assert!(q.iter().any(|l| l.exp() == 0.0), "q underflows somewhere");
        let w = vec![h; n];
        assert_relative_eq!(
            kl_quadrature(&p, &q, &w),
            8.806852819440055,
            max_relative = 1e-9
        );
    }

    #[test]
    fn quadrature_kl_is_never_negative_and_matches_its_closed_form_at_decades() {
        // KL(N(0, 1 + τ) ‖ N(0, 1)) = ½(τ − ln(1 + τ)) (oracles.md §2), about
        // τ²/4 for small τ: at every decade down to 1e-300, where the two
        // densities are equal to rounding (tryout 7, F20: Σ wp ln(p/q) gave
        // −5.3e-18), the quadrature is ≥ 0; where the closed form is above
        // the rounding of the log-densities (~1e-16 · |ln p| per term, so
        // τ ≥ 1e-6) it matches to 1e-6.
        let n = 40_000;
        let (lo, hi) = (-40.0, 40.0);
        let h = (hi - lo) / n as f64;
        let ys: Vec<f64> = (0..n).map(|i| lo + (i as f64 + 0.5) * h).collect();
        let ln_pdf =
            |v: f64, y: f64| -y * y / (2.0 * v) - 0.5 * (2.0 * std::f64::consts::PI * v).ln();
        let q: Vec<f64> = ys.iter().map(|&y| ln_pdf(1.0, y)).collect();
        let w = vec![h; n];
        for k in 0..=300 {
            let tau = 10f64.powi(-k);
            let p: Vec<f64> = ys.iter().map(|&y| ln_pdf(1.0 + tau, y)).collect();
            let kl = kl_quadrature(&p, &q, &w);
            assert!(kl >= 0.0, "tau {tau}: {kl}");
            // ½(τ − ln(1 + τ)) = ½Σ_{j≥2} (−1)ʲ τʲ/j, summed as a series
            // below 1e-3 (the difference cancels there).
            let want = if tau < 1e-3 {
                0.5 * tau * tau * (0.5 - tau * (1.0 / 3.0 - tau * (0.25 - tau / 5.0)))
            } else {
                0.5 * (tau - tau.ln_1p())
            };
            if k <= 6 {
                assert_relative_eq!(kl, want, max_relative = 1e-6);
            } else {
                // Rounding of d = ln p − ln q (≤ 4ε(|ln p| + |ln q|) a point)
                // adds at most ½Σwp·δd² ≈ 4e-30 here.
                assert!(
                    kl <= want * (1.0 + 1e-6) + 1e-28,
                    "tau {tau}: {kl} vs {want}"
                );
            }
        }
        // Equal inputs: exactly 0.
        assert_eq!(kl_quadrature(&q, &q, &w), 0.0);
    }

    #[test]
    fn n_eff_counts_resolved_directions() {
        // Eigenvalues 1e4, 1, 1e-4 at τ = 1e-2: ≈ 1 + 0.99 + 0.0099 (hand count).
        let f = DMatrix::from_diagonal(&DVector::from_vec(vec![1e4, 1.0, 1e-4]));
        let (l, w) = widths(&f, 1e-2);
        assert_relative_eq!(
            n_eff(&l, 1e-2),
            1e4 / (1e4 + 1e-2) + 1.0 / 1.01 + 1e-4 / (1e-4 + 1e-2),
            epsilon = 1e-12
        );
        assert!(w[0] < w[1] && w[1] < w[2], "sloppy directions are widest");
    }
}

//! The log-likelihood agrees with what the Fisher checks rest on: the score
//! is its gradient (eq. 28 differentiates ln p), and the closed-form KL is
//! the mean log-ratio of eq. (30).
//!
//! The other check families compare the Fisher metric with the score, the
//! Hessian and the closed-form KL. None of them evaluates ln p(y|θ) when the
//! model gives its own score, and the second-order checks cannot tell
//! KL(θ‖θ′) from KL(θ′‖θ). A model whose `log_likelihood` is wrong (not
//! normalised, NaN at some outcomes) or whose `kl` has its arguments swapped
//! passed them all, and then gave wrong KLs and wrong Bayes updates (the
//! dynamical-Bayes runners weigh by the likelihood). Two checks close that:
//!
//! | check | oracle | threshold |
//! |---|---|---|
//! | the model's score at [`SCORE_DRAWS`] draws y ∼ p(·\|θ) | central differences of ln p(y\|θ) at Fisher-unit steps | \|ℓᵢ − ∂ᵢ ln p\|·sᵢ ≤ [`FD_RTOL`]·max(1, \|ℓᵢ\|·sᵢ) + 100 ε^{2/3} \|ln p\| (sᵢ = 1/√Iᵢᵢ; the last term is the rounding of the differences) |
//! | the closed-form KL(θ‖θ′) at θ′ = θ + c·u, ‖u‖ about one Fisher unit | the Monte Carlo mean of ln p(y\|θ) − ln p(y\|θ′), y ∼ p(·\|θ) ([`crate::kl::divergence`]); for an enumerated support, the exact sum of the same log-ratio | z ≤ the run's family-wise threshold; for the exact sum, relative error ≤ [`SUM_RTOL`] |
//!
//! The KL step is finite on purpose (c = [`KL_STEPS`], the first that stays
//! in the parameter space): KL(θ‖θ′) and KL(θ′‖θ) differ at third order in
//! the step, so a swapped KL shows at c = 1/2 (Poisson λ = 2: 0.102 against
//! 0.113, a z of about 10 at 200 000 draws) and not at the KL expansion's
//! steps of 10⁻⁴.

use super::compare::Ledger;
use super::{Estimates, FD_RTOL, SUM_RTOL, fmt_num};
use crate::check::Check;
use crate::fisher;
use crate::kl::{self, KlOptions};
use crate::model::Model;
use crate::numdiff;
use crate::rng::{self, Seed};
use nalgebra::DMatrix;

/// The draws y ∼ p(·|θ) at which the score is compared with central
/// differences of ln p.
pub const SCORE_DRAWS: usize = 64;

/// The multiples c of the KL check's step u (sᵢ/√d in each coordinate), tried
/// in this order until θ + c·u is a parameter point with a finite KL.
pub const KL_STEPS: [f64; 6] = [0.5, -0.5, 0.25, -0.25, 0.125, -0.125];

/// The largest omitted probability of an enumerated support for its exact
/// sum to stand as the KL check's oracle (else Monte Carlo is used).
pub const TAIL_MASS: f64 = 1e-12;

/// Runs both checks (or notes why one does not apply) into `ledger`.
pub(crate) fn check(
    model: &dyn Model,
    theta: &[f64],
    est: &Estimates,
    samples: usize,
    seed: Seed,
    ledger: &mut Ledger,
    notes: &mut Vec<String>,
) {
    let scales = fisher::step_scales(model, theta, est.reference().map(|r| &r.matrix));
    score_vs_log_likelihood(model, theta, &scales, seed, ledger, notes);
    kl_vs_log_ratio(model, theta, &scales, samples, seed, ledger, notes);
}

/// The model's score against central differences of its log-likelihood.
fn score_vs_log_likelihood(
    model: &dyn Model,
    theta: &[f64],
    scales: &[f64],
    seed: Seed,
    ledger: &mut Ledger,
    notes: &mut Vec<String>,
) {
    const NAME: &str = "score vs differences of log_likelihood (worst scaled error)";
    if !model.has_exact_score() {
        notes.push(
            "the score is central differences of log_likelihood: it is not compared with them"
                .to_string(),
        );
        return;
    }
    let (d, k) = (theta.len(), model.obs_dim());
    let mut ys = vec![0.0; SCORE_DRAWS * k];
    let mut r = rng::stream(seed.child("validate/score-vs-log-likelihood").value(), 0);
    model.sample_batch(theta, &mut r, &mut ys);
    let (mut s, mut g, mut work) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
    // (scaled error, y, parameter) of the worst entry; NaN is the worst.
    let mut worst: (f64, usize, usize) = (0.0, 0, 0);
    // The worst scaled error of each parameter over the draws.
    let mut per_param = vec![0.0_f64; d];
    // (score, difference, ln p) at the worst entry, to name a NaN.
    let mut worst_vals = (0.0, 0.0, 0.0);
    let rounding = 100.0 * f64::EPSILON.powf(2.0 / 3.0);
    for (m, y) in ys.chunks_exact(k).enumerate() {
        model.score(theta, y, &mut s);
        numdiff::gradient_work(
            |t| model.log_likelihood(t, y),
            theta,
            scales,
            &mut work,
            &mut g,
        );
        let lp = model.log_likelihood(theta, y).abs();
        for i in 0..d {
            let size = (s[i] * scales[i]).abs().max(1.0);
            let err = (s[i] - g[i]).abs() * scales[i] / (size + rounding * lp / FD_RTOL);
            let err = if lp.is_nan() { f64::NAN } else { err };
            per_param[i] = if err.is_nan() {
                err
            } else {
                per_param[i].max(err)
            };
            if !worst.0.is_nan() && (err.is_nan() || err > worst.0) {
                worst = (err, m, i);
                worst_vals = (s[i], g[i], model.log_likelihood(theta, y));
            }
        }
    }
    let (err, m, i) = worst;
    let names = model.param_names();
    let check = Check::at_most(
        NAME,
        err,
        FD_RTOL,
        format!(
            "∂ ln p/∂θ by central differences of log_likelihood at {SCORE_DRAWS} draws y ∼ p(·|θ), \
             in Fisher units (worst: {} at y = {:?})",
            names.get(i).map_or("θ", String::as_str),
            &ys[m * k..(m + 1) * k]
        ),
    );
    let name = names.get(i).map_or("θ", String::as_str);
    // A NaN fails (a log_likelihood that is NaN at some outcomes is a bug
    // this check exists to catch), with the quantity that is NaN named.
    ledger.push(if err.is_nan() {
        let (sc, g, lp) = worst_vals;
        Check {
            oracle: format!(
                "{}; NaN: at y = {:?} the score ∂ ln p/∂{name} is {sc}, its central \
                 difference {g} and ln p = {lp} (a value beyond double precision at this θ, \
                 or a log_likelihood that is not a number there)",
                check.oracle,
                &ys[m * k..(m + 1) * k]
            ),
            ..check
        }
    } else {
        unresolvable_differences(check, theta, scales, &per_param, &names)
    });
}

/// How many times the differences' expected error (from θ's resolution in its
/// Fisher unit) a miss may reach and still be called unresolved, not wrong.
const RESOLUTION_FACTOR: f64 = 4.0;

/// The expected scaled error of a first difference at `x` with Fisher unit
/// `s`: with η = [`numdiff::resolution`] (ε·|x|/s when the unit is below |x|)
/// the step η^{1/3}·s balances rounding against truncation at about η^{2/3};
/// with η ≥ 1 no step below the unit helps and the rounding is η itself.
fn difference_error(x: f64, s: f64) -> f64 {
    let eta = numdiff::resolution(x, s);
    eta.powf(2.0 / 3.0).max(eta)
}

/// A failed score-vs-differences check is unresolved when every parameter
/// that misses by more than [`FD_RTOL`] has an expected difference error
/// ([`difference_error`]) above [`FD_RTOL`] and misses by at most
/// [`RESOLUTION_FACTOR`] times it: θ is too large against its Fisher unit
/// (a linear-Gaussian model with noise 10⁻¹² of its outputs) for central
/// differences in double precision. A larger miss, or a NaN, still fails.
fn unresolvable_differences(
    check: Check,
    theta: &[f64],
    scales: &[f64],
    per_param: &[f64],
    names: &[String],
) -> Check {
    if check.pass {
        return check;
    }
    let mut limiting: Option<(f64, usize)> = None;
    for (i, &e) in per_param.iter().enumerate() {
        if e <= FD_RTOL {
            continue;
        }
        let expected = difference_error(theta[i], scales[i]);
        if !(expected > FD_RTOL && e <= RESOLUTION_FACTOR * expected) {
            return check;
        }
        if limiting.is_none_or(|(w, _)| expected > w) {
            limiting = Some((expected, i));
        }
    }
    let Some((expected, i)) = limiting else {
        return check;
    };
    check.unresolved(format!(
        "cannot resolve: the Fisher unit of {} is {} at {} = {}, so θ is held in double \
         precision to {} of its Fisher unit and central differences of log_likelihood are \
         good to about {} (scaled), more than the tolerance; the score is not contradicted",
        names.get(i).map_or("θ", String::as_str),
        fmt_num(scales[i]),
        names.get(i).map_or("θ", String::as_str),
        fmt_num(theta[i]),
        fmt_num(numdiff::resolution(theta[i], scales[i])),
        fmt_num(expected)
    ))
}

/// The closed-form KL against the Monte Carlo mean log-ratio (eq. 30).
fn kl_vs_log_ratio(
    model: &dyn Model,
    theta: &[f64],
    scales: &[f64],
    samples: usize,
    seed: Seed,
    ledger: &mut Ledger,
    notes: &mut Vec<String>,
) {
    const NAME: &str = "closed-form KL(θ‖θ′) vs Monte Carlo mean log-ratio, eq. (30) (z)";
    let d = theta.len() as f64;
    let step = |c: f64| -> Vec<f64> {
        theta
            .iter()
            .zip(scales)
            .map(|(t, s)| t + c * s / d.sqrt())
            .collect()
    };
    let Some(theta_prime) = KL_STEPS.iter().map(|&c| step(c)).find(|tp| {
        model.check_params(tp).is_ok() && model.kl(theta, tp).is_some_and(f64::is_finite)
    }) else {
        if model.kl(theta, theta).is_some() {
            notes.push(
                "closed-form KL not compared with the log-likelihood: no step of up to half a \
                 Fisher unit stays in the parameter space"
                    .to_string(),
            );
        }
        return;
    };
    let opt = KlOptions {
        samples,
        seed: seed.child("validate/kl-vs-log-ratio"),
    };
    let oracle = |tail: &str| {
        format!(
            "mean of ln p(y|θ) − ln p(y|θ′) over y ∼ p(·|θ) at θ′ = {}{tail}",
            fmt_point(&theta_prime)
        )
    };
    match kl::divergence(model, theta, &theta_prime, &opt) {
        // An enumerated support: the exact sum of the log-ratio is the
        // oracle (rare outcomes that Monte Carlo cannot resolve are in it).
        Ok(rep) if rep.exact_sum.is_some_and(|e| e.tail_mass < TAIL_MASS) => {
            if let Some(e) = rep.exact_sum {
                ledger.push(kl_vs_exact_sum(
                    rep.closed_form.unwrap_or(f64::NAN),
                    &e,
                    &theta_prime,
                ));
            }
        }
        Err(e) => ledger.push(Check::at_most(
            NAME,
            f64::NAN,
            kl::Z_MAX,
            oracle(&format!(": the Monte Carlo failed: {e}")),
        )),
        Ok(rep) => match rep.closed_form.filter(|c| c.is_finite()) {
            Some(c) if rep.monte_carlo.value.is_finite() => {
                // A z-check of the run, so that the validator's own diagnosis
                // of what Monte Carlo cannot resolve (too few rare events,
                // a variance on few effective draws) decides it as it
                // decides the Fisher's.
                let mc = &rep.monte_carlo;
                let z = rep.z.unwrap_or_else(|| {
                    let den = mc
                        .std_err
                        .hypot(mc.rounding + kl::ROUNDING_ULPS * f64::EPSILON * c.abs());
                    let err = (mc.value - c).abs();
                    if den > 0.0 {
                        err / den
                    } else if err == 0.0 {
                        0.0
                    } else {
                        f64::INFINITY
                    }
                });
                ledger.push_z(
                    NAME,
                    oracle(""),
                    z,
                    DMatrix::from_element(1, 1, z),
                    Some(DMatrix::from_element(1, 1, mc.variance_ess)),
                );
            }
            // Nothing finite to compare.
            _ => notes.push(format!(
                "closed-form KL {} and Monte Carlo mean log-ratio {} at θ′ = {}: not compared",
                rep.closed_form.map_or("none".into(), fmt_num),
                fmt_num(rep.monte_carlo.value),
                fmt_point(&theta_prime)
            )),
        },
    }
}

/// The closed-form KL against the exact sum over the support: relative
/// error ≤ [`SUM_RTOL`] plus the sum's rounding bound
/// ([`kl::ExactSum::rounding`]) and a few ulp of the closed form, relative to
/// |sum|. When the terms cancel below their rounding (the bound reaches
/// |sum|: no significant digit, e.g. Bernoulli 0.5 vs 0.5 + 10⁻⁹) agreement
/// is UNRESOLVED with that reason, while a closed form outside the bound still
/// FAILs; a NaN closed form or sum is a failed computation and says so.
fn kl_vs_exact_sum(closed: f64, e: &kl::ExactSum, theta_prime: &[f64]) -> Check {
    let sum = e.value;
    let scale = sum.abs().max(f64::MIN_POSITIVE);
    let allowance = e.rounding + kl::ROUNDING_ULPS * f64::EPSILON * closed.abs();
    let check = Check::at_most(
        "closed-form KL(θ‖θ′) vs exact sum of the log-ratio, eq. (30) (relative error)",
        (closed - sum).abs() / scale,
        SUM_RTOL + allowance / scale,
        format!(
            "Σ_y p(y|θ)[ln p(y|θ) − ln p(y|θ′)] over the enumerated support at θ′ = {} \
             (rounding bound {:.2e})",
            fmt_point(theta_prime),
            e.rounding
        ),
    );
    if closed.is_nan() || sum.is_nan() {
        check.unresolved(format!(
            "a failed computation: the closed-form KL is {} and the exact sum {} at θ′ = {}",
            fmt_num(closed),
            fmt_num(sum),
            fmt_point(theta_prime)
        ))
    } else if e.rounding >= sum.abs() && check.pass {
        // Within the allowance, but the allowance is the whole value (beyond
        // it, the closed form lies outside the sum's error bound: FAIL).
        check.unresolved(format!(
            "the terms of the exact sum cancel below their rounding (sum {}, rounding bound {}, \
             closed form {}): agreement within rounding, not a check",
            fmt_num(sum),
            fmt_num(e.rounding),
            fmt_num(closed)
        ))
    } else {
        check
    }
}

fn fmt_point(p: &[f64]) -> String {
    let v: Vec<String> = p.iter().map(|x| format!("{x:.6e}")).collect();
    format!("[{}]", v.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(value: f64, rounding: f64) -> kl::ExactSum {
        kl::ExactSum {
            value,
            points: 3,
            tail_mass: 0.0,
            rounding,
        }
    }

    /// The verdicts of the KL-vs-exact-sum check (tryout 8 G3). Oracles: the
    /// mpmath KL of tests/oracles/kl_extreme_scales.py (categorical (10⁻³⁰,
    /// 10⁻³⁰) → (1.5·10⁻³⁰, 10⁻³⁰): 9.4534891891835568·10⁻³²; Bernoulli 0.5 →
    /// 0.5 + 10⁻⁹: 1.9999998868722758·10⁻¹⁸) and the sums and rounding bounds
    /// `bayesrg kl` printed for them.
    #[test]
    #[allow(clippy::excessive_precision)] // oracle digits as printed (tests/oracles/)
    fn kl_vs_exact_sum_allows_rounding_and_still_fails_a_wrong_kl() {
        let tp = [1.5e-30, 1e-30];
        let right = 9.4534891891835568e-32;
        let near = sum(9.453489189183983e-32, 2.5e-43);
        let c = kl_vs_exact_sum(right, &near, &tp);
        assert!(c.pass && c.note.is_none(), "{c:?}");
        let c = kl_vs_exact_sum(1.1 * right, &near, &tp);
        assert!(!c.pass && c.note.is_none(), "a wrong KL fails: {c:?}");
        // Terms cancelling below their rounding: agreement is not a check.
        let cancel = sum(0.0, 1.2e-15);
        let c = kl_vs_exact_sum(1.9999998868722758e-18, &cancel, &tp);
        assert!(!c.pass && c.note.as_deref().is_some_and(|n| n.contains("cancel")));
        // …but a closed form far outside the sum's bound still fails.
        let c = kl_vs_exact_sum(1e-3, &cancel, &tp);
        assert!(!c.pass && c.note.is_none(), "{c:?}");
        // A NaN is a failed computation, with the reason.
        let c = kl_vs_exact_sum(f64::NAN, &near, &tp);
        assert!(!c.pass && c.note.as_deref().is_some_and(|n| n.contains("failed")));
    }
}

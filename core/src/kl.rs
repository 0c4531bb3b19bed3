//! The Kullback–Leibler divergence KL(θ‖θ′) = E_θ[ln p(y|θ) − ln p(y|θ′)]
//! (eq. 30), by every route the model allows, side by side:
//!
//! - the model's closed form ([`Model::kl`]);
//! - an exact sum over the model's support, for families that enumerate it
//!   ([`Model::support`]);
//! - a Monte Carlo average over y ∼ p(·|θ) with its standard error
//!   (seeded, [`rng::par_chunks`]: the same bits at any thread count), checked
//!   against the closed form by a z-test at [`Z_MAX`] — or declared
//!   unresolved, with the reason, when the sample cannot resolve the
//!   distribution of the log-ratio (see [`MonteCarlo::unresolved`]);
//! - the quadratic form ½ δᵀI(θ)δ, δ = θ′ − θ (eq. 31), exact as θ′ → θ.
//!
//! KL is +∞ when θ′ gives probability 0 to an outcome θ can produce.
// Oracle values are pasted with the digits mpmath printed (tests/oracles/).
#![allow(clippy::excessive_precision)]

use crate::error::{Error, Field, Result, show};
use crate::fisher;
use crate::linalg;
use crate::model::Model;
use crate::rng::{self, Seed};
use crate::validate::{MIN_EVENTS, Z_MIN};
use nalgebra::DVector;
use serde::Serialize;

/// Default Monte Carlo samples of [`divergence`].
pub const DEFAULT_SAMPLES: usize = 100_000;

/// Monte Carlo settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KlOptions {
    /// Draws of y ∼ p(·|θ) (at least 2).
    pub samples: usize,
    /// The run's seed; the draws use its child `"kl"`.
    pub seed: Seed,
}

impl Default for KlOptions {
    fn default() -> Self {
        KlOptions {
            samples: DEFAULT_SAMPLES,
            seed: Seed::DEFAULT,
        }
    }
}

/// The z threshold of the Monte Carlo check against the closed form: the
/// validator's smallest threshold ([`Z_MIN`] = 4.5, a two-sided false-failure
/// probability of 7·10⁻⁶ for one comparison).
pub const Z_MAX: f64 = Z_MIN;

/// Rounding allowance of a log-ratio t = ln p(y|θ) − ln p(y|θ′), in units of
/// ε·(|ln p(y|θ)| + |ln p(y|θ′)|): each log-likelihood carries a few ulp of
/// its own size, and the difference keeps their absolute error.
pub const ROUNDING_ULPS: f64 = 4.0;

/// A Monte Carlo estimate with its standard error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonteCarlo {
    /// The sample mean (summed about the first draw with compensation, so that
    /// large, nearly equal log-ratios keep their digits).
    pub value: f64,
    /// √(Var/n) with the unbiased (two-pass) variance (0 when the value is
    /// infinite).
    pub std_err: f64,
    /// n.
    pub samples: usize,
    /// The floating-point error of the mean: [`ROUNDING_ULPS`]·ε times the mean
    /// of |ln p(y|θ)| + |ln p(y|θ′)| over the draws.
    pub rounding: f64,
    /// Kish's effective sample size of the variance, (Σdᵢ²)²/Σdᵢ⁴ with
    /// dᵢ = tᵢ − t̄: how many draws the standard error rests on (n when all
    /// deviations are equal, 1 when one draw carries the whole variance).
    pub variance_ess: f64,
    /// Why the sample cannot resolve the distribution of the log-ratio, so that
    /// its standard error claims a certainty it lacks (then no z is formed):
    /// outcomes of the enumerated support carrying more than the standard
    /// error of the mean that n draws are expected to hit fewer than
    /// [`MIN_EVENTS`] times; a variance resting on fewer than [`MIN_EVENTS`]
    /// effective draws; or a standard error within `rounding` (every draw the
    /// same log-ratio) with a mean away from the closed form.
    pub unresolved: Option<String>,
}

/// An exact sum over an enumerated support.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ExactSum {
    /// Σ_y p(y|θ)[ln p(y|θ) − ln p(y|θ′)] over the enumerated points
    /// (compensated summation).
    pub value: f64,
    /// The number of points.
    pub points: usize,
    /// A bound on the probability of the points left out.
    pub tail_mass: f64,
    /// A bound on the floating-point error of `value`: [`ROUNDING_ULPS`]·ε·
    /// Σ p(y)(|ln p(y|θ)| + |ln p(y|θ′)|) (each log-likelihood's own rounding,
    /// kept by the difference) plus ε·Σ p(y)|t_y| (the products and the
    /// sum). When it reaches |value| the terms cancel below their rounding
    /// and the sum has no significant digit (Poisson 1 vs 1 + 10⁻¹²:
    /// KL 5·10⁻²⁵, bound 3·10⁻¹⁵).
    pub rounding: f64,
}

/// The outcome of the Monte Carlo check against the closed form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum McCheck {
    /// z ≤ [`Z_MAX`].
    Pass,
    /// z > [`Z_MAX`]: the closed form, the log-likelihood or the sampler is wrong.
    Fail,
    /// The sample cannot resolve the distribution ([`MonteCarlo::unresolved`]).
    Unresolved,
    /// No finite closed form, or an infinite Monte Carlo mean: nothing to compare.
    NotCompared,
    /// The model has a closed form but it came out NaN at (θ, θ′): a failed
    /// computation, not a missing oracle (the report's `closed_form` is null).
    ClosedFormNan,
}

/// KL(θ‖θ′) by every available route (nats).
#[derive(Debug, Clone, Serialize)]
pub struct KlReport {
    /// θ.
    pub theta: Vec<f64>,
    /// θ′.
    pub theta_prime: Vec<f64>,
    /// The model's closed form, if it has one.
    pub closed_form: Option<f64>,
    /// The exact sum, for enumerable supports.
    pub exact_sum: Option<ExactSum>,
    /// The Monte Carlo estimate.
    pub monte_carlo: MonteCarlo,
    /// |Monte Carlo − closed form| / √(SE² + rounding²), when both are finite,
    /// the denominator is > 0 and the sample resolves the distribution.
    pub z: Option<f64>,
    /// The threshold of `z` ([`Z_MAX`]).
    pub z_max: f64,
    /// The Monte Carlo check against the closed form.
    pub check: McCheck,
    /// ½ δᵀI(θ)δ (eq. 31); close to KL only for small δ.
    pub quadratic: Option<f64>,
}

/// Neumaier's compensated sum (error ε·Σ|xᵢ| → ε·|Σxᵢ| + nε²·Σ|xᵢ|).
fn compensated_sum(xs: impl IntoIterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for x in xs {
        let t = s + x;
        c += if s.abs() >= x.abs() {
            (s - t) + x
        } else {
            (x - t) + s
        };
        s = t;
    }
    s + c
}

/// The mean of `xs`, summed about its first element with [`compensated_sum`].
///
/// Log-ratios of far-apart laws are large and nearly equal (Poisson 1 → 10¹²:
/// tᵢ = 10¹² − 27.6·yᵢ − 1); a plain running sum of 10⁵ of them reaches 10¹⁷,
/// where each addition rounds by up to 8 and the errors pile up to 0.7 in the
/// mean, eight standard errors (tryout 5, A4). The deviations xᵢ − x₀ are exact
/// (Sterbenz) or carry only their own rounding, and their compensated sum keeps
/// the mean to a few ulp of the terms. Not finite when any term is not.
fn centred_mean(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    match xs.first() {
        Some(&c) if xs.iter().all(|x| x.is_finite()) => {
            c + compensated_sum(xs.iter().map(|x| x - c)) / n
        }
        _ => xs.iter().sum::<f64>() / n,
    }
}

/// KL(θ‖θ′) for `model` (eq. 30): closed form, exact sum, Monte Carlo and
/// the quadratic form of eq. (31), with the Monte Carlo check (`check`).
///
/// # Errors
/// θ or θ′ outside the parameter space ([`Error::Param`], prefixed with
/// `theta_prime` for θ′); fewer than 2 samples ([`Error::Domain`] on
/// `samples`); a log-likelihood that is NaN or +∞ at a draw
/// ([`Error::Failed`]).
pub fn divergence(
    model: &dyn Model,
    theta: &[f64],
    theta_prime: &[f64],
    opt: &KlOptions,
) -> Result<KlReport> {
    model.check_params(theta)?;
    model.check_params(theta_prime).map_err(|e| Error::Domain {
        field: Field::key("theta_prime"),
        value: format!("{theta_prime:?}"),
        constraint: format!("is not a parameter point: {e}"),
    })?;
    if opt.samples < 2 {
        return Err(Error::domain("samples", opt.samples, "must be at least 2"));
    }
    // The Monte Carlo holds one log-ratio per draw and evaluates ln p twice
    // per draw (the quadratic form's Fisher adds about as much again).
    let draws = opt.samples as f64;
    crate::budget::check_memory("samples", 8.0 * draws)?;
    crate::budget::check_work("samples", 4.0 * draws * theta.len().max(1) as f64)?;
    let closed_form = model.kl(theta, theta_prime);
    // (y, p(y|θ), log-ratio t_y) at every support point with p > 0, and
    // the rounding allowance of the exact sum.
    let support = model.support(theta).map(|s| {
        let k = model.obs_dim();
        let mut rounding = 0.0;
        let pts: Vec<(Vec<f64>, f64, f64)> = (0..s.len())
            .filter(|&i| s.probs[i] > 0.0)
            .map(|i| {
                let y = s.point(i, k);
                let (a, b) = (
                    model.log_likelihood(theta, y),
                    model.log_likelihood(theta_prime, y),
                );
                let (p, t) = (s.probs[i], a - b);
                rounding += p * (ROUNDING_ULPS * (a.abs() + b.abs()) + t.abs());
                (y.to_vec(), p, t)
            })
            .collect();
        (pts, s.len(), s.tail_mass, f64::EPSILON * rounding)
    });
    let exact_sum = support.as_ref().map(|(pts, len, tail, rounding)| ExactSum {
        value: compensated_sum(pts.iter().map(|(_, p, t)| p * t)),
        points: *len,
        tail_mass: *tail,
        rounding: *rounding,
    });
    let mut monte_carlo = monte_carlo(model, theta, theta_prime, opt)?;
    let n = opt.samples as f64;
    // The value the unseen outcomes are measured against.
    let reference = closed_form
        .filter(|c| c.is_finite())
        .or(exact_sum.map(|e| e.value).filter(|v| v.is_finite()))
        .unwrap_or(monte_carlo.value);
    if monte_carlo.value.is_finite() {
        if let Some((pts, _, _, _)) = &support {
            // Outcomes expected fewer than MIN_EVENTS times: the sample sees
            // them too rarely for their share of the mean to show in the SE.
            let rare: Vec<&(Vec<f64>, f64, f64)> =
                pts.iter().filter(|(_, p, _)| n * p < MIN_EVENTS).collect();
            let unseen: f64 = rare.iter().map(|(_, p, t)| p * (t - reference).abs()).sum();
            if unseen.is_finite()
                && unseen > monte_carlo.std_err.max(monte_carlo.rounding)
                && let Some((y, p, _)) = rare.iter().max_by(|a, b| {
                    (a.1 * (a.2 - reference).abs()).total_cmp(&(b.1 * (b.2 - reference).abs()))
                })
            {
                monte_carlo.unresolved.get_or_insert(format!(
                    "outcomes expected fewer than {MIN_EVENTS} times in {} draws carry \
                     {unseen:.3e} of the mean, more than its standard error {:.3e} (the largest \
                     share: y = {y:?}, probability {p:.3e}, expected {:.3e} times); raise \
                     samples to about {} or use the exact sum",
                    opt.samples,
                    monte_carlo.std_err,
                    n * p,
                    show((MIN_EVENTS / p).ceil()),
                ));
            }
        }
        // A standard error that is not finite says nothing (every value would
        // pass a z-test against it): the squared deviations overflowed.
        if !monte_carlo.std_err.is_finite() {
            monte_carlo.unresolved.get_or_insert(format!(
                "the standard error is {}: the squared deviations of the log-ratios (of size \
                 {:.1e}) overflow, so the sample cannot bound its mean's error",
                monte_carlo.std_err,
                monte_carlo.value.abs(),
            ));
        }
        // A standard error within rounding: every draw gave the same log-ratio.
        if monte_carlo.std_err <= monte_carlo.rounding
            && closed_form.is_some_and(|c| {
                c.is_finite() && (monte_carlo.value - c).abs() > monte_carlo.rounding
            })
        {
            monte_carlo.unresolved.get_or_insert(format!(
                "every one of the {} draws gave the same log-ratio, so the standard error 0 \
                 says nothing about outcomes never drawn",
                opt.samples
            ));
        }
    }
    let (z, check) = match closed_form {
        Some(c) if c.is_finite() && monte_carlo.value.is_finite() => {
            if monte_carlo.unresolved.is_some() {
                (None, McCheck::Unresolved)
            } else {
                let err = (monte_carlo.value - c).abs();
                let se = monte_carlo
                    .std_err
                    .hypot(monte_carlo.rounding + ROUNDING_ULPS * f64::EPSILON * c.abs());
                if se > 0.0 {
                    let z = err / se;
                    (
                        Some(z),
                        if z <= Z_MAX {
                            McCheck::Pass
                        } else {
                            McCheck::Fail
                        },
                    )
                } else {
                    (None, McCheck::Pass)
                }
            }
        }
        Some(c) if c.is_nan() => (None, McCheck::ClosedFormNan),
        _ => (
            None,
            if monte_carlo.unresolved.is_some() {
                McCheck::Unresolved
            } else {
                McCheck::NotCompared
            },
        ),
    };
    let quadratic = fisher::best(
        model,
        theta,
        opt.samples,
        opt.seed.child("kl/fisher").value(),
    )
    .ok()
    .map(|i| {
        let d = DVector::from_iterator(
            theta.len(),
            theta_prime.iter().zip(theta).map(|(b, a)| b - a),
        );
        0.5 * (d.transpose() * i * &d)[(0, 0)]
    });
    Ok(KlReport {
        theta: theta.to_vec(),
        theta_prime: theta_prime.to_vec(),
        closed_form,
        exact_sum,
        monte_carlo,
        z,
        z_max: Z_MAX,
        check,
        quadratic,
    })
}

/// The Monte Carlo average of ln p(y|θ) − ln p(y|θ′) over y ∼ p(·|θ), with
/// its two-pass variance, rounding allowance, the Kish effective sample size
/// of the variance, and (when that is below [`MIN_EVENTS`]) the note that the
/// sample cannot resolve the distribution.
fn monte_carlo(
    model: &dyn Model,
    theta: &[f64],
    theta_prime: &[f64],
    opt: &KlOptions,
) -> Result<MonteCarlo> {
    let n = opt.samples;
    let parts = rng::par_chunks(n, opt.seed.child("kl").value(), |_, range, r| {
        // The chunk's draws at once (`Model::sample_batch`: the same bits as
        // drawing them one by one).
        let k = model.obs_dim();
        let mut ys = vec![0.0; range.len() * k];
        model.sample_batch(theta, r, &mut ys);
        let mut ts = Vec::with_capacity(range.len());
        let mut size = 0.0;
        let mut bad = None;
        for i in 0..range.len() {
            let y = &ys[i * k..(i + 1) * k];
            let a = model.log_likelihood(theta, y);
            let b = model.log_likelihood(theta_prime, y);
            if a.is_nan() || a == f64::INFINITY || b.is_nan() || b == f64::INFINITY {
                bad.get_or_insert((y.to_vec(), a, b));
            }
            ts.push(a - b);
            size += a.abs() + b.abs();
        }
        (ts, size, bad)
    });
    let mut t = Vec::with_capacity(n);
    let mut size = 0.0;
    for (ts, s, bad) in parts {
        if let Some((y, a, b)) = bad {
            return Err(Error::failed(
                "the Monte Carlo KL (eq. 30)",
                format!("at the draw y = {y:?}: ln p(y|theta) = {a}, ln p(y|theta') = {b}"),
            ));
        }
        t.extend(ts);
        size += s;
    }
    let nf = n as f64;
    let mean = centred_mean(&t);
    let rounding = ROUNDING_ULPS * f64::EPSILON * size / nf;
    if !mean.is_finite() {
        return Ok(MonteCarlo {
            value: mean,
            std_err: 0.0,
            samples: n,
            rounding,
            variance_ess: 0.0,
            unresolved: None,
        });
    }
    // The deviations in units of 2ᵏ, 2ᵏ near the largest one, so that neither
    // their squares nor their fourth powers under- or overflow (log-ratios of
    // 10²⁰⁰ are ordinary for a rate parameter across decades). Scaling by a
    // power of two is exact, so ordinary scales keep their bits.
    let k = linalg::binary_exponent(t.iter().fold(0.0_f64, |m, x| m.max((x - mean).abs())));
    let (d2, d4) = t.iter().fold((0.0, 0.0), |(a, b), x| {
        let d = linalg::ldexp(x - mean, -k);
        let d = d * d;
        (a + d, b + d * d)
    });
    let variance_ess = if d2 > 0.0 { d2 * d2 / d4 } else { nf };
    let unresolved = (variance_ess < MIN_EVENTS).then(|| {
        format!(
            "the sample variance rests on {variance_ess:.1} effective draws (Kish's effective \
             sample size of the squared deviations), fewer than {MIN_EVENTS}: a few rare draws \
             carry it, and its standard error is not trusted either way"
        )
    });
    Ok(MonteCarlo {
        value: mean,
        std_err: linalg::ldexp((d2 / (nf - 1.0) / nf).sqrt(), k),
        samples: n,
        rounding,
        variance_ess,
        unresolved,
    })
}

#[cfg(test)]
mod tests {
    //! Oracles: the normal KL ln(σ₂/σ₁) + (σ₁² + Δμ²)/(2σ₂²) − ½ and the
    //! Bernoulli KL p ln(p/q) + (1−p) ln((1−p)/(1−q)) (docs/conventions.md);
    //! A KL with its arguments swapped (FINDINGS.md A3) must fail the z-test.
    //! (The rare Bernoulli success that Monte Carlo never draws, A2, is tested
    //! on the shared fixture in core/tests/kl_bernoulli.rs.)
    use super::*;
    use crate::error::ParamError;
    use crate::model::check_len;
    use nalgebra::DMatrix;
    use rand::Rng;
    use rand_distr::{Distribution, StandardNormal};
    use serde::Deserialize;

    /// N(μ, σ²); `swapped` returns KL(θ′‖θ) for KL(θ‖θ′).
    #[derive(Debug, Default, Serialize, Deserialize)]
    struct TNormal {
        swapped: bool,
    }

    fn normal_kl(a: &[f64], b: &[f64]) -> f64 {
        (b[1] / a[1]).ln() + (a[1] * a[1] + (a[0] - b[0]).powi(2)) / (2.0 * b[1] * b[1]) - 0.5
    }

    #[typetag::serde(name = "kl_test_normal")]
    impl Model for TNormal {
        fn param_names(&self) -> Vec<String> {
            vec!["mu".into(), "sigma".into()]
        }
        fn obs_dim(&self) -> usize {
            1
        }
        fn check_params(&self, t: &[f64]) -> std::result::Result<(), ParamError> {
            check_len(self, t)
        }
        fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
            let z: f64 = StandardNormal.sample(r);
            out[0] = t[0] + t[1] * z;
        }
        fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
            let z = (y[0] - t[0]) / t[1];
            -0.5 * z * z - t[1].ln() - crate::special::HALF_LN_2PI
        }
        fn fisher(&self, t: &[f64]) -> Option<DMatrix<f64>> {
            let s2 = t[1] * t[1];
            Some(DMatrix::from_row_slice(
                2,
                2,
                &[1.0 / s2, 0.0, 0.0, 2.0 / s2],
            ))
        }
        fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
            Some(if self.swapped {
                normal_kl(b, a)
            } else {
                normal_kl(a, b)
            })
        }
    }

    fn opt(samples: usize) -> KlOptions {
        KlOptions {
            samples,
            seed: Seed::new(7),
        }
    }

    #[test]
    fn a_correct_closed_form_passes_and_a_swapped_one_fails() {
        let (a, b) = ([2.0, 1.0], [3.0, 1.5]);
        let r = divergence(&TNormal::default(), &a, &b, &opt(100_000)).unwrap();
        assert_eq!(r.check, McCheck::Pass, "{r:?}");
        assert!(r.z.unwrap() <= Z_MAX && r.monte_carlo.unresolved.is_none());
        assert!(r.monte_carlo.variance_ess > 1000.0, "{r:?}");
        let r = divergence(&TNormal { swapped: true }, &a, &b, &opt(100_000)).unwrap();
        assert_eq!(r.check, McCheck::Fail, "{r:?}");
        assert!(r.z.unwrap() > Z_MAX);
        // The Monte Carlo still estimates the true KL(θ‖θ′) (within 5 SE).
        let mc = r.monte_carlo;
        assert!(
            (mc.value - normal_kl(&a, &b)).abs() < 5.0 * mc.std_err,
            "{mc:?}"
        );
    }

    #[test]
    fn log_ratios_of_1e300_keep_a_finite_standard_error() {
        // Tryout 7, F10: σ = 1e100 against σ′ = 1e-50 gives log-ratios near
        // 5e299 whose squared deviations overflowed: SE = ∞, z = 0, PASS
        // whatever the closed form. Oracle: the normal KL (closed form) and
        // its Monte Carlo SE, √Var/√n with Var t = 2·(σ²/2σ′²)² for
        // t ≈ σ²z²/(2σ′²) (z² has variance 2), i.e. ≈ 5e299·√2/√n.
        let (a, b) = ([0.0, 1e100], [0.0, 1e-50]);
        let n = 100_000;
        let r = divergence(&TNormal::default(), &a, &b, &opt(n)).unwrap();
        let mc = &r.monte_carlo;
        let want_se = 5e299 * 2f64.sqrt() / (n as f64).sqrt();
        assert!(
            mc.std_err.is_finite() && (mc.std_err / want_se - 1.0).abs() < 0.05,
            "{mc:?}"
        );
        assert_eq!(r.check, McCheck::Pass, "{r:?}");
        assert!((mc.value / normal_kl(&a, &b) - 1.0).abs() < 5.0 * mc.std_err / mc.value);
        // The swapped closed form (about 345) must fail at this scale too.
        let r = divergence(&TNormal { swapped: true }, &a, &b, &opt(n)).unwrap();
        assert_eq!(r.check, McCheck::Fail, "{r:?}");
        // Ordinary scales: the scaled sums give the unscaled bits.
        let (a, b) = ([2.0, 1.0], [3.0, 1.5]);
        let mc = divergence(&TNormal::default(), &a, &b, &opt(20_000))
            .unwrap()
            .monte_carlo;
        let t: Vec<f64> = {
            let model = TNormal::default();
            rng::par_chunks(20_000, Seed::new(7).child("kl").value(), |_, range, r| {
                let mut ys = vec![0.0; range.len()];
                model.sample_batch(&a, r, &mut ys);
                ys.iter()
                    .map(|y| model.log_likelihood(&a, &[*y]) - model.log_likelihood(&b, &[*y]))
                    .collect::<Vec<_>>()
            })
            .concat()
        };
        let d2: f64 = t.iter().map(|x| (x - mc.value) * (x - mc.value)).sum();
        assert_eq!(
            mc.std_err.to_bits(),
            (d2 / 19_999.0 / 20_000.0).sqrt().to_bits()
        );
    }

    #[test]
    fn an_absurd_sample_count_is_refused_before_any_work() {
        // Tryout 7, F9: 1e15 draws ran for days; `fisher` refused the same.
        let e =
            divergence(&TNormal::default(), &[0.0, 1.0], &[1.0, 1.0], &opt(1 << 50)).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{e}");
        assert_eq!(e.field().unwrap().to_string(), "samples");
    }

    /// Poisson(λ) with ln p = y ln λ − λ − ln y!; `offset` is added to the
    /// closed-form KL (a deliberately wrong closed form).
    #[derive(Debug, Default, Serialize, Deserialize)]
    struct TPoisson {
        offset: f64,
    }

    #[typetag::serde(name = "kl_test_poisson")]
    impl Model for TPoisson {
        fn param_names(&self) -> Vec<String> {
            vec!["lambda".into()]
        }
        fn obs_dim(&self) -> usize {
            1
        }
        fn check_params(&self, t: &[f64]) -> std::result::Result<(), ParamError> {
            check_len(self, t)
        }
        fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
            out[0] = rand_distr::Poisson::new(t[0]).unwrap().sample(r);
        }
        fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
            y[0] * t[0].ln() - t[0] - crate::special::ln_gamma(y[0] + 1.0)
        }
        fn fisher(&self, t: &[f64]) -> Option<DMatrix<f64>> {
            Some(DMatrix::from_element(1, 1, 1.0 / t[0]))
        }
        fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
            Some(b[0] - a[0] + a[0] * (a[0] / b[0]).ln() + self.offset)
        }
    }

    #[test]
    fn a_far_poisson_monte_carlo_keeps_its_digits() {
        // Tryout 5, A4: KL(Poisson(1) ‖ Poisson(λ′)) by Monte Carlo was off by
        // 0.71 (z = 8, FAIL) at λ′ = 10¹² and by 12 at 10¹³: the plain sum of
        // 10⁵ log-ratios of size λ′ lost the digits. Oracle: λ′ − 1 − ln λ′
        // from tests/oracles/poisson_kl_far_rate.py (mpmath, 50 digits).
        let want = [
            999985.1844894420357258959,
            9999982.881904349041680212,
            99999980.57931925604763453,
            999999978.2767341630535888,
            9999999975.974149070059543,
            99999999973.6715639770655,
            999999999971.3689788840715,
            9999999999969.066393791077,
            99999999999966.76380869808,
        ];
        for (e, want) in (6..=14).zip(want) {
            let lp = 10f64.powi(e);
            let r = divergence(&TPoisson::default(), &[1.0], &[lp], &opt(100_000)).unwrap();
            let c = r.closed_form.unwrap();
            assert!(((c - want) / want).abs() < 4.0 * f64::EPSILON, "1e{e}: {c}");
            let mc = &r.monte_carlo;
            // The standard error is ln λ′/√n (Var y = 1): 0.04 … 0.1.
            let se = mc.std_err.hypot(mc.rounding);
            assert!((mc.value - want).abs() <= Z_MAX * se, "1e{e}: {r:?}");
            assert_eq!(r.check, McCheck::Pass, "1e{e}: {r:?}");
            // The same check fails a closed form off by ten standard errors.
            let wrong = TPoisson { offset: 10.0 * se };
            let r = divergence(&wrong, &[1.0], &[lp], &opt(100_000)).unwrap();
            assert_eq!(r.check, McCheck::Fail, "1e{e}: {r:?}");
        }
    }

    #[test]
    fn the_centred_mean_keeps_what_a_running_sum_loses() {
        // xᵢ = 10¹³ + kᵢ/4 (exact doubles), kᵢ = i mod 1000: the exact mean is
        // 10¹³ + 499.5/4 = 10000000000124.875, a double.
        let xs: Vec<f64> = (0..100_000)
            .map(|i| 1e13 + (i % 1000) as f64 / 4.0)
            .collect();
        let want = 10000000000124.875;
        assert_eq!(centred_mean(&xs), want);
        // A running sum misses by 0.19, a hundred ulp of the terms and over 10 times
        // the rounding allowance 4ε·10¹³: the fault of tryout 5, A4.
        let plain = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!(
            (plain - want).abs() > 10.0 * ROUNDING_ULPS * f64::EPSILON * 1e13,
            "{plain}"
        );
        assert!(centred_mean(&[1.0, f64::INFINITY]).is_infinite());
        assert!(centred_mean(&[f64::NAN, 1.0]).is_nan());
    }

    #[test]
    fn compensated_sum_keeps_what_plain_summation_loses() {
        // 1 + 1e-16 − 1 is exactly 1e-16 (up to the rounding of 1e-16 itself).
        assert_eq!(compensated_sum([1.0, 1e-16, -1.0]), 1e-16);
        assert_eq!([1.0, 1e-16, -1.0].iter().sum::<f64>(), 0.0);
    }
}

//! The Kullback–Leibler divergence KL(θ‖θ′) = E_θ[ln p(y|θ) − ln p(y|θ′)]
//! (eq. 30), by every route the model allows, side by side:
//!
//! - the model's closed form ([`Model::kl`]);
//! - an exact sum over the model's support, for families that enumerate it
//!   ([`Model::support`]);
//! - a Monte Carlo average over y ∼ p(·|θ) with its standard error
//!   (seeded, [`rng::par_chunks`]: the same bits at any thread count);
//! - the quadratic form ½ δᵀI(θ)δ, δ = θ′ − θ (eq. 31), exact as θ′ → θ.
//!
//! KL is +∞ when θ′ gives probability 0 to an outcome θ can produce.

use crate::error::{Error, Field, Result};
use crate::fisher;
use crate::model::Model;
use crate::rng::{self, Seed};
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

/// A Monte Carlo estimate with its standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MonteCarlo {
    /// The sample mean.
    pub value: f64,
    /// √(Var/n) with the unbiased variance (0 when the value is infinite).
    pub std_err: f64,
    /// n.
    pub samples: usize,
}

/// An exact sum over an enumerated support.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ExactSum {
    /// Σ_y p(y|θ)[ln p(y|θ) − ln p(y|θ′)] over the enumerated points.
    pub value: f64,
    /// The number of points.
    pub points: usize,
    /// A bound on the probability of the points left out.
    pub tail_mass: f64,
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
    /// |Monte Carlo − closed form| / SE, when both are finite and SE > 0.
    pub z: Option<f64>,
    /// ½ δᵀI(θ)δ (eq. 31); close to KL only for small δ.
    pub quadratic: Option<f64>,
}

/// KL(θ‖θ′) for `model` (eq. 30): closed form, exact sum, Monte Carlo and
/// the quadratic form of eq. (31).
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
    let closed_form = model.kl(theta, theta_prime);
    let exact_sum = model.support(theta).map(|s| {
        let k = model.obs_dim();
        let mut v = 0.0;
        for i in 0..s.len() {
            let p = s.probs[i];
            if p > 0.0 {
                let y = s.point(i, k);
                v += p * (model.log_likelihood(theta, y) - model.log_likelihood(theta_prime, y));
            }
        }
        ExactSum {
            value: v,
            points: s.len(),
            tail_mass: s.tail_mass,
        }
    });
    let monte_carlo = monte_carlo(model, theta, theta_prime, opt)?;
    let z = match closed_form {
        Some(c) if c.is_finite() && monte_carlo.value.is_finite() && monte_carlo.std_err > 0.0 => {
            Some((monte_carlo.value - c).abs() / monte_carlo.std_err)
        }
        _ => None,
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
        quadratic,
    })
}

/// The Monte Carlo average of ln p(y|θ) − ln p(y|θ′) over y ∼ p(·|θ).
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
        let (mut s, mut q) = (0.0, 0.0);
        let mut bad = None;
        for i in 0..range.len() {
            let y = &ys[i * k..(i + 1) * k];
            let a = model.log_likelihood(theta, y);
            let b = model.log_likelihood(theta_prime, y);
            let t = a - b;
            if a.is_nan() || a == f64::INFINITY || b.is_nan() || b == f64::INFINITY {
                bad.get_or_insert((y.to_vec(), a, b));
            }
            s += t;
            q += t * t;
        }
        (s, q, bad)
    });
    let (mut s, mut q) = (0.0, 0.0);
    for (ps, pq, bad) in parts {
        if let Some((y, a, b)) = bad {
            return Err(Error::failed(
                "the Monte Carlo KL (eq. 30)",
                format!("at the draw y = {y:?}: ln p(y|theta) = {a}, ln p(y|theta') = {b}"),
            ));
        }
        s += ps;
        q += pq;
    }
    let nf = n as f64;
    let mean = s / nf;
    if !mean.is_finite() {
        return Ok(MonteCarlo {
            value: mean,
            std_err: 0.0,
            samples: n,
        });
    }
    let var = ((q / nf - mean * mean) * nf / (nf - 1.0)).max(0.0);
    Ok(MonteCarlo {
        value: mean,
        std_err: (var / nf).sqrt(),
        samples: n,
    })
}

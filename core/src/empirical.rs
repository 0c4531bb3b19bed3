//! The empirical Fisher of a data set beside the Fisher metric I(θ) of eq. (29).
//!
//! The empirical Fisher F̂(θ) = (1/n) Σₙ ℓ(yₙ)ℓ(yₙ)ᵀ, ℓ = ∇_θ ln p(y | θ),
//! is what many optimisers call "the Fisher". It is the Fisher metric
//! I(θ) = E_{y∼p(·|θ)}\[ℓℓᵀ\] (eq. 29) only when the data are draws from
//! p(·|θ) at this very θ and n → ∞. With the mean score m = (1/n) Σₙ ℓ(yₙ),
//!
//! F̂ = C + m mᵀ,  C = (1/n) Σₙ (ℓₙ − m)(ℓₙ − m)ᵀ,
//!
//! and F̂ differs from I(θ) for three reasons, which [`compare`] tells apart:
//!
//! 1. **Sampling noise**: F̂ is an average of n terms; each entry has a
//!    standard error, and |F̂ − I| within a few of them is noise.
//! 2. **θ is not where the data put the model**: the mean score is the
//!    gradient of the average log-likelihood, zero at the maximum-likelihood
//!    point. Away from it m ≠ 0, and m mᵀ (plus the change of C) is added.
//! 3. **The model does not describe the data** (misspecification): even at the
//!    maximum-likelihood point, C estimates E_data\[ℓℓᵀ\], which is not
//!    −E_data[∇² ln p]; the two enter the "sandwich" covariance
//!    (White 1982, *Econometrica* 50:1; Kunstner, Hennig & Balles 2019,
//!    "Limitations of the empirical Fisher approximation", NeurIPS).
//!
//! Only case 1 is compatible with F̂ ≈ I. The verdicts use the family-wise z
//! threshold of the validator ([`crate::validate::z_threshold`]).

use crate::error::Result;
use crate::fisher::{self, Method};
use crate::model::Model;
use crate::validate::{rows, z_threshold};
use nalgebra::DMatrix;
use serde::Serialize;

/// Why F̂ and I(θ) differ, as decided by [`compare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Diagnosis {
    /// The mean score is consistent with zero and F̂ agrees with I(θ) within
    /// sampling noise (reason 1 of the module docs).
    SamplingNoise,
    /// The mean score is significantly non-zero: θ is not the data's
    /// maximum-likelihood point (reason 2 of the module docs).
    ThetaOffData,
    /// The mean score is consistent with zero but F̂ differs from I(θ): the
    /// data are not draws from the model here (reason 3).
    Misspecified,
    /// No Fisher metric to compare with, and the mean score is consistent
    /// with zero.
    NoReference,
}

/// The empirical Fisher of a data set at θ and its comparison with I(θ).
///
/// Matrices are row-major, d × d (d = number of parameters); vectors have
/// length d. Units: 1/(parameterᵢ·parameterⱼ) for matrices, 1/parameter for
/// the mean score.
#[derive(Debug, Clone, Serialize)]
pub struct EmpiricalComparison {
    /// n, the number of observations.
    pub observations: usize,
    /// F̂ = (1/n) Σ ℓℓᵀ.
    pub empirical: Vec<Vec<f64>>,
    /// Standard error of each entry of F̂.
    pub empirical_std_err: Vec<Vec<f64>>,
    /// m = (1/n) Σ ℓ.
    pub mean_score: Vec<f64>,
    /// Standard error of each component of m.
    pub mean_score_std_err: Vec<f64>,
    /// |mᵢ| / SE(mᵢ) (0 when both are 0).
    pub mean_score_z: Vec<f64>,
    /// m mᵀ, the part of F̂ due to the mean score.
    pub mean_score_outer: Vec<Vec<f64>>,
    /// C = F̂ − m mᵀ, the scores' sample covariance (divisor n).
    pub score_covariance: Vec<Vec<f64>>,
    /// Which estimator gave I(θ), if any.
    pub reference: Option<Method>,
    /// I(θ), if given.
    pub fisher: Option<Vec<Vec<f64>>>,
    /// (F̂ − I)ᵢⱼ / √(IᵢᵢIⱼⱼ): relative on the diagonal, like a correlation
    /// off it (the validator's scaled error).
    pub scaled_difference: Option<Vec<Vec<f64>>>,
    /// The largest |F̂ − I| / SE(F̂) over entries with a positive standard
    /// error.
    pub worst_z: Option<f64>,
    /// The z threshold used for the mean score (d tests together).
    pub mean_score_threshold: f64,
    /// The z threshold used for F̂ vs I (d(d+1)/2 tests together).
    pub fisher_threshold: f64,
    /// The verdict.
    pub diagnosis: Diagnosis,
    /// The verdict and the reasons, in sentences for the report.
    pub explanation: Vec<String>,
}

/// Computes F̂ of `data` (rows = observations, each of length
/// `model.obs_dim()`) at `theta` and compares it with `fisher` (the metric
/// I(θ) and the estimator that produced it), if given.
///
/// # Errors
/// As [`fisher::empirical_scores`]: bad data name `data[k]` or `data[k][j]`;
/// a `fisher` that is not d × d is [`crate::Error::Dimension`] on `fisher`.
pub fn compare(
    model: &dyn Model,
    theta: &[f64],
    data: &[Vec<f64>],
    fisher: Option<(Method, &DMatrix<f64>)>,
) -> Result<EmpiricalComparison> {
    let s = fisher::empirical_scores(model, theta, data)?;
    let d = model.dim();
    if let Some((_, i)) = fisher
        && (i.nrows() != d || i.ncols() != d)
    {
        return Err(crate::Error::Dimension {
            field: crate::error::Field::key("fisher"),
            expected: format!("{d}×{d}"),
            got: i.len(),
        });
    }
    let f = &s.fisher.matrix;
    let se = s.fisher.std_err.clone().unwrap_or_else(|| f * 0.0);
    let m = &s.mean;
    let outer = m * m.transpose();
    let cov = f - &outer;
    let mz: Vec<f64> = m
        .iter()
        .zip(s.mean_std_err.iter())
        .map(|(v, e)| z_of(*v, *e))
        .collect();
    let mean_thr = z_threshold(d);
    let fisher_thr = z_threshold(d * (d + 1) / 2);
    let worst_mz = crate::check::worst_from(0.0, mz.iter().copied());
    let off_data = worst_mz.is_nan() || worst_mz > mean_thr;

    let mut explanation = Vec::new();
    let names = model.param_names();
    if off_data {
        let i = argmax(&mz);
        explanation.push(format!(
            "The mean score is not zero: m_{} = {:.4e} ± {:.2e} (z = {:.1} > {:.2}). \
             θ is not where these data put the model (the maximum-likelihood point has m = 0), \
             and m mᵀ adds to the empirical Fisher.",
            names[i], m[i], s.mean_std_err[i], mz[i], mean_thr
        ));
    } else {
        explanation.push(format!(
            "The mean score is consistent with zero (largest z = {worst_mz:.2} ≤ {mean_thr:.2}): \
             θ is compatible with being the data's maximum-likelihood point."
        ));
    }

    let (scaled, worst_z, diagnosis) = match fisher {
        None => {
            let diagnosis = if off_data {
                Diagnosis::ThetaOffData
            } else {
                Diagnosis::NoReference
            };
            explanation.push(
                "No Fisher metric to compare with (the model has none the validator could compute)."
                    .into(),
            );
            (None, None, diagnosis)
        }
        Some((_, i)) => {
            let scaled = DMatrix::from_fn(d, d, |a, b| {
                let sc = (i[(a, a)] * i[(b, b)]).abs().sqrt();
                let diff = f[(a, b)] - i[(a, b)];
                if sc > 0.0 { diff / sc } else { diff }
            });
            let mut worst = 0.0f64;
            let mut at = (0, 0);
            for a in 0..d {
                for b in a..d {
                    if se[(a, b)] > 0.0 {
                        let z = (f[(a, b)] - i[(a, b)]).abs() / se[(a, b)];
                        if z > worst {
                            worst = z;
                            at = (a, b);
                        }
                    }
                }
            }
            let (a, b) = at;
            let entry = format!("({}, {})", names[a], names[b]);
            if worst <= fisher_thr {
                explanation.push(format!(
                    "The empirical Fisher agrees with I(θ) within sampling noise \
                     (largest z = {worst:.2} ≤ {fisher_thr:.2} over n = {} observations).",
                    data.len()
                ));
            } else if off_data {
                explanation.push(format!(
                    "The empirical Fisher differs from I(θ): entry {entry} is {:.6e}, I(θ) has {:.6e} \
                     (z = {worst:.1}). Part of it is m mᵀ = {:.6e}; the data were not drawn at this θ.",
                    f[(a, b)],
                    i[(a, b)],
                    outer[(a, b)]
                ));
            } else {
                explanation.push(format!(
                    "The empirical Fisher differs from I(θ) although the mean score is about zero: \
                     entry {entry} is {:.6e}, I(θ) has {:.6e} (z = {worst:.1}). The scores' spread is \
                     not the model's: the data are not draws from this model near θ \
                     (misspecification), and F̂ estimates E_data[ℓℓᵀ], not the Fisher metric.",
                    f[(a, b)],
                    i[(a, b)]
                ));
            }
            let diagnosis = if off_data {
                Diagnosis::ThetaOffData
            } else if worst > fisher_thr {
                Diagnosis::Misspecified
            } else {
                Diagnosis::SamplingNoise
            };
            (Some(rows(&scaled)), Some(worst), diagnosis)
        }
    };
    explanation.push(
        "F̂ equals the Fisher metric of eq. (29) only for data drawn from p(·|θ) at this θ, \
         as n → ∞ (docs/fisher.md, \"The empirical Fisher\")."
            .into(),
    );

    Ok(EmpiricalComparison {
        observations: data.len(),
        empirical: rows(f),
        empirical_std_err: rows(&se),
        mean_score: m.iter().copied().collect(),
        mean_score_std_err: s.mean_std_err.iter().copied().collect(),
        mean_score_z: mz,
        mean_score_outer: rows(&outer),
        score_covariance: rows(&cov),
        reference: fisher.map(|(k, _)| k),
        fisher: fisher.map(|(_, i)| rows(i)),
        scaled_difference: scaled,
        worst_z,
        mean_score_threshold: mean_thr,
        fisher_threshold: fisher_thr,
        diagnosis,
        explanation,
    })
}

fn z_of(v: f64, se: f64) -> f64 {
    if se > 0.0 {
        v.abs() / se
    } else if v == 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

fn argmax(v: &[f64]) -> usize {
    let mut k = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[k] {
            k = i;
        }
    }
    k
}

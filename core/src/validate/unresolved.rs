//! What Monte Carlo cannot resolve: the rare-event diagnosis of a run and
//! the few-events diagnosis of one comparison (see the module docs of
//! [`crate::validate`]).

use super::{MIN_EVENTS, RESOLVE_EVENTS, fmt_num};
use crate::fisher::FisherEstimate;
use nalgebra::{DMatrix, DVector};

/// Why Monte Carlo cannot resolve a run: the rare-event diagnosis of
/// [`validate`].
#[derive(Debug, Clone)]
pub(crate) struct Unresolved {
    /// The message put on every Monte Carlo check that fails because of it.
    pub note: String,
}

/// The rare-event diagnosis. A family whose score takes a large value with a
/// small probability q (a Bernoulli success at p = 10⁻⁶) shows, in n ≪ 1/q
/// draws, no such event: every draw has the same few score values, E\[ℓℓᵀ\] is
/// underestimated on the diagonal by D = Iᵢᵢ − M̂ᵢᵢ, and the score mean is off
/// by m = |ℓ̄ᵢ| — both with tiny standard errors, so both z-scores are huge
/// and say nothing about the Fisher metric. The unseen events carry the
/// missing mean and the missing second moment, so by Cauchy–Schwarz
/// q ≥ m²/D, with equality when they share one score value; a run is declared
/// unresolved when, for some component, both comparisons fail, D > 0, and the
/// expected number of such events n·q is below 10. It then advises
/// N = [`RESOLVE_EVENTS`]/q samples (about 100 events). With no reference, a
/// score component with zero sample variance and a non-zero mean is the same
/// symptom; the advice is then the bound q ≤ 3/n (no event in n draws).
pub(crate) fn diagnose_rare_events(
    so: &FisherEstimate,
    reference: Option<&DMatrix<f64>>,
    mean: &DVector<f64>,
    mean_se: &DVector<f64>,
    zt: f64,
    n: usize,
    names: &[String],
) -> Option<Unresolved> {
    if so.enumerated.is_some() {
        return None;
    }
    let se = so.std_err.as_ref()?;
    let nf = n as f64;
    let mut best: Option<(f64, usize)> = None;
    for i in 0..mean.len() {
        let m = mean[i].abs();
        let zmean = if mean_se[i] > 0.0 {
            m / mean_se[i]
        } else if m > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        if zmean <= zt {
            continue;
        }
        let q = match reference {
            Some(r) => {
                let deficit = r[(i, i)] - so.matrix[(i, i)];
                let zd = deficit / se[(i, i)].max(f64::MIN_POSITIVE);
                if !(deficit > 0.0 && zd > zt) {
                    continue;
                }
                m * m / deficit
            }
            None if mean_se[i] == 0.0 => 3.0 / nf,
            None => continue,
        };
        if q > 0.0 && nf * q < 10.0 && best.is_none_or(|(b, _)| q < b) {
            best = Some((q, i));
        }
    }
    let (q, i) = best?;
    let need = (RESOLVE_EVENTS / q).ceil();
    let bound = if reference.is_some() { "" } else { "at least " };
    Some(Unresolved {
        note: format!(
            "Monte Carlo cannot resolve this: too few events: raise samples to {bound}{} \
             (the score component {} takes a rare value with probability about {}, so {n} \
             draws expect {} such events; about {} are needed)",
            fmt_num(need),
            names[i],
            fmt_num(q),
            fmt_num(nf * q),
            RESOLVE_EVENTS
        ),
    })
}

/// The few-events diagnosis of one Monte Carlo comparison. A z-score rests
/// on the normal approximation of a mean, which needs many draws to
/// contribute; when the draws that carry an entry are rare (Kish's effective
/// sample size of its terms, [`FisherEstimate::effective_samples`], below
/// [`MIN_EVENTS`]) the z-score means nothing either way. The comparison
/// is then undecided: if it fails, when every failing entry is such an entry;
/// if it passes, when any entry is. The note advises
/// N = ⌈n·[`RESOLVE_EVENTS`]/n_eff⌉ samples.
pub(crate) fn few_events_note(
    z: &DMatrix<f64>,
    zt: f64,
    eff: Option<&DMatrix<f64>>,
    n: usize,
    names: &[String],
) -> Option<String> {
    let eff = eff?;
    let fails = |v: f64| v.is_nan() || v > zt;
    let failing = (0..z.nrows()).any(|i| (i..z.ncols()).any(|j| fails(z[(i, j)])));
    let mut worst: Option<(f64, usize, usize)> = None;
    for i in 0..z.nrows() {
        for j in i..z.ncols() {
            if failing && !fails(z[(i, j)]) {
                continue;
            }
            let e = eff[(i, j)].min(eff[(j, i)]);
            if e >= MIN_EVENTS {
                if failing {
                    return None; // a failing entry with enough events: a real failure
                }
                continue;
            }
            if worst.is_none_or(|(w, _, _)| e < w) {
                worst = Some((e, i, j));
            }
        }
    }
    let (e, i, j) = worst?;
    let need = (n as f64 * RESOLVE_EVENTS / e.max(1.0)).ceil();
    let entry = if z.ncols() == 1 {
        names[i].clone()
    } else {
        format!("({}, {})", names[i], names[j])
    };
    Some(format!(
        "Monte Carlo cannot resolve this: too few events: raise samples to {} (entry {entry} \
         rests on about {} effective draws of {n}, a few rare draws carrying its mean; about \
         {} are needed for its z-score to mean anything)",
        fmt_num(need),
        fmt_num(e),
        RESOLVE_EVENTS
    ))
}

/// Draws of the rounding diagnosis ([`diagnose_rounding`]).
pub(crate) const ROUNDING_DRAWS: usize = 1024;

/// The rounding diagnosis. A draw y is an `f64`: near |y| it is held to steps
/// h = ulp(y), so a family whose spread is not far above the step of its
/// location (a normal at μ = 10¹⁶, σ = 1: steps of 2; at μ = 0.5,
/// σ = 10⁻¹⁵⁰) has quantised draws, and so a quantised score, whose second
/// moments are off by a relative amount of order (h/sd)². That is a limit of
/// sampling in `f64`, not an error of the Fisher metric: no sample size
/// resolves it. With sd the spread of [`ROUNDING_DRAWS`] draws of one
/// component (computed in units of its largest deviation: no square
/// overflows) and h the largest step among them, a run is declared
/// unresolved when (h/sd)² exceeds a tenth of the relative standard error
/// √(2/n) of a second moment over `n` draws (a bias below that is invisible).
/// The step is the larger of the draws' ulp and the smallest non-zero gap
/// between them (draws computed from larger intermediates are rounded above
/// their own ulp); draws that are all one value (a normal at μ = 10¹⁰⁰, a
/// gamma log-draw at shape and rate 10¹⁰⁰) are rounded with no spread left.
/// The mean is taken as an offset from the first draw, so its own rounding
/// does not pass for a spread.
/// Families with an enumerated support are summed exactly and not checked.
pub(crate) fn diagnose_rounding(
    model: &dyn crate::model::Model,
    theta: &[f64],
    n: usize,
    seed: u64,
) -> Option<Unresolved> {
    if model.support(theta).is_some() {
        return None;
    }
    let k = model.obs_dim();
    if k == 0 {
        return None;
    }
    let mut ys = vec![0.0; ROUNDING_DRAWS * k];
    model.sample_batch(theta, &mut crate::rng::stream(seed, 0), &mut ys);
    let limit = 0.1 * (2.0 / n as f64).sqrt();
    let mut worst: Option<(f64, usize, f64, f64, f64)> = None;
    for c in 0..k {
        let col: Vec<f64> = ys.iter().skip(c).step_by(k).copied().collect();
        if col.iter().any(|v| !v.is_finite()) {
            continue;
        }
        // The mean as an offset from the first draw: a plain sum of 1024 draws
        // near 10¹⁰⁰ rounds by far more than their ulp, and that rounding
        // would pass for a spread when every draw is equal.
        let base = col[0];
        let mean = base + col.iter().map(|v| v - base).sum::<f64>() / col.len() as f64;
        let top = col.iter().fold(0.0_f64, |m, v| m.max((v - mean).abs()));
        if !top.is_finite() {
            continue;
        }
        let sd = if top > 0.0 {
            let ss: f64 = col.iter().map(|v| ((v - mean) / top).powi(2)).sum();
            top * (ss / (col.len() - 1) as f64).sqrt()
        } else {
            0.0 // every draw rounded to the same non-zero value
        };
        let (ulp_step, at) = col
            .iter()
            .map(|v| (ulp(*v), *v))
            .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a });
        // The quantum the draws show: the smallest non-zero gap between sorted
        // draws. A draw computed from larger intermediates (ln y of a gamma at
        // shape 10¹⁰⁰ is ln of ~10¹⁰⁰ minus ln β, held to ulp(230)) is rounded
        // far above its own ulp; 1024 unrounded draws have gaps near sd/10⁶.
        let mut sorted = col.clone();
        sorted.sort_by(f64::total_cmp);
        let gap = sorted
            .windows(2)
            .map(|w| w[1] - w[0])
            .filter(|g| *g > 0.0)
            .fold(f64::INFINITY, f64::min);
        let step = if gap.is_finite() {
            ulp_step.max(gap)
        } else {
            ulp_step
        };
        let r = if sd > 0.0 { step / sd } else { f64::INFINITY };
        if r * r > limit && worst.is_none_or(|w| r > w.0) {
            worst = Some((r, c, step, at, sd));
        }
    }
    let (r, c, step, at, sd) = worst?;
    if sd == 0.0 {
        return Some(Unresolved {
            note: format!(
                "Monte Carlo cannot resolve this: the draws are rounded: all {ROUNDING_DRAWS} \
                 draws of component {c} of y are the same f64 value {}: the family's spread \
                 at this θ is below the rounding of the arithmetic that draws it, so the score \
                 is quantised and no sample size helps",
                fmt_num(at)
            ),
        });
    }
    Some(Unresolved {
        note: format!(
            "Monte Carlo cannot resolve this: the draws are rounded: component {c} of y near {} \
             is held in f64 to steps of {} against a spread of {} (step/spread = {}), so the \
             score is quantised and no sample size helps; the Fisher metric of a location \
             parameter does not depend on its value: check the model at a centred θ",
            fmt_num(at),
            fmt_num(step),
            fmt_num(sd),
            fmt_num(r)
        ),
    })
}

/// The gap from |x| to the next larger `f64`: the rounding step of a draw near x.
fn ulp(x: f64) -> f64 {
    let a = x.abs();
    f64::from_bits(a.to_bits() + 1) - a
}

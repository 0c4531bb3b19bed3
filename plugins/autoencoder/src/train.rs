//! Training the section-4 autoencoder: Adam (Kingma & Ba 2015, in PyTorch's
//! form) on the mean squared error of eq. (53), with the batched kernels of
//! [`crate::batched`].
//!
//! Each epoch shuffles the training images (a Fisher–Yates permutation drawn
//! from stream `epoch` of the seed given, [`bayesrg_core::rng::Seed::stream`]),
//! takes Adam steps on consecutive batches of `batch_size` images (the last one
//! may be smaller), and then measures the training MSE over all images. A seed
//! fixes every bit of the result whatever the number of threads.

use crate::batched::{self, Params, Pixels, Real, SparseImages, Work};
use crate::net::Autoencoder;
use bayesrg_core::error::{Error, Result};
use bayesrg_core::observe::{Observer, tick};
use bayesrg_core::rng::Seed;
use rand::RngExt;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The arithmetic of training and of the sweep's loss evaluations. The Fisher
/// metric is always computed in f64 ([`crate::fisher`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Single precision (the default, as PyTorch): twice the SIMD width of f64.
    #[default]
    F32,
    /// Double precision: the reference.
    F64,
}

/// Adam and loop settings (defaults: Table 2 of the paper and the authors' code).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSpec {
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per Adam step.
    pub batch_size: usize,
    /// Adam step size α.
    pub lr: f64,
    /// Adam β₁.
    pub beta1: f64,
    /// Adam β₂.
    pub beta2: f64,
    /// Adam ε.
    pub eps: f64,
    /// Arithmetic of training and sweeps.
    pub precision: Precision,
}

impl Default for TrainSpec {
    fn default() -> Self {
        TrainSpec {
            epochs: 10,
            batch_size: 1000,
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            precision: Precision::F32,
        }
    }
}

impl TrainSpec {
    /// Checks every setting; errors name the field (`epochs`, `lr`, …: the
    /// caller places them under its own key).
    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(Error::domain("batch_size", 0, "must be at least 1"));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(Error::domain("lr", self.lr, "must be finite and > 0"));
        }
        for (n, b) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&b) {
                return Err(Error::domain(n, b, "must be in [0, 1)"));
            }
        }
        if !(self.eps > 0.0 && self.eps.is_finite()) {
            return Err(Error::domain("eps", self.eps, "must be finite and > 0"));
        }
        Ok(())
    }

    /// Adam steps over `images` training images.
    pub fn steps(&self, images: usize) -> usize {
        self.epochs
            .saturating_mul(images.div_ceil(self.batch_size.max(1)))
    }
}

/// What training returns besides the trained network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Training {
    /// Training MSE per pixel after each epoch.
    pub losses: Vec<f64>,
    /// Adam steps taken.
    pub steps: usize,
}

/// Trains `net` in place with Adam on `images` (concatenated, each
/// `net.arch.input` long; pixel values in any range), shuffling with `seed`.
/// Reports phase `"train"` to `obs`, one tick per Adam step.
///
/// Errors: [`Error::Cancelled`] when `obs` asks to stop; [`Error::Failed`] when
/// the training loss stops being finite (a step size too large). The spec is
/// checked first ([`TrainSpec::validate`]).
pub fn train(
    net: &mut Autoencoder,
    images: &[f64],
    spec: &TrainSpec,
    seed: Seed,
    obs: &mut dyn Observer,
) -> Result<Training> {
    train_on(net, Pixels::Values(images), spec, seed, obs)
}

/// [`train`] on images given as values or as MNIST bytes ([`Pixels`]; bytes
/// train exactly as their values b / 255 would).
pub fn train_on(
    net: &mut Autoencoder,
    images: Pixels<'_>,
    spec: &TrainSpec,
    seed: Seed,
    obs: &mut dyn Observer,
) -> Result<Training> {
    spec.validate()?;
    let input = net.arch.input;
    match spec.precision {
        Precision::F32 => {
            let x = SparseImages::<f32>::from_pixels(images, input);
            train_in(net, x, spec, seed, obs)
        }
        Precision::F64 => {
            let x = SparseImages::<f64>::from_pixels(images, input);
            train_in(net, x, spec, seed, obs)
        }
    }
}

/// [`train_on`] in the arithmetic `T`, on the images `x` already in it.
fn train_in<T: Real>(
    net: &mut Autoencoder,
    x: SparseImages<T>,
    spec: &TrainSpec,
    seed: Seed,
    obs: &mut dyn Observer,
) -> Result<Training> {
    let arch = net.arch;
    let count = x.len();
    let mut p = Params::<T>::from_f64(arch, &net.theta);
    let np = arch.n_params();
    let (mut mom, mut vel, mut g) = (vec![T::ZERO; np], vec![T::ZERO; np], vec![T::ZERO; np]);
    let mut works: Vec<Work<T>> = Vec::new();
    let (b1, b2) = (T::from_f64(spec.beta1), T::from_f64(spec.beta2));
    let (c1, c2) = (T::from_f64(1.0 - spec.beta1), T::from_f64(1.0 - spec.beta2));
    let eps = T::from_f64(spec.eps);
    let total = spec.steps(count);
    obs.phase("train", Some(total as u64));
    let mut t = 0usize;
    let mut losses = Vec::with_capacity(spec.epochs);
    let mut order: Vec<usize> = (0..count).collect();
    for epoch in 0..spec.epochs {
        let mut rng = seed.stream(epoch as u64);
        for i in (1..count).rev() {
            let j = rng.random_range(0..=i);
            order.swap(i, j);
        }
        for batch in order.chunks(spec.batch_size) {
            batched::gradient(&p, &x, batch, &mut works, &mut g);
            t += 1;
            // PyTorch's Adam: θ ← θ − (α / (1 − β₁ᵗ)) m / (√v / √(1 − β₂ᵗ) + ε).
            let step = T::from_f64(spec.lr / (1.0 - spec.beta1.powf(t as f64)));
            let root2 = T::from_f64((1.0 - spec.beta2.powf(t as f64)).sqrt());
            // Elementwise, vectorised for this CPU (the same bits at any
            // SIMD width: IEEE sqrt and division are correctly rounded), in
            // pieces of θ in parallel (the same bits at any thread count).
            p.theta
                .par_chunks_mut(batched::SPAN)
                .zip(mom.par_chunks_mut(batched::SPAN))
                .zip(vel.par_chunks_mut(batched::SPAN))
                .zip(g.par_chunks(batched::SPAN))
                .for_each(|(((theta, mom), vel), g)| {
                    batched::simd(
                        #[inline(always)]
                        || {
                            for (((th, m), v), &gp) in theta.iter_mut().zip(mom).zip(vel).zip(g) {
                                *m = b1 * *m + c1 * gp;
                                *v = b2 * *v + c2 * gp * gp;
                                *th -= step * *m / (v.sqrt() / root2 + eps);
                            }
                        },
                    )
                });
            tick(obs, t as u64)?;
        }
        // ReLU(NaN) is 0 here (as the comparison z > 0 is false), so a
        // diverging run could hide behind a finite loss: check θ itself.
        let l = batched::mse(&p, &x);
        if let Some(q) = p.theta.iter().position(|t| !t.to_f64().is_finite()) {
            return Err(Error::failed(
                "training",
                format!(
                    "parameter {q} is {:?} after epoch {} (a step size lr = {} too large?)",
                    p.theta[q],
                    epoch + 1,
                    spec.lr
                ),
            ));
        }
        if !l.is_finite() {
            return Err(Error::failed(
                "training",
                format!(
                    "the training MSE is {l} after epoch {} (a step size lr = {} too large?)",
                    epoch + 1,
                    spec.lr
                ),
            ));
        }
        obs.note(&format!("epoch {} training MSE {l:.6}", epoch + 1));
        losses.push(l);
    }
    net.theta = p.to_f64();
    Ok(Training { losses, steps: t })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Architecture;
    use bayesrg_core::observe::Silent;

    /// An autoencoder of `input` inputs and `latent` units.
    fn arch(input: usize, latent: usize, bias: bool) -> Architecture {
        Architecture {
            input,
            latent,
            bias,
        }
    }

    /// `epochs` passes of Adam steps of `batch_size` images at step size `lr`.
    fn spec(epochs: usize, batch_size: usize, lr: f64) -> TrainSpec {
        TrainSpec {
            epochs,
            batch_size,
            lr,
            ..Default::default()
        }
    }

    fn data(input: usize, count: usize, seed: u64) -> Vec<f64> {
        let mut rng = Seed::new(seed).child("data").stream(0);
        // A low-rank signal plus sparsity, so that a small autoencoder learns.
        let basis: Vec<Vec<f64>> = (0..3)
            .map(|_| (0..input).map(|_| rng.random::<f64>()).collect())
            .collect();
        (0..count)
            .flat_map(|_| {
                let c: Vec<f64> = (0..3).map(|_| rng.random::<f64>()).collect();
                (0..input)
                    .map(|i| {
                        let v: f64 = (0..3).map(|k| c[k] * basis[k][i]).sum::<f64>() / 3.0;
                        if v < 0.25 { 0.0 } else { v }
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn deterministic_at_any_thread_count_and_descends() {
        let arch = arch(12, 4, true);
        let x = data(12, 600, 1);
        let spec = spec(3, 200, 1e-2);
        let run = |t| {
            crate::testutil::on_threads(t, || {
                let mut n = Autoencoder::init(arch, Seed::new(3));
                let r = train(&mut n, &x, &spec, Seed::new(4), &mut Silent).unwrap();
                (n, r)
            })
        };
        let (a, ra) = run(1);
        assert_eq!((a.clone(), ra.clone()), run(2));
        assert_eq!(ra.steps, 9);
        let start = Autoencoder::init(arch, Seed::new(3)).mse(&x);
        assert!(ra.losses[2] < start, "{:?} vs {start}", ra.losses);
        // The reported loss is the f64 reference loss of the returned weights
        // up to f32 rounding of the forward pass (relative γ_{n+m+2} ≈ 10⁻⁶).
        let r = a.mse(&x);
        assert!(
            (ra.losses[2] - r).abs() <= 1e-5 * r,
            "{} vs {r}",
            ra.losses[2]
        );
    }

    /// f32 training reaches the f64 loss within run-to-run noise. Oracle: the
    /// spread sd of the f64 final loss over 8 seeds (initialisation and
    /// shuffles). Equivalence test on the paired differences f32 − f64 (same
    /// seed): their mean plus 3 standard errors (se = sd(differences)/√8)
    /// must stay below a quarter of the seed-to-seed sd. A deliberately
    /// different optimiser (half the step size) must fail the same test.
    #[test]
    fn f32_training_matches_f64_within_seed_noise() {
        let arch = arch(16, 4, false);
        let x = data(16, 400, 2);
        let base = spec(15, 50, 5e-3);
        let finals = |spec: &TrainSpec| -> Vec<f64> {
            (0..8)
                .map(|s| {
                    let mut n = Autoencoder::init(arch, Seed::new(s).child("init"));
                    let r = train(&mut n, &x, spec, Seed::new(s).child("shuffle"), &mut Silent)
                        .unwrap();
                    *r.losses.last().unwrap()
                })
                .collect()
        };
        let l64 = finals(&TrainSpec {
            precision: Precision::F64,
            ..base.clone()
        });
        let stats = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let sd = (v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt();
            (m, sd)
        };
        let (_, sd_seeds) = stats(&l64);
        let paired = |other: &[f64]| -> (f64, f64) {
            let d: Vec<f64> = other.iter().zip(&l64).map(|(a, b)| a - b).collect();
            let (m, sd) = stats(&d);
            (m, sd / (d.len() as f64).sqrt())
        };
        let (d32, se32) = paired(&finals(&base));
        assert!(
            d32.abs() + 3.0 * se32 <= 0.25 * sd_seeds,
            "f32 − f64 = {d32} ± {se32}; seed spread {sd_seeds}"
        );
        let (dw, sew) = paired(&finals(&TrainSpec {
            lr: base.lr * 0.5,
            ..base.clone()
        }));
        assert!(
            dw.abs() + 3.0 * sew > 0.25 * sd_seeds,
            "a different step size went unnoticed: {dw} ± {sew}; seed spread {sd_seeds}"
        );
    }

    #[test]
    fn bad_settings_name_the_field_and_nan_is_failed() {
        let e = TrainSpec {
            lr: -1.0,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field().unwrap().to_string(), "lr");
        let e = TrainSpec {
            beta2: 1.0,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field().unwrap().to_string(), "beta2");
        // A step size that makes training diverge to inf and NaN: a failed
        // computation (exit 1), not bad input, with the reason.
        let mut n = Autoencoder::init(arch(4, 2, false), Seed::new(1));
        let x = data(4, 10, 3);
        let huge = TrainSpec {
            lr: 1e30,
            ..Default::default()
        };
        let e = train(&mut n, &x, &huge, Seed::new(1), &mut Silent).unwrap_err();
        assert!(!e.is_bad_input(), "{e}");
        assert!(e.to_string().contains("lr"), "{e}");
    }
}

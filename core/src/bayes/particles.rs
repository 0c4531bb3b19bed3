//! Weighted particles: draws θₖ from the prior carrying importance log-weights.
//! The effective sample size ESS = 1/Σwₖ² measures how many equally weighted
//! draws they are worth; [`ParticlePosterior::resample`] restores equal weights.

use super::points::WeightedPoints;
use super::prior::Prior;
use crate::rng;
use rand::RngExt;

/// A posterior represented by weighted particles.
#[derive(Debug, Clone)]
pub struct ParticlePosterior {
    pts: WeightedPoints,
}

impl ParticlePosterior {
    /// `n` equally weighted draws from `prior`, seeded (chunked streams, so the
    /// draws do not depend on the number of threads). Fails for an invalid
    /// prior (see [`Prior::new`]) or n = 0.
    pub fn from_prior(prior: &Prior, n: usize, seed: u64) -> crate::Result<Self> {
        if n == 0 {
            return Err(crate::Error::setting("particles", "must be >= 1"));
        }
        for (i, f) in prior.factors.iter().enumerate() {
            f.validate(&format!("{i}"))?;
        }
        let d = prior.dim();
        let chunks = rng::par_chunks(n, seed, |_, range, r| {
            let mut v = vec![0.0; range.len() * d];
            for c in v.chunks_mut(d) {
                prior.sample_into(r, c);
            }
            v
        });
        let coords: Vec<f64> = chunks.into_iter().flatten().collect();
        Ok(ParticlePosterior {
            pts: WeightedPoints::new(d, coords, vec![0.0; n]),
        })
    }

    /// Particles from given points and log-weights.
    pub fn from_points(pts: WeightedPoints) -> Self {
        ParticlePosterior { pts }
    }

    /// The weighted particles.
    pub fn points(&self) -> &WeightedPoints {
        &self.pts
    }

    /// Mutable weighted particles.
    pub fn points_mut(&mut self) -> &mut WeightedPoints {
        &mut self.pts
    }

    /// The effective sample size.
    pub fn ess(&self) -> f64 {
        self.pts.ess()
    }

    /// Systematic resampling to the same number of equally weighted particles,
    /// with one uniform offset drawn from the stream `(seed, 0)`.
    pub fn resample(&mut self, seed: u64) {
        let n = self.pts.len();
        let d = self.pts.dim();
        let u0: f64 = rng::stream(seed, 0).random::<f64>() / n as f64;
        let w = self.pts.weights();
        let mut coords = Vec::with_capacity(n * d);
        let mut cum = 0.0;
        let mut k = 0;
        for i in 0..n {
            let u = u0 + i as f64 / n as f64;
            while k + 1 < n && cum + w[k] < u {
                cum += w[k];
                k += 1;
            }
            coords.extend_from_slice(self.pts.point(k));
        }
        self.pts = WeightedPoints::new(d, coords, vec![0.0; n]);
    }
}

super::points::posterior_by_points!(ParticlePosterior);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bayes::Posterior;
    use crate::bayes::prior::Factor;

    #[test]
    fn resampling_keeps_the_mean_and_equalises_weights() {
        let prior = Prior {
            factors: vec![Factor::Normal { mean: 0.0, sd: 1.0 }],
        };
        let mut p = ParticlePosterior::from_prior(&prior, 50_000, 3).unwrap();
        // Tilt by e^{θ}: N(0,1)·e^{θ} ∝ N(1, 1), mean 1 (the oracle).
        let lw: Vec<f64> = (0..p.points().len())
            .map(|k| p.points().point(k)[0])
            .collect();
        p.points_mut().log_weights_mut().copy_from_slice(&lw);
        p.points_mut().normalize();
        let ess = p.ess();
        assert!(ess < 50_000.0 && ess > 10_000.0, "ess {ess}");
        let m = p.mean()[0];
        // Importance-sampling standard error ≈ sd/√ESS = 1/√ESS; 5 SE.
        assert!((m - 1.0).abs() < 5.0 / ess.sqrt(), "mean {m}");
        p.resample(9);
        assert!((p.ess() - 50_000.0).abs() < 1e-6);
        // Resampling adds at most the multinomial error 1/√n (systematic is smaller).
        assert!((p.mean()[0] - 1.0).abs() < 5.0 / ess.sqrt() + 5.0 / 50_000f64.sqrt());
    }
}

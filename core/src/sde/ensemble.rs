//! Ensembles: many paths in parallel, saved only at requested times.
//!
//! Paths are cut into chunks of [`rng::CHUNK`]; chunk k draws every Brownian
//! increment of its paths from one [`NormalStream`] seeded by the stream
//! `rng::stream(seed, k)`. The result therefore does not depend on the number
//! of threads. Inside a chunk, paths are stepped together in blocks of
//! [`block_paths`]`(d, m)` (structure of arrays, n × d), so a linear drift and
//! an additive noise are one small matrix product per step for the whole
//! block; each step draws the increments of the whole block at once
//! ([`draw_increments`]). Nothing is allocated per step. Memory is paths × saved times × d, whatever the
//! number of steps.
//!
//! Between consecutive save times t_{k−1} < t_k the stepper takes
//! n_k = ⌈(t_k − t_{k−1}) / max_step⌉ equal steps, so every save time is hit exactly.

use crate::error::{Error, Result};
use crate::rng;
use crate::rng::NormalStream;
use crate::sde::brownian::draw_increments;
use crate::sde::steppers::{BlockWorkspace, Stepper};
use crate::sde::terms::Problem;
use nalgebra::{DMatrix, DVector};
use std::sync::Arc;

/// Where the paths start.
#[derive(Debug, Clone)]
pub enum Initial {
    /// Every path starts at this point.
    Point(Vec<f64>),
    /// Path i starts at row i of this paths × d row-major array (for example
    /// samples of a density to be pushed through the SDE).
    Each(Arc<Vec<f64>>),
}

/// What to simulate: number of paths, start, save times, step and seed.
#[derive(Debug, Clone)]
pub struct EnsembleConfig {
    /// Number of paths.
    pub paths: usize,
    /// Initial states.
    pub initial: Initial,
    /// Start time τ₀.
    pub t0: f64,
    /// Save times, increasing, each ≥ τ₀.
    pub save_at: Vec<f64>,
    /// Largest step; each interval between save times is cut into equal steps no
    /// larger than this.
    pub max_step: f64,
    /// Seed of the random streams.
    pub seed: u64,
}

impl EnsembleConfig {
    /// `paths` paths from the point `y0` at τ₀ = 0, saved at `save_at`.
    pub fn new(paths: usize, y0: Vec<f64>, save_at: Vec<f64>, max_step: f64, seed: u64) -> Self {
        EnsembleConfig {
            paths,
            initial: Initial::Point(y0),
            t0: 0.0,
            save_at,
            max_step,
            seed,
        }
    }

    /// The (number of steps, step size) of each interval between save times.
    pub fn segments(&self) -> Vec<(usize, f64)> {
        let mut prev = self.t0;
        self.save_at
            .iter()
            .map(|&t| {
                let len = t - prev;
                prev = t;
                if len <= 0.0 {
                    return (0, 0.0);
                }
                let n = ((len / self.max_step) * (1.0 - 1e-12)).ceil().max(1.0) as usize;
                (n, len / n as f64)
            })
            .collect()
    }

    /// The total number of steps of one path.
    pub fn steps_per_path(&self) -> usize {
        self.segments().iter().map(|s| s.0).sum()
    }

    fn validate(&self, d: usize) -> Result<()> {
        if self.paths == 0 {
            return Err(Error::setting("paths", "must be at least 1"));
        }
        if self.max_step <= 0.0 || self.max_step.is_nan() || !self.max_step.is_finite() {
            return Err(Error::setting(
                "dt",
                format!(
                    "the step must be positive and finite, got {}",
                    self.max_step
                ),
            ));
        }
        if self.save_at.is_empty() {
            return Err(Error::setting("save_at", "give at least one save time"));
        }
        let mut prev = self.t0;
        for &t in &self.save_at {
            if !t.is_finite() || t < prev {
                return Err(Error::setting(
                    "save_at",
                    format!(
                        "save times must be finite, increasing and ≥ t0 = {}; got {t} after {prev}",
                        self.t0
                    ),
                ));
            }
            prev = t;
        }
        match &self.initial {
            Initial::Point(y) if y.len() != d => Err(Error::setting(
                "y0",
                format!("has {} entries but the SDE has dimension {d}", y.len()),
            )),
            Initial::Each(v) if v.len() != self.paths * d => Err(Error::setting(
                "initial",
                format!(
                    "holds {} numbers, expected paths × d = {}",
                    v.len(),
                    self.paths * d
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// The saved states of an ensemble.
#[derive(Debug, Clone)]
pub struct Ensemble {
    times: Vec<f64>,
    dim: usize,
    paths: usize,
    /// [time][path][coordinate].
    data: Vec<f64>,
}

impl Ensemble {
    /// The save times.
    pub fn times(&self) -> &[f64] {
        &self.times
    }
    /// The dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// The number of paths.
    pub fn paths(&self) -> usize {
        self.paths
    }
    /// All states at save time k, paths × d row-major.
    pub fn states(&self, k: usize) -> &[f64] {
        let s = self.paths * self.dim;
        &self.data[k * s..(k + 1) * s]
    }
    /// The state of path i at save time k.
    pub fn state(&self, k: usize, i: usize) -> &[f64] {
        &self.states(k)[i * self.dim..(i + 1) * self.dim]
    }
    /// Coordinate j of every path at save time k.
    pub fn coordinate(&self, k: usize, j: usize) -> Vec<f64> {
        self.states(k).chunks(self.dim).map(|r| r[j]).collect()
    }
    /// The ensemble mean at save time k.
    pub fn mean(&self, k: usize) -> DVector<f64> {
        mean(self.states(k), self.dim)
    }
    /// The ensemble covariance (divisor n − 1) at save time k.
    pub fn cov(&self, k: usize) -> DMatrix<f64> {
        covariance(self.states(k), self.dim)
    }
}

/// The mean of n rows of length d.
pub fn mean(x: &[f64], d: usize) -> DVector<f64> {
    let n = x.len() / d;
    let mut m = DVector::zeros(d);
    for r in x.chunks(d) {
        for j in 0..d {
            m[j] += r[j];
        }
    }
    m / n as f64
}

/// The sample covariance (divisor n − 1) of n rows of length d.
pub fn covariance(x: &[f64], d: usize) -> DMatrix<f64> {
    let n = x.len() / d;
    let m = mean(x, d);
    let mut c = DMatrix::zeros(d, d);
    let mut r0 = vec![0.0; d];
    for r in x.chunks(d) {
        for j in 0..d {
            r0[j] = r[j] - m[j];
        }
        for a in 0..d {
            for b in 0..=a {
                c[(a, b)] += r0[a] * r0[b];
            }
        }
    }
    for a in 0..d {
        for b in 0..a {
            c[(b, a)] = c[(a, b)];
        }
    }
    c / (n as f64 - 1.0).max(1.0)
}

/// The number of paths stepped together in one block of a chunk, for state
/// dimension `d` and noise dimension `m`: about 8192 numbers per n × max(d, m)
/// block (it stays in the L1/L2 cache), between 8 and 256 paths. A fixed
/// function of the dimensions, so the draws do not depend on the thread count.
pub fn block_paths(d: usize, m: usize) -> usize {
    (8192 / d.max(m).max(1)).clamp(8, 256)
}

/// Simulates `cfg.paths` paths of `problem` with `stepper`; `progress(k)` is
/// called after each finished chunk with its number of paths.
pub fn simulate(
    problem: &Problem,
    stepper: &dyn Stepper,
    cfg: &EnsembleConfig,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Ensemble> {
    let d = problem.dim();
    let m = problem.noise_dim();
    cfg.validate(d)?;
    stepper.check(problem)?;
    let segs = cfg.segments();
    let nt = cfg.save_at.len();
    let needs_dz = stepper.info().needs_time_integral;
    let block = block_paths(d, m);
    let chunks = rng::par_chunks(cfg.paths, cfg.seed, |_, range, rng| {
        let np = range.len();
        let first = range.start;
        let mut normals = NormalStream::new(rng);
        let mut out = vec![0.0; nt * np * d];
        let mut ws = BlockWorkspace::new(block, d, m);
        let mut ys = vec![0.0; block * d];
        let mut dw = vec![0.0; block * m];
        let mut dz = vec![0.0; if needs_dz { block * m } else { 0 }];
        for b0 in (0..np).step_by(block) {
            let nb = block.min(np - b0);
            let ys = &mut ys[..nb * d];
            let dw = &mut dw[..nb * m];
            let dz = &mut dz[..if needs_dz { nb * m } else { 0 }];
            match &cfg.initial {
                Initial::Point(p) => {
                    for y in ys.chunks_exact_mut(d) {
                        y.copy_from_slice(p);
                    }
                }
                Initial::Each(v) => {
                    let i = first + b0;
                    ys.copy_from_slice(&v[i * d..(i + nb) * d]);
                }
            }
            ws.reset();
            let mut t = cfg.t0;
            for (k, &(n, h)) in segs.iter().enumerate() {
                for s in 0..n {
                    draw_increments(
                        &mut normals,
                        h,
                        dw,
                        if needs_dz { Some(&mut *dz) } else { None },
                    );
                    stepper.step_block(problem, t, h, dw, dz, ys, &mut ws);
                    t = if s + 1 == n { cfg.save_at[k] } else { t + h };
                }
                t = cfg.save_at[k];
                let o = (k * np + b0) * d;
                out[o..o + nb * d].copy_from_slice(ys);
            }
        }
        progress(np);
        out
    });
    // Reassemble [chunk][time][path][d] into [time][path][d].
    let mut data = vec![0.0; nt * cfg.paths * d];
    let mut start = 0;
    for c in &chunks {
        let np = c.len() / (nt * d);
        for k in 0..nt {
            let src = &c[k * np * d..(k + 1) * np * d];
            let dst = (k * cfg.paths + start) * d;
            data[dst..dst + np * d].copy_from_slice(src);
        }
        start += np;
    }
    Ok(Ensemble {
        times: cfg.save_at.clone(),
        dim: d,
        paths: cfg.paths,
        data,
    })
}

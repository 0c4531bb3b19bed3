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
//! When the stepper's step is one affine map of the state and the step's
//! standard normals for every path ([`Stepper::affine_step`]: Euler–Maruyama
//! on a linear drift with additive noise), blocks of 256 paths are held
//! coordinate-major instead (d × paths) and stepped by one sparse kernel,
//! y ← Ay + Cξ + c, that skips the structural zeros of A and C and runs
//! across paths in SIMD registers (run-time AVX-512F / AVX2 dispatch);
//! states are transposed back only at the save times. The law is that of the
//! same chain; which normal drives which path differs from the row-major path.
//!
//! Between consecutive save times t_{k−1} < t_k the stepper takes
//! n_k = ⌈(t_k − t_{k−1}) / max_step⌉ equal steps, so every save time is hit exactly.

use crate::error::{Error, Result};
use crate::rng;
use crate::rng::NormalStream;
use crate::sde::brownian::draw_increments;
use crate::sde::steppers::{AffineStep, BlockWorkspace, Increment, Stepper};
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
    // Steps that are one affine map for every path go through the sparse
    // kernel, coordinate-major (`affine_chunk`).
    let affine: Option<Vec<SparseAffine>> = if needs_dz {
        None
    } else {
        segs.iter()
            .map(|&(_, h)| {
                stepper
                    .affine_step(problem, h)
                    .map(|a| SparseAffine::new(&a))
            })
            .collect()
    };
    let chunks = rng::par_chunks(cfg.paths, cfg.seed, |_, range, rng| {
        let np = range.len();
        let first = range.start;
        let mut normals = NormalStream::new(rng);
        if let Some(affine) = &affine {
            let out = affine_chunk(cfg, &segs, affine, d, m, first, np, &mut normals);
            progress(np);
            return out;
        }
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
                    // A caller's stop (Ctrl-C in Python) inside a long chunk.
                    if s % 1024 == 0 {
                        crate::observe::stop_here();
                    }
                    draw_increments(
                        &mut normals,
                        h,
                        dw,
                        if needs_dz { Some(&mut *dz) } else { None },
                    );
                    stepper.step_block(problem, t, &Increment { h, dw, dz }, ys, &mut ws);
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

/// The paths stepped together by the affine kernel: a multiple of [`TILE`].
const AFFINE_BLOCK: usize = 256;
/// The number of paths one pass of the affine kernel holds in registers.
const TILE: usize = 32;

/// An [`AffineStep`] as the non-zero entries of each output row of
/// [A | C] (column j < d reads coordinate j of the state, column d + k reads
/// normal k), so structural zeros (a diagonal drift matrix, a triangular noise
/// factor) cost nothing.
#[derive(Debug, Clone)]
struct SparseAffine {
    /// Row i's entries are `src[starts[i]..starts[i + 1]]`, `coef[…]`.
    starts: Vec<usize>,
    src: Vec<usize>,
    coef: Vec<f64>,
    shift: Vec<f64>,
}

impl SparseAffine {
    fn new(a: &AffineStep) -> Self {
        let (d, m) = (a.a.nrows(), a.c.ncols());
        let mut starts = vec![0];
        let (mut src, mut coef) = (Vec::new(), Vec::new());
        for i in 0..d {
            let row = (0..d)
                .map(|j| a.a[(i, j)])
                .chain((0..m).map(|k| a.c[(i, k)]));
            for (j, v) in row.enumerate() {
                if v != 0.0 {
                    src.push(j);
                    coef.push(v);
                }
            }
            starts.push(src.len());
        }
        SparseAffine {
            starts,
            src,
            coef,
            shift: a.shift.iter().copied().collect(),
        }
    }

    /// out (d × nbp) ← [A | C]·z + c·1ᵀ for the stacked coordinate-major block
    /// z ((d + m) × nbp: the states, then the normals), nbp a multiple of [`TILE`].
    fn apply(&self, z: &[f64], out: &mut [f64], nbp: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F (checked just above).
                return unsafe { affine_tiles_avx512(self, z, out, nbp) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above).
                return unsafe { affine_tiles_avx2(self, z, out, nbp) };
            }
        }
        affine_tiles(self, z, out, nbp)
    }
}

/// The affine kernel: for each tile of [`TILE`] paths and each output
/// coordinate, the sum over the row's non-zeros, accumulated in registers.
/// No FMA, so every compiled version gives the same bits.
#[inline(always)]
fn affine_tiles(a: &SparseAffine, z: &[f64], out: &mut [f64], nbp: usize) {
    for p0 in (0..nbp).step_by(TILE) {
        for (i, &c0) in a.shift.iter().enumerate() {
            let mut acc = [c0; TILE];
            let (lo, hi) = (a.starts[i], a.starts[i + 1]);
            for (&j, &c) in a.src[lo..hi].iter().zip(&a.coef[lo..hi]) {
                let s = &z[j * nbp + p0..j * nbp + p0 + TILE];
                for q in 0..TILE {
                    acc[q] += c * s[q];
                }
            }
            out[i * nbp + p0..i * nbp + p0 + TILE].copy_from_slice(&acc);
        }
    }
}

/// [`affine_tiles`] compiled with AVX-512F.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn affine_tiles_avx512(a: &SparseAffine, z: &[f64], out: &mut [f64], nbp: usize) {
    affine_tiles(a, z, out, nbp)
}

/// [`affine_tiles`] compiled with AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn affine_tiles_avx2(a: &SparseAffine, z: &[f64], out: &mut [f64], nbp: usize) {
    affine_tiles(a, z, out, nbp)
}

/// One chunk of an ensemble whose steps are affine maps (`affine[k]` for
/// segment k): blocks of [`AFFINE_BLOCK`] paths held coordinate-major
/// (d × paths), each step drawing an m × paths block of normals and applying
/// the sparse kernel; transposed back only at the save times. The last block
/// is padded to a multiple of [`TILE`] paths (their draws are discarded), a
/// fixed function of the chunk's size, so the seed rule holds. Returns the
/// chunk's [time][path][coordinate] states.
#[allow(clippy::too_many_arguments)]
fn affine_chunk(
    cfg: &EnsembleConfig,
    segs: &[(usize, f64)],
    affine: &[SparseAffine],
    d: usize,
    m: usize,
    first: usize,
    np: usize,
    normals: &mut NormalStream,
) -> Vec<f64> {
    let nt = cfg.save_at.len();
    let mut out = vec![0.0; nt * np * d];
    let mut z = vec![0.0; (d + m) * AFFINE_BLOCK];
    let mut next = vec![0.0; (d + m) * AFFINE_BLOCK];
    for b0 in (0..np).step_by(AFFINE_BLOCK) {
        let nb = AFFINE_BLOCK.min(np - b0);
        let nbp = nb.next_multiple_of(TILE);
        for p in 0..nbp {
            let y = match &cfg.initial {
                Initial::Point(y) => &y[..],
                Initial::Each(v) => {
                    let i = first + b0 + p.min(nb - 1);
                    &v[i * d..(i + 1) * d]
                }
            };
            for (i, yi) in y.iter().enumerate() {
                z[i * nbp + p] = *yi;
            }
        }
        for (k, (&(n, _), op)) in segs.iter().zip(affine).enumerate() {
            for s in 0..n {
                // A caller's stop (Ctrl-C in Python) inside a long chunk.
                if s % 1024 == 0 {
                    crate::observe::stop_here();
                }
                normals.fill(&mut z[d * nbp..(d + m) * nbp]);
                op.apply(&z[..(d + m) * nbp], &mut next[..d * nbp], nbp);
                std::mem::swap(&mut z, &mut next);
            }
            let o = (k * np + b0) * d;
            for (p, row) in out[o..o + nb * d].chunks_exact_mut(d).enumerate() {
                for (i, v) in row.iter_mut().enumerate() {
                    *v = z[i * nbp + p];
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sde::steppers::EulerMaruyama;
    use crate::sde::terms::{AdditiveNoise, Diffusion, LinearDrift};
    use nalgebra::DMatrix;

    /// Euler–Maruyama on dY = −Y dτ + θ dW (the affine kernel): the same bits
    /// with 1 and 2 threads, and the final mean and covariance within 5
    /// standard errors of the exact law of the chain (mean (1 − h)ⁿ y₀,
    /// covariance K⁻¹·h·Σₖ(1 − h)²ᵏ, the closed form `run_sde.py` also uses).
    /// 3000 paths: a partial last chunk and a padded last tile. Power: the
    /// law of another step count is rejected.
    #[test]
    fn affine_ensemble_same_bits_any_threads_and_exact_law() {
        let d = 3;
        let k_inv = DMatrix::from_fn(d, d, |i, j| 0.5f64.powi((i as i32 - j as i32).abs()));
        let p = Problem::new(
            Arc::new(LinearDrift::new(DMatrix::identity(d, d), DVector::zeros(d)).unwrap()),
            Diffusion::Additive(AdditiveNoise::from_k_inv(&k_inv).unwrap()),
        )
        .unwrap();
        let (h, n, paths) = (0.05, 20usize, 3000);
        let cfg = EnsembleConfig::new(paths, vec![1.0; d], vec![n as f64 * h], h, 9);
        assert!(EulerMaruyama.affine_step(&p, h).is_some());
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| simulate(&p, &EulerMaruyama, &cfg, &|_| {}).unwrap())
        };
        let (e1, e2) = (run(1), run(2));
        assert!(
            e1.states(0)
                .iter()
                .zip(e2.states(0))
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
        let law_ok = |steps: usize| {
            let a = 1.0 - h;
            let s = h * (1.0 - a.powi(2 * steps as i32)) / (1.0 - a * a);
            let (mean, cov) = (e1.mean(0), e1.cov(0));
            (0..d).all(|i| {
                let se = (s * k_inv[(i, i)] / paths as f64).sqrt();
                (mean[i] - a.powi(steps as i32)).abs() < 5.0 * se
                    && (0..d).all(|j| {
                        let c = s * k_inv[(i, j)];
                        let se =
                            ((s * s * k_inv[(i, i)] * k_inv[(j, j)] + c * c) / paths as f64).sqrt();
                        (cov[(i, j)] - c).abs() < 5.0 * se
                    })
            })
        };
        assert!(law_ok(n));
        assert!(!law_ok(n / 2));
    }

    /// The sparse affine kernel equals the dense product [A | C]·z + c·1ᵀ
    /// (nalgebra, the oracle) on a block with structural zeros (diagonal A,
    /// lower-triangular C) and on dense factors; power: dropping one entry of
    /// the operator changes the result.
    #[test]
    fn sparse_affine_equals_dense_product() {
        for (d, m, dense) in [(3usize, 3usize, false), (7, 4, true), (10, 10, false)] {
            let a = DMatrix::from_fn(d, d, |i, j| {
                if dense || i == j {
                    1.0 - 0.01 * (1 + i + 3 * j) as f64
                } else {
                    0.0
                }
            });
            let c = DMatrix::from_fn(d, m, |i, k| {
                if dense || k <= i {
                    0.1 * (i as f64 - 2.0 * k as f64 + 0.5)
                } else {
                    0.0
                }
            });
            let shift = DVector::from_fn(d, |i, _| 1e-3 * i as f64 - 0.02);
            let op = AffineStep { a, c, shift };
            let sparse = SparseAffine::new(&op);
            let nbp = 2 * TILE;
            let z: Vec<f64> = (0..(d + m) * nbp)
                .map(|k| ((k * 7919) % 97) as f64 * 0.03 - 1.4)
                .collect();
            let mut out = vec![0.0; d * nbp];
            sparse.apply(&z, &mut out, nbp);
            // z is row-major (d + m) × nbp: as a column-major matrix it is zᵀ.
            let zt = DMatrix::from_column_slice(nbp, d + m, &z);
            let mut ac = DMatrix::zeros(d, d + m);
            ac.columns_mut(0, d).copy_from(&op.a);
            ac.columns_mut(d, m).copy_from(&op.c);
            let want = &ac * zt.transpose();
            let err = (0..d)
                .flat_map(|i| (0..nbp).map(move |p| (i, p)))
                .fold(0.0f64, |e, (i, p)| {
                    e.max((out[i * nbp + p] - want[(i, p)] - op.shift[i]).abs())
                });
            assert!(err < 1e-13, "d = {d}, m = {m}: {err}");
            let mut broken = sparse.clone();
            broken.coef[0] *= 1.5;
            let mut wrong = vec![0.0; d * nbp];
            broken.apply(&z, &mut wrong, nbp);
            assert!(out.iter().zip(&wrong).any(|(x, y)| (x - y).abs() > 1e-3));
        }
    }
}

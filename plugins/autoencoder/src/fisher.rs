//! The diagonal Fisher metric (eq. 29) of the autoencoder read as a regression
//! model y = f(x; θ) + N(0, I) (the loss of eq. 53 as a likelihood, eq. 54).
//!
//! With unit noise the score is ℓ = Σₖ (yₖ − fₖ(x)) ∂fₖ/∂θ, so
//! E_y\[ℓ_p²\] = Σₖ (∂fₖ/∂θ_p)² and the per-example Fisher diagonal is
//!
//!   F_pp = (1/N) Σₙ Σₖ (∂fₖ(xₙ)/∂θ_p)²,
//!
//! NNGeometry's regression Fisher, which the authors used. With
//! h = ReLU(W₁x + b₁), o = ReLU(W₂h + b₂), aₖ = 1\[oₖ > 0\], sⱼ = 1\[hⱼ > 0\] and
//! cⱼ = Σₖ aₖ W₂[k, j]², it is, per example,
//!
//! | parameter | F |
//! |---|---|
//! | W₁[j, i] | xᵢ² sⱼ cⱼ |
//! | b₁\[j\] | sⱼ cⱼ |
//! | W₂[k, j] | aₖ hⱼ² |
//! | b₂\[k\] | aₖ |
//!
//! (the cross terms Σ_{k≠k′} vanish because ∂oₖ/∂W₂[k′, j] = 0 for k ≠ k′, and
//! for W₁ the output sum of squares factorises). Cost per example: about
//! n·m for cⱼ plus nnz(x)·m for the encoder — no per-example differentiation.
//!
//! Beside it: the **Monte Carlo** estimate E\[ℓ²\] with sampled targets
//! y ~ N(f(x), I) (unbiased for the same F), and the **empirical** Fisher with
//! the observed targets y = x (biased; conventions.md).

use crate::batched::{Pixels, simd};
use crate::net::{Autoencoder, CHUNK};
use bayesrg_core::rng::Seed;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::Serialize;

/// Which estimator produced a diagonal Fisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The closed form of the module docs.
    Exact,
    /// Monte Carlo with targets y ~ N(f(x), I).
    MonteCarlo,
    /// Empirical, targets y = x (biased).
    Empirical,
}

/// Adds the per-chunk vectors in chunk order.
fn ordered_sum(parts: Vec<Vec<f64>>, len: usize) -> Vec<f64> {
    let mut s = vec![0.0; len];
    for p in parts {
        for (a, b) in s.iter_mut().zip(p) {
            *a += b;
        }
    }
    s
}

/// The exact diagonal regression Fisher over the examples `data`
/// (concatenated, each `input` long), one entry per parameter in θ's layout:
/// [`exact_pixels`] on [`Pixels::Values`].
pub fn exact(net: &Autoencoder, data: &[f64]) -> Vec<f64> {
    exact_pixels(net, Pixels::Values(data))
}

/// Outputs k decoded together in [`exact_pixels`]' decoder (one block of
/// accumulators kept in registers).
const DECODE_BLOCK: usize = 16;

/// The exact diagonal regression Fisher of the module docs (eq. 29) over the
/// images `data` (each `input` long; for [`Pixels::Bytes`] the values b / 255
/// of [`crate::mnist::pixel_value`]; a trailing partial image is ignored), in
/// f64, one entry per parameter in θ's layout; all zeros for no image.
///
/// Per example: the encoder on the non-zero inputs only, the decoder along
/// the outputs over the active latent units only, then the closed form's
/// sums over the active outputs and the non-zero inputs. Every sum runs in
/// the order of [`Autoencoder::forward_into`] and of the per-example loop,
/// within fixed chunks of [`CHUNK`] examples added in chunk order, so the
/// bits do not depend on the number of threads.
pub fn exact_pixels(net: &Autoencoder, data: Pixels<'_>) -> Vec<f64> {
    let a = net.arch;
    let (n, m) = (a.input, a.latent);
    let len = match data {
        Pixels::Values(v) => v.len(),
        Pixels::Bytes(b) => b.len(),
    };
    let count = len / n;
    let np = a.n_params();
    let mut f = vec![0.0; np];
    if count == 0 {
        return f;
    }
    let w1 = net.w1();
    let w2 = net.w2();
    // W₂ latent-major, so that the decoder runs along the outputs; and the
    // squares W₂[k, j]² of cⱼ.
    let mut w2t = vec![0.0; n * m];
    for k in 0..n {
        for j in 0..m {
            w2t[j * n + k] = w2[k * m + j];
        }
    }
    let w2sq: Vec<f64> = w2.iter().map(|w| w * w).collect();
    let (b1, b2) = if a.bias {
        (
            &net.theta[a.b1_offset()..a.b1_offset() + m],
            &net.theta[a.b2_offset()..a.b2_offset() + n],
        )
    } else {
        (&[][..], &[][..])
    };
    let w2o = a.w2_offset();
    // Compiled for the widest instruction set of the CPU
    // ([`crate::batched::simd`]): the loops are elementwise or sum in a
    // fixed order, so the bits are those of the baseline.
    let chunk = |ch: usize, acc: &mut [f64]| {
        simd(
            #[inline(always)]
            || {
                let mut idx: Vec<usize> = Vec::with_capacity(n);
                let mut val: Vec<f64> = Vec::with_capacity(n);
                let mut h = vec![0.0; m];
                let mut hsq = vec![0.0; m];
                let mut c = vec![0.0; m];
                let mut on: Vec<usize> = Vec::with_capacity(m);
                let mut o = vec![0.0; n];
                for e in ch * CHUNK..((ch + 1) * CHUNK).min(count) {
                    idx.clear();
                    val.clear();
                    match data {
                        Pixels::Values(v) => {
                            for (i, &x) in v[e * n..(e + 1) * n].iter().enumerate() {
                                if x != 0.0 {
                                    idx.push(i);
                                    val.push(x);
                                }
                            }
                        }
                        Pixels::Bytes(b) => {
                            for (i, &x) in b[e * n..(e + 1) * n].iter().enumerate() {
                                if x != 0 {
                                    idx.push(i);
                                    val.push(crate::mnist::pixel_value(x));
                                }
                            }
                        }
                    }
                    // h = ReLU(W₁x + b₁) over the non-zero inputs, in input order.
                    if a.bias {
                        h.copy_from_slice(b1);
                    } else {
                        h.fill(0.0);
                    }
                    for (&i, &xi) in idx.iter().zip(&val) {
                        for (hj, w) in h.iter_mut().zip(&w1[i * m..(i + 1) * m]) {
                            *hj += w * xi;
                        }
                    }
                    on.clear();
                    for (j, hj) in h.iter_mut().enumerate() {
                        *hj = hj.max(0.0);
                        if *hj > 0.0 {
                            on.push(j);
                        }
                        hsq[j] = *hj * *hj;
                    }
                    // o = W₂h + b₂ (before the ReLU: only its sign is used); a
                    // unit with hⱼ = 0 adds nothing.
                    decode(&mut o, &w2t, &h, &on);
                    if a.bias {
                        for (ok, b) in o.iter_mut().zip(b2) {
                            *ok += b;
                        }
                    }
                    // cⱼ = Σₖ aₖ W₂[k, j]², F(W₂[k, j]) += aₖ hⱼ², F(b₂[k]) += aₖ.
                    c.fill(0.0);
                    for (k, &ok) in o.iter().enumerate() {
                        if ok > 0.0 {
                            for (cj, w) in c.iter_mut().zip(&w2sq[k * m..(k + 1) * m]) {
                                *cj += w;
                            }
                            let g = &mut acc[w2o + k * m..w2o + (k + 1) * m];
                            for (gj, s) in g.iter_mut().zip(&hsq) {
                                *gj += s;
                            }
                            if a.bias {
                                acc[a.b2_offset() + k] += 1.0;
                            }
                        }
                    }
                    // sⱼ cⱼ; F(W₁[j, i]) += xᵢ² sⱼ cⱼ, F(b₁[j]) += sⱼ cⱼ.
                    for (cj, hj) in c.iter_mut().zip(&h) {
                        if *hj <= 0.0 {
                            *cj = 0.0;
                        }
                    }
                    for (&i, &xi) in idx.iter().zip(&val) {
                        let x2 = xi * xi;
                        for (gj, cj) in acc[i * m..(i + 1) * m].iter_mut().zip(&c) {
                            *gj += x2 * cj;
                        }
                    }
                    if a.bias {
                        for (gj, cj) in acc[a.b1_offset()..a.b1_offset() + m].iter_mut().zip(&c) {
                            *gj += cj;
                        }
                    }
                }
            },
        )
    };
    // Chunks in waves of a few per thread, each wave's partial sums added to
    // F in chunk order; the buffers are reused (one per chunk of a wave
    // instead of one per chunk of the data).
    let chunks = count.div_ceil(CHUNK);
    let wave = 4 * rayon::current_num_threads().max(1);
    let mut bufs: Vec<Vec<f64>> = Vec::new();
    for first in (0..chunks).step_by(wave) {
        let last = (first + wave).min(chunks);
        bufs.resize_with(last - first, || vec![0.0; np]);
        bufs.par_iter_mut().enumerate().for_each(|(w, acc)| {
            acc.fill(0.0);
            chunk(first + w, acc);
        });
        for p in &bufs {
            for (s, v) in f.iter_mut().zip(p) {
                *s += v;
            }
        }
    }
    f.iter_mut().for_each(|v| *v /= count as f64);
    f
}

/// o\[k\] = Σ_{j ∈ on} W₂ᵀ\[j, k\] h\[j\] for every output k (`w2t` latent-major,
/// `o.len()` outputs per row), each sum in the order of `on`, outputs in
/// blocks of [`DECODE_BLOCK`] accumulated in registers.
#[inline(always)]
fn decode(o: &mut [f64], w2t: &[f64], h: &[f64], on: &[usize]) {
    let n = o.len();
    let mut blocks = o.chunks_exact_mut(DECODE_BLOCK);
    for (b, ob) in (&mut blocks).enumerate() {
        let k0 = b * DECODE_BLOCK;
        let mut s = [0.0f64; DECODE_BLOCK];
        for &j in on {
            let w = &w2t[j * n + k0..j * n + k0 + DECODE_BLOCK];
            let hj = h[j];
            for (sl, wl) in s.iter_mut().zip(w) {
                *sl += wl * hj;
            }
        }
        ob.copy_from_slice(&s);
    }
    let k0 = n - blocks.into_remainder().len();
    for (k, ok) in o.iter_mut().enumerate().skip(k0) {
        *ok = on.iter().map(|&j| w2t[j * n + k] * h[j]).sum();
    }
}

/// Σₙ ℓ(yₙ)² / N with the score ℓ = Σₖ rₖ ∂fₖ/∂θ for residuals r given by
/// `residual(x, f(x), chunk rng, r)`; chunk c draws from `seed.stream(c)`.
fn score_squares<R>(net: &Autoencoder, data: &[f64], seed: Seed, residual: R) -> Vec<f64>
where
    R: Fn(&[f64], &[f64], &mut bayesrg_core::rng::BrgRng, &mut [f64]) + Sync,
{
    let a = net.arch;
    let n = a.input;
    let count = data.len() / n;
    let np = a.n_params();
    let parts: Vec<Vec<f64>> = (0..count.div_ceil(CHUNK))
        .into_par_iter()
        .map(|ch| {
            let mut rng = seed.stream(ch as u64);
            let mut acc = vec![0.0; np];
            let mut act = net.activations();
            let mut r = vec![0.0; n];
            let mut u = vec![0.0; a.latent];
            for e in ch * CHUNK..((ch + 1) * CHUNK).min(count) {
                let x = &data[e * n..(e + 1) * n];
                net.forward_into(x, &mut act);
                residual(x, &act.o, &mut rng, &mut r);
                for k in 0..n {
                    if act.o[k] <= 0.0 {
                        r[k] = 0.0;
                    }
                }
                net.backprop_add(x, &act, &r, &mut u, &mut acc, true);
            }
            acc
        })
        .collect();
    let mut f = ordered_sum(parts, np);
    f.iter_mut().for_each(|v| *v /= count as f64);
    f
}

/// Monte Carlo diagonal Fisher: one target y ~ N(f(x), I) per example and per
/// draw (`draws` of them), F ≈ mean of ℓ². Seeded; chunk c of draw d draws
/// from `seed.child_index(d).stream(c)`.
pub fn monte_carlo(net: &Autoencoder, data: &[f64], draws: usize, seed: Seed) -> Vec<f64> {
    let np = net.arch.n_params();
    let mut f = vec![0.0; np];
    for d in 0..draws.max(1) {
        let part = score_squares(net, data, seed.child_index(d as u64), |_, _, rng, r| {
            for v in r.iter_mut() {
                *v = StandardNormal.sample(rng);
            }
        });
        for (a, b) in f.iter_mut().zip(part) {
            *a += b;
        }
    }
    f.iter_mut().for_each(|v| *v /= draws.max(1) as f64);
    f
}

/// The empirical diagonal Fisher: targets are the inputs themselves (y = x),
/// ℓ = Σₖ (xₖ − fₖ(x)) ∂fₖ/∂θ. Biased: it is not eq. (29).
pub fn empirical(net: &Autoencoder, data: &[f64]) -> Vec<f64> {
    score_squares(net, data, Seed::DEFAULT, |x, o, _, r| {
        for k in 0..x.len() {
            r[k] = x[k] - o[k];
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(bias: bool) -> (Autoencoder, Vec<f64>) {
        crate::testutil::tiny(bias, 40, 5, 11, 3)
    }

    /// Oracle: Σₖ (∂fₖ/∂θ_p)² from a central-difference Jacobian of f
    /// (bayesrg_core::numdiff), example by example.
    fn numerical(net: &Autoencoder, data: &[f64]) -> Vec<f64> {
        let n = net.arch.input;
        let count = data.len() / n;
        let mut f = vec![0.0; net.arch.n_params()];
        for e in 0..count {
            let x = &data[e * n..(e + 1) * n];
            let j = bayesrg_core::numdiff::jacobian(
                |t| {
                    let m = Autoencoder {
                        arch: net.arch,
                        theta: t.to_vec(),
                    };
                    nalgebra::DVector::from_vec(m.forward(x))
                },
                &net.theta,
            );
            for p in 0..f.len() {
                f[p] += j.column(p).norm_squared() / count as f64;
            }
        }
        f
    }

    #[test]
    fn exact_matches_numerical_jacobian() {
        for bias in [false, true] {
            let (net, data) = tiny(bias);
            let e = exact(&net, &data);
            let o = numerical(&net, &data);
            for p in 0..e.len() {
                assert!(
                    (e[p] - o[p]).abs() < 1e-6 * (1.0 + o[p]),
                    "bias {bias} p {p}: {} vs {}",
                    e[p],
                    o[p]
                );
            }
        }
    }

    #[test]
    fn monte_carlo_and_empirical() {
        let (net, data) = tiny(true);
        let e = exact(&net, &data);
        // MC: mean of ℓ² over N·D draws; ℓ_p = Σₖ εₖ gₖ is Gaussian with
        // variance vₙ = Σₖ gₖ², so ℓ² has variance 2vₙ²; the estimate's standard
        // error is sqrt(Σₙ 2vₙ² / D) / N. Allow 5 standard errors.
        let draws = 200;
        let mc = monte_carlo(&net, &data, draws, Seed::new(5));
        let n = net.arch.input;
        let count = data.len() / n;
        for p in 0..e.len() {
            // Per-example v from the exact routine on one example.
            let var: f64 = (0..count)
                .map(|k| {
                    let v = exact(&net, &data[k * n..(k + 1) * n])[p];
                    2.0 * v * v
                })
                .sum();
            let se = (var / draws as f64).sqrt() / count as f64;
            assert!(
                (mc[p] - e[p]).abs() <= 5.0 * se + 1e-15,
                "p {p}: {} vs {} (se {se})",
                mc[p],
                e[p]
            );
        }
        // Empirical oracle: explicit residual-weighted Jacobian columns.
        let emp = empirical(&net, &data);
        let mut oracle = vec![0.0; e.len()];
        for k in 0..count {
            let x = &data[k * n..(k + 1) * n];
            let j = bayesrg_core::numdiff::jacobian(
                |t| {
                    nalgebra::DVector::from_vec(
                        Autoencoder {
                            arch: net.arch,
                            theta: t.to_vec(),
                        }
                        .forward(x),
                    )
                },
                &net.theta,
            );
            let f = net.forward(x);
            let r = nalgebra::DVector::from_iterator(n, x.iter().zip(&f).map(|(a, b)| a - b));
            let l = j.transpose() * r;
            for p in 0..e.len() {
                oracle[p] += l[p] * l[p] / count as f64;
            }
        }
        for p in 0..e.len() {
            assert!(
                (emp[p] - oracle[p]).abs() < 1e-6 * (1.0 + oracle[p]),
                "p {p}"
            );
        }
    }

    /// MNIST bytes give the bits of their f64 values b / 255, for a count
    /// of images that is not a multiple of the chunk, with and without
    /// biases; no image gives zeros.
    #[test]
    fn bytes_and_values_agree() {
        let test = crate::mnist::embedded().test.take(CHUNK + 7);
        for bias in [false, true] {
            let arch = crate::net::Architecture {
                bias,
                ..Default::default()
            };
            let net = Autoencoder::init(arch, Seed::new(3));
            let v = exact(&net, &test.images());
            assert_eq!(v, exact_pixels(&net, Pixels::Bytes(&test.pixels)));
            assert!(v.iter().any(|&f| f > 0.0));
            assert_eq!(exact(&net, &[]), vec![0.0; arch.n_params()]);
        }
    }

    #[test]
    fn same_bits_with_any_thread_count() {
        let (net, data) = tiny(false);
        let data: Vec<f64> = data.iter().cycle().take(6 * 500).copied().collect();
        let run = |t| {
            crate::testutil::on_threads(t, || {
                (
                    exact(&net, &data),
                    monte_carlo(&net, &data, 2, Seed::new(1)),
                )
            })
        };
        assert_eq!(run(1), run(3));
    }
}

/// A trained network with its diagonal Fisher: what the coarse-graining
/// schemes of `bayesrg-schemes` act on.
#[derive(Debug, Clone)]
pub struct WithFisher {
    /// The network.
    pub net: Autoencoder,
    /// Its diagonal Fisher, in θ's layout.
    pub fisher: Vec<f64>,
}

impl bayesrg_schemes::DiagonalFisher for WithFisher {
    fn parameters(&self) -> Vec<f64> {
        self.net.theta.clone()
    }
    fn diagonal_fisher(&self) -> Vec<f64> {
        self.fisher.clone()
    }
}

impl WithFisher {
    /// The encoder weights as removal candidates (the paper prunes only W₁;
    /// their candidate index equals their index in θ).
    pub fn encoder_candidates(&self) -> bayesrg_schemes::Candidates {
        let e = self.net.arch.encoder_weights();
        bayesrg_schemes::Candidates {
            theta: self.net.theta[..e].to_vec(),
            fisher: self.fisher[..e].to_vec(),
        }
    }
}

//! The dense autoencoder of section 4 (eqs. 48–53): x ∈ ℝⁿ → h = ReLU(W₁x + b₁)
//! ∈ ℝᵐ → o = ReLU(W₂h + b₂) ∈ ℝⁿ, trained on the MSE loss (eq. 53) with Adam.
//!
//! # Parameter layout
//! One flat vector θ, in this order:
//! 1. encoder weights W₁, **input-major**: W₁[j, i] (latent j, input i) at
//!    `i * latent + j` (the transpose of PyTorch's `encoder.weight`, chosen so
//!    that a sparse image touches contiguous rows);
//! 2. encoder biases b₁ (`latent`, only with `bias = true`);
//! 3. decoder weights W₂[k, j] (output k, latent j) at `k * latent + j`
//!    (PyTorch's `decoder.weight` order);
//! 4. decoder biases b₂ (`input`, only with `bias = true`).
//!
//! ReLU′(0) = 0, as in PyTorch. Every parallel loop runs over fixed chunks of
//! [`CHUNK`] examples and adds the chunk results in chunk order, so a seed fixes
//! every bit of the result whatever the number of threads.
//!
//! The loops here go one example at a time in f64: they are the reference
//! (checked against central differences) for the batched GEMM kernels of
//! [`crate::batched`] that training and the sweep use, and what the Fisher
//! of [`crate::fisher`] and the [`crate::model`] build on.

use bayesrg_core::rng::Seed;
use rand::RngExt;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Examples per parallel work chunk (fixed: the results do not depend on the
/// thread count).
pub const CHUNK: usize = 64;

/// The shape of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Architecture {
    /// Input (= output) dimension n (784 for MNIST).
    pub input: usize,
    /// Latent dimension m (20 in Table 2).
    pub latent: usize,
    /// Biases on both layers (off in the paper, on in the authors' code).
    pub bias: bool,
}

impl Default for Architecture {
    fn default() -> Self {
        Architecture {
            input: 784,
            latent: 20,
            bias: false,
        }
    }
}

impl Architecture {
    /// Checks the shape: input and latent at least 1, and at most 2³² − 1
    /// parameters in all (the count a weights file holds). Errors name
    /// `input` or `latent` (the caller places them under its own key).
    pub fn validate(&self) -> bayesrg_core::Result<()> {
        use bayesrg_core::Error;
        if self.input == 0 {
            return Err(Error::domain("input", 0, "must be at least 1"));
        }
        if self.latent == 0 {
            return Err(Error::domain("latent", 0, "must be at least 1"));
        }
        let count = (self.input as u128) * (self.latent as u128) * 2
            + if self.bias {
                self.input as u128 + self.latent as u128
            } else {
                0
            };
        if count > u32::MAX as u128 {
            return Err(Error::domain(
                "latent",
                self.latent,
                format!(
                    "gives {count} parameters with input = {}; at most 2^32 − 1 are supported",
                    self.input
                ),
            ));
        }
        Ok(())
    }

    /// Number of encoder weights n·m.
    pub fn encoder_weights(&self) -> usize {
        self.input * self.latent
    }
    /// Offset of b₁ in θ.
    pub fn b1_offset(&self) -> usize {
        self.encoder_weights()
    }
    /// Offset of W₂ in θ.
    pub fn w2_offset(&self) -> usize {
        self.encoder_weights() + if self.bias { self.latent } else { 0 }
    }
    /// Offset of b₂ in θ.
    pub fn b2_offset(&self) -> usize {
        self.w2_offset() + self.input * self.latent
    }
    /// Total number of parameters.
    pub fn n_params(&self) -> usize {
        self.b2_offset() + if self.bias { self.input } else { 0 }
    }
}

/// An autoencoder: its architecture and flat parameter vector θ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Autoencoder {
    /// The shape.
    pub arch: Architecture,
    /// θ in the layout of the module docs.
    pub theta: Vec<f64>,
}

/// The activations of one example.
#[derive(Debug, Clone)]
pub struct Activations {
    /// h = ReLU(W₁x + b₁).
    pub h: Vec<f64>,
    /// o = ReLU(W₂h + b₂).
    pub o: Vec<f64>,
}

impl Autoencoder {
    /// PyTorch's default initialisation: every weight and bias of a layer with
    /// fan-in f uniform on (−1/√f, 1/√f), in θ's order, drawn from stream 0
    /// of `seed`.
    pub fn init(arch: Architecture, seed: Seed) -> Self {
        let mut rng = seed.stream(0);
        let mut theta = vec![0.0; arch.n_params()];
        let b_enc = 1.0 / (arch.input as f64).sqrt();
        let b_dec = 1.0 / (arch.latent as f64).sqrt();
        for (p, t) in theta.iter_mut().enumerate() {
            let bound = if p < arch.w2_offset() { b_enc } else { b_dec };
            *t = rng.random_range(-bound..bound);
        }
        Autoencoder { arch, theta }
    }

    /// Encoder weights W₁ (input-major).
    pub fn w1(&self) -> &[f64] {
        &self.theta[..self.arch.encoder_weights()]
    }
    /// Decoder weights W₂ (output-major).
    pub fn w2(&self) -> &[f64] {
        &self.theta[self.arch.w2_offset()..self.arch.w2_offset() + self.arch.encoder_weights()]
    }
    fn b1(&self, j: usize) -> f64 {
        if self.arch.bias {
            self.theta[self.arch.b1_offset() + j]
        } else {
            0.0
        }
    }
    fn b2(&self, k: usize) -> f64 {
        if self.arch.bias {
            self.theta[self.arch.b2_offset() + k]
        } else {
            0.0
        }
    }

    /// Forward pass of one example, written into `act`. Zero inputs are skipped
    /// (MNIST images are mostly zero).
    pub fn forward_into(&self, x: &[f64], act: &mut Activations) {
        let (n, m) = (self.arch.input, self.arch.latent);
        let w1 = self.w1();
        for j in 0..m {
            act.h[j] = self.b1(j);
        }
        for (i, &xi) in x.iter().enumerate() {
            if xi != 0.0 {
                let row = &w1[i * m..(i + 1) * m];
                for (h, w) in act.h.iter_mut().zip(row) {
                    *h += w * xi;
                }
            }
        }
        for h in act.h.iter_mut() {
            *h = h.max(0.0);
        }
        let w2 = self.w2();
        for k in 0..n {
            let row = &w2[k * m..(k + 1) * m];
            let z: f64 = row.iter().zip(&act.h).map(|(w, h)| w * h).sum::<f64>() + self.b2(k);
            act.o[k] = z.max(0.0);
        }
    }

    /// Fresh activation buffers.
    pub fn activations(&self) -> Activations {
        Activations {
            h: vec![0.0; self.arch.latent],
            o: vec![0.0; self.arch.input],
        }
    }

    /// f(x): the reconstruction of one input.
    pub fn forward(&self, x: &[f64]) -> Vec<f64> {
        let mut a = self.activations();
        self.forward_into(x, &mut a);
        a.o
    }

    /// Mean per-pixel squared error (eq. 53, averaged over examples) on the
    /// examples `data` (concatenated, each `input` long).
    pub fn mse(&self, data: &[f64]) -> f64 {
        let n = self.arch.input;
        let count = data.len() / n;
        let parts: Vec<f64> = (0..count.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut a = self.activations();
                let mut s = 0.0;
                for e in c * CHUNK..((c + 1) * CHUNK).min(count) {
                    let x = &data[e * n..(e + 1) * n];
                    self.forward_into(x, &mut a);
                    s += x
                        .iter()
                        .zip(&a.o)
                        .map(|(x, o)| (o - x).powi(2))
                        .sum::<f64>();
                }
                s
            })
            .collect();
        parts.iter().sum::<f64>() / (count * n) as f64
    }

    /// Back-propagates an output-side vector δ (already multiplied by the
    /// output ReLU′) through the network at activations `act` of input `x`,
    /// adding g into `acc` (or g² when `square`), where g = Σₖ δₖ ∂oₖ/∂θ.
    /// `u` is scratch of length `latent`.
    pub fn backprop_add(
        &self,
        x: &[f64],
        act: &Activations,
        delta: &[f64],
        u: &mut [f64],
        acc: &mut [f64],
        square: bool,
    ) {
        let a = &self.arch;
        let m = a.latent;
        let w2 = self.w2();
        u.iter_mut().for_each(|v| *v = 0.0);
        let w2o = a.w2_offset();
        for (k, &d) in delta.iter().enumerate() {
            if d != 0.0 {
                let row = &w2[k * m..(k + 1) * m];
                let g = &mut acc[w2o + k * m..w2o + (k + 1) * m];
                for j in 0..m {
                    u[j] += row[j] * d;
                    let v = d * act.h[j];
                    g[j] += if square { v * v } else { v };
                }
            }
        }
        for j in 0..m {
            if act.h[j] <= 0.0 {
                u[j] = 0.0;
            }
        }
        for (i, &xi) in x.iter().enumerate() {
            if xi != 0.0 {
                let g = &mut acc[i * m..(i + 1) * m];
                for j in 0..m {
                    let v = xi * u[j];
                    g[j] += if square { v * v } else { v };
                }
            }
        }
        if a.bias {
            let b1 = a.b1_offset();
            let b2 = a.b2_offset();
            for j in 0..m {
                acc[b1 + j] += if square { u[j] * u[j] } else { u[j] };
            }
            for (k, &d) in delta.iter().enumerate() {
                acc[b2 + k] += if square { d * d } else { d };
            }
        }
    }

    /// Gradient of the batch MSE (mean over examples and pixels) at the
    /// examples `idx` of `data`; fixed chunks, ordered reduction.
    pub fn batch_gradient(&self, data: &[f64], idx: &[usize]) -> Vec<f64> {
        let n = self.arch.input;
        let scale = 2.0 / (idx.len() * n) as f64;
        let parts: Vec<Vec<f64>> = idx
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut acc = vec![0.0; self.arch.n_params()];
                let mut act = self.activations();
                let mut delta = vec![0.0; n];
                let mut u = vec![0.0; self.arch.latent];
                for &e in chunk {
                    let x = &data[e * n..(e + 1) * n];
                    self.forward_into(x, &mut act);
                    for k in 0..n {
                        delta[k] = if act.o[k] > 0.0 {
                            scale * (act.o[k] - x[k])
                        } else {
                            0.0
                        };
                    }
                    self.backprop_add(x, &act, &delta, &mut u, &mut acc, false);
                }
                acc
            })
            .collect();
        let mut g = vec![0.0; self.arch.n_params()];
        for p in parts {
            for (a, b) in g.iter_mut().zip(p) {
                *a += b;
            }
        }
        g
    }

    /// A copy with the given parameters set to zero.
    pub fn with_zeroed(&self, idx: &[usize]) -> Autoencoder {
        let mut c = self.clone();
        for &p in idx {
            c.theta[p] = 0.0;
        }
        c
    }
}

/// Magic bytes at the start of a weights file.
pub const WEIGHTS_MAGIC: &[u8; 8] = b"BRGAE\0v1";

impl Autoencoder {
    /// Serialises to the weights format: the 8 magic bytes `BRGAE\0v1`, then
    /// u32 little-endian input, latent, bias (0/1), parameter count, then the
    /// parameters as f64 little-endian in the layout of the module docs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(24 + 8 * self.theta.len());
        b.extend_from_slice(WEIGHTS_MAGIC);
        for v in [
            self.arch.input as u32,
            self.arch.latent as u32,
            self.arch.bias as u32,
            self.theta.len() as u32,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for t in &self.theta {
            b.extend_from_slice(&t.to_le_bytes());
        }
        b
    }

    /// Parses the weights format of [`Autoencoder::to_bytes`]; `origin` names
    /// the file in errors.
    pub fn from_bytes(b: &[u8], origin: &str) -> Result<Self, String> {
        if b.len() < 24 || &b[..8] != WEIGHTS_MAGIC {
            return Err(format!(
                "`{origin}` is not a bayesrg autoencoder weights file (bad magic)"
            ));
        }
        let u = |k: usize| {
            u32::from_le_bytes(b[8 + 4 * k..12 + 4 * k].try_into().expect("4 bytes")) as usize
        };
        let (input, latent, bias, count) = (u(0), u(1), u(2), u(3));
        if bias > 1 || input == 0 || latent == 0 {
            return Err(format!(
                "`{origin}`: invalid header (input {input}, latent {latent}, bias {bias})"
            ));
        }
        let arch = Architecture {
            input,
            latent,
            bias: bias == 1,
        };
        if count != arch.n_params() {
            return Err(format!(
                "`{origin}`: {count} parameters in the header, the architecture needs {}",
                arch.n_params()
            ));
        }
        if b.len() != 24 + 8 * count {
            return Err(format!(
                "`{origin}`: {} bytes, expected {} (truncated or padded)",
                b.len(),
                24 + 8 * count
            ));
        }
        let theta: Vec<f64> = b[24..]
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        if theta.iter().any(|t| !t.is_finite()) {
            return Err(format!("`{origin}`: a parameter is not finite"));
        }
        Ok(Autoencoder { arch, theta })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(bias: bool) -> (Autoencoder, Vec<f64>) {
        crate::testutil::tiny(bias, 50, 4, 2, 7)
    }

    /// Oracle: central differences of the batch MSE (bayesrg_core::numdiff).
    #[test]
    fn gradient_matches_numerical() {
        for bias in [false, true] {
            let (net, data) = tiny(bias);
            let idx: Vec<usize> = (0..50).collect();
            let g = net.batch_gradient(&data, &idx);
            let o = bayesrg_core::numdiff::gradient(
                |t| {
                    Autoencoder {
                        arch: net.arch,
                        theta: t.to_vec(),
                    }
                    .mse(&data)
                },
                &net.theta,
            );
            for p in 0..g.len() {
                assert!(
                    (g[p] - o[p]).abs() < 1e-7,
                    "bias {bias} p {p}: {} vs {}",
                    g[p],
                    o[p]
                );
            }
        }
    }

    #[test]
    fn weights_round_trip_and_bad_files() {
        let (net, _) = tiny(true);
        let b = net.to_bytes();
        assert_eq!(Autoencoder::from_bytes(&b, "w.bin").unwrap(), net);
        let e = Autoencoder::from_bytes(&b[..b.len() - 3], "w.bin").unwrap_err();
        assert!(e.contains("w.bin") && e.contains("truncated"), "{e}");
        let mut bad = b.clone();
        bad[0] = b'X';
        assert!(
            Autoencoder::from_bytes(&bad, "w.bin")
                .unwrap_err()
                .contains("magic")
        );
        let mut bad = b;
        bad[16] = 0; // bias flag 1 → 0: the count no longer matches
        assert!(
            Autoencoder::from_bytes(&bad, "w.bin")
                .unwrap_err()
                .contains("parameters")
        );
    }
}

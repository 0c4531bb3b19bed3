//! Batched kernels of the section-4 network (eqs. 48–53) for training and for
//! the matched-count sweep of eq. (55): forward passes, the gradient of the
//! mean squared error (eq. 53) and the loss itself, for many images at once,
//! in `f32` or `f64`.
//!
//! # How the work is laid out
//! Images are cut into chunks of [`ROWS`] and each chunk is pushed through the
//! network as matrices:
//!
//! | step | product | shapes (R = rows of the chunk) | how |
//! |---|---|---|---|
//! | encoder | H = ReLU(X W₁ + b₁) | (R×n)(n×m) | sparse: one axpy of a W₁ row per non-zero pixel |
//! | decoder | Z = H W₂ᵀ + b₂ | (R×m)(m×n) | GEMM |
//! | residual | D = (2/(Bn)) (ReLU(Z) − X) ⊙ 1\[Z > 0\] | R×n | elementwise |
//! | decoder gradient | ∇W₂ += Dᵀ H | (n×R)(R×m) | GEMM |
//! | back to the code | U = (D W₂) ⊙ 1\[H > 0\] | (R×n)(n×m) | GEMM |
//! | encoder gradient | ∇W₁ += Xᵀ U | (n×R)(R×m) | sparse: one axpy per non-zero pixel |
//!
//! MNIST images are about 19 % non-zero, so the two products with X are done
//! on its compressed rows ([`SparseImages`]): 2·nnz·m instead of 2·n·m flops,
//! measured about 2× faster than the dense GEMM for m = 20 (docs/benchmarks.md).
//! The dense products use the `gemm` crate (runtime CPU dispatch: AVX-512,
//! AVX2/FMA or SSE2 kernels; it reaches about 90–130 GFLOP/s per core on these
//! shapes here), called single-threaded on each chunk. The hand-written
//! loops (the sparse products, the residual, the loss, Adam's update) are
//! compiled for the widest SIMD this CPU has, chosen at run time (see
//! `simd`), and the hottest (the padded encoder rows, four images at a time;
//! the per-image loss; the training residual, its pixels expanded from the
//! sparse rows) have explicit AVX or AVX-512 kernels for f32 (see `avx`: the
//! compiler's own vectorisation of them was measured poor), with the same
//! bits on every path. W₁ is padded once per gradient for all its chunks,
//! and the sum of the chunks' gradients and Adam's update run in parallel
//! pieces of θ ([`SPAN`]).
//!
//! # Determinism
//! The chunks are fixed by the data, not by the thread pool; each chunk's
//! gradient goes to its own buffer and the buffers are added in chunk order,
//! and each chunk's loss is a sum in row order, the chunk sums added in chunk
//! order. So a result has the same bits at any number of threads (on one
//! machine: a CPU with other SIMD kernels may round differently).
//!
//! # Precision
//! [`Real`] is `f32` or `f64`. Training and sweeps run in `f32` by default
//! (twice the SIMD width and half the memory traffic of `f64`; the rounding,
//! about 10⁻⁷ relative, is far below the noise of stochastic gradients, as the
//! tests and docs/benchmarks.md show); losses are always accumulated in `f64`.
//! The Fisher metric is computed in `f64` by [`crate::fisher`].

use crate::net::Architecture;
use rayon::prelude::*;

/// Images per work chunk (fixed, so results do not depend on the thread
/// count). 128 images keep a chunk's decoder output (128 × 784 values) in
/// the core's L2 cache.
pub const ROWS: usize = 128;

/// The floating-point type of a batched computation: `f32` or `f64`.
pub trait Real:
    Copy
    + Send
    + Sync
    + PartialOrd
    + Default
    + std::fmt::Debug
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::AddAssign
    + std::ops::SubAssign
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// The unit roundoff u = 2⁻ᵖ (2⁻²⁴ for f32, 2⁻⁵³ for f64): every
    /// operation's relative error is at most u (Higham, *Accuracy and
    /// Stability of Numerical Algorithms*, §2.2).
    const UNIT_ROUNDOFF: f64;
    /// The nearest value to `x`.
    fn from_f64(x: f64) -> Self;
    /// The exact value as f64.
    fn to_f64(self) -> f64;
    /// Square root.
    fn sqrt(self) -> Self;
    /// [`row_sse`] by explicit SIMD instructions, when this type and CPU have
    /// them (f32 on AVX); `None` otherwise. The same bits as [`row_sse`].
    #[inline(always)]
    fn row_sse_simd(_z: &[Self], _x: &[Self]) -> Option<f64> {
        None
    }
    /// [`row_sse`] of two images at once (`z[i]`, `x[i]` of equal lengths)
    /// by explicit SIMD instructions, when this type and CPU have them (f32
    /// on AVX: both images together with AVX-512, else one after the other);
    /// `None` otherwise. The same bits as [`row_sse`] of each.
    #[inline(always)]
    fn row_sse2_simd(_z: [&[Self]; 2], _x: [&[Self]; 2]) -> Option<[f64; 2]> {
        None
    }
    /// [`row_sse`] of the images `e` of `x` against the outputs `z[0]`,
    /// `z[1]` (each `x.pixels()` long), the pixels expanded from the sparse
    /// rows straight into SIMD registers (no dense copy of the images), when
    /// this type and CPU have it (f32 on AVX-512); `None` otherwise. The same
    /// bits as [`row_sse`] of each.
    #[inline(always)]
    fn row_sse2_sparse_simd(
        _z: [&[Self]; 2],
        _x: &SparseImages<Self>,
        _e: [usize; 2],
    ) -> Option<[f64; 2]> {
        None
    }
    /// The training residual of image `e` of `x` in place of its output
    /// pre-activations `z` (`x.pixels()` long): zₖ ← `scale` · (zₖ − xₖ)
    /// where zₖ > 0, else 0, the pixels expanded from the sparse row straight
    /// into SIMD registers, when this type and CPU have it (f32 on AVX-512);
    /// `false` (nothing done) otherwise. The same bits as the generic loop
    /// of [`chunk_gradient`].
    #[inline(always)]
    fn residual_sparse_simd(
        _z: &mut [Self],
        _x: &SparseImages<Self>,
        _e: usize,
        _scale: Self,
    ) -> bool {
        false
    }
    /// The padded encoder rows ([`encode_rows_padded`]) by explicit SIMD
    /// instructions, when this type and CPU have them (f32 on AVX); `false`
    /// (nothing done) otherwise. The same bits as [`encode_rows_padded`].
    #[inline(always)]
    fn encode_padded_simd(
        _b1: Option<&[Self]>,
        _x: &SparseImages<Self>,
        _rows: &[usize],
        _h: &mut [Self],
        _w1pad: &[[Self; PAD]],
    ) -> bool {
        false
    }
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const UNIT_ROUNDOFF: f64 = 5.960_464_477_539_063e-8; // 2^-24
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn row_sse_simd(z: &[Self], x: &[Self]) -> Option<f64> {
        #[cfg(target_arch = "x86_64")]
        if avx_available() {
            // SAFETY: the CPU has AVX.
            return Some(unsafe { avx::row_sse_f32(z, x) });
        }
        let _ = (z, x);
        None
    }
    #[inline(always)]
    fn row_sse2_simd(z: [&[Self]; 2], x: [&[Self]; 2]) -> Option<[f64; 2]> {
        #[cfg(target_arch = "x86_64")]
        if avx512_available() {
            // SAFETY: the CPU has AVX-512F and AVX.
            return Some(unsafe { avx::row_sse2_f32(z, x) });
        }
        // Otherwise one image after the other (AVX), or the generic loop.
        Some([
            Self::row_sse_simd(z[0], x[0])?,
            Self::row_sse_simd(z[1], x[1])?,
        ])
    }
    #[inline(always)]
    fn row_sse2_sparse_simd(
        z: [&[Self]; 2],
        x: &SparseImages<Self>,
        e: [usize; 2],
    ) -> Option<[f64; 2]> {
        #[cfg(target_arch = "x86_64")]
        if avx512_available() && is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has AVX-512F, AVX and POPCNT.
            return Some(unsafe {
                avx::row_sse2_sparse_f32(z, [x.masked_row(e[0]), x.masked_row(e[1])])
            });
        }
        let _ = (z, x, e);
        None
    }
    #[inline(always)]
    fn residual_sparse_simd(z: &mut [Self], x: &SparseImages<Self>, e: usize, scale: Self) -> bool {
        #[cfg(target_arch = "x86_64")]
        if avx512_available() && is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has AVX-512F, AVX and POPCNT.
            unsafe { avx::residual_sparse_f32(z, x.masked_row(e), scale) };
            return true;
        }
        let _ = (z, x, e, scale);
        false
    }
    #[inline(always)]
    fn encode_padded_simd(
        b1: Option<&[Self]>,
        x: &SparseImages<Self>,
        rows: &[usize],
        h: &mut [Self],
        w1pad: &[[Self; PAD]],
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if avx512_available() {
            // SAFETY: the CPU has AVX-512F and AVX.
            unsafe { avx::encode_rows_padded_f32_512(b1, x, rows, h, w1pad) };
            return true;
        }
        #[cfg(target_arch = "x86_64")]
        if avx_available() {
            // SAFETY: the CPU has AVX.
            unsafe { avx::encode_rows_padded_f32(b1, x, rows, h, w1pad) };
            return true;
        }
        let _ = (b1, x, rows, h, w1pad);
        false
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const UNIT_ROUNDOFF: f64 = 1.110_223_024_625_156_5e-16; // 2^-53
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
}

/// Images stored as compressed sparse rows: for image e, the pixel indices
/// `index[offsets[e]..offsets[e + 1]]` (ascending) and their values; and the
/// same pattern as bit masks, [`MASK_BITS`] pixels to a `u16`
/// (`masks[e * mask_words..(e + 1) * mask_words]`, bit b of word c set when
/// pixel 16c + b is non-zero), for kernels that expand the values straight
/// into SIMD registers.
#[derive(Debug, Clone)]
pub struct SparseImages<T> {
    pixels: usize,
    offsets: Vec<usize>,
    index: Vec<u32>,
    value: Vec<T>,
    masks: Vec<u16>,
}

/// Pixels per word of [`SparseImages`]' masks.
const MASK_BITS: usize = 16;

/// Images given to the kernels, concatenated, each `pixels` long.
#[derive(Debug, Clone, Copy)]
pub enum Pixels<'a> {
    /// Pixel values as they are.
    Values(&'a [f64]),
    /// MNIST bytes; the value of byte b is b / 255 ([`crate::mnist::pixel_value`]).
    Bytes(&'a [u8]),
}

impl<T: Real> SparseImages<T> {
    /// The images `data` (concatenated, each `pixels` long; a trailing
    /// partial image is ignored), keeping the non-zero values rounded to `T`.
    pub fn new(data: &[f64], pixels: usize) -> Self {
        Self::from_pixels(Pixels::Values(data), pixels)
    }

    /// The images `data` (a trailing partial image is ignored), keeping the
    /// non-zero values rounded to `T`: for [`Pixels::Bytes`] the same values
    /// as [`SparseImages::new`] on the f64 values b / 255.
    pub fn from_pixels(data: Pixels<'_>, pixels: usize) -> Self {
        let len = match data {
            Pixels::Values(v) => v.len(),
            Pixels::Bytes(b) => b.len(),
        };
        let count = len.checked_div(pixels).unwrap_or(0);
        let mut offsets = Vec::with_capacity(count + 1);
        let mut index = Vec::new();
        let mut value = Vec::new();
        offsets.push(0);
        match data {
            Pixels::Values(data) => {
                for e in 0..count {
                    for (i, &v) in data[e * pixels..(e + 1) * pixels].iter().enumerate() {
                        if v != 0.0 {
                            index.push(i as u32);
                            value.push(T::from_f64(v));
                        }
                    }
                    offsets.push(index.len());
                }
            }
            Pixels::Bytes(data) => {
                let table: Vec<T> = (0..=255u8)
                    .map(|b| T::from_f64(crate::mnist::pixel_value(b)))
                    .collect();
                index.reserve(len / 4);
                value.reserve(len / 4);
                for e in 0..count {
                    for (i, &b) in data[e * pixels..(e + 1) * pixels].iter().enumerate() {
                        if b != 0 {
                            index.push(i as u32);
                            value.push(table[b as usize]);
                        }
                    }
                    offsets.push(index.len());
                }
            }
        }
        let words = pixels.div_ceil(MASK_BITS);
        let mut masks = vec![0u16; count * words];
        for (e, mw) in masks.chunks_exact_mut(words.max(1)).enumerate().take(count) {
            for &i in &index[offsets[e]..offsets[e + 1]] {
                mw[i as usize / MASK_BITS] |= 1 << (i as usize % MASK_BITS);
            }
        }
        SparseImages {
            pixels,
            offsets,
            index,
            value,
            masks,
        }
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pixels per image n.
    pub fn pixels(&self) -> usize {
        self.pixels
    }

    /// The number of non-zero pixels over all images.
    pub fn nonzeros(&self) -> usize {
        self.index.len()
    }

    /// Non-zero indices and values of image `e`.
    #[inline]
    fn row(&self, e: usize) -> (&[u32], &[T]) {
        let (a, b) = (self.offsets[e], self.offsets[e + 1]);
        (&self.index[a..b], &self.value[a..b])
    }

    /// The masks of image `e` (`pixels.div_ceil(MASK_BITS)` words) and its
    /// non-zero values: word c's set bits, in order, take the next values.
    #[inline]
    fn masked_row(&self, e: usize) -> (&[u16], &[T]) {
        let words = self.pixels.div_ceil(MASK_BITS);
        let (a, b) = (self.offsets[e], self.offsets[e + 1]);
        (&self.masks[e * words..(e + 1) * words], &self.value[a..b])
    }
}

/// The network's parameters θ in `T`, in the layout of [`crate::net`]
/// (W₁ input-major, b₁, W₂ output-major, b₂).
#[derive(Debug, Clone, PartialEq)]
pub struct Params<T> {
    /// The shape.
    pub arch: Architecture,
    /// θ, `arch.n_params()` long.
    pub theta: Vec<T>,
}

impl<T: Real> Params<T> {
    /// θ rounded to `T` (checked length: [`crate::net::Autoencoder`] keeps it).
    pub fn from_f64(arch: Architecture, theta: &[f64]) -> Self {
        debug_assert_eq!(theta.len(), arch.n_params());
        Params {
            arch,
            theta: theta.iter().map(|&t| T::from_f64(t)).collect(),
        }
    }

    /// θ as f64 (exact).
    pub fn to_f64(&self) -> Vec<f64> {
        self.theta.iter().map(|t| t.to_f64()).collect()
    }

    fn w1(&self) -> &[T] {
        &self.theta[..self.arch.encoder_weights()]
    }

    fn w2(&self) -> &[T] {
        let o = self.arch.w2_offset();
        &self.theta[o..o + self.arch.encoder_weights()]
    }
}

/// Scratch of one chunk: activations, residuals and a gradient buffer.
#[derive(Debug, Clone)]
pub struct Work<T> {
    h: Vec<T>,
    z: Vec<T>,
    u: Vec<T>,
    /// Two images' pixels, dense (zero except while a loss is taken).
    xrow: Vec<T>,
    /// One image's residuals at its non-zero pixels (training).
    saved: Vec<T>,
    grad: Vec<T>,
    /// W₁ with its rows padded to [`PAD`] (when m ≤ [`PAD`]), then the
    /// encoder gradient in the same layout.
    w1pad: Vec<[T; PAD]>,
    g1pad: Vec<[T; PAD]>,
}

/// Latent widths up to this run the encoder products on rows of a fixed
/// length (W₁ copied with its rows padded by zeros): a fixed-length inner
/// loop the compiler turns into a few full SIMD operations per pixel, with no
/// remainder loop. Each hₖ or gradient entry adds the same terms in the same
/// order as the plain loop, so the bits are the same.
const PAD: usize = 24;
/// Whether the padded rows are used (measured: see docs/benchmarks.md).
const PADDED: bool = true;

impl<T: Real> Work<T> {
    /// Takes the padded copy of W₁ of `p` (when m ≤ [`PAD`]); called before
    /// the chunks of one evaluation.
    fn prepare(&mut self, p: &Params<T>) {
        if PADDED && p.arch.latent <= PAD {
            pad_w1(p, &mut self.w1pad);
        }
    }

    /// Buffers for chunks of [`ROWS`] images of the network `arch`.
    pub fn new(arch: Architecture) -> Self {
        let (n, m) = (arch.input, arch.latent);
        Work {
            h: vec![T::ZERO; ROWS * m],
            z: vec![T::ZERO; ROWS * n],
            u: vec![T::ZERO; ROWS * m],
            xrow: vec![T::ZERO; 2 * n],
            saved: vec![T::ZERO; n],
            grad: vec![T::ZERO; arch.n_params()],
            w1pad: Vec::new(),
            g1pad: Vec::new(),
        }
    }
}

/// dst (rows×cols) ← \[dst +\] lhs (rows×k) · rhs (k×cols), every operand given
/// as (slice, row stride, column stride) in elements. Panics if an operand
/// does not fit its slice (a bug in this module, never a user's value).
#[allow(clippy::too_many_arguments)]
fn matmul<T: Real>(
    rows: usize,
    cols: usize,
    k: usize,
    dst: (&mut [T], usize, usize),
    accumulate: bool,
    lhs: (&[T], usize, usize),
    rhs: (&[T], usize, usize),
) {
    let fits = |len: usize, r: usize, c: usize, rs: usize, cs: usize| {
        r == 0 || c == 0 || (r - 1) * rs + (c - 1) * cs < len
    };
    assert!(fits(dst.0.len(), rows, cols, dst.1, dst.2), "matmul: dst");
    assert!(fits(lhs.0.len(), rows, k, lhs.1, lhs.2), "matmul: lhs");
    assert!(fits(rhs.0.len(), k, cols, rhs.1, rhs.2), "matmul: rhs");
    if rows == 0 || cols == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for r in 0..rows {
                for c in 0..cols {
                    dst.0[r * dst.1 + c * dst.2] = T::ZERO;
                }
            }
        }
        return;
    }
    // SAFETY: the asserts above keep every element gemm touches inside its
    // slice; `dst` is a unique borrow, so it does not alias `lhs` or `rhs`.
    unsafe {
        gemm::gemm(
            rows,
            cols,
            k,
            dst.0.as_mut_ptr(),
            dst.2 as isize,
            dst.1 as isize,
            accumulate,
            lhs.0.as_ptr(),
            lhs.2 as isize,
            lhs.1 as isize,
            rhs.0.as_ptr(),
            rhs.2 as isize,
            rhs.1 as isize,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Runs `f` compiled for the widest instruction set this CPU has (AVX-512,
/// AVX2/FMA or the x86-64 baseline), chosen at run time; the closure (mark it
/// `#[inline(always)]`) and the `#[inline(always)]` loops it calls are
/// inlined into a function compiled with those features and vectorised for
/// them. The choice changes speed only, not bits: Rust never fuses a multiply
/// and an add on its own, elementwise IEEE operations round the same at any
/// width, and the one reduction here ([`row_sse`]) fixes its association in
/// the source.
///
/// Not `pulp::Arch::dispatch`: measured (perf annotate, release build) its
/// call chain left our closures out of line, compiled for the SSE2 baseline,
/// so the loops never ran wider than 128 bits.
#[inline(always)]
pub(crate) fn simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if !baseline_only() {
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has every feature the function is compiled for.
            return unsafe { x86_v4(f) };
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: as above.
            return unsafe { x86_v3(f) };
        }
    }
    f()
}

/// How far the CPU paths are held back (tests only: the bits of every kernel
/// must not depend on the path; see the test `same_bits_on_every_simd_path`):
/// 0 = the widest this CPU has, 1 = no explicit AVX-512 kernels (the AVX ones
/// instead), 2 = the x86-64 baseline only.
#[cfg(test)]
static SIMD_LIMIT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

#[cfg(test)]
fn simd_limit() -> u8 {
    SIMD_LIMIT.load(std::sync::atomic::Ordering::Relaxed)
}

#[cfg(not(test))]
#[inline(always)]
fn simd_limit() -> u8 {
    0
}

/// Whether [`simd`] is held to the baseline path (tests only).
#[inline(always)]
fn baseline_only() -> bool {
    simd_limit() >= 2
}

/// Whether the explicit AVX kernels ([`avx`]) may run.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn avx_available() -> bool {
    !baseline_only() && is_x86_feature_detected!("avx")
}

/// Whether the explicit AVX-512 kernels ([`avx`]) may run.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn avx512_available() -> bool {
    simd_limit() == 0 && is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx")
}

/// Explicit AVX kernels for f32 where the compiler's own vectorisation of the
/// generic loops was measured poor (perf annotate: the fixed-length loops of
/// [`encode_rows_padded`] and [`row_sse`] came out as 128-bit pieces shuffled
/// into wider registers). Each does the generic loop's operations in the same
/// order (a multiply, then an add: no fused multiply-add), so the bits are
/// the same (test `same_bits_on_every_simd_path`).
#[cfg(target_arch = "x86_64")]
mod avx {
    use super::{PAD, SparseImages};
    use std::arch::x86_64::*;

    const _: () = assert!(PAD == 24, "three 8-lane accumulators");

    /// Images the encoder kernels take at a time (four chains of adds and of
    /// W₁ row loads in flight, up from two).
    const GROUP: usize = 4;

    /// The loop of [`encode_rows_padded_f32`] and
    /// [`encode_rows_padded_f32_512`], written once for an accumulator
    /// held in registers of type `$acc`, made by `$load!(pointer)`, advanced
    /// by `$step!(acc, padded row, value)` (acc += v · w: a multiply, then an
    /// add) and written out by `$store!(acc, pointer)`. [`GROUP`] images at a
    /// time: their chains of adds and their loads of W₁ rows interleave, so
    /// the adds' and the loads' latencies overlap, and each image still adds
    /// its pixels in its own order, so the bits are those of one image at a
    /// time.
    macro_rules! encode_groups {
        ($(#[$attr:meta])* $name:ident, $acc:ty, $load:ident, $step:ident, $store:ident) => {
            $(#[$attr])*
            pub(super) unsafe fn $name(
                b1: Option<&[f32]>,
                x: &SparseImages<f32>,
                rows: &[usize],
                h: &mut [f32],
                w1pad: &[[f32; PAD]],
            ) {
                let m = h.len() / rows.len().max(1);
                // Every pixel index is below `x.pixels()` (SparseImages
                // keeps only those), so below this every row of `w1pad`
                // the loops read exists: they read it unchecked.
                assert!(x.pixels() <= w1pad.len(), "encoder: W₁ rows");
                let mut init = [0.0f32; PAD];
                if let Some(b) = b1 {
                    init[..m].copy_from_slice(b);
                }
                // ReLU and the first m values of the accumulators into `hb`.
                let finish = |acc: $acc, hb: &mut [f32]| {
                    let mut out = [0.0f32; PAD];
                    // SAFETY: the stores are inside `out` (24 floats).
                    unsafe { $store!(acc, out.as_mut_ptr()) };
                    super::relu(&mut out);
                    hb.copy_from_slice(&out[..m]);
                };
                // SAFETY (all blocks below): every load is inside `init` or a
                // row of `w1pad` (24 floats each; the rows exist: the assert
                // above).
                let start: $acc = unsafe { $load!(init.as_ptr()) };
                let mut groups = h.chunks_exact_mut(GROUP * m);
                let mut rowsg = rows.chunks_exact(GROUP);
                for (hb, e) in groups.by_ref().zip(rowsg.by_ref()) {
                    let r: [(&[u32], &[f32]); GROUP] = std::array::from_fn(|g| x.row(e[g]));
                    let common = r.iter().map(|r| r.0.len()).min().unwrap_or(0);
                    let longest = r.iter().map(|r| r.0.len()).max().unwrap_or(0);
                    let mut acc = [start; GROUP];
                    unsafe {
                        for k in 0..common {
                            for g in 0..GROUP {
                                let (i, v) = (*r[g].0.get_unchecked(k), *r[g].1.get_unchecked(k));
                                $step!(acc[g], w1pad.get_unchecked(i as usize), v);
                            }
                        }
                        for k in common..longest {
                            for g in 0..GROUP {
                                if k < r[g].0.len() {
                                    let (i, v) =
                                        (*r[g].0.get_unchecked(k), *r[g].1.get_unchecked(k));
                                    $step!(acc[g], w1pad.get_unchecked(i as usize), v);
                                }
                            }
                        }
                    }
                    for (g, hg) in hb.chunks_exact_mut(m).enumerate() {
                        finish(acc[g], hg);
                    }
                }
                for (hb, &e) in groups.into_remainder().chunks_exact_mut(m).zip(rowsg.remainder()) {
                    let (ia, va) = x.row(e);
                    let mut a = start;
                    unsafe {
                        for (&i, &v) in ia.iter().zip(va) {
                            $step!(a, w1pad.get_unchecked(i as usize), v);
                        }
                    }
                    finish(a, hb);
                }
            }
        };
    }

    /// Three 8-lane registers: load, step and store of [`encode_groups`].
    macro_rules! load3 {
        ($p:expr) => {{
            let p = $p;
            [
                _mm256_loadu_ps(p),
                _mm256_loadu_ps(p.add(8)),
                _mm256_loadu_ps(p.add(16)),
            ]
        }};
    }
    macro_rules! step3 {
        ($acc:expr, $w:expr, $v:expr) => {{
            let w = $w.as_ptr();
            let vv = _mm256_set1_ps($v);
            $acc[0] = _mm256_add_ps($acc[0], _mm256_mul_ps(vv, _mm256_loadu_ps(w)));
            $acc[1] = _mm256_add_ps($acc[1], _mm256_mul_ps(vv, _mm256_loadu_ps(w.add(8))));
            $acc[2] = _mm256_add_ps($acc[2], _mm256_mul_ps(vv, _mm256_loadu_ps(w.add(16))));
        }};
    }
    macro_rules! store3 {
        ($acc:expr, $p:expr) => {{
            let p = $p;
            _mm256_storeu_ps(p, $acc[0]);
            _mm256_storeu_ps(p.add(8), $acc[1]);
            _mm256_storeu_ps(p.add(16), $acc[2]);
        }};
    }

    /// A 16-lane and an 8-lane register: load, step and store of
    /// [`encode_groups`] (two loads per pixel, not three).
    macro_rules! load2 {
        ($p:expr) => {{
            let p = $p;
            (_mm512_loadu_ps(p), _mm256_loadu_ps(p.add(16)))
        }};
    }
    macro_rules! step2 {
        ($acc:expr, $w:expr, $v:expr) => {{
            let w = $w.as_ptr();
            let v = $v;
            $acc.0 = _mm512_add_ps($acc.0, _mm512_mul_ps(_mm512_set1_ps(v), _mm512_loadu_ps(w)));
            $acc.1 = _mm256_add_ps(
                $acc.1,
                _mm256_mul_ps(_mm256_set1_ps(v), _mm256_loadu_ps(w.add(16))),
            );
        }};
    }
    macro_rules! store2 {
        ($acc:expr, $p:expr) => {{
            let p = $p;
            _mm512_storeu_ps(p, $acc.0);
            _mm256_storeu_ps(p.add(16), $acc.1);
        }};
    }

    encode_groups!(
        /// [`super::encode_rows_padded`] for f32 with AVX: a row's 24
        /// accumulators in three 8-lane registers, [`GROUP`] images at a time.
        #[target_feature(enable = "avx")]
        encode_rows_padded_f32,
        [__m256; 3],
        load3,
        step3,
        store3
    );

    encode_groups!(
        /// [`super::encode_rows_padded`] for f32 with AVX-512: a row's 24
        /// accumulators in a 16-lane and an 8-lane register, [`GROUP`] images
        /// at a time; the same operations on each value as [`encode_rows_padded_f32`],
        /// so the same bits.
        #[target_feature(enable = "avx512f,avx")]
        encode_rows_padded_f32_512,
        (__m512, __m256),
        load2,
        step2,
        store2
    );

    /// [`super::row_sse`] for f32: lanes 0–3 and 4–7 of the partial sums in
    /// two 4-lane f64 registers. ReLU is `max(z, 0)`, which gives 0 for a NaN
    /// or −0 as the generic comparison does (MAXPS returns its second
    /// operand when either is NaN or both are zero).
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn row_sse_f32(z: &[f32], x: &[f32]) -> f64 {
        const LANES: usize = super::LANES;
        let (zc, zr) = z.as_chunks::<LANES>();
        let (xc, xr) = x.as_chunks::<LANES>();
        let mut s = [0.0f64; LANES];
        // SAFETY: every load is of 8 floats of one chunk, every store of 4
        // doubles inside `s`.
        unsafe {
            let zero = _mm256_setzero_ps();
            let mut lo = _mm256_setzero_pd();
            let mut hi = _mm256_setzero_pd();
            for (zc, xc) in zc.iter().zip(xc) {
                let o = _mm256_max_ps(_mm256_loadu_ps(zc.as_ptr()), zero);
                let xv = _mm256_loadu_ps(xc.as_ptr());
                let dl = _mm256_sub_pd(
                    _mm256_cvtps_pd(_mm256_castps256_ps128(o)),
                    _mm256_cvtps_pd(_mm256_castps256_ps128(xv)),
                );
                let dh = _mm256_sub_pd(
                    _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(o)),
                    _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(xv)),
                );
                lo = _mm256_add_pd(lo, _mm256_mul_pd(dl, dl));
                hi = _mm256_add_pd(hi, _mm256_mul_pd(dh, dh));
            }
            _mm256_storeu_pd(s.as_mut_ptr(), lo);
            _mm256_storeu_pd(s.as_mut_ptr().add(4), hi);
        }
        super::row_sse_finish(s, zr, xr)
    }

    /// [`super::row_sse`] of two images for f32 with AVX-512: the eight
    /// partial sums of each image in one 8-lane f64 register (lane l holds
    /// the terms k ≡ l mod 8, in order of k, as in the generic loop), the two
    /// images' chains interleaved so that the adds' latency overlaps.
    #[target_feature(enable = "avx512f,avx")]
    pub(super) unsafe fn row_sse2_f32(z: [&[f32]; 2], x: [&[f32]; 2]) -> [f64; 2] {
        const LANES: usize = super::LANES;
        let (za, zar) = z[0].as_chunks::<LANES>();
        let (xa, xar) = x[0].as_chunks::<LANES>();
        let (zb, zbr) = z[1].as_chunks::<LANES>();
        let (xb, xbr) = x[1].as_chunks::<LANES>();
        let (mut s, mut t) = ([0.0f64; LANES], [0.0f64; LANES]);
        // SAFETY: every load is of 8 floats of one chunk, every store of 8
        // doubles into `s` or `t`.
        unsafe {
            let zero = _mm256_setzero_ps();
            let mut sa = _mm512_setzero_pd();
            let mut sb = _mm512_setzero_pd();
            for ((za, xa), (zb, xb)) in za.iter().zip(xa).zip(zb.iter().zip(xb)) {
                let oa = _mm256_max_ps(_mm256_loadu_ps(za.as_ptr()), zero);
                let ob = _mm256_max_ps(_mm256_loadu_ps(zb.as_ptr()), zero);
                let da = _mm512_sub_pd(
                    _mm512_cvtps_pd(oa),
                    _mm512_cvtps_pd(_mm256_loadu_ps(xa.as_ptr())),
                );
                let db = _mm512_sub_pd(
                    _mm512_cvtps_pd(ob),
                    _mm512_cvtps_pd(_mm256_loadu_ps(xb.as_ptr())),
                );
                sa = _mm512_add_pd(sa, _mm512_mul_pd(da, da));
                sb = _mm512_add_pd(sb, _mm512_mul_pd(db, db));
            }
            _mm512_storeu_pd(s.as_mut_ptr(), sa);
            _mm512_storeu_pd(t.as_mut_ptr(), sb);
        }
        [
            super::row_sse_finish(s, zar, xar),
            super::row_sse_finish(t, zbr, xbr),
        ]
    }

    /// [`row_sse2_f32`] with each image given as its sparse row (`(masks,
    /// values)` of [`SparseImages::masked_row`]): 16 pixels at a time, the
    /// values expanded into the lanes their mask bits name (zeros elsewhere),
    /// so no dense copy of the image is written or cleared. Each 16 are two
    /// runs of 8 added in order, the tail as in [`row_sse2_f32`]: the same
    /// operations on the same values in the same order, so the same bits.
    /// Panics if the lengths disagree (a bug here, never a user's value).
    /// POPCNT counts the values each expand takes (measured: without it the
    /// count is a dozen instructions per 16 pixels).
    #[target_feature(enable = "avx512f,avx,popcnt")]
    pub(super) unsafe fn row_sse2_sparse_f32(z: [&[f32]; 2], x: [(&[u16], &[f32]); 2]) -> [f64; 2] {
        const W: usize = super::MASK_BITS;
        const _: () = assert!(W == 16 && super::LANES == 8, "16 lanes = two runs of 8");
        let n = z[0].len();
        let full = n / W;
        let rem = n % W;
        for (zi, (mi, vi)) in z.iter().zip(&x) {
            assert_eq!(zi.len(), n, "row_sse2_sparse_f32: outputs");
            assert_eq!(mi.len(), n.div_ceil(W), "row_sse2_sparse_f32: masks");
            // Every expand below reads as many values as its mask has bits.
            let bits: usize = mi.iter().map(|w| w.count_ones() as usize).sum();
            assert_eq!(bits, vi.len(), "row_sse2_sparse_f32: values");
        }
        let hi8 = |v: __m512| _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
        let mut sums = [[0.0f64; super::LANES]; 2];
        let mut tails = [([0.0f32; W], [0.0f32; W]); 2];
        // SAFETY: every load of z is of 16 floats inside it (c < full), every
        // expand reads the next popcount(mask) values, inside the values (the
        // assert above); the stores are into `sums` and `tails`.
        unsafe {
            let zero = _mm512_setzero_ps();
            let mut acc = [_mm512_setzero_pd(); 2];
            let mut vp = [x[0].1.as_ptr(), x[1].1.as_ptr()];
            for c in 0..full {
                for i in 0..2 {
                    let o = _mm512_max_ps(_mm512_loadu_ps(z[i].as_ptr().add(c * W)), zero);
                    let mask = x[i].0[c];
                    let xv = _mm512_maskz_expandloadu_ps(mask, vp[i]);
                    vp[i] = vp[i].add(mask.count_ones() as usize);
                    let d = _mm512_sub_pd(
                        _mm512_cvtps_pd(_mm512_castps512_ps256(o)),
                        _mm512_cvtps_pd(_mm512_castps512_ps256(xv)),
                    );
                    acc[i] = _mm512_add_pd(acc[i], _mm512_mul_pd(d, d));
                    let d = _mm512_sub_pd(_mm512_cvtps_pd(hi8(o)), _mm512_cvtps_pd(hi8(xv)));
                    acc[i] = _mm512_add_pd(acc[i], _mm512_mul_pd(d, d));
                }
            }
            if rem > 0 {
                for i in 0..2 {
                    let mask = x[i].0[full];
                    let xv = _mm512_maskz_expandloadu_ps(mask, vp[i]);
                    _mm512_storeu_ps(tails[i].1.as_mut_ptr(), xv);
                    tails[i].0[..rem].copy_from_slice(&z[i][full * W..]);
                    if rem >= super::LANES {
                        let o = _mm256_max_ps(
                            _mm256_loadu_ps(tails[i].0.as_ptr()),
                            _mm256_setzero_ps(),
                        );
                        let d = _mm512_sub_pd(
                            _mm512_cvtps_pd(o),
                            _mm512_cvtps_pd(_mm256_loadu_ps(tails[i].1.as_ptr())),
                        );
                        acc[i] = _mm512_add_pd(acc[i], _mm512_mul_pd(d, d));
                    }
                }
            }
            _mm512_storeu_pd(sums[0].as_mut_ptr(), acc[0]);
            _mm512_storeu_pd(sums[1].as_mut_ptr(), acc[1]);
        }
        // The last partial run of 8 (if any), as in the generic loop.
        let start = if rem >= super::LANES { super::LANES } else { 0 };
        std::array::from_fn(|i| {
            super::row_sse_finish(sums[i], &tails[i].0[start..rem], &tails[i].1[start..rem])
        })
    }

    /// The training residual of one image (see
    /// [`super::Real::residual_sparse_simd`]) for f32 with AVX-512: 16
    /// outputs at a time, the image's values expanded into the lanes its
    /// mask bits name (zeros elsewhere; `scale` · (zₖ − 0) is `scale` · zₖ
    /// exactly, so the zero pixels get the generic loop's bits), the last
    /// partial 16 by masked loads and stores. Panics if the lengths disagree
    /// (a bug here, never a user's value).
    #[target_feature(enable = "avx512f,avx,popcnt")]
    pub(super) unsafe fn residual_sparse_f32(z: &mut [f32], x: (&[u16], &[f32]), scale: f32) {
        const W: usize = super::MASK_BITS;
        const _: () = assert!(W == 16, "16 lanes");
        let n = z.len();
        let (masks, values) = x;
        assert_eq!(masks.len(), n.div_ceil(W), "residual_sparse_f32: masks");
        // Every expand below reads as many values as its mask has bits.
        let bits: usize = masks.iter().map(|w| w.count_ones() as usize).sum();
        assert_eq!(bits, values.len(), "residual_sparse_f32: values");
        // SAFETY: every load and store of z is of the lanes `live` of 16
        // floats starting inside it (lanes past its end masked off); every
        // expand reads the next popcount(mask) values, inside the values
        // (the assert above).
        unsafe {
            let zero = _mm512_setzero_ps();
            let s = _mm512_set1_ps(scale);
            let mut vp = values.as_ptr();
            for (c, &mask) in masks.iter().enumerate() {
                let lanes = (n - c * W).min(W);
                let live: __mmask16 = if lanes == W {
                    0xffff
                } else {
                    (1u16 << lanes) - 1
                };
                let p = z.as_mut_ptr().add(c * W);
                let zv = _mm512_maskz_loadu_ps(live, p);
                let xv = _mm512_maskz_expandloadu_ps(mask, vp);
                vp = vp.add(mask.count_ones() as usize);
                let positive = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(zv, zero);
                let d = _mm512_maskz_mul_ps(positive, s, _mm512_sub_ps(zv, xv));
                _mm512_mask_storeu_ps(p, live, d);
            }
        }
    }
}

/// `f` compiled for x86-64-v4 (AVX-512).
#[cfg(target_arch = "x86_64")]
#[target_feature(
    enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,avx,sse4.2,popcnt,bmi1,bmi2,lzcnt"
)]
#[inline]
unsafe fn x86_v4<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// `f` compiled for x86-64-v3 (AVX2 and FMA).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx,sse4.2,popcnt,bmi1,bmi2,lzcnt")]
#[inline]
unsafe fn x86_v3<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// y += a · x (elementwise; the same length).
#[inline(always)]
fn axpy<T: Real>(y: &mut [T], a: T, x: &[T]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// ReLU in place; a NaN also gives 0 (the comparison z > 0 is false), as does
/// −0.
#[inline(always)]
fn relu<T: Real>(v: &mut [T]) {
    for vi in v.iter_mut() {
        *vi = if *vi > T::ZERO { *vi } else { T::ZERO };
    }
}

/// Copies W₁ into `pad`, rows padded to [`PAD`] (m ≤ [`PAD`]).
fn pad_w1<T: Real>(p: &Params<T>, pad: &mut Vec<[T; PAD]>) {
    let m = p.arch.latent;
    pad.clear();
    pad.extend(p.w1().chunks_exact(m).map(|r| {
        let mut row = [T::ZERO; PAD];
        row[..m].copy_from_slice(r);
        row
    }));
}

/// H = ReLU(X W₁ + b₁) for the images `rows` of `x`, into `h` (rows × m);
/// `w1pad` is W₁ padded ([`pad_w1`]) when m ≤ [`PAD`], else empty.
fn encode<T: Real>(
    p: &Params<T>,
    x: &SparseImages<T>,
    rows: &[usize],
    h: &mut [T],
    w1pad: &[[T; PAD]],
) {
    if PADDED && p.arch.latent <= PAD && !w1pad.is_empty() {
        simd(
            #[inline(always)]
            || encode_rows_padded(p, x, rows, h, w1pad),
        )
    } else {
        simd(
            #[inline(always)]
            || encode_rows(p, x, rows, h),
        )
    }
}

#[inline(always)]
fn encode_rows_padded<T: Real>(
    p: &Params<T>,
    x: &SparseImages<T>,
    rows: &[usize],
    h: &mut [T],
    w1pad: &[[T; PAD]],
) {
    let a = p.arch;
    let m = a.latent;
    let b1 = a.bias.then(|| &p.theta[a.b1_offset()..a.b1_offset() + m]);
    if T::encode_padded_simd(b1, x, rows, &mut h[..rows.len() * m], w1pad) {
        return;
    }
    for (hb, &e) in h.chunks_exact_mut(m).zip(rows) {
        let mut acc = [T::ZERO; PAD];
        if a.bias {
            acc[..m].copy_from_slice(&p.theta[a.b1_offset()..a.b1_offset() + m]);
        }
        let (idx, val) = x.row(e);
        for (&i, &v) in idx.iter().zip(val) {
            let w = &w1pad[i as usize];
            for j in 0..PAD {
                acc[j] += v * w[j];
            }
        }
        relu(&mut acc);
        hb.copy_from_slice(&acc[..m]);
    }
}

#[inline(always)]
fn encode_rows<T: Real>(p: &Params<T>, x: &SparseImages<T>, rows: &[usize], h: &mut [T]) {
    let a = p.arch;
    let m = a.latent;
    let w1 = p.w1();
    for (hb, &e) in h.chunks_exact_mut(m).zip(rows) {
        if a.bias {
            hb.copy_from_slice(&p.theta[a.b1_offset()..a.b1_offset() + m]);
        } else {
            hb.fill(T::ZERO);
        }
        let (idx, val) = x.row(e);
        for (&i, &v) in idx.iter().zip(val) {
            axpy(hb, v, &w1[i as usize * m..][..m]);
        }
        // ReLU; a NaN pre-activation also gives 0 (the loss check of
        // training catches NaN weights through the decoder).
        relu(hb);
    }
}

/// Z = H W₂ᵀ + b₂ (pre-activations of the output) for `r` rows of `h`.
fn decode<T: Real>(p: &Params<T>, h: &[T], r: usize, z: &mut [T]) {
    let a = p.arch;
    let (n, m) = (a.input, a.latent);
    if a.bias {
        let b2 = &p.theta[a.b2_offset()..a.b2_offset() + n];
        for zb in z[..r * n].chunks_exact_mut(n) {
            zb.copy_from_slice(b2);
        }
    }
    // W₂ is stored output-major (k·m + j), so W₂ᵀ[j, k] has row stride 1 and
    // column stride m.
    matmul(
        r,
        n,
        m,
        (&mut z[..r * n], n, 1),
        a.bias,
        (&h[..r * m], m, 1),
        (p.w2(), 1, m),
    );
}

/// Partial sums of [`row_sse`]: lane l adds the terms k ≡ l (mod `LANES`).
const LANES: usize = 8;

/// Σₖ (ReLU(zₖ) − xₖ)² for one image, in f64: `LANES` partial sums (term k
/// into sum k mod `LANES`, in order of k), then added as
/// ((s₀ + s₄) + (s₂ + s₆)) + ((s₁ + s₅) + (s₃ + s₇)). The association is fixed
/// here, so the bits do not depend on the SIMD width the loop runs at.
#[inline(always)]
fn row_sse<T: Real>(z: &[T], x: &[T]) -> f64 {
    let mut s = [0.0f64; LANES];
    // ReLU in T, then widened: the same value as widening first (both are
    // exact), but the select runs on the narrow lanes.
    let term = |zk: T, xk: T| {
        let o = if zk > T::ZERO { zk } else { T::ZERO };
        let d = o.to_f64() - xk.to_f64();
        d * d
    };
    if let Some(v) = T::row_sse_simd(z, x) {
        return v;
    }
    let (zc, zr) = z.as_chunks::<LANES>();
    let (xc, xr) = x.as_chunks::<LANES>();
    for (zc, xc) in zc.iter().zip(xc) {
        let t: [f64; LANES] = std::array::from_fn(|l| term(zc[l], xc[l]));
        for l in 0..LANES {
            s[l] += t[l];
        }
    }
    row_sse_finish(s, zr, xr)
}

/// The end of [`row_sse`]: the terms of the last partial chunk into the
/// partial sums `s`, then the sums added in the fixed association.
#[inline(always)]
fn row_sse_finish<T: Real>(mut s: [f64; LANES], zr: &[T], xr: &[T]) -> f64 {
    for (l, (&zk, &xk)) in zr.iter().zip(xr).enumerate() {
        let o = if zk > T::ZERO { zk } else { T::ZERO };
        let d = o.to_f64() - xk.to_f64();
        s[l] += d * d;
    }
    ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))
}

/// Σₖ (ReLU(zₖ) − xₖ)² of each image `rows` (one chunk, at most [`ROWS`]),
/// in f64, into `out` (one value per row).
fn chunk_row_sse<T: Real>(
    p: &Params<T>,
    x: &SparseImages<T>,
    rows: &[usize],
    w: &mut Work<T>,
    out: &mut [f64],
) {
    let n = p.arch.input;
    let r = rows.len();
    encode(p, x, rows, &mut w.h, &w.w1pad);
    decode(p, &w.h, r, &mut w.z);
    let (z, xrow) = (&w.z, &mut w.xrow);
    // The image `e` into `buf` (zero elsewhere) and back to zeros.
    #[inline(always)]
    fn scatter<T: Real>(x: &SparseImages<T>, buf: &mut [T], e: usize, zero: bool) {
        let (idx, val) = x.row(e);
        for (&i, &v) in idx.iter().zip(val) {
            buf[i as usize] = if zero { T::ZERO } else { v };
        }
    }
    simd(
        #[inline(always)]
        || {
            let (xa, xb) = xrow.split_at_mut(n);
            let z = &z[..r * n];
            let pairs = z
                .chunks_exact(2 * n)
                .zip(rows.chunks_exact(2))
                .zip(out.chunks_exact_mut(2));
            // Two images at a time where a kernel for two exists.
            let mut done = 0;
            for ((zb, e), o) in pairs {
                let (z0, z1) = zb.split_at(n);
                if let Some(v) = T::row_sse2_sparse_simd([z0, z1], x, [e[0], e[1]]) {
                    o.copy_from_slice(&v);
                    done += 2;
                    continue;
                }
                scatter(x, xa, e[0], false);
                scatter(x, xb, e[1], false);
                let Some(v) = T::row_sse2_simd([z0, z1], [xa, xb]) else {
                    scatter(x, xa, e[0], true);
                    scatter(x, xb, e[1], true);
                    break;
                };
                o.copy_from_slice(&v);
                scatter(x, xa, e[0], true);
                scatter(x, xb, e[1], true);
                done += 2;
            }
            for ((zb, &e), o) in z[done * n..]
                .chunks_exact(n)
                .zip(&rows[done..])
                .zip(&mut out[done..])
            {
                scatter(x, xa, e, false);
                *o = row_sse(zb, xa);
                scatter(x, xa, e, true);
            }
        },
    )
}

/// Sum over the images `rows` (one chunk, at most [`ROWS`]) of
/// Σₖ (ReLU(zₖ) − xₖ)² ([`row_sse`]), in f64, rows added in order.
fn chunk_sse<T: Real>(p: &Params<T>, x: &SparseImages<T>, rows: &[usize], w: &mut Work<T>) -> f64 {
    let mut per = [0.0f64; ROWS];
    chunk_row_sse(p, x, rows, w, &mut per[..rows.len()]);
    per[..rows.len()].iter().sum()
}

/// Σₖ (fₖ(x) − xₖ)² of each of the images `rows`, into `out` (one value per
/// image; [`row_sse`]), one thread, chunk after chunk. [`chunked_sum`] of
/// them is [`sse`] of the same rows, bit for bit.
pub fn row_sses<T: Real>(
    p: &Params<T>,
    x: &SparseImages<T>,
    rows: &[usize],
    w: &mut Work<T>,
    out: &mut [f64],
) {
    w.prepare(p);
    for (c, o) in rows.chunks(ROWS).zip(out.chunks_mut(ROWS)) {
        chunk_row_sse(p, x, c, w, o);
    }
}

/// The sum of per-image values in the association of [`sse`]: each run of
/// [`ROWS`] added in order, then the runs in order.
pub fn chunked_sum(v: &[f64]) -> f64 {
    v.chunks(ROWS).map(|c| c.iter().sum::<f64>()).sum()
}

/// Σ over the images `rows` of Σₖ (fₖ(x) − xₖ)² (the sum of squared errors of
/// eq. 53), one thread, chunk after chunk (the chunk sums added in order).
pub fn sse<T: Real>(p: &Params<T>, x: &SparseImages<T>, rows: &[usize], w: &mut Work<T>) -> f64 {
    w.prepare(p);
    rows.chunks(ROWS).map(|c| chunk_sse(p, x, c, w)).sum()
}

/// The mean squared error per pixel (eq. 53 averaged over images and pixels)
/// over all images of `x`, chunks in parallel; the same bits as
/// [`sse`] / (count · n) on one thread.
pub fn mse<T: Real>(p: &Params<T>, x: &SparseImages<T>) -> f64 {
    let rows: Vec<usize> = (0..x.len()).collect();
    let parts: Vec<f64> = rows
        .par_chunks(ROWS)
        .map_init(
            || {
                let mut w = Work::new(p.arch);
                w.prepare(p);
                w
            },
            |w, c| chunk_sse(p, x, c, w),
        )
        .collect();
    parts.iter().sum::<f64>() / (x.len() * x.pixels()) as f64
}

/// Adds to `w.grad` the gradient of `scale` · Σ (over the images `rows`) of
/// Σₖ (fₖ(x) − xₖ)² (one chunk); `w1pad` is W₁ padded ([`pad_w1`]) when
/// m ≤ [`PAD`], else empty.
fn chunk_gradient<T: Real>(
    p: &Params<T>,
    x: &SparseImages<T>,
    rows: &[usize],
    scale: T,
    w1pad: &[[T; PAD]],
    w: &mut Work<T>,
) {
    let a = p.arch;
    let (n, m) = (a.input, a.latent);
    let r = rows.len();
    encode(p, x, rows, &mut w.h, w1pad);
    decode(p, &w.h, r, &mut w.z);
    // D = scale · (ReLU(Z) − X) ⊙ 1[Z > 0], in place of Z.
    let saved = &mut w.saved;
    simd(
        #[inline(always)]
        || {
            // The non-zero pixels' residuals first (into `saved`, before
            // their zₖ are overwritten), then every pixel as if xₖ = 0
            // (scale · (zₖ − 0) is scale · zₖ exactly), then the first ones
            // put back: no dense copy of the image is written or cleared.
            for (zb, &e) in w.z[..r * n].chunks_exact_mut(n).zip(rows) {
                if T::residual_sparse_simd(zb, x, e, scale) {
                    continue;
                }
                let (idx, val) = x.row(e);
                let saved = &mut saved[..idx.len()];
                for ((s, &i), &v) in saved.iter_mut().zip(idx).zip(val) {
                    let zk = zb[i as usize];
                    *s = if zk > T::ZERO {
                        scale * (zk - v)
                    } else {
                        T::ZERO
                    };
                }
                for zk in zb.iter_mut() {
                    *zk = if *zk > T::ZERO { scale * *zk } else { T::ZERO };
                }
                for (&i, &s) in idx.iter().zip(saved.iter()) {
                    zb[i as usize] = s;
                }
            }
        },
    );
    let d = &w.z[..r * n];
    let (w2o, b1o, b2o) = (a.w2_offset(), a.b1_offset(), a.b2_offset());
    // ∇W₂ += Dᵀ H: ∇W₂[k, j] at w2o + k·m + j.
    matmul(
        n,
        m,
        r,
        (&mut w.grad[w2o..w2o + n * m], m, 1),
        true,
        (d, 1, n),
        (&w.h[..r * m], m, 1),
    );
    // U = (D W₂) ⊙ 1[H > 0].
    matmul(
        r,
        m,
        n,
        (&mut w.u[..r * m], m, 1),
        false,
        (d, n, 1),
        (p.w2(), m, 1),
    );
    // U ⊙ 1[H > 0], then ∇W₁ += Xᵀ U over the non-zero pixels: ∇W₁[j, i]
    // at i·m + j.
    let (u, h, grad, g1pad) = (&mut w.u, &w.h, &mut w.grad, &mut w.g1pad);
    simd(
        #[inline(always)]
        || {
            for (uj, &hj) in u[..r * m].iter_mut().zip(h.iter()) {
                *uj = if hj > T::ZERO { *uj } else { T::ZERO };
            }
            if PADDED && m <= PAD {
                // Rows of fixed length (see [`PAD`]), then added into ∇W₁.
                g1pad.clear();
                g1pad.resize(n, [T::ZERO; PAD]);
                for (ub, &e) in u.chunks_exact(m).zip(rows) {
                    let mut up = [T::ZERO; PAD];
                    up[..m].copy_from_slice(ub);
                    let (idx, val) = x.row(e);
                    for (&i, &v) in idx.iter().zip(val) {
                        let g = &mut g1pad[i as usize];
                        for j in 0..PAD {
                            g[j] += v * up[j];
                        }
                    }
                }
                for (g, gp) in grad[..n * m].chunks_exact_mut(m).zip(g1pad.iter()) {
                    for (gj, &v) in g.iter_mut().zip(gp) {
                        *gj += v;
                    }
                }
            } else {
                for (ub, &e) in u.chunks_exact(m).zip(rows) {
                    let (idx, val) = x.row(e);
                    for (&i, &v) in idx.iter().zip(val) {
                        axpy(&mut grad[i as usize * m..][..m], v, ub);
                    }
                }
            }
        },
    );
    if a.bias {
        for b in 0..r {
            for (g, &uj) in w.grad[b1o..b1o + m]
                .iter_mut()
                .zip(&w.u[b * m..(b + 1) * m])
            {
                *g += uj;
            }
            for (g, &dk) in w.grad[b2o..b2o + n].iter_mut().zip(&d[b * n..(b + 1) * n]) {
                *g += dk;
            }
        }
    }
}

/// The gradient of the batch MSE (mean over the images `batch` and their
/// pixels, eq. 53) with respect to θ, written into `out` (θ's layout).
///
/// `works` holds one [`Work`] per chunk of [`ROWS`] (grown when short); the
/// chunks run in parallel and their gradients are added in chunk order.
pub fn gradient<T: Real>(
    p: &Params<T>,
    x: &SparseImages<T>,
    batch: &[usize],
    works: &mut Vec<Work<T>>,
    out: &mut [T],
) {
    let chunks = batch.len().div_ceil(ROWS);
    while works.len() < chunks {
        works.push(Work::new(p.arch));
    }
    let scale = T::from_f64(2.0 / (batch.len().max(1) * p.arch.input) as f64);
    // W₁ padded once for all chunks (kept in the first Work between calls).
    let Some(first) = works.first_mut() else {
        out.fill(T::ZERO);
        return;
    };
    let mut w1pad = std::mem::take(&mut first.w1pad);
    if PADDED && p.arch.latent <= PAD {
        pad_w1(p, &mut w1pad);
    } else {
        w1pad.clear();
    }
    works[..chunks]
        .par_iter_mut()
        .zip(batch.par_chunks(ROWS))
        .for_each(|(w, rows)| {
            w.grad.fill(T::ZERO);
            chunk_gradient(p, x, rows, scale, &w1pad, w);
        });
    works[0].w1pad = w1pad;
    // The sum over the chunks, in chunk order for every entry, pieces of θ
    // in parallel (so the same bits at any thread count).
    let works = &works[..chunks];
    out.par_chunks_mut(SPAN).enumerate().for_each(|(c, piece)| {
        let at = c * SPAN;
        piece.fill(T::ZERO);
        simd(
            #[inline(always)]
            || {
                for w in works {
                    for (o, &g) in piece.iter_mut().zip(&w.grad[at..]) {
                        *o += g;
                    }
                }
            },
        );
    });
}

/// Entries of θ per piece of the elementwise loops over θ that run in
/// parallel (the sum of the chunks' gradients, Adam's update): each entry's
/// arithmetic does not depend on the pieces, so neither do the bits.
pub const SPAN: usize = 4096;

/// The activations h (m) and output o = f(x) (n) of each of the images
/// `rows`, as f64 (for reconstructions and tests).
pub fn forward<T: Real>(p: &Params<T>, x: &SparseImages<T>, rows: &[usize]) -> Vec<Vec<f64>> {
    let n = p.arch.input;
    let mut w = Work::new(p.arch);
    let mut out = Vec::with_capacity(rows.len());
    w.prepare(p);
    for c in rows.chunks(ROWS) {
        encode(p, x, c, &mut w.h, &w.w1pad);
        decode(p, &w.h, c.len(), &mut w.z);
        for b in 0..c.len() {
            out.push(
                w.z[b * n..(b + 1) * n]
                    .iter()
                    .map(|&z| if z > T::ZERO { z.to_f64() } else { 0.0 })
                    .collect(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Autoencoder;
    use bayesrg_core::rng::Seed;
    use rand::RngExt;

    /// Inputs with exact zeros (like images) and an architecture.
    fn case(input: usize, latent: usize, bias: bool, count: usize) -> (Autoencoder, Vec<f64>) {
        let arch = Architecture {
            input,
            latent,
            bias,
        };
        let mut rng = Seed::new(21).child("data").stream(0);
        let data: Vec<f64> = (0..input * count)
            .map(|_| {
                if rng.random::<f64>() < 0.6 {
                    0.0
                } else {
                    rng.random::<f64>()
                }
            })
            .collect();
        (Autoencoder::init(arch, Seed::new(5)), data)
    }

    /// f64 kernels against the per-example reference code of `net` (itself
    /// checked against central differences in `net::tests`) and against
    /// central differences directly: both to round-off.
    #[test]
    fn f64_gradient_matches_reference_and_numerical() {
        // latent ≤ PAD runs the padded encoder rows, latent = 30 > PAD the
        // plain loops.
        for (input, latent, bias, count) in [
            (6, 3, false, 50),
            (6, 3, true, 50),
            (30, 20, true, 300),
            (30, PAD + 6, true, 300),
        ] {
            let (net, data) = case(input, latent, bias, count);
            let x = SparseImages::<f64>::new(&data, input);
            let p = Params::<f64>::from_f64(net.arch, &net.theta);
            let idx: Vec<usize> = (0..count).rev().collect();
            let mut g = vec![0.0; net.arch.n_params()];
            gradient(&p, &x, &idx, &mut Vec::new(), &mut g);
            let reference = net.batch_gradient(&data, &idx);
            let scale = reference.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            for (q, (a, b)) in g.iter().zip(&reference).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-12 * scale,
                    "{input} {bias} p {q}: {a} vs {b}"
                );
            }
            if input == 6 {
                let o = bayesrg_core::numdiff::gradient(
                    |t| mse(&Params::<f64>::from_f64(net.arch, t), &x),
                    &net.theta,
                );
                for (q, (a, b)) in g.iter().zip(&o).enumerate() {
                    assert!((a - b).abs() < 1e-7, "bias {bias} p {q}: {a} vs {b}");
                }
            }
            // The loss against the per-example f64 reference.
            let (l, r) = (mse(&p, &x), net.mse(&data));
            assert!((l - r).abs() <= 1e-13 * r, "{l} vs {r}");
        }
    }

    /// The pre-activations of every unit of `net` over `data`, and a
    /// componentwise bound on the gradient computed in absolute values: with
    /// X̄ = |X|, W̄ = |W|, H̄ = W̄₁ᵀX̄ + |b₁|, Z̄ = W̄₂H̄ + |b₂|,
    /// D̄ = s (Z̄ + X̄) ⊙ 1[Z > 0], Ū = (W̄₂ᵀ D̄) ⊙ 1[H > 0], the gradient's
    /// absolute chain is ∇̄W₂ = D̄ H̄ᵀ, ∇̄W₁ = X̄ Ūᵀ, ∇̄b₁ = Σ Ū, ∇̄b₂ = Σ D̄.
    fn abs_chain(net: &Autoencoder, data: &[f64], idx: &[usize]) -> (Vec<f64>, Vec<f64>) {
        let a = net.arch;
        let (n, m) = (a.input, a.latent);
        let abs: Vec<f64> = net.theta.iter().map(|t| t.abs()).collect();
        let absnet = Autoencoder {
            arch: a,
            theta: abs,
        };
        let s = 2.0 / (idx.len() * n) as f64;
        let mut g = vec![0.0; a.n_params()];
        let mut pre = Vec::new();
        for &e in idx {
            let x = &data[e * n..(e + 1) * n];
            // Signed pre-activations (for the masks and the margins).
            let mut hz = vec![0.0; m];
            for j in 0..m {
                hz[j] = (0..n).map(|i| net.w1()[i * m + j] * x[i]).sum::<f64>()
                    + if a.bias {
                        net.theta[a.b1_offset() + j]
                    } else {
                        0.0
                    };
            }
            let h: Vec<f64> = hz.iter().map(|v| v.max(0.0)).collect();
            let mut oz = vec![0.0; n];
            for k in 0..n {
                oz[k] = (0..m).map(|j| net.w2()[k * m + j] * h[j]).sum::<f64>()
                    + if a.bias {
                        net.theta[a.b2_offset() + k]
                    } else {
                        0.0
                    };
            }
            pre.extend(&hz);
            pre.extend(&oz);
            // The absolute chain.
            let hbar: Vec<f64> = (0..m)
                .map(|j| {
                    (0..n).map(|i| absnet.w1()[i * m + j] * x[i]).sum::<f64>()
                        + if a.bias {
                            absnet.theta[a.b1_offset() + j]
                        } else {
                            0.0
                        }
                })
                .collect();
            let zbar: Vec<f64> = (0..n)
                .map(|k| {
                    (0..m)
                        .map(|j| absnet.w2()[k * m + j] * hbar[j])
                        .sum::<f64>()
                        + if a.bias {
                            absnet.theta[a.b2_offset() + k]
                        } else {
                            0.0
                        }
                })
                .collect();
            let dbar: Vec<f64> = (0..n)
                .map(|k| {
                    if oz[k] > 0.0 {
                        s * (zbar[k] + x[k])
                    } else {
                        0.0
                    }
                })
                .collect();
            let ubar: Vec<f64> = (0..m)
                .map(|j| {
                    if hz[j] > 0.0 {
                        (0..n).map(|k| absnet.w2()[k * m + j] * dbar[k]).sum()
                    } else {
                        0.0
                    }
                })
                .collect();
            for i in 0..n {
                for j in 0..m {
                    g[i * m + j] += x[i] * ubar[j];
                }
            }
            for k in 0..n {
                for j in 0..m {
                    g[a.w2_offset() + k * m + j] += dbar[k] * hbar[j];
                }
            }
            if a.bias {
                for j in 0..m {
                    g[a.b1_offset() + j] += ubar[j];
                }
                for k in 0..n {
                    g[a.b2_offset() + k] += dbar[k];
                }
            }
        }
        (g, pre)
    }

    /// The f32 gradient against the f64 one within the standard rounding-error
    /// bound of a chain of sums (Higham §3.1): to first order,
    /// |ĝ − g| ≤ γ_K · ḡ with ḡ the same computation in absolute values
    /// ([`abs_chain`]), γ_K = Ku/(1 − Ku), u = 2⁻²⁴, and K the total length of
    /// the chain: rounding x and θ to f32 (2), the encoder sum (n + 1), the
    /// decoder sum (m + 1), the residual (2), D W₂ (n), the sums over the
    /// batch (B) and over the chunks (B/ROWS + 1). The bound holds where the
    /// f32 and f64 ReLU masks agree, so the test keeps the images whose
    /// pre-activations are all farther than 10⁻⁴ from 0 (their f32 error is
    /// below γ_{n+m+4}·z̄ ≈ 10⁻⁵ here). A deliberately wrong f32 network (one weight
    /// off by 10⁻³; the observed error is about 400 times inside the bound) must
    /// break it.
    #[test]
    fn f32_gradient_within_rounding_bound_of_f64() {
        for (input, latent, bias, count) in [(6, 3, true, 200), (30, 20, false, 300)] {
            let (net, data) = case(input, latent, bias, count);
            // Keep the images whose pre-activations are all farther than 10⁻⁴
            // from 0 (most of them).
            let units = latent + input;
            let (_, pre) = abs_chain(&net, &data, &(0..count).collect::<Vec<_>>());
            let idx: Vec<usize> = (0..count)
                .filter(|&e| {
                    pre[e * units..(e + 1) * units]
                        .iter()
                        .all(|v| v.abs() > 1e-4)
                })
                .collect();
            assert!(
                idx.len() > count / 2,
                "{} of {count} images kept",
                idx.len()
            );
            let (gbar, _) = abs_chain(&net, &data, &idx);
            let count = idx.len();
            let x64 = SparseImages::<f64>::new(&data, input);
            let x32 = SparseImages::<f32>::new(&data, input);
            let mut g64 = vec![0.0; net.arch.n_params()];
            gradient(
                &Params::<f64>::from_f64(net.arch, &net.theta),
                &x64,
                &idx,
                &mut Vec::new(),
                &mut g64,
            );
            let k = (2 + input + 1 + latent + 1 + 2 + input + count + count / ROWS + 1) as f64;
            let u = <f32 as Real>::UNIT_ROUNDOFF;
            let gamma = k * u / (1.0 - k * u);
            let check = |p32: &Params<f32>| {
                let mut g32 = vec![0.0f32; net.arch.n_params()];
                gradient(p32, &x32, &idx, &mut Vec::new(), &mut g32);
                g32.iter()
                    .zip(&g64)
                    .zip(&gbar)
                    .map(|((a, b), bar)| {
                        (a.to_f64() - b).abs() / (gamma * bar).max(f64::MIN_POSITIVE)
                    })
                    .fold(0.0f64, f64::max)
            };
            let p32 = Params::<f32>::from_f64(net.arch, &net.theta);
            let worst = check(&p32);
            assert!(worst <= 1.0, "{input}: error / bound = {worst}");
            let mut wrong = p32.clone();
            wrong.theta[net.arch.w2_offset()] *= 1.0 + 1e-3;
            let w = check(&wrong);
            assert!(w > 1.0, "a wrong weight must break the bound");
        }
    }

    #[test]
    fn same_bits_with_any_thread_count() {
        let (net, data) = case(30, 20, true, 700);
        let x = SparseImages::<f32>::new(&data, 30);
        let p = Params::<f32>::from_f64(net.arch, &net.theta);
        let idx: Vec<usize> = (0..700).map(|i| (i * 37) % 700).collect();
        let run = |t| {
            crate::testutil::on_threads(t, || {
                let mut g = vec![0.0f32; net.arch.n_params()];
                gradient(&p, &x, &idx, &mut Vec::new(), &mut g);
                (g, mse(&p, &x).to_bits())
            })
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(4));
        // And the parallel loss is the one-thread sum.
        let rows: Vec<usize> = (0..700).collect();
        let seq = sse(&p, &x, &rows, &mut Work::new(net.arch)) / (700.0 * 30.0);
        assert_eq!(seq.to_bits(), one.1);
    }

    /// The f32 loss of each image against the per-example f64 reference
    /// (`net::Autoencoder::forward`, a second code path), at weight scales
    /// 10⁻³, 1 and 10², and with an all-zero encoder or decoder (a fully
    /// pruned layer: the loss is Σ x² exactly up to rounding x to f32).
    /// Bound (Higham §3.1, first order): each output oₖ is off by at most
    /// eₖ = γ_K (ōₖ + |xₖ|) with ō the forward pass in absolute values
    /// (ReLU is 1-Lipschitz, so no mask agreement is needed) and
    /// K = n + m + 4 (rounding x and θ, the encoder sum, the decoder sum, the
    /// difference); then |L̂ − L| ≤ Σₖ (2|dₖ| eₖ + eₖ²) + γ_n L for the f64
    /// sum of the squares, dₖ = oₖ − xₖ. A weight off by 10⁻³ must break it
    /// (at the scales where the outputs matter to the loss).
    #[test]
    fn f32_loss_within_rounding_bound_at_every_scale() {
        let (base, data) = case(40, 20, false, 300);
        let (n, m) = (40usize, 20usize);
        let count = data.len() / n;
        let rows: Vec<usize> = (0..count).collect();
        let x32 = SparseImages::<f32>::new(&data, n);
        let u = <f32 as Real>::UNIT_ROUNDOFF;
        let k = (n + m + 4) as f64;
        let gamma = k * u / (1.0 - k * u);
        let gamma_n = n as f64 * 1.2e-16;
        // Worst (error / bound) over the images for the f32 network `p32`
        // against the f64 network `net`.
        let ratio = |net: &Autoencoder, p32: &Params<f32>| -> f64 {
            let mut per = vec![0.0; count];
            row_sses(p32, &x32, &rows, &mut Work::new(net.arch), &mut per);
            let abs = Autoencoder {
                arch: net.arch,
                theta: net.theta.iter().map(|t| t.abs()).collect(),
            };
            let mut worst = 0.0f64;
            for e in 0..count {
                let x = &data[e * n..(e + 1) * n];
                let o = net.forward(x);
                let obar = abs.forward(x);
                let (mut l, mut b) = (0.0, 0.0);
                for q in 0..n {
                    let d = o[q] - x[q];
                    let ek = gamma * (obar[q] + x[q].abs());
                    l += d * d;
                    b += 2.0 * d.abs() * ek + ek * ek;
                }
                b += gamma_n * l;
                let err = (per[e] - l).abs();
                worst = worst.max(if b > 0.0 {
                    err / b
                } else if err == 0.0 {
                    0.0
                } else {
                    f64::INFINITY
                });
            }
            worst
        };
        let a = base.arch;
        for scale in [1e-3, 1.0, 1e2] {
            let mut net = base.clone();
            net.theta.iter_mut().for_each(|t| *t *= scale);
            let p32 = Params::<f32>::from_f64(a, &net.theta);
            let r = ratio(&net, &p32);
            assert!(r <= 1.0, "scale {scale}: error / bound = {r}");
            // Fully pruned encoder, then decoder.
            for layer in [
                0..a.encoder_weights(),
                a.w2_offset()..a.w2_offset() + a.encoder_weights(),
            ] {
                let mut pruned = net.clone();
                pruned.theta[layer].iter_mut().for_each(|t| *t = 0.0);
                let p = Params::<f32>::from_f64(a, &pruned.theta);
                let r = ratio(&pruned, &p);
                assert!(
                    r <= 1.0,
                    "scale {scale}, a pruned layer: error / bound = {r}"
                );
            }
            // A wrong f32 network: the largest decoder weight off by 10⁻³.
            // At scale 10⁻³ the outputs are ~10⁻⁶ of the inputs, so the loss
            // (≈ Σ x²) cannot see any weight: the check needs scale ≥ 1.
            if scale < 1.0 {
                continue;
            }
            let mut wrong = p32.clone();
            let w2 = a.w2_offset()..a.w2_offset() + a.encoder_weights();
            let q = w2
                .clone()
                .max_by(|&i, &j| wrong.theta[i].abs().total_cmp(&wrong.theta[j].abs()))
                .unwrap();
            wrong.theta[q] *= 1.0 + 1e-3;
            let r = ratio(&net, &wrong);
            assert!(
                r > 1.0,
                "scale {scale}: a wrong weight went unnoticed ({r})"
            );
        }
    }

    /// The kernels give the same bits on the baseline path, on the AVX
    /// kernels and on the widest path this CPU has (the claim of [`simd`]):
    /// the f32 gradient and losses, with and without biases, over 301 to
    /// 304 images (so that the two-image kernels also end on one, and the
    /// encoder's groups of four end on 1, 2, 3 and 0 images), at image sizes
    /// that end the 16-pixel words of the sparse loss and residual kernels
    /// with 2, 12 and 0 pixels (50, 60, 64).
    #[test]
    fn same_bits_on_every_simd_path() {
        use std::sync::atomic::Ordering::Relaxed;
        for (input, bias, count) in [
            (50, false, 301),
            (50, true, 302),
            (60, false, 303),
            (64, true, 304),
            (64, false, 301),
        ] {
            let (net, data) = case(input, 20, bias, count);
            let x = SparseImages::<f32>::new(&data, input);
            let p = Params::<f32>::from_f64(net.arch, &net.theta);
            let idx: Vec<usize> = (0..count).map(|i| (i * 7) % count).collect();
            let run = || {
                let mut g = vec![0.0f32; net.arch.n_params()];
                gradient(&p, &x, &idx, &mut Vec::new(), &mut g);
                let mut per = vec![0.0; count];
                row_sses(&p, &x, &idx, &mut Work::new(net.arch), &mut per);
                (g, per)
            };
            let wide = crate::testutil::on_threads(1, run);
            for limit in [1, 2] {
                SIMD_LIMIT.store(limit, Relaxed);
                let narrow = crate::testutil::on_threads(1, run);
                SIMD_LIMIT.store(0, Relaxed);
                assert_eq!(wide, narrow, "input {input}, bias {bias}, limit {limit}");
            }
        }
    }

    /// MNIST bytes give the images of their values b / 255 (a second code
    /// path: the f64 values built here), and a changed byte is seen.
    #[test]
    fn bytes_are_their_values() {
        let bytes: Vec<u8> = (0..30 * 40)
            .map(|k| ((k * 37) % 256) as u8 & 0xf3)
            .collect();
        let values: Vec<f64> = bytes.iter().map(|&b| b as f64 / 255.0).collect();
        let a = SparseImages::<f32>::from_pixels(Pixels::Bytes(&bytes), 30);
        let b = SparseImages::<f32>::new(&values, 30);
        assert_eq!(a.offsets, b.offsets);
        assert_eq!(a.index, b.index);
        assert_eq!(a.value, b.value);
        assert_eq!(a.masks, b.masks);
        // The masks name the same pixels as the indices (a second
        // representation of the pattern, decoded here bit by bit).
        for e in 0..a.len() {
            let (masks, values) = a.masked_row(e);
            let from_bits: Vec<u32> = (0..30u32)
                .filter(|&i| (masks[i as usize / MASK_BITS] >> (i as usize % MASK_BITS)) & 1 == 1)
                .collect();
            assert_eq!(from_bits, a.row(e).0, "image {e}");
            assert_eq!(values, a.row(e).1);
        }
        let mut other = bytes.clone();
        other[7] ^= 1;
        let c = SparseImages::<f32>::from_pixels(Pixels::Bytes(&other), 30);
        assert_ne!(c.value, b.value);
    }

    #[test]
    fn forward_matches_reference() {
        let (net, data) = case(30, 20, true, 5);
        let x = SparseImages::<f64>::new(&data, 30);
        let p = Params::<f64>::from_f64(net.arch, &net.theta);
        let f = forward(&p, &x, &[0, 1, 2, 3, 4]);
        for (e, o) in f.iter().enumerate() {
            let r = net.forward(&data[e * 30..(e + 1) * 30]);
            for (a, b) in o.iter().zip(&r) {
                assert!((a - b).abs() <= 1e-14 * (1.0 + b.abs()));
            }
        }
    }
}

//! The problem: a drift b(y, τ) and a diffusion σ(y, τ), kept apart from the
//! stepper that integrates them.
//!
//! Conventions (`docs/conventions.md`): dY = b dτ + σ dW with σσᵀ = K⁻¹; the
//! generator is bᵃ∂ₐ + ½K⁻¹ᵃᵇ∂ₐ∂_b. A potential V enters as the natural-gradient
//! drift −½K⁻¹∇V (eq. 16 with the ½ of our generator), plus the Itô divergence
//! correction ½∂_bK⁻¹ᵃᵇ when K depends on y, so that e^{−V} is stationary.

use crate::error::{Error, Field, Result, require};
use crate::linalg;
use crate::numdiff;
use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut, DVector};

/// Below this dimension a block product is done row by row: nalgebra hands
/// products to matrixmultiply only when every side exceeds 5, and row loops
/// are faster for such small factors.
const GEMM_MIN_DIM: usize = 5;

/// Up to this dimension, block products of a square d × d factor use row loops
/// monomorphised for d (fully unrolled, vectorised by the compiler): for such
/// small factors they beat a general matrix product, whose packing costs as
/// much as the arithmetic.
const ROW_KERNEL_MAX_DIM: usize = 16;

/// Calls `$call` with the const `$D` equal to the run-time `$d` (1..=16).
macro_rules! seq_macro_dims {
    ($d:expr, $D:ident, $call:expr) => {
        match $d {
            1 => {
                const $D: usize = 1;
                $call
            }
            2 => {
                const $D: usize = 2;
                $call
            }
            3 => {
                const $D: usize = 3;
                $call
            }
            4 => {
                const $D: usize = 4;
                $call
            }
            5 => {
                const $D: usize = 5;
                $call
            }
            6 => {
                const $D: usize = 6;
                $call
            }
            7 => {
                const $D: usize = 7;
                $call
            }
            8 => {
                const $D: usize = 8;
                $call
            }
            9 => {
                const $D: usize = 9;
                $call
            }
            10 => {
                const $D: usize = 10;
                $call
            }
            11 => {
                const $D: usize = 11;
                $call
            }
            12 => {
                const $D: usize = 12;
                $call
            }
            13 => {
                const $D: usize = 13;
                $call
            }
            14 => {
                const $D: usize = 14;
                $call
            }
            15 => {
                const $D: usize = 15;
                $call
            }
            _ => {
                const $D: usize = 16;
                $call
            }
        }
    };
}
use std::sync::Arc;

/// Calls the row kernel `$f::<$D…>($args…)` compiled with AVX2 (its twin
/// `$twin`, made by [`avx2_twin!`]) when this CPU has it, else as compiled for
/// the baseline: run-time dispatch, no `target-cpu=native`. The kernels use no
/// FMA, so both give the same bits.
macro_rules! with_avx2 {
    ($f:ident, $twin:ident::<$($g:ident),+>($($a:expr),*)) => {{
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { $twin::<$($g),+>($($a),*) };
            return;
        }
        $f::<$($g),+>($($a),*)
    }};
}

/// Defines `$twin`, the row kernel `$f` compiled with AVX2 enabled (`$f` is
/// `#[inline(always)]`, so it is inlined and vectorised for AVX2).
macro_rules! avx2_twin {
    ($twin:ident = $f:ident<$(const $g:ident),+>($($a:ident: $t:ty),*)) => {
        /// The row kernel of the same name without `_avx2`, compiled with AVX2.
        ///
        /// # Safety
        /// The CPU must support AVX2.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        unsafe fn $twin<$(const $g: usize),+>($($a: $t),*) {
            $f::<$($g),+>($($a),*)
        }
    };
}

/// A drift b(y, τ) in ℝᵈ.
pub trait Drift: Send + Sync {
    /// The state dimension d.
    fn dim(&self) -> usize;
    /// Writes b(y, τ) into `out` (overwriting it).
    fn eval(&self, y: &[f64], t: f64, out: &mut [f64]);
    /// Writes b(yᵢ, τ) for every row yᵢ of `ys` (n × d, row-major: a block of
    /// paths) into the same row of `out` (n × d). The default calls
    /// [`Drift::eval`] row by row; drifts with structure override it (a linear
    /// drift is one matrix product for the whole block).
    fn eval_block(&self, ys: &[f64], t: f64, out: &mut [f64]) {
        let d = self.dim();
        for (y, o) in ys.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            self.eval(y, t, o);
        }
    }
    /// The matrix B and centre m when the drift is linear, b(y) = −B(y − m),
    /// constant in τ; `None` otherwise. The exact Gaussian stepper needs it.
    fn linear(&self) -> Option<(DMatrix<f64>, DVector<f64>)> {
        None
    }
}

/// b = 0.
#[derive(Debug, Clone)]
pub struct ZeroDrift {
    dim: usize,
}

impl ZeroDrift {
    /// The zero drift in dimension `dim`.
    pub fn new(dim: usize) -> Self {
        ZeroDrift { dim }
    }
}

impl Drift for ZeroDrift {
    fn dim(&self) -> usize {
        self.dim
    }
    fn eval(&self, _y: &[f64], _t: f64, out: &mut [f64]) {
        out.fill(0.0);
    }
    fn eval_block(&self, _ys: &[f64], _t: f64, out: &mut [f64]) {
        out.fill(0.0);
    }
    fn linear(&self) -> Option<(DMatrix<f64>, DVector<f64>)> {
        Some((DMatrix::zeros(self.dim, self.dim), DVector::zeros(self.dim)))
    }
}

/// b = γ̇, a constant velocity: the mean follows the straight path
/// γ_τ = γ₀ + τγ̇ (eq. 18 with drift +γ̇, `docs/conventions.md`).
#[derive(Debug, Clone)]
pub struct ConstantDrift {
    velocity: Vec<f64>,
}

impl ConstantDrift {
    /// The drift γ̇ = `velocity`.
    pub fn new(velocity: Vec<f64>) -> Self {
        ConstantDrift { velocity }
    }
    /// The velocity γ̇.
    pub fn velocity(&self) -> &[f64] {
        &self.velocity
    }
}

impl Drift for ConstantDrift {
    fn dim(&self) -> usize {
        self.velocity.len()
    }
    fn eval(&self, _y: &[f64], _t: f64, out: &mut [f64]) {
        out.copy_from_slice(&self.velocity);
    }
    fn eval_block(&self, _ys: &[f64], _t: f64, out: &mut [f64]) {
        for o in out.chunks_exact_mut(self.velocity.len()) {
            o.copy_from_slice(&self.velocity);
        }
    }
}

/// The linear (Ornstein–Uhlenbeck) drift b(y) = −B(y − m).
///
/// With a quadratic potential V = ½(y − m)ᵀP(y − m) and constant K, the
/// natural-gradient drift −½K⁻¹∇V is of this form with B = ½K⁻¹P.
#[derive(Debug, Clone)]
pub struct LinearDrift {
    b: DMatrix<f64>,
    m: DVector<f64>,
    /// Bm, for the block form b(Y) = 1(Bm)ᵀ − YBᵀ.
    bm: DVector<f64>,
}

impl LinearDrift {
    /// b(y) = −B(y − m); fails when B is not square or m has the wrong length.
    pub fn new(b: DMatrix<f64>, m: DVector<f64>) -> Result<Self> {
        if !b.is_square() || b.nrows() != m.len() {
            return Err(Error::Shape {
                what: "the linear drift's B".into(),
                got: format!("{}×{}", b.nrows(), b.ncols()),
                expected: format!("{0}×{0} (the centre m has {0} entries)", m.len()),
            });
        }
        linalg::require_finite(&b, "B")?;
        require::all_finite("m", m.as_slice())?;
        let bm = &b * &m;
        Ok(LinearDrift { b, m, bm })
    }

    /// The drift −½K⁻¹P(y − m) of the quadratic potential V = ½(y − m)ᵀP(y − m)
    /// under a constant K⁻¹.
    pub fn quadratic_potential(
        k_inv: &DMatrix<f64>,
        p: &DMatrix<f64>,
        m: DVector<f64>,
    ) -> Result<Self> {
        if k_inv.shape() != p.shape() {
            return Err(Error::Shape {
                what: "the quadratic potential's P".into(),
                got: format!("{}×{}", p.nrows(), p.ncols()),
                expected: format!("{}×{} (the shape of K⁻¹)", k_inv.nrows(), k_inv.ncols()),
            });
        }
        LinearDrift::new(k_inv * p * 0.5, m)
    }
}

impl Drift for LinearDrift {
    fn dim(&self) -> usize {
        self.m.len()
    }
    fn eval(&self, y: &[f64], _t: f64, out: &mut [f64]) {
        // out = −Σⱼ B[:, j](yⱼ − mⱼ): column axpys (no reduction chains; vectorises).
        let d = self.m.len();
        let b = self.b.as_slice();
        out.fill(0.0);
        for j in 0..d {
            let r = self.m[j] - y[j];
            let col = &b[j * d..(j + 1) * d];
            for (o, c) in out.iter_mut().zip(col) {
                *o += c * r;
            }
        }
    }
    fn eval_block(&self, ys: &[f64], _t: f64, out: &mut [f64]) {
        let d = self.m.len();
        if d <= ROW_KERNEL_MAX_DIM {
            // Row loops unrolled for the dimension (no per-row calls, no packing).
            let (b, bm) = (self.b.as_slice(), self.bm.as_slice());
            seq_macro_dims!(d, D, {
                with_avx2!(linear_rows, linear_rows_avx2::<D>(b, bm, ys, out))
            });
            return;
        }
        // Column-major views of the row-major blocks: Yᵀ and outᵀ are d × n.
        // outᵀ = Bm·1ᵀ − B·Yᵀ, one matrix product (matrixmultiply through
        // nalgebra, with run-time CPU-feature dispatch).
        let n = ys.len() / d;
        let y = DMatrixView::from_slice(ys, d, n);
        let mut o = DMatrixViewMut::from_slice(out, d, n);
        for mut col in o.column_iter_mut() {
            col.copy_from(&self.bm);
        }
        o.gemm(-1.0, &self.b, &y, 1.0);
    }
    fn linear(&self) -> Option<(DMatrix<f64>, DVector<f64>)> {
        Some((self.b.clone(), self.m.clone()))
    }
}

/// outᵢ = Bm − B yᵢ for each row of a block, B (D × D) column-major.
#[inline(always)]
fn linear_rows<const D: usize>(b: &[f64], bm: &[f64], ys: &[f64], out: &mut [f64]) {
    let (b, bm) = (&b[..D * D], &bm[..D]);
    for (y, o) in ys.chunks_exact(D).zip(out.chunks_exact_mut(D)) {
        let mut acc = [0.0; D];
        acc.copy_from_slice(bm);
        for j in 0..D {
            let yj = y[j];
            for a in 0..D {
                acc[a] -= b[j * D + a] * yj;
            }
        }
        o.copy_from_slice(&acc);
    }
}

avx2_twin!(linear_rows_avx2 = linear_rows<const D>(b: &[f64], bm: &[f64], ys: &[f64], out: &mut [f64]));

/// A drift given by a closure `f(y, τ, out)`.
pub struct FnDrift<F> {
    dim: usize,
    f: F,
}

impl<F: Fn(&[f64], f64, &mut [f64]) + Send + Sync> FnDrift<F> {
    /// The drift `f` in dimension `dim`.
    pub fn new(dim: usize, f: F) -> Self {
        FnDrift { dim, f }
    }
}

impl<F: Fn(&[f64], f64, &mut [f64]) + Send + Sync> Drift for FnDrift<F> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn eval(&self, y: &[f64], t: f64, out: &mut [f64]) {
        (self.f)(y, t, out)
    }
}

type GradFn = dyn Fn(&[f64], &mut [f64]) + Send + Sync;
type MatFn = dyn Fn(&[f64], &mut DMatrix<f64>) + Send + Sync;

/// The natural-gradient drift of a potential V under a state-dependent metric K(y):
///
///   bᵃ(y) = −½ K⁻¹ᵃᵇ(y) ∂_bV(y) + ½ ∂_b K⁻¹ᵃᵇ(y).
///
/// The second (Itô divergence) term makes e^{−V} the stationary law of
/// dY = b dτ + σ dW with σσᵀ = K⁻¹(y); without it the stationary law is
/// ∝ e^{−V}/det-like factors of K⁻¹ (for d = 1, e^{−V}/K⁻¹). The divergence is
/// taken by central differences (`numdiff`) unless K is constant.
pub struct NaturalGradientDrift {
    dim: usize,
    grad_v: Arc<GradFn>,
    k_inv: Arc<MatFn>,
    constant_k: bool,
    correction: bool,
}

impl NaturalGradientDrift {
    /// The drift for ∇V = `grad_v(y, out)` and K⁻¹(y) = `k_inv(y, out)`, with the
    /// divergence correction.
    pub fn new(
        dim: usize,
        grad_v: impl Fn(&[f64], &mut [f64]) + Send + Sync + 'static,
        k_inv: impl Fn(&[f64], &mut DMatrix<f64>) + Send + Sync + 'static,
    ) -> Self {
        NaturalGradientDrift {
            dim,
            grad_v: Arc::new(grad_v),
            k_inv: Arc::new(k_inv),
            constant_k: false,
            correction: true,
        }
    }

    /// The drift −½K⁻¹∇V for a constant K⁻¹ (no correction needed).
    pub fn constant(
        grad_v: impl Fn(&[f64], &mut [f64]) + Send + Sync + 'static,
        k_inv: DMatrix<f64>,
    ) -> Self {
        let dim = k_inv.nrows();
        let mut d = NaturalGradientDrift::new(dim, grad_v, move |_, out| out.copy_from(&k_inv));
        d.constant_k = true;
        d
    }

    /// Switches the divergence correction ½∂_bK⁻¹ᵃᵇ on or off. Off is wrong when
    /// K depends on y; it exists so that a test can show the difference.
    pub fn with_correction(mut self, on: bool) -> Self {
        self.correction = on;
        self
    }

    /// ∂_b K⁻¹ᵃᵇ(y) by central differences, written into `out`.
    pub fn divergence(&self, y: &[f64], out: &mut [f64]) {
        let d = self.dim;
        out.fill(0.0);
        let mut yp = y.to_vec();
        let mut kp = DMatrix::zeros(d, d);
        let mut km = DMatrix::zeros(d, d);
        for b in 0..d {
            let h = numdiff::step1(y[b]);
            yp[b] = y[b] + h;
            (self.k_inv)(&yp, &mut kp);
            yp[b] = y[b] - h;
            (self.k_inv)(&yp, &mut km);
            yp[b] = y[b];
            for a in 0..d {
                out[a] += (kp[(a, b)] - km[(a, b)]) / (2.0 * h);
            }
        }
    }
}

impl Drift for NaturalGradientDrift {
    fn dim(&self) -> usize {
        self.dim
    }
    fn eval(&self, y: &[f64], _t: f64, out: &mut [f64]) {
        let d = self.dim;
        let mut g = vec![0.0; d];
        (self.grad_v)(y, &mut g);
        let mut k = DMatrix::zeros(d, d);
        (self.k_inv)(y, &mut k);
        for a in 0..d {
            let mut s = 0.0;
            for b in 0..d {
                s += k[(a, b)] * g[b];
            }
            out[a] = -0.5 * s;
        }
        if self.correction && !self.constant_k {
            let mut div = vec![0.0; d];
            self.divergence(y, &mut div);
            for a in 0..d {
                out[a] += 0.5 * div[a];
            }
        }
    }
}

/// A constant diffusion σ = θ (d × m), with θθᵀ = K⁻¹.
///
/// Built from K⁻¹ (θ its lower Cholesky factor), from K (θ = L⁻ᵀ with K = LLᵀ,
/// found by a triangular solve, never by inverting K) or from θ itself.
#[derive(Debug, Clone)]
pub struct AdditiveNoise {
    d: usize,
    m: usize,
    /// θ column-major.
    theta: Vec<f64>,
    /// Per column, the row range holding non-zeros (triangular factors skip zeros).
    span: Vec<(usize, usize)>,
    k_inv: DMatrix<f64>,
}

impl AdditiveNoise {
    /// θ = the lower Cholesky factor of K⁻¹; fails when K⁻¹ is not symmetric
    /// positive definite.
    pub fn from_k_inv(k_inv: &DMatrix<f64>) -> Result<Self> {
        check_symmetric(k_inv, "K⁻¹ (diffusion covariance)")?;
        let c = linalg::cholesky(k_inv, "K⁻¹ (diffusion covariance)")?;
        Ok(Self::from_factor_unchecked(c.l()))
    }

    /// θ = L⁻ᵀ where K = LLᵀ (so θθᵀ = K⁻¹), by a triangular solve; fails when K is
    /// not symmetric positive definite.
    pub fn from_k(k: &DMatrix<f64>) -> Result<Self> {
        check_symmetric(k, "K (diffusion precision)")?;
        let c = linalg::cholesky(k, "K (diffusion precision)")?;
        let lt = c.l().transpose();
        let theta = lt
            .solve_upper_triangular(&DMatrix::identity(k.nrows(), k.nrows()))
            .ok_or_else(|| Error::NotPositiveDefinite {
                what: "K (diffusion precision)".into(),
            })?;
        Ok(Self::from_factor_unchecked(theta))
    }

    /// θ given directly (d × m, any shape); K⁻¹ = θθᵀ.
    pub fn from_factor(theta: DMatrix<f64>) -> Result<Self> {
        linalg::require_finite(&theta, "diffusion factor θ")?;
        Ok(Self::from_factor_unchecked(theta))
    }

    fn from_factor_unchecked(theta: DMatrix<f64>) -> Self {
        let (d, m) = theta.shape();
        let span = (0..m)
            .map(|j| {
                let lo = (0..d).find(|&i| theta[(i, j)] != 0.0).unwrap_or(0);
                let hi = (0..d)
                    .rev()
                    .find(|&i| theta[(i, j)] != 0.0)
                    .map_or(0, |i| i + 1);
                (lo, hi.max(lo))
            })
            .collect();
        let k_inv = &theta * theta.transpose();
        AdditiveNoise {
            d,
            m,
            theta: theta.as_slice().to_vec(),
            span,
            k_inv,
        }
    }

    /// The state dimension d.
    pub fn dim(&self) -> usize {
        self.d
    }
    /// The noise dimension m.
    pub fn noise_dim(&self) -> usize {
        self.m
    }
    /// K⁻¹ = θθᵀ.
    pub fn k_inv(&self) -> &DMatrix<f64> {
        &self.k_inv
    }
    /// θ as a matrix.
    pub fn factor(&self) -> DMatrix<f64> {
        DMatrix::from_column_slice(self.d, self.m, &self.theta)
    }
    /// `out += s·θ·w`.
    #[inline]
    pub fn apply_add(&self, w: &[f64], s: f64, out: &mut [f64]) {
        // Column axpys over the non-zero rows of each column (vectorises).
        for j in 0..self.m {
            let (lo, hi) = self.span[j];
            let c = s * w[j];
            let col = &self.theta[j * self.d + lo..j * self.d + hi];
            for (o, t) in out[lo..hi].iter_mut().zip(col) {
                *o += t * c;
            }
        }
    }
}

impl AdditiveNoise {
    /// `out += s·W·θᵀ` for a block of paths: row i of `out` (n × d, row-major)
    /// gets s·θ·wᵢ, wᵢ the row i of `w` (n × m, row-major). One matrix product
    /// when d and m exceed 5, row-wise [`AdditiveNoise::apply_add`] otherwise.
    pub fn apply_add_block(&self, w: &[f64], s: f64, out: &mut [f64]) {
        let (d, m) = (self.d, self.m);
        if d == m && d <= ROW_KERNEL_MAX_DIM {
            // Row loops unrolled for the dimension (no per-row calls, no packing).
            let th = &self.theta[..d * m];
            seq_macro_dims!(d, D, {
                with_avx2!(noise_rows, noise_rows_avx2::<D, D>(th, w, s, out))
            });
            return;
        }
        if d <= GEMM_MIN_DIM || m <= GEMM_MIN_DIM {
            for (wi, oi) in w.chunks_exact(m).zip(out.chunks_exact_mut(d)) {
                self.apply_add(wi, s, oi);
            }
            return;
        }
        let n = w.len() / m;
        let wt = DMatrixView::from_slice(w, m, n);
        let theta = DMatrixView::from_slice(&self.theta, d, m);
        let mut o = DMatrixViewMut::from_slice(out, d, n);
        o.gemm(s, &theta, &wt, 1.0);
    }
}

/// One Euler–Maruyama step of a linear drift b(y) = −B(y − m) with additive
/// noise θ, for a block of paths, fused into one product per step:
///
///   Y ← [Y | ΔW] · [A; θᵀ] + 1cᵀ,  A = I − hBᵀ,  c = h·Bm
///
/// (Y: n × d states, ΔW: n × d increments, both row-major), instead of a drift
/// product, an axpy by h and a noise product. Built once per step size h and
/// drift (the ensemble caches it per chunk); for square noise (m = d) up to
/// d = 16, where the block products are unrolled row loops.
#[derive(Debug, Clone)]
pub struct FusedLinearStep {
    d: usize,
    /// A = I − hBᵀ in the layout of B's column-major slice: a[j·d + i] = δᵢⱼ − h·Bᵢⱼ.
    a: Vec<f64>,
    /// c = h·Bm.
    c: Vec<f64>,
}

impl FusedLinearStep {
    /// The fused step of `drift` with step `h` when the drift is linear
    /// ([`Drift::linear`]) and `noise` is square of dimension d ≤ 16; `None`
    /// otherwise (the caller steps drift and noise apart).
    pub fn new(drift: &dyn Drift, noise: &AdditiveNoise, h: f64) -> Option<Self> {
        let d = drift.dim();
        if noise.dim() != d || noise.noise_dim() != d || d > ROW_KERNEL_MAX_DIM {
            return None;
        }
        let (b, m) = drift.linear()?;
        let bm = &b * &m;
        let a = b
            .as_slice()
            .iter()
            .enumerate()
            .map(|(k, bij)| f64::from(u8::from(k / d == k % d)) - h * bij)
            .collect();
        Some(FusedLinearStep {
            d,
            a,
            c: bm.iter().map(|v| h * v).collect(),
        })
    }

    /// Advances the block `ys` (n × d) by one step with increments `dw` (n × d)
    /// and the noise factor θ of `noise` (the one given to [`FusedLinearStep::new`]).
    pub fn apply(&self, noise: &AdditiveNoise, dw: &[f64], ys: &mut [f64]) {
        let (a, c, th) = (&self.a[..], &self.c[..], &noise.theta[..]);
        seq_macro_dims!(self.d, D, {
            with_avx2!(fused_rows, fused_rows_avx2::<D>(a, c, th, dw, ys))
        });
    }
}

/// yᵢ ← yᵢ·A + wᵢ·θᵀ + c for each row of a block (A, θ: D × D as described at
/// [`FusedLinearStep`]).
#[inline(always)]
fn fused_rows<const D: usize>(a: &[f64], c: &[f64], th: &[f64], w: &[f64], ys: &mut [f64]) {
    let (a, c, th) = (&a[..D * D], &c[..D], &th[..D * D]);
    for (y, wi) in ys.chunks_exact_mut(D).zip(w.chunks_exact(D)) {
        let mut acc = [0.0; D];
        acc.copy_from_slice(c);
        for j in 0..D {
            let (yj, wj) = (y[j], wi[j]);
            for i in 0..D {
                acc[i] += a[j * D + i] * yj + th[j * D + i] * wj;
            }
        }
        y.copy_from_slice(&acc);
    }
}

avx2_twin!(fused_rows_avx2 = fused_rows<const D>(a: &[f64], c: &[f64], th: &[f64], w: &[f64], ys: &mut [f64]));

/// outᵢ += s·θ·wᵢ for each row of a block, θ (D × M) column-major.
#[inline(always)]
fn noise_rows<const D: usize, const M: usize>(th: &[f64], w: &[f64], s: f64, out: &mut [f64]) {
    let th = &th[..D * M];
    for (wi, oi) in w.chunks_exact(M).zip(out.chunks_exact_mut(D)) {
        let mut acc = [0.0; D];
        acc.copy_from_slice(oi);
        for j in 0..M {
            let c = s * wi[j];
            for a in 0..D {
                acc[a] += th[j * D + a] * c;
            }
        }
        oi.copy_from_slice(&acc);
    }
}

avx2_twin!(noise_rows_avx2 = noise_rows<const D, const M>(th: &[f64], w: &[f64], s: f64, out: &mut [f64]));

fn check_symmetric(a: &DMatrix<f64>, what: &str) -> Result<()> {
    if a.is_square() && linalg::asymmetry(a) > 1e-10 {
        return Err(Error::NotSymmetric { what: what.into() });
    }
    Ok(())
}

/// A diagonal, state-dependent diffusion: dYᵢ = … + σᵢ(y, τ) dWᵢ (m = d).
pub trait DiagonalNoise: Send + Sync {
    /// The dimension d (= m).
    fn dim(&self) -> usize;
    /// σᵢ(y, τ) into `out`.
    fn sigma(&self, y: &[f64], t: f64, out: &mut [f64]);
    /// ∂σᵢ/∂yᵢ (y, τ) into `out`, for Milstein. Default: central differences
    /// ([`central_dsigma`]).
    fn dsigma(&self, y: &[f64], t: f64, out: &mut [f64]) {
        central_dsigma(self, y, t, out);
    }
}

/// ∂σᵢ/∂yᵢ (y, τ) of a diagonal noise by central differences of its σ, with
/// the step of [`numdiff::step1`] in each coordinate (the default of
/// [`DiagonalNoise::dsigma`]).
pub fn central_dsigma<N: DiagonalNoise + ?Sized>(noise: &N, y: &[f64], t: f64, out: &mut [f64]) {
    let d = noise.dim();
    let mut yp = y.to_vec();
    let mut sp = vec![0.0; d];
    let mut sm = vec![0.0; d];
    for i in 0..d {
        let h = numdiff::step1(y[i]);
        yp[i] = y[i] + h;
        noise.sigma(&yp, t, &mut sp);
        yp[i] = y[i] - h;
        noise.sigma(&yp, t, &mut sm);
        yp[i] = y[i];
        out[i] = (sp[i] - sm[i]) / (2.0 * h);
    }
}

/// A general state-dependent diffusion matrix σ(y, τ), d × m.
pub trait GeneralNoise: Send + Sync {
    /// The state dimension d.
    fn dim(&self) -> usize;
    /// The noise dimension m.
    fn noise_dim(&self) -> usize;
    /// σ(y, τ) row-major (d × m) into `out`.
    fn matrix(&self, y: &[f64], t: f64, out: &mut [f64]);
}

/// A diagonal noise given by closures σ(y, τ) and, optionally, ∂ᵢσᵢ.
pub struct FnDiagonalNoise<F> {
    dim: usize,
    f: F,
}

impl<F: Fn(&[f64], f64, &mut [f64]) + Send + Sync> FnDiagonalNoise<F> {
    /// σ = `f` in dimension `dim` (derivative by central differences).
    pub fn new(dim: usize, f: F) -> Self {
        FnDiagonalNoise { dim, f }
    }
}

impl<F: Fn(&[f64], f64, &mut [f64]) + Send + Sync> DiagonalNoise for FnDiagonalNoise<F> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn sigma(&self, y: &[f64], t: f64, out: &mut [f64]) {
        (self.f)(y, t, out)
    }
}

/// A general noise given by a closure writing σ(y, τ) row-major.
pub struct FnGeneralNoise<F> {
    dim: usize,
    noise_dim: usize,
    f: F,
}

impl<F: Fn(&[f64], f64, &mut [f64]) + Send + Sync> FnGeneralNoise<F> {
    /// σ = `f` (d × m, row-major).
    pub fn new(dim: usize, noise_dim: usize, f: F) -> Self {
        FnGeneralNoise { dim, noise_dim, f }
    }
}

impl<F: Fn(&[f64], f64, &mut [f64]) + Send + Sync> GeneralNoise for FnGeneralNoise<F> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn noise_dim(&self) -> usize {
        self.noise_dim
    }
    fn matrix(&self, y: &[f64], t: f64, out: &mut [f64]) {
        (self.f)(y, t, out)
    }
}

/// The diffusion term σ(y, τ).
#[derive(Clone)]
pub enum Diffusion {
    /// Constant σ = θ, θθᵀ = K⁻¹.
    Additive(AdditiveNoise),
    /// Diagonal, state-dependent.
    Diagonal(Arc<dyn DiagonalNoise>),
    /// General, state-dependent.
    General(Arc<dyn GeneralNoise>),
}

impl Diffusion {
    /// The state dimension d.
    pub fn dim(&self) -> usize {
        match self {
            Diffusion::Additive(a) => a.dim(),
            Diffusion::Diagonal(g) => g.dim(),
            Diffusion::General(g) => g.dim(),
        }
    }
    /// The noise dimension m (number of Brownian motions).
    pub fn noise_dim(&self) -> usize {
        match self {
            Diffusion::Additive(a) => a.noise_dim(),
            Diffusion::Diagonal(g) => g.dim(),
            Diffusion::General(g) => g.noise_dim(),
        }
    }
    /// Which kind of noise this is.
    pub fn kind(&self) -> crate::sde::NoiseKind {
        match self {
            Diffusion::Additive(_) => crate::sde::NoiseKind::Additive,
            Diffusion::Diagonal(_) => crate::sde::NoiseKind::Diagonal,
            Diffusion::General(_) => crate::sde::NoiseKind::General,
        }
    }
    /// `out += σ(y, τ)·w`; `scratch` must hold at least d·m entries.
    pub fn apply_add(&self, y: &[f64], t: f64, w: &[f64], out: &mut [f64], scratch: &mut [f64]) {
        match self {
            Diffusion::Additive(a) => a.apply_add(w, 1.0, out),
            Diffusion::Diagonal(g) => {
                let d = g.dim();
                g.sigma(y, t, &mut scratch[..d]);
                for i in 0..d {
                    out[i] += scratch[i] * w[i];
                }
            }
            Diffusion::General(g) => {
                let (d, m) = (g.dim(), g.noise_dim());
                g.matrix(y, t, &mut scratch[..d * m]);
                for i in 0..d {
                    let row = &scratch[i * m..(i + 1) * m];
                    out[i] += row.iter().zip(w).map(|(a, b)| a * b).sum::<f64>();
                }
            }
        }
    }
}

/// An SDE problem: drift and diffusion of matching dimensions.
#[derive(Clone)]
pub struct Problem {
    /// The drift b(y, τ).
    pub drift: Arc<dyn Drift>,
    /// The diffusion σ(y, τ).
    pub diffusion: Diffusion,
}

impl Problem {
    /// Bundles a drift and a diffusion; fails when their dimensions differ.
    pub fn new(drift: Arc<dyn Drift>, diffusion: Diffusion) -> Result<Self> {
        if drift.dim() != diffusion.dim() {
            return Err(Error::Dimension {
                field: Field::key("diffusion"),
                expected: format!("{}, the dimension of the drift", drift.dim()),
                got: diffusion.dim(),
            });
        }
        if drift.dim() == 0 {
            return Err(Error::domain(
                "dimension",
                0,
                "must be at least 1: the SDE has no state",
            ));
        }
        Ok(Problem { drift, diffusion })
    }
    /// The state dimension d.
    pub fn dim(&self) -> usize {
        self.drift.dim()
    }
    /// The noise dimension m.
    pub fn noise_dim(&self) -> usize {
        self.diffusion.noise_dim()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn factor_from_k_matches_k_inv() {
        // θθᵀ must equal K⁻¹ whichever way it is given.
        let k = DMatrix::from_row_slice(3, 3, &[4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0]);
        let a = AdditiveNoise::from_k(&k).unwrap();
        assert_relative_eq!(a.k_inv() * &k, DMatrix::identity(3, 3), epsilon = 1e-12);
        let b = AdditiveNoise::from_k_inv(a.k_inv()).unwrap();
        assert_relative_eq!(b.k_inv(), a.k_inv(), epsilon = 1e-12);
        // apply_add is θ·w.
        let w = [0.3, -1.2, 0.7];
        let mut out = vec![0.0; 3];
        a.apply_add(&w, 1.0, &mut out);
        let want = a.factor() * DVector::from_row_slice(&w);
        assert_relative_eq!(DVector::from_vec(out), want, epsilon = 1e-14);
    }

    #[test]
    fn not_positive_definite_is_an_error() {
        let k = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
        assert!(AdditiveNoise::from_k(&k).is_err());
        assert!(AdditiveNoise::from_k_inv(&k).is_err());
        let asym = DMatrix::from_row_slice(2, 2, &[1.0, 0.1, 0.0, 1.0]);
        assert!(AdditiveNoise::from_k_inv(&asym).is_err());
    }

    #[test]
    fn mismatched_dimensions_are_an_error() {
        let n = AdditiveNoise::from_k_inv(&DMatrix::identity(2, 2)).unwrap();
        let r = Problem::new(Arc::new(ZeroDrift::new(3)), Diffusion::Additive(n));
        assert!(r.is_err());
    }

    #[test]
    fn natural_gradient_divergence_matches_closed_form() {
        // K⁻¹(y) = diag(1 + y₀², e^{y₁}): ∂_b K⁻¹ᵃᵇ = (2y₀, e^{y₁}).
        let d = NaturalGradientDrift::new(
            2,
            |_, g| g.fill(0.0),
            |y, k| {
                k.fill(0.0);
                k[(0, 0)] = 1.0 + y[0] * y[0];
                k[(1, 1)] = y[1].exp();
            },
        );
        let y = [0.7, -0.4];
        let mut out = [0.0; 2];
        d.eval(&y, 0.0, &mut out);
        assert_relative_eq!(out[0], 0.5 * 2.0 * 0.7, epsilon = 1e-8);
        assert_relative_eq!(out[1], 0.5 * (-0.4f64).exp(), epsilon = 1e-8);
    }
}

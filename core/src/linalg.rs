//! Small linear-algebra helpers on `nalgebra` matrices: symmetry, Cholesky with
//! a named error, the symmetric spectrum (stiff and sloppy directions) with an
//! error bound per eigenvalue, and pseudo-inverses of semi-definite metrics.
//!
//! # How spectra are computed, and how many digits they carry
//!
//! A Fisher metric is often graded: its entries span many decades (gamma at
//! shape 10⁶ has I = [[ψ′(α), −1/β], [−1/β, α/β²]] with diagonal 10⁻⁶ and 10⁶).
//! A normwise-stable eigensolver (Householder tridiagonalisation + QR, what
//! `nalgebra::SymmetricEigen` does) guarantees only |λ̂ₖ − λₖ| ≲ c·u·‖I‖₂, so an
//! eigenvalue below u·‖I‖ ≈ 10⁻¹⁰ there carries no digit at all. Two routes keep
//! relative accuracy where the matrix structure allows it:
//!
//! * [`Spectrum::of`], for a symmetric matrix H: the two-sided cyclic Jacobi
//!   method with the *relative* stopping criterion |h_pq| ≤ ε·√(h_pp h_qq).
//!   For positive (semi-)definite H = DAD, D = diag(√H_ii), Demmel & Veselić
//!   ("Jacobi's method is more accurate than QR", SIAM J. Matrix Anal. Appl.
//!   13 (1992) 1204–1245, Thms 2.3 and 4.x) show that its rounding errors are
//!   graded perturbations |δH_ij| ≤ c·u·√(H_ii H_jj) — the same as first
//!   balancing H to A = D⁻¹HD⁻¹ (unit diagonal), which the method does
//!   implicitly: its rotations are invariant under that scaling. We chose it
//!   over "scale, Cholesky, one-sided Jacobi" because it needs no rank decision
//!   before decomposing (semi-definite and indefinite matrices go through the
//!   same code) while keeping the same relative accuracy.
//! * [`Spectrum::of_factor`], for I = XᵀX given the factor X (for a forward-map
//!   model X = Σ^{-1/2}J, eqs. 40–42): the one-sided (Hestenes) Jacobi SVD of X,
//!   λₖ = σₖ². Forming XᵀX squares the condition of the columns; the SVD does
//!   not (Demmel & Veselić §4: relative error of σₖ ≲ c·u·κ(B), X = B·diag(‖xⱼ‖)).
//!
//! # Error bounds (first order, a priori)
//! With u = 2⁻⁵³ and c = 4·n (n the dimension; 4·max(m, n) for an m×n factor),
//! the bound stored in [`Spectrum::errors`] is, for eigenvector vₖ:
//!
//! * Jacobi on a positive semi-definite H: |δλₖ| ≤ c·u·(Σᵢ|vᵢₖ|√H_ii)², the
//!   first-order effect vₖᵀδH vₖ of a graded perturbation |δH_ij| ≤ c·u·√(H_ii H_jj)
//!   (rounding of the input entries and of the method). For H = DAD positive
//!   definite this is ≤ c·u·λₖ·n/λ_min(A): relative accuracy limited by the
//!   condition of the *balanced* matrix, not by λ_max/λₖ.
//! * Factor SVD: |δσₖ| ≤ c·u·Σⱼ|vⱼₖ|·‖xⱼ‖ (a column-wise relative perturbation of
//!   X), and |δλₖ| ≤ 2σₖ|δσₖ| + |δσₖ|².
//! * Normwise (QR eigensolver; Jacobi on an indefinite matrix, where the graded
//!   bound does not hold): |δλₖ| ≤ c·u·max|λ|, as in the LAPACK Users' Guide
//!   §4.7 ("EERRBD = EPSMCH·ANORM") with the growth factor made explicit.
//!
//! The growth factor c is the modest polynomial LAPACK recommends in place of
//! the worst case; the tests check the bounds against mpmath at 40 digits
//! (tests/oracles/). [`Spectrum::digits`] turns each bound into a count of
//! correct significant digits, −log₁₀(errₖ/|λₖ|).
//!
//! # Rank and null directions
//! An eigenvalue is *null* when |λₖ| ≤ errₖ: it cannot be told from 0 at the
//! precision of the method. The rank is the number of eigenvalues with
//! λₖ > errₖ; an eigenvalue with λₖ < −errₖ makes the matrix indefinite (not a
//! metric). This is the rank tolerance of [`Spectrum::rank`] and of
//! [`psd_pseudo_inverse`]: a per-eigenvalue version of NumPy's
//! `rcond = max(m, n)·ε·σ_max`, which it equals for an unstructured matrix but
//! improves on for a graded one (diag(10²⁰, 1) has rank 2, not 1).

use crate::error::{Error, Field, Result};
use nalgebra::{Cholesky, DMatrix, DVector, Dyn};
use serde::Serialize;

/// The unit roundoff u = 2⁻⁵³ of `f64`.
pub const UNIT_ROUNDOFF: f64 = f64::EPSILON / 2.0;

/// Above this dimension a non-diagonal matrix (or factor) goes to the O(n³)
/// QR eigensolver instead of Jacobi (whose sweeps cost a few times more), with
/// the normwise bound.
pub const JACOBI_MAX_DIM: usize = 512;

/// Jacobi sweeps before giving up (it converges quadratically; a few to a
/// dozen sweeps are typical).
const MAX_SWEEPS: usize = 60;

/// The largest |Aᵢⱼ − Aⱼᵢ| relative to the largest |Aᵢⱼ| (0 for a zero matrix).
pub fn asymmetry(a: &DMatrix<f64>) -> f64 {
    let scale = a.amax();
    if scale == 0.0 {
        return 0.0;
    }
    (a - a.transpose()).amax() / scale
}

/// The Cholesky factor of a symmetric positive-definite matrix; the error names
/// the matrix (`what`) when it is not positive definite.
pub fn cholesky(a: &DMatrix<f64>, what: &str) -> Result<Cholesky<f64, Dyn>> {
    check_square_finite(a, what)?;
    a.clone()
        .cholesky()
        .ok_or_else(|| Error::NotPositiveDefinite {
            what: what.to_string(),
        })
}

fn check_square_finite(a: &DMatrix<f64>, what: &str) -> Result<()> {
    if !a.is_square() {
        return Err(Error::Shape {
            what: what.to_string(),
            got: format!("{}×{}", a.nrows(), a.ncols()),
            expected: "square".into(),
        });
    }
    require_finite(a, what)
}

/// Every entry of the matrix `a` is finite, else [`Error::NotFinite`] naming
/// the first entry that is not as `what[i][j]` (row-major order).
pub fn require_finite(a: &DMatrix<f64>, what: &str) -> Result<()> {
    for i in 0..a.nrows() {
        for j in 0..a.ncols() {
            let v = a[(i, j)];
            if !v.is_finite() {
                return Err(Error::NotFinite {
                    field: Field::from(what).at(i).at(j),
                    value: v,
                });
            }
        }
    }
    Ok(())
}

/// How a [`Spectrum`] was computed, and so which error bound it carries (see
/// the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpectrumMethod {
    /// Two-sided cyclic Jacobi with the relative stopping criterion on a
    /// positive semi-definite matrix: graded (relative) bound.
    Jacobi,
    /// Two-sided Jacobi on an indefinite matrix: normwise bound.
    JacobiIndefinite,
    /// One-sided (Hestenes) Jacobi SVD of a factor X, I = XᵀX, λ = σ².
    FactorSvd,
    /// Householder + QR (`nalgebra::SymmetricEigen`): normwise bound.
    SymmetricQr,
    /// Golub–Kahan SVD of a factor (`nalgebra::SVD`): normwise bound on σ.
    FactorQrSvd,
    /// The input had a non-finite entry: no spectrum.
    NonFinite,
}

impl SpectrumMethod {
    /// One line saying what the method is and what its bound is.
    pub fn describe(self) -> &'static str {
        match self {
            SpectrumMethod::Jacobi => {
                "two-sided Jacobi, relative stopping criterion (Demmel & Veselić 1992); bound c·u·(Σᵢ|vᵢₖ|√Iᵢᵢ)², c = 4n"
            }
            SpectrumMethod::JacobiIndefinite => {
                "two-sided Jacobi on an indefinite matrix; normwise bound c·u·max|λ|, c = 4n"
            }
            SpectrumMethod::FactorSvd => {
                "one-sided Jacobi SVD of X with I = XᵀX (Demmel & Veselić 1992); |δσₖ| ≤ c·u·Σⱼ|vⱼₖ|‖xⱼ‖, c = 4·max(m, n), |δλ| ≤ 2σ|δσ| + |δσ|²"
            }
            SpectrumMethod::SymmetricQr => {
                "Householder + QR eigensolver; normwise bound c·u·max|λ|, c = 4n"
            }
            SpectrumMethod::FactorQrSvd => {
                "Golub–Kahan SVD of X with I = XᵀX; |δσ| ≤ c·u·σ_max, c = 4·max(m, n)"
            }
            SpectrumMethod::NonFinite => "the matrix has a non-finite entry",
        }
    }
}

/// a > b, false when either is NaN (a NaN eigenvalue is never resolved).
fn above(a: f64, b: f64) -> bool {
    a > b
}

/// The most significant digits a `f64` result can carry, −log₁₀(u) ≈ 15.95.
pub fn max_digits() -> f64 {
    -UNIT_ROUNDOFF.log10()
}

/// Eigen-decomposition of a symmetric matrix, eigenvalues sorted in decreasing
/// order (stiffest first) with matching unit eigenvectors as columns, and an a
/// priori bound on the error of each eigenvalue (module docs).
#[derive(Debug, Clone)]
pub struct Spectrum {
    /// Eigenvalues, largest (stiffest) first.
    pub values: DVector<f64>,
    /// Unit eigenvectors as columns, in the order of `values`.
    pub vectors: DMatrix<f64>,
    /// errors\[k\] bounds |λ̂ₖ − λₖ| (absolute, same units as λ).
    pub errors: DVector<f64>,
    /// How it was computed.
    pub method: SpectrumMethod,
}

/// Two-sided cyclic Jacobi on the symmetric `h` (overwritten). Returns the
/// diagonal it converged to and the accumulated rotations (columns =
/// eigenvectors), or `None` if it did not converge in [`MAX_SWEEPS`].
fn jacobi_eigen(mut h: DMatrix<f64>) -> Option<(Vec<f64>, DMatrix<f64>)> {
    let n = h.nrows();
    let mut v = DMatrix::identity(n, n);
    for _ in 0..MAX_SWEEPS {
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                let apq = h[(p, q)];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (h[(p, p)], h[(q, q)]);
                // Relative criterion (Demmel–Veselić): negligible against the
                // geometric mean of the two diagonal entries.
                if apq.abs() <= f64::EPSILON * app.abs().sqrt() * aqq.abs().sqrt() {
                    continue;
                }
                rotated = true;
                let (t, c, s) = jacobi_rotation((aqq - app) / (2.0 * apq));
                h[(p, p)] = app - t * apq;
                h[(q, q)] = aqq + t * apq;
                h[(p, q)] = 0.0;
                h[(q, p)] = 0.0;
                for r in 0..n {
                    if r != p && r != q {
                        let (hrp, hrq) = (h[(r, p)], h[(r, q)]);
                        let (np, nq) = (c * hrp - s * hrq, s * hrp + c * hrq);
                        h[(r, p)] = np;
                        h[(p, r)] = np;
                        h[(r, q)] = nq;
                        h[(q, r)] = nq;
                    }
                    let (vrp, vrq) = (v[(r, p)], v[(r, q)]);
                    v[(r, p)] = c * vrp - s * vrq;
                    v[(r, q)] = s * vrp + c * vrq;
                }
            }
        }
        if !rotated {
            return Some(((0..n).map(|i| h[(i, i)]).collect(), v));
        }
    }
    None
}

/// The Jacobi rotation that zeroes the off-diagonal entry of a symmetric
/// 2 × 2 block, from ζ = (a_qq − a_pp)/(2a_pq): t = tan φ =
/// sign(ζ)/(|ζ| + √(1 + ζ²)) (the smaller of the two angles; 0 when ζ is
/// infinite), c = 1/√(1 + t²), s = tc (Golub & Van Loan, §8.5.2). Returns
/// (t, c, s).
fn jacobi_rotation(zeta: f64) -> (f64, f64, f64) {
    let t = if zeta.is_finite() {
        zeta.signum() / (zeta.abs() + zeta.hypot(1.0))
    } else {
        0.0
    };
    let c = 1.0 / t.hypot(1.0);
    (t, c, t * c)
}

/// One-sided (Hestenes) Jacobi on the columns of `g` (m × n, any m): rotates
/// column pairs until every pair is orthogonal to within √m·ε of the product
/// of their norms. Returns the column norms (the singular values, unsorted)
/// and the accumulated rotations V (n × n) with G·V = U·Σ, or `None` if it did
/// not converge in [`MAX_SWEEPS`].
fn one_sided_jacobi(mut g: DMatrix<f64>) -> Option<(Vec<f64>, DMatrix<f64>)> {
    let (m, n) = g.shape();
    let mut v = DMatrix::identity(n, n);
    let tol = (m.max(1) as f64).sqrt() * f64::EPSILON;
    for _ in 0..MAX_SWEEPS {
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                // Norms and the cosine of the angle without squares, which
                // underflow for a column below 1e-154 of the largest (a graded
                // diag(1e100, 1e-100) lost its small singular value).
                let (a, b) = (column_norm(&g, p), column_norm(&g, q));
                if a == 0.0 || b == 0.0 {
                    continue;
                }
                let rho: f64 = (0..m).map(|r| (g[(r, p)] / a) * (g[(r, q)] / b)).sum();
                if rho.abs() <= tol {
                    continue;
                }
                rotated = true;
                // ζ = (b² − a²)/(2ab·ρ).
                let (_, c, s) = jacobi_rotation((b / a - a / b) / (2.0 * rho));
                for r in 0..m {
                    let (x, y) = (g[(r, p)], g[(r, q)]);
                    g[(r, p)] = c * x - s * y;
                    g[(r, q)] = s * x + c * y;
                }
                for r in 0..n {
                    let (x, y) = (v[(r, p)], v[(r, q)]);
                    v[(r, p)] = c * x - s * y;
                    v[(r, q)] = s * x + c * y;
                }
            }
        }
        if !rotated {
            return Some(((0..n).map(|j| column_norm(&g, j)).collect(), v));
        }
    }
    None
}

/// ‖g_j‖₂ scaled by the column's largest entry, so that no square under- or
/// overflows.
fn column_norm(g: &DMatrix<f64>, j: usize) -> f64 {
    let s = g.column(j).amax();
    if s == 0.0 || !s.is_finite() {
        return s;
    }
    s * (g.column(j) / s).norm()
}

/// A power of two near the largest |entry| (1 for a zero matrix): dividing by
/// it is exact and keeps squared norms away from overflow and underflow.
fn pow2_scale(a: &DMatrix<f64>) -> f64 {
    let m = a.amax();
    if m > 0.0 && m.is_finite() {
        2f64.powi(m.log2().round() as i32)
    } else {
        1.0
    }
}

/// The binary exponent e of a finite non-zero x, 2ᵉ ≤ |x| < 2ᵉ⁺¹ (−1022 for
/// a subnormal x, whose exponent is lower; 0 for 0, ±∞ and NaN). Scaling by
/// 2⁻ᵉ ([`ldexp`]) brings x near 1 exactly.
pub fn binary_exponent(x: f64) -> i32 {
    if x == 0.0 || !x.is_finite() {
        return 0;
    }
    let biased = ((x.to_bits() >> 52) & 0x7ff) as i32;
    if biased == 0 { -1022 } else { biased - 1023 }
}

/// x·2ᵏ for any k, exact whenever the result is a normal number (the
/// multiplications by powers of two only round in the subnormal range).
/// Used to keep sums of squares in units of a power of two, so that no
/// square under- or overflows and the bits at ordinary scales do not change.
pub fn ldexp(mut x: f64, mut k: i32) -> f64 {
    while k != 0 && x != 0.0 && x.is_finite() {
        let step = k.clamp(-1000, 1000);
        x *= f64::from_bits(((step + 1023) as u64) << 52);
        k -= step;
    }
    x
}

impl Spectrum {
    /// Sorts (values, vectors, errors) by decreasing value; ties keep their
    /// input order, so the result is reproducible.
    fn sorted(
        values: Vec<f64>,
        vectors: DMatrix<f64>,
        errors: Vec<f64>,
        method: SpectrumMethod,
    ) -> Self {
        let mut idx: Vec<usize> = (0..values.len()).collect();
        idx.sort_by(|&i, &j| values[j].total_cmp(&values[i]));
        let n = vectors.nrows();
        let mut vec_s = DMatrix::zeros(n, idx.len());
        for (k, &i) in idx.iter().enumerate() {
            vec_s.set_column(k, &vectors.column(i));
        }
        Spectrum {
            values: DVector::from_iterator(idx.len(), idx.iter().map(|&i| values[i])),
            vectors: vec_s,
            errors: DVector::from_iterator(idx.len(), idx.iter().map(|&i| errors[i])),
            method,
        }
    }

    fn non_finite(n: usize) -> Self {
        Spectrum {
            values: DVector::from_element(n, f64::NAN),
            vectors: DMatrix::identity(n, n),
            errors: DVector::from_element(n, f64::INFINITY),
            method: SpectrumMethod::NonFinite,
        }
    }

    /// The spectrum of the symmetric part of `a`, by two-sided Jacobi (relative
    /// accuracy for a positive semi-definite matrix, see the module docs); a
    /// non-diagonal matrix above [`JACOBI_MAX_DIM`], or one on which Jacobi
    /// does not converge, goes to [`Spectrum::symmetric_qr`].
    pub fn of(a: &DMatrix<f64>) -> Self {
        let h = (a + a.transpose()) * 0.5;
        let n = h.nrows();
        if h.iter().any(|v| !v.is_finite()) {
            return Self::non_finite(n);
        }
        let diagonal = (0..n).all(|j| (0..n).all(|i| i == j || h[(i, j)] == 0.0));
        if n > JACOBI_MAX_DIM && !diagonal {
            return Self::symmetric_qr(&h);
        }
        let scale = pow2_scale(&h);
        let Some((vals, v)) = jacobi_eigen(&h / scale) else {
            return Self::symmetric_qr(&h);
        };
        let vals: Vec<f64> = vals.iter().map(|x| x * scale).collect();
        let c = 4.0 * n as f64 * UNIT_ROUNDOFF;
        let top = vals.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
        let d: Vec<f64> = (0..n).map(|i| h[(i, i)].abs().sqrt()).collect();
        let graded: Vec<f64> = (0..n)
            .map(|k| {
                let w: f64 = (0..n).map(|i| v[(i, k)].abs() * d[i]).sum();
                (c * w * w).min(c * top)
            })
            .collect();
        if (0..n).all(|k| vals[k] >= -graded[k]) {
            Self::sorted(vals, v, graded, SpectrumMethod::Jacobi)
        } else {
            Self::sorted(vals, v, vec![c * top; n], SpectrumMethod::JacobiIndefinite)
        }
    }

    /// The spectrum of I = XᵀX from the SVD of the factor `x` (m × n, any m):
    /// λₖ = σₖ², eigenvectors the right singular vectors. One-sided Jacobi
    /// (relative accuracy, module docs) up to n = [`JACOBI_MAX_DIM`] columns,
    /// Golub–Kahan above it or if Jacobi does not converge.
    ///
    /// For a forward-map model y = G(θ) + N(0, Σ) pass X = L⁻¹J with Σ = LLᵀ
    /// (eqs. 40–42): never form JᵀΣ⁻¹J, which squares the condition.
    pub fn of_factor(x: &DMatrix<f64>) -> Self {
        let (m, n) = x.shape();
        if x.iter().any(|v| !v.is_finite()) {
            return Self::non_finite(n);
        }
        let scale = pow2_scale(x);
        let xs = x / scale;
        let c = 4.0 * m.max(n) as f64 * UNIT_ROUNDOFF;
        let colnorm: Vec<f64> = (0..n).map(|j| column_norm(&xs, j)).collect();
        let jac = if n <= JACOBI_MAX_DIM {
            one_sided_jacobi(xs.clone())
        } else {
            None
        };
        let (sig, v, method) = match jac {
            Some((s, v)) => (s, v, SpectrumMethod::FactorSvd),
            None => {
                let svd = xs.clone().svd(false, true);
                let vt = svd.v_t.unwrap_or_else(|| DMatrix::identity(n, n));
                // nalgebra returns min(m, n) singular triplets; complete V with
                // an orthonormal basis of the null space of X.
                let r = svd.singular_values.len();
                let mut s: Vec<f64> = svd.singular_values.iter().copied().collect();
                let mut v = DMatrix::zeros(n, n);
                for k in 0..r {
                    v.set_column(k, &vt.row(k).transpose());
                }
                if r < n {
                    let q = v.columns(0, r).into_owned();
                    let proj = DMatrix::identity(n, n) - &q * q.transpose();
                    let sp = Self::symmetric_qr(&proj);
                    for k in r..n {
                        v.set_column(k, &sp.vectors.column(k - r));
                        s.push(0.0);
                    }
                }
                (s, v, SpectrumMethod::FactorQrSvd)
            }
        };
        let smax = sig.iter().fold(0.0_f64, |a, b| a.max(*b));
        let (mut vals, mut errs) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for k in 0..n {
            let graded: f64 = (0..n).map(|j| v[(j, k)].abs() * colnorm[j]).sum();
            let es = if method == SpectrumMethod::FactorSvd {
                c * graded.min(smax)
            } else {
                c * smax
            };
            vals.push((sig[k] * scale).powi(2));
            // Scaled before the product, which would underflow for σ < 1e-154.
            errs.push(((2.0 * sig[k] + es) * scale) * (es * scale));
        }
        Self::sorted(vals, v, errs, method)
    }

    /// The spectrum by Householder tridiagonalisation and QR
    /// (`nalgebra::SymmetricEigen`), with the normwise bound c·u·max|λ|. Kept
    /// as the fallback for large matrices and to show what relative accuracy
    /// buys.
    pub fn symmetric_qr(a: &DMatrix<f64>) -> Self {
        let sym = (a + a.transpose()) * 0.5;
        let n = sym.nrows();
        if sym.iter().any(|v| !v.is_finite()) {
            return Self::non_finite(n);
        }
        let eig = sym.symmetric_eigen();
        let vals: Vec<f64> = eig.eigenvalues.iter().copied().collect();
        let top = vals.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
        let c = 4.0 * n as f64 * UNIT_ROUNDOFF;
        Self::sorted(
            vals,
            eig.eigenvectors,
            vec![c * top; n],
            SpectrumMethod::SymmetricQr,
        )
    }

    /// Adds `e` to every error bound: by Weyl's inequality an input matrix
    /// known only to within a perturbation of spectral norm ≤ e (a Monte Carlo
    /// standard error, a finite-difference error) moves each eigenvalue by ≤ e.
    pub fn with_input_error(mut self, e: f64) -> Self {
        if e > 0.0 {
            self.errors.iter_mut().for_each(|x| *x += e);
        }
        self
    }

    /// The number of correct significant digits of each eigenvalue,
    /// −log₁₀(errₖ/|λₖ|) clamped to [0, [`max_digits`]] (0 for a null one).
    pub fn digits(&self) -> Vec<f64> {
        self.values
            .iter()
            .zip(self.errors.iter())
            .map(|(&l, &e)| {
                if !above(l.abs(), e) {
                    0.0
                } else if e == 0.0 {
                    max_digits()
                } else {
                    (-(e / l.abs()).log10()).clamp(0.0, max_digits())
                }
            })
            .collect()
    }

    /// Whether eigenvalue k cannot be told from 0: |λₖ| ≤ errₖ.
    pub fn is_null(&self, k: usize) -> bool {
        !above(self.values[k].abs(), self.errors[k])
    }

    /// The rank: the number of eigenvalues with λₖ > errₖ (module docs).
    pub fn rank(&self) -> usize {
        (0..self.values.len())
            .filter(|&k| self.values[k] > self.errors[k])
            .count()
    }

    /// The first eigenvalue (index) that is negative beyond its bound,
    /// λₖ < −errₖ, if any: the matrix is then not positive semi-definite.
    pub fn negative(&self) -> Option<usize> {
        (0..self.values.len()).find(|&k| self.values[k] < -self.errors[k])
    }

    /// An orthonormal basis of the null directions (the eigenvectors of the
    /// null eigenvalues), as columns.
    pub fn null_space(&self) -> DMatrix<f64> {
        let ks: Vec<usize> = (0..self.values.len())
            .filter(|&k| self.is_null(k))
            .collect();
        DMatrix::from_fn(self.vectors.nrows(), ks.len(), |i, j| {
            self.vectors[(i, ks[j])]
        })
    }

    /// λ_max / λ_min (infinite when λ_min ≤ 0).
    pub fn condition_number(&self) -> f64 {
        let n = self.values.len();
        if n == 0 {
            return 1.0;
        }
        let (hi, lo) = (self.values[0], self.values[n - 1]);
        if lo <= 0.0 { f64::INFINITY } else { hi / lo }
    }

    /// The smallest eigenvalue.
    pub fn min(&self) -> f64 {
        self.values.iter().copied().fold(f64::INFINITY, f64::min)
    }
}

/// The Moore–Penrose pseudo-inverse of a positive semi-definite matrix (a
/// Fisher metric that may be singular), with its range and null space.
#[derive(Debug, Clone)]
pub struct PseudoInverse {
    /// A⁺ = Σₖ vₖvₖᵀ/λₖ over the range (λₖ > errₖ), d × d.
    pub matrix: DMatrix<f64>,
    /// F = [vₖ/√λₖ] over the range, d × rank: F·Fᵀ = A⁺ (a square-root factor,
    /// for sampling N(μ, τA⁺) as μ + √τ·F·z).
    pub factor: DMatrix<f64>,
    /// The rank (module docs: the rank tolerance is each eigenvalue's error bound).
    pub rank: usize,
    /// Orthonormal basis of the null directions, d × (d − rank).
    pub null_space: DMatrix<f64>,
    /// The spectrum it was built from.
    pub spectrum: Spectrum,
}

/// The pseudo-inverse of the symmetric positive semi-definite `a` (named `what`
/// in errors). Eigenvalues with |λₖ| ≤ errₖ (their error bound, see the module
/// docs) are null directions and are left out of A⁺.
///
/// # Errors
/// `a` not square or with a non-finite entry; an eigenvalue negative beyond its
/// error bound ("not positive semi-definite": no metric has one).
pub fn psd_pseudo_inverse(a: &DMatrix<f64>, what: &str) -> Result<PseudoInverse> {
    check_square_finite(a, what)?;
    let s = Spectrum::of(a);
    if let Some(k) = s.negative() {
        return Err(Error::domain(
            what,
            format!("a matrix with eigenvalue {:e}", s.values[k]),
            format!(
                "is not positive semi-definite: the eigenvalue is negative beyond its error bound {:e}",
                s.errors[k]
            ),
        ));
    }
    let d = a.nrows();
    let range: Vec<usize> = (0..d).filter(|&k| s.values[k] > s.errors[k]).collect();
    let factor = DMatrix::from_fn(d, range.len(), |i, j| {
        let k = range[j];
        s.vectors[(i, k)] / s.values[k].sqrt()
    });
    Ok(PseudoInverse {
        matrix: &factor * factor.transpose(),
        rank: range.len(),
        null_space: s.null_space(),
        factor,
        spectrum: s,
    })
}

//! The measures every check family shares: scaled relative errors, z-scores
//! (see the module docs of [`crate::validate`]) and the [`Ledger`] that
//! holds the checks of one run and sets the family-wise z threshold from the
//! z-scores that actually ran.

use super::report::{Comparison, Measure};
use super::{describe, method_name, rows};
use crate::check::Check;
use crate::fisher::Method;
use crate::linalg;
use nalgebra::DMatrix;

/// √(a·b) for a, b ≥ 0 without under- or overflow of the product: each
/// factor is first scaled by an even power of two (exact), so the result has
/// the bits of the plain formula wherever that one neither under- nor
/// overflows (a normal at σ = 10⁻¹⁵⁰ has Iᵢᵢ ~ 10³⁰⁰).
fn geometric_mean(a: f64, b: f64) -> f64 {
    let even = |x: f64| linalg::binary_exponent(x) & !1;
    let (p, q) = (even(a), even(b));
    let s = (linalg::ldexp(a, -p) * linalg::ldexp(b, -q)).sqrt();
    linalg::ldexp(s, (p + q) / 2)
}

/// The entry scales sᵢⱼ = √(|Rᵢᵢ Rⱼⱼ|) of a reference (see the module docs),
/// falling back to max|R| (or 1 for a zero matrix) where a diagonal entry is 0.
pub fn entry_scales(r: &DMatrix<f64>) -> DMatrix<f64> {
    let top = r.amax();
    let fallback = if top > 0.0 { top } else { 1.0 };
    DMatrix::from_fn(r.nrows(), r.ncols(), |i, j| {
        let s = geometric_mean(r[(i, i)].abs(), r[(j, j)].abs());
        if s > 0.0 && s.is_finite() {
            s
        } else {
            fallback
        }
    })
}

pub(crate) fn worst_of(entries: &DMatrix<f64>) -> (f64, [usize; 2]) {
    let mut worst = (0.0_f64, [0, 0]);
    for i in 0..entries.nrows() {
        for j in i..entries.ncols() {
            let v = entries[(i, j)];
            // NaN is the worst of all and stays so.
            if !worst.0.is_nan() && (v.is_nan() || v > worst.0) {
                worst = (v, [i, j]);
            }
        }
    }
    worst
}

/// Scaled relative error per entry of `a` against the reference `r`.
pub fn rel_errors(a: &DMatrix<f64>, r: &DMatrix<f64>) -> DMatrix<f64> {
    let s = entry_scales(r);
    DMatrix::from_fn(a.nrows(), a.ncols(), |i, j| {
        (a[(i, j)] - r[(i, j)]).abs() / s[(i, j)]
    })
}

/// z-scores per entry: |a − r| / √(seₐ² + se_r² + (τ·s)²), s the scales of `scale_of`.
pub fn z_scores(
    a: &DMatrix<f64>,
    se_a: &DMatrix<f64>,
    r: &DMatrix<f64>,
    se_r: Option<&DMatrix<f64>>,
    tau: f64,
    scale_of: &DMatrix<f64>,
) -> DMatrix<f64> {
    let s = entry_scales(scale_of);
    DMatrix::from_fn(a.nrows(), a.ncols(), |i, j| {
        // In units of a power of two near the largest term (exact), so that
        // no square under- or overflows at extreme scales and the bits at
        // ordinary ones are those of the plain formula.
        let terms = [
            se_a[(i, j)],
            se_r.map_or(0.0, |e| e[(i, j)]),
            tau * s[(i, j)],
        ];
        let top = terms.iter().fold(0.0_f64, |m, t| m.max(t.abs()));
        let k = linalg::binary_exponent(top);
        let d = linalg::ldexp((a[(i, j)] - r[(i, j)]).abs(), -k);
        let den = terms
            .iter()
            .map(|t| linalg::ldexp(*t, -k).powi(2))
            .sum::<f64>()
            .sqrt();
        if d.is_nan() {
            f64::NAN
        } else if den > 0.0 {
            d / den
        } else if d == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    })
}

pub(crate) fn comparison(
    against: &str,
    measure: Measure,
    entries: DMatrix<f64>,
    threshold: f64,
) -> Comparison {
    let (worst, worst_entry) = worst_of(&entries);
    Comparison {
        against: against.to_string(),
        measure,
        worst,
        worst_entry,
        entries: rows(&entries),
        threshold,
        pass: worst <= threshold,
    }
}

impl Comparison {
    /// Sets the threshold of a z-score comparison, once the run's family-wise
    /// threshold is known ([`Ledger`]); other comparisons are left alone.
    pub fn settle(&mut self, zt: f64) {
        if self.measure == Measure::ZScore {
            self.threshold = zt;
            self.pass = self.worst <= zt;
        }
    }
}

/// A z-score comparison made before the run's threshold is known; its
/// threshold is set by [`Comparison::settle`].
pub(crate) fn z_comparison(against: &str, entries: DMatrix<f64>) -> Comparison {
    comparison(against, Measure::ZScore, entries, f64::NAN)
}

/// A z-score check waiting for the family-wise threshold.
struct ZCheck {
    name: String,
    oracle: String,
    /// The worst z.
    value: f64,
    /// Every z-score it rests on (a symmetric d × d matrix, or a d × 1 column).
    z: DMatrix<f64>,
    /// The effective sample size of each entry, when known.
    eff: Option<DMatrix<f64>>,
}

impl ZCheck {
    /// The number of z-scores tested: the upper triangle of a square
    /// (symmetric) matrix, every entry of a column.
    fn count(&self) -> usize {
        let (r, c) = self.z.shape();
        if r == c { r * (r + 1) / 2 } else { r * c }
    }
}

enum Pending {
    Done(Check),
    Z(ZCheck),
}

/// Why a scaled comparison of `a` with `r` (the estimate `against`) is not a
/// number, if it is not: the first entry at which either is NaN or infinite,
/// named with both values. Such an entry is beyond double precision at this θ
/// (a term p(y)·y/λ² = 0·∞ of an exact sum at λ = 10⁻³⁰⁰, a closed-form KL
/// that overflowed): the comparison is undecided with that reason, not failed
/// with the value NaN.
fn not_a_number(a: &DMatrix<f64>, r: &DMatrix<f64>, against: &str) -> Option<String> {
    let (i, j) = (0..a.nrows())
        .flat_map(|i| (0..a.ncols()).map(move |j| (i, j)))
        .find(|&(i, j)| !a[(i, j)].is_finite() || !r[(i, j)].is_finite())?;
    Some(format!(
        "not a number: entry ({i}, {j}) is {} in the estimate and {} in {against}; a value \
         beyond double precision at this θ (an overflow, or a 0·∞ of underflowed terms) \
         leaves nothing to compare",
        super::fmt_num(a[(i, j)]),
        super::fmt_num(r[(i, j)])
    ))
}

/// The checks of one validator run, in the order they were made. A z-score
/// check ([`Ledger::push_z`]) is recorded with its z-scores and decided only
/// in [`Ledger::finish`], against the family-wise threshold
/// z* = [`super::z_threshold`]`(m)` with m = [`Ledger::z_count`], the number
/// of z-scores the checks that ran produced: adding a check changes the
/// level only through what it actually tests.
#[derive(Default)]
pub struct Ledger {
    items: Vec<Pending>,
}

impl Ledger {
    /// Records a decided check.
    pub fn push(&mut self, c: Check) {
        self.items.push(Pending::Done(c));
    }

    /// Passes the last recorded decided check through `f` (to mark it
    /// unresolved); nothing if the last item is a pending z-score check.
    pub(crate) fn map_last(&mut self, f: impl FnOnce(Check) -> Check) {
        match self.items.pop() {
            Some(Pending::Done(c)) => self.items.push(Pending::Done(f(c))),
            Some(p) => self.items.push(p),
            None => {}
        }
    }

    /// Records a z-score check: `value` (its worst z) against the run's
    /// threshold, `z` every z-score it tested (a symmetric matrix or a column),
    /// `eff` their effective sample sizes (for the few-events diagnosis).
    pub fn push_z(
        &mut self,
        name: impl Into<String>,
        oracle: impl Into<String>,
        value: f64,
        z: DMatrix<f64>,
        eff: Option<DMatrix<f64>>,
    ) {
        self.items.push(Pending::Z(ZCheck {
            name: name.into(),
            oracle: oracle.into(),
            value,
            z,
            eff,
        }));
    }

    /// Compares `a` entry-wise with `r`, the estimate of the method
    /// `against`, by scaled relative error: records the check `name` (worst
    /// ≤ `tol`, the oracle being `against`) and returns the comparison.
    pub(crate) fn push_rel(
        &mut self,
        name: String,
        a: &DMatrix<f64>,
        r: &DMatrix<f64>,
        against: Method,
        tol: f64,
    ) -> Comparison {
        let c = comparison(
            method_name(against),
            Measure::RelError,
            rel_errors(a, r),
            tol,
        );
        let check = Check::at_most(name, c.worst, tol, describe(against).to_string());
        self.push(match not_a_number(a, r, method_name(against)) {
            Some(note) => check.unresolved(note),
            None => check,
        });
        c
    }

    /// Records the z-score check `name` of the z-scores `zs` against the
    /// estimate of the method `against` (decided in [`Ledger::finish`]; `eff`
    /// as in [`Ledger::push_z`]) and returns the comparison.
    pub(crate) fn push_z_against(
        &mut self,
        name: impl Into<String>,
        against: Method,
        zs: DMatrix<f64>,
        eff: Option<DMatrix<f64>>,
    ) -> Comparison {
        let c = z_comparison(method_name(against), zs.clone());
        self.push_z(name, describe(against), c.worst, zs, eff);
        c
    }

    /// The number of z-scores recorded so far.
    pub fn z_count(&self) -> usize {
        self.items
            .iter()
            .map(|p| match p {
                Pending::Z(z) => z.count(),
                Pending::Done(_) => 0,
            })
            .sum()
    }

    /// The checks, in order, with every z-score check decided against `zt`
    /// and then passed through `mark` (its z-scores and effective sample
    /// sizes at hand), which may mark it unresolved.
    pub fn finish(
        self,
        zt: f64,
        mark: impl Fn(Check, &DMatrix<f64>, Option<&DMatrix<f64>>) -> Check,
    ) -> Vec<Check> {
        self.items
            .into_iter()
            .map(|p| match p {
                Pending::Done(c) => c,
                Pending::Z(z) => mark(
                    Check::at_most(z.name, z.value, zt, z.oracle),
                    &z.z,
                    z.eff.as_ref(),
                ),
            })
            .collect()
    }
}

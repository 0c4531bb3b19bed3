//! Ranks and Spearman's rank correlation, with ties given their average rank.
//!
//! Values computed in floating point that are equal in exact arithmetic often
//! differ in the last bits (on a 10 × 10 lattice 4sin²(π/10) + 4sin²(2π/5) = 4
//! exactly, but evaluates to 3.9999999999999996). The `_tol` variants treat
//! values within a relative tolerance as tied, so such rounding cannot break a
//! tie and turn an exact rank correlation of −1 into −0.998.

/// The ranks 1…n of `x` (exact ties share the average of their ranks; NaN
/// sorts last). [`ranks_tol`] with tolerance 0.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    ranks_tol(x, 0.0)
}

/// Whether `a` and `b` are equal to within the relative tolerance `rtol`:
/// |a − b| ≤ rtol·max(|a|, |b|) (exact equality when `rtol` = 0).
pub fn tied(a: f64, b: f64, rtol: f64) -> bool {
    a == b || (a - b).abs() <= rtol * a.abs().max(b.abs())
}

/// The ranks 1…n of `x`, where values whose sorted neighbours are [`tied`] to
/// within `rtol` form one tie group sharing the average of their ranks (groups
/// chain: a run of values each within `rtol` of the next is one group; choose
/// `rtol` at the rounding level of the computation, far below the smallest true
/// gap). NaN sorts last and ties only with NaN.
pub fn ranks_tol(x: &[f64], rtol: f64) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && {
            let (a, b) = (x[idx[j]], x[idx[j + 1]]);
            tied(a, b, rtol) || (a.is_nan() && b.is_nan())
        } {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation: the Pearson correlation of the ranks (average
/// ranks for ties). NaN when either input is constant or the lengths differ.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    spearman_tol(x, y, 0.0)
}

/// Spearman's rank correlation with tie groups from [`ranks_tol`] at `rtol`.
pub fn spearman_tol(x: &[f64], y: &[f64], rtol: f64) -> f64 {
    if x.len() != y.len() || x.len() < 2 {
        return f64::NAN;
    }
    let (rx, ry) = (ranks_tol(x, rtol), ranks_tol(y, rtol));
    let n = x.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    sxy / (sxx * syy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_get_average_ranks() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn monotone_maps_give_plus_minus_one() {
        // Oracle: a strictly decreasing transform of x (with ties kept as ties)
        // has rank correlation exactly −1; an increasing one +1.
        let x = [0.5, 2.0, 2.0, 3.0, 0.1];
        let y: Vec<f64> = x.iter().map(|v| 1.0 / (1.0 + v * v)).collect();
        assert_eq!(spearman(&x, &y), -1.0);
        let z: Vec<f64> = x.iter().map(|v| v.exp()).collect();
        assert_eq!(spearman(&x, &z), 1.0);
        // Oracle: n = 3, one swap: 1 − 6Σd²/(n(n²−1)) = 1 − 6·2/24 = ½.
        assert!((spearman(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]) - 0.5).abs() < 1e-15);
        assert!(spearman(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
    }

    #[test]
    fn rounding_level_ties_need_the_tolerance() {
        // The lattice case: |p̂| = 2 computed two ways, 2.0 and
        // 1.9999999999999998 (one ulp apart), whose Fisher values are equal.
        // Exact ranks break the tie, the tolerant ones keep it.
        let p = [2.0, 1.9999999999999998, 1.0, 3.0];
        let f = [0.25, 0.25, 1.0, 0.1];
        assert!(spearman(&p, &f) > -1.0);
        assert_eq!(spearman_tol(&p, &f, 1e-14), -1.0);
        assert_eq!(ranks_tol(&p, 1e-14), vec![2.5, 2.5, 1.0, 4.0]);
        // The tolerance cannot hide a real disorder (the check can fail).
        let g = [0.25, 0.3, 1.0, 0.1];
        assert!(spearman_tol(&p, &g, 1e-14) > -1.0);
        // NaN ties with NaN only, and sorts last.
        assert_eq!(
            ranks_tol(&[f64::NAN, 1.0, f64::NAN], 1e-14),
            vec![2.5, 1.0, 2.5]
        );
        assert!(tied(1.0, 1.0 + 1e-15, 1e-14) && !tied(1.0, 1.0 + 1e-13, 1e-14));
    }
}

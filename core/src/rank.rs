//! Ranks and Spearman's rank correlation, with ties given their average rank.

/// The ranks 1…n of `x` (ties share the average of their ranks; NaN sorts last).
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
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
    if x.len() != y.len() || x.len() < 2 {
        return f64::NAN;
    }
    let (rx, ry) = (ranks(x), ranks(y));
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
}

//! [`Check`]: one number compared with a threshold derived from an independent
//! oracle. Every verdict in bayesrg (the validator, the subcommands'
//! `summary.json`, the reproduction report) is a list of these.

use serde::{Deserialize, Serialize};

/// One numerical check against an independent oracle.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Check {
    /// What is checked, e.g. `score_outer vs closed form (worst z)`.
    pub name: String,
    /// The measured number.
    pub value: f64,
    /// The threshold it is compared with.
    pub threshold: f64,
    /// How `value` must relate to `threshold`: `"<="` or `">="`.
    pub relation: String,
    /// The oracle it is checked against, e.g. `closed form diag(1/σ², 2/σ²)`.
    pub oracle: String,
    /// Whether it passed.
    pub pass: bool,
    /// Why the check could not be decided, when it could not (for example
    /// "Monte Carlo cannot resolve this: too few events: raise samples to
    /// N"); such a check does not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Check {
    /// A check that passes when `value <= threshold` (NaN fails).
    pub fn at_most(
        name: impl Into<String>,
        value: f64,
        threshold: f64,
        oracle: impl Into<String>,
    ) -> Self {
        Self::compared(name.into(), value, threshold, "<=", oracle.into())
    }

    /// A check that passes when `value >= threshold` (NaN fails).
    pub fn at_least(
        name: impl Into<String>,
        value: f64,
        threshold: f64,
        oracle: impl Into<String>,
    ) -> Self {
        Self::compared(name.into(), value, threshold, ">=", oracle.into())
    }

    fn compared(name: String, value: f64, threshold: f64, relation: &str, oracle: String) -> Self {
        Check {
            name,
            value,
            threshold,
            relation: relation.into(),
            oracle,
            pass: if relation == "<=" {
                value <= threshold
            } else {
                value >= threshold
            },
            note: None,
        }
    }

    /// The same check marked undecidable: it does not pass, and `note` says why.
    pub fn unresolved(mut self, note: impl Into<String>) -> Self {
        self.pass = false;
        self.note = Some(note.into());
        self
    }
}

/// The observed order of convergence: the least-squares slope of ln err
/// against ln h over a refinement study (step sizes `hs`, errors `errs`, both
/// positive; an error ∝ hᵖ gives p).
pub fn observed_order(hs: &[f64], errs: &[f64]) -> f64 {
    let n = hs.len() as f64;
    let x: Vec<f64> = hs.iter().map(|h| h.ln()).collect();
    let y: Vec<f64> = errs.iter().map(|e| e.ln()).collect();
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    sxy / sxx
}

/// The largest of `start` and `values`, NaN when any value is NaN: the
/// number a check is made on must not drop a NaN the way `f64::max` does
/// (`f64::max(NaN, 1.0)` is 1.0), or a check on a NaN or an ∞ − ∞ passes.
pub fn worst_from(start: f64, values: impl IntoIterator<Item = f64>) -> f64 {
    values.into_iter().fold(start, |a, b| {
        if a.is_nan() || b.is_nan() {
            f64::NAN
        } else {
            a.max(b)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::worst_from;

    #[test]
    fn worst_keeps_nan() {
        assert!(worst_from(0.0, [1.0, f64::NAN, 2.0]).is_nan());
        assert!(worst_from(f64::NEG_INFINITY, [f64::NAN]).is_nan());
        assert_eq!(worst_from(0.0, [1.0, 3.0, 2.0]), 3.0);
        assert_eq!(worst_from(f64::NEG_INFINITY, [-2.0, -1.0]), -1.0);
        assert_eq!(worst_from(0.0, []), 0.0);
        assert!(!crate::check::Check::at_most("c", worst_from(0.0, [f64::NAN]), 1.0, "o").pass);
    }
}

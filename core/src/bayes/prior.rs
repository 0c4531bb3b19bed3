//! Priors π₀(θ) for dynamical Bayes (eqs. 32–34): products of independent
//! one-dimensional factors, so that a prior can be written in a config file,
//! evaluated on a grid and sampled for particles.

use super::grid::{Scale, softplus};
use crate::error::{Error, Result};
use crate::special::{ln_beta, ln_gamma};
use rand::Rng;
use rand_distr::{Beta, Distribution, Gamma, Normal, Uniform};
use serde::{Deserialize, Serialize};

/// One independent prior factor for one coordinate of θ.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum Factor {
    /// N(mean, sd²).
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation (> 0).
        sd: f64,
    },
    /// Uniform on [lo, hi].
    Uniform {
        /// Lower end.
        lo: f64,
        /// Upper end (> lo).
        hi: f64,
    },
    /// Gamma(shape, rate) on (0, ∞).
    Gamma {
        /// Shape a > 0.
        shape: f64,
        /// Rate b > 0.
        rate: f64,
    },
    /// Beta(a, b) on (0, 1).
    Beta {
        /// a > 0.
        a: f64,
        /// b > 0.
        b: f64,
    },
}

impl Factor {
    /// Checks the hyper-parameters; the error names the factor's coordinate.
    pub fn validate(&self, coord: &str) -> Result<()> {
        let bad = |what: String| Err(Error::setting(format!("prior.{coord}"), what));
        let pos = |v: f64| v > 0.0 && v.is_finite();
        match *self {
            Factor::Normal { mean, sd } if !(mean.is_finite() && pos(sd)) => bad(format!(
                "normal prior needs a finite mean and a finite sd > 0 (got mean = {mean}, sd = {sd})"
            )),
            Factor::Uniform { lo, hi } if !(lo.is_finite() && hi.is_finite() && hi > lo) => bad(
                format!("uniform prior needs finite lo < hi (got {lo}, {hi})"),
            ),
            Factor::Gamma { shape, rate } if !(pos(shape) && pos(rate)) => bad(format!(
                "gamma prior needs finite shape > 0 and rate > 0 (got {shape}, {rate})"
            )),
            Factor::Beta { a, b } if !(pos(a) && pos(b)) => bad(format!(
                "beta prior needs finite a > 0 and b > 0 (got {a}, {b})"
            )),
            _ => Ok(()),
        }
    }

    /// The name of the distribution as a config writes it (`dist = "gamma"`).
    pub fn name(&self) -> &'static str {
        match self {
            Factor::Normal { .. } => "normal",
            Factor::Uniform { .. } => "uniform",
            Factor::Gamma { .. } => "gamma",
            Factor::Beta { .. } => "beta",
        }
    }

    /// The support (lo, hi) of the density (±∞ for an unbounded end).
    pub fn support(&self) -> (f64, f64) {
        match *self {
            Factor::Normal { .. } => (f64::NEG_INFINITY, f64::INFINITY),
            Factor::Uniform { lo, hi } => (lo, hi),
            Factor::Gamma { .. } => (0.0, f64::INFINITY),
            Factor::Beta { .. } => (0.0, 1.0),
        }
    }

    /// The finite ends of the support with the power e of the density there,
    /// π₀(θ) ∝ |θ − edge|^e near the edge: e < 0 is an integrable singularity
    /// (a beta with a < 1, a gamma with shape < 1), e = 0 a jump (uniform).
    pub fn edges(&self) -> Vec<(f64, f64)> {
        match *self {
            Factor::Normal { .. } => vec![],
            Factor::Uniform { lo, hi } => vec![(lo, 0.0), (hi, 0.0)],
            Factor::Gamma { shape, .. } => vec![(0.0, shape - 1.0)],
            Factor::Beta { a, b } => vec![(0.0, a - 1.0), (1.0, b - 1.0)],
        }
    }

    /// ln of the density of the grid coordinate x = s(θ) of `scale` at x:
    /// ln π₀(θ(x)) + ln θ′(x). For a beta factor on a logit axis and a gamma
    /// factor on a log axis it is written in x directly,
    /// −a·softplus(−x) − b·softplus(x) − ln B(a, b) and
    /// k ln β − ln Γ(k) + k x − β eˣ, so that it keeps its accuracy where θ
    /// rounds to 0 or 1 (the endpoint singularities become exponential tails).
    pub fn ln_pdf_scaled(&self, scale: Scale, x: f64) -> f64 {
        match (scale, *self) {
            (Scale::Logit, Factor::Beta { a, b }) => {
                -a * softplus(-x) - b * softplus(x) - ln_beta(a, b)
            }
            (Scale::Log, Factor::Gamma { shape, rate }) => {
                shape * rate.ln() - ln_gamma(shape) + shape * x - rate * x.exp()
            }
            (Scale::Log, Factor::Beta { a, b }) if x < 0.0 => {
                a * x + (b - 1.0) * (-x.exp_m1()).ln() - ln_beta(a, b)
            }
            (Scale::Linear, f) => f.ln_pdf(x),
            (s, f) => f.ln_pdf(s.to_theta(x)) + s.ln_jacobian(x),
        }
    }

    /// ln of the density at x (−∞ outside the support).
    pub fn ln_pdf(&self, x: f64) -> f64 {
        match *self {
            Factor::Normal { mean, sd } => {
                let z = (x - mean) / sd;
                -0.5 * z * z - sd.ln() - 0.918_938_533_204_672_8
            }
            Factor::Uniform { lo, hi } => {
                if (lo..=hi).contains(&x) {
                    -(hi - lo).ln()
                } else {
                    f64::NEG_INFINITY
                }
            }
            Factor::Gamma { shape, rate } => {
                if x > 0.0 {
                    shape * rate.ln() - ln_gamma(shape) + (shape - 1.0) * x.ln() - rate * x
                } else {
                    f64::NEG_INFINITY
                }
            }
            Factor::Beta { a, b } => {
                if x > 0.0 && x < 1.0 {
                    (a - 1.0) * x.ln() + (b - 1.0) * (1.0 - x).ln() - ln_beta(a, b)
                } else {
                    f64::NEG_INFINITY
                }
            }
        }
    }

    /// One draw (NaN for hyper-parameters that [`Factor::validate`] refuses).
    pub fn sample(&self, rng: &mut dyn Rng) -> f64 {
        match *self {
            Factor::Normal { mean, sd } => {
                Normal::new(mean, sd).map_or(f64::NAN, |d| d.sample(rng))
            }
            Factor::Uniform { lo, hi } => Uniform::new(lo, hi).map_or(f64::NAN, |d| d.sample(rng)),
            Factor::Gamma { shape, rate } => {
                Gamma::new(shape, 1.0 / rate).map_or(f64::NAN, |d| d.sample(rng))
            }
            Factor::Beta { a, b } => Beta::new(a, b).map_or(f64::NAN, |d| d.sample(rng)),
        }
    }

    /// The mode when it is interior, else the mean (a start for optimisers).
    pub fn center(&self) -> f64 {
        match *self {
            Factor::Normal { mean, .. } => mean,
            Factor::Uniform { lo, hi } => 0.5 * (lo + hi),
            Factor::Gamma { shape, rate } => shape / rate,
            Factor::Beta { a, b } => a / (a + b),
        }
    }
}

/// A product prior π₀(θ) = Πᵢ fᵢ(θᵢ) over the free coordinates of θ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prior {
    /// One factor per free coordinate, in order.
    pub factors: Vec<Factor>,
}

impl Prior {
    /// A prior from its factors, validated; `names` label the coordinates in errors.
    pub fn new(factors: Vec<Factor>, names: &[String]) -> Result<Self> {
        if factors.len() != names.len() {
            return Err(Error::setting(
                "prior",
                format!(
                    "has {} factors but the posterior has {} coordinates ({})",
                    factors.len(),
                    names.len(),
                    names.join(", ")
                ),
            ));
        }
        for (f, n) in factors.iter().zip(names) {
            f.validate(n)?;
        }
        Ok(Prior { factors })
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        self.factors.len()
    }

    /// ln π₀(θ).
    pub fn ln_pdf(&self, x: &[f64]) -> f64 {
        self.factors.iter().zip(x).map(|(f, &v)| f.ln_pdf(v)).sum()
    }

    /// ln of the density of the grid coordinates x (one scale per factor) at
    /// x: Σᵢ [`Factor::ln_pdf_scaled`].
    pub fn ln_pdf_scaled(&self, scales: &[Scale], x: &[f64]) -> f64 {
        self.factors
            .iter()
            .zip(scales)
            .zip(x)
            .map(|((f, &s), &v)| f.ln_pdf_scaled(s, v))
            .sum()
    }

    /// One draw into `out`.
    pub fn sample_into(&self, rng: &mut dyn Rng, out: &mut [f64]) {
        for (f, o) in self.factors.iter().zip(out.iter_mut()) {
            *o = f.sample(rng);
        }
    }

    /// A central point (see [`Factor::center`]).
    pub fn center(&self) -> Vec<f64> {
        self.factors.iter().map(Factor::center).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn densities_integrate_to_one() {
        // Midpoint quadrature of each density on a wide interval: an independent check
        // of the normalising constants.
        let cases = [
            (Factor::Normal { mean: 1.0, sd: 0.5 }, -5.0, 7.0),
            (Factor::Uniform { lo: -1.0, hi: 2.0 }, -3.0, 4.0),
            (
                Factor::Gamma {
                    shape: 3.0,
                    rate: 2.0,
                },
                0.0,
                40.0,
            ),
            (Factor::Beta { a: 2.5, b: 4.0 }, 0.0, 1.0),
        ];
        for (f, lo, hi) in cases {
            let n = 200_000;
            let h = (hi - lo) / n as f64;
            let s: f64 = (0..n)
                .map(|i| f.ln_pdf(lo + (i as f64 + 0.5) * h).exp() * h)
                .sum();
            assert_relative_eq!(s, 1.0, epsilon = 1e-4);
        }
    }
}

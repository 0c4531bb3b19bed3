//! The categorical family over K classes {0, …, K−1} in its K − 1 free
//! coordinates θ = (p₁, …, p_{K−1}); the last probability is p_K = 1 − Σᵢ pᵢ
//! (docs/conventions.md). Class i (1-based) is observed as the value i − 1.
//!
//! Fisher (eq. 29) I_ij = δᵢⱼ/pᵢ + 1/p_K; KL (eq. 30) KL(p‖q) = Σᵢ pᵢ ln(pᵢ/qᵢ)
//! over all K classes, evaluated as Σᵢ bd0(pᵢ, qᵢ) (Loader's deviance terms,
//! each ≥ 0, with pᵢ − qᵢ formed from the parameters and p_K − q_K = −Σ(pᵢ − qᵢ)),
//! so it keeps its relative accuracy as q → p. A q with a zero class where p
//! has mass gives KL = +∞ (not "no closed form").
//!
//! The K classes are enumerated ([`Model::support`]): the validator's
//! expectations are exact sums.

use crate::checks;
use bayesrg_core::ad::{LogDensity, MetricDerivatives, Real, metric_derivatives};
use bayesrg_core::geometry::closed_form::{self as cf, ClosedFormGeometry, KnownGeodesic};
use bayesrg_core::model::{Model, Support, check_len};
use bayesrg_core::special::bd0;
use bayesrg_core::{ParamError, ad_derivatives};
use nalgebra::DMatrix;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// Categorical(p₁, …, p_K) with K = `classes` ≥ 2, θ = (p₁, …, p_{K−1}),
/// every pᵢ > 0 and p_K = 1 − Σpᵢ > 0.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "RawCategorical", into = "RawCategorical")]
pub struct Categorical {
    classes: usize,
}

/// The config form of [`Categorical`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCategorical {
    /// The number of classes K ≥ 2.
    pub classes: usize,
}

impl TryFrom<RawCategorical> for Categorical {
    type Error = bayesrg_core::Error;
    fn try_from(r: RawCategorical) -> bayesrg_core::Result<Self> {
        Categorical::new(r.classes)
    }
}

impl From<Categorical> for RawCategorical {
    fn from(c: Categorical) -> Self {
        RawCategorical { classes: c.classes }
    }
}

impl Categorical {
    /// A categorical model over `classes` ≥ 2 classes.
    pub fn new(classes: usize) -> bayesrg_core::Result<Self> {
        bayesrg_core::error::require::at_least("classes", classes, 2)?;
        // Every use holds the (K−1)×(K−1) Fisher metric and K−1 parameter
        // names: refuse what the machine cannot hold here, before anything
        // allocates them (issue 11 §3: classes = 10¹² aborted).
        let d = (classes - 1) as f64;
        bayesrg_core::budget::check_memory("classes", 4.0 * d * d * 8.0)?;
        Ok(Categorical { classes })
    }

    /// The number of classes K.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// p_K = 1 − Σᵢ θᵢ.
    fn last(theta: &[f64]) -> f64 {
        1.0 - theta.iter().sum::<f64>()
    }

    /// The probability of the 0-based class `c`.
    fn prob(theta: &[f64], c: usize) -> f64 {
        if c < theta.len() {
            theta[c]
        } else {
            Self::last(theta)
        }
    }
}

impl LogDensity for Categorical {
    fn ln_density<D: Real>(&self, theta: &[D], y: &[f64]) -> D {
        let c = y[0];
        if c < 0.0 || c.fract() != 0.0 || c >= self.classes as f64 {
            return D::from(f64::NEG_INFINITY);
        }
        let c = c as usize;
        if c < theta.len() {
            theta[c].ln()
        } else {
            let mut last = D::from(1.0);
            for &t in theta {
                last -= t;
            }
            last.ln()
        }
    }
}

/// The Fisher metric I_ij = δᵢⱼ/pᵢ + 1/p_K (p_K = 1 − Σpᵢ), row-major, over
/// any number type: with hyper-dual numbers its exact derivatives
/// ([`metric_derivatives`]), which the curvature needs next to an edge, where
/// differences of g lose the 1/p_K part against a large 1/pᵢ (tryout 8, G7).
fn fisher_entries<D: Real>(theta: &[D]) -> Vec<D> {
    let d = theta.len();
    let mut sum = D::from(0.0);
    for &t in theta {
        sum += t;
    }
    let inv_last = (D::from(1.0) - sum).recip();
    (0..d * d)
        .map(|k| {
            let (i, j) = (k / d, k % d);
            if i == j {
                inv_last + theta[i].recip()
            } else {
                inv_last
            }
        })
        .collect()
}

/// KL(p‖q) = Σₖ pₖ ln(pₖ/qₖ) over K = `p.len() + 1` classes in free
/// coordinates: +∞ when some qₖ = 0 < pₖ, NaN when p or q is not a
/// probability vector.
pub fn kl_categorical(p: &[f64], q: &[f64]) -> f64 {
    let pk = 1.0 - p.iter().sum::<f64>();
    let qk = 1.0 - q.iter().sum::<f64>();
    if p.iter()
        .chain(q)
        .chain([&pk, &qk])
        .any(|v| v.is_nan() || *v < 0.0)
    {
        return f64::NAN;
    }
    let mut sum_d = 0.0;
    let mut kl = 0.0;
    for (&a, &b) in p.iter().zip(q) {
        let d = a - b;
        sum_d += d;
        kl += bd0(a, b, d);
    }
    kl + bd0(pk, qk, -sum_d)
}

#[bayesrg_core::register_model(
    tag = "categorical",
    summary = "categorical over `classes` classes in the free coordinates p1..p(K-1)",
    example = || Box::new(Categorical::new(3).expect("3 classes")),
    theta = || vec![0.2, 0.5]
)]
impl Model for Categorical {
    fn fisher_rao(&self) -> Option<&dyn ClosedFormGeometry> {
        Some(self)
    }
    fn param_names(&self) -> Vec<String> {
        checks::numbered("p", self.classes - 1)
    }
    fn obs_dim(&self) -> usize {
        1
    }
    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)?;
        for (i, &p) in theta.iter().enumerate() {
            checks::open_unit(&format!("p{}", i + 1), p)?;
        }
        let pk = Self::last(theta);
        if pk <= 0.0 {
            return Err(ParamError::Other(format!(
                "the last class probability p{} = 1 - ({}) = {pk} must be > 0",
                self.classes,
                self.param_names().join(" + ")
            )));
        }
        Ok(())
    }
    fn sample(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        for (i, &p) in theta.iter().enumerate() {
            acc += p;
            if u < acc {
                out[0] = i as f64;
                return;
            }
        }
        out[0] = (self.classes - 1) as f64;
    }
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        let c = y[0];
        if c < 0.0 || c.fract() != 0.0 || c >= self.classes as f64 {
            return f64::NEG_INFINITY;
        }
        let c = c as usize;
        if c < theta.len() {
            theta[c].ln()
        } else {
            // ln p_K = ln(1 − Σθᵢ) = ln_1p(−Σθᵢ): next to the vertex p_K ≈ 1,
            // 1 − Σθᵢ rounds to 1 and its logarithm to 0, and the exact sum
            // of KL (eq. 30) would lose its p_K ln(p_K/q_K) term (tryout 8, G3).
            (-theta.iter().sum::<f64>()).ln_1p()
        }
    }
    fn support(&self, theta: &[f64]) -> Option<Support> {
        Some(Support {
            points: (0..self.classes).map(|c| c as f64).collect(),
            probs: (0..self.classes).map(|c| Self::prob(theta, c)).collect(),
            tail_mass: 0.0,
        })
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        let c = y[0] as usize;
        if c < theta.len() {
            out.fill(0.0);
            out[c] = 1.0 / theta[c];
        } else {
            out.fill(-1.0 / Self::last(theta));
        }
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    ad_derivatives!(hessian);
    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        let d = theta.len();
        Some(DMatrix::from_row_slice(d, d, &fisher_entries(theta)))
    }
    fn fisher_derivatives(&self, theta: &[f64]) -> Option<MetricDerivatives> {
        Some(metric_derivatives(theta, fisher_entries))
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        Some(kl_categorical(a, b))
    }
}

/// The closed-form Fisher–Rao geometry (oracles.md §3): xᵢ = √pᵢ on the unit sphere (metric 4·round).
impl ClosedFormGeometry for Categorical {
    fn metric(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        Model::fisher(self, theta)
    }
    fn geodesic(&self, a: &[f64], b: &[f64]) -> Option<KnownGeodesic> {
        Some(cf::categorical_geodesic(a, b))
    }
    fn acceleration(&self, theta: &[f64], v: &[f64], out: &mut [f64]) -> Option<bool> {
        Some(cf::categorical_acceleration(theta, v, out))
    }
}

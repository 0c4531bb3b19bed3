//! Closed-form Fisher–Rao geometry of the built-in families (oracles.md §3):
//! distances, geodesic curves and their initial velocities, and the geodesic
//! equations θ̈ = −Γ(θ̇, θ̇) written out by hand.
//!
//! Every formula is written to keep its relative accuracy for points close
//! together and near the edge of the chart: differences of square roots as
//! (p − q)/(√p + √q), arccosh(1 + u) as 2·asinh(√(u/2)), arccos of a
//! Bhattacharyya sum as 2·atan2(‖x − y‖, ‖x + y‖).
//!
//! | family (`type`) | chart | geodesic |
//! |---|---|---|
//! | `normal` (μ, σ) | x = μ/√2, y = σ: the half-plane with metric 2(dx² + dy²)/y² | a half-circle or a vertical line; d = √2·2asinh(√(u/2)), u = (Δμ²/2 + Δσ²)/(2σ₁σ₂) |
//! | `normal_var` (μ, σ²), `mvn` with d = 1 | the same at σ = √v | |
//! | `poisson` λ | 2√λ is an arc-length coordinate | √λ linear in t; d = 2\|√λ₁ − √λ₂\| |
//! | `exponential` λ | ln λ is an arc-length coordinate | ln λ linear; d = \|ln(λ₁/λ₂)\| |
//! | `bernoulli` p | φ = arcsin√p, d = 2\|φ₁ − φ₂\| | φ linear |
//! | `categorical` p₁…p_{K−1} | xᵢ = √pᵢ on the unit sphere (metric 4·round) | a great circle; d = 2α, α the angle between x and y |
//! | `exp_family_finite` with d = n − 1 statistics | a reparametrisation of the full simplex | the categorical distance of p(θ₁), p(θ₂) (no curve) |
//! | `lattice_field` θⱼ (g = diag(1/(2θⱼ²))) | a product of lines in ln θⱼ/√2 | ln θⱼ linear; d = √(½Σ ln²(θⱼ′/θⱼ)) |
//! | `mvn_mean`, `linear_gaussian` | constant metric I (flat) | the straight line; d = √(ΔᵀIΔ) |
//! | `mvn` with equal means | Σ(t) = L(L⁻¹Σ₂L⁻ᵀ)ᵗLᵀ, Σ₁ = LLᵀ | d = √(½Σ ln²λᵢ(Σ₁⁻¹Σ₂)) |
//!
//! The geodesic equations (`acceleration`) are those of the same metrics:
//! Skovgaard (1984, *Scand. J. Statist.* 11:211) for the multivariate normal,
//! μ̈ = Σ̇Σ⁻¹μ̇, Σ̈ = Σ̇Σ⁻¹Σ̇ − μ̇μ̇ᵀ; for the categorical, from the sphere
//! embedding, p̈ₐ = ṗₐ²/(2pₐ) − pₐ·½Σ_{b≤K} ṗ_b²/p_b (ṗ_K = −Σṗₐ).
//!
//! Which closed form belongs to which model is not decided here: a family
//! exposes its geometry as a capability, [`Model::fisher_rao`] returning a
//! [`ClosedFormGeometry`], implemented in the family's own file (models/src/),
//! which calls the formulas of this module. Nothing here matches a type name.

use crate::error::Error;
use crate::model::{Model, type_name};
use crate::registry;
use nalgebra::{DMatrix, DVector};
use std::f64::consts::SQRT_2;

/// A closed-form distance d(θ₁, θ₂).
pub type Formula = fn(&[f64], &[f64]) -> f64;

/// A point of a closed-form geodesic as a function of t ∈ [0, 1].
pub type Curve = Box<dyn Fn(f64) -> Vec<f64> + Send + Sync>;

/// The closed-form geodesic between two points of a family.
pub struct KnownGeodesic {
    /// The family's name (a model type name).
    pub family: &'static str,
    /// The Fisher–Rao distance (per observation).
    pub distance: f64,
    /// The initial velocity θ̇(0) of the geodesic on t ∈ [0, 1], when known.
    pub velocity: Option<Vec<f64>>,
    /// θ(t), when known.
    pub curve: Option<Curve>,
}

impl std::fmt::Debug for KnownGeodesic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownGeodesic")
            .field("family", &self.family)
            .field("distance", &self.distance)
            .field("velocity", &self.velocity)
            .finish()
    }
}

impl KnownGeodesic {
    /// θ(t) on the closed-form geodesic, when the family has one.
    pub fn point(&self, t: f64) -> Option<Vec<f64>> {
        self.curve.as_ref().map(|c| c(t))
    }
}

/// sinh(tD)/sinh(D) and sinh((1 − t)D)/sinh(D), the weights of a geodesic
/// interpolation at hyperbolic distance D (→ t, 1 − t as D → 0).
fn sinh_weights(t: f64, big_d: f64) -> (f64, f64) {
    if big_d == 0.0 {
        return (1.0 - t, t);
    }
    let s = big_d.sinh();
    (((1.0 - t) * big_d).sinh() / s, (t * big_d).sinh() / s)
}

/// sin((1 − t)α)/sin α and sin(tα)/sin α (→ 1 − t, t as α → 0).
fn sin_weights(t: f64, alpha: f64) -> (f64, f64) {
    if alpha == 0.0 {
        return (1.0 - t, t);
    }
    let s = alpha.sin();
    (((1.0 - t) * alpha).sin() / s, (t * alpha).sin() / s)
}

/// Hyperbolic distance D of the normal half-plane (metric 2(dx² + dy²)/y²
/// with x = μ/√2, y = σ), so that the Fisher–Rao distance is √2·D.
fn normal_half_plane_d(a: &[f64], b: &[f64]) -> f64 {
    let dx = (a[0] - b[0]) / SQRT_2;
    let dy = a[1] - b[1];
    // cosh D = 1 + u; arccosh(1 + u) = 2 asinh(√(u/2)) keeps digits as u → 0.
    let u = (dx * dx + dy * dy) / (2.0 * a[1] * b[1]);
    2.0 * (0.5 * u).sqrt().asinh()
}

/// Normal (μ, σ): √2·arccosh(1 + (Δμ²/2 + Δσ²)/(2σ₁σ₂)), evaluated as
/// √2·2asinh(√(u/2)).
pub fn normal_sigma(a: &[f64], b: &[f64]) -> f64 {
    SQRT_2 * normal_half_plane_d(a, b)
}

/// Normal (μ, v = σ²): the (μ, σ) formula at σ = √v.
pub fn normal_var(a: &[f64], b: &[f64]) -> f64 {
    normal_sigma(&[a[0], a[1].sqrt()], &[b[0], b[1].sqrt()])
}

/// Poisson: 2|√λ₁ − √λ₂| = 2|λ₁ − λ₂|/(√λ₁ + √λ₂).
pub fn poisson(a: &[f64], b: &[f64]) -> f64 {
    2.0 * (a[0] - b[0]).abs() / (a[0].sqrt() + b[0].sqrt())
}

/// Exponential (rate): |ln(λ₁/λ₂)|.
pub fn exponential(a: &[f64], b: &[f64]) -> f64 {
    (a[0] / b[0]).ln().abs()
}

/// The signed angle φ₂ − φ₁ with φ = arcsin√p, from sin and cos of the
/// difference (no cancellation for close p, no loss near p = 1).
fn bernoulli_angle(p1: f64, p2: f64) -> f64 {
    let (s1, c1, s2, c2) = (p1.sqrt(), (1.0 - p1).sqrt(), p2.sqrt(), (1.0 - p2).sqrt());
    let sin = (p2 - p1) / (s2 * c1 + s1 * c2);
    let cos = s1 * s2 + c1 * c2;
    sin.atan2(cos)
}

/// Bernoulli: 2|arcsin√p − arcsin√q|.
pub fn bernoulli(a: &[f64], b: &[f64]) -> f64 {
    2.0 * bernoulli_angle(a[0], b[0]).abs()
}

/// The full probability vectors (p₁…p_K) of two categorical points in free
/// coordinates, and the differences pᵢ − qᵢ (the last one as Σ(qᵢ − pᵢ)).
fn full_probs(a: &[f64], b: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut p = a.to_vec();
    let mut q = b.to_vec();
    let mut diff: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    p.push(1.0 - a.iter().sum::<f64>());
    q.push(1.0 - b.iter().sum::<f64>());
    diff.push(-diff.iter().sum::<f64>());
    (p, q, diff)
}

/// The angle α between x = √p and y = √q on the unit sphere:
/// 2·atan2(‖x − y‖, ‖x + y‖), with xᵢ − yᵢ = (pᵢ − qᵢ)/(√pᵢ + √qᵢ).
fn sphere_angle(p: &[f64], q: &[f64], diff: &[f64]) -> f64 {
    let (mut minus, mut plus) = (0.0, 0.0);
    for i in 0..p.len() {
        let (x, y) = (p[i].sqrt(), q[i].sqrt());
        let m = if x + y > 0.0 { diff[i] / (x + y) } else { 0.0 };
        minus += m * m;
        plus += (x + y) * (x + y);
    }
    2.0 * minus.sqrt().atan2(plus.sqrt())
}

/// Categorical in the K − 1 free coordinates: 2·arccos Σ√(pᵢqᵢ), evaluated
/// as twice the sphere angle 2·atan2(‖√p − √q‖, ‖√p + √q‖).
pub fn categorical(a: &[f64], b: &[f64]) -> f64 {
    let (p, q, diff) = full_probs(a, b);
    2.0 * sphere_angle(&p, &q, &diff)
}

/// Lattice free field (g = diag(1/(2θⱼ²))): √(½ Σⱼ ln²(θⱼ′/θⱼ)).
pub fn lattice_field(a: &[f64], b: &[f64]) -> f64 {
    (0.5 * a
        .iter()
        .zip(b)
        .map(|(x, y)| (y / x).ln().powi(2))
        .sum::<f64>())
    .sqrt()
}

/// The closed-form Fisher–Rao geometry of a family: a model capability
/// ([`Model::fisher_rao`]), implemented in the family's own file with the
/// formulas of this module (oracles.md §3).
///
/// Points are valid points of the family (`check_params`) of the dimension
/// the family's model has; distances are per observation.
pub trait ClosedFormGeometry: Send + Sync {
    /// The dimension the formulas are written for, or `None` when they hold
    /// in every dimension of the family (categorical, lattice, `mvn`).
    fn chart_dim(&self) -> Option<usize> {
        None
    }

    /// The Fisher metric g(θ) (eq. 29, per observation) these formulas are
    /// the geometry of, written out in closed form: a named closed form is
    /// accepted for another model only where the two metrics agree
    /// ([`check_named`]). `None` when it cannot be written for this θ.
    fn metric(&self, theta: &[f64]) -> Option<DMatrix<f64>>;

    /// The closed-form geodesic from `a` to `b` (distance, initial velocity,
    /// curve), or `None` when this pair has none (an `mvn` pair with unequal
    /// means).
    fn geodesic(&self, a: &[f64], b: &[f64]) -> Option<KnownGeodesic>;

    /// The Fisher–Rao distance d(a, b), or `None` when it is not known for
    /// this pair. The default takes it from [`ClosedFormGeometry::geodesic`].
    fn distance(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        self.geodesic(a, b).map(|g| g.distance)
    }

    /// The geodesic acceleration θ̈ = −Γ(θ̇, θ̇) in closed form, written into
    /// `out` (θ, θ̇ and `out` of the family's dimension): `None` when the
    /// family has none (then Γ comes from differences of the metric),
    /// `Some(false)` when θ is outside the family's parameter space,
    /// `Some(true)` when `out` holds θ̈.
    fn acceleration(&self, _theta: &[f64], _v: &[f64], _out: &mut [f64]) -> Option<bool> {
        None
    }
}

/// The closed-form geometry of a model named in a config (`closed_form =
/// "normal"`): the catalogue's example model of that type, whose
/// [`Model::fisher_rao`] capability is used. Built by [`check_named`].
#[derive(Debug)]
pub struct NamedGeometry {
    /// The registered type tag.
    pub name: String,
    model: Box<dyn Model>,
}

impl NamedGeometry {
    /// The geometry (always present: [`check_named`] refuses families without one).
    pub fn geometry(&self) -> Option<&dyn ClosedFormGeometry> {
        self.model.fisher_rao()
    }

    /// The closed-form distance d(a, b) of the named family.
    pub fn distance(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        self.geometry()?.distance(a, b)
    }
}

/// The registered type tags whose models have a closed-form geometry
/// ([`Model::fisher_rao`]), sorted: the names [`check_named`] knows.
pub fn names() -> Vec<&'static str> {
    registry::models()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| (e.example)().fisher_rao().is_some())
        .map(|e| e.tag)
        .collect()
}

/// Checks that the closed form of the registered model type `name` is the
/// Fisher–Rao distance of `model`, and returns it: the name is a catalogued
/// type with a closed-form geometry ([`names`]), the model has the
/// dimension the formulas are written for ([`ClosedFormGeometry::chart_dim`]),
/// and at every point of `points` (name, θ; valid points of the model) the
/// model's exact Fisher metric ([`Model::fisher`]) equals the metric the
/// closed form is written for ([`ClosedFormGeometry::metric`]), to a relative
/// 10⁻⁸ (Frobenius). The test is on the geometry, not on the model's type
/// name, so a closed form of another family, of another dimension or of the
/// same family in another chart (`normal` for `normal_var`) is refused.
///
/// # Errors
/// [`Error::Domain`] on the field `closed_form`, naming what does not match
/// (bad input): an unknown name, a wrong dimension, a model without an exact
/// Fisher metric, or a metric that differs (with the relative difference and
/// the point).
pub fn check_named(
    model: &dyn Model,
    name: &str,
    points: &[(&str, &[f64])],
) -> Result<NamedGeometry, Error> {
    let refuse = |why: String| Error::domain("closed_form", format!("`{name}`"), why);
    let entry = registry::models()
        .unwrap_or_default()
        .into_iter()
        .find(|e| e.tag == name);
    let named = entry.map(|e| (e.example)());
    let Some(geometry) = named.as_ref().and_then(|m| m.fisher_rao()) else {
        return Err(refuse(format!(
            "is not a known closed form; known: {}",
            names().join(", ")
        )));
    };
    let family = type_name(model);
    let dim = model.dim();
    if let Some(n) = geometry.chart_dim()
        && n != dim
    {
        return Err(refuse(format!(
            "is the distance of a {n}-parameter family, but model `{family}` has {dim} parameters"
        )));
    }
    for (where_, theta) in points {
        let Some(g_named) = geometry.metric(theta) else {
            return Err(refuse(format!("has no metric at `{where_}` to compare")));
        };
        let Some(g_model) = model.fisher(theta) else {
            return Err(refuse(format!(
                "cannot be checked: model `{family}` has no exact Fisher metric to compare with"
            )));
        };
        if g_model.shape() != g_named.shape() {
            return Err(refuse(format!(
                "is written for {} parameters at `{where_}`, but model `{family}` has {dim}",
                g_named.nrows()
            )));
        }
        let rel = (&g_model - &g_named).norm() / g_named.norm();
        if rel.is_nan() || rel > 1e-8 {
            return Err(refuse(format!(
                "is not the distance of model `{family}`: its Fisher metric at `{where_}` = {theta:?} \
                 differs from the model's by a relative {rel:.3e} (another family or chart)"
            )));
        }
    }
    Ok(NamedGeometry {
        name: name.to_string(),
        model: named.expect("checked above"),
    })
}

/// The closed-form Fisher–Rao geometry of `model` ([`Model::fisher_rao`]):
/// the geodesic between the valid points `a` and `b`, or `None` when the
/// family (or this pair) has none.
pub fn for_model(model: &dyn Model, a: &[f64], b: &[f64]) -> Option<KnownGeodesic> {
    model.fisher_rao()?.geodesic(a, b)
}

/// The closed-form geodesic of the normal family in (μ, σ).
///
/// Curve: in light-cone coordinates of the hyperboloid, A = 1/y and C = x/y
/// (x = μ/√2, y = σ), a geodesic is [sinh((1−t)D)P₁ + sinh(tD)P₂]/sinh D; A is
/// a sum of positive terms, so σ(t) = 1/A(t) keeps its digits. Velocity: the
/// isometry z ↦ (z − x₁)/y₁ sends θ₁ to i and θ₂ to p + iq; the geodesic leaves
/// i along (2p, p² + q² − 1) (tangent to the half-circle through i and p + iq).
pub fn normal_geodesic(a: &[f64], b: &[f64]) -> KnownGeodesic {
    let big_d = normal_half_plane_d(a, b);
    let (x1, y1, x2, y2) = (a[0] / SQRT_2, a[1], b[0] / SQRT_2, b[1]);
    let p = (b[0] - a[0]) / SQRT_2 / y1;
    let qm1 = (b[1] - a[1]) / y1;
    let q = b[1] / y1;
    let dir = [2.0 * p, p * p + qm1 * (q + 1.0)];
    let n = dir[0].hypot(dir[1]);
    let velocity = if n > 0.0 {
        let s = big_d * y1 / n;
        vec![SQRT_2 * dir[0] * s, dir[1] * s]
    } else {
        vec![0.0, 0.0]
    };
    let curve: Curve = Box::new(move |t| {
        let (w1, w2) = sinh_weights(t, big_d);
        let aa = w1 / y1 + w2 / y2;
        let cc = w1 * x1 / y1 + w2 * x2 / y2;
        vec![SQRT_2 * cc / aa, 1.0 / aa]
    });
    KnownGeodesic {
        family: "normal",
        distance: SQRT_2 * big_d,
        velocity: Some(velocity),
        curve: Some(curve),
    }
}

/// The closed-form geodesic of the normal family in (μ, v = σ²): the (μ, σ)
/// geodesic with v = σ², v̇ = 2σσ̇.
pub fn normal_var_geodesic(a: &[f64], b: &[f64]) -> KnownGeodesic {
    let s = normal_geodesic(&[a[0], a[1].sqrt()], &[b[0], b[1].sqrt()]);
    let velocity = s.velocity.map(|v| vec![v[0], 2.0 * a[1].sqrt() * v[1]]);
    let inner = s.curve.expect("the normal geodesic has a curve");
    KnownGeodesic {
        family: "normal_var",
        distance: s.distance,
        velocity,
        curve: Some(Box::new(move |t| {
            let p = inner(t);
            vec![p[0], p[1] * p[1]]
        })),
    }
}

/// Poisson: √λ(t) = (1 − t)√λ₁ + t√λ₂.
pub fn poisson_geodesic(a: &[f64], b: &[f64]) -> KnownGeodesic {
    let (r1, r2) = (a[0].sqrt(), b[0].sqrt());
    let dr = (b[0] - a[0]) / (r1 + r2);
    KnownGeodesic {
        family: "poisson",
        distance: poisson(a, b),
        velocity: Some(vec![2.0 * r1 * dr]),
        curve: Some(Box::new(move |t| vec![(r1 + t * dr).powi(2)])),
    }
}

/// Exponential: λ(t) = λ₁e^{t ln(λ₂/λ₁)}.
pub fn exponential_geodesic(a: &[f64], b: &[f64]) -> KnownGeodesic {
    let r = (b[0] / a[0]).ln();
    let l1 = a[0];
    KnownGeodesic {
        family: "exponential",
        distance: r.abs(),
        velocity: Some(vec![l1 * r]),
        curve: Some(Box::new(move |t| vec![l1 * (t * r).exp()])),
    }
}

/// Bernoulli: φ = arcsin√p linear in t, p = sin²φ, ṗ = sin(2φ)φ̇.
pub fn bernoulli_geodesic(a: &[f64], b: &[f64]) -> KnownGeodesic {
    let delta = bernoulli_angle(a[0], b[0]);
    let phi1 = a[0].sqrt().atan2((1.0 - a[0]).sqrt());
    KnownGeodesic {
        family: "bernoulli",
        distance: 2.0 * delta.abs(),
        velocity: Some(vec![2.0 * (a[0] * (1.0 - a[0])).sqrt() * delta]),
        curve: Some(Box::new(move |t| vec![(phi1 + t * delta).sin().powi(2)])),
    }
}

/// Categorical: the great circle x(t) = [sin((1−t)α)x + sin(tα)y]/sin α of
/// x = √p, y = √q; p(t) = x(t)², ṗᵢ = 2xᵢẋᵢ with
/// ẋ(0) = α(y − cos α·x)/sin α, y − cos α·x = (y − x) + 2sin²(α/2)x.
pub fn categorical_geodesic(a: &[f64], b: &[f64]) -> KnownGeodesic {
    let (p, q, diff) = full_probs(a, b);
    let alpha = sphere_angle(&p, &q, &diff);
    let x: Vec<f64> = p.iter().map(|v| v.sqrt()).collect();
    let y: Vec<f64> = q.iter().map(|v| v.sqrt()).collect();
    let k = a.len();
    let f = if alpha > 0.0 {
        alpha / alpha.sin()
    } else {
        1.0
    };
    let h = 2.0 * (0.5 * alpha).sin().powi(2);
    let velocity = (0..k)
        .map(|i| {
            let ymx = if x[i] + y[i] > 0.0 {
                -diff[i] / (x[i] + y[i])
            } else {
                0.0
            };
            2.0 * x[i] * f * (ymx + h * x[i])
        })
        .collect();
    KnownGeodesic {
        family: "categorical",
        distance: 2.0 * alpha,
        velocity: Some(velocity),
        curve: Some(Box::new(move |t| {
            let (w1, w2) = sin_weights(t, alpha);
            (0..k).map(|i| (w1 * x[i] + w2 * y[i]).powi(2)).collect()
        })),
    }
}

/// Lattice free field: ln θⱼ linear in t.
pub fn lattice_field_geodesic(a: &[f64], b: &[f64]) -> KnownGeodesic {
    let r: Vec<f64> = a.iter().zip(b).map(|(x, y)| (y / x).ln()).collect();
    let a0 = a.to_vec();
    KnownGeodesic {
        family: "lattice_field",
        distance: lattice_field(a, b),
        velocity: Some(a.iter().zip(&r).map(|(x, r)| x * r).collect()),
        curve: Some(Box::new(move |t| {
            a0.iter().zip(&r).map(|(x, r)| x * (t * r).exp()).collect()
        })),
    }
}

/// A flat family (constant metric I, e.g. `mvn_mean`, `linear_gaussian`):
/// the straight line, d = √(ΔᵀIΔ).
pub fn flat_geodesic(
    family: &'static str,
    metric: &DMatrix<f64>,
    a: &[f64],
    b: &[f64],
) -> KnownGeodesic {
    let delta = DVector::from_iterator(a.len(), a.iter().zip(b).map(|(x, y)| y - x));
    let d2 = delta.dot(&(metric * &delta));
    let a0 = a.to_vec();
    let dl = delta.as_slice().to_vec();
    KnownGeodesic {
        family,
        distance: d2.max(0.0).sqrt(),
        velocity: Some(dl.clone()),
        curve: Some(Box::new(move |t| {
            a0.iter().zip(&dl).map(|(x, d)| x + t * d).collect()
        })),
    }
}

/// Index of Σᵢⱼ (i ≥ j, from 0) in the `mvn` parameter vector of dimension d.
fn mvn_index(d: usize, i: usize, j: usize) -> usize {
    d + i * (i + 1) / 2 + j
}

/// (μ, Σ) of an `mvn` parameter vector θ with mean dimension d.
fn mvn_unpack(d: usize, theta: &[f64]) -> (DVector<f64>, DMatrix<f64>) {
    let mu = DVector::from_column_slice(&theta[..d]);
    let mut s = DMatrix::zeros(d, d);
    for i in 0..d {
        for j in 0..=i {
            let v = theta[mvn_index(d, i, j)];
            s[(i, j)] = v;
            s[(j, i)] = v;
        }
    }
    (mu, s)
}

/// The mean dimension d of an `mvn` parameter vector of length d + d(d+1)/2.
fn mvn_dim(n: usize) -> Option<usize> {
    (1..=8).find(|d| d + d * (d + 1) / 2 == n)
}

/// `mvn` with equal means: Σ(t) = L·exp(t·log M)·Lᵀ, M = L⁻¹Σ₂L⁻ᵀ, Σ₁ = LLᵀ;
/// d = √(½Σ ln²λᵢ(M)) (oracles.md §3, centred MVN). None unless μ₁ = μ₂ exactly.
pub fn mvn_same_mean_geodesic(a: &[f64], b: &[f64]) -> Option<KnownGeodesic> {
    let d = mvn_dim(a.len())?;
    if a[..d] != b[..d] {
        return None;
    }
    let (_, s1) = mvn_unpack(d, a);
    let (_, s2) = mvn_unpack(d, b);
    let l = s1.cholesky()?.l();
    let li = l.clone().try_inverse()?;
    let m = &li * s2 * li.transpose();
    let m = (&m + m.transpose()) * 0.5;
    let eig = m.symmetric_eigen();
    if eig.eigenvalues.iter().any(|v| *v <= 0.0) {
        return None;
    }
    let logs: Vec<f64> = eig.eigenvalues.iter().map(|v| v.ln()).collect();
    let dist = (0.5 * logs.iter().map(|x| x * x).sum::<f64>()).sqrt();
    let q = eig.eigenvectors;
    let at = move |f: &dyn Fn(f64) -> f64| {
        let diag = DMatrix::from_diagonal(&DVector::from_iterator(d, logs.iter().map(|x| f(*x))));
        &l * &q * diag * q.transpose() * l.transpose()
    };
    let pack = move |mu: &[f64], s: &DMatrix<f64>| {
        let mut out = mu.to_vec();
        for i in 0..d {
            for j in 0..=i {
                out.push(0.5 * (s[(i, j)] + s[(j, i)]));
            }
        }
        out
    };
    let sdot = at(&|x| x);
    let mut velocity = vec![0.0; d];
    velocity.extend(pack(&[], &sdot));
    let mu = a[..d].to_vec();
    Some(KnownGeodesic {
        family: "mvn",
        distance: dist,
        velocity: Some(velocity),
        curve: Some(Box::new(move |t| pack(&mu, &at(&|x| (t * x).exp())))),
    })
}

/// The probabilities p(y = k | θ), k = 0…n−1, of a model with finite support
/// {0, …, n−1} when n = dim + 1 (a full reparametrised simplex): None unless
/// outcome n has probability 0 and p sums to 1.
fn full_simplex_probs(model: &dyn Model, theta: &[f64]) -> Option<Vec<f64>> {
    let n = theta.len() + 1;
    if model.log_likelihood(theta, &[n as f64]) != f64::NEG_INFINITY {
        return None;
    }
    let p: Vec<f64> = (0..n)
        .map(|k| model.log_likelihood(theta, &[k as f64]).exp())
        .collect();
    let s: f64 = p.iter().sum();
    ((s - 1.0).abs() < 1e-12 && p.iter().all(|v| *v > 0.0)).then_some(p)
}

/// The geodesic of a model whose n outcomes have probabilities
/// ln pₖ = θ·Tₖ − A(θ) with n − 1 parameters (eq. (27) with as many statistics
/// as free probabilities: the full simplex in natural coordinates). The curve
/// is the categorical great circle p(t) of p(θ₁), p(θ₂) pulled back by
/// θ = M⁻¹(ln pₖ − ln p₀ − cₖ)ₖ, M = (Tₖ − T₀)ₖ, and θ̇(0) = M⁻¹(ṗₖ/pₖ − ṗ₀/p₀)ₖ.
/// M is read from the model's log-likelihoods (ln pₖ − ln p₀ is affine in θ),
/// and None is returned unless that affine map reproduces θ₂. The chart's
/// edge is at infinity in θ (p → 0 at finite Fisher distance), so shooting
/// from a poor guess can blow up; this velocity is the good guess.
fn full_simplex_geodesic(model: &dyn Model, a: &[f64], b: &[f64]) -> Option<KnownGeodesic> {
    let p = full_simplex_probs(model, a)?;
    let q = full_simplex_probs(model, b)?;
    let n = p.len();
    let d = n - 1;
    // ln pₖ − ln p₀ at θ: the logits relative to outcome 0.
    let logits = |theta: &[f64]| -> Option<DVector<f64>> {
        let l0 = model.log_likelihood(theta, &[0.0]);
        let v = DVector::from_iterator(
            d,
            (1..n).map(|k| model.log_likelihood(theta, &[k as f64]) - l0),
        );
        v.iter().all(|x| x.is_finite()).then_some(v)
    };
    let base = logits(a)?;
    let mut mm = DMatrix::zeros(d, d);
    for j in 0..d {
        let mut t = a.to_vec();
        t[j] += 1.0;
        mm.set_column(j, &(logits(&t)? - &base));
    }
    let c = &base - &mm * DVector::from_column_slice(a);
    let lu = mm.lu();
    let back = lu.solve(&(logits(b)? - &c))?;
    let scale = b.iter().fold(1.0_f64, |s, x| s.max(x.abs()));
    if back
        .iter()
        .zip(b)
        .any(|(x, y)| (x - y).abs() > 1e-8 * scale)
    {
        return None;
    }
    let diff: Vec<f64> = p.iter().zip(&q).map(|(x, y)| x - y).collect();
    let alpha = sphere_angle(&p, &q, &diff);
    // ṗ(0) of the great circle in the free coordinates p₀…p_{n−2}; the last
    // outcome's rate is minus their sum.
    let pdot_free = categorical_geodesic(&p[..d], &q[..d]).velocity?;
    let pdot_last = -pdot_free.iter().sum::<f64>();
    let pdot = |k: usize| if k < d { pdot_free[k] } else { pdot_last };
    let rhs = DVector::from_iterator(d, (1..n).map(|k| pdot(k) / p[k] - pdot(0) / p[0]));
    let velocity = lu.solve(&rhs)?.as_slice().to_vec();
    let x: Vec<f64> = p.iter().map(|v| v.sqrt()).collect();
    let y: Vec<f64> = q.iter().map(|v| v.sqrt()).collect();
    let curve: Curve = Box::new(move |t| {
        let (w1, w2) = sin_weights(t, alpha);
        let r0 = w1 * x[0] + w2 * y[0];
        let l =
            DVector::from_iterator(d, (1..n).map(|k| 2.0 * ((w1 * x[k] + w2 * y[k]) / r0).ln()));
        lu.solve(&(l - &c))
            .map(|v| v.as_slice().to_vec())
            .unwrap_or_else(|| vec![f64::NAN; d])
    });
    Some(KnownGeodesic {
        family: "exp_family_finite",
        distance: 2.0 * alpha,
        velocity: Some(velocity),
        curve: Some(curve),
    })
}

/// `mvn`: the normal-variance geodesic when d = 1, else the equal-mean
/// geodesic ([`mvn_same_mean_geodesic`]); `None` for other pairs.
pub fn mvn_geodesic(a: &[f64], b: &[f64]) -> Option<KnownGeodesic> {
    if a.len() == 2 {
        let mut g = normal_var_geodesic(a, b);
        g.family = "mvn";
        return Some(g);
    }
    mvn_same_mean_geodesic(a, b)
}

/// The geodesic of a model whose n outcomes have probabilities
/// ln pₖ = θ·Tₖ − A(θ) with n − 1 parameters (the full simplex in natural
/// coordinates); see `full_simplex_geodesic`. `None` when `model` is not
/// such a family at these points.
pub fn exp_family_full_simplex_geodesic(
    model: &dyn Model,
    a: &[f64],
    b: &[f64],
) -> Option<KnownGeodesic> {
    full_simplex_geodesic(model, a, b)
}

fn positive(x: &f64) -> bool {
    *x > 0.0 && x.is_finite()
}

/// Normal (μ, σ): Γ^μ_μσ = −1/σ, Γ^σ_μμ = 1/(2σ), Γ^σ_σσ = −1/σ. The return
/// value follows [`ClosedFormGeometry::acceleration`].
pub fn normal_acceleration(theta: &[f64], v: &[f64], out: &mut [f64]) -> bool {
    let s = theta[1];
    out[0] = 2.0 * v[0] * v[1] / s;
    out[1] = (v[1] * v[1] - 0.5 * v[0] * v[0]) / s;
    positive(&s)
}

/// Normal (μ, v = σ²): the `mvn` equations with d = 1.
pub fn normal_var_acceleration(theta: &[f64], v: &[f64], out: &mut [f64]) -> bool {
    positive(&theta[1]) && mvn_acceleration(1, theta, v, out)
}

/// `mvn` (μ, Σ) of any dimension: Skovgaard's equations; `None` when the
/// length of θ is not d + d(d+1)/2 for a d ≤ 8.
pub fn mvn_geodesic_acceleration(theta: &[f64], v: &[f64], out: &mut [f64]) -> Option<bool> {
    Some(mvn_acceleration(mvn_dim(theta.len())?, theta, v, out))
}

/// Poisson: λ̈ = λ̇²/(2λ).
pub fn poisson_acceleration(theta: &[f64], v: &[f64], out: &mut [f64]) -> bool {
    out[0] = v[0] * v[0] / (2.0 * theta[0]);
    positive(&theta[0])
}

/// Exponential (rate): λ̈ = λ̇²/λ.
pub fn exponential_acceleration(theta: &[f64], v: &[f64], out: &mut [f64]) -> bool {
    out[0] = v[0] * v[0] / theta[0];
    positive(&theta[0])
}

/// Bernoulli: p̈ = (½ − p)ṗ²/(p(1 − p)).
pub fn bernoulli_acceleration(theta: &[f64], v: &[f64], out: &mut [f64]) -> bool {
    let p = theta[0];
    out[0] = (0.5 - p) * v[0] * v[0] / (p * (1.0 - p));
    positive(&p) && p < 1.0
}

/// Lattice free field: θ̈ⱼ = θ̇ⱼ²/θⱼ.
pub fn lattice_field_acceleration(theta: &[f64], v: &[f64], out: &mut [f64]) -> bool {
    for i in 0..theta.len() {
        out[i] = v[i] * v[i] / theta[i];
    }
    theta.iter().all(positive)
}

/// Categorical: p̈ₐ = ṗₐ²/(2pₐ) − pₐ·½Σ_{b≤K} ṗ_b²/p_b (ṗ_K = −Σṗₐ).
pub fn categorical_acceleration(theta: &[f64], v: &[f64], out: &mut [f64]) -> bool {
    let pk = 1.0 - theta.iter().sum::<f64>();
    let vk = -v.iter().sum::<f64>();
    let s: f64 = theta.iter().zip(v).map(|(p, u)| u * u / p).sum::<f64>() + vk * vk / pk;
    for i in 0..theta.len() {
        out[i] = v[i] * v[i] / (2.0 * theta[i]) - 0.5 * theta[i] * s;
    }
    theta.iter().all(positive) && positive(&pk)
}

/// ln √det I(θ) of the gamma (k, β), det I = (kψ′(k) − 1)/β²
/// ([`crate::special::ln_trigamma_excess`]): full relative accuracy at every
/// shape, finite down to k = 10⁻³⁰⁰ (ln √det I = 345.39 at (10⁻³⁰⁰, 1)), where a Cholesky factor of I loses a factor 2k. `None` outside the
/// chart. The gamma family returns it through
/// [`crate::Model::fisher_ln_sqrt_det`].
pub fn gamma_ln_sqrt_det(theta: &[f64]) -> Option<f64> {
    (theta.len() == 2 && theta.iter().all(|x| *x > 0.0 && x.is_finite()))
        .then(|| 0.5 * crate::special::ln_trigamma_excess(theta[0]) - theta[1].ln())
}

/// μ̈ = Σ̇Σ⁻¹μ̇, Σ̈ = Σ̇Σ⁻¹Σ̇ − μ̇μ̇ᵀ (Skovgaard 1984) in the `mvn` chart.
/// False when Σ is not positive definite.
fn mvn_acceleration(d: usize, theta: &[f64], v: &[f64], out: &mut [f64]) -> bool {
    let (_, s) = mvn_unpack(d, theta);
    let (mu_dot, s_dot) = mvn_unpack(d, v);
    if theta.iter().any(|x| !x.is_finite()) {
        return false;
    }
    let Some(c) = s.cholesky() else {
        out.fill(f64::NAN);
        return false;
    };
    let a = c.solve(&mu_dot); // Σ⁻¹μ̇
    let b = c.solve(&s_dot); // Σ⁻¹Σ̇
    let mu_dd = &s_dot * a;
    let s_dd = &s_dot * b - &mu_dot * mu_dot.transpose();
    out[..d].copy_from_slice(mu_dd.as_slice());
    for i in 0..d {
        for j in 0..=i {
            out[mvn_index(d, i, j)] = 0.5 * (s_dd[(i, j)] + s_dd[(j, i)]);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::christoffel::christoffel;
    use crate::geometry::{FnMetric, Metric, testmodels};

    /// Mpmath values (40 digits) of tests/oracles/geodesic_distances.py,
    /// pasted as printed (20 digits; the compiler rounds to the nearest double).
    #[test]
    #[allow(clippy::excessive_precision)]
    fn distances_against_mpmath() {
        let cases: [(Formula, &[f64], &[f64], f64); 9] = [
            (exponential, &[1.0], &[1000.0], 6.9077552789821370521),
            (exponential, &[1e6], &[1e-6], 27.631021115928548208),
            (
                categorical,
                &[0.001, 0.5],
                &[0.3, 0.3],
                1.1043525202105709459,
            ),
            (
                categorical,
                &[1e-6, 0.5],
                &[0.3, 0.3],
                1.1651118707028665211,
            ),
            (
                categorical,
                &[1e-6, 0.5],
                &[0.5, 1e-6],
                2.0911298851446668905,
            ),
            (
                normal_sigma,
                &[0.0, 1.0],
                &[1e5, 1.0],
                31.583212527400075125,
            ),
            (
                normal_sigma,
                &[0.0, 1e-6],
                &[1e-6, 1e6],
                39.076164804363524335,
            ),
            (
                normal_sigma,
                &[-3.0, 1e-4],
                &[20.0, 30.0],
                18.19978314738470739,
            ),
            (poisson, &[1e-8], &[1e15], 63245553.20316758664),
        ];
        for (f, a, b, want) in cases {
            let got = f(a, b);
            assert!(
                (got - want).abs() <= 1e-14 * want,
                "{a:?} {b:?}: {got} vs {want}"
            );
        }
        let c6 = categorical(&[1e-6, 0.2, 0.3, 1e-4, 0.1], &[0.2, 1e-5, 0.1, 0.4, 0.2]);
        assert!((c6 - 2.041381649995180993).abs() < 1e-14 * c6);
    }

    #[test]
    fn stable_forms_keep_digits_for_close_points() {
        // Oracle: mpmath, normal (0.3, 2) → (0.3 + 1e-9, 2): d = 5.0000000000000003e-10
        // (the f64 input 0.3 + 1e-9 differs from the decimal by < 1e-25). The
        // textbook √2·arccosh(1 + u) loses half the digits here; the check can
        // fail: the arccosh form is off by more than 1e-8.
        let (a, b) = ([0.3, 2.0], [0.3 + 1e-9, 2.0]);
        let exact = ((b[0] - a[0]) / 2.0) * (1.0 + 0.0); // Δμ/σ·(1/√2)·√2 = Δμ/2
        let stable = normal_sigma(&a, &b);
        assert!((stable - exact).abs() < 1e-15 * exact, "{stable} {exact}");
        let naive =
            2f64.sqrt() * (1.0 + ((a[0] - b[0]).powi(2) / 2.0) / (2.0 * a[1] * b[1])).acosh();
        assert!((naive - exact).abs() > 1e-8 * exact, "{naive}");
        // The same for the Bhattacharyya angle: arccos Σ√(pq) near 1.
        let (p, q) = ([0.2, 0.3], [0.2 + 1e-9, 0.3]);
        let d = categorical(&p, &q);
        let want = categorical_distance_small(&p, &q);
        assert!((d - want).abs() < 1e-7 * want, "{d} {want}");
        let bc: f64 = (p[0] * q[0]).sqrt() + (p[1] * q[1]).sqrt() + (0.5 * (0.5 - 1e-9f64)).sqrt();
        let naive = 2.0 * bc.min(1.0).acos();
        assert!((naive - want).abs() > 1e-4 * want, "{naive} {want}");
    }

    /// For nearby points, d² ≈ δᵀI(p)δ with I = diag(1/p) + 1/p_K (oracles.md §1).
    fn categorical_distance_small(p: &[f64], q: &[f64]) -> f64 {
        let dp: Vec<f64> = p.iter().zip(q).map(|(a, b)| b - a).collect();
        let pk = 1.0 - p.iter().sum::<f64>();
        let s: f64 = dp.iter().sum();
        (dp.iter().zip(p).map(|(d, p)| d * d / p).sum::<f64>() + s * s / pk).sqrt()
    }

    fn exponential_metric() -> impl Metric {
        FnMetric::new(1, |t: &[f64]| {
            (t[0] > 0.0).then(|| DMatrix::from_element(1, 1, 1.0 / (t[0] * t[0])))
        })
    }

    fn lattice_metric() -> impl Metric {
        FnMetric::new(3, |t: &[f64]| {
            t.iter().all(|x| *x > 0.0).then(|| {
                DMatrix::from_diagonal(&DVector::from_iterator(3, t.iter().map(|x| 0.5 / (x * x))))
            })
        })
    }

    /// Checks a closed-form geodesic against the metric `m`: the curve starts at
    /// a and ends at b, its derivative at 0 is the velocity, and its speed in
    /// the metric is the distance all along (a geodesic on [0, 1] has constant
    /// speed d). Returns the worst relative error seen.
    fn check_geodesic(m: &dyn Metric, k: &KnownGeodesic, a: &[f64], b: &[f64]) -> f64 {
        let c = k.curve.as_ref().unwrap();
        let v = k.velocity.as_ref().unwrap();
        let rel = |x: &[f64], y: &[f64]| {
            x.iter()
                .zip(y)
                .map(|(p, q)| (p - q).abs() / q.abs().max(1e-300))
                .fold(0.0, f64::max)
        };
        let mut worst = rel(&c(0.0), a).max(rel(&c(1.0), b));
        // Five-point derivative on [0, 1] interior points, and at 0 one-sided.
        for t in [0.1, 0.37, 0.5, 0.81] {
            let h = 1e-4;
            let p = c(t);
            let dp: Vec<f64> = (0..a.len())
                .map(|i| {
                    (-c(t + 2.0 * h)[i] + 8.0 * c(t + h)[i] - 8.0 * c(t - h)[i] + c(t - 2.0 * h)[i])
                        / (12.0 * h)
                })
                .collect();
            let g = m.metric(&p).unwrap();
            let dv = DVector::from_vec(dp);
            let speed = dv.dot(&(g * &dv)).sqrt();
            worst = worst.max((speed - k.distance).abs() / k.distance);
        }
        let h = 1e-5;
        let d0: Vec<f64> = (0..a.len())
            .map(|i| (-3.0 * c(0.0)[i] + 4.0 * c(h)[i] - c(2.0 * h)[i]) / (2.0 * h))
            .collect();
        let g = m.metric(a).unwrap();
        let diff = DVector::from_iterator(a.len(), d0.iter().zip(v).map(|(x, y)| x - y));
        worst.max(diff.dot(&(g * &diff)).sqrt() / k.distance * 1e-2)
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn closed_form_curves_are_constant_speed_geodesics_of_their_metrics() {
        // Oracle: the Fisher metrics of oracles.md §1 (test models): a curve
        // with the right ends, speed d all along and the stated velocity at 0.
        // (Constant speed d between the right ends at length d is a minimising
        // geodesic.) The velocity term carries the O(h²) error of a one-sided
        // difference, scaled by 1e-2.
        let cases: Vec<(Box<dyn Metric>, KnownGeodesic, Vec<f64>, Vec<f64>)> = vec![
            (
                Box::new(testmodels::normal_sigma()),
                normal_geodesic(&[-1.0, 0.5], &[2.0, 0.8]),
                vec![-1.0, 0.5],
                vec![2.0, 0.8],
            ),
            (
                Box::new(testmodels::normal_sigma()),
                normal_geodesic(&[0.0, 1e-3], &[10.0, 1e-3]),
                vec![0.0, 1e-3],
                vec![10.0, 1e-3],
            ),
            (
                Box::new(testmodels::normal_sigma()),
                normal_geodesic(&[0.3, 2.0], &[0.3, 1e-4]),
                vec![0.3, 2.0],
                vec![0.3, 1e-4],
            ),
            (
                Box::new(testmodels::normal_var()),
                normal_var_geodesic(&[1.0, 4.0], &[-2.0, 0.01]),
                vec![1.0, 4.0],
                vec![-2.0, 0.01],
            ),
            (
                Box::new(testmodels::poisson()),
                poisson_geodesic(&[0.5], &[90.0]),
                vec![0.5],
                vec![90.0],
            ),
            (
                Box::new(exponential_metric()),
                exponential_geodesic(&[3.0], &[1e-3]),
                vec![3.0],
                vec![1e-3],
            ),
            (
                Box::new(testmodels::bernoulli()),
                bernoulli_geodesic(&[0.01], &[0.97]),
                vec![0.01],
                vec![0.97],
            ),
            (
                Box::new(testmodels::categorical3()),
                categorical_geodesic(&[0.7, 0.2], &[0.1, 0.3]),
                vec![0.7, 0.2],
                vec![0.1, 0.3],
            ),
            (
                Box::new(testmodels::categorical3()),
                categorical_geodesic(&[1e-4, 0.5], &[0.3, 0.3]),
                vec![1e-4, 0.5],
                vec![0.3, 0.3],
            ),
            (
                Box::new(lattice_metric()),
                lattice_field_geodesic(&[1e-2, 1.0, 5.0], &[1.0, 30.0, 5.0]),
                vec![1e-2, 1.0, 5.0],
                vec![1.0, 30.0, 5.0],
            ),
        ];
        for (m, k, a, b) in &cases {
            let e = check_geodesic(m.as_ref(), k, a, b);
            assert!(e < 1e-7, "{}: {a:?} → {b:?}: {e:e}", k.family);
        }
        // The check can fail: the normal curve read with the normal_var metric.
        let k = normal_geodesic(&[-1.0, 0.5], &[2.0, 0.8]);
        assert!(check_geodesic(&testmodels::normal_var(), &k, &[-1.0, 0.5], &[2.0, 0.8]) > 1e-2);
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn geodesic_equations_match_differenced_christoffel_symbols() {
        // Two routes to θ̈ = −Γ(v, v): the hand-written equations and central
        // differences of the test models' metrics, at points across scales.
        type Accel = fn(&[f64], &[f64], &mut [f64]) -> bool;
        let cases: Vec<(&str, Accel, Box<dyn Metric>, Vec<f64>, Vec<f64>)> = vec![
            (
                "normal",
                normal_acceleration,
                Box::new(testmodels::normal_sigma()),
                vec![0.4, 1e-3],
                vec![2e-3, -5e-4],
            ),
            (
                "normal",
                normal_acceleration,
                Box::new(testmodels::normal_sigma()),
                vec![-7.0, 30.0],
                vec![1.0, 2.0],
            ),
            (
                "normal_var",
                normal_var_acceleration,
                Box::new(testmodels::normal_var()),
                vec![0.4, 1e-4],
                vec![2e-3, -5e-4],
            ),
            (
                "poisson",
                poisson_acceleration,
                Box::new(testmodels::poisson()),
                vec![1e-5],
                vec![3e-5],
            ),
            (
                "exponential",
                exponential_acceleration,
                Box::new(exponential_metric()),
                vec![1e4],
                vec![-2e3],
            ),
            (
                "bernoulli",
                bernoulli_acceleration,
                Box::new(testmodels::bernoulli()),
                vec![0.999],
                vec![-0.01],
            ),
            (
                "categorical",
                categorical_acceleration,
                Box::new(testmodels::categorical3()),
                vec![1e-4, 0.3],
                vec![1e-4, -0.2],
            ),
            (
                "lattice_field",
                lattice_field_acceleration,
                Box::new(lattice_metric()),
                vec![1e-2, 1.0, 50.0],
                vec![1e-2, -1.0, 3.0],
            ),
        ];
        for (name, accel, m, x, v) in cases {
            let mut known = vec![0.0; x.len()];
            assert!(accel(&x, &v, &mut known), "{name}");
            let mut fd = vec![0.0; x.len()];
            christoffel(m.as_ref(), &x)
                .unwrap()
                .acceleration(&v, &mut fd);
            let scale = fd.iter().map(|a| a.abs()).fold(0.0, f64::max);
            for i in 0..x.len() {
                assert!(
                    (known[i] - fd[i]).abs() <= 1e-7 * scale,
                    "{name} at {x:?}: {known:?} vs {fd:?}"
                );
            }
        }
        // Outside the chart: false.
        let mut o = [0.0; 2];
        assert!(!normal_acceleration(&[0.0, -1.0], &[1.0, 1.0], &mut o));
        assert!(!categorical_acceleration(&[0.7, 0.4], &[1.0, 1.0], &mut o));
    }
}

//! The geometry of `bayesrg_core::geometry` on the registered normal models,
//! through their closed-form Fisher metrics (`FisherMetric`): oracles.md §3.

use approx::assert_relative_eq;
use bayesrg_core::geometry::curvature::{gaussian_curvature, scalar_curvature};
use bayesrg_core::geometry::distance::{ShootOptions, closed_form, distance};
use bayesrg_core::geometry::{FisherMetric, jeffreys};
use bayesrg_models::{Bernoulli, Categorical, Normal, NormalVar, Poisson};
use serde_json::json;

#[test]
fn distance_is_the_same_in_both_parametrisations() {
    // Oracle: √2·arccosh(1 + (Δμ²/2 + Δσ²)/(2σ₁σ₂)); the (μ, σ²) run must agree.
    let (n, nv) = (Normal::default(), NormalVar::default());
    let (a, b) = ([-0.5, 0.4], [2.0, 1.3]);
    let d1 = distance(&FisherMetric::new(&n), &a, &b, &ShootOptions::default()).unwrap();
    let d2 = distance(
        &FisherMetric::new(&nv),
        &[a[0], a[1] * a[1]],
        &[b[0], b[1] * b[1]],
        &ShootOptions::default(),
    )
    .unwrap();
    assert_relative_eq!(
        d1.distance,
        closed_form::normal_sigma(&a, &b),
        max_relative = 1e-7
    );
    assert_relative_eq!(d2.distance, d1.distance, max_relative = 1e-7);
}

#[test]
fn curvature_of_the_registered_normals() {
    // Oracle: SECTIONAL curvature −½ and SCALAR curvature −1 in both charts.
    let (n, nv) = (Normal::default(), NormalVar::default());
    assert_relative_eq!(
        gaussian_curvature(&FisherMetric::new(&n), &[0.1, 0.6]).unwrap(),
        -0.5,
        epsilon = 1e-5
    );
    assert_relative_eq!(
        scalar_curvature(&FisherMetric::new(&nv), &[0.1, 0.36]).unwrap(),
        -1.0,
        epsilon = 1e-5
    );
}

#[test]
fn jeffreys_of_the_registered_normal() {
    // Oracle: Jeffreys ∝ 1/σ² in (μ, σ) (√det I = √2/σ²).
    let n = Normal::default();
    let j = jeffreys::density(&FisherMetric::new(&n), &[1.0, 0.5]).unwrap();
    assert_relative_eq!(j, 2f64.sqrt() / 0.25, max_relative = 1e-12);
}

#[test]
fn poisson_and_categorical_distances_of_the_registered_models() {
    // Oracles: Poisson 2|√λ₁ − √λ₂|; categorical 2·arccos Σ√(pᵢqᵢ).
    let p = Poisson::default();
    let s = distance(
        &FisherMetric::new(&p),
        &[0.3],
        &[5.0],
        &ShootOptions::default(),
    )
    .unwrap();
    assert_relative_eq!(
        s.distance,
        closed_form::poisson(&[0.3], &[5.0]),
        max_relative = 1e-7
    );
    let c: Categorical = serde_json::from_value(json!({"classes": 4})).unwrap();
    let (a, b) = ([0.1, 0.2, 0.3], [0.4, 0.1, 0.25]);
    let s = distance(&FisherMetric::new(&c), &a, &b, &ShootOptions::default()).unwrap();
    assert_relative_eq!(
        s.distance,
        closed_form::categorical(&a, &b),
        max_relative = 1e-7
    );
}

#[test]
fn categorical_scalar_curvature_of_the_registered_model() {
    // Oracle: 3-class categorical, SCALAR curvature ½ (sphere of radius 2).
    let c: Categorical = serde_json::from_value(json!({"classes": 3})).unwrap();
    assert_relative_eq!(
        scalar_curvature(&FisherMetric::new(&c), &[0.3, 0.45]).unwrap(),
        0.5,
        epsilon = 1e-5
    );
}

#[test]
fn jeffreys_of_the_registered_bernoulli_is_beta_half_half() {
    // Oracle: √I(p) = p^{−½}(1−p)^{−½} = π·Beta(½, ½) pdf.
    use statrs::distribution::{Beta, Continuous};
    let b = Bernoulli::default();
    let beta = Beta::new(0.5, 0.5).unwrap();
    for p in [0.02, 0.4, 0.77] {
        let j = jeffreys::density(&FisherMetric::new(&b), &[p]).unwrap();
        assert_relative_eq!(j / std::f64::consts::PI, beta.pdf(p), max_relative = 1e-12);
    }
}

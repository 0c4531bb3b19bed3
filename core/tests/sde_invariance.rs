//! Invariances of the law (compared by two-sample tests between ensembles, so no
//! closed form is used): rotating coordinates rotates the law; scaling K and time
//! together leaves it unchanged.

use bayesrg_core::sde::ensemble::{EnsembleConfig, simulate};
use bayesrg_core::sde::gaussian_law::same_law;
use bayesrg_core::sde::steppers::EulerMaruyama;
use bayesrg_core::sde::terms::*;
use nalgebra::{DMatrix, DVector};
use std::sync::Arc;

fn potential_problem(p: &DMatrix<f64>, k_inv: &DMatrix<f64>, m: &DVector<f64>) -> Problem {
    // V = ½(y − m)ᵀP(y − m) + 0.075|y|⁴ (∇ of the quartic: 0.3|y|²y, invariant
    // under rotations, so the law is not Gaussian), drift −½K⁻¹∇V.
    let (pc, mc, kc) = (p.clone(), m.clone(), k_inv.clone());
    let d = m.len();
    let drift = FnDrift::new(d, move |y, _, out| {
        let yv = DVector::from_column_slice(y);
        let g = &pc * (&yv - &mc) + &yv * (0.3 * yv.norm_squared());
        let b = -(&kc * g) * 0.5;
        out.copy_from_slice(b.as_slice());
    });
    Problem::new(
        Arc::new(drift),
        Diffusion::Additive(AdditiveNoise::from_k_inv(k_inv).unwrap()),
    )
    .unwrap()
}

#[test]
fn rotating_coordinates_rotates_the_law() {
    let p = DMatrix::from_row_slice(2, 2, &[2.0, 0.5, 0.5, 1.0]);
    let k_inv = DMatrix::from_row_slice(2, 2, &[1.0, 0.2, 0.2, 0.4]);
    let m = DVector::from_vec(vec![0.5, -0.5]);
    let y0 = vec![1.0, 1.0];
    let (c, s) = (0.6f64.cos(), 0.6f64.sin());
    let r = DMatrix::from_row_slice(2, 2, &[c, -s, s, c]);
    let a = potential_problem(&p, &k_inv, &m);
    let b = potential_problem(
        &(&r * &p * r.transpose()),
        &(&r * &k_inv * r.transpose()),
        &(&r * &m),
    );
    let ry0: Vec<f64> = (&r * DVector::from_vec(y0.clone()))
        .iter()
        .copied()
        .collect();
    let ea = simulate(
        &a,
        &EulerMaruyama,
        &EnsembleConfig::new(10_000, y0, vec![1.0], 0.01, 1),
        &|_| {},
    )
    .unwrap();
    let eb = simulate(
        &b,
        &EulerMaruyama,
        &EnsembleConfig::new(10_000, ry0, vec![1.0], 0.01, 2),
        &|_| {},
    )
    .unwrap();
    // Rotate the first ensemble and compare with the second.
    let rotated: Vec<f64> = ea
        .states(0)
        .chunks(2)
        .flat_map(|y| {
            (&r * DVector::from_column_slice(y))
                .iter()
                .copied()
                .collect::<Vec<_>>()
        })
        .collect();
    let pv = same_law(&rotated, eb.states(0), 2);
    assert!(pv >= 1e-3, "rotated laws differ: p = {pv}");
    // Power: without rotating, the laws differ.
    assert!(same_law(ea.states(0), eb.states(0), 2) < 1e-9);
}

#[test]
fn scaling_k_and_time_together_leaves_the_law_unchanged() {
    // K → cK, τ → cτ: the drift −½K⁻¹∇V and the noise K⁻¹ both scale by 1/c.
    let p = DMatrix::from_row_slice(2, 2, &[2.0, 0.5, 0.5, 1.0]);
    let k_inv = DMatrix::from_row_slice(2, 2, &[1.0, 0.2, 0.2, 0.4]);
    let m = DVector::from_vec(vec![0.5, -0.5]);
    let y0 = vec![1.0, 1.0];
    let c = 4.0;
    let a = potential_problem(&p, &k_inv, &m);
    let b = potential_problem(&p, &(&k_inv / c), &m);
    let ea = simulate(
        &a,
        &EulerMaruyama,
        &EnsembleConfig::new(10_000, y0.clone(), vec![0.8], 0.01, 3),
        &|_| {},
    )
    .unwrap();
    let eb = simulate(
        &b,
        &EulerMaruyama,
        &EnsembleConfig::new(10_000, y0.clone(), vec![0.8 * c], 0.01 * c, 4),
        &|_| {},
    )
    .unwrap();
    let pv = same_law(ea.states(0), eb.states(0), 2);
    assert!(pv >= 1e-3, "scaled laws differ: p = {pv}");
    // Power: scaling K without time changes the law.
    let ec = simulate(
        &b,
        &EulerMaruyama,
        &EnsembleConfig::new(10_000, y0, vec![0.8], 0.01, 5),
        &|_| {},
    )
    .unwrap();
    assert!(same_law(ea.states(0), ec.states(0), 2) < 1e-9);
}

//! The validator at points where θ is held to few digits of its Fisher unit
//! or the draws are rounded (tryout 8, G18, G5, G4): a correct metric is never
//! FAILed — it passes, or a check is UNRESOLVED with its reason — and a wrong
//! claim still FAILs.
//!
//! Oracles: the closed form AᵀΣ⁻¹A/σ² of a linear-Gaussian model, computed
//! here by an LU inverse of Σ (eqs. 40–42), independent of the model's own
//! Cholesky solve; the closed forms of docs/models.md (normal diag(1/σ²,
//! 2/σ²), Poisson 1/λ, gamma [[ψ′(k), −1/β], [−1/β, k/β²]] — written out here).

use bayesrg_core::Model;
use bayesrg_core::validate::{Report, Settings, validate};
use bayesrg_models::*;
use nalgebra::DMatrix;

const SAMPLES: usize = 20_000;

fn settings(claim: Option<&DMatrix<f64>>) -> Settings {
    Settings {
        samples: SAMPLES,
        seed: bayesrg_core::rng::Seed::new(11),
        claimed: claim.map(bayesrg_core::validate::rows),
    }
}

/// No check fails without a reason (a note), and none is NaN without one.
fn never_failed(r: &Report, what: &str) {
    for c in &r.checks {
        assert!(c.pass || c.note.is_some(), "{what}: {c:?}");
    }
    assert!(r.verdict.pass || r.verdict.inconclusive, "{what}");
}

/// The claim with entry (i, i) × 1.1 FAILs (not unresolved).
fn wrong_claims_fail(m: &dyn Model, th: &[f64], f: &DMatrix<f64>, what: &str) {
    for i in [0, f.nrows() - 1] {
        let mut w = f.clone();
        w[(i, i)] *= 1.1;
        let r = validate(m, th, &settings(Some(&w))).unwrap();
        assert!(
            !r.verdict.pass && !r.verdict.inconclusive,
            "{what}: a claim with I[{i}][{i}] × 1.1 was not failed: {:#?}",
            r.verdict.reasons
        );
    }
}

#[test]
fn linear_gaussian_with_small_noise_is_never_failed() {
    // G18: examples/linear_gaussian.toml with noise_cov × σ², θ = (1, −0.5).
    // With steps in Fisher units alone the score check failed at σ = 10⁻⁸
    // (0.0042) and the KL Hessian halved I₁₂, I₂₂ at 10⁻¹² (a step of one ulp
    // above θ₂ = −0.5 is half an ulp below it).
    let a = DMatrix::from_row_slice(3, 2, &[1.0, 0.0, 1.0, 1.0, 0.5, -1.0]);
    let cov = DMatrix::from_row_slice(3, 3, &[0.5, 0.1, 0.0, 0.1, 0.4, 0.05, 0.0, 0.05, 0.3]);
    let th = [1.0, -0.5];
    for sigma in [1e-4, 1e-8, 1e-12, 1e-20, 1e-60, 1e-100] {
        let sc = &cov * (sigma * sigma);
        let m = LinearGaussian::new(a.clone(), sc).unwrap();
        let f = a.transpose() * cov.clone().lu().try_inverse().unwrap() * &a / (sigma * sigma);
        let r = validate(&m, &th, &settings(Some(&f))).unwrap();
        let what = format!("noise sd {sigma:e}");
        never_failed(&r, &what);
        if sigma >= 1e-8 {
            // Resolved: θ is held to ε|θ|/σ ≤ 10⁻⁷ of its Fisher unit.
            assert!(r.verdict.pass, "{what}: {:#?}", r.verdict.reasons);
        }
        let klh = r
            .checks
            .iter()
            .find(|c| c.name.starts_with("kl_hessian"))
            .unwrap();
        assert!(klh.pass, "{what}: {klh:?}");
        wrong_claims_fail(&m, &th, &f, &what);
    }
}

/// A model, a point θ and the closed-form Fisher metric there.
type Case = (Box<dyn Model>, Vec<f64>, DMatrix<f64>);

#[test]
fn equal_draws_are_diagnosed_as_rounded() {
    // G5: a normal at μ = 10¹⁰⁰, 10³⁰⁰ (σ = 1) and a gamma at k = β = 10¹⁰⁰
    // (log-draws all 0) have every draw equal; the Monte Carlo checks are
    // UNRESOLVED "the draws are rounded", not FAIL with z = 10¹⁰.
    let cases: Vec<Case> = vec![
        (
            Box::new(Normal {}),
            vec![1e100, 1.0],
            DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, 2.0]),
        ),
        (
            Box::new(Normal {}),
            vec![1e16, 1.0],
            DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, 2.0]),
        ),
        (
            Box::new(Gamma {}),
            vec![1e100, 1e100],
            // ψ′(k) = 1/k + 1/(2k²) + … = 1e-100 to double precision.
            DMatrix::from_row_slice(2, 2, &[1e-100, -1e-100, -1e-100, 1e-100]),
        ),
    ];
    for (m, th, f) in cases {
        let what = format!("{th:?}");
        let r = validate(m.as_ref(), &th, &settings(Some(&f))).unwrap();
        never_failed(&r, &what);
        assert!(r.verdict.inconclusive, "{what}");
        assert!(
            r.checks
                .iter()
                .any(|c| c.note.as_deref().is_some_and(|n| n.contains("rounded"))),
            "{what}"
        );
        wrong_claims_fail(m.as_ref(), &th, &f, &what);
    }
}

#[test]
fn a_nan_estimate_is_unresolved_with_its_reason() {
    // G4: at Poisson λ = 10⁻²⁰⁰ … 10⁻³⁰⁰ the exact sums and the KL Hessian
    // are NaN (p(y) = 0 times y/λ² = ∞); they were FAIL rows with value NaN
    // and no reason. The closed form 1/λ decides the claim.
    for lam in [1e-200, 1e-250, 1e-300] {
        let m = Poisson {};
        let f = DMatrix::from_element(1, 1, 1.0 / lam);
        let r = validate(&m, &[lam], &settings(Some(&f))).unwrap();
        let what = format!("λ = {lam:e}");
        never_failed(&r, &what);
        for c in r.checks.iter().filter(|c| c.value.is_nan()) {
            assert!(
                c.note
                    .as_deref()
                    .is_some_and(|n| n.contains("not a number")),
                "{what}: {c:?}"
            );
        }
        wrong_claims_fail(&m, &[lam], &f, &what);
    }
}

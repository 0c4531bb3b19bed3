//! The closed-form Fisher metric of every model against independent estimators:
//! Monte Carlo E[ℓℓᵀ] (eq. 29), Monte Carlo −E[∇² ln p], the Hessian of the
//! closed-form KL (eq. 31) and, for forward-map models, JᵀΣ⁻¹J (eqs. 40–42).

mod common;

use bayesrg_core::fisher::{self, FisherEstimate};
use bayesrg_core::numdiff;
use bayesrg_core::rng;
use nalgebra::DMatrix;

/// Monte Carlo samples per estimator and point.
const N: usize = 40_000;

/// Z-score bound per entry. With N = 40 000 each entry's estimate is normal to
/// a good approximation (CLT), so a correct closed form exceeds 4 standard errors
/// with probability 6.3e-5 per entry. This file checks 672 distinct entries
/// (d(d+1)/2 per point, 2 estimators, 3 points, 16 model configurations; the
/// test prints the count), so the chance that a correct model fails somewhere
/// is about 4 %, while a wrong closed form (a factor in one entry) lies tens to
/// hundreds of standard errors away. The seeds are fixed, so the outcome is
/// reproducible.
const Z: f64 = 4.0;

/// Floor for Monte Carlo comparisons, relative to max|I|: where −∇² ln p does
/// not depend on y (a Gaussian mean, the linear-Gaussian model, the gamma and
/// beta families) the standard error is zero and the only difference left is
/// rounding, since every model's Hessian is exact (automatic differentiation
/// or a closed form; core `ad`). The same floor bounds an exact sum over a
/// discrete support (Bernoulli, categorical, Poisson, finite exponential
/// family), which has no standard error at all.
const FD_FLOOR: f64 = 1e-10;

/// Tolerance of the KL-Hessian estimator relative to max|I|: a second central
/// difference with step h = ε^{1/4} has truncation error h²·f⁗/12 ≈ 1e-8·f⁗ and
/// rounding error ε·|terms|/h² ≈ 1e-8 relative; 1e-5 leaves margin for models
/// with large fourth derivatives (beta at a < 1).
const KL_TOL: f64 = 1e-5;

/// The worst entry's |estimate − closed| / (Z·SE + FD_FLOOR·max|I|): at most 1
/// when the two agree. Returns it with the entry and the number of entries.
fn worst_ratio(closed: &DMatrix<f64>, est: &FisherEstimate) -> (f64, (usize, usize), usize) {
    // An exact sum over the support has no standard error.
    let se = est
        .std_err
        .clone()
        .unwrap_or_else(|| DMatrix::zeros(closed.nrows(), closed.ncols()));
    let scale = closed.amax();
    let d = closed.nrows();
    let mut worst = (0.0, (0, 0));
    for i in 0..d {
        for j in 0..=i {
            let diff = (est.matrix[(i, j)] - closed[(i, j)]).abs();
            // Symmetrised estimate: the standard error of (a_ij + a_ji)/2 is at
            // most the larger of the two.
            let s = se[(i, j)].max(se[(j, i)]);
            let r = diff / (Z * s + FD_FLOOR * scale);
            if r > worst.0 {
                worst = (r, (i, j));
            }
        }
    }
    (worst.0, worst.1, d * (d + 1) / 2)
}

fn check_mc(name: &str, th: &[f64], closed: &DMatrix<f64>, est: &FisherEstimate) -> usize {
    let (r, (i, j), n) = worst_ratio(closed, est);
    assert!(
        r <= 1.0,
        "{name} at {th:?}: {:?} entry ({i},{j}) = {} vs closed form {} \
         (difference {r:.2} times the allowance {Z} SE + {FD_FLOOR:e}·max|I|)",
        est.method,
        est.matrix[(i, j)],
        closed[(i, j)]
    );
    n
}

#[test]
fn closed_form_agrees_with_monte_carlo_estimators() {
    let mut entries = 0;
    for (c, case) in common::cases().iter().enumerate() {
        for (k, th) in case.points.iter().enumerate() {
            let m = case.model.as_ref();
            let closed = fisher::closed_form(m, th).unwrap().matrix;
            let seed = 1000 + 10 * c as u64 + k as u64;
            let so = fisher::score_outer(m, th, N, seed).unwrap();
            entries += check_mc(case.name, th, &closed, &so);
            let nh = fisher::neg_hessian(m, th, N, seed + 500).unwrap();
            entries += check_mc(case.name, th, &closed, &nh);
        }
    }
    println!("checked {entries} Monte Carlo entries at {Z} standard errors");
    assert!(entries > 300);
}

#[test]
fn a_closed_form_wrong_by_a_factor_two_is_caught() {
    // The comparison above can fail: doubling the (0, 0) entry of any model's
    // closed form puts it far outside the allowance of E[ℓℓᵀ] at the first test
    // point of every configuration.
    for (c, case) in common::cases().iter().enumerate() {
        let th = &case.points[0];
        let m = case.model.as_ref();
        let mut wrong = fisher::closed_form(m, th).unwrap().matrix;
        wrong[(0, 0)] *= 2.0;
        let so = fisher::score_outer(m, th, N, 3000 + c as u64).unwrap();
        let (r, _, _) = worst_ratio(&wrong, &so);
        assert!(r > 3.0, "{}: a doubled I_00 gives only {r:.2}", case.name);
    }
}

#[test]
fn closed_form_agrees_with_kl_hessian() {
    for case in common::cases() {
        for th in &case.points {
            let m = case.model.as_ref();
            let closed = fisher::closed_form(m, th).unwrap().matrix;
            let kh = fisher::kl_hessian(m, th).unwrap().matrix;
            let err = (&kh - &closed).amax() / closed.amax();
            assert!(
                err <= KL_TOL,
                "{} at {th:?}: KL Hessian {kh} vs closed form {closed} (relative error {err:.2e})",
                case.name
            );
        }
    }
}

#[test]
fn closed_form_agrees_with_jacobian_form() {
    let mut forward_models = 0;
    for case in common::cases() {
        let m = case.model.as_ref();
        if m.forward(&case.points[0]).is_none() {
            continue;
        }
        forward_models += 1;
        for th in &case.points {
            let closed = fisher::closed_form(m, th).unwrap().matrix;
            // JᵀΣ⁻¹J by a Cholesky solve against the closed form: two computations of the same
            // product, equal to rounding.
            let jf = fisher::jacobian_form(m, th).unwrap().matrix;
            let err = (&jf - &closed).amax() / closed.amax();
            assert!(
                err <= 1e-12,
                "{} at {th:?}: relative error {err:.2e}",
                case.name
            );
            // The exact Jacobian against a central difference of G (error ~1e-10 relative).
            let exact = m.forward_jacobian(th).unwrap();
            let fd = numdiff::jacobian(|t| m.forward(t).unwrap(), th);
            let err = (&exact - &fd).amax() / exact.amax();
            assert!(
                err <= 1e-7,
                "{} at {th:?}: Jacobian error {err:.2e}",
                case.name
            );
        }
    }
    assert_eq!(forward_models, 2, "linear_gaussian and sum_of_exponentials");
}

#[test]
fn exact_score_matches_derivative_of_log_likelihood() {
    // Oracle: a central difference of the log-likelihood (error ~1e-10 relative,
    // step ε^{1/3}), at observations drawn from the model.
    for (c, case) in common::cases().iter().enumerate() {
        let m = case.model.as_ref();
        assert!(
            m.has_exact_score(),
            "{} should have an exact score",
            case.name
        );
        let mut r = rng::stream(77, c as u64);
        let mut y = vec![0.0; m.obs_dim()];
        let mut s = vec![0.0; m.dim()];
        for th in &case.points {
            for _ in 0..20 {
                m.sample(th, &mut r, &mut y);
                m.score(th, &y, &mut s);
                let fd = numdiff::gradient(|t| m.log_likelihood(t, &y), th);
                for i in 0..s.len() {
                    let tol = 1e-6 * (1.0 + s[i].abs());
                    assert!(
                        (s[i] - fd[i]).abs() <= tol,
                        "{} at {th:?}, y = {y:?}: score {s:?} vs numerical {fd}",
                        case.name
                    );
                }
            }
        }
    }
}

#[test]
fn sum_of_exponentials_spectrum_spans_decades() {
    // The sloppy-model signature: with rates (0.3, 1, 3, 6) observed at
    // t = 0.5…6 the Fisher eigenvalues spread over more than five decades, and
    // nearly equal rates (0.5…0.8) make it still more ill-conditioned.
    let case = common::cases()
        .into_iter()
        .find(|c| c.name == "sum_of_exponentials")
        .unwrap();
    let cond = |th: &[f64]| {
        let s = bayesrg_core::linalg::Spectrum::of(&case.model.fisher(th).unwrap());
        assert!(s.min() > 0.0);
        s.condition_number()
    };
    let c0 = cond(&case.points[0]);
    assert!(c0 > 1e5, "condition number {c0:e}");
    let c1 = cond(&case.points[1]);
    assert!(c1 > c0, "{c1:e} vs {c0:e}");
}

//! Oracles: the normal family N(μ, σ²) with I = diag(1/σ², 2/σ²) and
//! KL = ln(σ₂/σ₁) + (σ₁² + (μ₁−μ₂)²)/(2σ₂²) − ½ (docs/conventions.md and
//! shared oracles §1–2); the Bernoulli family with I = 1/(p(1−p)); the linear
//! Gaussian model with I = AᵀA. Broken variants of each must fail.
use super::*;
use crate::ParamError;
use crate::model::check_len;
use nalgebra::DVector;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// What a test model gets wrong on purpose.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
enum Bug {
    #[default]
    None,
    /// I₁₁ doubled.
    Fisher,
    /// KL without its ½.
    Kl,
    /// Score with a constant offset in μ.
    Score,
    /// No closed-form Fisher or KL, numerical score only.
    Bare,
    /// ln p with −2 ln σ: not normalised, and not the integral of the score.
    LogLik,
    /// ln p NaN beyond μ + 2σ (the score stays right).
    LogLikNan,
    /// KL(θ′‖θ) returned for KL(θ‖θ′).
    KlSwapped,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TNormal {
    bug: Bug,
}

#[typetag::serde(name = "validate_test_normal")]
impl Model for TNormal {
    fn param_names(&self) -> Vec<String> {
        vec!["mu".into(), "sigma".into()]
    }
    fn obs_dim(&self) -> usize {
        1
    }
    fn check_params(&self, t: &[f64]) -> std::result::Result<(), ParamError> {
        check_len(self, t)?;
        if t[1] > 0.0 {
            Ok(())
        } else {
            Err(ParamError::invalid("sigma", t[1], "must be > 0"))
        }
    }
    fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
        let z: f64 = StandardNormal.sample(r);
        out[0] = t[0] + t[1] * z;
    }
    fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
        let z = (y[0] - t[0]) / t[1];
        match self.bug {
            Bug::LogLik => -0.5 * z * z - 2.0 * t[1].ln() - 0.5 * (2.0 * std::f64::consts::PI).ln(),
            Bug::LogLikNan if z > 2.0 => f64::NAN,
            _ => -0.5 * z * z - t[1].ln() - 0.5 * (2.0 * std::f64::consts::PI).ln(),
        }
    }
    fn score(&self, t: &[f64], y: &[f64], out: &mut [f64]) {
        if self.bug == Bug::Bare {
            crate::numdiff::gradient_into(|th| self.log_likelihood(th, y), t, out);
            return;
        }
        let z = (y[0] - t[0]) / t[1];
        out[0] = z / t[1] + if self.bug == Bug::Score { 0.05 } else { 0.0 };
        out[1] = (z * z - 1.0) / t[1];
    }
    fn has_exact_score(&self) -> bool {
        self.bug != Bug::Bare
    }
    fn fisher(&self, t: &[f64]) -> Option<DMatrix<f64>> {
        let s2 = t[1] * t[1];
        let f = if self.bug == Bug::Fisher { 2.0 } else { 1.0 };
        (self.bug != Bug::Bare)
            .then(|| DMatrix::from_row_slice(2, 2, &[f / s2, 0.0, 0.0, 2.0 / s2]))
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        let f = if self.bug == Bug::Kl { 2.0 } else { 1.0 };
        let (a, b) = if self.bug == Bug::KlSwapped {
            (b, a)
        } else {
            (a, b)
        };
        let k =
            (b[1] / a[1]).ln() + (a[1] * a[1] + (a[0] - b[0]).powi(2)) / (2.0 * b[1] * b[1]) - 0.5;
        (self.bug != Bug::Bare).then_some(f * k)
    }
}

#[test]
fn genuine_errors_are_not_called_unresolved() {
    // The rare-event diagnosis must not excuse a wrong model: a biased
    // score, a doubled Fisher entry and a KL without its ½ fail outright.
    for bug in [Bug::Score, Bug::Fisher, Bug::Kl] {
        let r = validate(&TNormal { bug }, &[0.5, 1.5], &settings(20_000)).unwrap();
        assert!(
            !r.verdict.pass && !r.verdict.inconclusive,
            "{bug:?}: {:?}",
            r.verdict
        );
        assert!(r.checks.iter().all(|c| c.note.is_none()), "{bug:?}");
    }
}

#[test]
fn log_likelihood_is_checked_against_the_score_and_the_kl() {
    // Tryout A4: a log-likelihood that is not the integral of the score, one
    // that is NaN at some outcomes, and a KL with its arguments swapped passed
    // every Fisher check (none of them reads ln p when the score is given, and
    // second order cannot tell KL(θ‖θ′) from KL(θ′‖θ)). Oracles:
    // ∂σ(−2 ln σ − z²/2) differs from the score by 1/σ, i.e. √2/2 ≈ 0.71 in
    // Fisher units of σ (threshold 10⁻⁴); the KL step is c = ½ along
    // (sμ, sσ)/√2 = (σ, σ/√2)/√2, so θ′ = (μ + 0.354σ, 1.25σ) and the
    // closed forms give KL(θ‖θ′) = 0.0831 against KL(θ′‖θ) = 0.1206, a
    // difference of about 18 standard errors at 40 000 draws (the
    // log-ratio's variance is about 2·KL). At every scale of σ, since the
    // checks are in Fisher units.
    let named = |r: &Report, what: &str| -> Vec<Check> {
        r.checks
            .iter()
            .filter(|c| c.name.contains(what))
            .cloned()
            .collect()
    };
    for sigma in [1e-6, 1.0, 1e6] {
        let th = [2.0 * sigma, sigma];
        let ok = validate(&TNormal::default(), &th, &settings(40_000)).unwrap();
        assert!(ok.verdict.pass, "σ = {sigma}: {:?}", ok.verdict.reasons);
        let score = named(&ok, "score vs differences of log_likelihood");
        let kl = named(&ok, "mean log-ratio");
        assert!(
            score.len() == 1 && score[0].pass && score[0].value < 1e-6,
            "{score:?}"
        );
        assert!(kl.len() == 1 && kl[0].pass, "{kl:?}");

        let r = validate(&TNormal { bug: Bug::LogLik }, &th, &settings(40_000)).unwrap();
        let c = &named(&r, "score vs differences")[0];
        assert!(!c.pass && (c.value - 0.5_f64.sqrt()).abs() < 1e-3, "{c:?}");
        assert!(!r.verdict.pass && !r.verdict.inconclusive);

        let r = validate(
            &TNormal {
                bug: Bug::KlSwapped,
            },
            &th,
            &settings(40_000),
        )
        .unwrap();
        let c = &named(&r, "mean log-ratio")[0];
        assert!(!c.pass && c.value > 10.0 && c.note.is_none(), "{c:?}");
        assert!(
            !r.verdict.pass && !r.verdict.inconclusive,
            "{:?}",
            r.verdict
        );

        // NaN at 2.3 % of the outcomes: the Monte Carlo log-ratio meets it.
        let r = validate(
            &TNormal {
                bug: Bug::LogLikNan,
            },
            &th,
            &settings(40_000),
        )
        .unwrap();
        let c = &named(&r, "mean log-ratio")[0];
        assert!(
            !c.pass && c.value.is_nan() && c.oracle.contains("NaN"),
            "{c:?}"
        );
        assert!(!r.verdict.pass && !r.verdict.inconclusive);
    }
}

#[test]
fn finite_differences_step_in_fisher_units() {
    // Issue 16, item 3: at σ = 10⁻⁵ a step of ε^{1/4}·max(1, |θ|) exceeds σ
    // and −E[∇² ln p] was off 6×. A model without an exact Hessian (the
    // plugin case) is now differenced in Fisher units: it passes at
    // σ = 10⁻⁵ and 10⁵, with an exact score (Jacobian of the score) and
    // without one (second differences of ln p, steps from a pilot run).
    for sigma in [1e-5, 1e5] {
        let th = [3.0 * sigma, sigma];
        let r = validate(&TNormal::default(), &th, &settings(40_000)).unwrap();
        assert!(r.verdict.pass, "σ = {sigma}: {:?}", r.verdict.reasons);
        let r = validate(&TNormal { bug: Bug::Bare }, &th, &settings(40_000)).unwrap();
        assert!(
            r.verdict.pass,
            "σ = {sigma} (bare): {:?}",
            r.verdict.reasons
        );
        let nh = &r.estimators[1];
        let s2 = sigma * sigma;
        let se = nh.std_err.as_ref().unwrap();
        assert!((nh.matrix[0][0] - 1.0 / s2).abs() < 5.0 * se[0][0] + 1e-6 / s2);
        assert!((nh.matrix[1][1] - 2.0 / s2).abs() < 5.0 * se[1][1] + 1e-6 / s2);
    }
    // The same Fisher wrong by 1 % in I_σσ still fails there.
    let sigma: f64 = 1e-5;
    let s2 = sigma * sigma;
    let mut s = settings(40_000);
    s.claimed = Some(vec![vec![1.0 / s2, 0.0], vec![0.0, 1.01 * 2.0 / s2]]);
    let r = validate(&TNormal::default(), &[0.0, sigma], &s).unwrap();
    assert!(!r.verdict.pass && !r.verdict.inconclusive);
}

/// y = Aθ + N(0, I₂) with an ill-conditioned A and no closed-form Fisher:
/// the reference is JᵀΣ⁻¹J = AᵀA.
#[derive(Debug, Default, Serialize, Deserialize)]
struct TLin {}

const A: [f64; 4] = [1.0, 1.0, 1.0, 1.01];

#[typetag::serde(name = "validate_test_linear")]
impl Model for TLin {
    fn param_names(&self) -> Vec<String> {
        vec!["a".into(), "b".into()]
    }
    fn obs_dim(&self) -> usize {
        2
    }
    fn check_params(&self, t: &[f64]) -> std::result::Result<(), ParamError> {
        check_len(self, t)
    }
    fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
        let g = self.forward(t).unwrap();
        for i in 0..2 {
            let z: f64 = StandardNormal.sample(&mut *r);
            out[i] = g[i] + z;
        }
    }
    fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
        let g = self.forward(t).unwrap();
        -0.5 * ((y[0] - g[0]).powi(2) + (y[1] - g[1]).powi(2)) - (2.0 * std::f64::consts::PI).ln()
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        Some(0.5 * (self.forward(a)? - self.forward(b)?).norm_squared())
    }
    fn forward(&self, t: &[f64]) -> Option<DVector<f64>> {
        Some(DMatrix::from_row_slice(2, 2, &A) * DVector::from_column_slice(t))
    }
    fn noise_covariance(&self) -> Option<DMatrix<f64>> {
        Some(DMatrix::identity(2, 2))
    }
}

fn settings(n: usize) -> Settings {
    Settings {
        samples: n,
        seed: crate::rng::Seed::new(7),
        claimed: None,
    }
}

fn failed(r: &Report) -> Vec<&str> {
    r.checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| c.name.as_str())
        .collect()
}

#[test]
fn correct_normal_passes_at_three_points() {
    for theta in [[0.5, 1.5], [-2.0, 0.3], [10.0, 4.0]] {
        let r = validate(&TNormal::default(), &theta, &settings(40_000)).unwrap();
        assert!(r.verdict.pass, "{theta:?}: {:?}", r.verdict.reasons);
        assert_eq!(r.reference, Some(Method::ClosedForm));
        // Every applicable check ran: 2 MC + KL Hessian comparisons, symmetry,
        // 2 PSD (closed, KL Hessian) + score_outer PSD, score mean, the score
        // and the closed-form KL against the log-likelihood, 2 KL checks.
        assert_eq!(r.checks.len(), 12, "{:#?}", r.checks);
        // The spectrum is that of diag(1/σ², 2/σ²): stiff direction is σ.
        let s2 = theta[1] * theta[1];
        assert!((r.spectrum.eigenvalues[0] - 2.0 / s2).abs() < 1e-12 / s2);
        assert_eq!(r.spectrum.stiff.dominant, "sigma");
        assert_eq!(r.spectrum.sloppy.dominant, "mu");
        assert!((r.spectrum.condition_number - 2.0).abs() < 1e-12);
    }
}

#[test]
fn closed_form_wrong_by_two_fails() {
    let r = validate(
        &TNormal { bug: Bug::Fisher },
        &[0.5, 1.5],
        &settings(40_000),
    )
    .unwrap();
    assert!(!r.verdict.pass);
    let f = failed(&r);
    assert!(
        f.iter()
            .any(|n| n.starts_with("score_outer vs closed_form")),
        "{f:?}"
    );
    assert!(
        f.iter()
            .any(|n| n.starts_with("neg_hessian vs closed_form")),
        "{f:?}"
    );
    assert!(
        f.iter().any(|n| n.starts_with("kl_hessian vs closed_form")),
        "{f:?}"
    );
    assert!(f.iter().any(|n| n.starts_with("KL expansion")), "{f:?}");
}

#[test]
fn kl_without_its_half_fails_the_expansion() {
    let r = validate(&TNormal { bug: Bug::Kl }, &[0.5, 1.5], &settings(20_000)).unwrap();
    let f = failed(&r);
    assert!(f.iter().any(|n| n.contains("worst |ratio − 1|")), "{f:?}");
    assert!(f.iter().any(|n| n.contains("convergence")), "{f:?}");
    // The ratio tends to 2, not 1.
    let d = &r.kl_expansion.as_ref().unwrap().directions[0];
    assert!((d.ratios[3] - 2.0).abs() < 1e-3, "{:?}", d.ratios);
}

#[test]
fn biased_score_fails_the_zero_mean_check() {
    let r = validate(&TNormal { bug: Bug::Score }, &[0.5, 1.5], &settings(40_000)).unwrap();
    let f = failed(&r);
    assert!(f.iter().any(|n| n.starts_with("score mean zero")), "{f:?}");
    // SE of the μ-score mean is (1/σ)/√n = 0.0033; the offset 0.05 is z ≈ 15.
    assert!(r.score_mean.z[0] > 10.0, "{:?}", r.score_mean);
}

#[test]
fn claimed_matrix_right_passes_wrong_by_two_fails() {
    let s2: f64 = 1.5 * 1.5;
    let mut s = settings(40_000);
    s.claimed = Some(vec![vec![1.0 / s2, 0.0], vec![0.0, 2.0 / s2]]);
    let r = validate(&TNormal::default(), &[0.5, 1.5], &s).unwrap();
    assert!(r.verdict.pass, "{:?}", r.verdict.reasons);
    // Typed to four digits: 0.4444, 0.8889 (within CLAIM_RTOL).
    s.claimed = Some(vec![vec![0.4444, 0.0], vec![0.0, 0.8889]]);
    assert!(
        validate(&TNormal::default(), &[0.5, 1.5], &s)
            .unwrap()
            .verdict
            .pass
    );
    for (i, j) in [(0, 0), (1, 1)] {
        let mut c = vec![vec![1.0 / s2, 0.0], vec![0.0, 2.0 / s2]];
        c[i][j] *= 2.0;
        s.claimed = Some(c);
        let r = validate(&TNormal::default(), &[0.5, 1.5], &s).unwrap();
        let f = failed(&r);
        assert!(!r.verdict.pass);
        for name in [
            "claimed vs closed_form",
            "claimed vs score_outer",
            "claimed vs neg_hessian",
            "claimed: KL expansion",
        ] {
            assert!(f.iter().any(|n| n.starts_with(name)), "{name} not in {f:?}");
        }
    }
    // An asymmetric claim fails the symmetry check.
    s.claimed = Some(vec![vec![1.0 / s2, 0.01], vec![0.0, 2.0 / s2]]);
    let r = validate(&TNormal::default(), &[0.5, 1.5], &s).unwrap();
    assert!(failed(&r).contains(&"claimed symmetric (asymmetry)"));
}

#[test]
fn bad_inputs_are_errors_naming_the_setting() {
    let m = TNormal::default();
    let e = validate(&m, &[0.5, -1.0], &settings(100)).unwrap_err();
    assert!(e.to_string().contains("sigma"), "{e}");
    let e = validate(&m, &[0.5], &settings(100)).unwrap_err();
    assert!(e.to_string().contains("2 parameters"), "{e}");
    let e = validate(&m, &[0.5, 1.0], &settings(0)).unwrap_err();
    assert!(e.to_string().contains("samples"), "{e}");
    let mut s = settings(100);
    s.claimed = Some(vec![vec![1.0, 0.0]]);
    let e = validate(&m, &[0.5, 1.0], &s).unwrap_err();
    assert!(
        e.to_string().contains("claimed_fisher") && e.to_string().contains("2×2"),
        "{e}"
    );
    s.claimed = Some(vec![vec![1.0, 0.0], vec![0.0]]);
    let e = validate(&m, &[0.5, 1.0], &s).unwrap_err();
    assert!(e.to_string().contains("row 2 has 1 entries"), "{e}");
}

#[test]
fn without_closed_forms_the_estimators_are_compared_with_each_other() {
    let r = validate(&TNormal { bug: Bug::Bare }, &[0.5, 1.5], &settings(40_000)).unwrap();
    assert_eq!(r.reference, None);
    assert!(r.kl_expansion.is_none());
    assert!(r.verdict.pass, "{:?}", r.verdict.reasons);
    assert!(
        r.checks
            .iter()
            .any(|c| c.name.starts_with("neg_hessian vs score_outer"))
    );
    // The Monte Carlo estimates agree with diag(1/σ², 2/σ²) within 5 SE.
    let so = &r.estimators[0];
    let se = so.std_err.as_ref().unwrap();
    let s2 = 1.5 * 1.5;
    assert!((so.matrix[0][0] - 1.0 / s2).abs() < 5.0 * se[0][0]);
    assert!((so.matrix[1][1] - 2.0 / s2).abs() < 5.0 * se[1][1]);
}

#[test]
fn jacobian_form_is_the_reference_without_a_closed_form() {
    let r = validate(&TLin {}, &[0.2, -0.4], &settings(40_000)).unwrap();
    assert_eq!(r.reference, Some(Method::Jacobian));
    assert!(r.verdict.pass, "{:?}", r.verdict.reasons);
    // AᵀA for A = [[1, 1], [1, 1.01]].
    let ata = [2.0, 2.01, 2.01, 1.0 + 1.01 * 1.01];
    let j = &r.estimators[0].matrix;
    for (k, v) in ata.iter().enumerate() {
        assert!((j[k / 2][k % 2] - v).abs() < 1e-8, "{j:?}");
    }
    // Condition number of AᵀA = (σ_max/σ_min)² of A.
    let sv = DMatrix::from_row_slice(2, 2, &A).singular_values();
    let cond = (sv.max() / sv.min()).powi(2);
    assert!((r.spectrum.condition_number / cond - 1.0).abs() < 1e-6);
}

#[test]
fn one_seed_one_report() {
    let a = validate(&TNormal::default(), &[0.5, 1.5], &settings(5_000)).unwrap();
    let b = validate(&TNormal::default(), &[0.5, 1.5], &settings(5_000)).unwrap();
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}

#[test]
fn threshold_grows_with_the_number_of_entries() {
    assert_eq!(z_threshold(14), Z_MIN);
    let z = z_threshold(230);
    // Two-sided tail times m equals α at the threshold.
    let tail = 2.0 * (1.0 - Normal::standard().cdf(z)) * 230.0;
    assert!(
        (tail / FAMILY_ALPHA - 1.0).abs() < 1e-6 && z > Z_MIN,
        "{z} {tail}"
    );
}

#[test]
fn extrapolation_removes_the_linear_term() {
    // Oracle: ratios exactly 1 + aε (and c(1 + aε) for a metric off by 1/c)
    // extrapolate to 1 (and c) to round-off.
    let a = 15.0;
    let exact: Vec<f64> = super::KL_EPSILONS.iter().map(|e| 1.0 + a * e).collect();
    assert!((super::extrapolated_ratio(&exact) - 1.0).abs() < 1e-12);
    let half: Vec<f64> = exact.iter().map(|r| 0.5 * r).collect();
    assert!((super::extrapolated_ratio(&half) - 0.5).abs() < 1e-12);
}

#[test]
fn the_threshold_counts_the_z_scores_of_the_checks_that_ran() {
    // Oracle: the count by hand for d = 2 (3 distinct entries per symmetric
    // matrix, 2 score components): with a closed form, E[ℓℓᵀ] and −E[∇² ln p]
    // against it (2·3) and the score mean (2): m = 8; a claim adds its two
    // Monte Carlo comparisons (2·3): m = 14. A decided check adds nothing.
    let m = TNormal::default();
    let r = validate(&m, &[0.3, 1.7], &settings(20_000)).unwrap();
    assert_eq!(r.z_threshold, z_threshold(8));
    let mut s = settings(20_000);
    s.claimed = Some(vec![vec![1.0 / 2.89, 0.0], vec![0.0, 2.0 / 2.89]]);
    let r = validate(&m, &[0.3, 1.7], &s).unwrap();
    assert_eq!(r.z_threshold, z_threshold(14));
    // The ledger counts the upper triangle of a matrix and every entry of a column.
    let mut l = Ledger::default();
    l.push(Check::at_most("decided", 0.0, 1.0, "none"));
    assert_eq!(l.z_count(), 0);
    l.push_z("matrix", "o", 1.0, DMatrix::zeros(3, 3), None);
    l.push_z("column", "o", 6.0, DMatrix::zeros(3, 1), None);
    assert_eq!(l.z_count(), 9);
    // Decided against the threshold given at the end: z = 6 fails at z* = 5.
    let checks = l.finish(5.0, |c, _, _| c);
    assert_eq!(checks.len(), 3);
    assert!(checks[1].pass && !checks[2].pass);
    assert_eq!(checks[2].threshold, 5.0);
}

//! The validator across decades of every parameter (issue 16, "Done means",
//! every family of models/src): at each point the correct model
//! passes, and the same model with one Fisher entry changed by 1 % fails —
//! both as a claimed matrix and as the model's own closed form.
//!
//! Oracles: the closed forms of docs/models.md, checked here against mpmath
//! at extreme parameters (tests/oracles/fisher_and_log_density.py), and the
//! validator's independent estimators (exact sums or Monte Carlo with exact
//! derivatives, the KL Hessian, the KL expansion).
//!
//! The points are the range each model is documented to be right over
//! (docs/models.md, "Numerical range").

use bayesrg_core::Model;
use bayesrg_core::model::Support;
use bayesrg_core::validate::{Settings, validate};
use bayesrg_models::*;
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A model whose closed-form Fisher has entry (i, i) multiplied by `factor`:
/// everything else is the inner model's.
#[derive(Debug, Serialize, Deserialize)]
struct Perturbed {
    inner: Box<dyn Model>,
    entry: usize,
    factor: f64,
}

#[typetag::serde(name = "scales_test_perturbed")]
impl Model for Perturbed {
    fn param_names(&self) -> Vec<String> {
        self.inner.param_names()
    }
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn obs_dim(&self) -> usize {
        self.inner.obs_dim()
    }
    fn check_params(&self, t: &[f64]) -> Result<(), bayesrg_core::ParamError> {
        self.inner.check_params(t)
    }
    fn sample(&self, t: &[f64], r: &mut dyn Rng, out: &mut [f64]) {
        self.inner.sample(t, r, out)
    }
    fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
        self.inner.log_likelihood(t, y)
    }
    fn score(&self, t: &[f64], y: &[f64], out: &mut [f64]) {
        self.inner.score(t, y, out)
    }
    fn has_exact_score(&self) -> bool {
        self.inner.has_exact_score()
    }
    fn hessian(&self, t: &[f64], y: &[f64], out: &mut [f64]) {
        self.inner.hessian(t, y, out)
    }
    fn has_exact_hessian(&self) -> bool {
        self.inner.has_exact_hessian()
    }
    fn support(&self, t: &[f64]) -> Option<Support> {
        self.inner.support(t)
    }
    fn fisher(&self, t: &[f64]) -> Option<DMatrix<f64>> {
        let mut f = self.inner.fisher(t)?;
        f[(self.entry, self.entry)] *= self.factor;
        Some(f)
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        self.inner.kl(a, b)
    }
    fn forward(&self, t: &[f64]) -> Option<DVector<f64>> {
        self.inner.forward(t)
    }
    fn forward_jacobian(&self, t: &[f64]) -> Option<DMatrix<f64>> {
        self.inner.forward_jacobian(t)
    }
    fn noise_covariance(&self) -> Option<DMatrix<f64>> {
        self.inner.noise_covariance()
    }
}

const SAMPLES: usize = 20_000;

/// The correct model passes at every point; with I₀₀ (and, separately, the
/// last diagonal entry) off by 1 % — claimed, or in the model's own closed
/// form — it fails, and not as "unresolved".
fn sweep(make: impl Fn() -> Box<dyn Model>, points: &[Vec<f64>]) {
    sweep_n(make, points, SAMPLES)
}

/// [`sweep`] with `samples` Monte Carlo draws.
fn sweep_n(make: impl Fn() -> Box<dyn Model>, points: &[Vec<f64>], samples: usize) {
    for (k, th) in points.iter().enumerate() {
        let m = make();
        let name = bayesrg_core::model::type_name(m.as_ref());
        let s = Settings {
            samples,
            seed: bayesrg_core::rng::Seed::new(100 + k as u64),
            claimed: None,
        };
        let r = validate(m.as_ref(), th, &s).unwrap();
        assert!(r.verdict.pass, "{name} at {th:?}: {:#?}", r.verdict.reasons);
        // The wrong metrics fail on the deterministic checks (KL Hessian, KL
        // expansion, exact sums, the claim against the closed form), so the
        // default sample size does for them.
        let s = Settings {
            samples: SAMPLES,
            ..s
        };
        let f = m.fisher(th).unwrap();
        for i in [0, f.nrows() - 1] {
            let mut c = bayesrg_core::validate::rows(&f);
            c[i][i] *= 1.01;
            let r = validate(
                m.as_ref(),
                th,
                &Settings {
                    claimed: Some(c),
                    ..s.clone()
                },
            )
            .unwrap();
            assert!(
                !r.verdict.pass && !r.verdict.inconclusive,
                "{name} at {th:?}: a claim with I[{i}][{i}] off by 1 % passed"
            );
            let wrong = Perturbed {
                inner: make(),
                entry: i,
                factor: 1.01,
            };
            let r = validate(&wrong, th, &s).unwrap();
            assert!(
                !r.verdict.pass && !r.verdict.inconclusive,
                "{name} at {th:?}: a closed form with I[{i}][{i}] off by 1 % passed"
            );
        }
    }
}

#[test]
fn normal_pair() {
    sweep(
        || Box::new(Normal {}),
        &[
            vec![0.0, 1e-6],
            vec![1e4, 1e-6],
            vec![0.5, 1.5],
            vec![1e10, 1.0],
            vec![-5.0, 1e6],
        ],
    );
    sweep(
        || Box::new(NormalVar {}),
        &[vec![0.0, 1e-12], vec![0.5, 2.25], vec![1e3, 1e12]],
    );
}

#[test]
fn bernoulli_and_categorical() {
    sweep(
        || Box::new(Bernoulli {}),
        &[
            vec![1e-6],
            vec![1e-3],
            vec![0.5],
            vec![1.0 - 1e-3],
            vec![1.0 - 1e-6],
        ],
    );
    sweep(
        || Box::new(Categorical::new(3).unwrap()),
        &[
            vec![1e-6, 0.5],
            vec![1.0 / 3.0, 1.0 / 3.0],
            vec![0.5, 0.5 - 1e-6],
        ],
    );
}

#[test]
fn poisson_and_exponential() {
    // λ ≤ 10⁴: exact sums; 10⁶ and 10¹²: Monte Carlo.
    sweep(
        || Box::new(Poisson {}),
        &[
            vec![1e-6],
            vec![1e-3],
            vec![1.0],
            vec![1e4],
            vec![1e6],
            vec![1e12],
        ],
    );
    sweep(
        || Box::new(Exponential {}),
        &[vec![1e-8], vec![1.0], vec![1e8]],
    );
}

#[test]
fn gamma_shapes_and_rates() {
    let mut pts = Vec::new();
    for k in [0.1, 10.0, 2000.0, 1e6] {
        for rate in [1e-3, 1e3] {
            pts.push(vec![k, rate]);
        }
    }
    pts.push(vec![2000.0, 0.7]);
    sweep(|| Box::new(Gamma {}), &pts);
    // At shape 10⁻³ the rate entry k/β² rests on the ~n·10⁻³ draws with y of
    // order one: 20 000 draws give about 8 effective ones and the validator
    // says "too few events: raise samples to …" (tests/validator_models.rs);
    // 200 000 resolve it.
    sweep_n(
        || Box::new(Gamma {}),
        &[vec![1e-3, 1e3], vec![1e-3, 1e-3]],
        200_000,
    );
}

#[test]
fn beta_shapes() {
    sweep(
        || Box::new(Beta {}),
        &[
            vec![1e-3, 1e-3],
            vec![0.2, 0.2],
            vec![200.0, 300.0],
            vec![1e6, 1e6],
            vec![2.0, 3.5],
        ],
    );
    // With one shape 10⁹ times the other the small-shape entry rests on rare
    // draws (y within 10⁻⁶ of the far end): about 5 effective ones in 20 000.
    sweep_n(
        || Box::new(Beta {}),
        &[vec![1e6, 1e-3], vec![1e-3, 1e6]],
        200_000,
    );
}

#[test]
fn gaussian_vector_families() {
    let c = DMatrix::from_row_slice(2, 2, &[2.0, 0.6, 0.6, 1.0]);
    for scale in [1e-12f64, 1.0, 1e12] {
        let cov = &c * scale;
        sweep(
            || Box::new(MvnMean::new(cov.clone()).unwrap()),
            &[
                vec![0.0, 0.0],
                vec![1e3 * scale.sqrt(), -2.0 * scale.sqrt()],
            ],
        );
        sweep(
            || Box::new(Mvn::new(2).unwrap()),
            &[Mvn::pack(&[0.5, -1.0], &cov)],
        );
    }
    sweep(
        || {
            Box::new(
                LinearGaussian::new(
                    DMatrix::from_row_slice(3, 2, &[1.0, 0.0, 1.0, 1.0, 0.5, -1.0]),
                    DMatrix::from_row_slice(3, 3, &[0.5, 0.1, 0.0, 0.1, 0.4, 0.05, 0.0, 0.05, 0.3]),
                )
                .unwrap(),
            )
        },
        &[vec![1.0, -0.5], vec![1e6, -1e6]],
    );
}

#[test]
fn finite_exponential_family_sums_of_exponentials_and_lattice() {
    sweep(
        || {
            Box::new(
                ExpFamilyFinite::new(DMatrix::from_row_slice(
                    4,
                    2,
                    &[0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.5],
                ))
                .unwrap(),
            )
        },
        &[vec![0.3, -0.5], vec![10.0, -12.0], vec![-8.0, 9.0]],
    );
    sweep(
        || {
            Box::new(
                SumOfExponentials::new(3, (1..=12).map(|k| 0.5 * k as f64).collect(), 0.1).unwrap(),
            )
        },
        &[vec![0.3, 1.0, 3.0], vec![0.01, 0.1, 1.0]],
    );
    let f = LatticeField::new(vec![8]).unwrap();
    let th = f.free_field_theta(0.5, None);
    let pts: Vec<Vec<f64>> = [1e-6, 1.0, 1e6]
        .iter()
        .map(|s| th.iter().map(|t| t * s).collect())
        .collect();
    sweep(|| Box::new(LatticeField::new(vec![8]).unwrap()), &pts);
}

#[test]
fn closed_forms_match_mpmath_at_extreme_parameters() {
    // tests/oracles/fisher_and_log_density.py (mpmath, 50 digits).
    let rel = |a: f64, b: f64| ((a - b) / b).abs();
    for (a, b, iaa, iab, ibb) in [
        (
            200.0,
            300.0,
            0.0030105194998969018,
            -0.0020020013333322665,
            0.001336893728382411,
        ),
        (
            0.2,
            0.2,
            18.99202061489418,
            -7.275356590529597,
            18.99202061489418,
        ),
        (
            1000000.0,
            0.001,
            1.0000009990004985e-15,
            -1.0000004990001658e-06,
            1000001.6425321958,
        ),
        (
            0.001,
            0.001,
            750000.0023944018,
            -250001.640138794,
            750000.0023944018,
        ),
        (
            1000000.0,
            1000000.0,
            5.000003750001459e-07,
            -5.000001250000209e-07,
            5.000003750001459e-07,
        ),
        (
            0.001,
            1000000.0,
            1000001.6425321958,
            -1.0000004990001658e-06,
            1.0000009990004985e-15,
        ),
        (
            2.0,
            3.5,
            0.44559167985859877,
            -0.19934238698962767,
            0.1310153691106072,
        ),
    ] {
        let f = Beta {}.fisher(&[a, b]).unwrap();
        for (got, want) in [(f[(0, 0)], iaa), (f[(0, 1)], iab), (f[(1, 1)], ibb)] {
            assert!(rel(got, want) < 1e-13, "beta ({a}, {b}): {got} vs {want}");
        }
    }
    for (k, r, ikk, ikr, irr) in [
        (
            2000.0,
            0.7,
            0.0005001250208333323,
            -1.4285714285714286,
            4081.632653061225,
        ),
        (0.001, 0.001, 1000001.6425331958, -1000.0, 1000.0),
        (1000000.0, 1.0, 1.0000005000001667e-06, -1.0, 1000000.0),
        (0.001, 1000000.0, 1000001.6425331958, -1e-06, 1e-15),
        (
            2.5,
            1.5,
            0.49035775610023485,
            -0.6666666666666666,
            1.1111111111111112,
        ),
    ] {
        let f = Gamma {}.fisher(&[k, r]).unwrap();
        for (got, want) in [(f[(0, 0)], ikk), (f[(0, 1)], ikr), (f[(1, 1)], irr)] {
            assert!(rel(got, want) < 1e-13, "gamma ({k}, {r}): {got} vs {want}");
        }
    }
}

#[test]
fn a_few_ulp_from_the_edge_the_kl_hessian_is_unresolved_not_failed() {
    // Tryout 7, F6: at Bernoulli p = 1 − 10⁻¹⁵ the KL Hessian's difference
    // steps all round to the same few ulp of p; its 0.6 % miss said nothing
    // about the (correct) metric but failed the run. Oracle: the closed forms
    // 1/(p(1−p)) (docs/models.md), which the exact
    // sums confirm to 1e-9: the correct model is never FAILed (at worst
    // inconclusive), and a closed form 10 % off still FAILs (the exact sums
    // resolve it where the differences cannot).
    type Make = fn() -> Box<dyn Model>;
    // (Categorical near p = 1 is not here: its exact sums and closed-form KL
    // themselves disagree there, a separate finding.)
    let cases: [(Make, Vec<f64>); 2] = [
        (|| Box::new(Bernoulli {}), vec![1.0 - 1e-15]),
        (|| Box::new(Bernoulli {}), vec![1e-15]),
    ];
    for (make, th) in cases {
        let m = make();
        let s = Settings {
            samples: SAMPLES,
            seed: bayesrg_core::rng::Seed::new(7),
            claimed: None,
        };
        let r = validate(m.as_ref(), &th, &s).unwrap();
        assert!(
            r.verdict.pass || r.verdict.inconclusive,
            "{th:?}: {:#?}",
            r.verdict.reasons
        );
        let wrong = Perturbed {
            inner: make(),
            entry: 0,
            factor: 1.1,
        };
        let r = validate(&wrong, &th, &s).unwrap();
        assert!(
            !r.verdict.pass && !r.verdict.inconclusive,
            "{th:?}: a closed form 10 % off was not failed: {:#?}",
            r.verdict.reasons
        );
    }
}

//! Exact derivatives (issue 16, item 3): every model's hand-written score and
//! Hessian against forward-mode automatic differentiation of its log-density
//! ([`LogDensity`], num-dual), at points across decades of the parameters and
//! at draws from the model; the AD Hessian itself against central differences
//! of the score; the log-densities against mpmath; the log-space samplers of
//! the gamma and beta families against their exact moments; the enumerated
//! supports against their probabilities.
//!
//! Oracles: AD (a second, independent derivative of the same log-density);
//! tests/oracles/fisher_and_log_density.py (mpmath, 50 digits) for values.

use bayesrg_core::Model;
use bayesrg_core::ad::{self, LogDensity};
use bayesrg_core::fisher;
use bayesrg_core::numdiff;
use bayesrg_core::rng;
use bayesrg_models::*;
use nalgebra::DMatrix;

/// Draws per point.
const DRAWS: usize = 40;

fn check<M: Model + LogDensity>(name: &str, m: &M, points: &[Vec<f64>]) {
    for (k, th) in points.iter().enumerate() {
        m.check_params(th)
            .unwrap_or_else(|e| panic!("{name} {th:?}: {e}"));
        let d = m.dim();
        let f = m.fisher(th).unwrap();
        let unit: Vec<f64> = (0..d).map(|i| f[(i, i)].sqrt()).collect();
        let scales = fisher::step_scales(m, th, Some(&f));
        let mut r = rng::stream(77, k as u64);
        let mut y = vec![0.0; m.obs_dim()];
        let (mut s_hand, mut s_ad) = (vec![0.0; d], vec![0.0; d]);
        let (mut h_hand, mut h_ad) = (vec![0.0; d * d], vec![0.0; d * d]);
        for _ in 0..DRAWS {
            m.sample(th, &mut r, &mut y);
            assert!(y.iter().all(|v| v.is_finite()), "{name} {th:?}: draw {y:?}");
            let v = ad::score(m, th, &y, &mut s_ad);
            m.score(th, &y, &mut s_hand);
            let ll = m.log_likelihood(th, &y);
            assert!(
                (ll - v).abs() <= 1e-12 * (1.0 + v.abs()),
                "{name} {th:?} y = {y:?}: log-likelihood {ll} vs AD value {v}"
            );
            for i in 0..d {
                let tol = 1e-9 * (unit[i] + s_ad[i].abs());
                assert!(
                    (s_hand[i] - s_ad[i]).abs() <= tol,
                    "{name} {th:?} y = {y:?}: score[{i}] hand {} vs AD {}",
                    s_hand[i],
                    s_ad[i]
                );
            }
            ad::hessian(m, th, &y, &mut h_ad);
            m.hessian(th, &y, &mut h_hand);
            assert!(m.has_exact_hessian(), "{name}");
            // Independent check of the AD Hessian: the Jacobian of the exact
            // score by central differences in Fisher units.
            let mut fd = vec![0.0; d * d];
            let (mut xp, mut fp, mut fm) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
            numdiff::jacobian_work(
                |t, out| m.score(t, &y, out),
                th,
                &scales,
                &mut xp,
                &mut fp,
                &mut fm,
                &mut fd,
            );
            for i in 0..d {
                for j in 0..d {
                    let s = unit[i] * unit[j];
                    let (a, h) = (h_ad[i * d + j], h_hand[i * d + j]);
                    assert!(
                        (a - h).abs() <= 1e-9 * (s + a.abs()),
                        "{name} {th:?} y = {y:?}: H[{i},{j}] model {h} vs AD {a}"
                    );
                    // (At the first point only: far from 0 the score is itself
                    // a difference of large terms, whose rounding the
                    // difference quotient divides by its step.)
                    assert!(
                        k > 0 || (a - fd[i * d + j]).abs() <= 1e-5 * (s + a.abs()),
                        "{name} {th:?} y = {y:?}: H[{i},{j}] AD {a} vs differences {}",
                        fd[i * d + j]
                    );
                }
            }
        }
    }
}

fn mat(r: usize, c: usize, v: &[f64]) -> DMatrix<f64> {
    DMatrix::from_row_slice(r, c, v)
}

#[test]
fn scalar_families_across_decades() {
    check(
        "normal",
        &Normal {},
        &[
            vec![0.5, 1.5],
            vec![1e10, 1.0],
            vec![0.0, 1e-5],
            vec![-3.0, 1e6],
            vec![1e-3, 1e-6],
        ],
    );
    check(
        "normal_var",
        &NormalVar {},
        &[vec![0.5, 2.25], vec![0.0, 1e-12], vec![1.0, 1e12]],
    );
    check(
        "bernoulli",
        &Bernoulli {},
        &[vec![0.3], vec![1e-6], vec![1.0 - 1e-6]],
    );
    check(
        "poisson",
        &Poisson {},
        &[vec![3.5], vec![1e-6], vec![1e6], vec![1e12]],
    );
    check(
        "exponential",
        &Exponential {},
        &[vec![0.8], vec![1e-8], vec![1e8]],
    );
    check(
        "gamma",
        &Gamma {},
        &[
            vec![2.5, 1.5],
            vec![1e-3, 1e-3],
            vec![2000.0, 0.7],
            vec![1e6, 1.0],
            vec![1e-3, 1e6],
        ],
    );
    check(
        "beta",
        &Beta {},
        &[
            vec![2.0, 3.5],
            vec![0.2, 0.2],
            vec![200.0, 300.0],
            vec![1e6, 1e-3],
            vec![1e-3, 1e-3],
            vec![1e6, 1e6],
        ],
    );
}

#[test]
fn vector_families() {
    check(
        "categorical",
        &Categorical::new(3).unwrap(),
        &[vec![0.2, 0.5], vec![1e-6, 0.5], vec![0.5, 0.5 - 1e-6]],
    );
    // 19 free probabilities: past the stack-allocated dual numbers (d ≤ 16).
    let k = 20;
    check(
        "categorical (K = 20)",
        &Categorical::new(k).unwrap(),
        &[vec![1.0 / k as f64; k - 1]],
    );
    check(
        "mvn_mean",
        &MvnMean::new(mat(3, 3, &[2.0, 0.6, 0.1, 0.6, 1.0, -0.3, 0.1, -0.3, 0.5])).unwrap(),
        &[vec![0.5, -1.0, 0.0], vec![1e6, -1e6, 3.0]],
    );
    check(
        "mvn",
        &Mvn::new(2).unwrap(),
        &[
            vec![0.5, -1.0, 2.0, 0.6, 1.0],
            vec![0.0, 0.0, 1e-6, 0.0, 1e6],
        ],
    );
    check(
        "mvn (d = 4)",
        &Mvn::new(4).unwrap(),
        &[Mvn::pack(
            &[0.0, 1.0, -1.0, 2.0],
            &mat(
                4,
                4,
                &[
                    2.0, 0.5, 0.1, 0.0, 0.5, 1.0, 0.2, 0.1, 0.1, 0.2, 1.5, 0.3, 0.0, 0.1, 0.3, 0.8,
                ],
            ),
        )],
    );
    check(
        "linear_gaussian",
        &LinearGaussian::new(
            mat(3, 2, &[1.0, 0.0, 1.0, 1.0, 0.5, -1.0]),
            mat(3, 3, &[0.5, 0.1, 0.0, 0.1, 0.4, 0.05, 0.0, 0.05, 0.3]),
        )
        .unwrap(),
        &[vec![1.0, -0.5], vec![1e8, -1e8]],
    );
    check(
        "sum_of_exponentials",
        &SumOfExponentials::new(4, (1..=12).map(|k| 0.5 * k as f64).collect(), 0.1).unwrap(),
        &[vec![0.3, 1.0, 3.0, 6.0], vec![0.1, 2.0, 5.0, 20.0]],
    );
    check(
        "exp_family_finite",
        &ExpFamilyFinite::new(mat(4, 2, &[0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.5])).unwrap(),
        &[vec![0.3, -0.5], vec![20.0, -30.0]],
    );
    let f = LatticeField::new(vec![8]).unwrap();
    check("lattice_field", &f, &[f.free_field_theta(0.5, None)]);
    // 20 modes: the dynamic (hyper-dual) path.
    let f = LatticeField::new(vec![20]).unwrap();
    check(
        "lattice_field (20 modes)",
        &f,
        &[f.free_field_theta(0.5, None)],
    );
}

#[test]
fn log_densities_match_mpmath() {
    // tests/oracles/fisher_and_log_density.py: gamma observes u = ln y, beta
    // the logit w, Poisson the count.
    let rel = |a: f64, b: f64| ((a - b) / b).abs();
    for (k, r, u, v) in [
        (1000000.0, 1.0, 13.816510557964273, 5.488649954103492),
        (2000.0, 0.7, 7.96, 2.875597313748242),
        (0.001, 0.001, -700.0, -7.614086640662836),
        (2.5, 1.5, 0.3, -0.5458083115665129),
    ] {
        let got = Gamma {}.log_likelihood(&[k, r], &[u]);
        assert!(
            rel(got, v) < 1e-12,
            "gamma ({k}, {r}) at u = {u}: {got} vs {v}"
        );
    }
    for (a, b, w, v) in [
        (1000000.0, 1000000.0, 0.001, 5.392243040914158f64),
        (200.0, 300.0, -0.4, 1.4724868654883565),
        (0.2, 0.2, -300.0, -62.25144982715979),
        (0.2, 0.2, 40.0, -10.251449827159785),
        (2.0, 3.5, 0.1, -1.137341265132998),
    ] {
        let got = Beta {}.log_likelihood(&[a, b], &[w]);
        // Absolute error ≈ 1e-16·(a + b)·|ln y| (documented in beta.rs).
        let tol = 1e-13 * (1.0 + v.abs()) + 4e-16 * (a + b) * (1.0 + w.abs());
        assert!(
            (got - v).abs() < tol,
            "beta ({a}, {b}) at w = {w}: {got} vs {v}"
        );
    }
    for (l, y, v) in [
        (1000000000000.0, 1000001000000.0, -15.234449424502197),
        (1e-06, 0.0, -1e-06),
        (1e-06, 3.0, -43.23829214312088),
        (3.5, 2.0, -1.6876212435692093),
        (60000.0, 60250.0, -6.942180298994419),
    ] {
        let got = Poisson {}.log_likelihood(&[l], &[y]);
        assert!(rel(got, v) < 1e-12, "poisson {l} at {y}: {got} vs {v}");
    }
    // The textbook Poisson form loses 4 digits at λ = 10¹² (the check can fail).
    let (l, y) = (1e12f64, 1e12f64 + 1e6);
    let naive = y * l.ln() - l - bayesrg_core::special::ln_gamma(y + 1.0);
    assert!(rel(naive, -15.234449424502197) > 1e-6, "{naive}");
}

/// Mean, variance and the standard errors of both, from n draws of `draw`.
fn moments(n: usize, seed: u64, draw: impl Fn(&mut dyn rand::Rng) -> f64 + Sync) -> [f64; 4] {
    let parts = rng::par_chunks(n, seed, |_, range, r| {
        let mut xs = Vec::with_capacity(range.len());
        for _ in range {
            xs.push(draw(r));
        }
        xs
    });
    let xs: Vec<f64> = parts.into_iter().flatten().collect();
    let nf = n as f64;
    let mean = xs.iter().sum::<f64>() / nf;
    let m2 = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / nf;
    let m4 = xs.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / nf;
    [mean, (m2 / nf).sqrt(), m2, ((m4 - m2 * m2) / nf).sqrt()]
}

#[test]
fn log_space_draws_have_the_exact_moments() {
    // Issue 16, item 2: Gamma(0.001, 0.001) and Beta(0.2, 0.2) drew y = 0 or
    // 1 exactly. Their observed variates u = ln y and w = logit y are finite
    // and have E[u] = ψ(k) − ln β, Var[u] = ψ′(k); E[w] = ψ(a) − ψ(b),
    // Var[w] = ψ′(a) + ψ′(b) (mpmath values, fisher_and_log_density.py),
    // within 5 standard errors of 100 000 draws.
    const N: usize = 100_000;
    let check = |what: String, m: [f64; 4], mean: f64, var: f64| {
        assert!(
            (m[0] - mean).abs() <= 5.0 * m[1],
            "{what}: mean {} ± {} vs {mean}",
            m[0],
            m[1]
        );
        assert!(
            (m[2] - var).abs() <= 5.0 * m[3],
            "{what}: variance {} ± {} vs {var}",
            m[2],
            m[3]
        );
    };
    for (k, rate, mean, var) in [
        (0.001, 0.001, -993.6678166528282, 1000001.6425331958),
        (2000.0, 0.7, 7.957327382647482, 0.0005001250208333323),
        (0.05, 3.0, -21.59645727996798, 401.53235734211506),
        (1000000.0, 1.0, 13.815510057964191, 1.0000005000001667e-06),
    ] {
        let g = Gamma {};
        let m = moments(N, 5, |r| {
            let mut u = [0.0];
            g.sample(&[k, rate], r, &mut u);
            assert!(u[0].is_finite());
            u[0]
        });
        check(format!("gamma ({k}, {rate})"), m, mean, var);
    }
    for (a, b, mean, var) in [
        (0.2, 0.2, 0.0, 52.534754410847555),
        (0.001, 0.001, 0.0, 2000003.2850663916),
        (200.0, 300.0, -0.40629959884472566, 0.008351415894943846),
        (0.05, 5.0, -22.00396265973167, 401.7536802978522),
    ] {
        let be = Beta {};
        let m = moments(N, 6, |r| {
            let mut w = [0.0];
            be.sample(&[a, b], r, &mut w);
            assert!(w[0].is_finite());
            w[0]
        });
        check(format!("beta ({a}, {b})"), m, mean, var);
    }
}

#[test]
fn enumerated_supports_carry_the_probabilities() {
    // Σ P(y) = 1 (up to the stated tail mass), and the first two moments are
    // the family's: Poisson mean and variance λ, Bernoulli mean p,
    // categorical class probabilities.
    for l in [1e-6, 0.3, 3.5, 40.0, 1e4] {
        let s = Poisson {}.support(&[l]).unwrap();
        let total: f64 = s.probs.iter().sum();
        let mean: f64 = s.points.iter().zip(&s.probs).map(|(y, p)| y * p).sum();
        let var: f64 = s
            .points
            .iter()
            .zip(&s.probs)
            .map(|(y, p)| (y - l).powi(2) * p)
            .sum();
        assert!(s.tail_mass < 1e-60, "λ = {l}: tail {}", s.tail_mass);
        assert!((total - 1.0).abs() < 1e-13, "λ = {l}: Σp = {total}");
        assert!(((mean - l) / l).abs() < 1e-12, "λ = {l}: mean {mean}");
        assert!(((var - l) / l).abs() < 1e-10, "λ = {l}: variance {var}");
    }
    assert!(Poisson {}.support(&[1e5]).is_none());
    let s = Bernoulli {}.support(&[1e-6]).unwrap();
    assert_eq!(
        (s.points.clone(), s.probs.clone()),
        (vec![0.0, 1.0], vec![1.0 - 1e-6, 1e-6])
    );
    let s = Categorical::new(3).unwrap().support(&[0.2, 0.5]).unwrap();
    assert_eq!(s.points, vec![0.0, 1.0, 2.0]);
    assert!((s.probs[2] - 0.3).abs() < 1e-15);
    let e = ExpFamilyFinite::new(mat(4, 2, &[0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.5])).unwrap();
    let s = e.support(&[0.3, -0.5]).unwrap();
    assert!((s.probs.iter().sum::<f64>() - 1.0).abs() < 1e-15);
}

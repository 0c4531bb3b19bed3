//! Dynamical Bayes (eqs. 32–35) against closed forms: grid solutions of (33)
//! to 1e-8, particle solutions to Monte Carlo error, the invariants of (33),
//! the MAP path, and the late-time law (35) for a non-conjugate model.

mod common;

use bayesrg_core::bayes::conjugate::{BetaBernoulli, GammaPoisson, LinearGaussian};
use bayesrg_core::bayes::dynamics;
use bayesrg_core::bayes::energy::Energy;
use bayesrg_core::bayes::grid::{Axis, GridPosterior};
use bayesrg_core::bayes::particles::ParticlePosterior;
use bayesrg_core::bayes::prior::{Factor, Prior};
use bayesrg_core::bayes::{Posterior, update};
use bayesrg_core::model::Model;
use bayesrg_core::rng;
use common::*;
use nalgebra::{DMatrix, DVector};

const TS: [f64; 5] = [0.0, 1.0, 5.0, 20.0, 100.0];

/// Runs (33) on a grid built from the prior; returns the records and the grid.
fn grid_flow(
    model: &dyn Model,
    star: &[f64],
    prior: &Prior,
    axes: &[Axis],
) -> (Vec<dynamics::FlowRecord>, GridPosterior, Vec<f64>) {
    grid_flow_at(model, star, prior, axes, &TS, 40)
}

fn grid_flow_at(
    model: &dyn Model,
    star: &[f64],
    prior: &Prior,
    axes: &[Axis],
    ts: &[f64],
    steps: usize,
) -> (Vec<dynamics::FlowRecord>, GridPosterior, Vec<f64>) {
    let e = Energy::new(model, star, None, 0, 0).unwrap();
    let mut g = GridPosterior::new(axes, |x| prior.ln_pdf(x)).unwrap();
    let k = g.points().map(|x| e.eval(x));
    let rec = dynamics::run(g.points_mut(), &k, ts, steps).unwrap();
    (rec, g, k)
}

fn assert_close(a: &DVector<f64>, b: &DVector<f64>, tol: f64, what: &str) {
    let d = (a - b).amax();
    assert!(d <= tol, "{what}: |Δ| = {d:e} > {tol:e} ({a} vs {b})");
}

#[test]
fn normal_mean_grid_matches_precision_p0_plus_t_i() {
    let (sigma, star, m0, s0) = (1.3, 0.7, -0.5, 2.0);
    let m = NormalMean { sigma };
    let prior = Prior {
        factors: vec![Factor::Normal { mean: m0, sd: s0 }],
    };
    let (rec, _, _) = grid_flow(&m, &[star], &prior, &[Axis::linear(-20.0, 20.0, 4001)]);
    let o = bayesrg_core::bayes::conjugate::NormalMean::new(m0, s0, sigma * sigma);
    for r in &rec {
        let want = o.flow(r.t, star);
        assert_close(&r.mean, &want.mean(), 1e-8, "mean");
        assert_close(&r.cov.diagonal(), &want.var(), 1e-8, "variance");
    }
}

#[test]
fn poisson_grid_matches_gamma_a_plus_t_lambda() {
    let (a, b, star) = (4.0, 1.0, 3.0);
    let prior = Prior {
        factors: vec![Factor::Gamma { shape: a, rate: b }],
    };
    let (rec, _, _) = grid_flow(&Pois {}, &[star], &prior, &[Axis::linear(0.0, 40.0, 8000)]);
    for r in &rec {
        let want = GammaPoisson { a, b }.flow(r.t, star);
        assert_close(&r.mean, &want.mean(), 1e-8, "mean");
        assert_close(&r.cov.diagonal(), &want.var(), 1e-8, "variance");
    }
}

#[test]
fn bernoulli_grid_matches_beta() {
    let (a, b, star) = (3.0, 4.0, 0.3);
    let prior = Prior {
        factors: vec![Factor::Beta { a, b }],
    };
    let (rec, _, _) = grid_flow(&Bern {}, &[star], &prior, &[Axis::linear(0.0, 1.0, 8000)]);
    for r in &rec {
        let want = BetaBernoulli { a, b }.flow(r.t, star);
        assert_close(&r.mean, &want.mean(), 1e-8, "mean");
        assert_close(&r.cov.diagonal(), &want.var(), 1e-8, "variance");
    }
}

fn lin_model() -> LinGauss {
    LinGauss {
        a: DMatrix::from_row_slice(3, 2, &[1.0, 0.5, -0.3, 2.0, 0.8, 0.1]),
        sigma: DMatrix::from_row_slice(3, 3, &[0.5, 0.1, 0.0, 0.1, 0.8, 0.05, 0.0, 0.05, 0.3]),
    }
}

#[test]
fn linear_gaussian_grid_matches_precision_p0_plus_t_ataia() {
    let m = lin_model();
    let star = [0.4, -0.6];
    let (m0, s0) = ([0.2, 0.1], [1.0, 1.5]);
    let prior = Prior {
        factors: (0..2)
            .map(|i| Factor::Normal {
                mean: m0[i],
                sd: s0[i],
            })
            .collect(),
    };
    // A wide grid for early T (the prior must be covered) and a narrow one,
    // ±10 posterior sd at T = 20, for late T: the flow from T = 0 on the narrow
    // grid is exact wherever its posterior is covered (checked).
    let wide = [
        Axis::linear(-10.0, 10.0, 200),
        Axis::linear(-12.0, 12.0, 200),
    ];
    let (mut rec, _, _) = grid_flow_at(&m, &star, &prior, &wide, &[0.0, 1.0, 5.0], 40);
    let sd20: Vec<f64> = (0..2)
        .map(|i| (1.0 / (20.0 * m.fisher(&star).unwrap()[(i, i)])).sqrt() * 3.0)
        .collect();
    let narrow: Vec<Axis> = (0..2)
        .map(|i| Axis::linear(star[i] - 10.0 * sd20[i], star[i] + 10.0 * sd20[i], 200))
        .collect();
    let (late, g, _) = grid_flow_at(&m, &star, &prior, &narrow, &[0.0, 20.0, 100.0], 40);
    let e = Energy::new(&m, &star, None, 0, 0).unwrap();
    g.check_coverage(1e-12, &e.names(), |_| true).unwrap();
    rec.extend(late.into_iter().skip(1));
    let p0 = DMatrix::from_diagonal(&DVector::from_iterator(2, s0.iter().map(|s| 1.0 / (s * s))));
    let o =
        LinearGaussian::new(m.a.clone(), &m.sigma, DVector::from_column_slice(&m0), p0).unwrap();
    for r in &rec {
        let want = o.flow(r.t, &star);
        assert_close(&r.mean, &want.mean(), 1e-8, "mean");
        let d = (&r.cov - want.cov()).amax();
        assert!(d < 1e-8, "cov at T = {}: {d:e}", r.t);
    }
}

#[test]
fn particles_match_closed_forms_to_monte_carlo_error() {
    // Poisson–Gamma with 50k prior draws; importance-sampling standard errors
    // sd/√ESS (mean) and var·√(2/ESS) (variance, Gaussian approximation, padded
    // by the kurtosis of a Gamma); 5 standard errors.
    let (a, b, star) = (4.0, 1.0, 3.0);
    let prior = Prior {
        factors: vec![Factor::Gamma { shape: a, rate: b }],
    };
    let e = Energy::new(&Pois {}, &[star], None, 0, 0).unwrap();
    let mut p = ParticlePosterior::from_prior(&prior, 50_000, 11).unwrap();
    let k = p.points().map(|x| e.eval(x));
    let ts = [0.0, 1.0, 5.0, 20.0];
    let rec = dynamics::run(p.points_mut(), &k, &ts, 40).unwrap();
    for r in &rec {
        let want = GammaPoisson { a, b }.flow(r.t, star);
        let (wm, wv) = (want.mean()[0], want.var()[0]);
        let se_m = (wv / r.ess).sqrt();
        let se_v = wv * (3.0 / r.ess).sqrt();
        assert!(
            (r.mean[0] - wm).abs() < 5.0 * se_m,
            "T = {}: mean {} vs {wm} (se {se_m})",
            r.t,
            r.mean[0]
        );
        assert!(
            (r.cov[(0, 0)] - wv).abs() < 5.0 * se_v,
            "T = {}: var {} vs {wv}",
            r.t,
            r.cov[(0, 0)]
        );
    }
    // Normal mean, likewise.
    let (sigma, star, m0, s0) = (1.0, 0.7, 0.0, 1.5);
    let prior = Prior {
        factors: vec![Factor::Normal { mean: m0, sd: s0 }],
    };
    let model = NormalMean { sigma };
    let e = Energy::new(&model, &[star], None, 0, 0).unwrap();
    let mut p = ParticlePosterior::from_prior(&prior, 50_000, 12).unwrap();
    let k = p.points().map(|x| e.eval(x));
    let rec = dynamics::run(p.points_mut(), &k, &ts, 40).unwrap();
    let o = bayesrg_core::bayes::conjugate::NormalMean::new(m0, s0, sigma * sigma);
    for r in &rec {
        let want = o.flow(r.t, star);
        let (wm, wv) = (want.mean()[0], want.var()[0]);
        let se_m = (wv / r.ess).sqrt();
        let se_v = wv * (2.0 / r.ess).sqrt();
        assert!(
            (r.mean[0] - wm).abs() < 5.0 * se_m,
            "T = {}: mean {} vs {wm}",
            r.t,
            r.mean[0]
        );
        assert!(
            (r.cov[(0, 0)] - wv).abs() < 5.0 * se_v,
            "T = {}: var {} vs {wv}",
            r.t,
            r.cov[(0, 0)]
        );
    }
}

#[test]
fn invariants_of_the_flow() {
    // d ln Z/dT = −E[K]: the RK4-integrated ln Z equals ln E_{π₀}[e^{−TK}] of (34);
    // dE[K]/dT = −Var(K) ≤ 0; and the RK4 shape equals (34).
    let prior = Prior {
        factors: vec![Factor::Gamma {
            shape: 4.0,
            rate: 1.0,
        }],
    };
    let (rec, g, k) = grid_flow_at(
        &Pois {},
        &[3.0],
        &prior,
        &[Axis::linear(0.0, 40.0, 8000)],
        &TS,
        100,
    );
    let g0 = GridPosterior::new(g.axes(), |x| prior.ln_pdf(x)).unwrap();
    for r in &rec {
        let (sol, ln_z) = dynamics::boltzmann(g0.points(), &k, r.t);
        assert!(
            (r.ln_z - ln_z).abs() < 1e-8,
            "T = {}: ln Z {} vs {ln_z}",
            r.t,
            r.ln_z
        );
        assert!(
            (r.de_k_dt + r.var_k).abs() <= 1e-6 * r.var_k.max(1e-12),
            "T = {}: {} vs {}",
            r.t,
            r.de_k_dt,
            -r.var_k
        );
        assert!(r.de_k_dt <= 0.0);
        assert_close(&r.mean, &sol.mean(), 1e-12, "RK4 vs (34)");
    }
}

#[test]
fn map_path_matches_closed_form() {
    // Gamma(a + Tλ*, b + T) has mode (a − 1 + Tλ*)/(b + T); Brent from the best grid point.
    let (a, b, star) = (4.0, 1.0, 3.0);
    let prior = Prior {
        factors: vec![Factor::Gamma { shape: a, rate: b }],
    };
    let e = Energy::new(&Pois {}, &[star], None, 0, 0).unwrap();
    for t in [0.0, 2.0, 50.0] {
        let m = dynamics::map_point(&prior, &e, t, &[star], &[2.0]).unwrap();
        let want = (a - 1.0 + t * star) / (b + t);
        assert!((m[0] - want).abs() < 1e-7, "T = {t}: {} vs {want}", m[0]);
    }
    // Linear-Gaussian: the MAP is the posterior mean (Nelder–Mead in 2-D).
    let m = lin_model();
    let star = [0.4, -0.6];
    let prior = Prior {
        factors: vec![Factor::Normal { mean: 0.0, sd: 1.0 }; 2],
    };
    let e = Energy::new(&m, &star, None, 0, 0).unwrap();
    let o = LinearGaussian::new(
        m.a.clone(),
        &m.sigma,
        DVector::zeros(2),
        DMatrix::identity(2, 2),
    )
    .unwrap();
    let t = 3.0;
    let got = dynamics::map_point(&prior, &e, t, &[0.0, 0.0], &[1.0, 1.0]).unwrap();
    assert_close(
        &DVector::from_vec(got),
        &o.flow(t, &star).mean(),
        1e-6,
        "MAP",
    );
}

#[test]
fn late_time_law_for_gamma_shape_and_rate() {
    // Non-conjugate (gamma shape and rate): T·Cov_π → I(θ*)⁻¹ (eq. 35). The
    // corrections are O(1/T) relative (prior, skewness of e^{−TK}); at T = 5000
    // we allow 3% of the largest entry of I⁻¹, and check that at T = 5 the
    // error is far larger (so the check can fail).
    let star = [3.0, 2.0];
    let model = GammaSR {};
    let fisher = model.fisher(&star).unwrap();
    let prior = Prior {
        factors: vec![
            Factor::Gamma {
                shape: 2.0,
                rate: 0.5,
            },
            Factor::Gamma {
                shape: 2.0,
                rate: 0.5,
            },
        ],
    };
    let e = Energy::new(&model, &star, None, 0, 0).unwrap();
    let t_late = 5000.0;
    let inv = fisher.clone().cholesky().unwrap().inverse();
    let sd: Vec<f64> = (0..2).map(|i| (inv[(i, i)] / t_late).sqrt()).collect();
    let axes: Vec<Axis> = (0..2)
        .map(|i| Axis::linear(star[i] - 9.0 * sd[i], star[i] + 9.0 * sd[i], 241))
        .collect();
    let mut g = GridPosterior::new(&axes, |x| prior.ln_pdf(x)).unwrap();
    let k = g.points().map(|x| e.eval(x));
    let rec = dynamics::run(g.points_mut(), &k, &[0.0, t_late], 40).unwrap();
    g.check_coverage(1e-8, &e.names(), |x| e.valid(x)).unwrap();
    let err = dynamics::late_time_error(&rec[1].cov, t_late, &fisher).unwrap();
    assert!(err < 0.03, "late-time error {err}");
    // Early: a wide grid at T = 5.
    let axes = [Axis::linear(0.01, 20.0, 400), Axis::linear(0.01, 15.0, 400)];
    let mut g = GridPosterior::new(&axes, |x| prior.ln_pdf(x)).unwrap();
    let k = g.points().map(|x| e.eval(x));
    let rec = dynamics::run(g.points_mut(), &k, &[0.0, 5.0], 40).unwrap();
    let early = dynamics::late_time_error(&rec[1].cov, 5.0, &fisher).unwrap();
    assert!(early > 3.0 * err, "early {early} vs late {err}");
}

#[test]
fn updates_from_data_match_conjugate_batch() {
    // Eq. (32) on a grid, streaming, 300 Poisson counts: equals Gamma(a + Σy, b + n).
    let (a, b, star) = (4.0, 1.0, 3.0);
    let model = Pois {};
    let prior = Prior {
        factors: vec![Factor::Gamma { shape: a, rate: b }],
    };
    let e = Energy::new(&model, &[star], None, 0, 0).unwrap();
    let mut r = rng::stream(5, 0);
    let ys: Vec<Vec<f64>> = (0..300)
        .map(|_| {
            let mut y = [0.0];
            model.sample(&[star], &mut r, &mut y);
            y.to_vec()
        })
        .collect();
    let mut g = GridPosterior::new(&[Axis::linear(0.0, 40.0, 8000)], |x| prior.ln_pdf(x)).unwrap();
    update::observe_all(g.points_mut(), &e, &ys).unwrap();
    let mut o = GammaPoisson { a, b };
    o.observe_batch(&ys.iter().map(|y| y[0]).collect::<Vec<_>>());
    assert_close(&g.mean(), &o.mean(), 1e-8, "mean");
    assert_close(&g.var(), &o.var(), 1e-8, "var");
    g.check_coverage(1e-10, &e.names(), |x| e.valid(x)).unwrap();
}

// ---------------------------------------------------------------------------
// Scale sweeps (issue 16, item 8): the grid solution of (33) against the
// conjugate closed forms of oracles.md §7 across decades of the truth and of
// the prior, with relative tolerances: the mean in units of the posterior sd,
// the variance relative to itself.
// ---------------------------------------------------------------------------

/// The worst errors of the grid flow against an oracle over the save points:
/// (max |Δmean|/sd, max |Δvar|/var), the oracle giving (mean, var) at T.
fn flow_errors(
    model: &dyn Model,
    star: f64,
    prior: &Prior,
    axis: Axis,
    ts: &[f64],
    oracle: &dyn Fn(f64) -> (f64, f64),
) -> (f64, f64) {
    let e = Energy::new(model, &[star], None, 0, 0).unwrap();
    let mut g = GridPosterior::from_prior(&[axis], prior).unwrap();
    let k = g.points().map(|x| e.eval(x));
    let rec = dynamics::run(g.points_mut(), &k, ts, 4).unwrap();
    let (mut dm, mut dv): (f64, f64) = (0.0, 0.0);
    for r in &rec {
        let (m, v) = oracle(r.t);
        dm = dm.max((r.mean[0] - m).abs() / v.sqrt());
        dv = dv.max((r.cov[(0, 0)] - v).abs() / v);
    }
    (dm, dv)
}

/// Relative tolerance of the sweeps (mean in posterior sd, variance relative).
const SWEEP_TOL: f64 = 1e-9;

/// A logit axis covering Beta(a, b) priors and Beta(α, β) posteriors up to
/// the largest T: the tails of Beta(a, b) in x = logit θ fall as e^{ax} and
/// e^{−bx}, so ln(mass beyond x) ≈ a·x − ln(a·B(a, b)) (and likewise above);
/// cut where it is below 1e-16. Cells: h = sd_x/2 at the latest posterior,
/// sd_x² ≈ 1/α + 1/β.
fn beta_axis(a: f64, b: f64, alpha: f64, beta: f64) -> Axis {
    let tail = |a: f64, b: f64| (-36.8 + a.ln() + ln_b(a, b)) / a;
    let lo = tail(a, b).min(tail(alpha, beta)).max(-700.0) - 2.0;
    let hi = (-tail(b, a)).max(-tail(beta, alpha)).min(700.0) + 2.0;
    let sd = (1.0 / alpha + 1.0 / beta).sqrt().min(1.0);
    Axis::logit(lo, hi, ((hi - lo) / (0.5 * sd)).ceil() as usize)
}

fn ln_b(a: f64, b: f64) -> f64 {
    bayesrg_core::special::ln_beta(a, b)
}

#[test]
fn bernoulli_sweep_across_decades_of_p_and_of_the_prior() {
    // π_T = Beta(a + Tp*, b + T(1 − p*)) (oracles.md §7), p* from 1e-4 to
    // 1 − 1e-4, priors Jeffreys Beta(½, ½) and Beta(a, b) over decades of a, b;
    // T·min(p*, 1 − p*) from 0 to 300.
    let ps: [f64; 7] = [1e-4, 1e-2, 0.1, 0.5, 0.9, 0.999, 1.0 - 1e-4];
    let priors = [(0.5, 0.5), (0.2, 2.0), (2.0, 0.5), (20.0, 2.0), (1e3, 1e3)];
    let mut worst: (f64, f64) = (0.0, 0.0);
    let mut bad = vec![];
    for &p in &ps {
        let m = p.min(1.0 - p);
        let ts: Vec<f64> = [0.0, 0.3, 3.0, 30.0, 300.0].iter().map(|c| c / m).collect();
        for &(a, b) in &priors {
            let t_last = *ts.last().unwrap();
            let axis = beta_axis(a, b, a + t_last * p, b + t_last * (1.0 - p));
            let prior = Prior {
                factors: vec![Factor::Beta { a, b }],
            };
            let oracle = |t: f64| {
                let o = BetaBernoulli { a, b }.flow(t, p);
                (o.mean()[0], o.var()[0])
            };
            let (dm, dv) = flow_errors(&Bern {}, p, &prior, axis, &ts, &oracle);
            if !(dm < SWEEP_TOL && dv < SWEEP_TOL) {
                bad.push(format!(
                    "p* = {p}, Beta({a}, {b}), {} cells on [{}, {}]: mean {dm:e} sd, var {dv:e}",
                    axis.n, axis.lo, axis.hi
                ));
            }
            worst = (worst.0.max(dm), worst.1.max(dv));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
    eprintln!(
        "Bernoulli sweep: worst mean error {:e} sd, variance {:e}",
        worst.0, worst.1
    );
}

#[test]
fn jeffreys_prior_needs_the_logit_axis() {
    // The case: Beta(½, ½), p* = 0.3. Oracle: the moments of
    // π₀e^{−TK}/Z by 40-digit quadrature (tests/oracles/dynamical_bayes_jeffreys.py,
    // independent of the conjugate closed form, which it confirms to 1e-41).
    // On a linear axis the midpoint rule misses the θ^{−½} ends (the control:
    // it fails the sweep tolerance by orders of magnitude, and refining 4× barely
    // helps); on a logit axis it passes.
    let p = 0.3;
    let prior = Prior {
        factors: vec![Factor::Beta { a: 0.5, b: 0.5 }],
    };
    let ts = [0.0, 1.0, 5.0, 20.0, 100.0];
    // (mpmath's 20 digits, rounded to f64 by the compiler.)
    #[allow(clippy::excessive_precision)]
    let mp: [(f64, f64); 5] = [
        (0.5, 0.125),
        (0.4, 0.08),
        (0.333_333_333_333_333_333_33, 0.031_746_031_746_031_746_032),
        (
            0.309_523_809_523_809_523_81,
            0.009_714_491_857_349_000_206_1,
        ),
        (0.301_980_198_019_801_980_2, 0.002_066_550_568_860_031_023_5),
    ];
    let oracle = |t: f64| mp[ts.iter().position(|s| *s == t).unwrap()];
    let lin = |n| flow_errors(&Bern {}, p, &prior, Axis::linear(0.0, 1.0, n), &ts, &oracle);
    let (m4, v4) = lin(4000);
    let (m16, v16) = lin(16000);
    eprintln!("linear axis: 4000 cells {m4:e}/{v4:e}, 16000 cells {m16:e}/{v16:e}");
    assert!(v4.max(m4) > 1e-4 && v16.max(m16) > 3e-5);
    let (dm, dv) = flow_errors(
        &Bern {},
        p,
        &prior,
        Axis::logit(-80.0, 80.0, 1000),
        &ts,
        &oracle,
    );
    assert!(dm < SWEEP_TOL && dv < SWEEP_TOL, "{dm:e} {dv:e}");
}

#[test]
fn poisson_sweep_across_decades_of_the_rate() {
    // π_T = Gamma(a + Tλ*, b + T) (oracles.md §7), λ* from 1e-3 to 1e6, priors
    // with shape 0.5 (infinite at 0), 3 and 300 and means 3λ*, λ*/2, 1.2λ*, on a
    // log axis; T·λ* from 0 to 300.
    let rates = [1e-3, 1e-1, 10.0, 1e3, 1e6];
    let shapes = [(0.5, 3.0), (3.0, 0.5), (300.0, 1.2)];
    let mut worst: (f64, f64) = (0.0, 0.0);
    for &l in &rates {
        let ts: Vec<f64> = [0.0, 0.3, 3.0, 30.0, 300.0].iter().map(|c| c / l).collect();
        for &(a, m) in &shapes {
            let b = a / (m * l);
            let prior = Prior {
                factors: vec![Factor::Gamma { shape: a, rate: b }],
            };
            // Tails in x = ln λ: mass below ≈ (bλ)^a/Γ(a + 1), above ≈ e^{−bλ}(bλ)^{a−1}.
            let lo =
                (((-36.8 + bayesrg_core::special::ln_gamma(a + 1.0)) / a).exp() / b).ln() - 2.0;
            let hi = ((40.0 + a.max(1.0) * 3.0) / b).ln().max(l.ln() + 1.0) + 1.0;
            let sd = 1.0 / (a + 300.0f64).sqrt();
            let axis = Axis::log(lo, hi, ((hi - lo) / (0.5 * sd)).ceil() as usize);
            let oracle = |t: f64| {
                let o = GammaPoisson { a, b }.flow(t, l);
                (o.mean()[0], o.var()[0])
            };
            let (dm, dv) = flow_errors(&Pois {}, l, &prior, axis, &ts, &oracle);
            assert!(
                dm < SWEEP_TOL && dv < SWEEP_TOL,
                "lambda* = {l}, Gamma({a}, {b}), {} cells on [{lo}, {hi}]: mean {dm:e} sd, var {dv:e}",
                axis.n
            );
            worst = (worst.0.max(dm), worst.1.max(dv));
        }
    }
    eprintln!(
        "Poisson sweep: worst mean error {:e} sd, variance {:e}",
        worst.0, worst.1
    );
}

#[test]
fn normal_mean_sweep_across_decades_of_sigma() {
    // π_T: precision 1/s₀² + T/σ², mean (m₀/s₀² + Tμ*/σ²)/precision (oracles.md
    // §7); σ from 1e-6 to 1e6, prior widths s₀ = σ/10 … 10σ, prior means off by
    // 3 s₀ and μ* offset from 0 by 1e3 σ; T from 0 to 1000.
    let ts = [0.0, 1.0, 10.0, 100.0, 1000.0];
    let mut worst: (f64, f64) = (0.0, 0.0);
    for e in -6..=6 {
        let sigma = 10f64.powi(e);
        for &(s0_rel, offset) in &[(0.1, 0.0), (1.0, 1e3), (10.0, -1e3)] {
            let s0 = s0_rel * sigma;
            let star = offset * sigma + 0.7 * sigma;
            let m0 = star - 3.0 * s0;
            let prior = Prior {
                factors: vec![Factor::Normal { mean: m0, sd: s0 }],
            };
            let sd_last = 1.0 / (1.0 / (s0 * s0) + 1000.0 / (sigma * sigma)).sqrt();
            let (lo, hi) = (m0 - 12.0 * s0, m0 + 12.0 * s0);
            let axis = Axis::linear(lo, hi, ((hi - lo) / (0.5 * sd_last)).ceil() as usize);
            let o = bayesrg_core::bayes::conjugate::NormalMean::new(m0, s0, sigma * sigma);
            let oracle = |t: f64| {
                let f = o.flow(t, star);
                (f.mean()[0], f.var()[0])
            };
            let (dm, dv) = flow_errors(&NormalMean { sigma }, star, &prior, axis, &ts, &oracle);
            assert!(
                dm < SWEEP_TOL && dv < SWEEP_TOL,
                "sigma = {sigma}, N({m0}, {s0}^2), {} cells: mean {dm:e} sd, var {dv:e}",
                axis.n
            );
            worst = (worst.0.max(dm), worst.1.max(dv));
        }
    }
    eprintln!(
        "normal-mean sweep: worst mean error {:e} sd, variance {:e}",
        worst.0, worst.1
    );
}

#[test]
fn save_points_need_not_start_at_zero() {
    // The case: t = [5, 37]. The flow starts from the prior at T = 0
    // whatever the first save point; the records at 5 and 37 are the
    // closed-form posteriors there (Gamma(a + Tλ*, b + T), oracles.md §7).
    // Control: what integrating from the prior at T = 5 would give (the closed
    // form at 37 − 5 = 32) is far outside the tolerance.
    let (a, b, star) = (4.0, 1.0, 3.0);
    let prior = Prior {
        factors: vec![Factor::Gamma { shape: a, rate: b }],
    };
    let oracle = |t: f64| {
        let o = GammaPoisson { a, b }.flow(t, star);
        (o.mean()[0], o.var()[0])
    };
    let axis = Axis::log(-15.0, 4.0, 2000);
    let (dm, dv) = flow_errors(&Pois {}, star, &prior, axis, &[5.0, 37.0], &oracle);
    assert!(dm < SWEEP_TOL && dv < SWEEP_TOL, "{dm:e} {dv:e}");
    let (m32, v32) = oracle(32.0);
    let (m37, v37) = oracle(37.0);
    assert!((m32 - m37).abs() / v37.sqrt() > 1e3 * SWEEP_TOL && (v32 - v37).abs() / v37 > 0.1);
    // The same through `run` with the records checked directly, and ln Z
    // against (34): ln E_π₀[e^{−37K}] on the same grid.
    let e = Energy::new(&Pois {}, &[star], None, 0, 0).unwrap();
    let mut g = GridPosterior::from_prior(&[axis], &prior).unwrap();
    let g0 = g.clone();
    let k = g.points().map(|x| e.eval(x));
    let rec = dynamics::run(g.points_mut(), &k, &[5.0, 37.0], 4).unwrap();
    let (_, ln_z) = dynamics::boltzmann(g0.points(), &k, 37.0);
    assert!((rec[1].ln_z - ln_z).abs() < 1e-8 * ln_z.abs().max(1.0));
    assert_eq!(rec[0].t, 5.0);
}

#[test]
fn updates_from_data_across_decades() {
    // Eq. (32) on a grid, streaming, against the batch conjugate update
    // (oracles.md §4) — Beta(a + k, b + n − k) and Gamma(a + Σy, b + n) — at the
    // ends of the sweeps: p* = 1e-4, 0.5, 1 − 1e-4 under Jeffreys (400
    // observations), λ* = 1e-3 under a shape-0.5 gamma (400) and λ* = 1e6
    // under Gamma(100, 100/1.2e6) (20 observations: the posterior sd is then
    // 2e-4 relative, and the grid must resolve it and cover the prior).
    // (model, θ*, prior, axis, number of observations)
    type Case = (Box<dyn Model>, f64, Prior, Axis, usize);
    let mut cases: Vec<Case> = vec![];
    for p in [1e-4, 0.5, 1.0 - 1e-4] {
        cases.push((
            Box::new(Bern {}),
            p,
            Prior {
                factors: vec![Factor::Beta { a: 0.5, b: 0.5 }],
            },
            Axis::logit(-80.0, 80.0, 4000),
            400,
        ));
    }
    cases.push((
        Box::new(Pois {}),
        1e-3,
        Prior {
            factors: vec![Factor::Gamma {
                shape: 0.5,
                rate: 0.5 / 3e-3,
            }],
        },
        Axis::log(1e-3f64.ln() - 80.0, 1e-3f64.ln() + 6.0, 4000),
        400,
    ));
    let l: f64 = 1e6;
    cases.push((
        Box::new(Pois {}),
        l,
        Prior {
            factors: vec![Factor::Gamma {
                shape: 100.0,
                rate: 100.0 / (1.2 * l),
            }],
        },
        Axis::log(l.ln() - 1.5, l.ln() + 1.5, 30_000),
        20,
    ));
    for (i, (model, star, prior, axis, n)) in cases.into_iter().enumerate() {
        let e = Energy::new(model.as_ref(), &[star], None, 0, 0).unwrap();
        let mut r = rng::stream(21, i as u64);
        let ys: Vec<Vec<f64>> = (0..n)
            .map(|_| {
                let mut y = [0.0];
                model.sample(&[star], &mut r, &mut y);
                y.to_vec()
            })
            .collect();
        let flat: Vec<f64> = ys.iter().map(|y| y[0]).collect();
        let mut g = GridPosterior::from_prior(&[axis], &prior).unwrap();
        update::observe_all(g.points_mut(), &e, &ys).unwrap();
        let (m, v) = match prior.factors[0] {
            Factor::Beta { a, b } => {
                let mut o = BetaBernoulli { a, b };
                o.observe_batch(&flat);
                (o.mean()[0], o.var()[0])
            }
            Factor::Gamma { shape, rate } => {
                let mut o = GammaPoisson { a: shape, b: rate };
                o.observe_batch(&flat);
                (o.mean()[0], o.var()[0])
            }
            _ => unreachable!(),
        };
        let dm = (g.mean()[0] - m).abs() / v.sqrt();
        let dv = (g.var()[0] - v).abs() / v;
        // At λ* = 1e6 each ln p(y|λ) = y ln λ − λ − ln y! is a difference of
        // terms of 1.4e7: its round-off, ε·1.4e7 ≈ 3e-9 per observation, is
        // noise on the log-weights that the posterior moments inherit.
        let tol = if star > 1e3 { 1e-8 } else { SWEEP_TOL };
        assert!(
            dm < tol && dv < tol,
            "case {i} (θ* = {star}): {dm:e} {dv:e}"
        );
    }
}

#[test]
fn a_nan_likelihood_is_a_failed_update_naming_the_point() {
    // ln p(y | θ) is NaN for y = NaN: the update refuses, names θ and y, and
    // leaves the weights as they were (they used to turn into NaN silently).
    let prior = Prior {
        factors: vec![Factor::Normal { mean: 0.0, sd: 1.0 }],
    };
    let model = NormalMean { sigma: 1.0 };
    let e = Energy::new(&model, &[0.0], None, 0, 0).unwrap();
    let mut g = GridPosterior::from_prior(&[Axis::linear(-8.0, 8.0, 100)], &prior).unwrap();
    let before = g.points().log_weights().to_vec();
    let err = update::observe(g.points_mut(), &e, &[f64::NAN]).unwrap_err();
    assert!(
        matches!(err, bayesrg_core::Error::Failed { .. })
            && err
                .to_string()
                .contains("ln p(y | theta) = NaN at theta = [-7.92"),
        "{err}"
    );
    assert_eq!(g.points().log_weights(), &before[..]);
    // A finite observation still updates (control).
    assert!(
        update::observe(g.points_mut(), &e, &[0.3])
            .unwrap()
            .is_finite()
    );
}

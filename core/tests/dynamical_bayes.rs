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
    let (rec, _, _) = grid_flow(
        &m,
        &[star],
        &prior,
        &[Axis {
            lo: -20.0,
            hi: 20.0,
            n: 4001,
        }],
    );
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
    let (rec, _, _) = grid_flow(
        &Pois {},
        &[star],
        &prior,
        &[Axis {
            lo: 0.0,
            hi: 40.0,
            n: 8000,
        }],
    );
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
    let (rec, _, _) = grid_flow(
        &Bern {},
        &[star],
        &prior,
        &[Axis {
            lo: 0.0,
            hi: 1.0,
            n: 8000,
        }],
    );
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
        Axis {
            lo: -10.0,
            hi: 10.0,
            n: 200,
        },
        Axis {
            lo: -12.0,
            hi: 12.0,
            n: 200,
        },
    ];
    let (mut rec, _, _) = grid_flow_at(&m, &star, &prior, &wide, &[0.0, 1.0, 5.0], 40);
    let sd20: Vec<f64> = (0..2)
        .map(|i| (1.0 / (20.0 * m.fisher(&star).unwrap()[(i, i)])).sqrt() * 3.0)
        .collect();
    let narrow: Vec<Axis> = (0..2)
        .map(|i| Axis {
            lo: star[i] - 10.0 * sd20[i],
            hi: star[i] + 10.0 * sd20[i],
            n: 200,
        })
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
    // Poisson–Gamma with 100k prior draws; importance-sampling standard errors
    // sd/√ESS (mean) and var·√(2/ESS) (variance, Gaussian approximation, padded
    // by the kurtosis of a Gamma); 5 standard errors.
    let (a, b, star) = (4.0, 1.0, 3.0);
    let prior = Prior {
        factors: vec![Factor::Gamma { shape: a, rate: b }],
    };
    let e = Energy::new(&Pois {}, &[star], None, 0, 0).unwrap();
    let mut p = ParticlePosterior::from_prior(&prior, 100_000, 11);
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
    let mut p = ParticlePosterior::from_prior(&prior, 100_000, 12);
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
        &[Axis {
            lo: 0.0,
            hi: 40.0,
            n: 8000,
        }],
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
        .map(|i| Axis {
            lo: star[i] - 9.0 * sd[i],
            hi: star[i] + 9.0 * sd[i],
            n: 241,
        })
        .collect();
    let mut g = GridPosterior::new(&axes, |x| prior.ln_pdf(x)).unwrap();
    let k = g.points().map(|x| e.eval(x));
    let rec = dynamics::run(g.points_mut(), &k, &[0.0, t_late], 40).unwrap();
    g.check_coverage(1e-8, &e.names(), |x| e.valid(x)).unwrap();
    let err = dynamics::late_time_error(&rec[1].cov, t_late, &fisher).unwrap();
    assert!(err < 0.03, "late-time error {err}");
    // Early: a wide grid at T = 5.
    let axes = [
        Axis {
            lo: 0.01,
            hi: 20.0,
            n: 400,
        },
        Axis {
            lo: 0.01,
            hi: 15.0,
            n: 400,
        },
    ];
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
    let mut g = GridPosterior::new(
        &[Axis {
            lo: 0.0,
            hi: 40.0,
            n: 8000,
        }],
        |x| prior.ln_pdf(x),
    )
    .unwrap();
    update::observe_all(g.points_mut(), &e, &ys);
    let mut o = GammaPoisson { a, b };
    o.observe_batch(&ys.iter().map(|y| y[0]).collect::<Vec<_>>());
    assert_close(&g.mean(), &o.mean(), 1e-8, "mean");
    assert_close(&g.var(), &o.var(), 1e-8, "var");
    g.check_coverage(1e-10, &e.names(), |x| e.valid(x)).unwrap();
}

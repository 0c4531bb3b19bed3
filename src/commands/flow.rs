//! `bayesrg flow FILE.toml --out DIR`: a DB-RG flow (eqs. 38–45) over an
//! increasing grid of τ.
//!
//! At each τ the backward posterior π_τ = N(μ_τ, τI(μ_τ)⁻¹) (eq. 38) gives the
//! predictive p_τ (eq. 39) by Monte Carlo over θ (common random numbers across
//! τ), evaluated on a grid of y for one-dimensional observations. For a model
//! y = G(θ) + N(0, Σ) with `data_space = true`, the data-space predictive
//! N(G(μ_τ), τJI⁺Jᵀ + Σ) (eqs. 43–44) is computed beside it, and the two are
//! compared (moments for an affine G, energy distance otherwise). Writes
//! `observables.csv`, `predictive.csv`, PNG plots and `summary.json`.
//!
//! A singular Fisher metric (a non-identifiable model) is supported through
//! the pseudo-inverse I⁺: π_τ is held at μ along the null directions of I
//! (`bayesrg_core::bayes::backward` module docs), their widths are reported as
//! 0, and the summary gives the rank of I at each τ and the null directions
//! at the start of the flow.

use super::{Check, Summary};
use crate::output::csv_number;
use crate::plot::{self, Axes, Series};
use anyhow::{Context, Result, bail};
use bayesrg_core::Model;
use bayesrg_core::bayes::backward::{self, MuPath};
use bayesrg_core::bayes::{check_increasing, observables};
use bayesrg_core::fisher;
use bayesrg_core::linalg;
use bayesrg_core::model::type_name;
use bayesrg_core::sde::ensemble;
use nalgebra::{DMatrix, DVector};
use serde::Deserialize;
use std::path::Path;

fn default_samples() -> usize {
    4000
}

/// A grid of observation values y (one-dimensional observations).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YGrid {
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Number of points (for `discrete`, the integers lo..=hi are used).
    #[serde(default)]
    pub n: usize,
    /// Integer-valued observations (counts, classes): a probability mass function.
    #[serde(default)]
    pub discrete: bool,
}

/// The config of `bayesrg flow` (docs/bayes.md).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The model.
    pub model: Box<dyn Model>,
    /// μ_τ: one parameter vector (fixed) or knots `[[τ, [θ…]], …]`.
    pub mu: MuPath,
    /// The increasing grid of τ > 0.
    pub tau: Vec<f64>,
    /// Monte Carlo draws of θ per τ.
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Seed.
    #[serde(default)]
    pub seed: u64,
    /// Grid of y for one-dimensional observations (model-space predictive).
    #[serde(default)]
    pub y_grid: Option<YGrid>,
    /// Also run the data-space flow (needs a forward map with Gaussian noise).
    #[serde(default)]
    pub data_space: bool,
}

impl crate::config::Validate for Config {
    /// Every value, and the size of the run (issue 11 §2, §3): a y grid of
    /// 10^300 points, a NaN end or 10^15 samples are refused here, naming
    /// the field, before any work.
    fn validate(&self) -> bayesrg_core::Result<()> {
        use bayesrg_core::budget;
        use bayesrg_core::error::{Error, Field, require, show};
        let model = self.model.as_ref();
        let d = model.dim();
        require::has_parameters("model", type_name(model), d)?;
        check_increasing("tau", &self.tau)?;
        if self.tau[0] <= 0.0 {
            return Err(Error::domain(
                Field::key("tau").at(0),
                show(self.tau[0]),
                "must be > 0 (tau = 0 is the point mass at mu)",
            ));
        }
        // The plots and the widths sqrt(tau/lambda) work in ln tau: a tau
        // below the smallest normal double has no ln with full precision.
        if let Some(i) = self.tau.iter().position(|t| *t < f64::MIN_POSITIVE) {
            return Err(Error::domain(
                Field::key("tau").at(i),
                show(self.tau[i]),
                format!(
                    "must be >= {} (the smallest normal double)",
                    show(f64::MIN_POSITIVE)
                ),
            ));
        }
        require::at_least("samples", self.samples, 100)?;
        let n_tau = self.tau.len() as f64;
        let samples = self.samples as f64;
        let (d, m) = (d as f64, model.obs_dim() as f64);
        // θ draws per τ (kept for the predictive), the base draws.
        budget::check_memory("samples", 3.0 * samples * d * 8.0)?;
        if let Some(g) = &self.y_grid {
            require::finite("y_grid.lo", g.lo)?;
            require::finite("y_grid.hi", g.hi)?;
            let points = if g.discrete {
                if g.hi < g.lo {
                    return Err(Error::domain(
                        "y_grid.hi",
                        show(g.hi),
                        format!("must be >= y_grid.lo = {}", show(g.lo)),
                    ));
                }
                g.hi.floor() - g.lo.ceil() + 1.0
            } else {
                if g.hi <= g.lo {
                    return Err(Error::domain(
                        "y_grid.hi",
                        show(g.hi),
                        format!("must be > y_grid.lo = {}", show(g.lo)),
                    ));
                }
                require::at_least("y_grid.n", g.n, 10)?;
                g.n as f64
            };
            let field = if g.discrete { "y_grid.hi" } else { "y_grid.n" };
            // One density per y and τ, each a mean over the θ draws.
            budget::check_memory(field, points * (n_tau + 2.0) * 8.0)?;
            budget::check_work(field, points * n_tau * samples)?;
        }
        if self.data_space {
            let n = samples.min(2000.0);
            let big = samples.max(20_000.0);
            budget::check_memory("samples", big * m * 8.0 * 2.0)?;
            budget::check_work("samples", n_tau * (4.0 * n * n * m + big * m * m))?;
        }
        Ok(())
    }
}

/// Reads a config.
pub fn load(path: &Path) -> Result<Config> {
    crate::ensure_linked();
    crate::config::load_valid(path)
}

struct Row {
    tau: f64,
    mu: Vec<f64>,
    kl: f64,
    entropy: f64,
    eig: DVector<f64>,
    widths: DVector<f64>,
    rank: usize,
    n_eff: f64,
    speed: f64,
    rejected: f64,
    kl_data: f64,
    entropy_data: f64,
    ed: f64,
    ed_floor: f64,
    moment_z: f64,
}

/// Sample mean and covariance (divisor n − 1) of the rows `ys`, through the
/// one implementation in `bayesrg_core::sde::ensemble`.
fn moments(ys: &[Vec<f64>]) -> (DVector<f64>, DMatrix<f64>) {
    let d = ys[0].len();
    let flat: Vec<f64> = ys.concat();
    (ensemble::mean(&flat, d), ensemble::covariance(&flat, d))
}

/// Runs the flow; writes into `out` when given.
pub fn run(cfg: &Config, origin: Option<&str>, out: Option<&Path>) -> Result<Summary> {
    crate::config::Validate::validate(cfg)?;
    let staged = crate::output::stage(out, origin.map(Path::new).as_slice())?;
    let model = cfg.model.as_ref();
    cfg.mu.validate(model).context("mu")?;
    let d = model.dim();
    let m = model.obs_dim();
    if cfg.data_space
        && (model.forward(&cfg.mu.at(0.0)).is_none() || model.noise_covariance().is_none())
    {
        bail!(
            "data_space = true but model `{}` has no forward map G with Gaussian noise (eqs. 40-44); set data_space = false",
            type_name(model)
        );
    }
    let ys: Option<(Vec<f64>, Vec<f64>)> = match &cfg.y_grid {
        Some(g) if m == 1 => {
            if g.discrete {
                // lo, hi finite and the count within budget: validated.
                let v: Vec<f64> = (g.lo.ceil() as i64..=g.hi.floor() as i64)
                    .map(|k| k as f64)
                    .collect();
                let w = vec![1.0; v.len()];
                Some((v, w))
            } else {
                let h = (g.hi - g.lo) / g.n as f64;
                Some((
                    (0..g.n).map(|i| g.lo + (i as f64 + 0.5) * h).collect(),
                    vec![h; g.n],
                ))
            }
        }
        Some(_) => bail!(
            "y_grid is for one-dimensional observations; model `{}` has {m}",
            type_name(model)
        ),
        None if !cfg.data_space => bail!(
            "nothing to flow: give a y_grid (one-dimensional observations) or set data_space = true"
        ),
        None => None,
    };
    let z = backward::base_draws(cfg.samples, d, cfg.seed);
    let mu0 = cfg.mu.at(0.0);
    let p0: Option<Vec<f64>> = ys.as_ref().map(|(v, _)| {
        v.iter()
            .map(|y| model.log_likelihood(&mu0, &[*y]).exp())
            .collect()
    });
    let mut dens: Vec<(f64, Vec<f64>)> = Vec::new();
    let fisher0 = fisher::best(model, &mu0, 100_000, cfg.seed)?;
    let k0 = if cfg.data_space {
        Some(backward::data_space_predictive(model, &mu0, 0.0, &fisher0)?)
    } else {
        None
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut linear_defect: f64 = 0.0;
    for (i, &tau) in cfg.tau.iter().enumerate() {
        let mu = cfg.mu.at(tau);
        let fi = fisher::best(model, &mu, 100_000, cfg.seed)?;
        let (eig, mut widths) = observables::widths(&fi, tau);
        // Null directions of I (eigenvalue within its error bound of 0): π_τ
        // is held at μ there (bayes::backward module docs), width 0.
        let sp = linalg::Spectrum::of(&fi);
        for k in 0..widths.len() {
            if sp.is_null(k) {
                widths[k] = 0.0;
            }
        }
        let rank = sp.rank();
        let n_eff = observables::n_eff(&eig, tau);
        let speed = if i > 0 {
            observables::fisher_speed(&rows[i - 1].mu, &mu, tau - cfg.tau[i - 1], &fi)
        } else {
            0.0
        };
        let (thetas, rejected) = backward::sample_thetas(model, &mu, tau, &fi, &z)?;
        let (mut kl, mut entropy) = (f64::NAN, f64::NAN);
        if let (Some((yv, w)), Some(p0)) = (&ys, &p0) {
            let p: Vec<f64> = yv
                .iter()
                .map(|y| backward::predictive_density(model, &thetas, &[*y]))
                .collect();
            let mass: f64 = p.iter().zip(w).map(|(a, b)| a * b).sum();
            if (mass - 1.0).abs() > 1e-3 {
                bail!(
                    "the y grid does not cover the predictive at tau = {}: it holds {mass:.6} of the probability (widen y_grid)",
                    bayesrg_core::error::show(tau)
                );
            }
            kl = observables::kl_quadrature(&p, p0, w);
            entropy = observables::entropy_quadrature(&p, w);
            dens.push((tau, p));
        }
        let (mut kl_data, mut entropy_data, mut ed, mut ed_floor, mut moment_z) =
            (f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN);
        if let Some(k0) = &k0 {
            let k = backward::data_space_predictive(model, &mu, tau, &fi)?;
            kl_data = k.kl(k0);
            entropy_data = 0.5
                * (m as f64 * (2.0 * std::f64::consts::PI * std::f64::consts::E).ln() + k.ln_det());
            let n = cfg.samples.min(2000);
            let ms = backward::predictive_samples(model, &thetas, n, cfg.seed ^ 0x5a);
            // The data-space flow simulated by the SDE steppers (Euler–Maruyama),
            // and its Monte Carlo floor: the energy distance between the SDE
            // ensemble and exact draws of the same Gaussian law.
            let ks = backward::simulate_data_space(model, &mu, tau, &fi, n, cfg.seed ^ 0xa5)?;
            ed = observables::energy_distance(&ms, &ks);
            ed_floor = observables::energy_distance(
                &backward::sample_data_space(&k, n, cfg.seed ^ 0x77),
                &ks,
            )
            .abs();
            // Moments of the model-space predictive against the kernel:
            // z-scores with Gaussian sampling errors.
            let big = backward::predictive_samples(
                model,
                &thetas,
                cfg.samples.max(20_000),
                cfg.seed ^ 0x33,
            );
            let (mean, cov) = moments(&big);
            let nn = big.len() as f64;
            let s = k.cov();
            let mut worst: f64 = 0.0;
            for a in 0..m {
                worst = worst.max((mean[a] - k.mean()[a]).abs() / (s[(a, a)] / nn).sqrt());
                for b in 0..m {
                    let se = ((s[(a, a)] * s[(b, b)] + s[(a, b)].powi(2)) / nn).sqrt();
                    worst = worst.max((cov[(a, b)] - s[(a, b)]).abs() / se);
                }
            }
            moment_z = worst;
            // Affinity of G: the spread of the Jacobian over the θ draws.
            let j0 = model.forward_jacobian(&mu).expect("checked");
            for t in thetas.iter().take(20) {
                let j = model.forward_jacobian(t).expect("checked");
                linear_defect = linear_defect.max((j - &j0).amax() / j0.amax().max(1e-300));
            }
        }
        rows.push(Row {
            tau,
            mu,
            kl,
            entropy,
            eig,
            widths,
            rank,
            n_eff,
            speed,
            rejected,
            kl_data,
            entropy_data,
            ed,
            ed_floor,
            moment_z,
        });
    }

    let mut checks = Vec::new();
    let drop = |f: &dyn Fn(&Row) -> f64| {
        rows.windows(2)
            .map(|w| f(&w[0]) - f(&w[1]))
            .fold(f64::NEG_INFINITY, f64::max)
    };
    if ys.is_some() {
        checks.push(Check::at_most(
            "largest decrease of KL(p_tau||p_0) between successive tau (model space)",
            if rows.len() > 1 {
                drop(&|r: &Row| r.kl)
            } else {
                0.0
            },
            0.0,
            "KL(p_tau||p_0) is non-decreasing along the flow (section 5)",
        ));
    }
    if cfg.data_space {
        checks.push(Check::at_most(
            "largest decrease of KL(p_tau||p_0) between successive tau (data space, eq. 43)",
            if rows.len() > 1 {
                drop(&|r: &Row| r.kl_data)
            } else {
                0.0
            },
            0.0,
            "KL(N(G, tau K^-1 + Sigma)||N(G, Sigma)) is non-decreasing",
        ));
        if linear_defect < 1e-6 {
            checks.push(Check::at_most(
                "affine G: model-space (39) vs data-space (43) predictive, worst z-score of mean and covariance",
                rows.iter().map(|r| r.moment_z).fold(0.0, f64::max),
                5.0,
                "pushforward of N(mu, tau I^-1) through affine G is exactly N(G(mu), tau J I^-1 J^T) (oracles.md §6)",
            ));
        } else {
            let r = &rows[0];
            checks.push(Check::at_most(
                format!(
                    "nonlinear G: energy distance / Monte Carlo floor at the smallest tau = {}",
                    r.tau
                ),
                r.ed / r.ed_floor.max(1e-12),
                10.0,
                "the linearised pushforward (44) is exact as tau -> 0",
            ));
        }
    }
    let ns = linalg::Spectrum::of(&fisher0).null_space();
    let null_start: Vec<Vec<f64>> = (0..ns.ncols())
        .map(|k| ns.column(k).iter().copied().collect())
        .collect();
    let summary = Summary::new(
        "flow",
        origin.map(str::to_string),
        checks,
        serde_json::json!({
            "model": type_name(model),
            "tau": cfg.tau,
            "kl_model_space": rows.iter().map(|r| r.kl).collect::<Vec<_>>(),
            "kl_data_space": rows.iter().map(|r| r.kl_data).collect::<Vec<_>>(),
            "energy_distance": rows.iter().map(|r| r.ed).collect::<Vec<_>>(),
            "energy_distance_floor": rows.iter().map(|r| r.ed_floor).collect::<Vec<_>>(),
            "n_eff": rows.iter().map(|r| r.n_eff).collect::<Vec<_>>(),
            "max_rejected_fraction": rows.iter().map(|r| r.rejected).fold(0.0, f64::max),
            "jacobian_spread": linear_defect,
            "data_space_sampler": "core::sde Euler-Maruyama ensemble, dY = theta dW, theta theta^T = J I^+ J^T, from G(mu) + noise (bayes::backward::simulate_data_space)",
            "fisher_rank": rows.iter().map(|r| r.rank).collect::<Vec<_>>(),
            "null_directions_at_start": null_start,
            "posterior_along_null_directions": "held at mu (width 0): the likelihood is flat there, so eq. (38) gives no width; pi_tau = N(mu, tau I^+) (bayes::backward module docs)",
            "n_eff_definition": "sum_i lambda_i/(lambda_i + tau) = sum_i T lambda_i/(1 + T lambda_i), T = 1/tau",
            "files": ["observables.csv", "predictive.csv", "observables.png", "widths.png", "predictive.png", "discrepancy.png"],
        }),
    );

    if let Some(o) = staged {
        let mut w = csv::Writer::from_path(o.path("observables.csv"))?;
        let names = model.param_names();
        let mut head: Vec<String> = vec!["tau".into()];
        head.extend(names.iter().map(|n| format!("mu_{n}")));
        head.extend(
            [
                "kl_to_p0",
                "entropy",
                "n_eff",
                "map_fisher_speed",
                "rejected_fraction",
                "kl_to_p0_data",
                "entropy_data",
                "energy_distance",
                "energy_distance_floor",
                "moment_z",
            ]
            .map(String::from),
        );
        head.extend((0..d).map(|i| format!("fisher_eig_{i}")));
        head.extend((0..d).map(|i| format!("width_{i}")));
        w.write_record(&head)?;
        for r in &rows {
            let mut v = vec![r.tau];
            v.extend(&r.mu);
            v.extend([
                r.kl,
                r.entropy,
                r.n_eff,
                r.speed,
                r.rejected,
                r.kl_data,
                r.entropy_data,
                r.ed,
                r.ed_floor,
                r.moment_z,
            ]);
            v.extend(r.eig.iter());
            v.extend(r.widths.iter());
            w.write_record(v.iter().map(|x| csv_number(*x)))?;
        }
        w.flush()?;
        let ax = |t: &str, y: &str, log_y: bool| Axes {
            title: t.into(),
            x_label: "tau".into(),
            y_label: y.into(),
            log_x: true,
            log_y,
        };
        if let Some((yv, _)) = &ys {
            let mut w = csv::Writer::from_path(o.path("predictive.csv"))?;
            let mut head = vec!["y".to_string(), "p_0".to_string()];
            head.extend(dens.iter().map(|(t, _)| format!("p_tau={t}")));
            w.write_record(&head)?;
            for (k, y) in yv.iter().enumerate() {
                let mut v = vec![*y, p0.as_ref().expect("with ys")[k]];
                v.extend(dens.iter().map(|(_, p)| p[k]));
                w.write_record(v.iter().map(|x| csv_number(*x)))?;
            }
            w.flush()?;
            let pick: Vec<usize> = if dens.len() <= 4 {
                (0..dens.len()).collect()
            } else {
                (0..4).map(|i| i * (dens.len() - 1) / 3).collect()
            };
            let mut s = vec![Series::line(
                "p_0 = p(y|mu_0)",
                yv.iter()
                    .copied()
                    .zip(p0.as_ref().expect("with ys").iter().copied())
                    .collect(),
            )];
            for &i in &pick {
                s.push(Series::line(
                    format!("tau = {}", dens[i].0),
                    yv.iter().copied().zip(dens[i].1.iter().copied()).collect(),
                ));
            }
            plot::line_chart(
                &o.path("predictive.png"),
                &Axes {
                    title: "Predictive p_tau(y) (eq. 39)".into(),
                    x_label: "y".into(),
                    y_label: "density".into(),
                    log_x: false,
                    log_y: false,
                },
                &s,
            )?;
        }
        let mut s = Vec::new();
        if ys.is_some() {
            s.push(Series::line(
                "KL(p_tau||p_0) model space",
                rows.iter().map(|r| (r.tau, r.kl)).collect(),
            ));
            s.push(Series::line(
                "entropy H(p_tau)",
                rows.iter().map(|r| (r.tau, r.entropy)).collect(),
            ));
        }
        if cfg.data_space {
            s.push(Series::line(
                "KL data space (43)",
                rows.iter().map(|r| (r.tau, r.kl_data)).collect(),
            ));
        }
        s.push(Series::line(
            "n_eff",
            rows.iter().map(|r| (r.tau, r.n_eff)).collect(),
        ));
        plot::line_chart(
            &o.path("observables.png"),
            &ax("Flow observables along tau", "value", false),
            &s,
        )?;
        let s: Vec<Series> = (0..d)
            .map(|i| {
                Series::line(
                    format!("width along Fisher eigendirection {i}"),
                    rows.iter().map(|r| (r.tau, r.widths[i])).collect(),
                )
            })
            .collect();
        plot::line_chart(
            &o.path("widths.png"),
            &ax(
                "Posterior widths sqrt(tau/lambda_i) (stiffest = 0)",
                "width",
                true,
            ),
            &s,
        )?;
        if cfg.data_space {
            plot::line_chart(
                &o.path("discrepancy.png"),
                &ax(
                    "Model space (39) vs data space (43): energy distance",
                    "energy distance",
                    true,
                ),
                &[
                    Series::line(
                        "energy distance",
                        rows.iter().map(|r| (r.tau, r.ed.max(1e-12))).collect(),
                    ),
                    Series::line(
                        "Monte Carlo floor",
                        rows.iter()
                            .map(|r| (r.tau, r.ed_floor.max(1e-12)))
                            .collect(),
                    ),
                ],
            )?;
        }
        o.write_json("summary.json", &summary)?;
        o.commit()?;
    }
    Ok(summary)
}

/// Loads `path` and runs it.
pub fn run_file(path: &Path, out: Option<&Path>) -> Result<Summary> {
    let cfg = load(path)?;
    run(&cfg, Some(&path.display().to_string()), out).with_context(|| format!("{}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn singular(a: &str) -> Config {
        crate::ensure_linked();
        let text = format!(
            "mu = [1.0, 2.0]\ntau = [0.1, 1.0, 10.0]\nsamples = 4000\nseed = 3\ndata_space = true\n\
             [model]\ntype = \"linear_gaussian\"\na = {a}\nnoise_cov = [[0.5, 0.1], [0.1, 0.4]]\n"
        );
        crate::config::parse_toml(&text, "test").unwrap()
    }

    #[test]
    fn data_space_flow_of_a_non_identifiable_model() {
        // Issue #16 item 7: A = [[1, 2], [2, 4]] was refused ("not positive
        // definite"). The flow now runs with I⁺; oracle: the affine-G
        // agreement of the model-space (39) and data-space (43) predictives
        // (z ≤ 5, oracles.md §6), rank 1 at every τ, null direction ±(2, −1)/√5
        // with width 0.
        let s = run(&singular("[[1.0, 2.0], [2.0, 4.0]]"), None, None).unwrap();
        assert!(s.pass, "{:?}", s.checks);
        assert_eq!(s.details["fisher_rank"], serde_json::json!([1, 1, 1]));
        let ns: Vec<Vec<f64>> =
            serde_json::from_value(s.details["null_directions_at_start"].clone()).unwrap();
        assert_eq!(ns.len(), 1);
        assert!(((2.0 * ns[0][0] - ns[0][1]).abs() / 5f64.sqrt() - 1.0).abs() < 1e-12);
        // An identifiable model keeps full rank and no null direction.
        let s = run(&singular("[[1.0, 2.0], [2.0, 3.0]]"), None, None).unwrap();
        assert!(s.pass, "{:?}", s.checks);
        assert_eq!(s.details["fisher_rank"], serde_json::json!([2, 2, 2]));
    }
}

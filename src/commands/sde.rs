//! `bayesrg sde`: simulate a configured SDE ensemble and check it against its
//! exact Gaussian law.
//!
//! Every configurable drift is linear — zero, a constant velocity γ̇ (eq. 18),
//! an Ornstein–Uhlenbeck drift −B(y − m), or the natural gradient −½K⁻¹P(y − m) of a
//! quadratic potential (eq. 46 in the convention of `docs/conventions.md`) — and
//! the diffusion is additive, so the law at each saved time is known in closed
//! form: the heat kernel N(y₀ + τγ̇, τK⁻¹) of eq. (43), or the exact OU law. The
//! diffusion is given as K⁻¹, as K, or as a model's Fisher metric, optionally
//! pushed through the model's forward map, K⁻¹ = J I⁻¹ Jᵀ (eq. 44).
//!
//! Files written: `moments.csv` (one row per saved time: ensemble and exact mean
//! and covariance), `paths_<k>.csv` (a sample of paths at saved time k),
//! `marginal_<k>_y<j>.png` (histograms against the exact marginal density),
//! `mean.png`, `variance.png`, `summary.json` and `timings.json` (the run
//! time, kept apart so that result files depend on the seed only).

use crate::commands::{Check, Summary};
use crate::output::{OutDir, csv_number};
use crate::plot::{self, Axes, Series};
use anyhow::{Context, Result, anyhow, bail};
use bayesrg_core::bayes::backward;
use bayesrg_core::error::Field;
use bayesrg_core::gaussian::Gaussian;
use bayesrg_core::model::Model;
use bayesrg_core::sde::ensemble::{Ensemble, EnsembleConfig, simulate};
use bayesrg_core::sde::gaussian_law::{self, LawCheck};
use bayesrg_core::sde::ou;
use bayesrg_core::sde::steppers;
use bayesrg_core::sde::terms::{
    AdditiveNoise, ConstantDrift, Diffusion, Drift, LinearDrift, Problem, ZeroDrift,
};
use bayesrg_core::{fisher, linalg};
use nalgebra::{DMatrix, DVector};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// The `bayesrg sde` config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SdeConfig {
    /// Seed of the random streams.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Number of paths.
    pub paths: usize,
    /// Largest step.
    pub dt: f64,
    /// Save times (increasing, > 0).
    pub save_at: Vec<f64>,
    /// Starting point y₀.
    pub y0: Vec<f64>,
    /// Stepper name (`euler_maruyama`, `milstein`, `heun`, `exact_ou`,
    /// `leimkuhler_matthews`, `sra1`).
    #[serde(default = "default_stepper")]
    pub stepper: String,
    /// Paths written to `paths_<k>.csv` per saved time.
    #[serde(default = "default_sample")]
    pub sample_paths: usize,
    /// Family-wise significance level of the run: each of its 3 × (saved times)
    /// checks fails when its p-value is below alpha / (number of checks).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Histogram bins in the marginal plots.
    #[serde(default = "default_bins")]
    pub bins: usize,
    /// The drift.
    pub drift: DriftConfig,
    /// The diffusion.
    pub diffusion: DiffusionConfig,
}

fn default_seed() -> u64 {
    1
}
fn default_stepper() -> String {
    "euler_maruyama".into()
}
fn default_sample() -> usize {
    200
}
fn default_alpha() -> f64 {
    1e-3
}
fn default_bins() -> usize {
    40
}

/// The drift, by `type`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DriftConfig {
    /// b = 0. A struct variant with no fields (not a unit variant), so that
    /// `deny_unknown_fields` refuses a stray key such as `velocity` (serde
    /// ignores the other keys of an internally tagged unit variant).
    Zero {},
    /// b = γ̇ (constant velocity).
    Constant {
        /// γ̇.
        velocity: Vec<f64>,
    },
    /// b = −B(y − m).
    Ou {
        /// B (rows).
        b: Vec<Vec<f64>>,
        /// m (default 0).
        centre: Option<Vec<f64>>,
    },
    /// b = −½K⁻¹P(y − m), the natural gradient of V = ½(y − m)ᵀP(y − m).
    QuadraticPotential {
        /// P (rows), symmetric positive definite.
        precision: Vec<Vec<f64>>,
        /// m (default 0).
        centre: Option<Vec<f64>>,
    },
}

/// The diffusion, by `type`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DiffusionConfig {
    /// K⁻¹ given directly.
    KInv {
        /// K⁻¹ (rows).
        matrix: Vec<Vec<f64>>,
    },
    /// K given directly (θ found by a triangular solve).
    K {
        /// K (rows).
        matrix: Vec<Vec<f64>>,
    },
    /// K = the model's Fisher metric at θ (parameter space, K⁻¹ = I⁻¹), or with
    /// `push_forward`, K⁻¹ = J I⁻¹ Jᵀ in data space (eq. 44).
    Fisher {
        /// The model (`type = "…"` plus its settings).
        model: Box<dyn Model>,
        /// The point θ.
        theta: Vec<f64>,
        /// Push through the forward map G (J = ∂G/∂θ).
        #[serde(default)]
        push_forward: bool,
        /// Multiplies K⁻¹ (default 1).
        #[serde(default = "one")]
        scale: f64,
    },
}

fn one() -> f64 {
    1.0
}

fn matrix(rows: &[Vec<f64>], what: &str) -> Result<DMatrix<f64>> {
    let n = rows.len();
    if n == 0 {
        bail!("{what} is empty");
    }
    for (i, r) in rows.iter().enumerate() {
        if r.len() != n {
            bail!(
                "{what} must be square: row {} has {} entries, expected {n}",
                i + 1,
                r.len()
            );
        }
        if let Some(v) = r.iter().find(|v| !v.is_finite()) {
            bail!("{what} has a non-finite entry {v} in row {}", i + 1);
        }
    }
    Ok(DMatrix::from_fn(n, n, |i, j| rows[i][j]))
}

fn check_len(v: &[f64], d: usize, what: &str) -> Result<()> {
    if v.len() != d {
        bail!(
            "{what} has {} entries but the diffusion has dimension {d}",
            v.len()
        );
    }
    Ok(())
}

/// K⁻¹ of the configured diffusion.
fn k_inverse(c: &DiffusionConfig) -> Result<DMatrix<f64>> {
    match c {
        DiffusionConfig::KInv { matrix: m } => matrix(m, "diffusion.matrix (K⁻¹)"),
        DiffusionConfig::K { matrix: m } => {
            let k = matrix(m, "diffusion.matrix (K)")?;
            Ok(AdditiveNoise::from_k(&k)
                .map_err(|e| anyhow!("diffusion.matrix: {e}"))?
                .k_inv()
                .clone())
        }
        DiffusionConfig::Fisher {
            model,
            theta,
            push_forward,
            scale,
        } => {
            if *scale <= 0.0 || !scale.is_finite() {
                bail!("diffusion.scale must be > 0, got {scale}");
            }
            model
                .check_params(theta)
                .map_err(|e| anyhow!("diffusion.theta: {e}"))?;
            let i = fisher::best(model.as_ref(), theta, 100_000, 1)
                .map_err(|e| anyhow!("diffusion: Fisher metric: {e}"))?;
            // K⁻¹ = J I⁺ Jᵀ (eq. 44; J = 1 without push_forward), through the
            // one implementation in bayes::backward (semi-definite I allowed).
            let j = if *push_forward {
                model.forward_jacobian(theta).ok_or_else(|| {
                    anyhow!(
                        "diffusion.push_forward: model `{}` has no forward map",
                        bayesrg_core::model::type_name(model.as_ref())
                    )
                })?
            } else {
                DMatrix::identity(theta.len(), theta.len())
            };
            let pf = backward::pushforward(&j, &i)
                .map_err(|e| anyhow!("diffusion: the Fisher metric I(θ): {e}"))?;
            // K⁻¹ = WWᵀ is well defined for any rank, but `bayesrg sde` checks
            // the paths against the density of the exact Gaussian law, which a
            // degenerate diffusion does not have: refuse it here, saying why.
            let m = j.nrows();
            let rank = linalg::Spectrum::of_factor(&pf.factor.transpose()).rank();
            if rank < m {
                bail!(
                    "diffusion: K⁻¹ = J I⁺ Jᵀ (eq. 44) has rank {rank} < {m}: the diffusion is \
                     degenerate along {} direction(s) (the Fisher metric has rank {} of {}; the map \
                     has {m} outputs), and `bayesrg sde` checks paths against the density of the \
                     exact law, which a degenerate law does not have. The pushforward itself is \
                     computed by `bayesrg flow` with data_space = true",
                    m - rank,
                    pf.fisher_rank,
                    theta.len()
                );
            }
            Ok(pf.k_inv * *scale)
        }
    }
}

/// The problem, the stepper and the exact law at each saved time.
struct Built {
    problem: Problem,
    linear: Option<(DMatrix<f64>, DVector<f64>)>,
    velocity: Option<Vec<f64>>,
    k_inv: DMatrix<f64>,
}

fn build(cfg: &SdeConfig) -> Result<Built> {
    let k_inv = k_inverse(&cfg.diffusion)?;
    let noise = AdditiveNoise::from_k_inv(&k_inv).map_err(|e| anyhow!("diffusion: {e}"))?;
    let d = k_inv.nrows();
    let centre = |c: &Option<Vec<f64>>| -> Result<DVector<f64>> {
        match c {
            None => Ok(DVector::zeros(d)),
            Some(v) => {
                check_len(v, d, "drift.centre")?;
                Ok(DVector::from_column_slice(v))
            }
        }
    };
    let (drift, velocity): (Arc<dyn Drift>, Option<Vec<f64>>) = match &cfg.drift {
        DriftConfig::Zero {} => (Arc::new(ZeroDrift::new(d)), None),
        DriftConfig::Constant { velocity } => {
            check_len(velocity, d, "drift.velocity")?;
            if velocity.iter().any(|v| !v.is_finite()) {
                bail!("drift.velocity has a non-finite entry");
            }
            (
                Arc::new(ConstantDrift::new(velocity.clone())),
                Some(velocity.clone()),
            )
        }
        DriftConfig::Ou { b, centre: c } => {
            let b = matrix(b, "drift.b")?;
            if b.nrows() != d {
                bail!(
                    "drift.b is {0}×{0} but the diffusion has dimension {d}",
                    b.nrows()
                );
            }
            (Arc::new(LinearDrift::new(b, centre(c)?)?), None)
        }
        DriftConfig::QuadraticPotential {
            precision,
            centre: c,
        } => {
            let p = matrix(precision, "drift.precision")?;
            if p.nrows() != d {
                bail!(
                    "drift.precision is {0}×{0} but the diffusion has dimension {d}",
                    p.nrows()
                );
            }
            linalg::cholesky(&p, "drift.precision").map_err(|e| anyhow!("{e}"))?;
            (
                Arc::new(LinearDrift::quadratic_potential(&k_inv, &p, centre(c)?)?),
                None,
            )
        }
    };
    let linear = drift.linear();
    let problem = Problem::new(drift, Diffusion::Additive(noise))?;
    Ok(Built {
        problem,
        linear,
        velocity,
        k_inv,
    })
}

impl Built {
    fn law(&self, y0: &[f64], tau: f64) -> Result<Gaussian> {
        if let Some(v) = &self.velocity {
            let mean = DVector::from_iterator(v.len(), v.iter().zip(y0).map(|(v, y)| y + tau * v));
            return Ok(Gaussian::new(mean, &self.k_inv * tau)?);
        }
        let (b, m) = self
            .linear
            .as_ref()
            .expect("every configured drift is linear");
        Ok(ou::law(b, m, &self.k_inv, y0, tau)?)
    }
}

impl crate::config::Validate for SdeConfig {
    /// Every value, and the size of the run (issue 11 §2, §3): a NaN start
    /// point, a step of 1e-300 or a save time of 1e300 are refused here,
    /// naming the field, before any work.
    fn validate(&self) -> bayesrg_core::Result<()> {
        use bayesrg_core::budget;
        use bayesrg_core::error::{Error, require, show};
        require::positive("dt", self.dt)?;
        require::at_least("paths", self.paths, 2)?;
        if self.save_at.is_empty() {
            return Err(Error::domain(
                "save_at",
                "[]",
                "must list at least one time",
            ));
        }
        let mut prev = 0.0;
        for (k, &t) in self.save_at.iter().enumerate() {
            require::finite(Field::key("save_at").at(k), t)?;
            if t <= prev {
                return Err(Error::domain(
                    Field::key("save_at").at(k),
                    show(t),
                    format!("must be > 0 and after the previous time {}", show(prev)),
                ));
            }
            prev = t;
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::domain(
                "alpha",
                show(self.alpha),
                "must lie in (0, 1)",
            ));
        }
        require::at_least("bins", self.bins, 1)?;
        require::all_finite("y0", &self.y0)?;
        if self.y0.is_empty() {
            return Err(Error::domain(
                "y0",
                "[]",
                "must give at least one coordinate",
            ));
        }
        let d = self.y0.len() as f64;
        match &self.drift {
            DriftConfig::Zero {} => {}
            DriftConfig::Constant { velocity } => require::all_finite("drift.velocity", velocity)?,
            DriftConfig::Ou { b, centre }
            | DriftConfig::QuadraticPotential {
                precision: b,
                centre,
            } => {
                let name = if matches!(self.drift, DriftConfig::Ou { .. }) {
                    "b"
                } else {
                    "precision"
                };
                for (i, r) in b.iter().enumerate() {
                    require::all_finite(Field::key("drift").then(name).at(i), r)?;
                }
                if let Some(c) = centre {
                    require::all_finite("drift.centre", c)?;
                }
            }
        }
        match &self.diffusion {
            DiffusionConfig::KInv { matrix } | DiffusionConfig::K { matrix } => {
                for (i, r) in matrix.iter().enumerate() {
                    require::all_finite(Field::key("diffusion").then("matrix").at(i), r)?;
                }
            }
            DiffusionConfig::Fisher {
                model,
                theta,
                scale,
                ..
            } => {
                require::has_parameters(
                    "diffusion.model",
                    bayesrg_core::model::type_name(model.as_ref()),
                    model.dim(),
                )?;
                require::all_finite("diffusion.theta", theta)?;
                require::positive("diffusion.scale", *scale)?;
            }
        }
        // What the run asks of the machine: every path steps to the last
        // save time and keeps its state at each save time.
        let t_max = prev;
        let steps = (t_max / self.dt).ceil();
        let paths = self.paths as f64;
        budget::check_memory("paths", paths * d * (self.save_at.len() as f64 + 1.0) * 8.0)?;
        budget::check_work("dt", paths * steps * d * d.max(1.0))?;
        budget::check_memory("bins", self.bins as f64 * 8.0 * 4.0)?;
        budget::check_memory(
            "sample_paths",
            (self.sample_paths.min(self.paths)) as f64 * d * 8.0,
        )?;
        Ok(())
    }
}

/// Loads a config file (errors name file:line:col).
pub fn load(path: &Path) -> Result<SdeConfig> {
    crate::config::load_valid(path)
}

/// Runs `bayesrg sde` on a parsed config; writes the result folder `out` when
/// given; shows a progress bar unless `quiet`.
pub fn run(
    cfg: &SdeConfig,
    origin: Option<String>,
    out: Option<&Path>,
    quiet: bool,
) -> Result<Summary> {
    crate::config::Validate::validate(cfg)?;
    let staged = crate::output::stage(out, origin.as_deref().map(Path::new).as_slice())?;
    let built = build(cfg)?;
    let d = built.problem.dim();
    check_len(&cfg.y0, d, "y0")?;
    let stepper = steppers::by_name(&cfg.stepper)?;
    stepper
        .check(&built.problem)
        .map_err(|e| anyhow!("stepper: {e}"))?;
    let laws: Vec<Gaussian> = cfg
        .save_at
        .iter()
        .map(|&t| built.law(&cfg.y0, t))
        .collect::<Result<_>>()
        .context("exact law")?;
    let ens_cfg = EnsembleConfig::new(
        cfg.paths,
        cfg.y0.clone(),
        cfg.save_at.clone(),
        cfg.dt,
        cfg.seed,
    );
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new(cfg.paths as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("sde {bar:40} {pos}/{len} paths {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    };
    let start = Instant::now();
    let ens = simulate(&built.problem, stepper.as_ref(), &ens_cfg, &|n| {
        bar.inc(n as u64)
    })?;
    let secs = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let steps = ens_cfg.steps_per_path();

    // `alpha` is the family-wise level of the run: Bonferroni over its 3 checks
    // per saved time, so a correct simulation fails with probability ≤ alpha.
    let level = cfg.alpha / (3 * laws.len()) as f64;
    let mut checks = Vec::new();
    let mut per_time = Vec::new();
    for (k, law) in laws.iter().enumerate() {
        let t = cfg.save_at[k];
        let c: LawCheck = gaussian_law::check(ens.states(k), law);
        let oracle = if built.velocity.is_some() || matches!(cfg.drift, DriftConfig::Zero {}) {
            "heat kernel N(y₀ + τγ̇, τK⁻¹) (eq. 43)"
        } else {
            "exact Ornstein–Uhlenbeck law (Van Loan step + semigroup doubling)"
        };
        checks.push(Check::at_least(
            format!("τ = {t}: Hotelling T² p-value (mean)"),
            c.hotelling_p,
            level,
            oracle,
        ));
        checks.push(Check::at_least(
            format!("τ = {t}: whitened covariance p-value (Bonferroni)"),
            c.whitened_p,
            level,
            oracle,
        ));
        checks.push(Check::at_least(
            format!("τ = {t}: per-coordinate KS p-value (Bonferroni)"),
            c.ks_p,
            level,
            oracle,
        ));
        per_time.push(serde_json::json!({
            "t": t,
            "mean": ens.mean(k).as_slice(),
            "exact_mean": law.mean().as_slice(),
            "cov": rows(&ens.cov(k)),
            "exact_cov": rows(law.cov()),
            "tests": c,
        }));
    }
    let info = stepper.info();
    let details = serde_json::json!({
        "dim": d,
        "paths": cfg.paths,
        "steps_per_path": steps,
        "stepper": info,
        "k_inv": rows(&built.k_inv),
        "seconds": secs,
        "path_steps_per_second": (cfg.paths * steps) as f64 / secs.max(1e-12),
        "saved": per_time,
    });
    let summary = Summary::new("sde", origin, checks, details);
    if let Some(dir) = staged {
        write_files(&dir, cfg, &built, &ens, &laws)?;
        // Run times go to `timings.json`, not into the results: two runs
        // with one seed give byte-identical result files (issue 11 §5).
        let mut results = summary.clone();
        let mut timings = serde_json::Map::new();
        if let Some(d) = results.details.as_object_mut() {
            for k in TIMING_KEYS {
                if let Some(v) = d.remove(*k) {
                    timings.insert((*k).to_string(), v);
                }
            }
        }
        dir.write_json("summary.json", &results)?;
        dir.write_json(crate::output::TIMINGS_FILE, &timings)?;
        dir.commit()?;
    }
    Ok(summary)
}

/// The keys of the summary's details that are run times: kept out of
/// `summary.json` and written to [`crate::output::TIMINGS_FILE`].
const TIMING_KEYS: &[&str] = &["seconds", "path_steps_per_second"];

/// Loads `path` and runs it (what `bayesrg sde FILE --out DIR` does).
pub fn run_file(path: &Path, out: Option<&Path>, quiet: bool) -> Result<Summary> {
    let cfg = load(path)?;
    run(&cfg, Some(path.display().to_string()), out, quiet)
        .with_context(|| format!("{}", path.display()))
}

fn rows(m: &DMatrix<f64>) -> Vec<Vec<f64>> {
    (0..m.nrows())
        .map(|i| m.row(i).iter().copied().collect())
        .collect()
}

fn write_files(
    dir: &OutDir,
    cfg: &SdeConfig,
    built: &Built,
    ens: &Ensemble,
    laws: &[Gaussian],
) -> Result<()> {
    let d = ens.dim();
    // moments.csv
    let mut w = csv::Writer::from_path(dir.path("moments.csv"))?;
    let mut header = vec!["t".to_string()];
    for pre in ["mean", "exact_mean"] {
        header.extend((0..d).map(|j| format!("{pre}_{j}")));
    }
    for pre in ["cov", "exact_cov"] {
        for i in 0..d {
            header.extend((i..d).map(|j| format!("{pre}_{i}_{j}")));
        }
    }
    w.write_record(&header)?;
    for (k, law) in laws.iter().enumerate() {
        let (m, c) = (ens.mean(k), ens.cov(k));
        let mut row = vec![cfg.save_at[k]];
        row.extend(m.iter());
        row.extend(law.mean().iter());
        for cov in [&c, law.cov()] {
            for i in 0..d {
                row.extend((i..d).map(|j| cov[(i, j)]));
            }
        }
        w.write_record(row.iter().map(|v| csv_number(*v)))?;
    }
    w.flush()?;
    // paths_<k>.csv
    let keep = cfg.sample_paths.min(ens.paths());
    for k in 0..laws.len() {
        let mut w = csv::Writer::from_path(dir.path(&format!("paths_{k}.csv")))?;
        let mut header = vec!["t".to_string(), "path".to_string()];
        header.extend((0..d).map(|j| format!("y_{j}")));
        w.write_record(&header)?;
        for i in 0..keep {
            let mut row = vec![csv_number(cfg.save_at[k]), i.to_string()];
            row.extend(ens.state(k, i).iter().map(|v| csv_number(*v)));
            w.write_record(&row)?;
        }
        w.flush()?;
    }
    // Marginal histograms against the exact density (first 4 coordinates).
    for (k, law) in laws.iter().enumerate() {
        for j in 0..d.min(4) {
            let (mu, sd) = (law.mean()[j], law.cov()[(j, j)].sqrt());
            let curve: Vec<(f64, f64)> = (0..=200)
                .map(|i| {
                    let x = mu + sd * (-4.5 + 9.0 * i as f64 / 200.0);
                    let z = (x - mu) / sd;
                    (
                        x,
                        (-0.5 * z * z).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt()),
                    )
                })
                .collect();
            plot::histogram(
                &dir.path(&format!("marginal_{k}_y{j}.png")),
                &Axes {
                    title: format!("y{j} at τ = {}", cfg.save_at[k]),
                    x_label: format!("y{j}"),
                    y_label: "density".into(),
                    ..Default::default()
                },
                &ens.coordinate(k, j),
                cfg.bins,
                &[Series::line("exact law", curve)],
            )?;
        }
    }
    // Mean and variance against time (exact law dense in τ, ensemble at saved times).
    let tmax = *cfg.save_at.last().expect("validated non-empty");
    let mut mean_series = Vec::new();
    let mut var_series = Vec::new();
    let grid: Vec<f64> = (1..=100).map(|i| tmax * i as f64 / 100.0).collect();
    let dense: Vec<Gaussian> = grid
        .iter()
        .map(|&t| built.law(&cfg.y0, t))
        .collect::<Result<_>>()?;
    for j in 0..d.min(4) {
        mean_series.push(Series::line(
            format!("exact y{j}"),
            grid.iter()
                .zip(&dense)
                .map(|(&t, g)| (t, g.mean()[j]))
                .collect(),
        ));
        mean_series.push(Series::points(
            format!("ensemble y{j}"),
            (0..laws.len())
                .map(|k| (cfg.save_at[k], ens.mean(k)[j]))
                .collect(),
        ));
        var_series.push(Series::line(
            format!("exact var y{j}"),
            grid.iter()
                .zip(&dense)
                .map(|(&t, g)| (t, g.cov()[(j, j)]))
                .collect(),
        ));
        var_series.push(Series::points(
            format!("ensemble var y{j}"),
            (0..laws.len())
                .map(|k| (cfg.save_at[k], ens.cov(k)[(j, j)]))
                .collect(),
        ));
    }
    plot::line_chart(
        &dir.path("mean.png"),
        &Axes {
            title: "mean against time".into(),
            x_label: "τ".into(),
            y_label: "mean".into(),
            ..Default::default()
        },
        &mean_series,
    )?;
    plot::line_chart(
        &dir.path("variance.png"),
        &Axes {
            title: "variance against time".into(),
            x_label: "τ".into(),
            y_label: "variance".into(),
            ..Default::default()
        },
        &var_series,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fisher_cfg(a: &str, cov: &str) -> DiffusionConfig {
        crate::ensure_linked();
        let text = format!(
            "type = \"fisher\"\ntheta = [1.0, -0.5]\npush_forward = true\nmodel = {{ type = \"linear_gaussian\", a = {a}, noise_cov = {cov} }}\n"
        );
        crate::config::parse_toml(&text, "test").unwrap()
    }

    #[test]
    fn pushforward_of_a_square_linear_model_is_its_noise_covariance() {
        // y = Aθ + N(0, Σ), A invertible: I = AᵀΣ⁻¹A, so J I⁻¹ Jᵀ = Σ (eq. 44).
        let c = fisher_cfg("[[1.0, 0.5], [0.0, 1.0]]", "[[0.5, 0.1], [0.1, 0.4]]");
        let k_inv = k_inverse(&c).unwrap();
        let sigma = DMatrix::from_row_slice(2, 2, &[0.5, 0.1, 0.1, 0.4]);
        assert!((k_inv - sigma).amax() < 1e-12);
    }

    #[test]
    fn singular_fisher_pushforward_is_well_defined() {
        // Issue #16 item 7: A = [[1, 2], [2, 4]], Σ = 1 (rank-1 Fisher) was
        // refused; J I⁺ Jᵀ is the projector onto range A, [[0.2, 0.4], [0.4, 0.8]]
        // (closed form uuᵀ/(uᵀu), u = (1, 2)).
        // `bayesrg sde` then refuses the degenerate diffusion, saying why.
        let c = fisher_cfg("[[1.0, 2.0], [2.0, 4.0]]", "[[1.0, 0.0], [0.0, 1.0]]");
        let DiffusionConfig::Fisher { model, theta, .. } = &c else {
            unreachable!()
        };
        let i = fisher::best(model.as_ref(), theta, 1000, 1).unwrap();
        let j = model.forward_jacobian(theta).unwrap();
        let pf = backward::pushforward(&j, &i).unwrap();
        let want = DMatrix::from_row_slice(2, 2, &[0.2, 0.4, 0.4, 0.8]);
        assert!((pf.k_inv - want).amax() < 1e-14);
        assert_eq!(pf.fisher_rank, 1);
        let e = k_inverse(&c).unwrap_err().to_string();
        assert!(e.contains("rank 1 < 2") && e.contains("degenerate"), "{e}");
    }

    #[test]
    fn rank_deficient_pushforward_is_refused_with_its_rank() {
        // Three observations, two parameters: K⁻¹ = J I⁻¹ Jᵀ has rank 2.
        let c = fisher_cfg(
            "[[1.0, 0.0], [1.0, 1.0], [0.5, -1.0]]",
            "[[0.5, 0.0, 0.0], [0.0, 0.4, 0.0], [0.0, 0.0, 0.3]]",
        );
        let e = k_inverse(&c).unwrap_err();
        assert!(e.to_string().contains("rank 2 < 3"), "{e}");
    }
}

//! `bayesrg bayes FILE.toml --out DIR`: dynamical Bayes (eqs. 32–36) on a toy
//! model with truth θ*.
//!
//! The flow (33) is integrated from the prior at T = 0 by RK4 on a grid and on
//! weighted particles (the `t` values are save points; the first need not be
//! 0), and compared with its solution (34), its invariants, the conjugate
//! closed form where one exists (oracles.md §7), and the late-time law (35).
//! Eq. (32) is run on `n_data` observations simulated from θ*. Every
//! comparison is relative (means in units of the posterior sd, variances
//! relative to themselves), so that it means the same at every scale. Writes
//! `flow.csv`, `data.csv`, PNG plots and `summary.json`.

use super::{Check, Summary};
use crate::output::csv_number;
use crate::plot::{self, Axes, Series};
use anyhow::{Context, Result, anyhow, bail};
use bayesrg_core::Model;
use bayesrg_core::bayes::energy::Energy;
use bayesrg_core::bayes::grid::{Axis, GridPosterior, Scale};
use bayesrg_core::bayes::particles::ParticlePosterior;
use bayesrg_core::bayes::prior::{Factor, Prior};
use bayesrg_core::bayes::{Posterior, check_increasing, dynamics, update};
use bayesrg_core::model::type_name;
use bayesrg_core::rng;
use nalgebra::{DMatrix, DVector};
use serde::Deserialize;
use std::path::Path;

fn default_steps() -> usize {
    10
}
fn default_particles() -> usize {
    20_000
}
fn default_late() -> f64 {
    0.1
}
fn default_coverage() -> f64 {
    1e-8
}

/// The config of `bayesrg bayes` (docs/bayes.md).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The model (`type = "…"` and its settings).
    pub model: Box<dyn Model>,
    /// The truth θ* (every parameter of the model).
    pub theta_star: Vec<f64>,
    /// Names of the parameters the posterior lives on (default: all); the
    /// others are held at θ*.
    #[serde(default)]
    pub free: Option<Vec<String>>,
    /// One prior factor per free parameter.
    pub prior: Vec<Factor>,
    /// One grid axis per free parameter (1 to 3); `scale = "log"` or
    /// `"logit"` makes it regular in ln θ or ln θ/(1 − θ) (then `lo`, `hi` are
    /// in that coordinate).
    pub grid: Vec<Axis>,
    /// The increasing save points T ≥ 0 (the flow always starts from the prior
    /// at T = 0).
    pub t: Vec<f64>,
    /// RK4 steps per interval of `t`.
    #[serde(default = "default_steps")]
    pub steps: usize,
    /// Number of particles (0: no particle run).
    #[serde(default = "default_particles")]
    pub particles: usize,
    /// Observations simulated from θ* for eq. (32) (0: none).
    #[serde(default)]
    pub n_data: usize,
    /// Seed of every random number.
    #[serde(default)]
    pub seed: u64,
    /// Tolerance of the late-time law (35) at the last T: max|T·Cov − I⁻¹|/max|I⁻¹|.
    #[serde(default = "default_late")]
    pub late_tolerance: f64,
    /// Largest probability mass allowed in the edge cells of the grid.
    #[serde(default = "default_coverage")]
    pub coverage_tolerance: f64,
}

impl crate::config::Validate for Config {
    /// Every value, and the size of the run (issue 11 §2, §3, §6): NaN or
    /// negative tolerances, a grid or particle count beyond the machine, a
    /// model with no parameters; each refused naming its field before any
    /// work. (The values that need the model evaluated, θ* in the support and
    /// the prior's mass near it, are checked by [`run`].)
    fn validate(&self) -> bayesrg_core::Result<()> {
        use bayesrg_core::budget;
        use bayesrg_core::error::{Error, Field, require, show};
        let model = self.model.as_ref();
        let dim = model.dim();
        require::has_parameters("model", type_name(model), dim)?;
        require::len(
            "theta_star",
            self.theta_star.len(),
            dim,
            "one per parameter of the model",
        )?;
        require::all_finite("theta_star", &self.theta_star)?;
        check_increasing("t", &self.t)?;
        for (i, f) in self.prior.iter().enumerate() {
            f.validate(&i.to_string()).map_err(|e| match e {
                Error::Setting { reason, .. } => Error::Setting {
                    name: format!("prior[{i}]"),
                    reason,
                },
                other => other,
            })?;
        }
        if self.grid.is_empty() || self.grid.len() > 3 {
            return Err(Error::Dimension {
                field: Field::key("grid"),
                expected: "1 to 3 axes, one per free parameter".into(),
                got: self.grid.len(),
            });
        }
        let mut cells = 1.0;
        for (i, a) in self.grid.iter().enumerate() {
            let at = |k: &str| Field::key("grid").at(i).then(k);
            require::finite(at("lo"), a.lo)?;
            require::finite(at("hi"), a.hi)?;
            if a.hi <= a.lo {
                return Err(Error::domain(
                    at("hi"),
                    show(a.hi),
                    format!("must be > lo = {}", show(a.lo)),
                ));
            }
            require::at_least(at("n"), a.n, 2)?;
            cells *= a.n as f64;
        }
        if self.steps == 0 || self.steps > dynamics::RK4_MAX_STEPS {
            return Err(Error::domain(
                "steps",
                self.steps,
                format!("must be between 1 and {}", dynamics::RK4_MAX_STEPS),
            ));
        }
        require::positive("late_tolerance", self.late_tolerance)?;
        require::non_negative("coverage_tolerance", self.coverage_tolerance)?;
        if self.coverage_tolerance >= 1.0 {
            return Err(Error::domain(
                "coverage_tolerance",
                show(self.coverage_tolerance),
                "must be < 1 (it is a probability mass)",
            ));
        }
        // What the run asks of the machine: the grid posterior (coordinates,
        // log-weights, energies; a copy per save point and for the data),
        // the particles likewise, and their RK4 evaluations.
        let d = self.grid.len() as f64;
        let n_t = self.t.len() as f64;
        let per_point = (d + 4.0) * 8.0 * 3.0;
        let last = self.grid.len() - 1;
        budget::check_memory(Field::key("grid").at(last).then("n"), cells * per_point)?;
        let particles = self.particles as f64;
        budget::check_memory("particles", particles * per_point)?;
        let steps = self.steps as f64;
        budget::check_work(
            Field::key("grid").at(last).then("n"),
            cells * (n_t * (4.0 * steps + 2.0) + 1.0),
        )?;
        budget::check_work("particles", particles * n_t * (4.0 * steps + 2.0))?;
        budget::check_memory("n_data", self.n_data as f64 * model.obs_dim() as f64 * 8.0)?;
        budget::check_work("n_data", self.n_data as f64 * cells)?;
        Ok(())
    }
}

/// Reads a config; errors name the file, line and column.
pub fn load(path: &Path) -> Result<Config> {
    crate::ensure_linked();
    crate::config::load_valid(path)
}

fn free_indices(model: &dyn Model, free: &Option<Vec<String>>) -> Result<Vec<usize>> {
    let names = model.param_names();
    match free {
        None => Ok((0..names.len()).collect()),
        Some(f) => f
            .iter()
            .map(|n| {
                names.iter().position(|m| m == n).ok_or_else(|| {
                    anyhow!(
                        "free: `{n}` is not a parameter of model `{}` (it has {})",
                        type_name(model),
                        names.join(", ")
                    )
                })
            })
            .collect(),
    }
}

fn coverage(g: &GridPosterior, e: &Energy<'_>, prior: &Prior, tol: f64, when: &str) -> Result<()> {
    g.check_coverage(tol, &e.names(), |x| {
        e.valid(x) && prior.ln_pdf(x).is_finite()
    })
    .with_context(|| when.to_string())
}

/// Refuses grids whose quadrature cannot be right: a linear axis that reaches
/// past an end of the prior's support (the cells there straddle a jump of
/// the density), a linear axis ending at an end where the prior is infinite
/// (θ^e with e < 0: the midpoint rule misses it by O(h^{1+e})), and a log or
/// logit axis for a prior whose support is not inside (0, ∞) or (0, 1).
fn check_axes(axes: &[Axis], prior: &Prior, names: &[String]) -> Result<()> {
    for ((a, f), name) in axes.iter().zip(&prior.factors).zip(names) {
        let (slo, shi) = f.support();
        let dist = serde_json::to_value(f)
            .ok()
            .and_then(|v| v.get("dist").and_then(|d| d.as_str()).map(str::to_string))
            .unwrap_or_default();
        match a.scale {
            Scale::Linear => {
                for (edge, power) in f.edges() {
                    if a.lo < edge && edge < a.hi {
                        bail!(
                            "the grid axis of `{name}` [{}, {}] reaches past the end {edge} of the support of its {dist} prior: cells there straddle a jump of the density; let the axis end at {edge}",
                            a.lo,
                            a.hi
                        );
                    }
                    let touches = (edge - a.lo).abs() <= 1e-12 * (1.0 + edge.abs())
                        || (edge - a.hi).abs() <= 1e-12 * (1.0 + edge.abs());
                    if touches && power < 0.0 {
                        bail!(
                            "the {dist} prior of `{name}` is infinite at {edge} (density ~ |{name} - {edge}|^{power}), where the linear grid axis ends: the midpoint rule cannot integrate it (errors of order h^{}); use scale = \"{}\" with lo and hi in that coordinate",
                            1.0 + power,
                            if shi <= 1.0 && slo >= 0.0 {
                                "logit"
                            } else {
                                "log"
                            }
                        );
                    }
                }
            }
            Scale::Log if slo < 0.0 => bail!(
                "a log grid axis covers `{name}` > 0 only, but its {dist} prior has support ({slo}, {shi})"
            ),
            Scale::Logit if slo < 0.0 || shi > 1.0 => bail!(
                "a logit grid axis covers 0 < `{name}` < 1 only, but its {dist} prior has support ({slo}, {shi})"
            ),
            _ => {}
        }
    }
    Ok(())
}

/// |a − b| in units of `scale` (0 when both are equal, ∞ for scale 0).
fn rel(a: f64, b: f64, scale: f64) -> f64 {
    if a == b { 0.0 } else { (a - b).abs() / scale }
}

/// The largest difference between two sets of moments, the means in units of
/// the reference's marginal sd and the covariances relative to
/// √(Σᵢᵢ Σⱼⱼ) of the reference (scale-free: the same number at every scale).
fn moment_gap(
    mean: &DVector<f64>,
    cov: &DMatrix<f64>,
    rmean: &DVector<f64>,
    rcov: &DMatrix<f64>,
) -> f64 {
    let d = mean.len();
    let mut g: f64 = 0.0;
    for i in 0..d {
        g = g.max(rel(mean[i], rmean[i], rcov[(i, i)].sqrt()));
        for j in 0..d {
            g = g.max(rel(
                cov[(i, j)],
                rcov[(i, j)],
                (rcov[(i, i)] * rcov[(j, j)]).sqrt(),
            ));
        }
    }
    g
}

/// As [`moment_gap`] for marginal means and variances.
fn marginal_gap(
    mean: &DVector<f64>,
    var: &DVector<f64>,
    rmean: &DVector<f64>,
    rvar: &DVector<f64>,
) -> f64 {
    (0..mean.len())
        .map(|i| rel(mean[i], rmean[i], rvar[i].sqrt()).max(rel(var[i], rvar[i], rvar[i])))
        .fold(0.0, f64::max)
}

/// Runs dynamical Bayes on a loaded config; writes into `out` when given.
pub fn run(cfg: &Config, origin: Option<&str>, out: Option<&Path>) -> Result<Summary> {
    crate::config::Validate::validate(cfg)?;
    let staged = crate::output::stage(out, origin.map(Path::new).as_slice())?;
    let model = cfg.model.as_ref();
    model.check_params(&cfg.theta_star).context("theta_star")?;
    let free = free_indices(model, &cfg.free)?;
    let e = Energy::new(model, &cfg.theta_star, Some(&free), 20_000, cfg.seed)?;
    let names = e.names();
    let prior = Prior::new(cfg.prior.clone(), &names)?;
    check_increasing("t", &cfg.t)?;
    if cfg.grid.len() != free.len() {
        bail!(
            "grid has {} axes but the posterior has {} coordinates ({})",
            cfg.grid.len(),
            free.len(),
            names.join(", ")
        );
    }
    let phi_star = e.phi_star();
    let d = phi_star.len();
    check_axes(&cfg.grid, &prior, &names)?;
    // θ* must be inside the grid and the prior must put mass near it.
    for (i, a) in cfg.grid.iter().enumerate() {
        if !a.contains_theta(phi_star[i]) {
            let (tlo, thi) = a.theta_range();
            bail!(
                "the grid axis of `{}` [{}, {}] does not contain theta* = {}",
                names[i],
                tlo,
                thi,
                phi_star[i]
            );
        }
    }
    let g0 = GridPosterior::from_prior(&cfg.grid, &prior)?;
    // Compared in the grid coordinates x (where the prior is bounded even when
    // its density in θ is infinite at an end, as for Jeffreys' prior).
    let scales: Vec<Scale> = cfg.grid.iter().map(|a| a.scale).collect();
    let x_star: Vec<f64> = scales
        .iter()
        .zip(&phi_star)
        .map(|(s, t)| s.from_theta(*t))
        .collect();
    let lp_star = prior.ln_pdf_scaled(&scales, &x_star);
    let lp_max = g0
        .points()
        .log_weights()
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max)
        - g0.cell_volume().ln();
    if !(lp_star.is_finite() && lp_star - lp_max > -30.0) {
        bail!(
            "the prior has no mass near theta*: ln pi0(theta*) = {lp_star:.4} vs {lp_max:.4} at its grid maximum (a ratio below e^-30, in the grid coordinates); the posterior could not reach theta*"
        );
    }
    let fisher = e.fisher_star(cfg.seed)?;
    let inv_fisher = bayesrg_core::linalg::cholesky(&fisher, "Fisher matrix at theta*")?.inverse();
    let k_grid = g0.points().map(|x| e.eval(x));

    if cfg.steps == 0 || cfg.steps > dynamics::RK4_MAX_STEPS {
        bail!(
            "steps = {} must be between 1 and {}",
            cfg.steps,
            dynamics::RK4_MAX_STEPS
        );
    }
    // --- eq. (33) on the grid from the prior at T = 0 through the save
    // points, with coverage at every one.
    dynamics::check_energies(g0.points(), &k_grid)?;
    let mut g = g0.clone();
    let mut recs = Vec::new();
    let (mut ln_z, mut now) = (0.0, 0.0);
    for &t in &cfg.t {
        if t > now {
            ln_z += dynamics::rk4(g.points_mut(), &k_grid, now, t, cfg.steps)?;
            now = t;
        }
        coverage(
            &g,
            &e,
            &prior,
            cfg.coverage_tolerance,
            &format!("at T = {}", bayesrg_core::error::show(t)),
        )?;
        recs.push(dynamics::record(g.points(), &k_grid, t, ln_z));
    }
    // --- (34) directly.
    let sol: Vec<(DVector<f64>, DMatrix<f64>, f64)> = cfg
        .t
        .iter()
        .map(|&t| {
            let (p, z) = dynamics::boltzmann(g0.points(), &k_grid, t);
            (p.mean(), p.cov(), z)
        })
        .collect();
    // --- particles.
    let prec = if cfg.particles > 0 {
        let mut p = ParticlePosterior::from_prior(&prior, cfg.particles, cfg.seed)?;
        let k = p.points().map(|x| e.eval(x));
        Some(dynamics::run(p.points_mut(), &k, &cfg.t, cfg.steps)?)
    } else {
        None
    };
    // --- MAP path μ_T: from the grid point of largest density in θ (not in
    // the grid coordinates), refined within two cells; a posterior whose
    // density has no interior maximum (a prior infinite at an end, small T)
    // has no MAP: NaN, with the reason in the summary.
    let mut maps = Vec::new();
    let mut map_notes = Vec::new();
    for &t in &cfg.t {
        let (p, _) = dynamics::boltzmann(g0.points(), &k_grid, t);
        let gt = {
            let mut gt = g0.clone();
            gt.points_mut()
                .log_weights_mut()
                .copy_from_slice(p.log_weights());
            gt
        };
        let kbest = (0..p.len())
            .max_by(|&a, &b| gt.ln_density(a).total_cmp(&gt.ln_density(b)))
            .unwrap_or(0);
        let best = p.point(kbest).to_vec();
        let xb = gt.x(kbest);
        let radius: Vec<f64> = cfg
            .grid
            .iter()
            .enumerate()
            .map(|(j, a)| {
                let th = |x: f64| a.scale.to_theta(x);
                (th(xb[j] + 2.0 * a.step()) - best[j])
                    .abs()
                    .max((best[j] - th(xb[j] - 2.0 * a.step())).abs())
            })
            .collect();
        match dynamics::map_point(&prior, &e, t, &best, &radius) {
            Ok(m) if m.iter().all(|v| v.is_finite()) => maps.push(m),
            r => {
                map_notes.push(format!(
                    "T = {t}: no MAP ({})",
                    r.err().map_or(
                        "the optimiser returned a non-finite point".to_string(),
                        |e| e.to_string()
                    )
                ));
                maps.push(vec![f64::NAN; d]);
            }
        }
    }
    let oracle = model.conjugate(&free, &prior, &cfg.theta_star);

    // --- checks (relative: means in posterior sd, (co)variances relative).
    let mut checks = Vec::new();
    let mut dev_shape: f64 = 0.0;
    let mut dev_z: f64 = 0.0;
    let mut dev_de: f64 = 0.0;
    let mut ek_rise: f64 = 0.0;
    for (i, r) in recs.iter().enumerate() {
        dev_shape = dev_shape.max(moment_gap(&r.mean, &r.cov, &sol[i].0, &sol[i].1));
        dev_z = dev_z.max((r.ln_z - sol[i].2).abs() / sol[i].2.abs().max(1.0));
        if r.var_k > 0.0 && r.var_k.is_finite() {
            dev_de = dev_de.max((r.de_k_dt + r.var_k).abs() / r.var_k);
        }
        if i > 0 && recs[i - 1].e_k.is_finite() {
            ek_rise = ek_rise.max((r.e_k - recs[i - 1].e_k) / recs[i - 1].e_k.abs().max(1e-300));
        }
    }
    checks.push(Check::at_most(
        "grid RK4 of (33) vs (34): max |Δmean|/sd, |ΔCov|/sd·sd",
        dev_shape,
        1e-10,
        "pi_T = pi_0 e^{-T KL(theta*||theta)}/Z (eq. 34) on the same grid",
    ));
    checks.push(Check::at_most(
        "ln Z integrated along (33) vs ln E_pi0[e^{-TK}]: |Δ|/max(1, |ln Z|)",
        dev_z,
        1e-6,
        "d ln Z/dT = -E_pi[KL] (RK4, order 4)",
    ));
    checks.push(Check::at_most(
        "dE[K]/dT + Var(K), max relative",
        dev_de,
        1e-4,
        "dE_pi[KL]/dT = -Var_pi(KL)",
    ));
    checks.push(Check::at_most(
        "largest relative rise of E_pi[K] between successive T",
        ek_rise,
        1e-10,
        "E_pi[K] is non-increasing (its derivative is -Var <= 0)",
    ));
    if let Some(pr) = &prec {
        // z-score of the particle mean against the grid solution (34), standard
        // error sd/sqrt(ESS).
        let mut worst: f64 = 0.0;
        for (i, r) in pr.iter().enumerate() {
            for j in 0..d {
                let sd = sol[i].1[(j, j)].sqrt();
                worst = worst.max((r.mean[j] - sol[i].0[j]).abs() / (sd / r.ess.sqrt()));
            }
        }
        checks.push(Check::at_most(
            "particles vs grid (34): worst z-score of the posterior mean",
            worst,
            5.0,
            "Monte Carlo standard error sd/sqrt(ESS)",
        ));
    }
    if let Some(o) = &oracle {
        let mut dev: f64 = 0.0;
        for r in &recs {
            let (m, v) = o.flow(r.t, &phi_star);
            dev = dev.max(marginal_gap(&r.mean, &r.cov.diagonal(), &m, &v));
        }
        checks.push(Check::at_most(
            "grid RK4 of (33) vs the conjugate closed form: max |Δmean|/sd, |Δvar|/var",
            dev,
            1e-8,
            o.describe(),
        ));
    }
    let t_last = *cfg.t.last().expect("checked non-empty");
    let late = if t_last > 0.0 {
        let err = dynamics::late_time_error(&recs[recs.len() - 1].cov, t_last, &fisher)?;
        checks.push(Check::at_most(
            format!("late-time law (35) at T = {t_last}: max|T Cov - I^-1|/max|I^-1|"),
            err,
            cfg.late_tolerance,
            "T Cov_pi -> I(theta*)^-1 (eq. 35)",
        ));
        err
    } else {
        f64::NAN
    };

    // --- eq. (32) on simulated data.
    let mut data_rows = Vec::new();
    if cfg.n_data > 0 {
        let mut r = rng::stream(cfg.seed, 1);
        let ys: Vec<Vec<f64>> = (0..cfg.n_data)
            .map(|_| {
                let mut y = vec![0.0; model.obs_dim()];
                model.sample(&cfg.theta_star, &mut r, &mut y);
                y
            })
            .collect();
        let mut gd = g0.clone();
        let mut ln_ev = 0.0;
        let marks: Vec<usize> = (0..=cfg.n_data)
            .filter(|n| *n == 0 || n.is_power_of_two() || *n == cfg.n_data)
            .collect();
        let mut done = 0;
        for &n in &marks {
            ln_ev += update::observe_all(gd.points_mut(), &e, &ys[done..n])?;
            done = n;
            coverage(
                &gd,
                &e,
                &prior,
                cfg.coverage_tolerance,
                &format!("after {n} observations"),
            )?;
            data_rows.push((n, gd.mean(), gd.var(), ln_ev));
        }
        let (_, mean, var, _) = data_rows.last().expect("one row");
        let z = (0..d)
            .map(|j| (mean[j] - phi_star[j]).abs() / var[j].sqrt())
            .fold(0.0, f64::max);
        checks.push(Check::at_most(
            format!(
                "posterior after {} observations (eq. 32): |mean - theta*|/sd",
                cfg.n_data
            ),
            z,
            5.0,
            "the posterior concentrates around theta* (5 posterior sd)",
        ));
        if let Some(o) = &oracle {
            let (m, v) = o.data(&ys);
            let dev = marginal_gap(mean, var, &m, &v);
            checks.push(Check::at_most(
                "streaming grid update (32) vs batch conjugate update: max |Δmean|/sd, |Δvar|/var",
                dev,
                1e-8,
                o.describe(),
            ));
        }
    }

    let summary = Summary::new(
        "bayes",
        origin.map(str::to_string),
        checks,
        serde_json::json!({
            "model": type_name(model),
            "free": names,
            "theta_star": cfg.theta_star,
            "fisher_at_theta_star": fisher.row_iter().map(|r| r.iter().copied().collect::<Vec<_>>()).collect::<Vec<_>>(),
            "late_time_error": late,
            "oracle": oracle.as_ref().map(|o| o.describe()),
            "stepper": "classical RK4 (order 4) on u = ln pi, from the prior at T = 0",
            "grid_scales": cfg.grid.iter().map(|a| a.scale.name()).collect::<Vec<_>>(),
            "map_notes": map_notes,
            "files": ["flow.csv", "data.csv", "mean.png", "variance.png", "energy.png"],
        }),
    );

    if let Some(o) = staged {
        // flow.csv
        let mut w = csv::Writer::from_path(o.path("flow.csv"))?;
        let mut head = vec!["T".to_string()];
        for n in &names {
            for c in [
                "mean",
                "var",
                "mean_34",
                "var_34",
                "var_35",
                "map",
                "particle_mean",
                "particle_var",
                "oracle_mean",
                "oracle_var",
            ] {
                head.push(format!("{c}_{n}"));
            }
        }
        for c in [
            "E_K",
            "Var_K",
            "dE_K_dT",
            "ln_Z",
            "ln_Z_34",
            "particle_ess",
            "map_fisher_speed",
        ] {
            head.push(c.into());
        }
        w.write_record(&head)?;
        for (i, r) in recs.iter().enumerate() {
            let mut row = vec![r.t];
            let om_ov = oracle.as_ref().map(|o| o.flow(r.t, &phi_star));
            for j in 0..d {
                let (om, ov) = om_ov
                    .as_ref()
                    .map_or((f64::NAN, f64::NAN), |(m, v)| (m[j], v[j]));
                let pr = prec.as_ref().map(|p| &p[i]);
                row.extend([
                    r.mean[j],
                    r.cov[(j, j)],
                    sol[i].0[j],
                    sol[i].1[(j, j)],
                    if r.t > 0.0 {
                        inv_fisher[(j, j)] / r.t
                    } else {
                        f64::INFINITY
                    },
                    maps[i][j],
                    pr.map_or(f64::NAN, |p| p.mean[j]),
                    pr.map_or(f64::NAN, |p| p.cov[(j, j)]),
                    om,
                    ov,
                ]);
            }
            // Drift along the MAP path (36): |dμ/dT|_I by a one-sided difference.
            let speed = if i > 0 {
                bayesrg_core::bayes::observables::fisher_speed(
                    &maps[i - 1],
                    &maps[i],
                    r.t - recs[i - 1].t,
                    &fisher,
                )
            } else {
                f64::NAN
            };
            row.extend([
                r.e_k,
                r.var_k,
                r.de_k_dt,
                r.ln_z,
                sol[i].2,
                prec.as_ref().map_or(f64::NAN, |p| p[i].ess),
                speed,
            ]);
            w.write_record(row.iter().map(|v| csv_number(*v)))?;
        }
        w.flush()?;
        let mut w = csv::Writer::from_path(o.path("data.csv"))?;
        let mut head = vec!["n".to_string()];
        for n in &names {
            head.push(format!("mean_{n}"));
            head.push(format!("var_{n}"));
        }
        head.push("ln_evidence".into());
        w.write_record(&head)?;
        for (n, m, v, z) in &data_rows {
            let mut row = vec![*n as f64];
            for j in 0..d {
                row.push(m[j]);
                row.push(v[j]);
            }
            row.push(*z);
            w.write_record(row.iter().map(|v| csv_number(*v)))?;
        }
        w.flush()?;
        // Plots (T > 0 on log axes).
        let pos: Vec<usize> = (0..recs.len()).filter(|&i| recs[i].t > 0.0).collect();
        if !pos.is_empty() {
            let mut s = Vec::new();
            let mut sv = Vec::new();
            for j in 0..d {
                s.push(Series::line(
                    format!("mean {} (RK4)", names[j]),
                    pos.iter().map(|&i| (recs[i].t, recs[i].mean[j])).collect(),
                ));
                s.push(Series::points(
                    format!("MAP {}", names[j]),
                    pos.iter().map(|&i| (recs[i].t, maps[i][j])).collect(),
                ));
                s.push(Series::line(
                    format!("theta* {}", names[j]),
                    pos.iter().map(|&i| (recs[i].t, phi_star[j])).collect(),
                ));
                sv.push(Series::line(
                    format!("var {} (RK4)", names[j]),
                    pos.iter()
                        .map(|&i| (recs[i].t, recs[i].cov[(j, j)]))
                        .collect(),
                ));
                sv.push(Series::points(
                    format!("var {} (34)", names[j]),
                    pos.iter().map(|&i| (recs[i].t, sol[i].1[(j, j)])).collect(),
                ));
                sv.push(Series::line(
                    format!("I^-1/T (35) {}", names[j]),
                    pos.iter()
                        .map(|&i| (recs[i].t, inv_fisher[(j, j)] / recs[i].t))
                        .collect(),
                ));
            }
            plot::line_chart(
                &o.path("mean.png"),
                &Axes {
                    title: "Posterior mean and MAP along T (eq. 33)".into(),
                    x_label: "T".into(),
                    y_label: "theta".into(),
                    log_x: true,
                    log_y: false,
                },
                &s,
            )?;
            plot::line_chart(
                &o.path("variance.png"),
                &Axes {
                    title: "Posterior variance vs (34) and (35)".into(),
                    x_label: "T".into(),
                    y_label: "variance".into(),
                    log_x: true,
                    log_y: true,
                },
                &sv,
            )?;
            plot::line_chart(
                &o.path("energy.png"),
                &Axes {
                    title: "E_pi[KL(theta*||theta)] along T".into(),
                    x_label: "T".into(),
                    y_label: "E[K]".into(),
                    log_x: true,
                    log_y: true,
                },
                &[
                    Series::line(
                        "E[K]",
                        pos.iter().map(|&i| (recs[i].t, recs[i].e_k)).collect(),
                    ),
                    Series::line(
                        "Var[K]",
                        pos.iter().map(|&i| (recs[i].t, recs[i].var_k)).collect(),
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

//! The SDE ensemble runner [`run`]: builds the problem of an [`SdeSpec`]
//! (K⁻¹ from the matrix given or the Fisher metric, pushed forward by
//! eq. (44) through [`crate::bayes::backward::pushforward`]), chooses its exact
//! law — the heat kernel N(y₀ + τγ̇, τK⁻¹) of eq. (43) or the exact
//! Ornstein–Uhlenbeck law — simulates the ensemble and checks it against that
//! law. A step beyond the stepper's stability limit, or states that become
//! non-finite, are [`Error::Failed`] naming the cause.

use crate::bayes::backward;
use crate::check::Check;
use crate::error::{Error, Field, Result, show};
use crate::gaussian::Gaussian;
use crate::observe::{Observer, tick};
use crate::sde::ensemble::{Ensemble, EnsembleConfig, simulate};
use crate::sde::expr::{ExprDiagonalNoise, ExprDrift, ExprGeneralNoise, Expressions};
use crate::sde::external::{External, ExternalDrift, ExternalNoise};
use crate::sde::gaussian_law::{self, LawCheck};
use crate::sde::ou;
use crate::sde::spec::{DiffusionSpec, DriftSpec, SdeSpec, square};
use crate::sde::steppers::{self, BlockWorkspace, Increment, Stepper, StepperInfo};
use crate::sde::terms::{
    AdditiveNoise, ConstantDrift, Diffusion, Drift, LinearDrift, Problem, ZeroDrift,
};
use crate::{fisher, linalg};
use nalgebra::{DMatrix, DVector};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Moments of the ensemble at one saved time, beside the exact law's.
#[derive(Debug, Clone, Serialize)]
pub struct SavedTime {
    /// The time τ.
    pub t: f64,
    /// Ensemble mean (d).
    pub mean: Vec<f64>,
    /// Ensemble covariance (d × d).
    pub cov: Vec<Vec<f64>>,
    /// Exact mean (d), when the law is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact_mean: Option<Vec<f64>>,
    /// Exact covariance (d × d), when the law is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact_cov: Option<Vec<Vec<f64>>>,
    /// The three tests of the sample against the exact law.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tests: Option<LawCheck>,
}

/// The exact law's mean and covariance at one time of a dense grid (for
/// plotting against the ensemble).
#[derive(Debug, Clone, Serialize)]
pub struct LawPoint {
    /// The time τ.
    pub t: f64,
    /// Mean (d).
    pub mean: Vec<f64>,
    /// Covariance (d × d).
    pub cov: Vec<Vec<f64>>,
}

/// What [`run`] returns: plain data.
#[derive(Debug, Clone, Serialize)]
pub struct SdeResult {
    /// The dimension d.
    pub dim: usize,
    /// Number of paths.
    pub paths: usize,
    /// Steps per path.
    pub steps_per_path: usize,
    /// The stepper's name, orders, calculus and noise.
    pub stepper: StepperInfo,
    /// K⁻¹ (d × d) when the noise is additive.
    pub k_inv: Option<Vec<Vec<f64>>>,
    /// The exact law the ensemble is checked against, when one is known.
    pub oracle: Option<String>,
    /// Moments and tests at each saved time.
    pub saved: Vec<SavedTime>,
    /// The exact law at 100 times evenly spaced up to the last save time
    /// (empty when no law is known).
    pub law_curve: Vec<LawPoint>,
    /// The ensemble's states at each saved time, paths × d row-major.
    pub states: Vec<Vec<f64>>,
    /// The law checks (3 per saved time; none without an exact law).
    pub checks: Vec<Check>,
}

/// A square matrix as rows.
fn rows(m: &DMatrix<f64>) -> Vec<Vec<f64>> {
    m.row_iter().map(|r| r.iter().copied().collect()).collect()
}

/// K⁻¹ of an additive diffusion spec (None for state-dependent noise).
///
/// With `diffusion.type = "fisher"`, K⁻¹ = J I⁺ Jᵀ (eq. 44; J = 1 without
/// `push_forward`) through [`backward::pushforward`], the Fisher metric from
/// [`fisher::best`] with the seed's child `"fisher"`.
///
/// # Errors
/// [`Error::Domain`] when the pushforward is degenerate (its rank is below
/// the dimension: the exact law has no density); errors of the Fisher metric.
pub fn k_inverse(spec: &SdeSpec) -> Result<Option<DMatrix<f64>>> {
    let d = spec.dim();
    let at = Field::key("diffusion");
    Ok(Some(match &spec.diffusion {
        DiffusionSpec::KInv { matrix } => square(at.then("matrix"), matrix, d)?,
        DiffusionSpec::K { matrix } => {
            let k = square(at.then("matrix"), matrix, d)?;
            AdditiveNoise::from_k(&k)?.k_inv().clone()
        }
        DiffusionSpec::Fisher(f) => {
            let seed = spec.seed.child("fisher").value();
            let i = fisher::best(f.model.as_ref(), &f.theta, f.samples, seed)?;
            let j = if f.push_forward {
                f.model
                    .forward_jacobian(&f.theta)
                    .ok_or_else(|| Error::Missing {
                        model: crate::model::type_name(f.model.as_ref()).to_string(),
                        capability: "forward map".into(),
                    })?
            } else {
                DMatrix::identity(f.theta.len(), f.theta.len())
            };
            let pf = backward::pushforward(&j, &i)?;
            // K⁻¹ = WWᵀ is defined at any rank, but the ensemble is checked
            // against the density of the exact law, which a degenerate
            // diffusion does not have: refuse it, saying why.
            let m = j.nrows();
            let rank = linalg::Spectrum::of_factor(&pf.factor.transpose()).rank();
            if rank < m {
                return Err(Error::domain(
                    at.then("theta"),
                    format!("{:?}", f.theta),
                    format!(
                        "gives K⁻¹ = J I⁺ Jᵀ (eq. 44) of rank {rank} < {m}: the diffusion is \
                         degenerate along {} direction(s) (the Fisher metric has rank {} of {}; \
                         the map has {m} outputs), and the paths are checked against the density \
                         of the exact law, which a degenerate law does not have. The pushforward \
                         itself is computed by `bayesrg flow` with data_space = true",
                        m - rank,
                        pf.fisher_rank,
                        f.theta.len()
                    ),
                ));
            }
            pf.k_inv * f.scale
        }
        DiffusionSpec::Diagonal { .. }
        | DiffusionSpec::Matrix { .. }
        | DiffusionSpec::Plugin { .. } => return Ok(None),
    }))
}

/// The problem of a spec, with its exact law when one is known.
pub struct Built {
    /// Drift and diffusion.
    pub problem: Problem,
    /// K⁻¹ of an additive diffusion.
    pub k_inv: Option<DMatrix<f64>>,
    /// The drift's (B, m) when it is linear.
    linear: Option<(DMatrix<f64>, DVector<f64>)>,
    /// γ̇ when the drift is constant.
    velocity: Option<Vec<f64>>,
    /// Whether the law is the heat kernel (zero or constant drift).
    heat: bool,
    /// The plugin terms in the problem, whose first failed call the run reports.
    pub external: Vec<Arc<External>>,
}

impl Built {
    /// The exact law of Y_τ from y₀, when the drift is linear and the noise
    /// additive: the heat kernel N(y₀ + τγ̇, τK⁻¹) (eq. 43) for a constant
    /// drift, else the exact Ornstein–Uhlenbeck law.
    pub fn law(&self, y0: &[f64], tau: f64) -> Result<Option<Gaussian>> {
        let Some(k_inv) = &self.k_inv else {
            return Ok(None);
        };
        if let Some(v) = &self.velocity {
            let mean = DVector::from_iterator(v.len(), v.iter().zip(y0).map(|(v, y)| y + tau * v));
            return Ok(Some(Gaussian::new(mean, k_inv * tau)?));
        }
        match &self.linear {
            Some((b, m)) => Ok(Some(ou::law(b, m, k_inv, y0, tau)?)),
            None => Ok(None),
        }
    }

    /// Which exact law [`Built::law`] gives, by name.
    pub fn oracle(&self) -> Option<&'static str> {
        self.k_inv.as_ref()?;
        if self.heat {
            Some("heat kernel N(y₀ + τγ̇, τK⁻¹) (eq. 43)")
        } else if self.linear.is_some() {
            Some("exact Ornstein–Uhlenbeck law (Van Loan step + semigroup doubling)")
        } else {
            None
        }
    }
}

/// Builds the drift and diffusion of a validated spec.
///
/// # Errors
/// As [`k_inverse`]; [`Error::Failed`] when a diagonal σ cannot be
/// differentiated for Milstein.
pub fn build(spec: &SdeSpec) -> Result<Built> {
    let d = spec.dim();
    let k_inv = k_inverse(spec)?;
    let at = Field::key("drift");
    let mut external = Vec::new();
    let centre = |c: &Option<Vec<f64>>| {
        c.as_ref()
            .map_or(DVector::zeros(d), |v| DVector::from_column_slice(v))
    };
    let (drift, velocity): (Arc<dyn Drift>, Option<Vec<f64>>) = match &spec.drift {
        DriftSpec::Zero {} => (Arc::new(ZeroDrift::new(d)), None),
        DriftSpec::Constant { velocity } => (
            Arc::new(ConstantDrift::new(velocity.clone())),
            Some(velocity.clone()),
        ),
        DriftSpec::Ou { b, centre: c } => (
            Arc::new(LinearDrift::new(square(at.then("b"), b, d)?, centre(c))?),
            None,
        ),
        DriftSpec::QuadraticPotential {
            precision,
            centre: c,
        } => {
            let p = square(at.then("precision"), precision, d)?;
            let Some(k_inv) = &k_inv else {
                return Err(Error::domain(
                    "drift.type",
                    "\"quadratic_potential\"",
                    "needs an additive diffusion (k_inv, k or fisher): its drift is −½K⁻¹P(y − m)",
                ));
            };
            (
                Arc::new(LinearDrift::quadratic_potential(k_inv, &p, centre(c))?),
                None,
            )
        }
        DriftSpec::Expression { b } => (
            Arc::new(ExprDrift(Expressions::parse(&at.then("b"), b, d)?)),
            None,
        ),
        DriftSpec::Plugin { terms } => {
            let e = External::new(terms.0.clone());
            external.push(e.clone());
            (Arc::new(ExternalDrift(e)), None)
        }
    };
    let at = Field::key("diffusion");
    let diffusion = match (&spec.diffusion, &k_inv) {
        (DiffusionSpec::Plugin { terms }, _) => {
            let e = External::new(terms.0.clone());
            external.push(e.clone());
            Diffusion::Diagonal(Arc::new(ExternalNoise(e)))
        }
        (DiffusionSpec::Diagonal { sigma }, _) => Diffusion::Diagonal(Arc::new(
            ExprDiagonalNoise::new(Expressions::parse(&at.then("sigma"), sigma, d)?)?,
        )),
        (DiffusionSpec::Matrix { sigma }, _) => {
            let f = at.then("sigma");
            let rows = sigma
                .iter()
                .enumerate()
                .map(|(i, r)| Expressions::parse(&f.clone().at(i), r, d))
                .collect::<Result<Vec<_>>>()?;
            Diffusion::General(Arc::new(ExprGeneralNoise::new(rows)))
        }
        (_, Some(k)) => Diffusion::Additive(AdditiveNoise::from_k_inv(k)?),
        (_, None) => unreachable!("k_inverse gives K⁻¹ for every additive diffusion"),
    };
    let linear = drift.linear();
    let velocity = velocity.filter(|_| k_inv.is_some());
    let heat = matches!(spec.drift, DriftSpec::Zero {} | DriftSpec::Constant { .. });
    Ok(Built {
        problem: Problem::new(drift, diffusion)?,
        k_inv,
        linear,
        velocity,
        heat,
        external,
    })
}

/// The spectral radius of the map one noise-free step of `stepper` applies to
/// y − m under the linear drift −B(y − m), found by stepping the basis vectors.
fn step_radius(stepper: &dyn Stepper, problem: &Problem, m: &DVector<f64>, h: f64) -> f64 {
    let d = problem.dim();
    let nm = problem.noise_dim();
    let mut ws = BlockWorkspace::new(d, d, nm);
    let mut ys: Vec<f64> = (0..d * d)
        .map(|k| m[k % d] + if k / d == k % d { 1.0 } else { 0.0 })
        .collect();
    let dw = vec![0.0; d * nm];
    let dz = if stepper.info().needs_time_integral {
        vec![0.0; d * nm]
    } else {
        vec![]
    };
    stepper.step_block(
        problem,
        0.0,
        &Increment {
            h,
            dw: &dw,
            dz: &dz,
        },
        &mut ys,
        &mut ws,
    );
    // Row i of ys is m + M e_i: column i of M.
    let map = DMatrix::from_fn(d, d, |r, c| ys[c * d + r] - m[r]);
    map.complex_eigenvalues()
        .iter()
        .map(|z| z.norm())
        .fold(0.0, f64::max)
}

/// Refuses a step at which the stepper's noise-free map grows along a
/// direction in which the exact flow of the linear drift does not (the
/// mean-square stability limit of an explicit scheme: h·λ_max > 2 for
/// Euler–Maruyama).
fn check_stability(spec: &SdeSpec, stepper: &dyn Stepper, built: &Built) -> Result<()> {
    let Some((b, m)) = &built.linear else {
        return Ok(());
    };
    let eig = b.complex_eigenvalues();
    // The exact flow e^{−τB} contracts along every direction when every
    // eigenvalue of B has a positive real part.
    if eig.iter().any(|z| z.re <= 0.0) {
        return Ok(());
    }
    let radius = step_radius(stepper, &built.problem, m, spec.dt);
    if radius <= 1.0 + 1e-12 {
        return Ok(());
    }
    let lam = eig.iter().map(|z| z.norm()).fold(0.0, f64::max);
    // The largest stable step, by bisection on the radius.
    let (mut lo, mut hi) = (0.0, spec.dt);
    for _ in 0..60 {
        let h = 0.5 * (lo + hi);
        if step_radius(stepper, &built.problem, m, h) <= 1.0 + 1e-12 {
            lo = h;
        } else {
            hi = h;
        }
    }
    Err(Error::failed(
        format!("stepper `{}`", stepper.info().name),
        format!(
            "the step dt = {} is beyond its stability limit: h·λ_max = {} (λ_max = {}, the \
             largest eigenvalue modulus of the drift matrix B) and one step multiplies y − m \
             by a matrix of spectral radius {} > 1 while the exact flow contracts, so the \
             paths blow up (for Euler–Maruyama the limit is h·λ_max ≤ 2). Take dt below {} \
             or use stepper = \"exact_ou\"",
            show(spec.dt),
            show(spec.dt * lam),
            show(lam),
            show(radius),
            show(lo)
        ),
    ))
}

/// Simulates the ensemble of `spec` and checks it against its exact law.
///
/// Phases reported to `obs`: `"paths"` (total = paths). Randomness: the
/// Brownian paths draw from `spec.seed` (chunk k from stream k), a Monte Carlo
/// Fisher metric from `spec.seed.child("fisher")`.
///
/// # Errors
/// Bad input from [`SdeSpec::validate`]; [`Error::Failed`] when the step is
/// beyond the stepper's stability limit for a linear drift, or when any state
/// becomes non-finite (naming the first such time and how many paths);
/// [`Error::Cancelled`].
pub fn run(spec: &SdeSpec, obs: &mut dyn Observer) -> Result<SdeResult> {
    spec.validate()?;
    let stepper = steppers::by_name(&spec.stepper)?;
    let built = build(spec)?;
    stepper.check(&built.problem)?;
    check_stability(spec, stepper.as_ref(), &built)?;
    let laws: Vec<Option<Gaussian>> = spec
        .save_at
        .iter()
        .map(|&t| built.law(&spec.y0, t))
        .collect::<Result<_>>()?;
    let cfg = EnsembleConfig::new(
        spec.paths,
        spec.y0.clone(),
        spec.save_at.clone(),
        spec.dt,
        spec.seed.value(),
    );
    obs.phase("paths", Some(spec.paths as u64));
    let ens = simulate_observed(&built.problem, stepper.as_ref(), &cfg, obs)?;
    // A plugin's failed call names the plugin, the function and τ; it comes
    // before the non-finite states it caused.
    for e in &built.external {
        e.check()?;
    }
    check_finite(&ens)?;
    // `alpha` is the family-wise level of the run: Bonferroni over its 3
    // checks per saved time with a law.
    let n_laws = laws.iter().filter(|l| l.is_some()).count();
    let level = spec.alpha / (3 * n_laws.max(1)) as f64;
    let oracle = built.oracle();
    let mut checks = Vec::new();
    let mut saved = Vec::new();
    for (k, law) in laws.iter().enumerate() {
        let t = spec.save_at[k];
        let tests = law
            .as_ref()
            .map(|law| gaussian_law::check(ens.states(k), law));
        if let (Some(c), Some(o)) = (&tests, oracle) {
            let at = crate::error::show(t);
            for (what, p) in [
                ("Hotelling T² p-value (mean)", c.hotelling_p),
                ("whitened covariance p-value (Bonferroni)", c.whitened_p),
                ("per-coordinate KS p-value (Bonferroni)", c.ks_p),
            ] {
                checks.push(Check::at_least(format!("τ = {at}: {what}"), p, level, o));
            }
        }
        saved.push(SavedTime {
            t,
            mean: ens.mean(k).as_slice().to_vec(),
            cov: rows(&ens.cov(k)),
            exact_mean: law.as_ref().map(|l| l.mean().as_slice().to_vec()),
            exact_cov: law.as_ref().map(|l| rows(l.cov())),
            tests,
        });
    }
    let t_max = *spec.save_at.last().unwrap_or(&1.0);
    let mut law_curve = Vec::new();
    if n_laws > 0 {
        for i in 1..=100 {
            let t = t_max * i as f64 / 100.0;
            if let Some(g) = built.law(&spec.y0, t)? {
                law_curve.push(LawPoint {
                    t,
                    mean: g.mean().as_slice().to_vec(),
                    cov: rows(g.cov()),
                });
            }
        }
    }
    Ok(SdeResult {
        dim: spec.dim(),
        paths: spec.paths,
        steps_per_path: cfg.steps_per_path(),
        stepper: stepper.info(),
        k_inv: built.k_inv.as_ref().map(rows),
        oracle: oracle.map(str::to_string),
        saved,
        law_curve,
        states: (0..spec.save_at.len())
            .map(|k| ens.states(k).to_vec())
            .collect(),
        checks,
    })
}

/// [`simulate`], reporting finished paths to `obs` from the calling thread
/// while the ensemble runs on the pool (the observer is not `Sync`).
fn simulate_observed(
    problem: &Problem,
    stepper: &dyn Stepper,
    cfg: &EnsembleConfig,
    obs: &mut dyn Observer,
) -> Result<Ensemble> {
    let done = AtomicU64::new(0);
    if rayon::current_thread_index().is_some() {
        // Called from a task on rayon's pool (a sweep runs its tasks there):
        // waiting on this thread for another that needs the same pool
        // deadlocks once every worker of the pool waits (one `sde` task on one
        // thread was enough). Run on this thread; the observer hears at the end.
        let ens = simulate(problem, stepper, cfg, &|n| {
            done.fetch_add(n as u64, Ordering::Relaxed);
        })?;
        tick(obs, done.load(Ordering::Relaxed))?;
        return Ok(ens);
    }
    let finished = std::sync::atomic::AtomicBool::new(false);
    let ens = std::thread::scope(|s| {
        let h = s.spawn(|| {
            // Set also when `simulate` unwinds (a caller's stop,
            // `observe::stop_now`), or the loop below would wait forever.
            struct Finished<'a>(&'a std::sync::atomic::AtomicBool);
            impl Drop for Finished<'_> {
                fn drop(&mut self) {
                    self.0.store(true, Ordering::Release);
                }
            }
            let _finished = Finished(&finished);
            simulate(problem, stepper, cfg, &|n| {
                done.fetch_add(n as u64, Ordering::Relaxed);
            })
        });
        while !finished.load(Ordering::Acquire) {
            std::thread::sleep(std::time::Duration::from_millis(20));
            obs.progress(done.load(Ordering::Relaxed));
        }
        h.join().unwrap_or_else(|p| {
            if crate::observe::is_stopped(p.as_ref()) {
                Err(Error::Cancelled)
            } else {
                Err(Error::failed("the ensemble", "a worker thread panicked"))
            }
        })
    })?;
    tick(obs, done.load(Ordering::Relaxed))?;
    Ok(ens)
}

/// [`Error::Failed`] naming the first saved time with non-finite states.
fn check_finite(ens: &Ensemble) -> Result<()> {
    let d = ens.dim();
    for (k, &t) in ens.times().iter().enumerate() {
        let bad = ens
            .states(k)
            .chunks_exact(d)
            .filter(|y| y.iter().any(|v| !v.is_finite()))
            .count();
        if bad > 0 {
            return Err(Error::failed(
                "the SDE ensemble",
                format!(
                    "{bad} of {} paths have non-finite states at τ = {}: the paths blew up \
                     (a step beyond the stepper's stability limit, or a drift or diffusion \
                     that grows too fast or is undefined there); take a smaller dt or check \
                     the expressions",
                    ens.paths(),
                    crate::error::show(t)
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Silent;

    fn spec(text: &str) -> SdeSpec {
        serde_json::from_str(text).unwrap()
    }

    /// |ensemble mean − exact| / SE over the saved times, SE from the
    /// ensemble's own variance.
    fn mean_z(r: &SdeResult, exact: impl Fn(f64) -> f64) -> f64 {
        r.saved
            .iter()
            .map(|s| (s.mean[0] - exact(s.t)).abs() / (s.cov[0][0] / r.paths as f64).sqrt())
            .fold(0.0, f64::max)
    }

    #[test]
    fn expression_ou_matches_the_closed_form_moments() {
        // dY = −β(Y − m)dτ + σdW: E Y_τ = m + e^{−βτ}(y₀ − m),
        // Var Y_τ = σ²(1 − e^{−2βτ})/(2β). Drift and σ as expressions,
        // σ through the diagonal (state-dependent) route.
        let (beta, m, s, y0) = (1.5, 0.5, 0.8, -1.0);
        let r = run(
            &spec(
                r#"{"paths": 8000, "dt": 0.005, "save_at": [0.3, 1.0], "y0": [-1.0],
                 "seed": 11, "stepper": "milstein",
                 "drift": {"type": "expression", "b": ["-1.5*(y[0] - 0.5)"]},
                 "diffusion": {"type": "diagonal", "sigma": ["0.8"]}}"#,
            ),
            &mut Silent,
        )
        .unwrap();
        assert!(r.checks.is_empty() && r.oracle.is_none());
        let z = mean_z(&r, |t| m + (-beta * t).exp() * (y0 - m));
        assert!(z < 4.0, "mean z = {z}");
        // Variance: SE of a sample variance ≈ v√(2/n); the Euler bias at
        // h = 0.005 is O(βh) relative, 0.75 %, below 4 SE = 6 %.
        for sv in &r.saved {
            let v = s * s * (1.0 - (-2.0 * beta * sv.t).exp()) / (2.0 * beta);
            let zv = (sv.cov[0][0] - v).abs() / (v * (2.0 / r.paths as f64).sqrt());
            assert!(zv < 4.0, "τ = {}: var {} vs {v}", sv.t, sv.cov[0][0]);
        }
        // A wrong closed form (β = 1.2) is rejected by the same statistic.
        assert!(mean_z(&r, |t| m + (-1.2 * t).exp() * (y0 - m)) > 4.0);
    }

    #[test]
    fn geometric_brownian_motion_with_milstein_matches_its_moments() {
        // dY = μY dτ + σY dW (state-dependent noise; Milstein uses
        // ∂σ/∂y = σ from exmex): E Y_τ = y₀e^{μτ}.
        let (mu, y0) = (0.3, 2.0);
        let r = run(
            &spec(
                r#"{"paths": 6000, "dt": 0.02, "save_at": [1.0], "y0": [2.0], "seed": 5,
                 "stepper": "milstein",
                 "drift": {"type": "expression", "b": ["0.3*y1"]},
                 "diffusion": {"type": "diagonal", "sigma": ["0.4*y1"]}}"#,
            ),
            &mut Silent,
        )
        .unwrap();
        let z = mean_z(&r, |t| y0 * (mu * t).exp());
        assert!(z < 4.0, "z = {z}");
        // Var = y₀²e^{2μτ}(e^{σ²τ} − 1) = 0.8 at τ = 1 …
        let v = y0 * y0 * (2.0 * mu).exp() * (0.16f64.exp() - 1.0);
        let got = r.saved[0].cov[0][0];
        // … with the SE of a sample variance of a log-normal, √((μ₄ − v²)/n),
        // bounded here by 3v/√n (kurtosis of this log-normal < 10).
        assert!(
            (got - v).abs() < 4.0 * 3.0 * v / (r.paths as f64).sqrt(),
            "{got} vs {v}"
        );
    }

    #[test]
    fn euler_maruyama_beyond_its_stability_limit_says_so() {
        // B = 2.5, h = 2: h·λ_max = 5 > 2; one Euler step multiplies y − m by
        // 1 − hλ = −4 (closed form), so the paths blow up.
        let bad = spec(
            r#"{"paths": 100, "dt": 2.0, "save_at": [20.0], "y0": [1.0],
               "drift": {"type": "ou", "b": [[2.5]]},
               "diffusion": {"type": "k_inv", "matrix": [[1.0]]}}"#,
        );
        let e = run(&bad, &mut Silent).unwrap_err();
        assert!(!e.is_bad_input(), "{e}");
        let msg = e.to_string();
        for needle in ["h·λ_max = 5", "spectral radius 4", "stability limit", "≤ 2"] {
            assert!(msg.contains(needle), "`{needle}` missing: {msg}");
        }
        // The largest stable step is 2/λ = 0.8: the message gives it.
        let at = msg.find("Take dt below ").unwrap() + "Take dt below ".len();
        let h: f64 = msg[at..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((h - 0.8).abs() < 1e-9, "{h}");
        // Just inside the limit (h·λ = 1.9) it runs; the exact stepper never fails.
        let mut ok = bad;
        ok.dt = 0.76;
        assert!(run(&ok, &mut Silent).is_ok());
        ok.dt = 2.0;
        ok.stepper = "exact_ou".into();
        assert!(run(&ok, &mut Silent).is_ok());
    }

    #[test]
    fn non_finite_states_are_a_failure_naming_the_time() {
        // b = y³ explodes in finite time from y₀ = 10 (1/(2·100) = 0.005).
        let e = run(
            &spec(
                r#"{"paths": 64, "dt": 0.01, "save_at": [0.5, 1.0], "y0": [10.0],
                 "drift": {"type": "expression", "b": ["y1^3"]},
                 "diffusion": {"type": "diagonal", "sigma": ["1"]}}"#,
            ),
            &mut Silent,
        )
        .unwrap_err();
        assert!(!e.is_bad_input());
        let msg = e.to_string();
        assert!(
            msg.contains("64 of 64 paths have non-finite states at τ = 0.5"),
            "{msg}"
        );
    }

    #[test]
    fn bad_expressions_and_shapes_are_bad_input_naming_the_field() {
        let cases = [
            (
                r#""b": ["y1 + y2"]"#,
                r#""sigma": ["1"]"#,
                "drift.b[0]",
                "unknown variable `y2`",
            ),
            (
                r#""b": ["y1", "y1"]"#,
                r#""sigma": ["1"]"#,
                "drift.b",
                "has 2 entries",
            ),
            (
                r#""b": ["sin(y1"]"#,
                r#""sigma": ["1"]"#,
                "drift.b[0]",
                "never closed",
            ),
            (
                r#""b": ["y1"]"#,
                r#""sigma": ["1 ? y1"]"#,
                "diffusion.sigma[0]",
                "character 3",
            ),
        ];
        for (drift, diff, field, needle) in cases {
            let text = format!(
                r#"{{"paths": 10, "dt": 0.1, "save_at": [1.0], "y0": [0.0],
                   "drift": {{"type": "expression", {drift}}},
                   "diffusion": {{"type": "diagonal", {diff}}}}}"#
            );
            let e = spec(&text).validate().unwrap_err();
            assert!(e.is_bad_input());
            assert_eq!(e.field().unwrap().to_string(), field, "{e}");
            assert!(e.to_string().contains(needle), "{e}");
        }
        // A stepper that cannot take state-dependent noise is refused up front.
        let e = spec(
            r#"{"paths": 10, "dt": 0.1, "save_at": [1.0], "y0": [0.0], "stepper": "sra1",
               "drift": {"type": "expression", "b": ["-y1"]},
               "diffusion": {"type": "diagonal", "sigma": ["1 + y1^2"]}}"#,
        )
        .validate()
        .unwrap_err();
        assert!(
            e.to_string().contains("does not support Diagonal noise"),
            "{e}"
        );
    }

    #[test]
    fn the_fisher_and_the_paths_never_share_a_stream() {
        // Paths: streams (seed, k); a Monte Carlo Fisher: (seed.child("fisher"), k).
        for s in [0u64, 1, 2, 3, 4, 5, 42, u64::MAX] {
            let seed = crate::rng::Seed::new(s);
            assert_ne!(seed.child("fisher"), seed);
        }
    }
}

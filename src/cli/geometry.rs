//! `bayesrg kl`, `bayesrg curvature`, `bayesrg jeffreys`: the divergence
//! (eqs. 30–31), the curvature of the Fisher metric and the Jeffreys density
//! of a model at a point, each one library call ([`bayesrg::core::kl`],
//! [`bayesrg::core::geometry::curvature`], [`bayesrg::core::geometry::jeffreys`]).
//!
//! ```toml
//! theta = [1.0, 2.0]          # the point θ
//! theta_prime = [5.0, 1.0]    # kl only: the second point θ′
//! samples = 100000            # optional: Monte Carlo draws (KL; Fisher fallback)
//! seed = 0                    # optional
//! [model]
//! type = "normal"
//! ```

use super::Status;
use anyhow::{Result, anyhow};
use bayesrg::core::geometry::{FisherMetric, curvature, jeffreys};
use bayesrg::core::kl::{self, KlOptions};
use bayesrg::core::rng::Seed;
use bayesrg::core::{Error as CoreError, Model};
use serde::Deserialize;
use std::path::PathBuf;

/// Arguments shared by the three commands.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file (TOML, or JSON by extension; docs/geometry.md).
    config: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Arguments of a command that reads one config and may write a result
/// folder (`bayesrg spectrum`, `bayesrg geodesic`).
#[derive(Debug, clap::Args)]
pub struct OutArgs {
    /// The config file (TOML, or JSON by extension).
    pub config: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write summary.json, the CSV tables and the plots into this folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs the command `C` on the config of `a`: the summary as JSON with
/// `--json`, else `text` of its details and the checks.
pub fn run_out<C: crate::commands::Command>(
    a: OutArgs,
    text: fn(&serde_json::Value),
) -> Result<Status> {
    let s = crate::commands::run_file::<C>(&a.config, a.out.as_deref())?.summary;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        text(&s.details);
        super::print_checks(&s);
    }
    Ok(Status::from_ok(s.pass))
}

/// The config of the three commands.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    theta: Vec<f64>,
    #[serde(default)]
    theta_prime: Option<Vec<f64>>,
    #[serde(default)]
    samples: Option<usize>,
    #[serde(default)]
    seed: Option<u64>,
    model: Box<dyn Model>,
}

/// Which command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// `bayesrg kl`.
    Kl,
    /// `bayesrg curvature`.
    Curvature,
    /// `bayesrg jeffreys`.
    Jeffreys,
}

struct Loaded {
    config: Config,
    origin: String,
    text: Option<String>,
}

impl Loaded {
    fn read(path: &std::path::Path) -> Result<Self> {
        let origin = path.display().to_string();
        if path.extension().is_some_and(|e| e == "json") {
            return Ok(Loaded {
                config: crate::config::load(path)?,
                origin,
                text: None,
            });
        }
        let text = crate::config::read_text(path)?;
        Ok(Loaded {
            config: crate::config::parse_toml(&text, &origin)?,
            origin,
            text: Some(text),
        })
    }

    /// `file:line:col` of `field` (or the file alone).
    fn at(&self, field: &str) -> String {
        let loc = self
            .text
            .as_deref()
            .and_then(|t| crate::locate::locate(t, &field.into()));
        match loc {
            Some((l, c)) => format!("{}:{l}:{c}", self.origin),
            None => self.origin.clone(),
        }
    }

    /// A library error, placed at the field it names (θ for a parameter error).
    fn place(&self, e: CoreError) -> anyhow::Error {
        let field = match &e {
            CoreError::Param(_) => "theta".to_string(),
            other => other.field().map(|f| f.to_string()).unwrap_or_default(),
        };
        let at = if field.is_empty() {
            self.origin.clone()
        } else {
            self.at(&field)
        };
        anyhow::Error::new(e).context(at)
    }
}

/// Runs one of the three commands.
pub fn run(which: Which, a: Args) -> Result<Status> {
    let l = Loaded::read(&a.config)?;
    let c = &l.config;
    let model = c.model.as_ref();
    if c.samples == Some(0) || c.samples == Some(1) {
        return Err(anyhow!("{}: `samples` must be at least 2", l.at("samples")));
    }
    let seed = Seed::new(c.seed.unwrap_or(Seed::DEFAULT.value()));
    let samples = c.samples.unwrap_or(kl::DEFAULT_SAMPLES);
    match (which, &c.theta_prime) {
        (Which::Kl, None) => {
            return Err(anyhow!(
                "{}: `bayesrg kl` needs `theta_prime`, the second point",
                l.origin
            ));
        }
        (Which::Curvature | Which::Jeffreys, Some(_)) => {
            return Err(anyhow!(
                "{}: `theta_prime` is for `bayesrg kl` only",
                l.at("theta_prime")
            ));
        }
        _ => {}
    }
    let metric = FisherMetric {
        model,
        samples,
        seed: seed.child("fisher"),
        known_christoffel: true,
    };
    model
        .check_params(&c.theta)
        .map_err(|e| l.place(e.into()))?;
    match which {
        Which::Kl => {
            let tp = c.theta_prime.as_deref().unwrap_or_default();
            let r = kl::divergence(model, &c.theta, tp, &KlOptions { samples, seed })
                .map_err(|e| l.place(e))?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                let show = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.15e}"));
                println!(
                    "KL(θ‖θ′), eq. (30), θ = {:?}, θ′ = {:?}",
                    r.theta, r.theta_prime
                );
                println!("  closed form          {}", show(r.closed_form));
                if let Some(s) = r.exact_sum {
                    println!(
                        "  exact sum            {:.15e} ± {:.1e} rounding ({} points, omitted \
                         mass ≤ {:.1e}){}",
                        s.value,
                        s.rounding,
                        s.points,
                        s.tail_mass,
                        if s.rounding >= s.value.abs() {
                            ": the terms cancel below their rounding, no significant digit"
                        } else {
                            ""
                        }
                    );
                }
                println!(
                    "  Monte Carlo          {:.6e} ± {:.2e} ({} draws){}",
                    r.monte_carlo.value,
                    r.monte_carlo.std_err,
                    r.monte_carlo.samples,
                    r.z.map_or(String::new(), |z| format!(
                        ", z = {z:.2} vs the closed form"
                    ))
                );
                println!("  ½ δᵀI(θ)δ, eq. (31)  {}", show(r.quadratic));
                match (r.check, &r.monte_carlo.unresolved) {
                    (kl::McCheck::ClosedFormNan, _) => println!(
                        "verdict: FAILED COMPUTATION — the model's closed-form KL is NaN at \
                         these points (a rounding breakdown of the formula, not a missing \
                         closed form)"
                    ),
                    (_, Some(why)) => println!("verdict: UNRESOLVED — Monte Carlo: {why}"),
                    (kl::McCheck::Pass, _) => println!("verdict: PASS (z ≤ {})", r.z_max),
                    (kl::McCheck::Fail, _) => println!(
                        "verdict: FAIL — the Monte Carlo mean of the log-likelihood ratio \
                         contradicts the closed form (z > {}): the KL, the log-likelihood or \
                         the sampler is wrong",
                        r.z_max
                    ),
                    (kl::McCheck::NotCompared | kl::McCheck::Unresolved, None) => {
                        println!("verdict: no closed form to check")
                    }
                }
            }
            if r.check == kl::McCheck::ClosedFormNan {
                eprintln!(
                    "error: the model's closed-form KL is NaN at θ = {:?}, θ′ = {:?}: a failed \
                     computation",
                    r.theta, r.theta_prime
                );
            }
            return Ok(Status::from_ok(!matches!(
                r.check,
                kl::McCheck::Fail | kl::McCheck::ClosedFormNan
            )));
        }
        Which::Curvature => {
            let r = curvature::curvature(&metric, &c.theta).map_err(|e| l.place(e))?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                let names = model.param_names();
                println!("curvature of the Fisher metric at θ = {:?}", r.theta);
                println!(
                    "  scalar R             {:.10e} ± {:.1e}",
                    r.scalar, r.scalar_error
                );
                if let (Some(k), Some(e)) = (r.gaussian, r.gaussian_error) {
                    println!("  Gaussian K = R/2     {k:.10e} ± {e:.1e}");
                }
                for s in &r.sectional {
                    println!(
                        "  sectional K({}, {})   {:.10e} ± {:.1e}",
                        names[s.i], names[s.j], s.value, s.error
                    );
                }
                println!(
                    "  (± : {})",
                    match r.derivatives {
                        curvature::Derivatives::Exact =>
                            "exact metric derivatives; the bound on their rounding, propagated",
                        _ =>
                            "differences of the metric; the larger of the propagated rounding \
                             bound and the change when every step is doubled or halved",
                    }
                );
                println!("  Ricci R_ik           {:?}", r.ricci);
                if let Some(why) = &r.unresolved {
                    println!("verdict: UNRESOLVED — {why}");
                }
            }
            if let Some(why) = &r.unresolved {
                eprintln!(
                    "error: the curvature at θ = {:?} is not resolved: {why}",
                    r.theta
                );
                return Ok(Status::Fail);
            }
        }
        Which::Jeffreys => {
            let ln = jeffreys::ln_density(&metric, &c.theta).map_err(|e| l.place(e))?;
            let out = serde_json::json!({
                "theta": c.theta,
                "ln_density": ln,
                "density": ln.exp(),
            });
            if a.json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!(
                    "Jeffreys density √det I(θ) at θ = {:?} (unnormalised): {:.15e} (ln {:.15e})",
                    c.theta,
                    ln.exp(),
                    ln
                );
            }
        }
    }
    Ok(Status::Pass)
}

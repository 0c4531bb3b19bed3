//! `bayesrg fokker-planck`, `bayesrg semigroup`, `bayesrg reverse`: a 1-D
//! Fokker–Planck grid run (eq. 15), the conditional-expectation semigroup
//! E_t f (eqs. 22–24) of an expression, and the reverse-time SDE (eq. 26)
//! from a Gaussian mixture. Each is one library call
//! ([`bayesrg::core::diffusion_runs`]); configs in `examples/diffusion/`,
//! docs in `docs/fokker-planck.md`.

use super::Status;
use crate::config::{at_field, load_checked};
use anyhow::Result;
use bayesrg::core::diffusion_runs::{fokker_planck, fokker_planck_2d, reverse, semigroup};
use bayesrg::core::observe::Silent;
use std::fmt::Write as _;
use std::path::Path;

/// Arguments of the three commands.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    io: super::ConfigOut,
    /// Print the result as one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Which command runs.
#[derive(Debug, Clone, Copy)]
pub enum Which {
    /// `bayesrg fokker-planck`.
    FokkerPlanck,
    /// `bayesrg semigroup`.
    Semigroup,
    /// `bayesrg reverse`.
    Reverse,
}

/// Prints the checks unless `json`, then the verdict.
fn verdict(checks: &[bayesrg::core::check::Check], json: bool) -> Status {
    let pass = checks.iter().all(|c| c.pass);
    if !json {
        let s = crate::commands::Summary::new("", None, checks.to_vec(), serde_json::Value::Null);
        super::print_checks(&s);
    }
    Status::from_ok(pass)
}

/// Whether a fokker-planck config is a 2-D problem: its `drift` is a list
/// (of two expressions). An unreadable file goes the 1-D way, whose loader
/// reports it.
fn is_2d(path: &Path) -> bool {
    crate::config::load::<serde_json::Value>(path)
        .ok()
        .is_some_and(|v| v.get("drift").is_some_and(serde_json::Value::is_array))
}

/// Removes the densities (they are in density.csv) from a 2-D result.
fn strip_density(v: &mut serde_json::Value) {
    if let Some(saved) = v.get_mut("saved").and_then(|s| s.as_array_mut()) {
        for s in saved {
            if let Some(m) = s.as_object_mut() {
                m.remove("density");
            }
        }
    }
}

pub fn run(which: Which, a: Args) -> Result<Status> {
    let staged = |inputs: &[&Path]| crate::output::stage(a.io.out.as_deref(), inputs);
    match which {
        Which::FokkerPlanck if is_2d(&a.io.config) => {
            let spec: fokker_planck_2d::FokkerPlanck2dSpec =
                load_checked(&a.io.config, fokker_planck_2d::FokkerPlanck2dSpec::validate)?;
            let dir = staged(&[a.io.config.as_path()])?;
            let r =
                fokker_planck_2d::run(&spec, &mut Silent).map_err(|e| at_field(&a.io.config, e))?;
            if let Some(dir) = dir {
                // Long format: one row per saved time and grid point.
                let mut csv = String::from("tau,y1,y2,density\n");
                for s in &r.saved {
                    for (k, p) in s.density.iter().enumerate() {
                        let (i, j) = (k % r.y1.len(), k / r.y1.len());
                        writeln!(csv, "{},{},{},{p}", s.t, r.y1[i], r.y2[j])?;
                    }
                }
                dir.write_text("density.csv", &csv)?;
                for (k, s) in r.saved.iter().enumerate() {
                    let axes = crate::plot::Axes {
                        title: format!(
                            "Fokker–Planck density p(y, τ) at τ = {}",
                            bayesrg_core::error::show(s.t)
                        ),
                        x_label: "y1 (state, units of y)".into(),
                        y_label: "y2 (state, units of y)".into(),
                        log_x: false,
                        log_y: false,
                    };
                    crate::plot::heat_map(
                        &dir.path(&format!("density_{k}.png")),
                        &axes,
                        &r.y1,
                        &r.y2,
                        &s.density,
                        "density p (1 / units of y²)",
                    )?;
                }
                let mut summary = serde_json::to_value(&r)?;
                strip_density(&mut summary);
                dir.write_json("result.json", &summary)?;
                dir.commit()?;
            }
            if a.json {
                let mut v = serde_json::to_value(&r)?;
                strip_density(&mut v);
                println!("{v}");
            } else {
                for s in &r.saved {
                    println!(
                        "τ = {}: mass {:.15} mean {:?} covariance {:?}",
                        bayesrg_core::error::show(s.t),
                        s.mass,
                        s.mean,
                        s.cov
                    );
                }
            }
            Ok(verdict(&r.checks, a.json))
        }
        Which::FokkerPlanck => {
            let spec: fokker_planck::FokkerPlanckSpec =
                load_checked(&a.io.config, fokker_planck::FokkerPlanckSpec::validate)?;
            let dir = staged(&[a.io.config.as_path()])?;
            let r =
                fokker_planck::run(&spec, &mut Silent).map_err(|e| at_field(&a.io.config, e))?;
            if let Some(dir) = dir {
                let mut csv = String::from("y");
                for s in &r.saved {
                    write!(csv, ",p_{}", s.t)?;
                }
                csv.push('\n');
                for (i, y) in r.y.iter().enumerate() {
                    write!(csv, "{y}")?;
                    for s in &r.saved {
                        write!(csv, ",{}", s.density[i])?;
                    }
                    csv.push('\n');
                }
                dir.write_text("density.csv", &csv)?;
                dir.write_json("result.json", &r)?;
                dir.commit()?;
            }
            if a.json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                for s in &r.saved {
                    println!(
                        "τ = {}: mass {:.15} mean {:.10} variance {:.10}",
                        s.t, s.mass, s.mean, s.variance
                    );
                }
            }
            Ok(verdict(&r.checks, a.json))
        }
        Which::Semigroup => {
            let spec: semigroup::SemigroupSpec =
                load_checked(&a.io.config, semigroup::SemigroupSpec::validate)?;
            let r = semigroup::run(&spec, &mut Silent).map_err(|e| at_field(&a.io.config, e))?;
            if let Some(dir) = staged(&[a.io.config.as_path()])? {
                dir.write_json("result.json", &r)?;
                dir.commit()?;
            }
            if a.json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                for v in &r.values {
                    println!(
                        "E_{} f({:?}) = {:.15e} ± {:.1e}   (f = {:.10e})",
                        spec.t, v.y, v.value, v.error, v.f
                    );
                }
            }
            Ok(verdict(&r.checks, a.json))
        }
        Which::Reverse => {
            let spec: reverse::ReverseSpec =
                load_checked(&a.io.config, reverse::ReverseSpec::validate)?;
            let dir = staged(&[a.io.config.as_path()])?;
            let r = reverse::run(&spec, &mut Silent).map_err(|e| at_field(&a.io.config, e))?;
            if let Some(dir) = dir {
                let mut csv = (0..r.dim)
                    .map(|j| format!("y{}", j + 1))
                    .collect::<Vec<_>>()
                    .join(",");
                csv.push('\n');
                for y in r.samples.chunks_exact(r.dim) {
                    let row: Vec<String> = y.iter().map(|v| v.to_string()).collect();
                    writeln!(csv, "{}", row.join(","))?;
                }
                dir.write_text("samples.csv", &csv)?;
                let mut summary = serde_json::to_value(&r)?;
                if let Some(m) = summary.as_object_mut() {
                    m.remove("samples");
                }
                dir.write_json("summary.json", &summary)?;
                dir.commit()?;
            }
            if a.json {
                let mut v = serde_json::to_value(&r)?;
                if let Some(m) = v.as_object_mut() {
                    m.remove("samples");
                }
                println!("{v}");
            } else {
                for (k, f) in r.fits.iter().enumerate() {
                    println!(
                        "component {k}: weight {:.4} ± {:.4}, mean {:?}",
                        f.weight.0, f.weight.1, f.mean.0
                    );
                }
            }
            Ok(verdict(&r.checks, a.json))
        }
    }
}

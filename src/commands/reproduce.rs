//! `bayesrg reproduce`: every check of the toolkit against the paper and the
//! closed forms, stage by stage, into one report a reader can open
//! (`index.html`, figures embedded) and `summary.json`.
//!
//! A stage is a function that runs library code (the same functions as the
//! subcommands) on built-in configurations and returns [`Summary`]s. A stage
//! that fails or errors is reported in the page and in the exit status; the
//! other stages still run.

use super::Summary;
use super::stages;
use crate::output::OutDir;
use crate::report::{StageReport, collect_files, render_html};
use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// What a stage gets to work with.
#[derive(Debug, Clone)]
pub struct StageCtx {
    /// The stage's own folder (inside the report folder); write results here.
    pub dir: PathBuf,
    /// Fewer samples, epochs and paths: for tests and a first look.
    pub quick: bool,
    /// Suppress progress bars of the stage's own work.
    pub quiet: bool,
}

/// One stage of the reproduction.
#[derive(Debug, Clone, Copy)]
pub struct Stage {
    /// Short name, used by `--only` and as the stage's folder.
    pub name: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// What it checks and against which oracle.
    pub description: &'static str,
    /// The work.
    pub run: fn(&StageCtx) -> Result<Vec<Summary>>,
}

/// Options of a reproduction run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The report folder.
    pub out: PathBuf,
    /// Quick mode.
    pub quick: bool,
    /// Run only these stages (all when empty).
    pub only: Vec<String>,
    /// No progress output.
    pub quiet: bool,
}

#[derive(Serialize)]
struct ReportJson<'a> {
    pass: bool,
    quick: bool,
    version: &'a str,
    stages: &'a [StageReport],
}

/// Every stage of the toolkit, in order: foundations first.
pub fn stages() -> Vec<Stage> {
    vec![
        Stage {
            name: "fisher",
            title: "Fisher metric of every registered model (eqs. 28–31)",
            description: "The validator on every registered model at its example point: \
            Monte Carlo E[ℓℓᵀ] and −E[∇² ln p] against the closed form by z-score, the KL \
            Hessian and JᵀΣ⁻¹J by relative error, the zero-mean score (eq. 28), the \
            quadratic expansion of KL (eq. 31), symmetry and positive semi-definiteness.",
            run: stages::fisher,
        },
        Stage {
            name: "sde",
            title: "SDE ensembles against the heat kernel (eqs. 43–46)",
            description: "Every example of `bayesrg sde`: seeded ensembles (Euler–Maruyama, \
            SRA1, Leimkuhler–Matthews) checked against the heat kernel N(γ_τ, τK⁻¹) of eq. (43), \
            with K⁻¹ = J I⁻¹ Jᵀ (eq. 44) for the Fisher pushforward, or against the exact \
            Ornstein–Uhlenbeck law: Hotelling T² for the mean, the whitened covariance, and \
            per-coordinate Kolmogorov–Smirnov tests, at a family-wise level.",
            run: stages::sde,
        },
        Stage {
            name: "fokker_planck",
            title: "Fokker–Planck grid, semigroup and reverse SDE (eqs. 15, 20–24, 26)",
            description: "Finite-volume grid against the Gaussian kernel N(y₀+vτ, Σ₀+τK⁻¹) and \
            e^{−V} with a state-dependent K (its measured order and exact mass); \
            E_{t₂}E_{t₁} = E_{t₁+t₂} and p_t = E_t(p₀); the reverse SDE recovering a \
            Gaussian mixture; χ² of an Euler–Maruyama ensemble against the grid.",
            run: stages::fokker_planck,
        },
        Stage {
            name: "dynamical_bayes",
            title: "Dynamical Bayes and DB-RG flows (eqs. 32–39, 43–45)",
            description: "Every example of `bayesrg bayes` and `bayesrg flow`: the RK4 flow (33) \
            on grids and particles against its solution (34), its invariants, the conjugate \
            closed forms and the late-time law (35); eq. (32) on simulated data; KL(p_τ‖p₀) \
            non-decreasing along τ; model-space (39) vs data-space (43) predictives.",
            run: stages::dynamical_bayes,
        },
        Stage {
            name: "geometry",
            title: "Geometry of the model manifold and the lattice free field (eqs. 3–6, 29, 38, 55)",
            description: "Fisher–Rao distances by shooting geodesics against closed forms \
            (normal in two charts, Poisson, categorical) and a gamma geodesic; Fisher spectra \
            (the sum of exponentials over six decades); the lattice free field: modes sorted \
            by Fisher against modes sorted by momentum (rank correlation −1), modes resolved \
            by the backward posterior N(μ, τI⁻¹) against the momentum ball p ≤ Λ(τ), and the \
            Fisher threshold of a smooth cutoff K_Λ.",
            run: stages::geometry,
        },
        Stage {
            name: "autoencoder",
            title: "Information shell of an MNIST autoencoder (section 4, eqs. 48–55)",
            description: "Trains the 784→20→784 ReLU autoencoder on the embedded MNIST subset, \
            computes its exact diagonal regression Fisher (eq. 29), removes encoder weights \
            with F ≤ Λ (eq. 55) and compares random, magnitude and KL-cost removal at matched \
            counts: the information shell stays within 2% of the unpruned loss up to ≥ 60% \
            removed, random removal is ≥ 20% worse there, the KL-cost shell is no worse.",
            run: stages::autoencoder,
        },
    ]
}

/// Runs the stages named in `opts` (all of [`stages()`] by default) and writes the
/// report. Returns the stage reports and the report folder.
pub fn run(opts: &Options) -> Result<(Vec<StageReport>, PathBuf)> {
    run_stages(&stages(), opts)
}

/// Runs the given stages and writes the report (the engine behind [`run`]).
pub fn run_stages(all: &[Stage], opts: &Options) -> Result<(Vec<StageReport>, PathBuf)> {
    for name in &opts.only {
        if !all.iter().any(|s| s.name == name) {
            let known: Vec<&str> = all.iter().map(|s| s.name).collect();
            bail!(
                "unknown stage `{name}`; the stages are: {}",
                known.join(", ")
            );
        }
    }
    let chosen: Vec<&Stage> = all
        .iter()
        .filter(|s| opts.only.is_empty() || opts.only.iter().any(|o| o == s.name))
        .collect();
    let out = OutDir::create(&opts.out, &[])?;
    let root = out.path("");
    let bar = if opts.quiet {
        ProgressBar::with_draw_target(Some(chosen.len() as u64), ProgressDrawTarget::hidden())
    } else {
        ProgressBar::new(chosen.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] stage {pos}/{len}: {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar.set_message("stages run side by side");
    // The stages run side by side, one scoped OS thread each (not rayon
    // tasks: see `stages::in_order`); their Monte Carlo work shares the one
    // rayon pool. Every computation is seeded and thread-count independent
    // (`bayesrg_core::rng`), so the results are the bits of a sequential run;
    // the reports keep the stage order. A stage's `seconds` is its own wall
    // time, shared with the stages running beside it.
    let (bar, root) = (&bar, &root);
    let reports: Vec<StageReport> = std::thread::scope(|s| {
        let handles: Vec<_> = chosen
            .iter()
            .map(|&stage| {
                s.spawn(move || {
                    let rep = run_stage(stage, root, opts.quick);
                    if !opts.quiet {
                        let (p, t) = rep.counts();
                        bar.println(format!(
                            "[{}] {} — {p}/{t} checks passed in {:.1} s",
                            rep.name,
                            if rep.pass() { "pass" } else { "FAIL" },
                            rep.seconds
                        ));
                    }
                    bar.inc(1);
                    rep
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(&chosen)
            .map(|(h, stage)| {
                // `run_stage` catches the stage's panics; a panic here is in
                // the reporting itself.
                h.join().unwrap_or_else(|_| StageReport {
                    name: stage.name.into(),
                    title: stage.title.into(),
                    description: stage.description.into(),
                    summaries: vec![],
                    error: Some("panicked while reporting".into()),
                    seconds: 0.0,
                    files: vec![],
                    figures: vec![],
                })
            })
            .collect()
    });
    bar.finish_and_clear();
    let pass = reports.iter().all(StageReport::pass);
    let version = env!("CARGO_PKG_VERSION");
    out.write_json(
        "summary.json",
        &ReportJson {
            pass,
            quick: opts.quick,
            version,
            stages: &reports,
        },
    )?;
    let meta = format!(
        "bayesrg {version}; {} mode; {} stages",
        if opts.quick { "quick" } else { "full" },
        reports.len()
    );
    out.write_text("index.html", &render_html(root, &reports, &meta))?;
    let timings: serde_json::Map<String, serde_json::Value> = reports
        .iter()
        .map(|r| (r.name.clone(), serde_json::json!(r.seconds)))
        .collect();
    out.write_json(crate::output::TIMINGS_FILE, &timings)?;
    let dir = out.commit()?;
    Ok((reports, dir))
}

/// Runs one stage into its folder `root/<name>` and reports it; an error or a
/// panic of the stage becomes the report's error.
fn run_stage(stage: &Stage, root: &std::path::Path, quick: bool) -> StageReport {
    let dir = root.join(stage.name);
    let t0 = Instant::now();
    let result = std::fs::create_dir_all(&dir)
        .map_err(anyhow::Error::from)
        .map(|()| {
            let ctx = StageCtx {
                dir: dir.clone(),
                quick,
                quiet: true,
            };
            // A panic inside a stage is a bug, but it must not take the report
            // down with it: record it as the stage's error.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (stage.run)(&ctx)))
        });
    let (summaries, error) = match result {
        Err(e) => (vec![], Some(format!("{e:#}"))),
        Ok(Ok(Ok(s))) => (s, None),
        Ok(Ok(Err(e))) => (vec![], Some(format!("{e:#}"))),
        Ok(Err(p)) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            (vec![], Some(format!("panicked: {msg}")))
        }
    };
    let (figures, files) = collect_files(root, &dir);
    StageReport {
        name: stage.name.into(),
        title: stage.title.into(),
        description: stage.description.into(),
        summaries,
        error,
        seconds: t0.elapsed().as_secs_f64(),
        files,
        figures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Check;

    fn good(ctx: &StageCtx) -> Result<Vec<Summary>> {
        std::fs::write(ctx.dir.join("a.csv"), "x,y\n1,2\n")?;
        crate::plot::line_chart(
            &ctx.dir.join("a.png"),
            &crate::plot::Axes::default(),
            &[crate::plot::Series::line("s", vec![(0.0, 1.0), (1.0, 2.0)])],
        )?;
        Ok(vec![Summary::new(
            "good",
            None,
            vec![Check::at_most("c", 1.0, 2.0, "o")],
            serde_json::Value::Null,
        )])
    }
    fn bad(_: &StageCtx) -> Result<Vec<Summary>> {
        anyhow::bail!("this stage breaks")
    }
    fn panicky(_: &StageCtx) -> Result<Vec<Summary>> {
        panic!("boom")
    }

    const GOOD: Stage = Stage {
        name: "good",
        title: "g",
        description: "d",
        run: good,
    };
    const BAD: Stage = Stage {
        name: "bad",
        title: "b",
        description: "d",
        run: bad,
    };
    const PANICKY: Stage = Stage {
        name: "panicky",
        title: "p",
        description: "d",
        run: panicky,
    };

    fn tmp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("brg-repro-{name}-{}", std::process::id()))
    }

    #[test]
    fn failing_stages_do_not_stop_the_others() {
        let out = tmp("mix");
        let opts = Options {
            out: out.clone(),
            quick: true,
            only: vec![],
            quiet: true,
        };
        let (reps, dir) = run_stages(&[BAD, PANICKY, GOOD], &opts).unwrap();
        assert_eq!(reps.len(), 3);
        assert!(!reps[0].pass() && !reps[1].pass() && reps[2].pass());
        assert!(reps[1].error.as_deref().unwrap().contains("boom"));
        assert_eq!(reps[2].figures, vec!["good/a.png".to_string()]);
        assert_eq!(
            reps[2].files,
            vec!["good/a.csv".to_string(), "good/a.svg".to_string()]
        );
        let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
        assert!(html.contains("<img alt=\"good/a.png\" src=\"good/a.png\">"));
        assert!(html.contains("this stage breaks"));
        let js: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(js["pass"], false);
        assert_eq!(js["stages"].as_array().unwrap().len(), 3);
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn unknown_stage_is_an_error_naming_the_stages() {
        let opts = Options {
            out: tmp("unknown"),
            quick: true,
            only: vec!["nope".into()],
            quiet: true,
        };
        let e = run_stages(&[GOOD], &opts).unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains("good"), "{e}");
        assert!(!opts.out.exists());
    }
}

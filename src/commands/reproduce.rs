//! `bayesrg reproduce`: every check of the toolkit against the paper and the
//! closed forms, stage by stage, into one report a reader can open
//! (`index.html`, figures embedded) and `summary.json`.
//!
//! A stage is a function that runs library code (the same functions as the
//! subcommands) on built-in configurations and returns [`Summary`]s. A stage
//! that fails or errors is reported in the page and in the exit status; the
//! other stages still run.

use super::Summary;
use crate::output::OutDir;
use crate::report::{StageReport, collect_files};
use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
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

pub use super::stages::all as stages;

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
    crate::report::write(&out, &reports, opts.quick)?;
    let dir = out.commit()?;
    Ok((reports, dir))
}

/// Runs one stage into its folder `root/<name>` and reports it; an error or a
/// panic of the stage becomes the report's error.
fn run_stage(stage: &Stage, root: &std::path::Path, quick: bool) -> StageReport {
    let dir = root.join(stage.name);
    let t0 = Instant::now();
    // Refused after an interrupt, which removes the staging folder `root`
    // and must not see it come back.
    let result = crate::output::make_dir(&dir).map(|()| {
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
mod tests;

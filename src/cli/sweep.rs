//! `bayesrg sweep SPEC.toml --out DIR`: a parameter study over any command
//! (issue 15; docs/scaling.md). Reads the spec, expands it to tasks, runs
//! those not yet finished in parallel (each one library call,
//! [`bayesrg::tasks::run`]), and merges the folder into `results.csv` and
//! `tasks.csv`.

use super::Status;
use anyhow::{Context, Result, bail};
use bayesrg::sweep::{self, Store, SweepSpec};
use std::path::{Path, PathBuf};

/// The marker of a sweep's results folder: the spec it ran.
pub const MARKER: &str = ".bayesrg-sweep.json";

/// Arguments of `bayesrg sweep`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The sweep specification (TOML, or JSON by extension; docs/scaling.md).
    file: PathBuf,
    /// The results folder: created, or a folder of an earlier run of a sweep,
    /// which is resumed (finished tasks are skipped, failed ones run again).
    #[arg(long)]
    out: PathBuf,
    /// List the tasks (index, seed, coordinates) and run nothing.
    #[arg(long)]
    dry_run: bool,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
}

impl crate::config::Validate for SweepSpec {
    fn validate(&self) -> bayesrg::core::Result<()> {
        SweepSpec::validate(self)
    }
}

pub fn run(args: Args) -> Result<Status> {
    let spec: SweepSpec = crate::config::load_valid(&args.file)?;
    if !bayesrg::tasks::COMMANDS.contains(&spec.command.as_str()) {
        let e = bayesrg::core::Error::domain(
            "command",
            &spec.command,
            format!(
                "is not a command a sweep can run; known: {}",
                bayesrg::tasks::COMMANDS.join(", ")
            ),
        );
        return Err(crate::config::at_field(&args.file, e));
    }
    let tasks = spec
        .expand()
        .map_err(|e| crate::config::at_field(&args.file, e))?;
    if args.dry_run {
        for t in &tasks {
            let coords: Vec<String> = t.coords.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!(
                "{:>6}  {}  seed {}  {}",
                t.index,
                t.id,
                t.seed.value(),
                coords.join(" ")
            );
        }
        return Ok(Status::Pass);
    }
    let dir = open_folder(&args.out, &args.file, &spec)?;
    let store = Store::open(&dir)?;
    let mut bars = crate::progress::Bars::new(!args.quiet);
    let local = sweep::run_local(&tasks, &bayesrg::tasks::Runner, &store, &mut bars)?;
    drop(bars);
    let merged = sweep::merge(&tasks, &sweep::records(&tasks, &store)?, &spec.keep)?;
    write_atomic(&dir.join("results.csv"), &merged.results)?;
    write_atomic(&dir.join("tasks.csv"), &merged.tasks)?;
    println!(
        "{} tasks: {} finished now, {} finished before, {} failed",
        tasks.len(),
        local.finished,
        local.skipped,
        merged.counts.failed
    );
    for (i, e) in local.failed.iter().take(10) {
        println!("  task {i}: {e}");
    }
    if local.failed.len() > 10 {
        println!("  … {} more in tasks.csv", local.failed.len() - 10);
    }
    println!("results: {}", dir.join("results.csv").display());
    Ok(Status::from_ok(merged.counts.failed == 0))
}

/// The results folder: created with its marker, or an earlier sweep's folder.
/// A folder bayesrg did not make as a sweep's is refused (exit 2) untouched,
/// as are symbolic links and a folder holding the spec.
fn open_folder(out: &Path, spec_file: &Path, spec: &SweepSpec) -> Result<PathBuf> {
    if out.is_symlink() {
        bail!(
            "--out `{}` is a symbolic link; give a folder",
            out.display()
        );
    }
    let dir = std::path::absolute(out).with_context(|| format!("--out `{}`", out.display()))?;
    if let Ok(f) = std::path::absolute(spec_file)
        && f.starts_with(&dir)
    {
        bail!(
            "--out `{}` holds the spec `{}`; give another folder",
            out.display(),
            spec_file.display()
        );
    }
    if dir.exists() {
        if !dir.is_dir() {
            bail!("--out `{}` is a file; give a folder", out.display());
        }
        let empty = std::fs::read_dir(&dir)
            .with_context(|| format!("--out `{}` cannot be read", out.display()))?
            .next()
            .is_none();
        if !empty && !dir.join(MARKER).is_file() {
            bail!(
                "--out `{}` is not the folder of a bayesrg sweep (it has no {MARKER}); \
                 give a new folder, nothing was touched",
                out.display()
            );
        }
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("--out: cannot create `{}`", out.display()))?;
    let text = serde_json::to_string_pretty(spec)?;
    write_atomic(&dir.join(MARKER), &text)?;
    Ok(dir)
}

fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, text).with_context(|| format!("cannot write `{}`", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write `{}`", path.display()))
}

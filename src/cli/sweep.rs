//! `bayesrg sweep SPEC.toml --out DIR`: a parameter study over any command
//! (issue 15; docs/scaling.md). Reads the spec, expands it to tasks, runs
//! those not yet finished in parallel (each one library call,
//! [`bayesrg::tasks::run`]), and merges the folder into `results.csv` and
//! `tasks.csv`.

use super::Status;
use anyhow::Result;
use bayesrg::sweep::{self, Store, SweepSpec};
use std::path::PathBuf;

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
    /// Run the tasks on the Dask cluster of this scheduler
    /// (`tcp://HOST:PORT`), through the Python package (`python3 -m
    /// bayesrg.sweep`; `BAYESRG_PYTHON` names another interpreter).
    #[arg(long, value_name = "ADDRESS")]
    scheduler: Option<String>,
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
    // Every task's configuration is read and checked before any runs, so a
    // misspelt key fails the sweep as bad input, not every task.
    bayesrg::tasks::check_all(&tasks).map_err(|e| crate::config::at_field(&args.file, e))?;
    if args.dry_run {
        for t in &tasks {
            println!(
                "{:>6}  {}  seed {}  {}",
                t.index,
                t.id,
                t.seed.value(),
                sweep::spec::coords_text(t)
            );
        }
        return Ok(Status::Pass);
    }
    if let Some(address) = &args.scheduler {
        return on_cluster(&args, address);
    }
    let store = Store::create(&args.out, &[&args.file], &spec)?;
    let dir = store.dir().to_path_buf();
    let mut bars = crate::progress::Bars::new(!args.quiet);
    let local = sweep::run_local(&tasks, &bayesrg::tasks::Runner, &store, &mut bars)?;
    drop(bars);
    let counts = sweep::merge_into(&spec, &tasks, &store)?;
    println!(
        "{} tasks: {} finished now, {} finished before, {} failed",
        tasks.len(),
        local.finished,
        local.skipped,
        counts.failed
    );
    for (i, e) in local.failed.iter().take(10) {
        println!("  task {i}: {e}");
    }
    if local.failed.len() > 10 {
        println!("  … {} more in tasks.csv", local.failed.len() - 10);
    }
    println!("results: {}", dir.join("results.csv").display());
    Ok(Status::from_ok(counts.failed == 0))
}

/// `--scheduler`: the same sweep through the Python package on a Dask
/// cluster (docs/scaling.md); its exit status is passed on.
fn on_cluster(args: &Args, address: &str) -> Result<Status> {
    let python = std::env::var("BAYESRG_PYTHON").unwrap_or_else(|_| "python3".into());
    let status = std::process::Command::new(&python)
        .args(["-m", "bayesrg.sweep"])
        .arg(&args.file)
        .arg("--out")
        .arg(&args.out)
        .args(["--scheduler", address])
        .status()
        .map_err(|e| anyhow::anyhow!("--scheduler needs Python with the bayesrg package (`pip install ./python`; BAYESRG_PYTHON names the interpreter): cannot run `{python}`: {e}"))?;
    match status.code() {
        Some(0) => Ok(Status::Pass),
        Some(1) => Ok(Status::Fail),
        _ => anyhow::bail!(
            "the cluster sweep through `{python} -m bayesrg.sweep` did not finish ({status}); \
             is the bayesrg package installed for it (`pip install ./python`)?"
        ),
    }
}

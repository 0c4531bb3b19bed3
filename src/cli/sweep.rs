//! `bayesrg sweep SPEC.toml --out DIR`: a parameter study over any command
//! (issue 15; docs/scaling.md). Reads the spec, expands it to tasks, runs
//! those not yet finished in parallel (each one library call,
//! [`bayesrg::tasks::run`]), and merges the folder into `results.csv` and
//! `tasks.csv`.

use super::Status;
use anyhow::Result;
use bayesrg::sweep::{self, Store, SweepSpec};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};

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
    bayesrg::tasks::check_all(&spec, &tasks).map_err(|e| crate::config::at_field(&args.file, e))?;
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
    *OUT.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(args.out.clone());
    PHASE.store(LOCAL, Ordering::SeqCst);
    let store = Store::create(&args.out, &[&args.file], &spec)?;
    if let Some(note) = store.recovery() {
        eprintln!("warning: {note}");
    }
    let dir = store.dir().to_path_buf();
    for (i, path, why) in store.unreadable(&tasks) {
        eprintln!(
            "warning: the file of task {i}, {}, cannot be read ({why}); the task runs again \
             and its file is replaced",
            path.display()
        );
    }
    let mut bars = crate::progress::Bars::new(!args.quiet);
    let local = sweep::run_local(&tasks, &bayesrg::tasks::Runner, &store, &mut bars)?;
    drop(bars);
    // A `keep` that matches nothing is bad input at its line:col in the spec.
    let counts = sweep::merge_into(&spec, &tasks, &store).map_err(|e| match e.field() {
        Some(_) => crate::config::at_field(&args.file, e),
        None => e.into(),
    })?;
    println!(
        "{} tasks: {} finished now, {} finished before, {} failed, {} failed their checks",
        tasks.len(),
        local.finished,
        local.skipped,
        counts.failed,
        counts.check_failed
    );
    if counts.check_failed > 0 {
        println!("  (tasks.csv: status `check_failed`, with the failed checks in `error`)");
    }
    for (i, e) in local.failed.iter().take(10) {
        println!("  task {i}: {e}");
    }
    if local.failed.len() > 10 {
        println!("  … {} more in tasks.csv", local.failed.len() - 10);
    }
    println!("results: {}", dir.join("results.csv").display());
    Ok(Status::from_ok(
        counts.failed == 0 && counts.check_failed == 0,
    ))
}

/// What the sweep's signal handler does now: [`CHECKING`] (nothing written
/// yet), [`LOCAL`] (tasks run here) or [`CLUSTER`] (a Python child runs them).
static PHASE: AtomicU8 = AtomicU8::new(CHECKING);
const CHECKING: u8 = 0;
const LOCAL: u8 = 1;
const CLUSTER: u8 = 2;
/// The results folder, for the handler's message.
static OUT: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);

/// Installs the sweep's handler of SIGINT, SIGTERM and SIGHUP, first thing
/// (tryout 9 H6: a sweep that was still building and checking its tasks
/// died by the signal, exit 143 or 129). It ends the sweep as every command
/// ends (exit 130 with "interrupted" on stderr; tryout 7 F4):
/// - while the tasks are built and checked: nothing was written;
/// - while tasks run here: the task files being written are put in place
///   first and no other is begun ([`sweep::store::stop_writes`]), so the
///   finished tasks are kept and no temporary file is left; a rerun resumes;
/// - with `--scheduler`: the signal is passed to the Python child
///   ([`forward_to_child`]), and [`on_cluster`] exits 130 when it has ended.
pub fn arm_interrupts() {
    crate::output::install_handler(|| match PHASE.load(Ordering::SeqCst) {
        CLUSTER => forward_to_child(),
        LOCAL => {
            sweep::store::stop_writes();
            let out = OUT
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            eprintln!("interrupted: the finished tasks are kept in {out}; a rerun resumes");
            std::process::exit(130);
        }
        _ => {
            eprintln!("interrupted: nothing was written");
            std::process::exit(130);
        }
    });
}

/// What `--scheduler` runs: `bayesrg.sweep`'s command line, imported (not
/// `python -m bayesrg.sweep`, which warns that the package already imported
/// the module), with a one-line error naming `BAYESRG_PYTHON` when the
/// interpreter lacks the package (exit status 3, told apart below).
const CLUSTER_MAIN: &str = "import sys\n\
try:\n    from bayesrg.sweep import _main\n\
except ImportError as e:\n    \
print(f'error: --scheduler runs the sweep through the Python package bayesrg, but {sys.executable} \
cannot import it ({e}); install it there (pip install ./python) or set BAYESRG_PYTHON to the \
interpreter that has it', file=sys.stderr)\n    raise SystemExit(3)\n\
raise SystemExit(_main(prog='bayesrg sweep --scheduler'))\n";

/// The process id of the Python child of `--scheduler` while it runs (0
/// before it starts), for the signal handler.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// Whether a signal came while `--scheduler` ran.
static SIGNALLED: AtomicBool = AtomicBool::new(false);

/// The signal handler of `--scheduler` (SIGINT, SIGTERM, SIGHUP; ctrlc's
/// thread, not a signal context): notes the signal and sends SIGINT to the
/// Python child, which stops between two task files (it takes any number
/// of them as one). The main thread then waits for the child and exits 130.
fn forward_to_child() {
    SIGNALLED.store(true, Ordering::SeqCst);
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) with a process id of our own unreaped child.
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
    }
}

/// `--scheduler`: the same sweep through the Python package on a Dask
/// cluster (docs/scaling.md). Its exit status is passed on: 0, 1 (a task or
/// the cluster failed), 2 (bad input: the spec, `--out`, the address), 130
/// (interrupted); the Python side has printed its one-line error.
///
/// SIGINT, SIGTERM and SIGHUP sent to this process alone (a batch system's,
/// `timeout`'s) are forwarded to the child, which keeps the finished tasks
/// and leaves no temporary file; this process waits for it and exits 130.
/// On Linux the child gets SIGTERM if this process dies (even by SIGKILL),
/// so no orphan goes on writing into `--out` (tryout 7 F15).
fn on_cluster(args: &Args, address: &str) -> Result<Status> {
    let python = std::env::var("BAYESRG_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut command = std::process::Command::new(&python);
    command
        .args(["-c", CLUSTER_MAIN])
        .arg(&args.file)
        .arg("--out")
        .arg(&args.out)
        .args(["--scheduler", address]);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
        // SAFETY: between fork and exec only async-signal-safe calls
        // (prctl, getppid) are made.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                // This process died before the prctl: nothing would signal
                // (no allocation here: another thread may hold malloc's lock).
                if libc::getppid() != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    // Switched before the child starts, so no signal is lost; a signal
    // before the child's id is known is forwarded right after the start.
    PHASE.store(CLUSTER, Ordering::SeqCst);
    let mut child = command
        .spawn()
        .map_err(|e| anyhow::anyhow!("--scheduler needs Python with the bayesrg package (`pip install ./python`; BAYESRG_PYTHON names the interpreter): cannot run `{python}`: {e}"))?;
    CHILD.store(i32::try_from(child.id()).unwrap_or(0), Ordering::SeqCst);
    if SIGNALLED.load(Ordering::SeqCst) {
        forward_to_child();
    }
    let status = child.wait();
    CHILD.store(0, Ordering::SeqCst);
    let status = status.map_err(|e| anyhow::anyhow!("waiting for `{python}` failed: {e}"))?;
    let out = args.out.display();
    if SIGNALLED.load(Ordering::SeqCst) {
        // The child printed "interrupted" when it exited 130.
        if status.code() != Some(130) {
            eprintln!(
                "interrupted: the cluster sweep through `{python}` ended ({status}); \
                 the finished tasks are kept in {out}; a rerun resumes"
            );
        }
        std::process::exit(130);
    }
    match status.code() {
        Some(0) => Ok(Status::Pass),
        Some(1) => Ok(Status::Fail),
        // Already reported on one line by the Python side; no second line.
        Some(code @ (2 | 130)) => std::process::exit(code),
        Some(3) => std::process::exit(2),
        // The child died (killed, crashed): a failed run, exit 1.
        _ => Err(bayesrg::core::Error::failed(
            format!("the cluster sweep through `{python}`"),
            format!(
                "it ended with {status}; the finished tasks are kept in {out} and a rerun resumes"
            ),
        )
        .into()),
    }
}

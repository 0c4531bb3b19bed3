//! One task of a sweep: a command's library runner called on a configuration
//! given as JSON, its result returned as JSON (issue 15).
//!
//! The configuration is what the command's config file holds (the runner's
//! spec); the result is the runner's typed result, serialised, without run
//! times, so that a task's result depends only on its configuration. The
//! local sweep (`bayesrg sweep`) and the Python package's cluster sweep both
//! call [`run`] (through [`Runner`]), so a task gives the same bytes wherever it
//! runs.

use bayesrg_core::observe::Silent;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The commands a task may name.
pub const COMMANDS: &[&str] = &["bayes", "fisher", "flow", "prune", "sde"];

/// Why a task did not give a result, told apart as the command line tells
/// them apart by its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskError {
    /// Bad input (exit status 2): an unknown command, a configuration that
    /// does not parse (the message names the field) or fails its checks.
    Input(String),
    /// A computation that failed (exit status 1): a solver that did not
    /// converge, a NaN that arose, a result not representable as JSON.
    Failed(String),
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskError::Input(m) | TaskError::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for TaskError {}

impl From<bayesrg_core::Error> for TaskError {
    fn from(e: bayesrg_core::Error) -> Self {
        if e.is_bad_input() {
            TaskError::Input(e.to_string())
        } else {
            TaskError::Failed(e.to_string())
        }
    }
}

/// Runs `command` on `config` and returns its result as JSON.
///
/// # Errors
/// An unknown command, a configuration that does not parse or fails its
/// checks, or a computation that failed: the message a user reads
/// ([`run_typed`] tells them apart).
pub fn run(command: &str, config: &Value) -> Result<Value, String> {
    run_typed(command, config).map_err(|e| e.to_string())
}

/// [`run`], with bad input and failed computations told apart.
///
/// # Errors
/// [`TaskError::Input`] or [`TaskError::Failed`].
pub fn run_typed(command: &str, config: &Value) -> Result<Value, TaskError> {
    crate::ensure_linked();
    dispatch(command, config, Stage::Run).map_err(|l| l.error)
}

/// Checks `config` as the configuration of `command` without running it: it
/// parses as the runner's spec, and its values pass the checks the runner
/// makes before any work (the spec's own `validate`). A sweep calls this on
/// every task before it runs any (docs/scaling.md).
///
/// # Errors
/// [`TaskError::Input`], naming the field inside `config`.
pub fn check(command: &str, config: &Value) -> Result<(), TaskError> {
    crate::ensure_linked();
    dispatch(command, config, Stage::Check)
        .map(drop)
        .map_err(|l| l.error)
}

/// [`check`] on every task of the sweep `spec` (its tasks, `tasks`), before
/// any runs (in parallel; the answer does not depend on the number of
/// threads): the first task, by index, whose configuration fails.
///
/// # Errors
/// [`bayesrg_core::Error::Setting`] naming the task, its coordinates and what
/// was wrong, placed where the user wrote the bad value
/// ([`bayesrg_sweep::SweepSpec::locate`]): the axis value (`axes[1].values[0]`,
/// `axes[0].range`) when the field at fault is one an axis sets (tryout 8
/// G10: a NaN or an over-budget value in an axis was blamed on `base`), else
/// `base` (the sweep's base configuration, where a misspelt key lands).
pub fn check_all(
    spec: &bayesrg_sweep::SweepSpec,
    tasks: &[bayesrg_sweep::Task],
) -> bayesrg_core::Result<()> {
    use rayon::prelude::*;
    crate::ensure_linked();
    let first = tasks
        .par_iter()
        .map(|t| {
            dispatch(&t.command, &t.config, Stage::Check)
                .err()
                .map(|e| (t, e))
        })
        .find_first(Option::is_some)
        .flatten();
    match first {
        None => Ok(()),
        Some((t, Located { error, field })) => Err(bayesrg_core::Error::Setting {
            name: spec.locate(t, field.as_ref()).to_string(),
            reason: format!(
                "task {} ({}): {error}; a task's configuration is `base` with each axis's \
                 value set at its `path`",
                t.index,
                bayesrg_sweep::spec::coords_text(t)
            ),
        }),
    }
}

/// A task's error with the field of its configuration it names, if any.
struct Located {
    error: TaskError,
    field: Option<bayesrg_core::error::Field>,
}

impl From<TaskError> for Located {
    fn from(error: TaskError) -> Self {
        Located { error, field: None }
    }
}

impl From<bayesrg_core::Error> for Located {
    fn from(e: bayesrg_core::Error) -> Self {
        Located {
            field: e.field(),
            error: e.into(),
        }
    }
}

/// How far [`dispatch`] goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Check,
    Run,
}

/// A runner's spec as a task sees it: read from JSON, checked, run.
trait TaskSpec: DeserializeOwned {
    type Output: Serialize;
    /// The checks the runner makes before any work.
    fn check(&self) -> bayesrg_core::Result<()>;
    /// The library call.
    fn run(&self) -> bayesrg_core::Result<Self::Output>;
    /// Whether every check of the result passed: what the command line's
    /// exit status 0 (pass) or 1 (a check failed) says.
    fn passed(out: &Self::Output) -> bool;
}

/// `impl TaskSpec` for a spec whose own `validate()` is its check: the spec
/// type, its result type and the library call on `$s` (the spec).
macro_rules! validated_task {
    ($($spec:ty => $out:ty, |$s:ident| $run:expr;)*) => {$(
        impl TaskSpec for $spec {
            type Output = $out;
            fn check(&self) -> bayesrg_core::Result<()> {
                self.validate()
            }
            fn run(&self) -> bayesrg_core::Result<Self::Output> {
                let $s = self;
                $run
            }
            fn passed(out: &Self::Output) -> bool {
                out.checks.iter().all(|c| c.pass)
            }
        }
    )*};
}

validated_task! {
    bayesrg_core::bayes::experiment::BayesSpec => bayesrg_core::bayes::experiment::BayesResult,
        |s| bayesrg_core::bayes::experiment::run(s, &mut Silent);
    bayesrg_core::bayes::flow::FlowSpec => bayesrg_core::bayes::flow::FlowResult,
        |s| bayesrg_core::bayes::flow::run(s, &mut Silent);
    bayesrg_autoencoder::section4::Section4Spec => bayesrg_autoencoder::section4::Section4Result,
        |s| bayesrg_autoencoder::section4::run(s, &mut Silent).map(|r| r.result);
    bayesrg_core::sde::SdeSpec => bayesrg_core::sde::SdeResult,
        |s| bayesrg_core::sde::run(s, &mut Silent);
}

impl TaskSpec for bayesrg_core::validate::FisherSpec {
    type Output = bayesrg_core::validate::Report;
    fn check(&self) -> bayesrg_core::Result<()> {
        bayesrg_core::validate::check_inputs(
            self.model.as_ref(),
            &self.theta,
            &bayesrg_core::validate::Settings {
                samples: self.samples,
                seed: self.seed,
                claimed: self.claimed_fisher.clone(),
            },
        )
    }
    fn run(&self) -> bayesrg_core::Result<Self::Output> {
        bayesrg_core::validate::run(self, &mut Silent)
    }
    fn passed(out: &Self::Output) -> bool {
        out.verdict.pass
    }
}

/// The one table of the commands a task may name ([`COMMANDS`]).
fn dispatch(command: &str, config: &Value, stage: Stage) -> Result<Value, Located> {
    match command {
        "bayes" => call::<bayesrg_core::bayes::experiment::BayesSpec>(config, stage),
        "fisher" => call::<bayesrg_core::validate::FisherSpec>(config, stage),
        "flow" => call::<bayesrg_core::bayes::flow::FlowSpec>(config, stage),
        "prune" => call::<bayesrg_autoencoder::section4::Section4Spec>(config, stage),
        "sde" => call::<bayesrg_core::sde::SdeSpec>(config, stage),
        other => Err(TaskError::Input(format!(
            "unknown command `{other}` for a sweep task; known: {}",
            COMMANDS.join(", ")
        ))
        .into()),
    }
}

/// Parses the spec and checks it; at [`Stage::Run`] also runs it and
/// serialises the result ([`Value::Null`] at [`Stage::Check`]).
fn call<S: TaskSpec>(config: &Value, stage: Stage) -> Result<Value, Located> {
    let spec: S = parse_located(config)?;
    if stage == Stage::Check {
        return spec.check().map(|()| Value::Null).map_err(Located::from);
    }
    let result = spec.run()?;
    let pass = S::passed(&result);
    let mut value = serde_json::to_value(result)
        .map_err(|e| TaskError::Failed(format!("result not representable as JSON: {e}")))?;
    // The verdict the command line gives by its exit status, as the result's
    // `pass` (tryout 9 H2: a sweep of failing validations said "0 failed").
    if let Value::Object(m) = &mut value {
        m.insert(PASS.into(), Value::Bool(pass));
    }
    Ok(value)
}

/// The key of a task's result that says whether every check of the run
/// passed (`true`) or one failed (`false`: the command line's exit status 1);
/// [`bayesrg_sweep::merge()`] marks such a task `check_failed`.
pub const PASS: &str = bayesrg_sweep::merge::PASS;

/// Reads a spec from JSON; a failure names the field where it happened (its
/// path, `grid[0].lo`) and what was wrong.
///
/// # Errors
/// [`TaskError::Input`] with the message.
pub fn parse<S: DeserializeOwned>(config: &Value) -> Result<S, TaskError> {
    parse_located(config).map_err(|l| l.error)
}

/// [`parse`], with the field of the failure.
fn parse_located<S: DeserializeOwned>(config: &Value) -> Result<S, Located> {
    serde_path_to_error::deserialize(config).map_err(|e| {
        let mut path = e.path().to_string();
        // A model's own field: serde names only the model (typetag buffers
        // it), so the key is found in the value there.
        if let Some(key) = value_at(config, e.path()).and_then(bayesrg_core::registry::refused_key)
        {
            path = if path == "." || path.is_empty() {
                key
            } else {
                format!("{path}.{key}")
            };
        }
        let inner = e.into_inner();
        let whole = path == "." || path.is_empty();
        Located {
            error: TaskError::Input(if whole {
                format!("invalid configuration: {inner}")
            } else {
                format!("invalid configuration at `{path}`: {inner}")
            }),
            field: (!whole).then(|| bayesrg_core::error::Field::from(path.as_str())),
        }
    })
}

/// The part of `config` at `path` (map keys and list indices), if there is one.
fn value_at<'a>(config: &'a Value, path: &serde_path_to_error::Path) -> Option<&'a Value> {
    use serde_path_to_error::Segment;
    path.iter().try_fold(config, |v, seg| match seg {
        Segment::Seq { index } => v.get(*index),
        Segment::Map { key } => v.get(key.as_str()),
        _ => None,
    })
}

/// [`run`] as a [`bayesrg_sweep::TaskRunner`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Runner;

impl bayesrg_sweep::TaskRunner for Runner {
    fn run(&self, command: &str, config: &Value) -> Result<Value, String> {
        run(command, config)
    }
}

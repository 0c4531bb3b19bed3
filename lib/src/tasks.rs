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
    match command {
        "bayes" => call(config, |spec| {
            bayesrg_core::bayes::experiment::run(spec, &mut Silent)
        }),
        "fisher" => call(config, |spec| {
            bayesrg_core::validate::run(spec, &mut Silent)
        }),
        "flow" => call(config, |spec| {
            bayesrg_core::bayes::flow::run(spec, &mut Silent)
        }),
        "prune" => call(
            config,
            |spec: &bayesrg_autoencoder::section4::Section4Spec| {
                bayesrg_autoencoder::section4::run(spec, &mut Silent).map(|r| r.result)
            },
        ),
        "sde" => call(config, |spec| bayesrg_core::sde::run(spec, &mut Silent)),
        other => Err(TaskError::Input(format!(
            "unknown command `{other}` for a sweep task; known: {}",
            COMMANDS.join(", ")
        ))),
    }
}

/// Parses the spec, runs, and serialises the result.
fn call<S, R>(
    config: &Value,
    f: impl FnOnce(&S) -> bayesrg_core::Result<R>,
) -> Result<Value, TaskError>
where
    S: DeserializeOwned,
    R: Serialize,
{
    let spec: S = parse(config)?;
    let result = f(&spec)?;
    serde_json::to_value(result)
        .map_err(|e| TaskError::Failed(format!("result not representable as JSON: {e}")))
}

/// Reads a spec from JSON; a failure names the field where it happened (its
/// path, `grid[0].lo`) and what was wrong.
///
/// # Errors
/// [`TaskError::Input`] with the message.
pub fn parse<S: DeserializeOwned>(config: &Value) -> Result<S, TaskError> {
    serde_path_to_error::deserialize(config).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        TaskError::Input(if path == "." || path.is_empty() {
            format!("invalid configuration: {inner}")
        } else {
            format!("invalid configuration at `{path}`: {inner}")
        })
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

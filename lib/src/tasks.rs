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

/// Runs `command` on `config` and returns its result as JSON.
///
/// # Errors
/// An unknown command, a configuration that does not parse or fails its
/// checks, or a computation that failed: the message a user reads.
pub fn run(command: &str, config: &Value) -> Result<Value, String> {
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
        other => Err(format!(
            "unknown command `{other}` for a sweep task; known: {}",
            COMMANDS.join(", ")
        )),
    }
}

/// Parses the spec, runs, and serialises the result.
fn call<S, R>(
    config: &Value,
    f: impl FnOnce(&S) -> bayesrg_core::Result<R>,
) -> Result<Value, String>
where
    S: DeserializeOwned,
    R: Serialize,
{
    let spec: S = S::deserialize(config).map_err(|e| format!("invalid configuration: {e}"))?;
    let result = f(&spec).map_err(|e| e.to_string())?;
    serde_json::to_value(result).map_err(|e| format!("result not representable as JSON: {e}"))
}

/// [`run`] as a [`bayesrg_sweep::TaskRunner`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Runner;

impl bayesrg_sweep::TaskRunner for Runner {
    fn run(&self, command: &str, config: &Value) -> Result<Value, String> {
        run(command, config)
    }
}

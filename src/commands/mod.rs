//! The work behind each subcommand, as library functions.
//!
//! Each subcommand `bayesrg X` is a function in `commands::X` that takes a parsed
//! config and returns a [`Summary`] (writing its files into an
//! [`OutDir`](crate::output::OutDir) when asked). The binary only parses flags
//! and prints; `bayesrg reproduce` calls the same functions.

#[macro_use]
mod runner;

pub mod bayes;
pub mod flow;
pub mod geodesic;
pub mod prune;
pub mod spectrum;

use serde::{Deserialize, Serialize};

pub mod fisher;
pub mod reproduce;
pub mod sde;
pub mod stages;

pub use bayesrg_core::check::Check;
pub use runner::{Checked, Command, Ran, execute, load, plain_error, run_file};

/// What a subcommand reports: its checks, a verdict and free-form details.
/// Written as `summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// The subcommand (`fisher`, `sde`, …).
    pub command: String,
    /// The config it ran on, if any.
    pub config: Option<String>,
    /// Every check.
    pub checks: Vec<Check>,
    /// True when every check passed.
    pub pass: bool,
    /// Command-specific details (matrices, headline numbers, file names).
    pub details: serde_json::Value,
}

impl Summary {
    /// Builds a summary; `pass` is derived from the checks.
    pub fn new(
        command: &str,
        config: Option<String>,
        checks: Vec<Check>,
        details: serde_json::Value,
    ) -> Self {
        let pass = checks.iter().all(|c| c.pass);
        Summary {
            command: command.into(),
            config,
            checks,
            pass,
            details,
        }
    }
}

/// A library error with the place of its field in the config file `origin`
/// in front (`cfg.toml:3:6: …`; the file alone when the field is not found).
pub fn at_origin(origin: Option<&str>, e: bayesrg_core::Error) -> anyhow::Error {
    match origin {
        Some(o) => crate::config::at_field(std::path::Path::new(o), e),
        None => anyhow::Error::new(e),
    }
}

/// The example config `examples/DIR/NAME` of the repository (for tests).
#[cfg(test)]
pub(crate) fn example(dir: &str, name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(dir)
        .join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_fails_both_ways() {
        assert!(!Check::at_most("x", f64::NAN, 1.0, "o").pass);
        assert!(!Check::at_least("x", f64::NAN, 1.0, "o").pass);
        let s = Summary::new(
            "t",
            None,
            vec![
                Check::at_most("a", 0.5, 1.0, "o"),
                Check::at_least("b", 0.5, 1.0, "o"),
            ],
            serde_json::Value::Null,
        );
        assert!(!s.pass);
    }
}

//! # bayesrg-cli: the `bayesrg` program
//!
//! The command line over the `bayesrg` library: reading config files
//! ([`config`]), writing result folders atomically ([`output`]), plots,
//! progress bars and the report. Each command reads a config into the
//! library's spec, calls one library runner and writes files. [`main`] is
//! the whole program, so a downstream crate can ship the command line with
//! its own linked models.
#![warn(missing_docs)]

// `print!` and `println!` in the command modules go through `print::stdout`:
// a closed pipe ends output quietly, another write error is exit 2; neither
// panics (the standard macros would). Defined before `mod cli` so that
// textual macro scoping makes every command use them.
macro_rules! print {
    ($($arg:tt)*) => { $crate::print::stdout(format_args!($($arg)*)) };
}
macro_rules! println {
    () => { $crate::print::stdout(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::print::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod cli;
pub mod commands;
pub mod config;
pub mod locate;
pub mod output;
pub mod plot;
pub mod print;
pub mod progress;
pub mod report;

pub use bayesrg::{autoencoder, core, ensure_linked, models, plugins, schemes, sweep};

use clap::Parser;
use std::process::ExitCode;

/// Waits for an interrupt's handler ([`output::settle`]), which once started
/// ends the process with status 130, however the run ends: a computation it
/// stopped (an error, or an unwind out of its Monte Carlo loop) must not end
/// the process first with another status.
struct Settle;

impl Drop for Settle {
    fn drop(&mut self) {
        output::settle();
    }
}

/// The `bayesrg` program: parses the command line, runs one command and
/// returns its exit status: 0 when every check passes, 1 when a check or a
/// computation fails, 2 on bad input or a plugin fault, 130 when interrupted.
///
/// A downstream crate that links its own models gets the whole command line
/// with them by a binary of three lines (docs/extending.md):
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     // my_models::ensure_linked();  // reference the crate so its models link
///     bayesrg_cli::main()
/// }
/// ```
pub fn main() -> ExitCode {
    // First, before any thread: a run that names a plugin continues in a
    // supervised child process (docs/plugins.md, "Faults").
    if let Some(code) = cli::plugin::supervise() {
        return code;
    }
    ensure_linked();
    let args = cli::Cli::parse();
    let settle = Settle;
    let result = cli::run(args);
    drop(settle);
    let code = match result {
        Ok(cli::Status::Pass) => ExitCode::SUCCESS,
        Ok(cli::Status::Fail) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            // A computation that failed (not bad input) is exit 1.
            let failed = e
                .chain()
                .find_map(|c| c.downcast_ref::<bayesrg::core::Error>())
                .is_some_and(|c| !c.is_bad_input());
            ExitCode::from(if failed { 1 } else { 2 })
        }
    };
    plugins::supervisor::finished();
    code
}

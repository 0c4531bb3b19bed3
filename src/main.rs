//! The `bayesrg` command-line program: a thin layer over the library crates.
//!
//! Exit status: 0 when every check passes, 1 when a check fails, 2 on bad input
//! (a malformed or invalid config, an unknown type, a bad flag) or a fault of a
//! run-time plugin.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // First, before any thread: a run that names a plugin continues in a
    // supervised child process (docs/plugins.md, "Faults").
    if let Some(code) = cli::plugin::supervise() {
        return code;
    }
    bayesrg::ensure_linked();
    let args = cli::Cli::parse();
    let code = match cli::run(args) {
        Ok(cli::Status::Pass) => ExitCode::SUCCESS,
        Ok(cli::Status::Fail) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    };
    bayesrg::plugins::supervisor::finished();
    code
}

//! The `bayesrg` command-line program: a thin layer over the library crates.
//!
//! Exit status: 0 when every check passes, 1 when a check fails or a
//! computation fails (a solver that does not converge), 2 on bad input (a
//! malformed or invalid config, an unknown type, a bad flag, an `--out` that
//! bayesrg may not write) or a fault of a run-time plugin (docs/plugins.md).

// `print!` and `println!` in this binary go through `bayesrg::print::stdout`:
// a closed pipe ends output quietly, another write error is exit 2; neither
// panics (the standard macros would). Defined before `mod cli` so that
// textual macro scoping makes every command use them.
macro_rules! print {
    ($($arg:tt)*) => { bayesrg::print::stdout(format_args!($($arg)*)) };
}
macro_rules! println {
    () => { bayesrg::print::stdout(format_args!("\n")) };
    ($($arg:tt)*) => {
        bayesrg::print::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

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
            // A computation that failed (not bad input) is exit 1.
            let failed = e
                .chain()
                .find_map(|c| c.downcast_ref::<bayesrg::core::Error>())
                .is_some_and(|c| !c.is_bad_input());
            ExitCode::from(if failed { 1 } else { 2 })
        }
    };
    bayesrg::plugins::supervisor::finished();
    code
}

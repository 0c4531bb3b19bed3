//! The `bayesrg` command-line program: [`bayesrg_cli::main`].
//!
//! Exit status: 0 when every check passes, 1 when a check fails or a
//! computation fails (a solver that does not converge), 2 on bad input (a
//! malformed or invalid config, an unknown type, a bad flag, an `--out` that
//! bayesrg may not write) or a fault of a run-time plugin (docs/plugins.md).

fn main() -> std::process::ExitCode {
    bayesrg_cli::main()
}

//! `bayesrg plugin …` and the command line's part in run-time plugins: which
//! plugins a run names, running it under the supervisor, and loading them.

use super::{Cli, Command, Status};
use anyhow::Result;
use bayesrg::plugins::PluginHost;
use bayesrg::plugins::supervisor::{self, Settings};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod new;

/// Arguments of `bayesrg plugin`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Write a plugin skeleton (a working exponential model with exact score,
    /// Fisher metric and KL) that builds and validates as it stands.
    New(new::NewArgs),
}

/// Runs `bayesrg plugin …`.
pub fn run(args: Args) -> Result<Status> {
    match args.action {
        Action::New(a) => new::new(a),
    }
}

/// The plugins a run names: the `--plugin` flags, then the `plugins` key of
/// every config file (`.toml`, `.json`) given on the command line, resolved
/// against that file's folder. A config that cannot be read is skipped here;
/// the command reports it when it reads the file.
fn named_plugins(flags: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = flags.to_vec();
    for arg in std::env::args_os().skip(1) {
        let s = arg.to_string_lossy();
        let value = s.split_once('=').map_or(&*s, |(_, v)| v);
        let p = Path::new(value);
        let is_config = p.extension().is_some_and(|e| e == "toml" || e == "json");
        if is_config && p.is_file() {
            out.extend(crate::config::plugin_paths(p).unwrap_or_default());
        }
    }
    out
}

/// Loads the plugins the run names (see [`named_plugins`]) into a new host
/// and installs it for config deserialisation. Reading a config never loads a
/// plugin; this is the one place the command line does.
pub fn load_named(flags: &[PathBuf]) -> Result<PluginHost> {
    let mut host = PluginHost::new();
    host.load_all(&named_plugins(flags))?;
    host.install();
    Ok(host)
}

/// In `main`, first: the child attaches to its supervisor and goes on; a run
/// that names a plugin becomes the supervising parent of a child running the
/// same command, and `Some(status)` is its end. `None`: run in this process.
pub fn supervise() -> Option<ExitCode> {
    let fail = |msg: String| {
        eprintln!("error: {msg}");
        Some(ExitCode::from(2))
    };
    match supervisor::attach_child() {
        Ok(true) => return None,
        Ok(false) => {}
        Err(e) => return fail(e),
    }
    if !supervisor::available() {
        return None;
    }
    let cli = Cli::try_parse().ok()?;
    if matches!(cli.command, Command::Plugin(_)) || named_plugins(&cli.plugins).is_empty() {
        return None;
    }
    let settings = match Settings::from_flag_or_env(cli.plugin_timeout) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match supervisor::run_parent(&settings) {
        Ok(code) => Some(ExitCode::from(code.clamp(0, 255) as u8)),
        Err(e) => fail(format!("cannot start the supervised plugin process: {e}")),
    }
}

//! `bayesrg plugin …` and the command line's part in run-time plugins: which
//! plugins a run names, running it under the supervisor, and loading them.

use super::{Cli, Command, Status};
use anyhow::{Context, Result, bail};
use bayesrg::plugins::PluginHost;
use bayesrg::plugins::supervisor::{self, Settings};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    New(NewArgs),
}

/// The language of a plugin skeleton.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Lang {
    /// A Rust `cdylib` crate using bayesrg-plugin-api.
    Rust,
    /// One C file and the header bayesrg_plugin.h.
    C,
}

#[derive(Debug, clap::Args)]
struct NewArgs {
    /// The plugin's name: the namespace of its model tags (`NAME/exponential`)
    /// and the name of the folder written.
    name: String,
    /// The language.
    #[arg(long, value_enum, default_value = "rust")]
    lang: Lang,
    /// The folder to write (default: ./NAME); it must not exist or be empty.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// (Rust) The path of bayesrg's `plugins/api` crate for the dependency
    /// line (default: the source tree this bayesrg was built from).
    #[arg(long, value_name = "PATH")]
    api: Option<PathBuf>,
}

/// Runs `bayesrg plugin …`.
pub fn run(args: Args) -> Result<Status> {
    match args.action {
        Action::New(a) => new(a),
    }
}

/// The library file name of plugin `name` on this platform.
fn lib_file(name: &str, lang: Lang) -> String {
    let stem = match lang {
        Lang::Rust => name.replace('-', "_"),
        Lang::C => name.to_string(),
    };
    format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        bail!(
            "plugin name `{name}`: use 1 to 40 lower-case letters, digits, `-` or `_`, \
             starting with a letter (it is the namespace of the model tags and a crate name)"
        );
    }
    Ok(())
}

fn new(a: NewArgs) -> Result<Status> {
    check_name(&a.name)?;
    let dir = a.dir.clone().unwrap_or_else(|| PathBuf::from(&a.name));
    if dir.exists() && std::fs::read_dir(&dir).map_or(true, |mut d| d.next().is_some()) {
        bail!(
            "`{}` already exists and is not an empty folder; choose another with --dir",
            dir.display()
        );
    }
    let lib = lib_file(&a.name, a.lang);
    let toml_str = |s: &str| toml::Value::String(s.to_string()).to_string();
    let (files, build, lib_path): (Vec<(String, String)>, String, String) = match a.lang {
        Lang::Rust => {
            let api = match &a.api {
                Some(p) => p.clone(),
                None => Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/api"),
            };
            let api = std::path::absolute(&api)
                .with_context(|| format!("the API path `{}`", api.display()))?;
            if !api.join("Cargo.toml").is_file() {
                bail!(
                    "no bayesrg-plugin-api crate at `{}`; pass --api PATH/TO/bayesrg/plugins/api",
                    api.display()
                );
            }
            let build = "cargo build --release".to_string();
            let fill = |t: &str| {
                t.replace("{{NAME}}", &a.name)
                    .replace("{{API}}", &toml_str(&api.to_string_lossy()))
                    .replace("{{BUILD}}", &build)
            };
            (
                vec![
                    (
                        "Cargo.toml".into(),
                        fill(include_str!("templates/Cargo.toml.in")),
                    ),
                    (
                        "src/lib.rs".into(),
                        fill(include_str!("templates/lib.rs.in")),
                    ),
                    (".gitignore".into(), "/target\n".into()),
                ],
                build,
                format!("target/release/{lib}"),
            )
        }
        Lang::C => {
            let build = format!("cc -O2 -shared -fPIC -o {lib} {}.c -lm", a.name);
            let fill = |t: &str| t.replace("{{NAME}}", &a.name).replace("{{BUILD}}", &build);
            (
                vec![
                    (
                        "bayesrg_plugin.h".into(),
                        include_str!("../../../plugins/api/include/bayesrg_plugin.h").into(),
                    ),
                    (
                        format!("{}.c", a.name),
                        fill(include_str!("templates/plugin.c.in")),
                    ),
                ],
                build,
                lib.clone(),
            )
        }
    };
    let example = include_str!("templates/example.toml.in")
        .replace("{{NAME}}", &a.name)
        .replace("{{BUILD}}", &build)
        .replace("{{LIB}}", &toml_str(&lib_path));
    for (name, text) in files
        .iter()
        .chain([("example.toml".to_string(), example)].iter())
    {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create folder `{}`", parent.display()))?;
        }
        std::fs::write(&p, text).with_context(|| format!("cannot write `{}`", p.display()))?;
    }
    println!(
        "wrote a {} plugin `{}` (model `{}/exponential`) in {}",
        match a.lang {
            Lang::Rust => "Rust",
            Lang::C => "C",
        },
        a.name,
        a.name,
        dir.display()
    );
    println!("build and validate it with:");
    println!(
        "  cd {} && {build} && bayesrg fisher example.toml",
        dir.display()
    );
    Ok(Status::Pass)
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
            out.extend(bayesrg::config::plugin_paths(p).unwrap_or_default());
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

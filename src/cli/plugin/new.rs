//! `bayesrg plugin new NAME --lang rust|c`: a plugin skeleton (the exponential
//! family with its exact score, Fisher metric and KL) that builds and validates
//! as it stands, from the templates in `templates/`.

use super::Status;
use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use std::path::{Path, PathBuf};

/// The language of a plugin skeleton.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Lang {
    /// A Rust `cdylib` crate using bayesrg-plugin-api.
    Rust,
    /// One C file and the header bayesrg_plugin.h.
    C,
}

#[derive(Debug, clap::Args)]
pub struct NewArgs {
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

/// Writes the skeleton and prints the line that builds and validates it.
pub(super) fn new(a: NewArgs) -> Result<Status> {
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

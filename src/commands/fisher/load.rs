//! Reading a `bayesrg fisher` config: syntax, the model type against the
//! registry, and where the fields that errors point at stand in the file.

use super::Config;
use crate::config;
use anyhow::{Result, anyhow};
use bayesrg_core::registry;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A parsed config and where its fields are, for error messages.
#[derive(Debug)]
pub struct Loaded {
    /// The config.
    pub config: Config,
    /// The file name.
    pub origin: String,
    pub(super) locs: Locations,
    /// The TOML text (to locate fields named by library errors).
    pub(super) text: Option<String>,
    /// The folder relative paths in the config are taken from.
    pub(super) base: PathBuf,
}

/// `:line:col` of the fields that semantic errors point at (empty when unknown).
#[derive(Debug, Default)]
pub(super) struct Locations {
    pub(super) theta: String,
    pub(super) samples: String,
    pub(super) claimed_fisher: String,
}

#[derive(Deserialize)]
struct Probe {
    theta: Option<toml::Spanned<toml::Value>>,
    samples: Option<toml::Spanned<toml::Value>>,
    claimed_fisher: Option<toml::Spanned<toml::Value>>,
    model: Option<toml::Spanned<ModelProbe>>,
}

#[derive(Deserialize)]
struct ModelProbe {
    #[serde(rename = "type")]
    ty: Option<toml::Spanned<toml::Value>>,
}

fn known_types() -> String {
    registry::model_tags().join(", ")
}

/// Parses config text (TOML). `origin` names the file in messages.
pub fn parse(text: &str, origin: &str) -> Result<Loaded> {
    // 1. Syntax, with line and column.
    config::parse_toml::<toml::Table>(text, origin)?;
    // 2. The model type, against the registry's list (a probe that ignores
    //    everything else; if it does not fit, step 3 reports why).
    let probe: Option<Probe> = toml::from_str(text).ok();
    let at = |span: std::ops::Range<usize>| {
        let (l, c) = config::line_col(text, span.start);
        format!(":{l}:{c}")
    };
    let mut locs = Locations::default();
    if let Some(p) = &probe {
        if let Some(m) = &p.model {
            match &m.get_ref().ty {
                None => {
                    return Err(anyhow!(
                        "{origin}{}: [model] has no `type`; known model types: {}",
                        at(m.span()),
                        known_types()
                    ));
                }
                Some(t) => {
                    // Tags with `/` name run-time plugin models, checked
                    // (with their own message) when the config is parsed.
                    if let toml::Value::String(s) = t.get_ref()
                        && !s.contains('/')
                        && !registry::model_tags().contains(&s.as_str())
                    {
                        return Err(anyhow!(
                            "{origin}{}: unknown model type `{s}`; known model types: {}",
                            at(t.span()),
                            known_types()
                        ));
                    }
                }
            }
        }
        let loc = |v: &Option<toml::Spanned<toml::Value>>| {
            v.as_ref().map(|s| at(s.span())).unwrap_or_default()
        };
        locs = Locations {
            theta: loc(&p.theta),
            samples: loc(&p.samples),
            claimed_fisher: loc(&p.claimed_fisher),
        };
    }
    // 3. Fields and types.
    let config: Config = config::parse_toml(text, origin)?;
    if config.data.is_some() && config.data_file.is_some() {
        let at = crate::locate::locate(text, &"data_file".into())
            .map(|(l, c)| format!(":{l}:{c}"))
            .unwrap_or_default();
        return Err(anyhow!(
            "{origin}{at}: give the observations either as `data` or as `data_file`, not both"
        ));
    }
    Ok(Loaded {
        config,
        origin: origin.to_string(),
        locs,
        text: Some(text.to_string()),
        base: PathBuf::from("."),
    })
}

/// Reads a config file: TOML, or JSON when the name ends in `.json`.
pub fn load(path: &Path) -> Result<Loaded> {
    let origin = path.display().to_string();
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    if path.extension().is_some_and(|e| e == "json") {
        return Ok(Loaded {
            config: config::load(path)?,
            origin,
            locs: Locations::default(),
            text: None,
            base,
        });
    }
    let mut loaded = parse(&config::read_text(path)?, &origin)?;
    loaded.base = base;
    Ok(loaded)
}

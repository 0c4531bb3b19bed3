//! Plugins in config documents (parsed TOML or JSON, as a `serde_json::Value`).
//!
//! A config may name plugins with a top-level `plugins = ["PATH", …]` key
//! (relative to the config file's folder) and plugin models with
//! `type = "plugin-name/model"` and the parameters as sibling keys. Reading a
//! config never loads anything: [`plugin_paths`] returns the paths, the caller
//! loads them with [`crate::PluginHost`], and [`prepare`] removes the key and
//! rewrites the model tables before the document is deserialised.

use crate::PLUGIN_TYPE;
use serde_json::Value;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A `plugins` key that is not a list of paths.
#[derive(Debug, Error, PartialEq)]
#[error("{origin}: `plugins` must be a list of paths, like plugins = [\"lib.so\"]")]
pub struct BadPluginsKey {
    /// The document's name (a file path).
    pub origin: String,
}

/// The top-level `plugins` key of a document, each path resolved against
/// `base` (the config file's folder); empty when there is none.
///
/// # Errors
/// [`BadPluginsKey`] when the key is not a list of strings.
pub fn plugin_paths(doc: &Value, base: &Path, origin: &str) -> Result<Vec<PathBuf>, BadPluginsKey> {
    let Some(v) = doc.get("plugins") else {
        return Ok(Vec::new());
    };
    let bad = || BadPluginsKey {
        origin: origin.to_string(),
    };
    v.as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|p| {
            let p = Path::new(p.as_str().ok_or_else(bad)?);
            Ok(if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            })
        })
        .collect()
}

/// Whether a document needs [`prepare`]: it has a top-level `plugins` key or
/// names a plugin model type (a `type` containing `/`).
pub fn needs_preparation(doc: &Value) -> bool {
    fn names_plugin(v: &Value) -> bool {
        match v {
            Value::Object(m) => {
                m.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.contains('/'))
                    || m.values().any(names_plugin)
            }
            Value::Array(a) => a.iter().any(names_plugin),
            _ => false,
        }
    }
    doc.get("plugins").is_some() || names_plugin(doc)
}

/// Prepares a document for deserialisation: checks and removes the top-level
/// `plugins` key (config structs never declare it, so `deny_unknown_fields`
/// stays usable) and rewrites the plugin model tables ([`rewrite_tags`]).
/// Loads nothing.
///
/// # Errors
/// [`BadPluginsKey`] when the key is not a list of strings.
pub fn prepare(doc: &mut Value, origin: &str) -> Result<(), BadPluginsKey> {
    plugin_paths(doc, Path::new(""), origin)?;
    if let Some(m) = doc.as_object_mut() {
        m.remove("plugins");
    }
    rewrite_tags(doc);
    Ok(())
}

/// Rewrites `{type = "p/m", k = v, …}` into
/// `{type = "plugin", tag = "p/m", params = {k = v, …}}`, everywhere in `doc`.
pub fn rewrite_tags(doc: &mut Value) {
    match doc {
        Value::Object(m) => {
            let tag = m
                .get("type")
                .and_then(Value::as_str)
                .filter(|t| t.contains('/'))
                .map(str::to_owned);
            if let Some(tag) = tag {
                m.remove("type");
                let params = std::mem::take(m);
                m.insert("type".into(), PLUGIN_TYPE.into());
                m.insert("tag".into(), tag.into());
                m.insert("params".into(), Value::Object(params));
            } else {
                m.values_mut().for_each(rewrite_tags);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(rewrite_tags),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rewrite_moves_parameters_under_params() {
        let mut d =
            json!({"theta": [1.0], "model": {"type": "p/m", "k": 2}, "other": {"type": "normal"}});
        assert!(needs_preparation(&d));
        rewrite_tags(&mut d);
        assert_eq!(
            d,
            json!({"theta": [1.0], "model": {"type": "plugin", "tag": "p/m", "params": {"k": 2}},
                   "other": {"type": "normal"}})
        );
        assert!(!needs_preparation(&json!({"model": {"type": "normal"}})));
    }

    #[test]
    fn plugin_paths_are_relative_to_the_config_folder_and_not_loaded() {
        let mut d = json!({"plugins": ["a.so", "/abs/b.so"], "x": 1});
        let p = plugin_paths(&d, Path::new("/cfg/dir"), "c.toml").unwrap();
        assert_eq!(
            p,
            vec![PathBuf::from("/cfg/dir/a.so"), PathBuf::from("/abs/b.so")]
        );
        // Neither file exists: preparing the document loads nothing.
        prepare(&mut d, "c.toml").unwrap();
        assert_eq!(d, json!({"x": 1}));
        for bad in [json!({"plugins": "a.so"}), json!({"plugins": [1]})] {
            let e = plugin_paths(&bad, Path::new("."), "c.toml").unwrap_err();
            assert_eq!(
                e.to_string(),
                "c.toml: `plugins` must be a list of paths, like plugins = [\"lib.so\"]"
            );
        }
        assert!(
            plugin_paths(&json!({"x": 1}), Path::new("."), "c")
                .unwrap()
                .is_empty()
        );
    }
}

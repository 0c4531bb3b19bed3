//! Reading configuration files (TOML or JSON) with errors that name the file,
//! the line and the column.

use anyhow::{Context, Result, anyhow, bail};
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// The largest config file bayesrg reads: configs are written by hand, and a
/// larger file is almost surely a data file named by mistake (parsing one of
/// 50 MB took half a minute and over a GB before its error could be given).
/// Data sets go into their own files (CSV), which configs name.
pub const MAX_CONFIG_BYTES: u64 = 16_000_000;

/// Reads a whole config file as text, naming it in the error; refuses files
/// over [`MAX_CONFIG_BYTES`] before reading them.
pub fn read_text(path: &Path) -> Result<String> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    if meta.is_dir() {
        bail!("`{}` is a folder, not a file", path.display());
    }
    if meta.len() > MAX_CONFIG_BYTES {
        bail!(
            "`{}` is {}; config files are read up to {} (put large data into a CSV file and name it in the config)",
            path.display(),
            bayesrg_core::budget::human_bytes(meta.len() as f64),
            bayesrg_core::budget::human_bytes(MAX_CONFIG_BYTES as f64)
        );
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
}

/// Parses TOML text into `T`. The error names `origin` (a file name) and, for
/// syntax and type errors, the line and column.
///
/// Run-time plugins: a top-level `plugins = ["PATH", …]` key is checked and
/// removed, and tables naming a plugin model (`type = "plugin-name/model"`) are
/// rewritten for [`crate::plugins::PluginModel`] (see
/// [`crate::plugins::document::prepare`]). **Nothing is loaded**: the caller
/// loads the plugins first ([`plugin_paths`] lists them; the command line does
/// this for every config file it is given) and installs its
/// [`crate::plugins::PluginHost`]. Config structs must **not** declare a
/// `plugins` field, and may use `deny_unknown_fields`. Type errors in a file
/// that uses plugins name the file but not the line.
pub fn parse_toml<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    let table: toml::Table = parse_toml_plain(text, origin)?;
    let mut doc = serde_json::to_value(table)?;
    if crate::plugins::document::needs_preparation(&doc) {
        crate::plugins::document::prepare(&mut doc, origin)?;
        return serde_json::from_value(doc).map_err(|e| anyhow!("{origin}: {e}"));
    }
    parse_toml_plain(text, origin)
}

/// The plugin libraries that the config file `path` names in its top-level
/// `plugins` key, resolved against the file's folder. Reads the file and
/// loads nothing (see [`crate::plugins::PluginHost::load`]).
///
/// # Errors
/// The file cannot be read or parsed (file:line:col), or `plugins` is not a
/// list of paths.
pub fn plugin_paths(path: &Path) -> Result<Vec<PathBuf>> {
    let text = read_text(path)?;
    if !text.contains("plugins") {
        return Ok(Vec::new());
    }
    let origin = path.display().to_string();
    let doc: serde_json::Value = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text)
            .map_err(|e| anyhow!("{origin}:{}:{}: {e}", e.line(), e.column()))?
    } else {
        serde_json::to_value(parse_toml_plain::<toml::Table>(&text, &origin)?)?
    };
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(crate::plugins::document::plugin_paths(&doc, base, &origin)?)
}

/// Parses TOML text into `T` with no plugin handling (see [`parse_toml`]).
pub fn parse_toml_plain<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        if let Some((line, col, msg)) = e
            .span()
            .and_then(|s| crate::locate::explain_integer(text, s, e.message().trim_end()))
        {
            return anyhow!("{origin}:{line}:{col}: {msg}");
        }
        let loc = e
            .span()
            .map(|s| {
                let (line, col) = line_col(text, s.start);
                format!(":{line}:{col}")
            })
            .unwrap_or_default();
        // A config read by a program that forgot to link the built-in models
        // says what to call, not only serde's "there are no variants".
        let msg = bayesrg_core::registry::explain_unlinked(e.message().trim_end());
        anyhow!("{origin}{loc}: {msg}")
    })
}

/// Reads and parses a TOML (or, by extension `.json`, JSON) config file (see
/// [`parse_toml`] for plugins).
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = read_text(path)?;
    let origin = path.display().to_string();
    if path.extension().is_some_and(|e| e == "json") {
        let json_err = |e: serde_json::Error| {
            // serde_json's text ends with the place, which the prefix gives.
            let full = e.to_string();
            let tail = format!(" at line {} column {}", e.line(), e.column());
            let said = full.strip_suffix(tail.as_str()).unwrap_or(&full);
            let msg = crate::locate::explain_integer_json(&text, said)
                .unwrap_or_else(|| bayesrg_core::registry::explain_unlinked(said));
            anyhow!("{origin}:{}:{}: {msg}", e.line(), e.column())
        };
        let mut doc: serde_json::Value = serde_json::from_str(&text).map_err(json_err)?;
        if crate::plugins::document::needs_preparation(&doc) {
            crate::plugins::document::prepare(&mut doc, &origin)?;
            return serde_json::from_value(doc).map_err(|e| anyhow!("{origin}: {e}"));
        }
        serde_json::from_str(&text).map_err(json_err)
    } else {
        parse_toml(&text, &origin)
    }
}

/// A config that checks its own values: every value is checked when the
/// config is read, before any work (issue 11 §2, §6), and what the run will
/// ask of the machine is estimated from it ([`bayesrg_core::budget`], §3).
///
/// An error names the field by its serde path (`y0[1]`, `y_grid.hi`), so
/// [`load_valid`] can give the line and column where the user wrote it. This
/// is the one place a config's values are checked; the computation that
/// follows may assume them.
pub trait Validate {
    /// Checks every value; a typed error naming the field (bad input, exit 2).
    ///
    /// # Errors
    /// [`bayesrg_core::Error::Domain`], [`NotFinite`](bayesrg_core::Error::NotFinite),
    /// [`Dimension`](bayesrg_core::Error::Dimension) or
    /// [`TooLarge`](bayesrg_core::Error::TooLarge) for the first value found wrong.
    fn validate(&self) -> bayesrg_core::Result<()>;
}

/// [`load`]s a config and [`Validate::validate`]s it; a bad value's error
/// names `file:line:col` of the value when the file is TOML (the file only,
/// for JSON or a value the file does not hold).
pub fn load_valid<T: DeserializeOwned + Validate>(path: &Path) -> Result<T> {
    load_checked(path, T::validate)
}

/// [`load`]s a config and checks it with `check`; a bad value's error names
/// `file:line:col` of the value as [`load_valid`] does.
pub fn load_checked<T: DeserializeOwned>(
    path: &Path,
    check: impl FnOnce(&T) -> bayesrg_core::Result<()>,
) -> Result<T> {
    let cfg: T = load(path)?;
    check(&cfg).map_err(|e| at_field(path, e))?;
    Ok(cfg)
}

/// `e` with the place of its field in the config file `path` in front:
/// ``cfg.toml:3:6: `y0[0]` is NaN; it must be finite``. The core error stays in
/// the chain (the command line tells bad input from failed work by it).
///
/// A need that is a product of settings ([`bayesrg_core::Error::TooLarge`]
/// with `factors`) says after it where each factor is written, or that the
/// file leaves it at its default.
pub fn at_field(path: &Path, e: bayesrg_core::Error) -> anyhow::Error {
    let is_toml = path.extension().is_none_or(|x| x != "json");
    let text = if is_toml { read_text(path).ok() } else { None };
    let loc = e
        .field()
        .and_then(|f| crate::locate::locate(text.as_deref()?, &f))
        .map(|(l, c)| format!(":{l}:{c}"))
        .unwrap_or_default();
    let e = match (e, &text) {
        (
            bayesrg_core::Error::TooLarge {
                field,
                needs,
                limit,
                factors,
            },
            Some(text),
        ) if !factors.is_empty() => {
            let places: Vec<String> = factors
                .iter()
                .map(|f| match crate::locate::locate_written(text, f) {
                    Some((l, c)) => format!("`{f}` is at {l}:{c}"),
                    None => format!("`{f}` is not in the file (its default)"),
                })
                .collect();
            bayesrg_core::Error::TooLarge {
                field,
                needs,
                limit: format!("{limit}; {}", places.join(", ")),
                factors,
            }
        }
        (e, _) => e,
    };
    let err = anyhow::Error::new(e);
    err.context(format!("{}{loc}", path.display()))
}

/// 1-based line and column of byte offset `pos` in `text`.
pub fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let before = &text[..pos.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let t = "a = 1\nb = [\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, 8), (2, 3));
    }

    #[test]
    fn huge_files_are_refused_before_reading() {
        let p = std::env::temp_dir().join(format!("brg-huge-{}.toml", std::process::id()));
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(MAX_CONFIG_BYTES + 1).unwrap(); // sparse: nothing to read
        let e = read_text(&p).unwrap_err().to_string();
        assert!(e.contains("16.0 MB") && e.contains("CSV"), "{e}");
        std::fs::remove_file(&p).unwrap();
        assert!(read_text(&std::env::temp_dir()).is_err());
    }

    #[test]
    fn a_bad_value_is_located_in_the_file() {
        // Validate::validate names a field path; at_field finds the value in
        // the TOML text the user wrote (line 2, column 12: the NaN).
        let p = std::env::temp_dir().join(format!("brg-at-field-{}.toml", std::process::id()));
        std::fs::write(&p, "paths = 3\ny0 = [0.0, nan]\n").unwrap();
        let e = bayesrg_core::error::require::all_finite("y0", &[0.0, f64::NAN]).unwrap_err();
        let e = at_field(&p, e);
        let msg = format!("{e:#}");
        assert!(
            msg.ends_with(".toml:2:12: `y0[1]` is NaN; it must be finite"),
            "{msg}"
        );
        // The core error stays in the chain: bad input, exit 2.
        assert!(e.chain().any(|c| {
            c.downcast_ref::<bayesrg_core::Error>()
                .is_some_and(bayesrg_core::Error::is_bad_input)
        }));
        // A field the file does not hold: the file alone.
        let e = at_field(
            &p,
            bayesrg_core::error::require::positive("dt", -1.0).unwrap_err(),
        );
        assert!(
            format!("{e:#}").contains(".toml: `dt` = -1 must be > 0"),
            "{e:#}"
        );
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn toml_error_names_line() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct C {
            a: f64,
        }
        let e = parse_toml::<C>("a = 1\na = [", "x.toml").unwrap_err();
        assert!(e.to_string().starts_with("x.toml:2:"), "{e}");
    }
}

//! Reading configuration files (TOML or JSON) with errors that name the file,
//! the line and the column.

use anyhow::{Context, Result, anyhow};
use serde::de::DeserializeOwned;
use std::path::Path;

/// Reads a whole file as text, naming it in the error.
pub fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
}

/// Parses TOML text into `T`. The error names `origin` (a file name) and, for
/// syntax and type errors, the line and column.
pub fn parse_toml<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        let loc = e
            .span()
            .map(|s| {
                let (line, col) = line_col(text, s.start);
                format!(":{line}:{col}")
            })
            .unwrap_or_default();
        anyhow!("{origin}{loc}: {}", e.message().trim_end())
    })
}

/// Reads and parses a TOML (or, by extension `.json`, JSON) config file.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = read_text(path)?;
    let origin = path.display().to_string();
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text)
            .map_err(|e| anyhow!("{origin}:{}:{}: {e}", e.line(), e.column()))
    } else {
        parse_toml(&text, &origin)
    }
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

//! Canonical JSON text: compact, with table keys sorted, so that equal
//! configurations give equal text (and so equal task ids and seeds) whatever
//! order their keys were written in.

use bayesrg_core::rng::Seed;
use serde_json::Value;

/// A 64-bit digest of `text`, as 16 hexadecimal digits: [`Seed::child`] of
/// the text under the default seed (FNV-1a, then SplitMix64). What names a
/// task (its id) and what seals a task file against damage and hand edits
/// (`crate::store`); not a cryptographic hash.
pub fn digest(text: &str) -> String {
    format!("{:016x}", Seed::DEFAULT.child(text).value())
}

/// The canonical text of `v`.
pub fn canonical(v: &Value) -> String {
    let mut s = String::new();
    write(v, &mut s);
    s
}

fn write(v: &Value, s: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            s.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(&Value::String(k.clone()).to_string());
                s.push(':');
                write(&map[k], s);
            }
            s.push('}');
        }
        Value::Array(items) => {
            s.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                write(x, s);
            }
            s.push(']');
        }
        other => s.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_does_not_matter() {
        let a: Value = serde_json::from_str(r#"{"b": [1, {"y": 2, "x": 1.5}], "a": "s"}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a": "s", "b": [1, {"x": 1.5, "y": 2}]}"#).unwrap();
        assert_eq!(canonical(&a), canonical(&b));
        assert_eq!(canonical(&a), r#"{"a":"s","b":[1,{"x":1.5,"y":2}]}"#);
        let c: Value = serde_json::from_str(r#"{"a": "s", "b": [{"x": 1.5, "y": 2}, 1]}"#).unwrap();
        assert_ne!(canonical(&a), canonical(&c), "array order matters");
    }
}

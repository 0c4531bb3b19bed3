//! Where a value sits in a config file: a library error names a field path
//! (`prior[1].sd`, [`bayesrg_core::error::Field`]); this module finds the line
//! and column of that value in the TOML text the user wrote.

use bayesrg_core::error::{Field, Segment};
use toml::de::{DeTable, DeValue};

/// The 1-based (line, column) of the value at `field` in the TOML `text`, or
/// of the deepest enclosing value that exists (a missing key is reported at
/// its table). `None` when the text does not parse or the path leaves it at
/// once.
pub fn locate(text: &str, field: &Field) -> Option<(usize, usize)> {
    let root = DeTable::parse(text).ok()?;
    let mut span = None;
    let mut table: Option<&DeTable> = Some(root.get_ref());
    let mut value: Option<&DeValue> = None;
    for seg in field.segments() {
        match seg {
            Segment::Key(k) => {
                let t = match (table, value) {
                    (Some(t), _) => t,
                    (None, Some(DeValue::Table(t))) => t,
                    _ => break,
                };
                let Some((_, v)) = t.iter().find(|(key, _)| key.get_ref().as_ref() == k) else {
                    break;
                };
                span = Some(v.span());
                value = Some(v.get_ref());
                table = None;
            }
            Segment::Index(i) => {
                let Some(DeValue::Array(a)) = value else {
                    break;
                };
                let Some(v) = a.get(*i) else { break };
                span = Some(v.span());
                value = Some(v.get_ref());
                table = None;
            }
        }
    }
    span.map(|s| crate::config::line_col(text, s.start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_values() {
        let text = "seed = 1\ntau = [0.1, -2.0]\n\n[[prior]]\ndist = \"normal\"\nsd = 1\n\n[[prior]]\nsd = -3\n[model]\ntype = \"normal\"\n";
        assert_eq!(locate(text, &Field::from("tau[1]")), Some((2, 13)));
        assert_eq!(locate(text, &Field::from("prior[1].sd")), Some((9, 6)));
        assert_eq!(locate(text, &Field::from("model.type")), Some((11, 8)));
        // A missing key is reported at the deepest value that exists.
        assert_eq!(locate(text, &Field::from("tau[7]")), Some((2, 7)));
        assert_eq!(locate(text, &Field::from("nothing")), None);
    }
}

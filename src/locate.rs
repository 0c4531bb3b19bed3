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
    walk(text, field).map(|(at, _)| at)
}

/// The 1-based (line, column) of the value at `field` in the TOML `text`
/// when the text writes that value itself (not only a table around it):
/// `None` for a setting left at its default.
pub fn locate_written(text: &str, field: &Field) -> Option<(usize, usize)> {
    walk(text, field).and_then(|(at, whole)| whole.then_some(at))
}

/// [`locate`]'s walk: the place found, and whether every segment of `field`
/// was found.
fn walk(text: &str, field: &Field) -> Option<((usize, usize), bool)> {
    let root = DeTable::parse(text).ok()?;
    let mut found = 0;
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
        found += 1;
    }
    span.map(|s| {
        (
            crate::config::line_col(text, s.start),
            found == field.segments().len(),
        )
    })
}

/// One scalar value of a TOML document: its path (`grid[0].n`), its byte
/// span and the value.
struct Leaf<'a> {
    path: String,
    span: std::ops::Range<usize>,
    value: &'a DeValue<'a>,
}

/// Every scalar value of `table`, depth first, with `prefix` before its paths.
fn leaves<'a>(table: &'a DeTable<'a>, prefix: &str, out: &mut Vec<Leaf<'a>>) {
    for (k, v) in table.iter() {
        let key = k.get_ref().as_ref();
        let path = if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        };
        leaf_value(v, path, out);
    }
}

fn leaf_value<'a>(v: &'a toml::Spanned<DeValue<'a>>, path: String, out: &mut Vec<Leaf<'a>>) {
    match v.get_ref() {
        DeValue::Table(t) => leaves(t, &path, out),
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                leaf_value(item, format!("{path}[{i}]"), out);
            }
        }
        value => out.push(Leaf {
            path,
            span: v.span(),
            value,
        }),
    }
}

/// The range of integers a Rust integer type named in a serde message holds,
/// capped to what a TOML integer can hold (a 64-bit signed integer).
fn integer_range(ty: &str) -> Option<(i128, i128)> {
    let bits: u32 = ty[1..]
        .parse()
        .ok()
        .or_else(|| (&ty[1..] == "size").then_some(usize::BITS))?;
    let (lo, hi) = match &ty[..1] {
        "u" => (0, (1i128 << bits.min(127)) - 1),
        "i" => (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1),
        _ => return None,
    };
    Some((lo.max(i64::MIN as i128), hi.min(i64::MAX as i128)))
}

/// An integer bound for a message: as written up to a million, else short
/// (`9.223372036854776e18`, the guide's exponent form).
fn show_integer(v: i128) -> String {
    if v.abs() < 1_000_000 {
        v.to_string()
    } else {
        bayesrg_core::error::show(v as f64)
    }
}

/// A scalar of a config document, as the integer test sees it.
enum Scalar {
    Int(i128),
    Float(f64),
    Other,
}

impl Scalar {
    fn of_toml(v: &DeValue<'_>) -> Scalar {
        if let Some(i) = v.as_integer() {
            return i128::from_str_radix(i.as_str(), i.radix()).map_or(Scalar::Other, Scalar::Int);
        }
        v.as_float()
            .and_then(|f| f.as_str().replace('_', "").parse::<f64>().ok())
            .map_or(Scalar::Other, Scalar::Float)
    }

    fn of_json(v: &serde_json::Value) -> Scalar {
        let Some(n) = v.as_number() else {
            return Scalar::Other;
        };
        if let Some(i) = n.as_i64() {
            Scalar::Int(i.into())
        } else if let Some(u) = n.as_u64() {
            Scalar::Int(u.into())
        } else {
            n.as_f64().map_or(Scalar::Other, Scalar::Float)
        }
    }
}

/// A test of a scalar: is it the one a message names?
type ValueTest = dyn Fn(&Scalar) -> bool;

/// What a serde error about a whole number says: the bounds of the integer
/// type it expected and a test for the value it refused. `None` for a
/// message of another kind (serde's "u64 value was too large", "invalid
/// value: integer `-1`, expected usize", "invalid type: floating point
/// `1.5`, expected u64" are this kind; serde_json appends " at line L
/// column C").
fn integer_error(msg: &str) -> Option<((i128, i128), Box<ValueTest>)> {
    let expected = msg
        .rsplit_once(", expected ")
        .map(|(_, t)| t.split(" at line ").next().unwrap_or(t).trim());
    if msg.trim() == "u64 value was too large" {
        // toml's own error: its span is the value's.
        return Some((
            integer_range("u64")?,
            Box::new(|v| matches!(v, Scalar::Int(_))),
        ));
    }
    if let Some(rest) = msg.strip_prefix("invalid value: integer `") {
        let lit: i128 = rest.split('`').next()?.parse().ok()?;
        return Some((
            integer_range(expected?)?,
            Box::new(move |v| matches!(v, Scalar::Int(i) if *i == lit)),
        ));
    }
    let rest = msg.strip_prefix("invalid type: floating point `")?;
    let x: f64 = rest.split('`').next()?.parse().ok()?;
    Some((
        integer_range(expected?)?,
        Box::new(move |v| matches!(v, Scalar::Float(y) if *y == x || (y.is_nan() && x.is_nan()))),
    ))
}

/// The message of [`explain_integer`] for the value at `path`, shown as
/// `shown`, of an integer type holding `lo..=hi`; `float` is the value when
/// it was written as a floating-point number.
fn integer_message(path: &str, shown: &str, (lo, hi): (i128, i128), float: Option<f64>) -> String {
    // A whole number in range written with a point or an exponent (tryout 9
    // H9: "`seed` = 7 must be a whole number" for `seed = 7.0`).
    if let Some(x) = float.filter(|x| x.fract() == 0.0 && *x >= lo as f64 && *x <= hi as f64) {
        return format!(
            "`{path}` = {shown} must be written as an integer ({}: without a decimal point or \
             exponent)",
            x as i128
        );
    }
    format!(
        "`{path}` = {shown} must be a whole number from {} to {}",
        show_integer(lo),
        show_integer(hi)
    )
}

/// A serde error about a whole number (a count, a size, a seed) in the TOML
/// `text`, rewritten to name the key it is about and its bounds:
/// ``4:11: `model.classes` = 1e30 must be a whole number from 0 to
/// 9.223372036854776e18``. `span` is the error's span and `msg` its message
/// (see [`integer_error`] for the kinds). The value is found inside `span`
/// (a value, or the table that holds it) by its text; `None` when the
/// message is of another kind or no single value of the span matches.
pub fn explain_integer(
    text: &str,
    span: std::ops::Range<usize>,
    msg: &str,
) -> Option<(usize, usize, String)> {
    let (range, wanted) = integer_error(msg)?;
    let root = DeTable::parse(text).ok()?;
    let mut all = Vec::new();
    leaves(root.get_ref(), "", &mut all);
    let wanted = |l: &&Leaf<'_>| wanted(&Scalar::of_toml(l.value));
    // The value inside the span; else (a span that covers only a table's
    // header, as for a tagged enum's buffered content) among the keys of
    // the table that starts there.
    let inside =
        |l: &&Leaf<'_>| l.span.start >= span.start && l.span.end <= span.end.max(span.start + 1);
    let parent = |p: &str| p.rfind('.').map_or(String::new(), |i| p[..i].to_string());
    let table = all
        .iter()
        .find(|l| l.span.start >= span.start)
        .map(|l| parent(&l.path));
    let below = |l: &&Leaf<'_>| l.span.start >= span.start && Some(parent(&l.path)) == table;
    let mut found: Vec<&Leaf<'_>> = all.iter().filter(inside).filter(wanted).collect();
    if found.is_empty() {
        found = all.iter().filter(below).filter(wanted).collect();
    }
    let [leaf] = found.as_slice() else {
        return None;
    };
    let written = text.get(leaf.span.clone())?.trim().replace('_', "");
    let float = match Scalar::of_toml(leaf.value) {
        Scalar::Float(x) => Some(x),
        _ => None,
    };
    let shown = match written.parse::<f64>() {
        Ok(_) if float.is_some() => written,
        Ok(x) if written.len() > 7 => bayesrg_core::error::show(x),
        _ => written,
    };
    let (line, col) = crate::config::line_col(text, leaf.span.start);
    Some((line, col, integer_message(&leaf.path, &shown, range, float)))
}

/// [`explain_integer`] for a JSON config `text` whose serde error says `msg`:
/// the message naming the key and its bounds (the error's own line and
/// column stay the place). The value is the one scalar of the document that
/// the message names; `None` when the message is of another kind or the
/// value is not found exactly once.
pub fn explain_integer_json(text: &str, msg: &str) -> Option<String> {
    let (range, wanted) = integer_error(msg)?;
    let doc: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut found = Vec::new();
    json_leaves(&doc, String::new(), &mut |path, v| {
        let (shown, float) = match Scalar::of_json(v) {
            s @ Scalar::Int(i) if wanted(&s) => (show_integer(i), None),
            s @ Scalar::Float(x) if wanted(&s) => (format!("{x:?}"), Some(x)),
            _ => return,
        };
        found.push((path, shown, float));
    });
    let [(path, shown, float)] = found.as_slice() else {
        return None;
    };
    Some(integer_message(path, shown, range, *float))
}

/// Every scalar of a JSON document with its path (`grid[0].n`), to `out`.
fn json_leaves(
    v: &serde_json::Value,
    path: String,
    out: &mut dyn FnMut(String, &serde_json::Value),
) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                json_leaves(x, p, out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                json_leaves(x, format!("{path}[{i}]"), out);
            }
        }
        _ => out(path, v),
    }
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

    #[test]
    fn integer_errors_name_their_key_and_bounds() {
        // The spans serde gives: the value itself (toml's own "too large"),
        // or the table that holds it (a tagged enum buffers its content).
        let text = "theta = [0.5]\n[model]\ntype = \"categorical\"\nclasses = CL\n";
        let table = |t: &str| t.find("[model]").unwrap()..t.len();
        for (v, span_is_value, shown) in [
            ("18446744073709551615", true, "1.8446744073709552e19"),
            ("1e30", false, "1e30"),
            ("-1", false, "-1"),
            ("1.5", false, "1.5"),
        ] {
            let t = text.replace("CL", v);
            let at = t.find(v).unwrap();
            let (span, msg) = if span_is_value {
                (at..at + v.len(), "u64 value was too large".to_string())
            } else if v.contains(['.', 'e']) {
                (
                    table(&t),
                    format!(
                        "invalid type: floating point `{}`, expected usize",
                        v.parse::<f64>().unwrap()
                    ),
                )
            } else {
                (
                    table(&t),
                    format!("invalid value: integer `{v}`, expected usize"),
                )
            };
            let (line, col, m) = explain_integer(&t, span, &msg).unwrap();
            assert_eq!((line, col), (4, 11), "{v}");
            assert_eq!(
                m,
                format!(
                    "`model.classes` = {shown} must be a whole number from 0 to 9.223372036854776e18"
                ),
                "{v}"
            );
        }
        // u8 and i32 bounds, and a value in an array of tables.
        let t = "[[grid]]\nn = 300\n";
        let (_, _, m) =
            explain_integer(t, 0..t.len(), "invalid value: integer `300`, expected u8").unwrap();
        assert_eq!(m, "`grid[0].n` = 300 must be a whole number from 0 to 255");
        assert_eq!(integer_range("i32"), Some((-2147483648, 2147483647)));
        // Two equal candidates, or a message of another kind: no guess.
        let t = "a = -1\nb = -1\n";
        assert!(
            explain_integer(t, 0..t.len(), "invalid value: integer `-1`, expected usize").is_none()
        );
        assert!(explain_integer(t, 0..t.len(), "missing field `c`").is_none());
        // A whole number written as a float says so (tryout 9 H9).
        let t = "seed = 7.0\n";
        let (_, _, m) = explain_integer(
            t,
            0..t.len(),
            "invalid type: floating point `7`, expected u64",
        )
        .unwrap();
        assert_eq!(
            m,
            "`seed` = 7.0 must be written as an integer (7: without a decimal point or exponent)"
        );
        let said = "invalid type: floating point `100`, expected usize at line 1 column 19";
        assert_eq!(
            explain_integer_json(r#"{"grid_images": 1e2}"#, said).as_deref(),
            Some(
                "`grid_images` = 100.0 must be written as an integer (100: without a decimal \
                 point or exponent)"
            )
        );
        // JSON: the key path from the document, the bounds from the type;
        // serde_json's " at line L column C" is read past.
        let j = r#"{"grid": [{"n": 2}, {"n": 300}], "seed": -1}"#;
        let said = "invalid value: integer `300`, expected u8 at line 1 column 30";
        assert_eq!(
            explain_integer_json(j, said).as_deref(),
            Some("`grid[1].n` = 300 must be a whole number from 0 to 255")
        );
        let j = r#"{"a": {"classes": 1e30}}"#;
        let said = "invalid type: floating point `1e30`, expected usize";
        assert_eq!(
            explain_integer_json(j, said).as_deref(),
            Some("`a.classes` = 1e30 must be a whole number from 0 to 9.223372036854776e18")
        );
        let j = r#"{"a": -1, "b": -1}"#;
        let said = "invalid value: integer `-1`, expected usize";
        assert!(explain_integer_json(j, said).is_none());
        assert!(explain_integer_json(j, "missing field `c`").is_none());
    }
}

//! Drift and diffusion terms given as expressions of the state y and the time
//! τ, parsed and differentiated by [exmex](https://docs.rs/exmex).
//!
//! Variables: `y1` … `yd` (or `y[0]` … `y[d−1]`, zero-based; `y` when d = 1) for the
//! coordinates of y, `tau` (or `τ`, or `t`) for the time. Operators and
//! functions are exmex's float operators (`+ - * / ^`, `sin`, `cos`, `tan`,
//! `exp`, `ln`, `sqrt`, `abs`, `tanh`, …) and its constants `PI`/`π` and `E`.
//! Numbers: `2`, `0.5`, `.5`, and exponent notation (`1e-5`, `2.5E3`), which
//! is rewritten to the plain decimal of the same double before exmex reads it.
//! **Note:** in exmex `τ` is the constant 2π; here it is rewritten to the time
//! variable `tau`, as τ is the time of every SDE in the paper.
//!
//! Why exmex: it is maintained, compiles an expression once into a flat form
//! that evaluates without allocation, and gives exact partial derivatives
//! ([`Differentiate::partial`]), which the Milstein scheme needs for
//! ∂σᵢ/∂yᵢ (evalexpr and fasteval evaluate but do not differentiate).
//!
//! Errors are bad input ([`Error::Domain`]) naming the field of the spec and
//! the character position in the expression: a parse error, an unknown
//! variable (`y3` in a 2-dimensional problem, `x`), a character exmex does
//! not know, unbalanced parentheses.

use crate::error::{Error, Field, Result};
use crate::sde::terms::{DiagonalNoise, Drift, GeneralNoise};
use exmex::prelude::*;
use exmex::{Differentiate, FlatEx};

/// One expression of y and τ, compiled.
#[derive(Debug, Clone)]
pub struct Expression {
    text: String,
    flat: FlatEx<f64>,
    /// For each of exmex's variables (alphabetical), where its value comes
    /// from: coordinate `Some(i)` of y, or `None` for τ.
    slots: Vec<Option<usize>>,
}

/// The variable named `name` for a d-dimensional state: coordinate i of y
/// (`Some(Some(i))`), the time (`Some(None)`), or unknown (`None`).
fn variable(name: &str, d: usize) -> Option<Option<usize>> {
    if name == "tau" || name == "t" {
        return Some(None);
    }
    if name == "y" && d == 1 {
        return Some(Some(0));
    }
    let k: usize = name.strip_prefix('y')?.parse().ok()?;
    (1..=d).contains(&k).then_some(Some(k - 1))
}

/// Rewrites `y[k]` (zero-based) to `y{k+1}` and `τ` to `tau`; returns the new
/// text and, for each of its bytes, the byte offset in the original.
fn rewrite(text: &str) -> (String, Vec<usize>) {
    let mut out = String::new();
    let mut map = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if let Some(after) = rest.strip_prefix("y[") {
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            if let (false, true, Ok(k)) = (
                digits.is_empty(),
                after[digits.len()..].starts_with(']'),
                digits.parse::<usize>(),
            ) {
                let s = format!("y{}", k + 1);
                map.extend(std::iter::repeat_n(i, s.len()));
                out.push_str(&s);
                i += 3 + digits.len();
                continue;
            }
        }
        if rest.starts_with('τ') {
            map.extend(std::iter::repeat_n(i, 3));
            out.push_str("tau");
            i += 'τ'.len_utf8();
            continue;
        }
        // A number in exponent notation (`1e-5`, `2.5E3`), which exmex does
        // not read, becomes its plain decimal form: Rust prints the shortest
        // decimal that reads back to the same f64, so the value keeps its bits.
        let after_name = out
            .chars()
            .last()
            .is_some_and(|p| p.is_alphanumeric() || p == '_' || p == '.');
        if !after_name && let Some((len, v)) = exponent_number(rest) {
            let s = format!("{v}");
            map.extend(std::iter::repeat_n(i, s.len()));
            out.push_str(&s);
            i += len;
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        let n = c.len_utf8();
        map.extend(std::iter::repeat_n(i, n));
        out.push(c);
        i += n;
    }
    map.push(text.len());
    (out, map)
}

/// The length and value of a finite number in exponent notation at the start
/// of `s` (`1e-5`, `.5E+3`, `2.e2`), or `None` (no such number, or one that
/// overflows: it is then left for the parser to refuse).
fn exponent_number(s: &str) -> Option<(usize, f64)> {
    let b = s.as_bytes();
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let int = digits(0);
    let mut k = int;
    let mut frac = 0;
    if b.get(k) == Some(&b'.') {
        frac = digits(k + 1);
        k += 1 + frac;
    }
    if int + frac == 0 || !matches!(b.get(k), Some(b'e' | b'E')) {
        return None;
    }
    let sign = usize::from(matches!(b.get(k + 1), Some(b'+' | b'-')));
    let exp = digits(k + 1 + sign);
    if exp == 0 {
        return None;
    }
    let len = k + 1 + sign + exp;
    let v: f64 = s[..len].parse().ok()?;
    v.is_finite().then_some((len, v))
}

/// The 1-based character column of byte offset `byte` in `text`.
fn column(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].chars().count() + 1
}

impl Expression {
    /// Parses `text` for a state of dimension `d`; `at` names the field.
    ///
    /// # Errors
    /// [`Error::Domain`] at `at` for a parse error, an unknown variable or
    /// unbalanced parentheses, with the character position.
    pub fn parse(at: &Field, text: &str, d: usize) -> Result<Self> {
        let bad = |pos: usize, what: String| {
            Error::domain(
                at.clone(),
                format!("\"{text}\""),
                format!(
                    "is not a valid expression: {what} at character {}",
                    column(text, pos)
                ),
            )
        };
        let (src, map) = rewrite(text);
        // Parentheses and identifiers first, so that the error gives a place.
        let mut depth: Vec<usize> = Vec::new();
        let mut idents: Vec<(usize, String)> = Vec::new();
        let mut chars = src.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '(' => depth.push(i),
                ')' => {
                    if depth.pop().is_none() {
                        return Err(bad(map[i], "a `)` without its `(`".into()));
                    }
                }
                c if c.is_alphabetic() || c == '_' => {
                    let mut name = c.to_string();
                    while let Some(&(_, n)) = chars.peek() {
                        if n.is_alphanumeric() || n == '_' {
                            name.push(n);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    idents.push((i, name));
                }
                c if c.is_ascii_digit() || " .+-*/^,\t".contains(c) => {}
                other => return Err(bad(map[i], format!("the character `{other}`"))),
            }
        }
        if let Some(&i) = depth.last() {
            return Err(bad(map[i], "a `(` that is never closed".into()));
        }
        let flat = exmex::parse::<f64>(&src).map_err(|e| bad(text.len(), e.msg().to_string()))?;
        let mut slots = Vec::new();
        for name in flat.var_names() {
            match variable(name, d) {
                Some(s) => slots.push(s),
                None => {
                    let pos = idents
                        .iter()
                        .find(|(_, n)| n == name)
                        .map_or(0, |(i, _)| map[*i]);
                    let known = if d == 1 {
                        "y1 (or y[0]) and tau".to_string()
                    } else {
                        format!("y1 … y{d} (or y[0] … y[{}]) and tau", d - 1)
                    };
                    return Err(bad(
                        pos,
                        format!("unknown variable `{name}` (the variables are {known})"),
                    ));
                }
            }
        }
        Ok(Expression {
            text: text.to_string(),
            flat,
            slots,
        })
    }

    /// The text as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Its value at (y, τ); NaN where exmex cannot evaluate it.
    pub fn eval(&self, y: &[f64], t: f64) -> f64 {
        // At most a handful of variables: a small stack buffer.
        let mut v = [0.0; 16];
        if self.slots.len() <= v.len() {
            for (k, s) in self.slots.iter().enumerate() {
                v[k] = s.map_or(t, |i| y[i]);
            }
            self.flat.eval(&v[..self.slots.len()]).unwrap_or(f64::NAN)
        } else {
            let v: Vec<f64> = self.slots.iter().map(|s| s.map_or(t, |i| y[i])).collect();
            self.flat.eval(&v).unwrap_or(f64::NAN)
        }
    }

    /// ∂/∂yᵢ of the expression, exact (exmex's symbolic derivative); zero
    /// when it does not contain yᵢ.
    ///
    /// # Errors
    /// [`Error::Failed`] when exmex cannot differentiate an operator in it.
    pub fn partial(&self, i: usize) -> Result<Expression> {
        let Some(k) = self.slots.iter().position(|s| *s == Some(i)) else {
            return Ok(Expression {
                text: "0".into(),
                flat: exmex::parse::<f64>("0.0")
                    .map_err(|e| Error::failed("derivative", e.msg()))?,
                slots: vec![],
            });
        };
        let flat = self.flat.clone().partial(k).map_err(|e| {
            Error::failed(
                format!("∂/∂y{} of \"{}\"", i + 1, self.text),
                e.msg().to_string(),
            )
        })?;
        // The derivative keeps the variables of the expression, in order.
        Ok(Expression {
            text: format!("∂({})/∂y{}", self.text, i + 1),
            flat,
            slots: self.slots.clone(),
        })
    }
}

/// A list of expressions of one field (a drift, a diagonal σ, a row of σ).
#[derive(Debug, Clone)]
pub struct Expressions(pub Vec<Expression>);

impl Expressions {
    /// Parses each entry of `texts` (field `at[i]`) for dimension `d`.
    ///
    /// # Errors
    /// As [`Expression::parse`].
    pub fn parse(at: &Field, texts: &[String], d: usize) -> Result<Self> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| Expression::parse(&at.clone().at(i), t, d))
            .collect::<Result<Vec<_>>>()
            .map(Expressions)
    }
}

/// A drift bᵢ(y, τ) given by expressions.
#[derive(Debug, Clone)]
pub struct ExprDrift(pub Expressions);

impl Drift for ExprDrift {
    fn dim(&self) -> usize {
        self.0.0.len()
    }
    fn eval(&self, y: &[f64], t: f64, out: &mut [f64]) {
        for (o, e) in out.iter_mut().zip(&self.0.0) {
            *o = e.eval(y, t);
        }
    }
}

/// A diagonal noise σᵢ(y, τ) given by expressions, with the exact
/// derivatives ∂σᵢ/∂yᵢ for Milstein.
#[derive(Debug, Clone)]
pub struct ExprDiagonalNoise {
    sigma: Expressions,
    dsigma: Vec<Expression>,
}

impl ExprDiagonalNoise {
    /// σ from `sigma`, its diagonal derivatives by exmex.
    ///
    /// # Errors
    /// [`Error::Failed`] when an expression cannot be differentiated.
    pub fn new(sigma: Expressions) -> Result<Self> {
        let dsigma = sigma
            .0
            .iter()
            .enumerate()
            .map(|(i, e)| e.partial(i))
            .collect::<Result<Vec<_>>>()?;
        Ok(ExprDiagonalNoise { sigma, dsigma })
    }
}

impl DiagonalNoise for ExprDiagonalNoise {
    fn dim(&self) -> usize {
        self.sigma.0.len()
    }
    fn sigma(&self, y: &[f64], t: f64, out: &mut [f64]) {
        for (o, e) in out.iter_mut().zip(&self.sigma.0) {
            *o = e.eval(y, t);
        }
    }
    fn dsigma(&self, y: &[f64], t: f64, out: &mut [f64]) {
        for (o, e) in out.iter_mut().zip(&self.dsigma) {
            *o = e.eval(y, t);
        }
    }
}

/// A general noise σ(y, τ) (d × m) given by expressions, row by row.
#[derive(Debug, Clone)]
pub struct ExprGeneralNoise {
    rows: Vec<Expressions>,
    m: usize,
}

impl ExprGeneralNoise {
    /// σ from its rows (each of m expressions).
    pub fn new(rows: Vec<Expressions>) -> Self {
        let m = rows.first().map_or(0, |r| r.0.len());
        ExprGeneralNoise { rows, m }
    }
}

impl GeneralNoise for ExprGeneralNoise {
    fn dim(&self) -> usize {
        self.rows.len()
    }
    fn noise_dim(&self) -> usize {
        self.m
    }
    fn matrix(&self, y: &[f64], t: f64, out: &mut [f64]) {
        for (i, r) in self.rows.iter().enumerate() {
            for (j, e) in r.0.iter().enumerate() {
                out[i * self.m + j] = e.eval(y, t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str, d: usize) -> Result<Expression> {
        Expression::parse(&Field::key("drift").then("b").at(0), text, d)
    }

    #[test]
    fn variables_in_both_spellings_and_tau() {
        let e = p("-2*y[1] + y1*tau + sin(τ)", 2).unwrap();
        let (y, t) = ([0.3, -1.7], 0.9f64);
        let want = -2.0 * y[1] + y[0] * t + t.sin();
        assert!((e.eval(&y, t) - want).abs() < 1e-15);
    }

    #[test]
    fn exact_partial_derivative() {
        // d/dy1 of y1^3 * exp(y2) at (1.3, −0.4) = 3·1.3²·e^{−0.4}.
        let e = p("y1^3 * exp(y2)", 2).unwrap();
        let d = e.partial(0).unwrap();
        let want = 3.0 * 1.3f64.powi(2) * (-0.4f64).exp();
        assert!((d.eval(&[1.3, -0.4], 0.0) - want).abs() < 1e-13);
        // Without the variable, the derivative is 0.
        assert_eq!(
            p("tau", 2)
                .unwrap()
                .partial(1)
                .unwrap()
                .eval(&[1.0, 2.0], 3.0),
            0.0
        );
    }

    #[test]
    fn numbers_in_exponent_notation_keep_their_bits() {
        // Tryout 5 D1: `1e-5*y1` (as Python's repr writes 0.00001) was refused
        // with exmex's internal message. Oracle: the f64 that Rust reads from
        // the same text, times y, is the expression's value, bit for bit.
        for (text, lit) in [
            ("1e-5*y1", 1e-5),
            ("2.5E3*y1", 2.5e3),
            (".5e-3*y1", 0.5e-3),
            ("-1e6*y1", -1e6),
            ("3E+2*y1", 3e2),
            ("1e-300*y1", 1e-300),
            ("1.7976931348623157e308*y1", f64::MAX),
        ] {
            let e = p(text, 1).unwrap_or_else(|err| panic!("{text}: {err}"));
            assert_eq!(
                e.eval(&[2.0], 0.0).to_bits(),
                (lit * 2.0).to_bits(),
                "{text}"
            );
        }
        // The exponent is not taken from a name, and an overflow is refused.
        assert!(p("y1e2", 1).is_err());
        let e = p("2*E", 1).unwrap();
        assert_eq!(e.eval(&[0.0], 0.0), 2.0 * std::f64::consts::E);
        assert!(p("1e400*y1", 1).is_err());
    }

    #[test]
    fn errors_name_the_field_and_the_position() {
        let e = p("y1 + y3", 2).unwrap_err().to_string();
        assert!(
            e.contains("drift.b[0]") && e.contains("unknown variable `y3`"),
            "{e}"
        );
        assert!(e.contains("character 6"), "{e}");
        let e = p("x * 2", 1).unwrap_err().to_string();
        assert!(
            e.contains("unknown variable `x`") && e.contains("character 1"),
            "{e}"
        );
        let e = p("(y1 + 1", 1).unwrap_err().to_string();
        assert!(
            e.contains("never closed") && e.contains("character 1"),
            "{e}"
        );
        let e = p("y1 + 1)", 1).unwrap_err().to_string();
        assert!(e.contains("character 7"), "{e}");
        let e = p("y1 # 2", 1).unwrap_err().to_string();
        assert!(e.contains("`#`") && e.contains("character 4"), "{e}");
        let e = p("y1 * * 2", 1).unwrap_err().to_string();
        assert!(e.contains("not a valid expression"), "{e}");
        assert!(p("y1 * 2", 1).is_ok());
    }
}

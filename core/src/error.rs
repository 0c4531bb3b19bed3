//! Error types shared by the whole toolkit.

use thiserror::Error;

/// A parameter vector θ that is not a point of the model's parameter space.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ParamError {
    /// θ has the wrong number of entries.
    #[error("theta has {got} entries but the model has {expected} parameters ({})", names.join(", "))]
    WrongLength {
        /// The model's dimension.
        expected: usize,
        /// The length supplied.
        got: usize,
        /// The model's parameter names, to help the user.
        names: Vec<String>,
    },
    /// One parameter breaks a constraint.
    #[error("parameter `{name}` = {value} {constraint}")]
    Invalid {
        /// The parameter's name.
        name: String,
        /// Its value.
        value: f64,
        /// The constraint it breaks, as a phrase: "must be > 0".
        constraint: String,
    },
    /// A constraint that involves several parameters or the model's own settings.
    #[error("{0}")]
    Other(String),
}

impl ParamError {
    /// Shorthand for [`ParamError::Invalid`].
    pub fn invalid(name: impl Into<String>, value: f64, constraint: impl Into<String>) -> Self {
        ParamError::Invalid {
            name: name.into(),
            value,
            constraint: constraint.into(),
        }
    }
}

/// Where in a computation's input a bad value sits: a path of field names and
/// indices, `prior[1].sd`, `tau[3]`, `model.a[0][1]`.
///
/// Library specs name their fields as their serde names, so the same path
/// finds the value in a config file: the command line maps it to
/// `file:line:col`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Field(Vec<Segment>);

/// One step of a [`Field`] path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A named field or table key.
    Key(String),
    /// An index into an array.
    Index(usize),
}

impl Field {
    /// The path of the top-level field `name`.
    pub fn key(name: impl Into<String>) -> Self {
        Field(vec![Segment::Key(name.into())])
    }

    /// This path followed by the field `name`.
    pub fn then(mut self, name: impl Into<String>) -> Self {
        self.0.push(Segment::Key(name.into()));
        self
    }

    /// This path followed by the index `i`.
    pub fn at(mut self, i: usize) -> Self {
        self.0.push(Segment::Index(i));
        self
    }

    /// `prefix` followed by this path.
    pub fn under(mut self, prefix: &Field) -> Self {
        let mut v = prefix.0.clone();
        v.append(&mut self.0);
        self.0 = v;
        self
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether the path is empty (the input as a whole).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Segment::Key(k) if i == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(j) => write!(f, "[{j}]")?,
            }
        }
        Ok(())
    }
}

impl From<&str> for Field {
    /// Parses `a.b[2].c`.
    fn from(s: &str) -> Self {
        let mut out = Vec::new();
        for part in s.split('.').filter(|p| !p.is_empty()) {
            let (name, rest) = part.split_once('[').unwrap_or((part, ""));
            if !name.is_empty() {
                out.push(Segment::Key(name.to_string()));
            }
            for idx in rest.split('[') {
                if let Ok(i) = idx.trim_end_matches(']').parse() {
                    out.push(Segment::Index(i));
                }
            }
        }
        Field(out)
    }
}

/// Errors of the numerical routines in `bayesrg-core`.
///
/// Two families, told apart by [`Error::is_bad_input`]: errors in what the
/// caller asked for (a value outside its domain, a wrong length, a model that
/// lacks a capability, a size beyond the machine) and computations that were
/// asked for correctly but did not succeed ([`Error::Failed`], a NaN arising).
/// The command line exits with status 2 for the first and 1 for the second.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// An invalid parameter vector.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// A point of the parameter space, given as the field `field` of a spec
    /// (`theta`, `from`), that is not a valid point of the model.
    #[error("`{field}` is not a valid point: {reason}")]
    Point {
        /// Where the point was given.
        field: Field,
        /// Why it is not valid (not an error `source`: the message holds
        /// it, and a chain printer would say it twice; tryout 8 G8).
        reason: ParamError,
    },
    /// A setting that makes the computation meaningless (zero samples, a negative step).
    #[error("invalid setting `{name}`: {reason}")]
    Setting {
        /// The setting's name.
        name: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A matrix that had to be positive definite was not.
    #[error("{what} is not positive definite")]
    NotPositiveDefinite {
        /// Which matrix.
        what: String,
    },
    /// The model lacks a capability the computation needs (a forward map, a closed form).
    #[error("model `{model}` has no {capability}")]
    Missing {
        /// The model's type name.
        model: String,
        /// What it lacks.
        capability: String,
    },
    /// A matrix given directly to a library constructor with the wrong shape
    /// (a covariance that is 2×3, a drift matrix that does not match its centre).
    #[error("{what} must be {expected}, got {got}")]
    Shape {
        /// Which matrix ("the covariance", "the linear drift's B").
        what: String,
        /// Its shape ("2×3").
        got: String,
        /// The shape needed, and why ("square", "2×2 (the mean has 2 entries)").
        expected: String,
    },
    /// A matrix that had to be symmetric was not.
    #[error("{what} is not symmetric")]
    NotSymmetric {
        /// Which matrix.
        what: String,
    },
    /// Inputs that are each valid but that this computation cannot take
    /// together (a stepper for a kind of noise it cannot integrate).
    #[error("{what} {reason}")]
    Unsupported {
        /// What cannot do it ("stepper `exact_ou`").
        what: String,
        /// What it would need, as a phrase ("needs additive noise").
        reason: String,
    },
    /// A name that is not one of the known choices.
    #[error("unknown {what} `{name}` (known: {known})")]
    Unknown {
        /// What kind of name ("stepper").
        what: String,
        /// The name given.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// A value of the wrong length or shape.
    #[error("`{field}` has {got} entries; expected {expected}")]
    Dimension {
        /// Where.
        field: Field,
        /// What was expected, as a phrase ("3", "one per parameter (mu, sigma)").
        expected: String,
        /// What was given.
        got: usize,
    },
    /// A NaN or infinity where a finite number is needed.
    #[error("`{field}` is {value}; it must be finite")]
    NotFinite {
        /// Where (an input field, or the quantity in which it arose).
        field: Field,
        /// The value.
        value: f64,
    },
    /// A value outside the domain of the computation.
    #[error("`{field}` = {value} {constraint}")]
    Domain {
        /// Where.
        field: Field,
        /// The value, formatted.
        value: String,
        /// The constraint, as a phrase: "must be > 0".
        constraint: String,
    },
    /// A field that must be given and was not.
    #[error("missing `{field}`: {what}")]
    Required {
        /// Where.
        field: Field,
        /// What it is, and any alternative to it ("the point θ, or a `[free_field]` section").
        what: String,
    },
    /// Two settings that exclude each other, both given.
    #[error("`{field}` and {other} were both given: {why}")]
    Conflict {
        /// The first.
        field: Field,
        /// The other, as written in the config ("`[free_field]`").
        other: String,
        /// Why only one can stand, and what to do.
        why: String,
    },
    /// Work or memory beyond what the machine can give.
    #[error("`{field}` asks for {needs}, more than {limit}")]
    TooLarge {
        /// Where.
        field: Field,
        /// What it needs ("4.0 TB of memory").
        needs: String,
        /// The limit ("the 24 GB this machine has").
        limit: String,
        /// Every setting of which the need is a product (`paths`, `steps`),
        /// `field` among them; empty when `field` alone sets it. The command
        /// line says where in the config each is written
        /// ([`crate::budget::check_work_product`]).
        factors: Vec<Field>,
    },
    /// A computation that was asked for correctly but did not succeed: a
    /// solver that did not converge, a NaN that arose, accuracy lost.
    #[error("{what} failed: {reason}")]
    Failed {
        /// What computation.
        what: String,
        /// Why, with the numbers that show it.
        reason: String,
    },
    /// The caller's [`crate::observe::Observer`] asked the computation to stop.
    #[error("cancelled")]
    Cancelled,
}

/// `match $e` binding `$f` to the [`Field`] of every kind that carries one
/// (one list of those kinds for [`Error::field`] and [`Error::under`]), else
/// `$none`.
macro_rules! with_field {
    ($e:expr, $f:ident => $some:expr, $none:expr) => {
        match $e {
            Error::Dimension { field: $f, .. }
            | Error::NotFinite { field: $f, .. }
            | Error::Domain { field: $f, .. }
            | Error::TooLarge { field: $f, .. }
            | Error::Point { field: $f, .. }
            | Error::Required { field: $f, .. }
            | Error::Conflict { field: $f, .. } => $some,
            _ => $none,
        }
    };
}

impl Error {
    /// Whether this is an error in the input (exit status 2) rather than a
    /// computation that failed (exit status 1).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, Error::Failed { .. } | Error::Cancelled)
    }

    /// The field the error is about, when it names one.
    pub fn field(&self) -> Option<Field> {
        match self {
            Error::Setting { name, .. } => Some(Field::from(name.as_str())),
            _ => with_field!(self, field => Some(field.clone()), None),
        }
    }

    /// The same error with its field placed under `prefix` (a spec nested in
    /// a larger one).
    pub fn under(mut self, prefix: &Field) -> Self {
        with_field!(&mut self, field => *field = std::mem::take(field).under(prefix), ());
        self
    }

    /// Shorthand for [`Error::Domain`]; a number is written by [`show`]
    /// (short: `1e100`, not 101 digits), see [`Shown`].
    pub fn domain(
        field: impl Into<Field>,
        value: impl Shown,
        constraint: impl Into<String>,
    ) -> Self {
        Error::Domain {
            field: field.into(),
            value: value.shown(),
            constraint: constraint.into(),
        }
    }

    /// Shorthand for [`Error::Failed`].
    pub fn failed(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Failed {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

impl From<String> for Field {
    fn from(s: String) -> Self {
        Field::from(s.as_str())
    }
}

impl Error {
    /// Shorthand for [`Error::Setting`].
    pub fn setting(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Setting {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// A value as a message writes it: numbers short by [`show`] (floats) or
/// as written (integers), text as it is. [`Error::domain`] takes one, so
/// that no message prints a float's every digit.
pub trait Shown {
    /// The text of the value in a message.
    fn shown(&self) -> String;
}

impl Shown for f64 {
    fn shown(&self) -> String {
        show(*self)
    }
}

impl Shown for f32 {
    fn shown(&self) -> String {
        show(f64::from(*self))
    }
}

macro_rules! shown_as_written {
    ($($t:ty),*) => {$(
        impl Shown for $t {
            fn shown(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
shown_as_written!(
    usize, u64, u32, u16, u8, isize, i64, i32, String, str, bool, char
);

impl<T: Shown + ?Sized> Shown for &T {
    fn shown(&self) -> String {
        (**self).shown()
    }
}

/// A number for a message: as written (the shortest text that reads back
/// to the same `f64`) when its magnitude is moderate, else in exponent form
/// (`1e300`, `5e-324`), so that no message prints a 301-digit number.
pub fn show(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() || v == 0.0 || (1e-4..1e6).contains(&a) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// [`show`] of `v` rounded to `digits` significant digits, for a derived
/// number in a message (an sd, a width) whose every digit means nothing:
/// `show_approx(4.743416490252569e-8, 3)` is `4.74e-8`.
pub fn show_approx(v: f64, digits: usize) -> String {
    if !v.is_finite() || v == 0.0 {
        return show(v);
    }
    let rounded: f64 = format!("{:.*e}", digits.max(1) - 1, v).parse().unwrap_or(v);
    show(rounded)
}

/// Checks of single input values for the `validate()` of a spec: each names
/// the field and says what the value must be (issue 11 §2, §6).
pub mod require {
    use super::{Error, Field, Result, show};

    /// `v` is finite.
    pub fn finite(field: impl Into<Field>, v: f64) -> Result<()> {
        if v.is_finite() {
            Ok(())
        } else {
            Err(Error::NotFinite {
                field: field.into(),
                value: v,
            })
        }
    }

    /// Every entry of `v` is finite (the first that is not is named by index).
    pub fn all_finite(field: impl Into<Field>, v: &[f64]) -> Result<()> {
        let field = field.into();
        match v.iter().position(|x| !x.is_finite()) {
            Some(i) => Err(Error::NotFinite {
                field: field.at(i),
                value: v[i],
            }),
            None => Ok(()),
        }
    }

    /// `v` is finite and > 0.
    pub fn positive(field: impl Into<Field>, v: f64) -> Result<()> {
        let field = field.into();
        finite(field.clone(), v)?;
        if v > 0.0 {
            Ok(())
        } else {
            Err(Error::domain(field, show(v), "must be > 0"))
        }
    }

    /// `v` is finite and ≥ 0.
    pub fn non_negative(field: impl Into<Field>, v: f64) -> Result<()> {
        let field = field.into();
        finite(field.clone(), v)?;
        if v >= 0.0 {
            Ok(())
        } else {
            Err(Error::domain(field, show(v), "must be >= 0"))
        }
    }

    /// `n ≥ min` for a count.
    pub fn at_least(field: impl Into<Field>, n: usize, min: usize) -> Result<()> {
        if n >= min {
            Ok(())
        } else {
            Err(Error::domain(field, n, format!("must be at least {min}")))
        }
    }

    /// Save times: at least one, each finite, > 0 and after the one before
    /// (`save_at[k]` names a bad entry).
    pub fn save_times(field: &str, times: &[f64]) -> Result<()> {
        if times.is_empty() {
            return Err(Error::domain(field, "[]", "must list at least one time"));
        }
        let mut prev = 0.0;
        for (k, &t) in times.iter().enumerate() {
            finite(Field::key(field).at(k), t)?;
            if t <= prev {
                return Err(Error::domain(
                    Field::key(field).at(k),
                    show(t),
                    format!("must be > 0 and after the previous time {}", show(prev)),
                ));
            }
            prev = t;
        }
        Ok(())
    }

    /// `v` has exactly `len` entries.
    pub fn len(field: impl Into<Field>, v: usize, len: usize, what: &str) -> Result<()> {
        if v == len {
            Ok(())
        } else {
            Err(Error::Dimension {
                field: field.into(),
                expected: format!("{len} ({what})"),
                got: v,
            })
        }
    }

    /// `theta` checked by the model's [`check_params`](crate::model::Model::check_params):
    /// [`Error::Point`] naming `field` when it is not a point of the
    /// parameter space.
    pub fn point(
        model: &dyn crate::model::Model,
        field: impl Into<Field>,
        theta: &[f64],
    ) -> Result<()> {
        model.check_params(theta).map_err(|reason| Error::Point {
            field: field.into(),
            reason,
        })
    }

    /// A model with at least one parameter (`dim` its dimension, `model` its
    /// type name): linear algebra on a 0×0 Fisher metric has nothing to say.
    pub fn has_parameters(field: impl Into<Field>, model: &str, dim: usize) -> Result<()> {
        if dim > 0 {
            Ok(())
        } else {
            Err(Error::domain(
                field,
                format!("\"{model}\""),
                "has no parameters (dimension 0): there is no Fisher metric to compute; give it at least one parameter",
            ))
        }
    }
}

/// Result alias for `bayesrg-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_print_and_parse() {
        let f = Field::key("prior").at(1).then("sd");
        assert_eq!(f.to_string(), "prior[1].sd");
        assert_eq!(Field::from("prior[1].sd"), f);
        assert_eq!(Field::from("model.a[0][1]").to_string(), "model.a[0][1]");
        let e = Error::domain("sd", -1.0, "must be > 0").under(&Field::key("prior").at(1));
        assert_eq!(e.field().unwrap().to_string(), "prior[1].sd");
        assert!(e.is_bad_input());
        assert!(!Error::failed("shooting", "no convergence").is_bad_input());
    }

    /// Issue 12: every error of the numerical constructors and solvers is a
    /// typed kind, bad input (exit 2) or a failed computation (exit 1). Each
    /// case is a deliberately wrong input; the kind and the status are the
    /// oracle (the mapping of src/lib.rs: `is_bad_input` → 2, else 1).
    #[test]
    fn constructor_and_solver_errors_are_typed_with_their_exit_status() {
        use crate::fokker_planck::{FokkerPlanck2d, Grid1d};
        use crate::gaussian::Gaussian;
        use crate::mixture::GaussianMixture;
        use crate::sde::terms::{AdditiveNoise, Diffusion, FnDrift, LinearDrift, Problem};
        use crate::sde::{ou, steppers};
        use nalgebra::{DMatrix, DVector};
        use std::sync::Arc;
        let status = |e: &Error| if e.is_bad_input() { 2 } else { 1 };
        let id = |d| DMatrix::<f64>::identity(d, d);
        let g1 = || Gaussian::new(DVector::zeros(1), id(1)).unwrap();
        let g2 = || Gaussian::new(DVector::zeros(2), id(2)).unwrap();
        let asym = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.0, 1.0]);

        let e = Gaussian::new(DVector::zeros(3), id(2)).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }) && status(&e) == 2, "{e}");
        let e = Gaussian::new(DVector::zeros(2), asym.clone()).unwrap_err();
        assert!(
            matches!(e, Error::NotSymmetric { .. }) && status(&e) == 2,
            "{e}"
        );
        assert_eq!(e.to_string(), "covariance is not symmetric");
        let e = Gaussian::new(DVector::zeros(2), id(2) * f64::NAN).unwrap_err();
        assert!(
            matches!(e, Error::NotFinite { .. }) && status(&e) == 2,
            "{e}"
        );
        assert_eq!(e.field().unwrap().to_string(), "covariance[0][0]");

        let e = GaussianMixture::new(vec![1.0], vec![g1(), g1()]).unwrap_err();
        assert!(matches!(e, Error::Dimension { got: 1, .. }), "{e}");
        let e = GaussianMixture::new(vec![1.5, -0.5], vec![g1(), g1()]).unwrap_err();
        assert_eq!(e.field().unwrap().to_string(), "weights[1]");
        assert!(matches!(e, Error::Domain { .. }) && status(&e) == 2, "{e}");
        let e = GaussianMixture::new(vec![0.5, 0.6], vec![g1(), g1()]).unwrap_err();
        assert!(matches!(e, Error::Domain { .. }), "{e}");
        let e = GaussianMixture::new(vec![0.5, 0.5], vec![g1(), g2()]).unwrap_err();
        assert_eq!(e.field().unwrap().to_string(), "components[1]");
        let m = GaussianMixture::new(vec![1.0], vec![g1()]).unwrap();
        let e = m.diffuse(-1.0, &DVector::zeros(1), &id(1)).unwrap_err();
        assert!(matches!(e, Error::Domain { .. }) && status(&e) == 2, "{e}");

        let e = LinearDrift::new(DMatrix::zeros(2, 3), DVector::zeros(2)).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }), "{e}");
        let e = LinearDrift::new(id(2), DVector::from_vec(vec![0.0, f64::INFINITY])).unwrap_err();
        assert_eq!(e.field().unwrap().to_string(), "m[1]");
        let e = LinearDrift::quadratic_potential(&id(2), &id(3), DVector::zeros(3)).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }), "{e}");
        let e = AdditiveNoise::from_factor(id(2) * f64::NAN).unwrap_err();
        assert!(matches!(e, Error::NotFinite { .. }), "{e}");
        let drift2 = Arc::new(LinearDrift::new(id(2), DVector::zeros(2)).unwrap());
        let noise1 = || Diffusion::Additive(AdditiveNoise::from_factor(id(1)).unwrap());
        let e = Problem::new(drift2, noise1()).map(|_| ()).unwrap_err();
        assert!(
            matches!(e, Error::Dimension { got: 1, .. }) && status(&e) == 2,
            "{e}"
        );

        let e = steppers::by_name("rk45").map(|_| ()).unwrap_err();
        assert!(matches!(e, Error::Unknown { .. }) && status(&e) == 2, "{e}");
        assert!(
            e.to_string().starts_with("unknown stepper `rk45` (known: "),
            "{e}"
        );
        let square = Arc::new(FnDrift::new(1, |y: &[f64], _t: f64, o: &mut [f64]| {
            o[0] = -y[0] * y[0]
        }));
        let p = Problem::new(square, noise1()).unwrap();
        let e = steppers::by_name("exact_ou")
            .unwrap()
            .check(&p)
            .unwrap_err();
        assert!(
            matches!(e, Error::Unsupported { .. }) && status(&e) == 2,
            "{e}"
        );
        assert!(
            e.to_string()
                .starts_with("stepper `exact_ou` needs a linear drift"),
            "{e}"
        );

        // B with eigenvalues 1 and −1: the Lyapunov equation is singular.
        let b = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, -1.0]);
        let e = ou::lyapunov(&b, &id(2)).unwrap_err();
        assert!(matches!(e, Error::Domain { .. }) && status(&e) == 2, "{e}");
        // An unstable B over a long time: the law overflows (failed, exit 1).
        let e = ou::law(&(-id(1)), &DVector::zeros(1), &id(1), &[1.0], 1e3).unwrap_err();
        assert!(matches!(e, Error::Failed { .. }) && status(&e) == 1, "{e}");

        let e = Grid1d::new(1.0, 0.0, 10).unwrap_err();
        assert!(matches!(e, Error::Domain { .. }) && status(&e) == 2, "{e}");
        let e = Grid1d::new(0.0, 1.0, 2).unwrap_err();
        assert_eq!(e.field().unwrap().to_string(), "cells");
        let fp2 = |lo: [f64; 2], d: &DMatrix<f64>| {
            FokkerPlanck2d::new(lo, [1.0, 1.0], [8, 8], |_, _| [0.0, 0.0], d, |_| 1.0)
                .map(|_| ())
                .unwrap_err()
        };
        let e = fp2([0.0, 0.0], &id(3));
        assert!(matches!(e, Error::Shape { .. }), "{e}");
        let e = fp2([0.0, 0.0], &asym);
        assert!(matches!(e, Error::NotSymmetric { .. }), "{e}");
        let e = fp2([2.0, 0.0], &id(2));
        assert!(matches!(e, Error::Domain { .. }) && status(&e) == 2, "{e}");

        let sg = crate::semigroup::HeatSemigroup::new(DVector::zeros(1), id(1)).unwrap();
        let e = sg.kernel(&[0.0], 0.0).unwrap_err();
        assert!(matches!(e, Error::Domain { .. }) && status(&e) == 2, "{e}");
        let rev = |v: usize, k: &DMatrix<f64>, t: f64| {
            let p0 = GaussianMixture::new(vec![1.0], vec![g2()]).unwrap();
            crate::reverse::ReverseDiffusion::new(p0, DVector::zeros(v), k.clone(), t)
                .map(|_| ())
                .unwrap_err()
        };
        assert!(matches!(rev(3, &id(2), 1.0), Error::Shape { .. }));
        assert!(matches!(rev(2, &id(2), f64::NAN), Error::NotFinite { .. }));
        assert!(matches!(rev(2, &asym, 1.0), Error::NotSymmetric { .. }));

        let e = crate::linalg::cholesky(&DMatrix::zeros(2, 3), "K").unwrap_err();
        assert_eq!(e.to_string(), "K must be square, got 2×3");
        let indefinite = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
        let e = crate::linalg::psd_pseudo_inverse(&indefinite, "G").unwrap_err();
        assert!(matches!(e, Error::Domain { .. }) && status(&e) == 2, "{e}");

        // Failed computations: exit 1.
        let e = crate::quadrature::integrate_adaptive(|x| 1.0 / x, 0.0, 1.0, 1e-10, 0.0, 50)
            .unwrap_err();
        assert!(matches!(e, Error::Failed { .. }) && status(&e) == 1, "{e}");
        let e = crate::quadrature::integrate_adaptive(|x| x.sin(), 0.0, 1e3, 1e-14, 0.0, 2)
            .unwrap_err();
        assert!(matches!(e, Error::Failed { .. }) && status(&e) == 1, "{e}");
        let opt = crate::ode::Options {
            max_steps: 3,
            ..Default::default()
        };
        let e =
            crate::ode::solve(|_, y, o| o[0] = y[0].cos(), 0.0, &[0.0], 100.0, &opt).unwrap_err();
        assert!(matches!(e, Error::Failed { .. }) && status(&e) == 1, "{e}");
        // y' = y² from 1 blows up at t = 1.
        let e = crate::ode::solve(
            |_, y, o| o[0] = y[0] * y[0],
            0.0,
            &[1.0],
            2.0,
            &Default::default(),
        )
        .unwrap_err();
        assert!(matches!(e, Error::Failed { .. }) && status(&e) == 1, "{e}");
    }

    #[test]
    fn numbers_in_messages_stay_short() {
        // Issue 11 §6: `{}` prints 1e300 with 301 digits.
        assert_eq!(show(1e300), "1e300");
        assert_eq!(show(5e-324), "5e-324");
        assert_eq!(show(0.25), "0.25");
        assert_eq!(show(-3.0), "-3");
        assert_eq!(show(f64::NAN), "NaN");
        assert!(format!("{}", 1e300).len() > 300);
        let e = require::positive("dt", 1e-300_f64.min(-1e300)).unwrap_err();
        assert_eq!(e.to_string(), "`dt` = -1e300 must be > 0");
        let e = require::all_finite("y0", &[0.0, f64::NAN]).unwrap_err();
        assert_eq!(e.field().unwrap().to_string(), "y0[1]");
        assert!(require::non_negative("tol", -0.0).is_ok());
        assert!(require::non_negative("tol", f64::INFINITY).is_err());
    }
}

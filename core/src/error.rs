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

/// Errors of the numerical routines in `bayesrg-core`.
#[derive(Debug, Error)]
pub enum Error {
    /// An invalid parameter vector.
    #[error(transparent)]
    Param(#[from] ParamError),
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
    /// A computation that failed on valid input: a solver or a quadrature
    /// that did not converge within its bounds, a NaN that arose. Unlike
    /// [`Error::Param`] and [`Error::Setting`] (bad input), the command-line
    /// program reports it as a failed computation (exit status 1).
    #[error("{what} failed: {reason}")]
    Failed {
        /// The computation, named so that a user can find it.
        what: String,
        /// Why it failed, with the values that show it.
        reason: String,
    },
    /// Anything else, with a message.
    #[error("{0}")]
    Msg(String),
}

impl Error {
    /// Shorthand for [`Error::Setting`].
    pub fn setting(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Setting {
            name: name.into(),
            reason: reason.into(),
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

/// Result alias for `bayesrg-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

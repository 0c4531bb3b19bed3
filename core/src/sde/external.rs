//! SDE terms computed outside this crate: the drift a(y, τ) and the diagonal
//! diffusion b(y, τ) of dY = a dτ + b dW (Itô, component-wise; eqs. 45–46)
//! from a run-time plugin (`bayesrg-plugin-host` implements [`SdeTerms`] for
//! the SDE-term table of ABI 1.1; docs/plugins.md, "SDE terms").
//!
//! A config names them as `drift = { type = "plugin", terms = { type =
//! "my-sde/ou", … } }` (and the same under `diffusion`); typetag builds the
//! [`SdeTerms`] object, as it builds a plugin [`crate::Model`].
//!
//! The steppers call terms without an error channel ([`Drift::eval`],
//! [`DiagonalNoise::sigma`]). An external call that fails (an error, a
//! caught panic) or returns a non-finite value is therefore recorded — the
//! first such call, with the function, τ and y — and NaN is written in its
//! place; the runner turns the record into [`Error::Failed`] (exit 1) naming
//! the plugin, the function and τ ([`External::failure`]).

use crate::error::{Error, Result};
use crate::sde::terms::{DiagonalNoise, Drift};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::{Arc, OnceLock};

/// Which function of a set of SDE terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermFunction {
    /// The drift aᵢ(y, τ).
    Drift,
    /// The diagonal diffusion bᵢ(y, τ).
    Diffusion,
    /// ∂bᵢ/∂yᵢ(y, τ) (Milstein; without it, central differences of bᵢ).
    DiffusionDerivative,
}

impl TermFunction {
    /// Its name in the ABI (`drift`, `diffusion`, `diffusion_derivative`).
    pub fn name(self) -> &'static str {
        match self {
            TermFunction::Drift => "drift",
            TermFunction::Diffusion => "diffusion",
            TermFunction::DiffusionDerivative => "diffusion_derivative",
        }
    }
}

/// A d-dimensional set of SDE terms evaluated outside bayesrg (a plugin).
/// `y` and `out` have length [`SdeTerms::dim`]; `tau` is the time τ.
#[typetag::serde(tag = "type")]
pub trait SdeTerms: std::fmt::Debug + Send + Sync {
    /// Who computes the terms, for messages (e.g. ``plugin `ou-sde`
    /// (/path/libou.so), terms `ou-sde/ou` ``).
    fn label(&self) -> String;
    /// The state dimension d.
    fn dim(&self) -> usize;
    /// Whether `f` is provided.
    fn provides(&self, f: TermFunction) -> bool;
    /// Writes `f` at (y, τ) into `out`.
    ///
    /// # Errors
    /// The reason, when the call failed (the plugin's message, a caught
    /// panic, a write past the buffer).
    fn eval(&self, f: TermFunction, y: &[f64], tau: f64, out: &mut [f64]) -> TermResult;
}

/// What a call of [`SdeTerms::eval`] returns: the reason as text when it
/// failed.
pub type TermResult = std::result::Result<(), String>;

/// Shared ownership of a [`SdeTerms`] object as a spec field: (de)serialised
/// as the object itself (`{type = "plugin", tag = …, params = {…}}`).
#[derive(Debug, Clone)]
pub struct TermsRef(pub Arc<dyn SdeTerms>);

impl Serialize for TermsRef {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.as_ref().serialize(s)
    }
}

impl<'de> Deserialize<'de> for TermsRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Box::<dyn SdeTerms>::deserialize(d).map(|b| TermsRef(Arc::from(b)))
    }
}

/// An [`SdeTerms`] object with the record of its first failed call.
#[derive(Debug)]
pub struct External {
    terms: Arc<dyn SdeTerms>,
    failure: OnceLock<String>,
}

impl External {
    /// Wraps `terms`.
    pub fn new(terms: Arc<dyn SdeTerms>) -> Arc<Self> {
        Arc::new(External {
            terms,
            failure: OnceLock::new(),
        })
    }

    /// The first failed call: ``{label}: `{function}` {reason} at τ = {τ}, y = {y}``.
    pub fn failure(&self) -> Option<&str> {
        self.failure.get().map(String::as_str)
    }

    /// [`Error::Failed`] for the first failed call, if any.
    ///
    /// # Errors
    /// [`Error::Failed`] naming the plugin, the function, τ and y.
    pub fn check(&self) -> Result<()> {
        match self.failure() {
            Some(f) => Err(Error::failed(
                "SDE terms from a plugin",
                format!("{f}; the run is stopped (no result is written)"),
            )),
            None => Ok(()),
        }
    }

    fn call(&self, f: TermFunction, y: &[f64], tau: f64, out: &mut [f64]) {
        let r = self.terms.eval(f, y, tau, out);
        let reason = match r {
            Err(e) => Some(e),
            Ok(()) => out
                .iter()
                .position(|v| !v.is_finite())
                .map(|i| format!("returned {} in entry {i}", out[i])),
        };
        if let Some(reason) = reason {
            out.fill(f64::NAN);
            let _ = self.failure.set(format!(
                "{}: `{}` {reason} at τ = {}, y = {y:?}",
                self.terms.label(),
                f.name(),
                crate::error::show(tau)
            ));
        }
    }
}

/// The drift of an [`External`] set of terms.
#[derive(Debug, Clone)]
pub struct ExternalDrift(pub Arc<External>);

impl Drift for ExternalDrift {
    fn dim(&self) -> usize {
        self.0.terms.dim()
    }
    fn eval(&self, y: &[f64], t: f64, out: &mut [f64]) {
        self.0.call(TermFunction::Drift, y, t, out);
    }
}

/// The diagonal diffusion of an [`External`] set of terms; `dsigma` is its
/// `diffusion_derivative`, or central differences without one.
#[derive(Debug, Clone)]
pub struct ExternalNoise(pub Arc<External>);

impl DiagonalNoise for ExternalNoise {
    fn dim(&self) -> usize {
        self.0.terms.dim()
    }
    fn sigma(&self, y: &[f64], t: f64, out: &mut [f64]) {
        self.0.call(TermFunction::Diffusion, y, t, out);
    }
    /// The plugin's `diffusion_derivative` when it gives one, else central
    /// differences of its `diffusion` (the trait's default).
    fn dsigma(&self, y: &[f64], t: f64, out: &mut [f64]) {
        if self.0.terms.provides(TermFunction::DiffusionDerivative) {
            return self.0.call(TermFunction::DiffusionDerivative, y, t, out);
        }
        super::terms::central_dsigma(self, y, t, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// a = −y, b = 1, failing beyond τ = 1.
    #[derive(Debug, Serialize, Deserialize)]
    struct Fragile {}

    #[typetag::serde(name = "test-fragile")]
    impl SdeTerms for Fragile {
        fn label(&self) -> String {
            "fragile".into()
        }
        fn dim(&self) -> usize {
            1
        }
        fn provides(&self, _f: TermFunction) -> bool {
            true
        }
        fn eval(&self, f: TermFunction, y: &[f64], tau: f64, out: &mut [f64]) -> TermResult {
            if tau > 1.0 {
                return Err("refuses".into());
            }
            out[0] = match f {
                TermFunction::Drift => -y[0],
                TermFunction::Diffusion => 1.0,
                TermFunction::DiffusionDerivative => f64::NAN,
            };
            Ok(())
        }
    }

    #[test]
    fn the_first_failure_is_kept_with_function_and_time() {
        let e = External::new(Arc::new(Fragile {}));
        let (d, n) = (ExternalDrift(e.clone()), ExternalNoise(e.clone()));
        let mut out = [0.0];
        d.eval(&[2.0], 0.5, &mut out);
        assert_eq!(out[0], -2.0);
        assert!(e.check().is_ok());
        // A non-finite value is a failure, too.
        n.dsigma(&[2.0], 0.25, &mut out);
        assert!(out[0].is_nan());
        d.eval(&[2.0], 1.5, &mut out);
        assert!(out[0].is_nan());
        let msg = e.check().unwrap_err().to_string();
        assert!(
            msg.contains("fragile: `diffusion_derivative` returned NaN in entry 0 at τ = 0.25"),
            "{msg}"
        );
    }
}

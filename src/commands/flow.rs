//! `bayesrg flow FILE.toml --out DIR`: a DB-RG flow (eqs. 38–45) over an
//! increasing grid of τ.
//!
//! The config file is a [`FlowSpec`]; the work is
//! [`bayesrg_core::bayes::flow::run`]; this module names what of its result
//! goes where ([`Flow`]): `observables.csv`, `predictive.csv`, PNG plots and
//! `summary.json`.

use bayesrg_core::bayes::flow::{self, FlowResult};

mod files;

pub use bayesrg_core::bayes::flow::FlowSpec;

command!(
    /// `bayesrg flow` as a [`Command`](super::Command).
    Flow = "flow", FlowSpec => FlowResult, flow::run
);

command_fns!(Flow, progress);

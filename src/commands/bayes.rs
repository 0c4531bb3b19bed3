//! `bayesrg bayes FILE.toml --out DIR`: dynamical Bayes (eqs. 32–36).
//!
//! The config file is a [`BayesSpec`]; the work is
//! [`bayesrg_core::bayes::experiment::run`]; this module names what of its
//! result goes where ([`Bayes`]): `flow.csv`, `data.csv`, PNG plots and
//! `summary.json`.

use bayesrg_core::bayes::experiment::{self, BayesResult};

mod files;

pub use bayesrg_core::bayes::experiment::BayesSpec;

command!(
    /// `bayesrg bayes` as a [`Command`](super::Command).
    Bayes = "bayes", BayesSpec => BayesResult, experiment::run
);

command_fns!(Bayes, progress);

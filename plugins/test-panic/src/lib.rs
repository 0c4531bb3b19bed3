//! A deliberately broken plugin for bayesrg's tests. `panicky/create` panics
//! when created with `{"panic_in": "create"}`; otherwise its log-likelihood and
//! sampler panic. The host must report the panic, not crash.
#![warn(missing_docs)]

use bayesrg_plugin_api::{Model, Rng, export_plugin};
use serde::Deserialize;
use std::ffi::CStr;

/// A one-parameter model whose functions panic.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Panicky {
    /// `"create"` makes creation panic.
    #[serde(default)]
    panic_in: String,
}

impl Model for Panicky {
    const SUMMARY: &'static CStr = c"test model whose functions panic";
    const EXAMPLE_PARAMS: &'static CStr = c"{\"panic_in\": \"create\"}";
    const EXAMPLE_THETA: &'static [f64] = &[1.0];

    fn param_names(&self) -> Vec<String> {
        if self.panic_in == "create" {
            panic!("deliberate panic while creating");
        }
        vec!["x".into()]
    }
    fn obs_dim(&self) -> usize {
        1
    }
    fn log_likelihood(&self, _theta: &[f64], _y: &[f64]) -> f64 {
        panic!("deliberate panic in log_likelihood")
    }
    fn sample(&self, _theta: &[f64], _rng: &mut Rng, _out: &mut [f64]) {
        panic!("deliberate panic in sample")
    }
}

export_plugin!(name: "panicky", models: ["panicky" => Panicky]);

//! An example bayesrg run-time plugin: the Cauchy location–scale family
//! p(y | x₀, γ) = 1 / (π γ (1 + ((y − x₀)/γ)²)), γ > 0.
//!
//! Build it with `cargo build -p bayesrg-plugin-cauchy` and load the shared
//! library with `bayesrg --plugin target/debug/libbayesrg_plugin_cauchy.so …`;
//! the model is then `type = "cauchy-plugin/cauchy"` (see
//! `examples/plugins/cauchy.toml` and docs/plugins.md).
#![warn(missing_docs)]

use bayesrg_plugin_api::{Model, Rng, export_plugin};
use serde::Deserialize;
use std::ffi::CStr;

/// The Cauchy family in (x₀, γ). It has no parameters of its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cauchy {}

impl Model for Cauchy {
    const SUMMARY: &'static CStr = c"Cauchy location-scale (x0, gamma), run-time plugin";
    const EXAMPLE_THETA: &'static [f64] = &[0.5, 2.0];
    const HAS_SCORE: bool = true;
    const HAS_FISHER: bool = true;
    const HAS_KL: bool = true;

    fn param_names(&self) -> Vec<String> {
        vec!["x0".into(), "gamma".into()]
    }

    fn obs_dim(&self) -> usize {
        1
    }

    fn check_params(&self, theta: &[f64]) -> Result<(), String> {
        if theta[1] > 0.0 {
            Ok(())
        } else {
            Err(format!("parameter `gamma` = {} must be > 0", theta[1]))
        }
    }

    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        let z = (y[0] - theta[0]) / theta[1];
        -std::f64::consts::PI.ln() - theta[1].ln() - z.mul_add(z, 1.0).ln()
    }

    /// Inverse CDF: y = x₀ + γ tan(π(u − ½)).
    fn sample(&self, theta: &[f64], rng: &mut Rng, out: &mut [f64]) {
        let u = rng.uniform();
        out[0] = theta[0] + theta[1] * (std::f64::consts::PI * (u - 0.5)).tan();
    }

    /// ∂/∂x₀ = 2z / (γ(1 + z²)), ∂/∂γ = (z² − 1) / (γ(1 + z²)).
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) -> Result<(), String> {
        let g = theta[1];
        let z = (y[0] - theta[0]) / g;
        let q = g * (1.0 + z * z);
        out[0] = 2.0 * z / q;
        out[1] = (z * z - 1.0) / q;
        Ok(())
    }

    /// I(x₀, γ) = diag(1/(2γ²), 1/(2γ²)).
    fn fisher(&self, theta: &[f64], out: &mut [f64]) -> Result<(), String> {
        let v = 0.5 / (theta[1] * theta[1]);
        out.copy_from_slice(&[v, 0.0, 0.0, v]);
        Ok(())
    }

    /// KL(θ₁‖θ₂) = ln[((γ₁ + γ₂)² + (x₁ − x₂)²) / (4γ₁γ₂)] (symmetric).
    fn kl(&self, a: &[f64], b: &[f64]) -> Result<f64, String> {
        let (g1, g2) = (a[1], b[1]);
        Ok((((g1 + g2).powi(2) + (a[0] - b[0]).powi(2)) / (4.0 * g1 * g2)).ln())
    }
}

export_plugin!(name: "cauchy-plugin", models: ["cauchy" => Cauchy]);

//! The autoencoder as a [`Model`]: the regression family
//! y = (f(x₁; θ), …, f(x_N; θ)) + N(0, I) over a fixed set of inputs (eq. 54
//! with the MSE of eq. 53 read as a unit-variance Gaussian likelihood).
//!
//! Registered through typetag as `autoencoder_regression`. Its Fisher for the
//! N stacked outputs is JᵀJ (eqs. 40–42), N times the per-example diagonal of
//! [`crate::fisher::exact`]; the test suite checks the one against the other
//! with the generic [`bayesrg_core::fisher::jacobian_form`]. The main API of the
//! plugin is [`crate::net`] and [`crate::fisher`]; this type makes the network
//! usable by every generic tool of the workspace.

use crate::net::{Architecture, Autoencoder};
use bayesrg_core::ParamError;
use bayesrg_core::error::{Error, Field, Result};
use bayesrg_core::model::{Model, check_len};
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// y = stacked f(xₙ; θ) + N(0, I) for the fixed inputs `inputs`.
///
/// Built only through [`AutoencoderRegression::new`] (a config goes through
/// it too), so its inputs are always valid.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    try_from = "RawAutoencoderRegression",
    into = "RawAutoencoderRegression"
)]
pub struct AutoencoderRegression {
    arch: Architecture,
    inputs: Vec<Vec<f64>>,
}

/// The config form of [`AutoencoderRegression`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAutoencoderRegression {
    /// The network shape.
    pub arch: Architecture,
    /// The inputs x₁…x_N, each `arch.input` long, finite.
    pub inputs: Vec<Vec<f64>>,
}

impl TryFrom<RawAutoencoderRegression> for AutoencoderRegression {
    type Error = Error;
    fn try_from(r: RawAutoencoderRegression) -> Result<Self> {
        AutoencoderRegression::new(r.arch, r.inputs)
    }
}

impl From<AutoencoderRegression> for RawAutoencoderRegression {
    fn from(m: AutoencoderRegression) -> Self {
        RawAutoencoderRegression {
            arch: m.arch,
            inputs: m.inputs,
        }
    }
}

impl AutoencoderRegression {
    /// The model over the inputs `inputs` (at least one, each exactly
    /// `arch.input` finite values) of a network of shape `arch` (input and
    /// latent at least 1, and small enough that its dense Fisher matrix fits
    /// in memory, [`bayesrg_core::budget`]).
    ///
    /// Errors name the field: [`Error::Domain`] (`arch.input`, `arch.latent`,
    /// `inputs` empty), [`Error::Dimension`] (`inputs[n]` of the wrong length),
    /// [`Error::NotFinite`] (`inputs[n][i]`), [`Error::TooLarge`] (`arch`).
    pub fn new(arch: Architecture, inputs: Vec<Vec<f64>>) -> Result<Self> {
        arch.validate().map_err(|e| e.under(&Field::key("arch")))?;
        let d = arch.n_params() as f64;
        bayesrg_core::budget::check_memory("arch", 8.0 * d * d)?;
        if inputs.is_empty() {
            return Err(Error::domain(
                "inputs",
                "[]",
                "must hold at least one input",
            ));
        }
        for (n, x) in inputs.iter().enumerate() {
            if x.len() != arch.input {
                return Err(Error::Dimension {
                    field: Field::key("inputs").at(n),
                    expected: format!("arch.input = {}", arch.input),
                    got: x.len(),
                });
            }
            if let Some(i) = x.iter().position(|v| !v.is_finite()) {
                return Err(Error::NotFinite {
                    field: Field::key("inputs").at(n).at(i),
                    value: x[i],
                });
            }
        }
        bayesrg_core::budget::check_memory("inputs", 8.0 * (arch.input * inputs.len()) as f64 * d)?;
        Ok(AutoencoderRegression { arch, inputs })
    }

    /// The network shape.
    pub fn arch(&self) -> Architecture {
        self.arch
    }

    /// The inputs x₁…x_N.
    pub fn inputs(&self) -> &[Vec<f64>] {
        &self.inputs
    }

    fn net(&self, theta: &[f64]) -> Autoencoder {
        Autoencoder {
            arch: self.arch,
            theta: theta.to_vec(),
        }
    }
}

#[bayesrg_core::register_model(
    tag = "autoencoder_regression",
    summary = "Dense ReLU autoencoder as regression y = f(x; θ) + N(0, I) over fixed inputs",
    example = || Box::new(example()),
    theta = example_theta
)]
impl Model for AutoencoderRegression {
    fn param_names(&self) -> Vec<String> {
        let a = self.arch;
        let mut v = Vec::with_capacity(a.n_params());
        for i in 0..a.input {
            for j in 0..a.latent {
                v.push(format!("w1[{j},{i}]"));
            }
        }
        if a.bias {
            v.extend((0..a.latent).map(|j| format!("b1[{j}]")));
        }
        for k in 0..a.input {
            for j in 0..a.latent {
                v.push(format!("w2[{k},{j}]"));
            }
        }
        if a.bias {
            v.extend((0..a.input).map(|k| format!("b2[{k}]")));
        }
        v
    }
    fn dim(&self) -> usize {
        self.arch.n_params()
    }
    fn obs_dim(&self) -> usize {
        self.arch.input * self.inputs.len()
    }
    fn check_params(&self, theta: &[f64]) -> Result<(), ParamError> {
        check_len(self, theta)
    }
    fn sample(&self, theta: &[f64], rng: &mut dyn Rng, out: &mut [f64]) {
        let g = self.forward(theta).expect("has a forward map");
        for (o, m) in out.iter_mut().zip(g.iter()) {
            let z: f64 = StandardNormal.sample(rng);
            *o = m + z;
        }
    }
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64 {
        let g = self.forward(theta).expect("has a forward map");
        let ln2pi = (2.0 * std::f64::consts::PI).ln();
        g.iter()
            .zip(y)
            .map(|(m, y)| -0.5 * ((y - m).powi(2) + ln2pi))
            .sum()
    }
    fn score(&self, theta: &[f64], y: &[f64], out: &mut [f64]) {
        // ℓ = Σₙ Jₙᵀ (yₙ − f(xₙ)): one back-propagation per input.
        let net = self.net(theta);
        let n = self.arch.input;
        let mut act = net.activations();
        let mut u = vec![0.0; self.arch.latent];
        let mut delta = vec![0.0; n];
        out.iter_mut().for_each(|v| *v = 0.0);
        for (e, x) in self.inputs.iter().enumerate() {
            net.forward_into(x, &mut act);
            for k in 0..n {
                delta[k] = if act.o[k] > 0.0 {
                    y[e * n + k] - act.o[k]
                } else {
                    0.0
                };
            }
            net.backprop_add(x, &act, &delta, &mut u, out, false);
        }
    }
    fn has_exact_score(&self) -> bool {
        true
    }
    fn fisher(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        let j = self.forward_jacobian(theta)?;
        Some(j.transpose() * j)
    }
    fn kl(&self, a: &[f64], b: &[f64]) -> Option<f64> {
        // Unit-variance Gaussians: KL = ½‖f(θ) − f(θ′)‖² (eq. 30).
        let (fa, fb) = (self.forward(a)?, self.forward(b)?);
        Some(0.5 * (fa - fb).norm_squared())
    }
    fn forward_jacobian(&self, theta: &[f64]) -> Option<DMatrix<f64>> {
        // Exact: row (n, k) is ∂f_k(xₙ)/∂θ, back-propagated from the unit
        // vector eₖ (times the output ReLU′).
        let net = self.net(theta);
        let n = self.arch.input;
        let mut j = DMatrix::zeros(self.obs_dim(), self.dim());
        let mut act = net.activations();
        let mut u = vec![0.0; self.arch.latent];
        let mut row = vec![0.0; self.dim()];
        let mut delta = vec![0.0; n];
        for (e, x) in self.inputs.iter().enumerate() {
            net.forward_into(x, &mut act);
            for k in 0..n {
                if act.o[k] > 0.0 {
                    delta.iter_mut().for_each(|d| *d = 0.0);
                    delta[k] = 1.0;
                    row.iter_mut().for_each(|v| *v = 0.0);
                    net.backprop_add(x, &act, &delta, &mut u, &mut row, false);
                    for (p, v) in row.iter().enumerate() {
                        j[(e * n + k, p)] = *v;
                    }
                }
            }
        }
        Some(j)
    }
    fn forward(&self, theta: &[f64]) -> Option<DVector<f64>> {
        let net = self.net(theta);
        Some(DVector::from_iterator(
            self.obs_dim(),
            self.inputs.iter().flat_map(|x| net.forward(x)),
        ))
    }
    fn noise_covariance(&self) -> Option<DMatrix<f64>> {
        Some(DMatrix::identity(self.obs_dim(), self.obs_dim()))
    }
}

/// A tiny 4 → 2 → 4 instance with biases and two inputs (for listings and tests).
pub fn example() -> AutoencoderRegression {
    AutoencoderRegression {
        arch: Architecture {
            input: 4,
            latent: 2,
            bias: true,
        },
        inputs: vec![vec![0.2, 0.0, 0.7, 0.4], vec![0.9, 0.3, 0.0, 0.5]],
    }
}

/// The parameter point of the registry example: seeded initial weights with
/// every bias 0.5, so that every hidden and output unit is active on the
/// example's inputs and no Fisher diagonal entry is 0 (a zero entry would
/// make a check of that entry vacuous).
pub fn example_theta() -> Vec<f64> {
    let a = example().arch;
    let mut theta = Autoencoder::init(a, bayesrg_core::rng::Seed::new(1)).theta;
    theta[a.b1_offset()..a.w2_offset()].fill(0.5);
    theta[a.b2_offset()..].fill(0.5);
    theta
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    /// The generic Jacobian Fisher of core (numerical Jacobian, JᵀΣ⁻¹J) is an
    /// independent oracle: its diagonal / N equals the closed form.
    /// Every Fisher diagonal entry of the registry example is positive, so
    /// the registry-wide validator test can see a doubled entry.
    #[test]
    fn example_has_no_zero_fisher_entry() {
        let f = example().fisher(&example_theta()).unwrap();
        for p in 0..f.nrows() {
            assert!(f[(p, p)] > 1e-3, "F[{p}][{p}] = {}", f[(p, p)]);
        }
    }

    #[test]
    fn core_jacobian_fisher_matches_closed_form() {
        for bias in [false, true] {
            let arch = Architecture {
                input: 6,
                latent: 3,
                bias,
            };
            let mut rng = bayesrg_core::rng::stream(9, 0);
            let inputs: Vec<Vec<f64>> = (0..12)
                .map(|_| {
                    (0..6)
                        .map(|i| if i == 2 { 0.0 } else { rng.random::<f64>() })
                        .collect()
                })
                .collect();
            let model = AutoencoderRegression::new(arch, inputs).unwrap();
            let net = Autoencoder::init(arch, bayesrg_core::rng::Seed::new(4));
            // Numerical Jacobian of the forward map (core numdiff), not the
            // model's exact one, so the oracle is independent.
            let jn = bayesrg_core::numdiff::jacobian(|t| model.forward(t).unwrap(), &net.theta);
            let jx = model.forward_jacobian(&net.theta).unwrap();
            assert!((&jn - &jx).amax() < 1e-6, "exact Jacobian vs numdiff");
            let full = bayesrg_core::fisher::jacobian_form(&model, &net.theta).unwrap();
            let num_full = jn.transpose() * &jn;
            assert!((&full.matrix - &num_full).amax() < 1e-5);
            let flat: Vec<f64> = model.inputs().concat();
            let diag = crate::fisher::exact(&net, &flat);
            let n = model.inputs().len() as f64;
            for p in 0..diag.len() {
                let o = num_full[(p, p)] / n;
                assert!(
                    (diag[p] - o).abs() < 1e-6 * (1.0 + o),
                    "bias {bias} p {p}: {} vs {o}",
                    diag[p]
                );
            }
        }
    }

    #[test]
    fn deserialises_by_tag() {
        bayesrg_core::registry::models().unwrap();
        let m: Box<dyn Model> = serde_json::from_str(
            r#"{"type":"autoencoder_regression","arch":{"input":2,"latent":1,"bias":false},"inputs":[[1.0,0.5]]}"#,
        )
        .unwrap();
        assert_eq!(m.dim(), 4);
    }

    /// Issue 11: inputs longer than `arch.input` panicked; shorter, empty and
    /// NaN inputs were accepted. Each is now refused when the config is read,
    /// naming the input.
    #[test]
    fn bad_inputs_are_refused_with_the_field_named() {
        bayesrg_core::registry::models().unwrap();
        let parse = |inputs: &str| {
            serde_json::from_str::<Box<dyn Model>>(&format!(
                r#"{{"type":"autoencoder_regression","arch":{{"input":3,"latent":1,"bias":false}},"inputs":{inputs}}}"#
            ))
            .map(|m| m.dim())
            .map_err(|e| e.to_string())
        };
        assert_eq!(parse("[[1.0, 0.0, 0.5]]"), Ok(6));
        for (inputs, needle) in [
            ("[[1.0, 0.0, 0.5, 2.0]]", "inputs[0]"),
            ("[[1.0, 0.0, 0.5], [1.0]]", "inputs[1]"),
            ("[[]]", "inputs[0]"),
            ("[]", "inputs"),
        ] {
            let e = parse(inputs).unwrap_err();
            assert!(e.contains(needle), "{inputs}: {e}");
        }
        let nan = vec![vec![0.0, f64::NAN, 1.0]];
        let arch = Architecture {
            input: 3,
            latent: 1,
            bias: false,
        };
        let e = AutoencoderRegression::new(arch, nan).unwrap_err();
        assert!(matches!(e, Error::NotFinite { .. }));
        assert_eq!(e.field().unwrap().to_string(), "inputs[0][1]");
        let e = AutoencoderRegression::new(arch, vec![vec![0.0, f64::INFINITY, 1.0]]).unwrap_err();
        assert_eq!(e.field().unwrap().to_string(), "inputs[0][1]");
        // An enormous latent is refused before any allocation.
        let huge = Architecture {
            input: 3,
            latent: 1 << 28,
            bias: false,
        };
        let e = AutoencoderRegression::new(huge, vec![vec![0.0; 3]]).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    }
}

//! The guest side: what a plugin author writes against. A model is an ordinary
//! Rust type implementing [`Model`]; [`export_plugin!`](crate::export_plugin)
//! turns it into the C ABI of [`crate::abi`]. [`Rng`] is the generator a
//! sampler draws from.

use std::ffi::CStr;

/// A small, fast generator for a plugin's sampling: xoshiro256++ (Blackman and
/// Vigna, 2019) seeded through SplitMix64 from the `u64` seed the host passes
/// for each draw. The host draws the seeds from its own seeded streams, so
/// plugin samples are reproducible. The C header's `brg_rng_*` functions are the
/// same generator, draw for draw.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator seeded from `seed` (any value, including 0, is fine): the
    /// four state words are four successive SplitMix64 outputs.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits (xoshiro256++).
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let r = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        r
    }

    /// A uniform draw from the open interval (0, 1): the top 53 bits of
    /// [`Rng::next_u64`] plus ½, times 2⁻⁵³. Never exactly 0 or 1, so `ln u`
    /// and `ln(1 − u)` are finite.
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal draw N(0, 1) (Box–Muller, cosine branch: two uniforms
    /// per draw).
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// A standard exponential draw Exp(1) (inversion: −ln u).
    pub fn exponential(&mut self) -> f64 {
        -self.uniform().ln()
    }
}

/// A model written in ordinary Rust, exported through
/// [`export_plugin!`](crate::export_plugin).
///
/// The type is created from the model's parameters (the keys of its config
/// table other than `type`, passed as compact JSON) by `serde`, so
/// `#[derive(Deserialize)]` with `#[serde(deny_unknown_fields)]` gives clear
/// errors for bad parameters. Errors are plain strings; panics are caught
/// inside the plugin and reported by the host once, with their location.
///
/// Conventions (bayesrg's docs/conventions.md): [`Model::fisher`] is the
/// **per-observation** Fisher metric I(θ) = E\[ℓℓᵀ\] (eq. 29), and
/// [`Model::kl`] is KL(θ₁‖θ₂) with the expectation under the first argument
/// (eq. 30).
///
/// Every slice the host passes has the length the model declared: θ has
/// `param_names().len()` entries (checked before each call), `y` and a sample's
/// `out` have [`Model::obs_dim`] entries, a score's `out` has d entries and a
/// Fisher matrix's `out` d × d (row-major).
pub trait Model: serde::de::DeserializeOwned + Send + Sync + 'static {
    /// One line saying what the family is.
    const SUMMARY: &'static CStr;
    /// JSON parameters valid for this model, used by `bayesrg models`.
    const EXAMPLE_PARAMS: &'static CStr = c"{}";
    /// A valid θ for the example parameters.
    const EXAMPLE_THETA: &'static [f64];
    /// Set to `true` when [`Model::score`] is implemented.
    const HAS_SCORE: bool = false;
    /// Set to `true` when [`Model::fisher`] is implemented.
    const HAS_FISHER: bool = false;
    /// Set to `true` when [`Model::kl`] is implemented.
    const HAS_KL: bool = false;

    /// Names of the parameters, in order; their number is the dimension d.
    fn param_names(&self) -> Vec<String>;
    /// The length of one observation.
    fn obs_dim(&self) -> usize;
    /// Whether θ lies in the parameter space; the error names the parameter.
    /// The host has already checked that θ has length d and finite entries.
    fn check_params(&self, _theta: &[f64]) -> Result<(), String> {
        Ok(())
    }
    /// ln p(y | θ), `-inf` outside the support (NaN and `+inf` are faults).
    fn log_likelihood(&self, theta: &[f64], y: &[f64]) -> f64;
    /// Draws y ~ p(· | θ) into `out` using `rng`, a generator seeded afresh
    /// for this draw by the host.
    fn sample(&self, theta: &[f64], rng: &mut Rng, out: &mut [f64]);
    /// The exact score ℓ(y) = ∂ ln p(y | θ)/∂θ (eq. 28) into `out` (length d);
    /// set [`Model::HAS_SCORE`]. Without it the host differentiates
    /// [`Model::log_likelihood`] numerically.
    fn score(&self, _theta: &[f64], _y: &[f64], _out: &mut [f64]) -> Result<(), String> {
        Err("score is not implemented".into())
    }
    /// The closed-form Fisher I(θ), row-major d × d, into `out`; set
    /// [`Model::HAS_FISHER`].
    fn fisher(&self, _theta: &[f64], _out: &mut [f64]) -> Result<(), String> {
        Err("Fisher is not implemented".into())
    }
    /// The closed-form KL(θ₁ ‖ θ₂); set [`Model::HAS_KL`].
    fn kl(&self, _theta1: &[f64], _theta2: &[f64]) -> Result<f64, String> {
        Err("KL is not implemented".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_uniform_mean_and_normal_variance() {
        // Monte Carlo oracle: mean of U(0,1) is 1/2 with standard error
        // 1/sqrt(12 n); variance of N(0,1) is 1 with standard error sqrt(2/n);
        // the mean of Exp(1) is 1 with standard error 1/sqrt(n).
        let n = 200_000;
        let mut r = Rng::new(7);
        let m: f64 = (0..n).map(|_| r.uniform()).sum::<f64>() / n as f64;
        assert!((m - 0.5).abs() < 5.0 / (12.0 * n as f64).sqrt(), "{m}");
        let v: f64 = (0..n).map(|_| r.normal().powi(2)).sum::<f64>() / n as f64;
        assert!((v - 1.0).abs() < 5.0 * (2.0 / n as f64).sqrt(), "{v}");
        let e: f64 = (0..n).map(|_| r.exponential()).sum::<f64>() / n as f64;
        assert!((e - 1.0).abs() < 5.0 / (n as f64).sqrt(), "{e}");
    }

    #[test]
    fn rng_matches_the_reference_xoshiro256plusplus() {
        // Oracle: the reference C code of xoshiro256++ (prng.di.unimi.it) seeded
        // with SplitMix64 from 0; first outputs computed outside the project by
        // tests/oracles/xoshiro256pp.py.
        for (seed, want) in [(0, XOSHIRO_SEED0), (42, XOSHIRO_SEED42)] {
            let mut r = Rng::new(seed);
            let got: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
            assert_eq!(got, want, "seed {seed}");
        }
    }

    /// Printed by `tests/oracles/xoshiro256pp.py` (seed 0).
    pub(crate) const XOSHIRO_SEED0: [u64; 3] =
        [0x53175D61490B23DF, 0x61DA6F3DC380D507, 0x5C0FDF91EC9A7BFC];
    /// Printed by `tests/oracles/xoshiro256pp.py` (seed 42).
    pub(crate) const XOSHIRO_SEED42: [u64; 3] =
        [0xD0764D4F4476689F, 0x519E4174576F3791, 0xFBE07CFB0C24ED8C];
}

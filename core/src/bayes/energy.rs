//! The energy K(θ) = KL(θ* ‖ θ) of the dynamical-Bayes equation (33) and its
//! Boltzmann solution (34), on the free coordinates of θ.
//!
//! A posterior may live on a subset of the model's parameters (the *free*
//! coordinates), the others being held at their true values: the normal model
//! with σ fixed is the normal-mean problem of oracles.md §7.

use crate::error::{Error, Result};
use crate::model::{Model, type_name};
use crate::rng;

/// KL(θ*‖θ) as a function of the free coordinates φ of θ.
#[derive(Debug)]
pub struct Energy<'a> {
    model: &'a dyn Model,
    theta_star: Vec<f64>,
    free: Vec<usize>,
    /// Samples y ~ p(·|θ*) used when the model has no closed-form KL.
    mc: Option<McEnergy>,
}

/// The Monte Carlo estimate of K: draws y ~ p(·|θ*) (row-major) and
/// ln p(yᵢ | θ*) at each.
#[derive(Debug)]
struct McEnergy {
    ys: Vec<f64>,
    ll_star: Vec<f64>,
}

impl<'a> Energy<'a> {
    /// The energy of `model` around the truth `theta_star`, over the coordinates
    /// `free` (all of them when `None`).
    ///
    /// When the model has no closed-form KL, K is estimated with `mc_samples`
    /// draws from θ* (drawn from `Seed::new(seed).stream(0)`, common to every
    /// θ, so K is a smooth function of θ; give a child seed of the run).
    pub fn new(
        model: &'a dyn Model,
        theta_star: &[f64],
        free: Option<&[usize]>,
        mc_samples: usize,
        seed: u64,
    ) -> Result<Self> {
        model.check_params(theta_star)?;
        let d = model.dim();
        let free: Vec<usize> = free.map(|f| f.to_vec()).unwrap_or_else(|| (0..d).collect());
        if free.is_empty() || free.len() > d {
            return Err(Error::setting(
                "free",
                format!("must name 1..={d} parameters"),
            ));
        }
        for (k, &i) in free.iter().enumerate() {
            if i >= d || free[..k].contains(&i) {
                return Err(Error::setting(
                    "free",
                    format!("index {i} is out of range or repeated (the model has {d} parameters)"),
                ));
            }
        }
        let mc = if model.kl(theta_star, theta_star).is_some() {
            None
        } else {
            if mc_samples == 0 {
                return Err(Error::Missing {
                    model: type_name(model).into(),
                    capability: "closed-form KL (and mc_samples = 0)".into(),
                });
            }
            let mut r = rng::Seed::new(seed).stream(0);
            let m = model.obs_dim();
            // One batch (the same draws as one `sample` call per observation,
            // in order), then every ln p(y | θ) at θ* in one call.
            let mut ys = vec![0.0; mc_samples * m];
            model.sample_batch(theta_star, &mut r, &mut ys);
            let mut ll_star = vec![0.0; mc_samples];
            model.log_likelihood_rows(theta_star, &ys, &mut ll_star);
            Some(McEnergy { ys, ll_star })
        };
        Ok(Energy {
            model,
            theta_star: theta_star.to_vec(),
            free,
            mc,
        })
    }

    /// The model.
    pub fn model(&self) -> &'a dyn Model {
        self.model
    }

    /// The truth θ*.
    pub fn theta_star(&self) -> &[f64] {
        &self.theta_star
    }

    /// The free coordinates.
    pub fn free(&self) -> &[usize] {
        &self.free
    }

    /// The number of free coordinates.
    pub fn dim(&self) -> usize {
        self.free.len()
    }

    /// The names of the free coordinates.
    pub fn names(&self) -> Vec<String> {
        let all = self.model.param_names();
        self.free.iter().map(|&i| all[i].clone()).collect()
    }

    /// The free coordinates of θ*.
    pub fn phi_star(&self) -> Vec<f64> {
        self.free.iter().map(|&i| self.theta_star[i]).collect()
    }

    /// The full θ with free coordinates φ and the others at θ*.
    pub fn embed(&self, phi: &[f64]) -> Vec<f64> {
        let mut t = self.theta_star.clone();
        for (&i, &v) in self.free.iter().zip(phi) {
            t[i] = v;
        }
        t
    }

    /// Whether φ names a point of the parameter space.
    pub fn valid(&self, phi: &[f64]) -> bool {
        self.model.check_params(&self.embed(phi)).is_ok()
    }

    /// K(φ) = KL(θ* ‖ θ(φ)); +∞ outside the parameter space.
    pub fn eval(&self, phi: &[f64]) -> f64 {
        let th = self.embed(phi);
        if self.model.check_params(&th).is_err() {
            return f64::INFINITY;
        }
        match &self.mc {
            None => self
                .model
                .kl(&self.theta_star, &th)
                .expect("closed-form KL checked at construction"),
            Some(mc) => {
                let mut ll = vec![0.0; mc.ll_star.len()];
                self.model.log_likelihood_rows(&th, &mc.ys, &mut ll);
                let s: f64 = mc.ll_star.iter().zip(&ll).map(|(a, b)| a - b).sum();
                s / ll.len() as f64
            }
        }
    }

    /// The per-observation Fisher matrix at θ* restricted to the free block
    /// ([`crate::fisher::best`] with `options`).
    pub fn fisher_star(
        &self,
        options: &crate::fisher::FisherOptions,
    ) -> Result<nalgebra::DMatrix<f64>> {
        let full = options.best(self.model, &self.theta_star)?;
        let k = self.free.len();
        Ok(nalgebra::DMatrix::from_fn(k, k, |a, b| {
            full[(self.free[a], self.free[b])]
        }))
    }
}

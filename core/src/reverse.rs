//! The reverse-time SDE (eq. 26): "learning is the reverse of Bayesian
//! diffusion", made runnable on a Gaussian mixture.
//!
//! **Forward.** dY = v dτ + θ dW, θθᵀ = K⁻¹ constant (the Fisher-shaped
//! diffusion), from p₀ = Σₖ wₖ N(mₖ, Σₖ). The law at time τ stays a mixture,
//! p_τ = Σₖ wₖ N(mₖ + vτ, Σₖ + τK⁻¹) (eqs. 20–23), so its score ∇ln p_τ is
//! known in closed form.
//!
//! **Reverse.** With s = T − τ running forward from 0 to T, X_s = Y_{T−s}
//! solves, in the convention of docs/conventions.md ("generator ½, no √2"),
//!
//!   dX = \[−b + ∂_b K⁻¹ᵃᵇ + K⁻¹∇ln p_{T−s}\](X) ds + θ dW̄,
//!
//! i.e. b_rev = −v + K⁻¹∇ln p_{T−s} here (K constant). This is eq. (26) (whose
//! ds runs backward, hence its signs) with σσᵀ = K⁻¹; under the paper's √2
//! noise the score term would carry 2K⁻¹ instead. Started from p_T, X_T has
//! law p₀.
//!
//! The score is evaluated without any factorisation per call: with
//! A_k = D^{−½}ΣₖD^{−½} = UₖΛₖUₖᵀ (D = K⁻¹), Σₖ + τD = D^{½}Uₖ(Λₖ + τ)UₖᵀD^{½}, so
//! (Σₖ + τD)⁻¹ = Wₖ(Λₖ + τ)⁻¹Wₖᵀ with Wₖ = D^{−½}Uₖ, for every τ.

#![allow(clippy::needless_range_loop)] // index loops are the clearest form of small linear algebra

use crate::error::{Error, Result, require};
use crate::linalg;
use crate::mixture::GaussianMixture;
use crate::rng::Seed;
use crate::sde::ensemble::{EnsembleConfig, Initial, simulate};
use crate::sde::steppers::Stepper;
use crate::sde::terms::{AdditiveNoise, ConstantDrift, Diffusion, FnDrift, Problem};
use nalgebra::{DMatrix, DVector};
use std::sync::Arc;

#[derive(Debug, Clone)]
struct Component {
    ln_w: f64,
    mean: DVector<f64>,
    w: DMatrix<f64>,
    lambda: DVector<f64>,
}

/// A Gaussian-mixture p₀ diffused with constant drift v and diffusion K⁻¹ up
/// to the horizon T, with the closed-form score of every p_τ and the reverse
/// drift of eq. (26).
#[derive(Debug, Clone)]
pub struct ReverseDiffusion {
    p0: GaussianMixture,
    velocity: DVector<f64>,
    kinv: DMatrix<f64>,
    horizon: f64,
    comps: Vec<Component>,
    score_factor: f64,
}

impl ReverseDiffusion {
    /// p₀, drift v, diffusion K⁻¹ (symmetric positive definite) and horizon T > 0.
    pub fn new(
        p0: GaussianMixture,
        velocity: DVector<f64>,
        kinv: DMatrix<f64>,
        horizon: f64,
    ) -> Result<Self> {
        let d = p0.dim();
        if velocity.len() != d || kinv.nrows() != d || kinv.ncols() != d {
            return Err(Error::Shape {
                what: "the drift v and K⁻¹".into(),
                got: format!(
                    "{} entries and {}×{}",
                    velocity.len(),
                    kinv.nrows(),
                    kinv.ncols()
                ),
                expected: format!("{d} entries and {d}×{d} (p₀ has dimension {d})"),
            });
        }
        require::positive("horizon", horizon)?;
        if linalg::asymmetry(&kinv) > 1e-12 {
            return Err(Error::NotSymmetric {
                what: "K⁻¹".into()
            });
        }
        linalg::cholesky(&kinv, "K⁻¹")?;
        let sp = linalg::Spectrum::of(&kinv);
        let inv_sqrt = &sp.vectors
            * DMatrix::from_diagonal(&sp.values.map(|v| 1.0 / v.sqrt()))
            * sp.vectors.transpose();
        let comps = p0
            .weights()
            .iter()
            .zip(p0.components())
            .map(|(w, c)| {
                let a = &inv_sqrt * c.cov() * &inv_sqrt;
                let s = linalg::Spectrum::of(&a);
                Component {
                    ln_w: w.ln(),
                    mean: c.mean().clone(),
                    w: &inv_sqrt * &s.vectors,
                    lambda: s.values,
                }
            })
            .collect();
        Ok(ReverseDiffusion {
            p0,
            velocity,
            kinv,
            horizon,
            comps,
            score_factor: 1.0,
        })
    }

    /// Multiplies the score term of the reverse drift by `f` (1 is correct;
    /// 2 is what the paper's √2 noise would give). Other values exist so that
    /// a test can show that sampling then fails to recover p₀.
    pub fn with_score_factor(mut self, f: f64) -> Self {
        self.score_factor = f;
        self
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        self.velocity.len()
    }

    /// The horizon T.
    pub fn horizon(&self) -> f64 {
        self.horizon
    }

    /// p₀.
    pub fn initial(&self) -> &GaussianMixture {
        &self.p0
    }

    /// K⁻¹.
    pub fn kinv(&self) -> &DMatrix<f64> {
        &self.kinv
    }

    /// The exact law p_τ = Σ wₖ N(mₖ + vτ, Σₖ + τK⁻¹).
    pub fn marginal(&self, tau: f64) -> Result<GaussianMixture> {
        self.p0.diffuse(tau, &self.velocity, &self.kinv)
    }

    /// ∇ln p_τ(y) into `out`, in closed form.
    pub fn score_into(&self, y: &[f64], tau: f64, out: &mut [f64]) {
        let d = self.dim();
        let k = self.comps.len();
        let mut ln = Vec::with_capacity(k);
        let mut grads = vec![0.0; k * d];
        let mut u = vec![0.0; d];
        for (ci, c) in self.comps.iter().enumerate() {
            // u = Wᵀ r, q = u / (λ + τ), score_k = −W q.
            let mut quad = 0.0;
            let mut lndet = 0.0;
            for i in 0..d {
                let mut s = 0.0;
                for a in 0..d {
                    s += c.w[(a, i)] * (y[a] - c.mean[a] - self.velocity[a] * tau);
                }
                let l = c.lambda[i] + tau;
                u[i] = s / l;
                quad += s * s / l;
                lndet += l.ln();
            }
            ln.push(c.ln_w - 0.5 * (lndet + quad));
            for a in 0..d {
                let mut s = 0.0;
                for i in 0..d {
                    s += c.w[(a, i)] * u[i];
                }
                grads[ci * d + a] = -s;
            }
        }
        let m = ln.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = ln.iter().map(|v| (v - m).exp()).collect();
        let z: f64 = e.iter().sum();
        for a in 0..d {
            out[a] = (0..k).map(|ci| e[ci] * grads[ci * d + a]).sum::<f64>() / z;
        }
    }

    /// The reverse drift b_rev(y, s) = −v + K⁻¹∇ln p_{T−s}(y) into `out`.
    pub fn reverse_drift_into(&self, y: &[f64], s: f64, out: &mut [f64]) {
        let d = self.dim();
        let tau = (self.horizon - s).max(0.0);
        let mut g = vec![0.0; d];
        self.score_into(y, tau, &mut g);
        for a in 0..d {
            let mut v = -self.velocity[a];
            for b in 0..d {
                v += self.score_factor * self.kinv[(a, b)] * g[b];
            }
            out[a] = v;
        }
    }

    /// The forward SDE dY = v dτ + θ dW as an [`sde`](crate::sde) problem.
    pub fn forward_problem(&self) -> Result<Problem> {
        Problem::new(
            Arc::new(ConstantDrift::new(self.velocity.iter().copied().collect())),
            Diffusion::Additive(AdditiveNoise::from_k_inv(&self.kinv)?),
        )
    }

    /// The reverse SDE dX = b_rev(X, s) ds + θ dW̄, s ∈ [0, T], as an
    /// [`sde`](crate::sde) problem.
    pub fn reverse_problem(self: &Arc<Self>) -> Result<Problem> {
        let me = Arc::clone(self);
        Problem::new(
            Arc::new(FnDrift::new(
                self.dim(),
                move |y: &[f64], s: f64, out: &mut [f64]| me.reverse_drift_into(y, s, out),
            )),
            Diffusion::Additive(AdditiveNoise::from_k_inv(&self.kinv)?),
        )
    }

    /// Pushes `n` draws of p₀ through the forward SDE to time T with `steps`
    /// steps of `stepper`; returns the n × d states at T. The start draws
    /// come from `Seed::new(seed).child("start")`, the Brownian paths from its
    /// child `"paths"` (never one stream for both).
    pub fn run_forward(
        &self,
        stepper: &dyn Stepper,
        n: usize,
        steps: usize,
        seed: u64,
    ) -> Result<Vec<f64>> {
        self.run_over_horizon(&self.p0, &self.forward_problem()?, stepper, n, steps, seed)
    }

    /// Draws `n` samples of p_T (exact) and runs the reverse SDE from s = 0 to
    /// s = T with `steps` steps of `stepper`; returns the n × d states, which
    /// should be distributed as p₀. Seeds as in [`Self::run_forward`].
    pub fn run_reverse(
        self: &Arc<Self>,
        stepper: &dyn Stepper,
        n: usize,
        steps: usize,
        seed: u64,
    ) -> Result<Vec<f64>> {
        let start = self.marginal(self.horizon)?;
        self.run_over_horizon(&start, &self.reverse_problem()?, stepper, n, steps, seed)
    }

    /// Runs `problem` from 0 to T with `steps` steps of `stepper` from `n`
    /// draws of `start` (seeded as in [`Self::run_forward`]); the n × d
    /// states at T.
    fn run_over_horizon(
        &self,
        start: &GaussianMixture,
        problem: &Problem,
        stepper: &dyn Stepper,
        n: usize,
        steps: usize,
        seed: u64,
    ) -> Result<Vec<f64>> {
        let seed = Seed::new(seed);
        let start = start.sample_n(n, seed.child("start").value());
        let cfg = EnsembleConfig {
            paths: n,
            initial: Initial::Each(Arc::new(start)),
            t0: 0.0,
            save_at: vec![self.horizon],
            max_step: self.horizon / steps as f64,
            seed: seed.child("paths").value(),
        };
        Ok(simulate(problem, stepper, &cfg, &|_| {})?
            .states(0)
            .to_vec())
    }
}

/// One component's parameters estimated from a sample by posterior
/// responsibility, with Monte Carlo standard errors.
#[derive(Debug, Clone)]
pub struct ComponentFit {
    /// Estimated weight (mean responsibility) and its standard error.
    pub weight: (f64, f64),
    /// Estimated mean and the standard error of each entry.
    pub mean: (DVector<f64>, DVector<f64>),
    /// Estimated covariance and the standard error of each entry.
    pub cov: (DMatrix<f64>, DMatrix<f64>),
}

/// Fits each component of `reference` to the sample `x` (n × d row-major)
/// by responsibility weighting: with rₖ(y) = wₖN(y; mₖ, Σₖ)/p(y) computed under
/// `reference`, ŵₖ = mean rₖ, m̂ₖ = Σrₖy/Σrₖ, Σ̂ₖ = Σrₖ(y − m̂ₖ)(y − m̂ₖ)ᵀ/Σrₖ.
///
/// Oracle: if x is drawn from `reference`, E[rₖ(Y)g(Y)] = wₖE_{N(mₖ,Σₖ)}\[g\]
/// exactly (whatever the overlap), so these estimates are consistent for wₖ,
/// mₖ, Σₖ; their standard errors are the sample standard deviations of the
/// influence terms rₖ, rₖ(y − m̂ₖ)/ŵₖ and rₖ((y − m̂ₖ)(y − m̂ₖ)ᵀ − Σ̂ₖ)/ŵₖ over √n.
pub fn fit_by_responsibility(reference: &GaussianMixture, x: &[f64]) -> Vec<ComponentFit> {
    let d = reference.dim();
    let n = x.len() / d;
    let nf = n as f64;
    let k = reference.components().len();
    let r: Vec<Vec<f64>> = x.chunks(d).map(|y| reference.responsibilities(y)).collect();
    let sd = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / (v.len() as f64 - 1.0)).sqrt()
    };
    (0..k)
        .map(|c| {
            let rc: Vec<f64> = r.iter().map(|r| r[c]).collect();
            let sr: f64 = rc.iter().sum();
            let w = sr / nf;
            let mut m = DVector::zeros(d);
            for (y, rr) in x.chunks(d).zip(&rc) {
                for a in 0..d {
                    m[a] += rr * y[a];
                }
            }
            m /= sr;
            let mut s = DMatrix::zeros(d, d);
            for (y, rr) in x.chunks(d).zip(&rc) {
                for a in 0..d {
                    for b in 0..d {
                        s[(a, b)] += rr * (y[a] - m[a]) * (y[b] - m[b]);
                    }
                }
            }
            s /= sr;
            let mut m_se = DVector::zeros(d);
            let mut s_se = DMatrix::zeros(d, d);
            for a in 0..d {
                let inf: Vec<f64> = x
                    .chunks(d)
                    .zip(&rc)
                    .map(|(y, rr)| rr * (y[a] - m[a]) / w)
                    .collect();
                m_se[a] = sd(&inf) / nf.sqrt();
                for b in 0..d {
                    let inf: Vec<f64> = x
                        .chunks(d)
                        .zip(&rc)
                        .map(|(y, rr)| rr * ((y[a] - m[a]) * (y[b] - m[b]) - s[(a, b)]) / w)
                        .collect();
                    s_se[(a, b)] = sd(&inf) / nf.sqrt();
                }
            }
            ComponentFit {
                weight: (w, sd(&rc) / nf.sqrt()),
                mean: (m, m_se),
                cov: (s, s_se),
            }
        })
        .collect()
}

/// The largest |estimate − truth| / standard error over every weight, mean
/// entry and (upper-triangle) covariance entry of the fits, against the
/// parameters of `truth`; also returns the number of statistics compared.
pub fn worst_z(fits: &[ComponentFit], truth: &GaussianMixture) -> (f64, usize) {
    let mut worst: f64 = 0.0;
    let mut count = 0;
    for (f, (w, c)) in fits
        .iter()
        .zip(truth.weights().iter().zip(truth.components()))
    {
        let d = c.dim();
        worst = worst.max((f.weight.0 - w).abs() / f.weight.1);
        count += 1;
        for a in 0..d {
            worst = worst.max((f.mean.0[a] - c.mean()[a]).abs() / f.mean.1[a]);
            count += 1;
            for b in a..d {
                worst = worst.max((f.cov.0[(a, b)] - c.cov()[(a, b)]).abs() / f.cov.1[(a, b)]);
                count += 1;
            }
        }
    }
    (worst, count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fokker_planck::{FokkerPlanck1d, Grid1d};
    use crate::gaussian::Gaussian;
    use crate::numdiff;
    use crate::sde::steppers::{EulerMaruyama, Sra1};

    pub(crate) fn example() -> ReverseDiffusion {
        let p0 = GaussianMixture::new(
            vec![0.35, 0.65],
            vec![
                Gaussian::new(
                    DVector::from_vec(vec![-1.5, 0.5]),
                    DMatrix::from_row_slice(2, 2, &[0.2, 0.05, 0.05, 0.1]),
                )
                .unwrap(),
                Gaussian::new(
                    DVector::from_vec(vec![1.0, -0.5]),
                    DMatrix::from_row_slice(2, 2, &[0.15, -0.05, -0.05, 0.25]),
                )
                .unwrap(),
            ],
        )
        .unwrap();
        ReverseDiffusion::new(
            p0,
            DVector::from_vec(vec![0.3, -0.2]),
            DMatrix::from_row_slice(2, 2, &[0.5, 0.2, 0.2, 0.3]),
            1.5,
        )
        .unwrap()
    }

    #[test]
    fn score_matches_the_mixture_of_the_marginal() {
        // Two independent routes to ∇ln p_τ: the simultaneous diagonalisation
        // here and the Cholesky-based GaussianMixture::score of the marginal.
        let r = example();
        for tau in [0.0, 0.3, 1.5] {
            let m = r.marginal(tau).unwrap();
            for y in [[0.0, 0.0], [-1.2, 0.4], [2.0, -2.0]] {
                let mut g = [0.0; 2];
                r.score_into(&y, tau, &mut g);
                let want = m.score(&y);
                assert!((g[0] - want[0]).abs() < 1e-10 && (g[1] - want[1]).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn forward_and_reverse_fokker_planck_hold_pointwise() {
        // p_τ solves ∂_τp = −v·∇p + ½tr(K⁻¹∇²p); q_s = p_{T−s} solves the reverse
        // equation ∂_s q = −∇·(b_rev q) + ½tr(K⁻¹∇²q). Derivatives by central
        // differences (numdiff), so the tolerance is ~1e-6 relative. The
        // reverse identity fails if the score term has the wrong factor.
        let r = example();
        let kinv = r.kinv().clone();
        let t = r.horizon();
        let p = |y: &[f64], tau: f64| r.marginal(tau).unwrap().pdf(y);
        for (y, s) in [([0.1, -0.2], 0.4), ([-1.0, 0.6], 1.0), ([1.3, -0.4], 0.2)] {
            let tau = t - s;
            let h = 1e-4;
            let dp_dtau = (p(&y, tau + h) - p(&y, tau - h)) / (2.0 * h);
            let grad = numdiff::gradient(|x| p(x, tau), &y);
            let hess = numdiff::hessian(|x| p(x, tau), &y);
            let diff = 0.5 * (&kinv * &hess).trace();
            let v = DVector::from_vec(vec![0.3, -0.2]);
            let fwd = -v.dot(&grad) + diff;
            let scale = dp_dtau.abs().max(1e-3);
            assert!(
                (dp_dtau - fwd).abs() < 1e-5 * scale.max(1.0),
                "{dp_dtau} vs {fwd}"
            );
            // Reverse: divergence of the flux b_rev q by a numerical Jacobian.
            for (factor, should_hold) in [(1.0, true), (2.0, false)] {
                let rr = r.clone().with_score_factor(factor);
                let flux = |x: &[f64]| {
                    let mut b = [0.0; 2];
                    rr.reverse_drift_into(x, s, &mut b);
                    DVector::from_vec(vec![b[0] * p(x, tau), b[1] * p(x, tau)])
                };
                let div = numdiff::jacobian(flux, &y).trace();
                let rhs = -div + diff;
                let holds = (-dp_dtau - rhs).abs() < 1e-5 * scale.max(1.0);
                assert_eq!(holds, should_hold, "factor {factor}: {} vs {rhs}", -dp_dtau);
            }
        }
    }

    #[test]
    fn reverse_fokker_planck_on_a_grid_recovers_p0_in_1d() {
        // Deterministic check of the reverse drift: solve the reverse
        // Fokker–Planck equation on the 1-D grid from p_T to s = T; the result
        // must be p₀ up to the grid's O(h²) error (here < 2e-3 in L¹), while p_T
        // itself is far from p₀.
        let p0 = GaussianMixture::new(
            vec![0.4, 0.6],
            vec![
                Gaussian::new(
                    DVector::from_vec(vec![-1.5]),
                    DMatrix::from_element(1, 1, 0.1),
                )
                .unwrap(),
                Gaussian::new(
                    DVector::from_vec(vec![1.0]),
                    DMatrix::from_element(1, 1, 0.2),
                )
                .unwrap(),
            ],
        )
        .unwrap();
        let r = Arc::new(
            ReverseDiffusion::new(
                p0.clone(),
                DVector::from_vec(vec![0.4]),
                DMatrix::from_element(1, 1, 0.8),
                1.0,
            )
            .unwrap(),
        );
        let pt = r.marginal(1.0).unwrap();
        let rr = Arc::clone(&r);
        let g = Grid1d::new(-7.0, 7.0, 700).unwrap();
        let mut fp = FokkerPlanck1d::constant_diffusion(
            g,
            move |y, s| {
                let mut b = [0.0];
                rr.reverse_drift_into(&[y], s, &mut b);
                b[0]
            },
            0.8,
            |y| pt.pdf(&[y]),
        )
        .unwrap();
        let start_err = fp.l1_error(|y| p0.pdf(&[y]));
        fp.advance_to(1.0).unwrap();
        let err = fp.l1_error(|y| p0.pdf(&[y]));
        eprintln!("reverse FP: L1 to p0 {start_err} → {err}");
        assert!(start_err > 0.3 && err < 2e-3);
    }

    #[test]
    fn reverse_sde_recovers_p0_and_forward_ensemble_matches_p_t() {
        // Oracle: the responsibility-weighted estimates of fit_by_responsibility
        // are consistent for the true weights, means and covariances (see its
        // docs); 2 components × (1 weight + 2 means + 3 covariances) = 12
        // statistics, each ~N(0, 1) if the sample has the target law. With
        // Bonferroni, P(max|z| > 4.0) ≈ 12 × 6.3e-5 < 1e-3. SRA1 (weak order 2)
        // with 100 steps keeps the time-discretisation bias well below the
        // standard errors of 8000 paths.
        let r = Arc::new(example());
        let n = 8000;
        let x = r.run_reverse(&Sra1, n, 100, 11).unwrap();
        let fits = fit_by_responsibility(r.initial(), &x);
        let (z, count) = worst_z(&fits, r.initial());
        eprintln!(
            "reverse: worst |z| = {z} over {count} statistics; fits {:?}",
            fits[0].cov.0
        );
        assert_eq!(count, 12);
        assert!(z < 4.0, "reverse SDE does not recover p0: worst z {z}");

        // The forward ensemble (Euler–Maruyama, exact in law for this constant
        // drift and diffusion) against the mixture p_T.
        let y = r.run_forward(&EulerMaruyama, n, 10, 12).unwrap();
        let pt = r.marginal(r.horizon()).unwrap();
        let (zf, _) = worst_z(&fit_by_responsibility(&pt, &y), &pt);
        eprintln!("forward: worst |z| = {zf}");
        assert!(zf < 4.0, "forward ensemble is not p_T: worst z {zf}");

        // Negative control: the √2-convention score factor 2 must be detected.
        let wrong = Arc::new(example().with_score_factor(2.0));
        let xw = wrong.run_reverse(&Sra1, 2000, 100, 13).unwrap();
        let (zw, _) = worst_z(&fit_by_responsibility(r.initial(), &xw), r.initial());
        eprintln!("factor 2: worst |z| = {zw}");
        assert!(zw > 10.0);
    }
}

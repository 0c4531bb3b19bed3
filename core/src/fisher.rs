//! Estimators of the Fisher metric I(θ) (eq. 29).
//!
//! Every estimator returns a symmetric [`FisherEstimate`]; Monte Carlo ones carry
//! per-entry standard errors. Convention (docs/conventions.md): I is the
//! **per-observation** Fisher; n observations carry n·I.
//!
//! | method | formula | kind |
//! |---|---|---|
//! | [`Method::ClosedForm`] | the model's own I(θ) | exact |
//! | [`Method::ScoreOuter`] | E\[ℓℓᵀ\] over y ~ p(·\|θ) (eq. 29) | Monte Carlo, or an exact sum over a discrete support |
//! | [`Method::NegHessian`] | −E[∇² ln p] | Monte Carlo, or an exact sum over a discrete support |
//! | [`Method::KlHessian`] | ∇²_θ′ KL(θ‖θ′) at θ′ = θ (eq. 31) | deterministic (finite differences) |
//! | [`Method::Jacobian`] | JᵀΣ⁻¹J for y = G(θ) + N(0, Σ) (eqs. 40–42) | deterministic |
//! | [`Method::Empirical`] | (1/n) Σ ℓ(yₙ)ℓ(yₙ)ᵀ over given data | biased |
//!
//! # Derivatives
//! The score and Hessian inside the expectations are the model's own
//! ([`Model::score`], [`Model::hessian`]) when they are exact, as for every
//! built-in model (automatic differentiation, [`crate::ad`]); then the Monte
//! Carlo estimators are limited by Monte Carlo error alone. For a model without
//! exact derivatives (a plugin) they are central differences with steps in
//! Fisher units ([`step_scales`]), never absolute steps.
//!
//! # Exact sums
//! When the model enumerates its support ([`Model::support`]: Bernoulli,
//! categorical, the finite exponential family, Poisson with a moderate rate),
//! E\[ℓℓᵀ\], −E[∇² ln p] and E\[ℓ\] are sums over the support, exact up to
//! rounding and the stated tail mass; Monte Carlo could not resolve a
//! probability of 10⁻⁶ with 50 000 draws.
//!
//! The Monte Carlo loops allocate their buffers once per chunk of 1024 draws,
//! never per draw.

use crate::error::{Error, Field, Result};
use crate::linalg;
use crate::model::{Model, type_name};
use crate::numdiff;
use crate::rng;
use nalgebra::{DMatrix, DVector};
use serde::Serialize;

/// Which estimator produced a [`FisherEstimate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The model's closed form.
    ClosedForm,
    /// E\[ℓℓᵀ\] (eq. 29), Monte Carlo or exact sum.
    ScoreOuter,
    /// −E[∇² ln p], Monte Carlo or exact sum.
    NegHessian,
    /// Hessian of the closed-form KL at θ′ = θ (eq. 31).
    KlHessian,
    /// JᵀΣ⁻¹J for a forward map with Gaussian noise.
    Jacobian,
    /// The empirical Fisher of a data set (biased).
    Empirical,
}

impl Method {
    /// Whether the estimator is an expectation over y (Monte Carlo with
    /// standard errors, or an exact sum for an enumerable support; see
    /// [`FisherEstimate::enumerated`]).
    pub fn is_monte_carlo(self) -> bool {
        matches!(self, Method::ScoreOuter | Method::NegHessian)
    }
}

/// An expectation computed as an exact sum over an enumerated support.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Enumerated {
    /// The number of support points summed.
    pub points: usize,
    /// An upper bound on the probability of the points left out (0 for a
    /// finite support).
    pub tail_mass: f64,
}

/// A Fisher matrix and, for Monte Carlo estimators, the standard error of each entry.
#[derive(Debug, Clone, Serialize)]
pub struct FisherEstimate {
    /// How it was obtained.
    pub method: Method,
    /// The symmetric matrix.
    pub matrix: DMatrix<f64>,
    /// Per-entry standard errors (Monte Carlo estimators only).
    pub std_err: Option<DMatrix<f64>>,
    /// Samples used (Monte Carlo and empirical estimators).
    pub samples: Option<usize>,
    /// True for estimators that are biased even with infinitely many samples
    /// away from the truth (the empirical Fisher).
    pub biased: bool,
    /// For [`Method::ScoreOuter`] and [`Method::NegHessian`] summed exactly
    /// over the model's support: how (then `std_err` and `samples` are `None`).
    pub enumerated: Option<Enumerated>,
    /// Monte Carlo estimators: Kish's effective sample size (Σ|xₛ|)²/Σxₛ² of
    /// each entry's terms xₛ. It is close to n when every draw contributes
    /// alike and close to the number of rare events when a few draws carry the
    /// mean (a gamma rate entry at shape 10⁻³ rests on the ~n·10⁻³ draws with
    /// y of order one); the normal approximation behind a z-score needs it
    /// large.
    pub effective_samples: Option<DMatrix<f64>>,
    /// The KL Hessian only: per entry, the disagreement of the two step levels
    /// it chose ([`numdiff::hessian_adaptive_spread`]), an estimate of its
    /// difference error.
    #[serde(skip)]
    pub difference_spread: Option<DMatrix<f64>>,
}

impl FisherEstimate {
    fn exact(method: Method, matrix: DMatrix<f64>) -> Self {
        FisherEstimate {
            method,
            matrix: symmetrize(matrix),
            std_err: None,
            samples: None,
            biased: false,
            enumerated: None,
            effective_samples: None,
            difference_spread: None,
        }
    }
}

/// (A + Aᵀ)/2.
pub fn symmetrize(a: DMatrix<f64>) -> DMatrix<f64> {
    (&a + a.transpose()) * 0.5
}

fn missing(model: &dyn Model, what: &str) -> Error {
    Error::Missing {
        model: type_name(model).to_string(),
        capability: what.to_string(),
    }
}

/// (a) The closed form, if the model has one.
///
/// Errors: [`Error::Failed`] naming the first entry that is not finite and θ
/// when the closed form overflows or is NaN at a valid θ (a Bernoulli
/// p = 5e-324: 1/(p(1−p)) = ∞; a gamma shape of 1e-200: ψ′ overflows).
pub fn closed_form(model: &dyn Model, theta: &[f64]) -> Result<FisherEstimate> {
    model.check_params(theta)?;
    let m = model
        .fisher(theta)
        .ok_or_else(|| missing(model, "closed-form Fisher"))?;
    if let Some((i, j)) = (0..m.nrows())
        .flat_map(|i| (0..m.ncols()).map(move |j| (i, j)))
        .find(|&(i, j)| !m[(i, j)].is_finite())
    {
        let names = model.param_names();
        let at: Vec<String> = names
            .iter()
            .zip(theta)
            .map(|(n, t)| format!("{n} = {t:e}"))
            .collect();
        return Err(Error::failed(
            "closed-form Fisher",
            format!(
                "entry I[{}][{}] = {} at {} (the closed form of `{}` is beyond double precision here)",
                names[i],
                names[j],
                m[(i, j)],
                at.join(", "),
                type_name(model)
            ),
        ));
    }
    Ok(FisherEstimate::exact(Method::ClosedForm, m))
}

/// Draws of the pilot estimate that sets finite-difference steps when a model
/// has neither exact derivatives nor a deterministic Fisher metric.
pub const PILOT_SAMPLES: usize = 4096;

/// Finite-difference scales sᵢ for the parameters of `model` at θ: the Fisher
/// unit 1/√Iᵢᵢ, from `fisher` when given, else the closed form, else JᵀΣ⁻¹J,
/// else a pilot Monte Carlo E\[ℓℓᵀ\] ([`PILOT_SAMPLES`] draws, default steps);
/// a diagonal entry that is not positive and finite falls back to
/// max(1, |θᵢ|). Each sᵢ is then halved until θ ± sᵢeᵢ lies in the parameter
/// space, so that a parameter near its boundary (a Bernoulli p = 10⁻⁶, whose
/// Fisher unit is 10⁻³) is stepped at the boundary's scale.
///
/// Steps are then ε^{1/3}·sᵢ (first derivatives) and ε^{1/4}·sᵢ (second), see
/// [`numdiff`]. The result depends on θ but on nothing random except the
/// pilot, which has a fixed seed.
pub fn step_scales(model: &dyn Model, theta: &[f64], fisher: Option<&DMatrix<f64>>) -> Vec<f64> {
    let d = theta.len();
    let diag: Option<Vec<f64>> = fisher
        .map(|f| f.diagonal().iter().copied().collect())
        .or_else(|| {
            model
                .fisher(theta)
                .map(|f| f.diagonal().iter().copied().collect())
        })
        .or_else(|| {
            jacobian_form(model, theta)
                .ok()
                .map(|f| f.matrix.diagonal().iter().copied().collect())
        })
        .or_else(|| {
            let pilot = Deriv::with_scales(model, None);
            score_outer_statistic(&pilot, theta)
                .sample(model, theta, PILOT_SAMPLES, 0x005C_A1E5)
                .ok()
                .map(|m| m.finish(PILOT_SAMPLES, Method::ScoreOuter))
                .map(|f| f.matrix.diagonal().iter().copied().collect())
        });
    let mut s: Vec<f64> = (0..d)
        .map(|i| {
            let v = diag.as_ref().map_or(f64::NAN, |g| g[i]);
            let u = 1.0 / v.sqrt();
            if u > 0.0 && u.is_finite() {
                u
            } else {
                numdiff::default_scale(theta[i])
            }
        })
        .collect();
    let mut t = theta.to_vec();
    for i in 0..d {
        for _ in 0..200 {
            t[i] = theta[i] + s[i];
            let up = model.check_params(&t).is_ok();
            t[i] = theta[i] - s[i];
            let down = model.check_params(&t).is_ok();
            t[i] = theta[i];
            if up && down {
                break;
            }
            s[i] *= 0.5;
        }
    }
    s
}

/// How the estimators differentiate ln p: the model's exact derivatives, or
/// central differences at per-parameter scales.
struct Deriv<'a> {
    model: &'a dyn Model,
    /// Finite-difference scales (`None`: the default scales of [`numdiff`]).
    scales: Option<Vec<f64>>,
}

impl<'a> Deriv<'a> {
    /// Exact derivatives where the model has them; Fisher-unit steps otherwise.
    fn new(model: &'a dyn Model, theta: &[f64]) -> Self {
        let scales = if model.has_exact_score() && model.has_exact_hessian() {
            None
        } else {
            Some(step_scales(model, theta, None))
        };
        Deriv { model, scales }
    }

    fn with_scales(model: &'a dyn Model, scales: Option<Vec<f64>>) -> Self {
        Deriv { model, scales }
    }

    fn scales(&self, theta: &[f64], out: &mut [f64]) {
        match &self.scales {
            Some(s) => out.copy_from_slice(s),
            None => {
                for (o, t) in out.iter_mut().zip(theta) {
                    *o = numdiff::default_scale(*t);
                }
            }
        }
    }

    /// ℓ(y) into `w.s`.
    fn score(&self, theta: &[f64], y: &[f64], w: &mut Work) {
        if self.model.has_exact_score() {
            self.model.score(theta, y, &mut w.s);
        } else {
            self.scales(theta, &mut w.sc);
            numdiff::gradient_work(
                |t| self.model.log_likelihood(t, y),
                theta,
                &w.sc,
                &mut w.xp,
                &mut w.s,
            );
        }
    }

    /// ∇² ln p(y) into `w.h` (row-major, symmetric).
    fn hessian(&self, theta: &[f64], y: &[f64], w: &mut Work) {
        let d = theta.len();
        if self.model.has_exact_hessian() {
            self.model.hessian(theta, y, &mut w.h);
            return;
        }
        self.scales(theta, &mut w.sc);
        if self.model.has_exact_score() {
            // One order less of differencing: the Jacobian of the exact score.
            numdiff::jacobian_work(
                |t, out| self.model.score(t, y, out),
                theta,
                &w.sc,
                &mut w.xp,
                &mut w.fp,
                &mut w.fm,
                &mut w.h,
            );
            for i in 0..d {
                for j in 0..i {
                    let v = 0.5 * (w.h[i * d + j] + w.h[j * d + i]);
                    w.h[i * d + j] = v;
                    w.h[j * d + i] = v;
                }
            }
        } else {
            numdiff::hessian_work(
                |t| self.model.log_likelihood(t, y),
                theta,
                &w.sc,
                &mut w.xp,
                &mut w.h,
            );
        }
    }
}

/// Per-chunk buffers of the Monte Carlo loops (allocated once per chunk).
struct Work {
    s: Vec<f64>,
    h: Vec<f64>,
    sc: Vec<f64>,
    xp: Vec<f64>,
    fp: Vec<f64>,
    fm: Vec<f64>,
}

impl Work {
    fn new(d: usize) -> Self {
        Work {
            s: vec![0.0; d],
            h: vec![0.0; d * d],
            sc: vec![0.0; d],
            xp: vec![0.0; d],
            fp: vec![0.0; d],
            fm: vec![0.0; d],
        }
    }
}

/// Accumulates, entry-wise, the sum, the sum of squares and the sum of
/// absolute values of a matrix-valued sample, each entry in units of its own
/// power of two 2ᵏ (k the binary exponent of the entry's first non-zero term,
/// raised when a term exceeds the unit by more than 2^[`REBASE_BITS`]).
///
/// Scaling by a power of two is exact, so at ordinary scales the results are
/// the bits of plain sums; at extreme ones no square under- or overflows (a
/// normal's scores at σ = 10¹⁰⁰ are of order 10⁻¹⁰⁰, their squares 10⁻²⁰⁰,
/// and the squares of those, behind the standard error, 10⁻⁴⁰⁰).
struct Moments {
    sum: DMatrix<f64>,
    sq: DMatrix<f64>,
    abs: DMatrix<f64>,
    /// The exponent k of each entry's unit; `None` until a non-zero finite term.
    unit: Vec<Option<i32>>,
}

/// A term more than 2^REBASE_BITS times an entry's unit moves the unit up,
/// so the squares in units stay below 2^(2·REBASE_BITS + 2) and their sum over
/// any feasible number of draws stays finite.
const REBASE_BITS: i32 = 256;

impl Moments {
    fn new(rows: usize, cols: usize) -> Self {
        Moments {
            sum: DMatrix::zeros(rows, cols),
            sq: DMatrix::zeros(rows, cols),
            abs: DMatrix::zeros(rows, cols),
            unit: vec![None; rows * cols],
        }
    }
    fn unit_index(&self, i: usize, j: usize) -> usize {
        i + j * self.sum.nrows()
    }
    /// Moves entry (i, j) to the unit 2ᵏ (k not below its present unit).
    fn rebase(&mut self, i: usize, j: usize, k: i32) {
        let u = self.unit_index(i, j);
        if let Some(old) = self.unit[u] {
            let shift = old - k;
            self.sum[(i, j)] = linalg::ldexp(self.sum[(i, j)], shift);
            self.abs[(i, j)] = linalg::ldexp(self.abs[(i, j)], shift);
            self.sq[(i, j)] = linalg::ldexp(linalg::ldexp(self.sq[(i, j)], shift), shift);
        }
        self.unit[u] = Some(k);
    }
    fn add(&mut self, i: usize, j: usize, v: f64) {
        let u = self.unit_index(i, j);
        if v != 0.0 && v.is_finite() {
            let e = linalg::binary_exponent(v);
            match self.unit[u] {
                None => self.unit[u] = Some(e),
                Some(k) if e > k + REBASE_BITS => self.rebase(i, j, e),
                Some(_) => {}
            }
        }
        let x = linalg::ldexp(v, -self.unit[u].unwrap_or(0));
        self.sum[(i, j)] += x;
        self.sq[(i, j)] += x * x;
        self.abs[(i, j)] += x.abs();
    }
    fn add_outer(&mut self, s: &[f64]) {
        for i in 0..s.len() {
            for j in 0..s.len() {
                self.add(i, j, s[i] * s[j]);
            }
        }
    }
    /// The moments of both samples (each entry in the larger of the two units).
    fn merge(mut self, mut o: Moments) -> Self {
        for j in 0..self.sum.ncols() {
            for i in 0..self.sum.nrows() {
                let u = self.unit_index(i, j);
                match (self.unit[u], o.unit[u]) {
                    (Some(a), Some(b)) if a < b => self.rebase(i, j, b),
                    (Some(a), Some(b)) if b < a => o.rebase(i, j, a),
                    (None, Some(b)) => self.unit[u] = Some(b),
                    _ => {}
                }
            }
        }
        self.sum += o.sum;
        self.sq += o.sq;
        self.abs += o.abs;
        self
    }
    /// Kish's effective sample size (Σ|x|)²/Σx² per entry (n when Σx² = 0);
    /// the unit cancels.
    fn effective(&self, n: usize) -> DMatrix<f64> {
        DMatrix::from_fn(self.sum.nrows(), self.sum.ncols(), |i, j| {
            let q = self.sq[(i, j)];
            if q > 0.0 {
                self.abs[(i, j)].powi(2) / q
            } else {
                n as f64
            }
        })
    }
    /// The sample mean and its standard error sqrt(Var/n), with the unbiased
    /// variance, both computed in the entry's unit and then scaled back.
    fn mean_se(self, n: usize) -> (DMatrix<f64>, DMatrix<f64>) {
        let nf = n as f64;
        let scaled = &self.sum / nf;
        let k = |i: usize, j: usize| self.unit[self.unit_index(i, j)].unwrap_or(0);
        let se = DMatrix::from_fn(scaled.nrows(), scaled.ncols(), |i, j| {
            let var = (self.sq[(i, j)] / nf - scaled[(i, j)].powi(2)) * nf / (nf - 1.0).max(1.0);
            linalg::ldexp((var.max(0.0) / nf).sqrt(), k(i, j))
        });
        let mean = DMatrix::from_fn(scaled.nrows(), scaled.ncols(), |i, j| {
            linalg::ldexp(scaled[(i, j)], k(i, j))
        });
        (mean, se)
    }
    fn finish(self, n: usize, method: Method) -> FisherEstimate {
        let eff = self.effective(n);
        let (mean, se) = self.mean_se(n);
        FisherEstimate {
            method,
            matrix: symmetrize(mean),
            std_err: Some(se),
            samples: Some(n),
            biased: false,
            enumerated: None,
            effective_samples: Some(eff),
            difference_spread: None,
        }
    }
}

fn check_samples(n: usize) -> Result<()> {
    if n < 2 {
        return Err(Error::setting(
            "samples",
            format!("must be at least 2, got {n}"),
        ));
    }
    Ok(())
}

/// The one Monte Carlo loop over y ~ p(·|θ): `n` seeded draws in parallel
/// chunks, `accumulate(y, work, moments)` per draw,
/// chunk moments merged in chunk order so the bits do not depend on threads.
/// Buffers are allocated once per chunk, never per draw.
fn over_samples<F>(
    model: &dyn Model,
    theta: &[f64],
    n: usize,
    seed: u64,
    shape: (usize, usize),
    accumulate: F,
) -> Result<Moments>
where
    F: Fn(&[f64], &mut Work, &mut Moments) + Sync,
{
    model.check_params(theta)?;
    check_samples(n)?;
    let d = model.dim();
    let parts = rng::par_chunks(n, seed, |_, range, r| {
        let mut m = Moments::new(shape.0, shape.1);
        let mut w = Work::new(d);
        // The chunk's draws at once (`Model::sample_batch`: the same bits as
        // drawing them one by one), then one accumulation per draw.
        let k = model.obs_dim();
        let mut ys = vec![0.0; range.len() * k];
        model.sample_batch(theta, r, &mut ys);
        for i in 0..range.len() {
            accumulate(&ys[i * k..(i + 1) * k], &mut w, &mut m);
        }
        m
    });
    Ok(parts
        .into_iter()
        .fold(Moments::new(shape.0, shape.1), Moments::merge))
}

/// The exact sum Σ_y P(y|θ) f(y) over the model's enumerated support, with
/// `accumulate(y, work, weight, sum)` per point y.
fn over_support<F>(
    model: &dyn Model,
    theta: &[f64],
    shape: (usize, usize),
    accumulate: F,
) -> Option<(DMatrix<f64>, Enumerated)>
where
    F: Fn(&[f64], &mut Work, f64, &mut DMatrix<f64>),
{
    let sup = model.support(theta)?;
    let m = model.obs_dim();
    let mut w = Work::new(model.dim());
    let mut sum = DMatrix::zeros(shape.0, shape.1);
    for k in 0..sup.len() {
        let p = sup.probs[k];
        if p == 0.0 {
            continue;
        }
        accumulate(sup.point(k, m), &mut w, p, &mut sum);
    }
    Some((
        sum,
        Enumerated {
            points: sup.len(),
            tail_mass: sup.tail_mass,
        },
    ))
}

/// A d × d matrix-valued statistic of one observation: `fill(y, work)`
/// computes the derivatives it needs, then `entry(work, weight, i, j)` gives
/// entry (i, j) times the weight (the point's probability for an exact sum,
/// 1 for a Monte Carlo draw), multiplied in the order that keeps its bits.
struct MatrixStatistic<F, G> {
    fill: F,
    entry: G,
}

impl<F, G> MatrixStatistic<F, G>
where
    F: Fn(&[f64], &mut Work) + Sync,
    G: Fn(&Work, f64, usize, usize) -> f64 + Sync,
{
    /// Its Monte Carlo moments over `n` draws y ~ p(·|θ) ([`over_samples`]).
    fn sample(&self, model: &dyn Model, theta: &[f64], n: usize, seed: u64) -> Result<Moments> {
        let d = model.dim();
        over_samples(model, theta, n, seed, (d, d), |y, w, m| {
            (self.fill)(y, w);
            for i in 0..d {
                for j in 0..d {
                    m.add(i, j, (self.entry)(w, 1.0, i, j));
                }
            }
        })
    }

    /// Its expectation at θ (checked by the caller): an exact sum over the
    /// support when the model enumerates it ([`Model::support`]; `n` and
    /// `seed` are then unused), else a Monte Carlo average over `n` seeded
    /// draws.
    fn expectation(
        &self,
        model: &dyn Model,
        theta: &[f64],
        n: usize,
        seed: u64,
        method: Method,
    ) -> Result<FisherEstimate> {
        let d = model.dim();
        if let Some((sum, e)) = over_support(model, theta, (d, d), |y, w, p, sum| {
            (self.fill)(y, w);
            for i in 0..d {
                for j in 0..d {
                    sum[(i, j)] += (self.entry)(w, p, i, j);
                }
            }
        }) {
            let mut est = FisherEstimate::exact(method, sum);
            est.enumerated = Some(e);
            return Ok(est);
        }
        Ok(self.sample(model, theta, n, seed)?.finish(n, method))
    }
}

/// The outer product of the score, ℓℓᵀ, as a [`MatrixStatistic`].
#[allow(clippy::type_complexity)]
fn score_outer_statistic<'a>(
    deriv: &'a Deriv<'a>,
    theta: &'a [f64],
) -> MatrixStatistic<
    impl Fn(&[f64], &mut Work) + Sync + 'a,
    impl Fn(&Work, f64, usize, usize) -> f64 + Sync,
> {
    MatrixStatistic {
        fill: move |y: &[f64], w: &mut Work| deriv.score(theta, y, w),
        entry: |w: &Work, p: f64, i: usize, j: usize| p * w.s[i] * w.s[j],
    }
}

/// (b) E\[ℓℓᵀ\] (eq. 29): an exact sum over the support when the model
/// enumerates it ([`Model::support`]; `n` and `seed` are then unused), else a
/// Monte Carlo average over `n` draws y ~ p(·|θ), seeded and parallel (the same
/// seed gives the same bits with any number of threads).
pub fn score_outer(
    model: &dyn Model,
    theta: &[f64],
    n: usize,
    seed: u64,
) -> Result<FisherEstimate> {
    expectation_estimate(Method::ScoreOuter, model, theta, n, seed)
}

/// (b) or (c), `method` being [`Method::ScoreOuter`] or
/// [`Method::NegHessian`], by [`MatrixStatistic::expectation`].
fn expectation_estimate(
    method: Method,
    model: &dyn Model,
    theta: &[f64],
    n: usize,
    seed: u64,
) -> Result<FisherEstimate> {
    model.check_params(theta)?;
    check_samples(n)?;
    let deriv = Deriv::new(model, theta);
    if method == Method::NegHessian {
        let d = model.dim();
        MatrixStatistic {
            fill: |y: &[f64], w: &mut Work| deriv.hessian(theta, y, w),
            entry: |w: &Work, p: f64, i: usize, j: usize| -(p * w.h[i * d + j]),
        }
        .expectation(model, theta, n, seed, method)
    } else {
        score_outer_statistic(&deriv, theta).expectation(model, theta, n, seed, method)
    }
}

/// The mean of the score E_θ\[ℓ\] (eq. 28: it is 0) and its standard error per
/// component.
#[derive(Debug, Clone)]
pub struct ScoreMeanEstimate {
    /// The mean of each score component.
    pub mean: DVector<f64>,
    /// Its Monte Carlo standard error (zeros for an exact sum).
    pub std_err: DVector<f64>,
    /// Set when the mean is an exact sum over the support.
    pub enumerated: Option<Enumerated>,
    /// Kish's effective sample size per component (Monte Carlo only; see
    /// [`FisherEstimate::effective_samples`]).
    pub effective_samples: Option<DVector<f64>>,
}

/// E_θ\[ℓ\] over the support (exact) or over `n` draws y ~ p(·|θ) (Monte Carlo),
/// with its standard error per component. Seeded and thread-count independent.
pub fn score_mean_estimate(
    model: &dyn Model,
    theta: &[f64],
    n: usize,
    seed: u64,
) -> Result<ScoreMeanEstimate> {
    model.check_params(theta)?;
    check_samples(n)?;
    let d = model.dim();
    let deriv = Deriv::new(model, theta);
    if let Some((sum, e)) = over_support(model, theta, (d, 1), |y, w, p, sum| {
        deriv.score(theta, y, w);
        for i in 0..d {
            sum[(i, 0)] += p * w.s[i];
        }
    }) {
        return Ok(ScoreMeanEstimate {
            mean: sum.column(0).into_owned(),
            std_err: DVector::zeros(d),
            enumerated: Some(e),
            effective_samples: None,
        });
    }
    let m = over_samples(model, theta, n, seed, (d, 1), |y, w, m| {
        deriv.score(theta, y, w);
        for (i, v) in w.s.iter().enumerate() {
            m.add(i, 0, *v);
        }
    })?;
    let eff = m.effective(n).column(0).into_owned();
    let (mean, se) = m.mean_se(n);
    Ok(ScoreMeanEstimate {
        mean: mean.column(0).into_owned(),
        std_err: se.column(0).into_owned(),
        enumerated: None,
        effective_samples: Some(eff),
    })
}

/// The mean of the score E_θ\[ℓ\] and its standard error per component
/// (eq. 28: the mean is 0); see [`score_mean_estimate`].
pub fn score_mean(
    model: &dyn Model,
    theta: &[f64],
    n: usize,
    seed: u64,
) -> Result<(DVector<f64>, DVector<f64>)> {
    let e = score_mean_estimate(model, theta, n, seed)?;
    Ok((e.mean, e.std_err))
}

/// (c) −E[∇² ln p(y|θ)]: with the model's exact Hessian when it has one
/// (automatic differentiation for the built-in models), else central
/// differences in Fisher-unit steps ([`step_scales`]); an exact sum over the
/// support when the model enumerates it, else a Monte Carlo average over `n`
/// draws.
pub fn neg_hessian(
    model: &dyn Model,
    theta: &[f64],
    n: usize,
    seed: u64,
) -> Result<FisherEstimate> {
    expectation_estimate(Method::NegHessian, model, theta, n, seed)
}

/// (d) The Hessian in θ′ of the closed-form KL(θ‖θ′) at θ′ = θ (eq. 31), by
/// central second differences with steps in Fisher units ([`step_scales`];
/// without a closed-form or Jacobian Fisher, the units come from a first
/// pass of this same Hessian at the default steps).
pub fn kl_hessian(model: &dyn Model, theta: &[f64]) -> Result<FisherEstimate> {
    model.check_params(theta)?;
    model
        .kl(theta, theta)
        .ok_or_else(|| missing(model, "closed-form KL"))?;
    let first = if model.fisher(theta).is_some() || model.forward(theta).is_some() {
        None
    } else {
        Some(numdiff::hessian(|t| kl_or_nan(model, theta, t), theta))
    };
    let scales = step_scales(model, theta, first.as_ref());
    kl_hessian_scaled(model, theta, &scales)
}

/// KL(θ‖t), NaN when the model gives none.
fn kl_or_nan(model: &dyn Model, theta: &[f64], t: &[f64]) -> f64 {
    model.kl(theta, t).unwrap_or(f64::NAN)
}

/// (d) with steps at given per-parameter scales (Fisher units 1/√Iᵢᵢ from any
/// rough estimate of I): second differences of θ′ ↦ KL(θ‖θ′) with steps
/// ε^{1/4}·sᵢ·4^{−k}, the level k chosen per entry where consecutive levels
/// agree best ([`numdiff::hessian_adaptive`]), made representable. A closed-form
/// KL that keeps its relative accuracy as θ′ → θ lets the steps go far below
/// the Fisher unit, where a family far from quadratic over one Fisher unit
/// (a natural parameter whose probabilities are 10⁻⁶) is quadratic. Each scale is first halved
/// until θ ± sᵢeᵢ is in the parameter space (a Bernoulli p = 0.999 lives 10⁻³
/// from its boundary, where its Fisher unit is 0.03). Scales that are not
/// positive and finite fall back to max(1, |θᵢ|).
pub fn kl_hessian_scaled(
    model: &dyn Model,
    theta: &[f64],
    scales: &[f64],
) -> Result<FisherEstimate> {
    model.check_params(theta)?;
    model
        .kl(theta, theta)
        .ok_or_else(|| missing(model, "closed-form KL"))?;
    if scales.len() != theta.len() {
        return Err(Error::Dimension {
            field: Field::key("scales"),
            expected: format!("{} (one per parameter)", theta.len()),
            got: scales.len(),
        });
    }
    let d = theta.len();
    let diag = DMatrix::from_fn(d, d, |i, j| {
        let s = scales[i];
        if i == j && s > 0.0 && s.is_finite() {
            1.0 / (s * s)
        } else {
            0.0
        }
    });
    let s = step_scales(model, theta, Some(&diag));
    let (h, spread) = numdiff::hessian_adaptive_spread(|t| kl_or_nan(model, theta, t), theta, &s);
    Ok(FisherEstimate {
        difference_spread: Some(symmetrize(spread)),
        ..FisherEstimate::exact(Method::KlHessian, h)
    })
}

/// (e) JᵀΣ⁻¹J for a model y = G(θ) + N(0, Σ) (eqs. 40–42), by a Cholesky solve.
pub fn jacobian_form(model: &dyn Model, theta: &[f64]) -> Result<FisherEstimate> {
    model.check_params(theta)?;
    let j = model
        .forward_jacobian(theta)
        .ok_or_else(|| missing(model, "forward map"))?;
    let sigma = model
        .noise_covariance()
        .ok_or_else(|| missing(model, "Gaussian noise covariance"))?;
    let chol = linalg::cholesky(&sigma, "noise covariance")?;
    let sj = chol.solve(&j);
    Ok(FisherEstimate::exact(Method::Jacobian, j.transpose() * sj))
}

/// (f) The empirical Fisher (1/n) Σₙ ℓ(yₙ)ℓ(yₙ)ᵀ of a data set, rows = observations.
///
/// **Biased**: it equals eq. (29) only when the data come from p(·|θ) itself and
/// n → ∞; at any other θ (and for the MLE on finite data) it is not the Fisher.
/// See [`crate::empirical`] for the comparison with I(θ).
///
/// # Errors
/// As [`empirical_scores`].
pub fn empirical(model: &dyn Model, theta: &[f64], data: &[Vec<f64>]) -> Result<FisherEstimate> {
    Ok(empirical_scores(model, theta, data)?.fisher)
}

/// The scores of a data set at θ: the empirical Fisher (f) and the mean score
/// m = (1/n) Σₙ ℓ(yₙ) with its standard error, so that
/// F̂ = C + m mᵀ with C the (biased) sample covariance of the scores.
#[derive(Debug, Clone)]
pub struct EmpiricalScores {
    /// F̂ = (1/n) Σ ℓℓᵀ, d × d, with per-entry standard errors.
    pub fisher: FisherEstimate,
    /// m, length d (units: 1/parameter).
    pub mean: DVector<f64>,
    /// Standard error of each component of m, √(Var/n).
    pub mean_std_err: DVector<f64>,
}

/// The scores of `data` (one row per observation, each of length
/// `model.obs_dim()`) at `theta`: [`EmpiricalScores`].
///
/// # Errors
/// Bad input naming the field `data[k]` or `data[k][j]` (checked in this
/// order, row by row before the count): a row of the wrong length ([`Error::Dimension`]), a NaN or infinite value
/// ([`Error::NotFinite`]), an observation with probability 0 at θ
/// ([`Error::Domain`]); fewer than 2 rows (`data`); θ outside the parameter
/// space ([`Error::Param`]). [`Error::Failed`] when a score comes out NaN or infinite.
pub fn empirical_scores(
    model: &dyn Model,
    theta: &[f64],
    data: &[Vec<f64>],
) -> Result<EmpiricalScores> {
    model.check_params(theta)?;
    let k = model.obs_dim();
    for (r, y) in data.iter().enumerate() {
        if y.len() != k {
            return Err(Error::Dimension {
                field: Field::key("data").at(r),
                expected: format!("{k} (the observation size of `{}`)", type_name(model)),
                got: y.len(),
            });
        }
        if let Some(j) = y.iter().position(|v| !v.is_finite()) {
            return Err(Error::NotFinite {
                field: Field::key("data").at(r).at(j),
                value: y[j],
            });
        }
        let ll = model.log_likelihood(theta, y);
        if ll.is_nan() || ll == f64::NEG_INFINITY {
            return Err(Error::domain(
                Field::key("data").at(r),
                format!("{y:?}"),
                format!(
                    "has ln p(y | theta) = {ll} at theta = {theta:?}: not an outcome of the model there"
                ),
            ));
        }
    }
    // After the rows' own checks: a single NaN row is named as NaN, not as
    // too few rows (tryout 7, F20).
    if data.len() < 2 {
        return Err(Error::domain(
            "data",
            format!("{} observations", data.len()),
            "must hold at least 2 observations",
        ));
    }
    let d = model.dim();
    let deriv = Deriv::new(model, theta);
    let mut m = Moments::new(d, d);
    let mut first = Moments::new(d, 1);
    let mut w = Work::new(d);
    for (r, y) in data.iter().enumerate() {
        deriv.score(theta, y, &mut w);
        if let Some(i) = w.s.iter().position(|v| !v.is_finite()) {
            return Err(Error::failed(
                "the empirical Fisher",
                format!("score component {i} is {} at data[{r}] = {y:?}", w.s[i]),
            ));
        }
        m.add_outer(&w.s);
        for (i, v) in w.s.iter().enumerate() {
            first.add(i, 0, *v);
        }
    }
    let n = data.len();
    let mut fisher = m.finish(n, Method::Empirical);
    fisher.biased = true;
    let (mean, se) = first.mean_se(n);
    Ok(EmpiricalScores {
        fisher,
        mean: mean.column(0).into_owned(),
        mean_std_err: se.column(0).into_owned(),
    })
}

/// How to ask for a Monte Carlo Fisher metric: `samples` draws y ~ p(·|θ),
/// chunk k drawing from `seed.stream(k)` ([`rng::Seed`]). The one way every
/// runner asks for one; give it a child seed of the run
/// (`run_seed.child("fisher")`) so its draws share no stream with the run's
/// other computations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FisherOptions {
    /// Monte Carlo draws (used only when no deterministic route exists).
    pub samples: usize,
    /// The seed of the draws.
    pub seed: rng::Seed,
}

impl FisherOptions {
    /// [`best`] at θ with these options: the closed form, the Jacobian form or
    /// the KL Hessian when the model has one, else E\[ℓℓᵀ\] by Monte Carlo.
    pub fn best(&self, model: &dyn Model, theta: &[f64]) -> Result<DMatrix<f64>> {
        best(model, theta, self.samples, self.seed.value())
    }
}

/// The best available Fisher: the closed form if the model has one, otherwise
/// the Jacobian form, otherwise the KL Hessian, otherwise Monte Carlo E\[ℓℓᵀ\]
/// with `n` samples.
pub fn best(model: &dyn Model, theta: &[f64], n: usize, seed: u64) -> Result<DMatrix<f64>> {
    if let Ok(e) = closed_form(model, theta) {
        return Ok(e.matrix);
    }
    if let Ok(e) = jacobian_form(model, theta) {
        return Ok(e.matrix);
    }
    if let Ok(e) = kl_hessian(model, theta) {
        return Ok(e.matrix);
    }
    Ok(score_outer(model, theta, n, seed)?.matrix)
}

//! Exact conjugate posteriors: the oracles of oracles.md §4 (updates from data,
//! eq. 32) and §7 (the dynamical-Bayes flow, eqs. 33–34, where T pseudo-
//! observations carry the average sufficient statistic E_{θ*}[t(y)]).
//!
//! Every oracle keeps its hyper-parameters in natural (additive) form, so a
//! streaming update adds one observation's sufficient statistic and a batch
//! update adds the sum over the batch. For counts (Bernoulli, Poisson,
//! categorical) the statistics are integers, exact in f64, and streaming equals
//! batch bit for bit; for the Gaussian families the two differ only by the
//! rounding of the sums.

use super::Posterior;
use super::prior::{Factor, Prior};
use crate::error::{Error, Result};
use crate::gaussian::Gaussian;
use crate::linalg;
use nalgebra::{DMatrix, DVector};

/// Normal mean with known noise variance σ²: prior N(m₀, s₀²).
#[derive(Debug, Clone, PartialEq)]
pub struct NormalMean {
    /// Noise variance σ².
    pub noise_var: f64,
    /// Precision 1/s².
    pub precision: f64,
    /// Precision times mean, h = m/s².
    pub shift: f64,
}

impl NormalMean {
    /// Prior N(m₀, s₀²) for the mean of N(μ, σ²) data.
    pub fn new(m0: f64, s0: f64, noise_var: f64) -> Self {
        NormalMean {
            noise_var,
            precision: 1.0 / (s0 * s0),
            shift: m0 / (s0 * s0),
        }
    }
    /// One observation.
    pub fn observe(&mut self, y: f64) {
        self.precision += 1.0 / self.noise_var;
        self.shift += y / self.noise_var;
    }
    /// A batch: precision + n/σ², shift + Σy/σ².
    pub fn observe_batch(&mut self, ys: &[f64]) {
        self.precision += ys.len() as f64 / self.noise_var;
        self.shift += ys.iter().sum::<f64>() / self.noise_var;
    }
    /// The dynamical-Bayes posterior π_T for truth μ*: precision 1/s₀² + T/σ²,
    /// mean (m₀/s₀² + Tμ*/σ²)/precision (oracles.md §7).
    pub fn flow(&self, t: f64, mu_star: f64) -> Self {
        NormalMean {
            noise_var: self.noise_var,
            precision: self.precision + t / self.noise_var,
            shift: self.shift + t * mu_star / self.noise_var,
        }
    }
}

impl Posterior for NormalMean {
    fn dim(&self) -> usize {
        1
    }
    fn mean(&self) -> DVector<f64> {
        DVector::from_element(1, self.shift / self.precision)
    }
    fn cov(&self) -> DMatrix<f64> {
        DMatrix::from_element(1, 1, 1.0 / self.precision)
    }
}

/// Beta–Bernoulli: Beta(a, b) over p.
#[derive(Debug, Clone, PartialEq)]
pub struct BetaBernoulli {
    /// a.
    pub a: f64,
    /// b.
    pub b: f64,
}

impl BetaBernoulli {
    /// One trial y ∈ {0, 1}.
    pub fn observe(&mut self, y: f64) {
        self.a += y;
        self.b += 1.0 - y;
    }
    /// A batch of trials: Beta(a + k, b + n − k).
    pub fn observe_batch(&mut self, ys: &[f64]) {
        let k: f64 = ys.iter().sum();
        self.a += k;
        self.b += ys.len() as f64 - k;
    }
    /// π_T = Beta(a + Tp*, b + T(1 − p*)).
    pub fn flow(&self, t: f64, p_star: f64) -> Self {
        BetaBernoulli {
            a: self.a + t * p_star,
            b: self.b + t * (1.0 - p_star),
        }
    }
}

impl Posterior for BetaBernoulli {
    fn dim(&self) -> usize {
        1
    }
    fn mean(&self) -> DVector<f64> {
        DVector::from_element(1, self.a / (self.a + self.b))
    }
    fn cov(&self) -> DMatrix<f64> {
        let s = self.a + self.b;
        DMatrix::from_element(1, 1, self.a * self.b / (s * s * (s + 1.0)))
    }
}

/// Gamma–Poisson: Gamma(a, b) (shape, rate) over the rate λ.
#[derive(Debug, Clone, PartialEq)]
pub struct GammaPoisson {
    /// Shape a.
    pub a: f64,
    /// Rate b.
    pub b: f64,
}

impl GammaPoisson {
    /// One count.
    pub fn observe(&mut self, y: f64) {
        self.a += y;
        self.b += 1.0;
    }
    /// A batch: Gamma(a + Σy, b + n).
    pub fn observe_batch(&mut self, ys: &[f64]) {
        self.a += ys.iter().sum::<f64>();
        self.b += ys.len() as f64;
    }
    /// π_T = Gamma(a + Tλ*, b + T).
    pub fn flow(&self, t: f64, lambda_star: f64) -> Self {
        GammaPoisson {
            a: self.a + t * lambda_star,
            b: self.b + t,
        }
    }
}

impl Posterior for GammaPoisson {
    fn dim(&self) -> usize {
        1
    }
    fn mean(&self) -> DVector<f64> {
        DVector::from_element(1, self.a / self.b)
    }
    fn cov(&self) -> DMatrix<f64> {
        DMatrix::from_element(1, 1, self.a / (self.b * self.b))
    }
}

/// Dirichlet–categorical: Dir(α) over the K class probabilities; as a
/// [`Posterior`] it is reported on the K − 1 free coordinates p₁…p_{K−1}
/// (docs/conventions.md).
#[derive(Debug, Clone, PartialEq)]
pub struct DirichletCategorical {
    /// α₁…α_K.
    pub alpha: Vec<f64>,
}

impl DirichletCategorical {
    /// One class index y ∈ {0, …, K−1}.
    pub fn observe(&mut self, y: f64) {
        self.alpha[y as usize] += 1.0;
    }
    /// A batch: Dir(α + counts).
    pub fn observe_batch(&mut self, ys: &[f64]) {
        let mut counts = vec![0.0; self.alpha.len()];
        for &y in ys {
            counts[y as usize] += 1.0;
        }
        for (a, c) in self.alpha.iter_mut().zip(counts) {
            *a += c;
        }
    }
    /// π_T = Dir(α + T·p*), p* the K probabilities.
    pub fn flow(&self, t: f64, p_star: &[f64]) -> Self {
        DirichletCategorical {
            alpha: self
                .alpha
                .iter()
                .zip(p_star)
                .map(|(a, p)| a + t * p)
                .collect(),
        }
    }
}

impl Posterior for DirichletCategorical {
    fn dim(&self) -> usize {
        self.alpha.len() - 1
    }
    fn mean(&self) -> DVector<f64> {
        let s: f64 = self.alpha.iter().sum();
        DVector::from_iterator(self.dim(), self.alpha.iter().map(|a| a / s))
    }
    fn cov(&self) -> DMatrix<f64> {
        let s: f64 = self.alpha.iter().sum();
        let m: Vec<f64> = self.alpha.iter().map(|a| a / s).collect();
        let k = self.dim();
        DMatrix::from_fn(k, k, |i, j| {
            let d = if i == j { m[i] } else { 0.0 };
            (d - m[i] * m[j]) / (s + 1.0)
        })
    }
}

/// Linear-Gaussian y = Aθ + ε, ε ~ N(0, Σ), prior N(m₀, P₀⁻¹), kept as the
/// natural parameters (P, h = Pm).
#[derive(Debug, Clone, PartialEq)]
pub struct LinearGaussian {
    /// The design A (m × d).
    pub a: DMatrix<f64>,
    /// Σ⁻¹ (m × m).
    pub noise_precision: DMatrix<f64>,
    /// The posterior precision P.
    pub precision: DMatrix<f64>,
    /// h = P·mean.
    pub shift: DVector<f64>,
}

impl LinearGaussian {
    /// Prior N(m₀, P₀⁻¹) for y = Aθ + N(0, Σ).
    pub fn new(
        a: DMatrix<f64>,
        noise_cov: &DMatrix<f64>,
        m0: DVector<f64>,
        p0: DMatrix<f64>,
    ) -> Result<Self> {
        if a.nrows() != noise_cov.nrows() || a.ncols() != m0.len() || p0.nrows() != m0.len() {
            return Err(Error::domain(
                "a",
                format!("a {}×{} matrix", a.nrows(), a.ncols()),
                format!(
                    "does not match the noise covariance ({} rows), the prior mean ({} entries) \
                     or the prior precision ({} rows): the linear-Gaussian dimensions disagree",
                    noise_cov.nrows(),
                    m0.len(),
                    p0.nrows()
                ),
            ));
        }
        let sp = linalg::cholesky(noise_cov, "noise covariance")?.inverse();
        linalg::cholesky(&p0, "prior precision")?;
        let shift = &p0 * &m0;
        Ok(LinearGaussian {
            a,
            noise_precision: sp,
            precision: p0,
            shift,
        })
    }
    /// The per-observation Fisher AᵀΣ⁻¹A.
    pub fn fisher(&self) -> DMatrix<f64> {
        self.a.transpose() * &self.noise_precision * &self.a
    }
    /// One observation y (length m).
    pub fn observe(&mut self, y: &[f64]) {
        let y = DVector::from_column_slice(y);
        self.precision += self.fisher();
        self.shift += self.a.transpose() * &self.noise_precision * y;
    }
    /// A batch: P + n·AᵀΣ⁻¹A, h + AᵀΣ⁻¹Σy.
    pub fn observe_batch(&mut self, ys: &[Vec<f64>]) {
        let mut s = DVector::zeros(self.a.nrows());
        for y in ys {
            s += DVector::from_column_slice(y);
        }
        self.precision += self.fisher() * ys.len() as f64;
        self.shift += self.a.transpose() * &self.noise_precision * s;
    }
    /// π_T: precision P₀ + T·AᵀΣ⁻¹A, h₀ + T·AᵀΣ⁻¹Aθ* (oracles.md §7).
    pub fn flow(&self, t: f64, theta_star: &[f64]) -> Self {
        let f = self.fisher();
        let mut o = self.clone();
        o.shift += &f * DVector::from_column_slice(theta_star) * t;
        o.precision += f * t;
        o
    }
    /// The posterior as a [`Gaussian`].
    pub fn gaussian(&self) -> Result<Gaussian> {
        let c = linalg::cholesky(&self.precision, "posterior precision")?;
        Gaussian::from_precision(c.solve(&self.shift), &self.precision)
    }
}

impl Posterior for LinearGaussian {
    fn dim(&self) -> usize {
        self.shift.len()
    }
    fn mean(&self) -> DVector<f64> {
        self.precision
            .clone()
            .cholesky()
            .expect("checked")
            .solve(&self.shift)
    }
    fn cov(&self) -> DMatrix<f64> {
        self.precision
            .clone()
            .cholesky()
            .expect("checked")
            .inverse()
    }
}

/// A model's conjugate prior, as an oracle of the dynamical-Bayes run: the
/// exact posterior of the flow (eqs. 33–34) and of updates from data (eq. 32).
/// A model offers one through [`crate::Model::conjugate`], written in its
/// family's file, for the priors and free coordinates it knows.
pub trait Conjugate: Send + Sync {
    /// The closed form, in words, for reports.
    fn describe(&self) -> &'static str;
    /// Mean and variance (per free coordinate) of the flow's posterior π_T
    /// (eq. 34) for data generated at `star` (the free coordinates of θ*).
    fn flow(&self, t: f64, star: &[f64]) -> (DVector<f64>, DVector<f64>);
    /// Mean and variance after the observations `ys` (eq. 32).
    fn data(&self, ys: &[Vec<f64>]) -> (DVector<f64>, DVector<f64>);
    /// The moments (`mean`, `var`) of this family's posterior restricted to
    /// the box [`lo`ᵢ, `hi`ᵢ] of the free coordinates, which is what a grid
    /// on that box computes: the grid truncates the prior, and with it every
    /// posterior of the flow and of the data. The default returns the moments
    /// unchanged (no truncated form): the comparison then holds only when the
    /// grid's truncation is below the check's tolerance.
    fn truncated(
        &self,
        mean: DVector<f64>,
        var: DVector<f64>,
        _lo: &[f64],
        _hi: &[f64],
    ) -> (DVector<f64>, DVector<f64>) {
        (mean, var)
    }
}

/// Mean and variance of N(m, v) truncated to [lo, hi] (infinite ends allowed):
/// with α = (lo − m)/s, β = (hi − m)/s, Z = Φ(β) − Φ(α),
/// mean m + s(φ(α) − φ(β))/Z, variance v[1 + (αφ(α) − βφ(β))/Z − ((φ(α) − φ(β))/Z)²]
/// (Johnson, Kotz & Balakrishnan, *Continuous Univariate Distributions* 1,
/// §10.1). Z is taken from the tails (erfc) so that a truncation of 10⁻¹⁰ of
/// the mass is not lost to 1 − Φ. Unchanged when Z underflows (the box misses
/// the law).
pub fn truncated_normal_moments(m: f64, v: f64, lo: f64, hi: f64) -> (f64, f64) {
    use statrs::function::erf::erfc;
    let s = v.sqrt();
    let (a, b) = ((lo - m) / s, (hi - m) / s);
    let phi = |x: f64| {
        if x.is_finite() {
            (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
        } else {
            0.0
        }
    };
    // Φ(x) and 1 − Φ(x) from erfc.
    let lower = |x: f64| 0.5 * erfc(-x / std::f64::consts::SQRT_2);
    let upper = |x: f64| 0.5 * erfc(x / std::f64::consts::SQRT_2);
    let z = if a < 0.0 && b > 0.0 {
        1.0 - lower(a) - upper(b)
    } else if b <= 0.0 {
        lower(b) - lower(a)
    } else {
        upper(a) - upper(b)
    };
    if z.is_nan() || z <= 0.0 {
        return (m, v);
    }
    let xphi = |x: f64| if x.is_finite() { x * phi(x) } else { 0.0 };
    let d = (phi(a) - phi(b)) / z;
    (m + s * d, v * (1.0 + (xphi(a) - xphi(b)) / z - d * d))
}

fn moments(p: &dyn Posterior) -> (DVector<f64>, DVector<f64>) {
    (p.mean(), p.var())
}

fn first(ys: &[Vec<f64>]) -> Vec<f64> {
    ys.iter().map(|y| y[0]).collect()
}

impl Conjugate for NormalMean {
    fn describe(&self) -> &'static str {
        "normal mean: precision P0 + T/sigma^2"
    }
    fn flow(&self, t: f64, star: &[f64]) -> (DVector<f64>, DVector<f64>) {
        moments(&NormalMean::flow(self, t, star[0]))
    }
    fn data(&self, ys: &[Vec<f64>]) -> (DVector<f64>, DVector<f64>) {
        let mut p = self.clone();
        p.observe_batch(&first(ys));
        moments(&p)
    }
    /// The posterior is normal: [`truncated_normal_moments`].
    fn truncated(
        &self,
        mean: DVector<f64>,
        var: DVector<f64>,
        lo: &[f64],
        hi: &[f64],
    ) -> (DVector<f64>, DVector<f64>) {
        let (m, v) = truncated_normal_moments(mean[0], var[0], lo[0], hi[0]);
        (DVector::from_element(1, m), DVector::from_element(1, v))
    }
}

impl Conjugate for BetaBernoulli {
    fn describe(&self) -> &'static str {
        "Beta(a + T p*, b + T(1 - p*))"
    }
    fn flow(&self, t: f64, star: &[f64]) -> (DVector<f64>, DVector<f64>) {
        moments(&BetaBernoulli::flow(self, t, star[0]))
    }
    fn data(&self, ys: &[Vec<f64>]) -> (DVector<f64>, DVector<f64>) {
        let mut p = self.clone();
        p.observe_batch(&first(ys));
        moments(&p)
    }
}

impl Conjugate for GammaPoisson {
    fn describe(&self) -> &'static str {
        "Gamma(a + T lambda*, b + T)"
    }
    fn flow(&self, t: f64, star: &[f64]) -> (DVector<f64>, DVector<f64>) {
        moments(&GammaPoisson::flow(self, t, star[0]))
    }
    fn data(&self, ys: &[Vec<f64>]) -> (DVector<f64>, DVector<f64>) {
        let mut p = self.clone();
        p.observe_batch(&first(ys));
        moments(&p)
    }
}

impl Conjugate for LinearGaussian {
    fn describe(&self) -> &'static str {
        "linear-Gaussian: precision P0 + T A^T Sigma^-1 A"
    }
    fn flow(&self, t: f64, star: &[f64]) -> (DVector<f64>, DVector<f64>) {
        moments(&LinearGaussian::flow(self, t, star))
    }
    fn data(&self, ys: &[Vec<f64>]) -> (DVector<f64>, DVector<f64>) {
        let mut p = self.clone();
        p.observe_batch(ys);
        moments(&p)
    }
}

/// The one-parameter case of [`crate::Model::conjugate`]: `Some((i, factor))`
/// when exactly the coordinate `i` is free and the prior has one factor.
pub fn single_free<'a>(free: &[usize], prior: &'a Prior) -> Option<(usize, &'a Factor)> {
    match (free, prior.factors.as_slice()) {
        ([i], [f]) => Some((*i, f)),
        _ => None,
    }
}

/// Normal factors of every coordinate as (means, precisions), for the
/// linear-Gaussian oracle; `None` if any factor is not normal.
pub fn normal_factors(prior: &Prior) -> Option<(DVector<f64>, DMatrix<f64>)> {
    let mut m0 = Vec::new();
    let mut p0 = Vec::new();
    for f in &prior.factors {
        match f {
            Factor::Normal { mean, sd } => {
                m0.push(*mean);
                p0.push(1.0 / (sd * sd));
            }
            _ => return None,
        }
    }
    Some((
        DVector::from_vec(m0),
        DMatrix::from_diagonal(&DVector::from_vec(p0)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    #[allow(clippy::excessive_precision)] // oracle digits as printed (tests/oracles/)
    fn truncated_normal_moments_match_scipy() {
        // Oracle: tests/oracles/bayes_truncated_normal.py (scipy truncnorm,
        // cross-checked by mpmath quadrature). The first case is tryout 5, A7:
        // prior N(0.3, 2²) on the grid [−12, 12], variance 1 − 1.0147e-7.
        let cases = [
            (
                0.3,
                2.0,
                -12.0,
                12.0,
                0.29999997533111039936,
                3.9999995941275191735,
            ),
            (
                0.3,
                2.0,
                -1.0,
                12.0,
                1.1703648951059263696,
                2.1109900680416695388,
            ),
            (
                0.0,
                1.0,
                -2.0,
                3.0,
                0.05078298967487897428,
                0.87314863997540567955,
            ),
            (
                5.0,
                1e-3,
                4.9965,
                5.01,
                5.0000008728857536552,
                9.9694413793266792527e-7,
            ),
            (0.3, 2.0, -40.0, 40.0, 0.3, 4.0),
            (0.3, 2.0, f64::NEG_INFINITY, f64::INFINITY, 0.3, 4.0),
        ];
        for (m, s, lo, hi, wm, wv) in cases {
            let (gm, gv) = truncated_normal_moments(m, s * s, lo, hi);
            assert!(
                (gm - wm).abs() <= 1e-13 * s,
                "{m} {s} {lo} {hi}: mean {gm} vs {wm}"
            );
            assert_relative_eq!(gv, wv, max_relative = 1e-12);
        }
        // The untruncated moments fail the check of experiment.rs (1e-8) in
        // the first case: the fault of A7.
        assert!((4.0f64 - 3.9999995941275191735).abs() / 4.0 > 1e-8);
    }

    #[test]
    fn streaming_equals_batch() {
        // Integer sufficient statistics: exact equality.
        let ys = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        let mut s = BetaBernoulli { a: 2.0, b: 3.0 };
        let mut b = s.clone();
        ys.iter().for_each(|&y| s.observe(y));
        b.observe_batch(&ys);
        assert_eq!(s, b);
        assert_eq!(b, BetaBernoulli { a: 7.0, b: 7.0 }); // Beta(a + k, b + n − k)

        let counts = [3.0, 0.0, 7.0, 2.0, 5.0];
        let mut s = GammaPoisson { a: 1.5, b: 0.5 };
        let mut b = s.clone();
        counts.iter().for_each(|&y| s.observe(y));
        b.observe_batch(&counts);
        assert_eq!(s, b);
        assert_eq!(b, GammaPoisson { a: 18.5, b: 5.5 });

        let cls = [0.0, 2.0, 2.0, 1.0, 2.0];
        let mut s = DirichletCategorical {
            alpha: vec![1.0, 1.0, 1.0],
        };
        let mut b = s.clone();
        cls.iter().for_each(|&y| s.observe(y));
        b.observe_batch(&cls);
        assert_eq!(s, b);
        assert_eq!(b.alpha, vec![2.0, 2.0, 4.0]);

        // Gaussian families: equal up to the rounding of the sums.
        let xs = [0.3, -1.2, 2.5, 0.7];
        let mut s = NormalMean::new(0.5, 2.0, 1.5);
        let mut b = s.clone();
        xs.iter().for_each(|&y| s.observe(y));
        b.observe_batch(&xs);
        assert_relative_eq!(s.mean()[0], b.mean()[0], max_relative = 1e-14);
        assert_relative_eq!(s.cov()[0], b.cov()[0], max_relative = 1e-14);
        // Oracle (oracles.md §4): precision 1/s₀² + n/σ², mean (m₀/s₀² + Σx/σ²)/precision.
        let prec = 0.25 + 4.0 / 1.5;
        assert_relative_eq!(b.cov()[0], 1.0 / prec, max_relative = 1e-14);
        assert_relative_eq!(
            b.mean()[0],
            (0.5 / 4.0 + 2.3 / 1.5) / prec,
            max_relative = 1e-14
        );

        let a = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, -0.3, 2.0]);
        let sig = DMatrix::from_row_slice(2, 2, &[0.5, 0.1, 0.1, 0.8]);
        let mut s =
            LinearGaussian::new(a, &sig, DVector::zeros(2), DMatrix::identity(2, 2)).unwrap();
        let mut b = s.clone();
        let data = vec![vec![0.1, 1.0], vec![-0.4, 2.2], vec![1.3, 0.0]];
        data.iter().for_each(|y| s.observe(y));
        b.observe_batch(&data);
        assert_relative_eq!(s.mean(), b.mean(), max_relative = 1e-13);
        assert_relative_eq!(s.cov(), b.cov(), max_relative = 1e-13);
    }

    #[test]
    fn sequential_consistency() {
        // posterior(D₁) as prior for D₂ equals posterior(D₁ ∪ D₂) (oracles.md §4).
        let (d1, d2) = ([1.0, 4.0, 2.0], [0.0, 6.0]);
        let mut seq = GammaPoisson { a: 2.0, b: 1.0 };
        seq.observe_batch(&d1);
        seq.observe_batch(&d2);
        let mut all = GammaPoisson { a: 2.0, b: 1.0 };
        all.observe_batch(&[1.0, 4.0, 2.0, 0.0, 6.0]);
        assert_eq!(seq, all);
    }
}

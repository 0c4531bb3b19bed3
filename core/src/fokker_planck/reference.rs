//! The reference suite of the Fokker–Planck stage (eqs. 15, 20–24, 26): the
//! grid solver against closed-form kernels and the stationary law e^{−V}, its
//! measured order, the semigroup E_t, the reverse-time SDE on a Gaussian
//! mixture, and the grid against an Euler–Maruyama ensemble. Every problem of
//! the suite is fixed (its seeds too); [`ReferenceSpec::quick`] uses coarser
//! grids and fewer paths. `bayesrg reproduce` runs it as stage
//! `fokker_planck`; it takes a few seconds.

use crate::check::{Check, observed_order};
use crate::error::Result;
use crate::fokker_planck::grid1d::normal_pdf;
use crate::fokker_planck::l1_distance;
use crate::fokker_planck::{FokkerPlanck1d, FokkerPlanck2d, Grid1d};
use crate::gaussian::Gaussian;
use crate::mixture::GaussianMixture;
use crate::observe::{Observer, tick};
use crate::reverse::{ReverseDiffusion, fit_by_responsibility, worst_z};
use crate::sde::ensemble::{EnsembleConfig, Initial, simulate};
use crate::sde::steppers::{EulerMaruyama, Sra1};
use crate::sde::terms::{Diffusion, FnDiagonalNoise, FnDrift, Problem};
use crate::semigroup::HeatSemigroup;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The settings of the reference suite.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceSpec {
    /// Coarser grids and fewer paths (a first look, about a second).
    #[serde(default)]
    pub quick: bool,
}

/// The stationary law of the double well with state-dependent diffusion:
/// cell centres and the three densities.
#[derive(Debug, Clone, Serialize)]
pub struct Stationary {
    /// Cell centres.
    pub y: Vec<f64>,
    /// The grid's stationary law (drift with the ½D′ term).
    pub grid: Vec<f64>,
    /// e^{−V}/Z, cell averages.
    pub exact: Vec<f64>,
    /// The grid's stationary law without the ½D′ term (the control).
    pub grid_without_divergence: Vec<f64>,
}

/// One mixture component recovered from the reverse-time ensemble.
#[derive(Debug, Clone, Serialize)]
pub struct Recovered {
    /// Weight.
    pub weight: f64,
    /// Mean (d).
    pub mean: Vec<f64>,
    /// Covariance (d × d, column-major).
    pub cov: Vec<f64>,
}

/// What the reference suite returns: its checks and every number a writer
/// needs.
#[derive(Debug, Clone, Serialize)]
pub struct ReferenceResult {
    /// Measured order of the grid's L¹ error on Ornstein–Uhlenbeck.
    pub ou_order: f64,
    /// The L¹ errors of that study.
    pub ou_l1_errors: Vec<f64>,
    /// (cells, h, L¹ error) of that study.
    pub ou_convergence: Vec<(usize, f64, f64)>,
    /// The stationary law and its control.
    pub stationary: Stationary,
    /// The largest error estimate of the semigroup quadratures.
    pub semigroup_error_estimates: f64,
    /// Components recovered from the reverse-time ensemble.
    pub reverse_recovered: Vec<Recovered>,
    /// The number of statistics in the worst-|z| check.
    pub reverse_statistics: usize,
    /// The reverse-time ensemble at s = T (n × 2 row-major).
    pub reverse_samples: Vec<f64>,
    /// The first coordinate's marginal density under p₀, (y₁, density).
    pub reverse_marginal: Vec<(f64, f64)>,
    /// χ² of the grid against the Euler–Maruyama ensemble.
    pub chi_square: f64,
    /// That ensemble at τ = 1.
    pub ensemble_sample: Vec<f64>,
    /// The grid density at τ = 1, (y, density) at every other cell.
    pub grid_curve: Vec<(f64, f64)>,
    /// Accuracy warnings of the reference grid runs (none expected).
    pub fokker_planck_warnings: Vec<String>,
    /// Every check.
    pub checks: Vec<Check>,
}

/// Runs every check of the reference suite (see the module docs).
///
/// # Errors
/// Errors of the grid solvers, the semigroup quadrature or the ensembles
/// (none for the fixed problems of the suite), [`crate::Error::Cancelled`].
pub fn run(spec: &ReferenceSpec, obs: &mut dyn Observer) -> Result<ReferenceResult> {
    let quick = spec.quick;
    obs.phase("fokker_planck", Some(7));
    let mut checks = vec![];

    // 1. Heat kernel with drift: N(m0 + cτ, v0 + τD) (conventions.md).
    let (c, d, m0, v0, tau) = (0.7, 0.5, -1.0, 0.25, 1.5);
    let g = Grid1d::new(-8.0, 8.0, 400)?;
    let mut fp =
        FokkerPlanck1d::constant_diffusion(g, move |_, _| c, d, |y| normal_pdf(y, m0, v0))?;
    let mass0 = fp.mass();
    let mut warnings: Vec<String> = vec![];
    let adv = fp.advance_to(tau)?;
    warnings.extend(adv.warnings());
    let (m, v) = (m0 + c * tau, v0 + tau * d);
    checks.extend([
        Check::at_most(
            "1-D kernel: L¹ error of the grid density",
            fp.l1_error(|y| normal_pdf(y, m, v)),
            2e-3,
            "N(y₀ + cτ, v₀ + τK⁻¹), closed form (O(h²) grid error, h = 0.04)",
        ),
        Check::at_most(
            "1-D kernel: |mass(τ) − mass(0)|",
            (fp.mass() - mass0).abs(),
            1e-12,
            "zero-flux finite volumes conserve mass exactly",
        ),
        Check::at_least(
            "1-D kernel: smallest cell value",
            fp.min(),
            0.0,
            "positivity (SSP-RK2 under the forward-Euler limit)",
        ),
    ]);

    // 2. Order of the grid error on Ornstein–Uhlenbeck.
    let (beta, mu, dd, om0, ov0, ot) = (1.3f64, 0.5, 0.8, -1.5, 0.1, 0.6);
    let vinf = dd / (2.0 * beta);
    let om = mu + (-beta * ot).exp() * (om0 - mu);
    let ov = vinf + (-2.0 * beta * ot).exp() * (ov0 - vinf);
    let ns: &[usize] = if quick {
        &[40, 80, 160]
    } else {
        &[40, 80, 160, 320]
    };
    let (mut hs, mut errs) = (vec![], vec![]);
    let mut ou_convergence = vec![];
    for &n in ns {
        let g = Grid1d::new(-5.0, 5.0, n)?;
        let mut fp = FokkerPlanck1d::constant_diffusion(
            g,
            move |y, _| -beta * (y - mu),
            dd,
            |y| normal_pdf(y, om0, ov0),
        )?;
        // (The coarse grids of this convergence study are meant to be
        // inaccurate: their Péclet warnings are not collected.)
        fp.advance_to(ot)?;
        let err = fp.l1_error(|y| normal_pdf(y, om, ov));
        ou_convergence.push((n, g.h(), err));
        hs.push(g.h());
        errs.push(err);
    }
    let order = observed_order(&hs, &errs);
    checks.push(Check::at_most(
        "OU: |measured order − 2|",
        (order - 2.0).abs(),
        0.25,
        "Scharfetter–Gummel fluxes are second order; exact OU mean and variance",
    ));
    tick(obs, 2)?;

    // 3. Stationary law e^{−V} with state-dependent D and its divergence term.
    let dfun = |y: f64| 1.0 + 0.6 * (1.5 * y).sin();
    let ddfun = |y: f64| 0.9 * (1.5 * y).cos();
    let vpot = |y: f64| y.powi(4) / 4.0 - y * y / 2.0;
    let z = {
        let (a, n) = (6.0, 60_000);
        let h = 2.0 * a / n as f64;
        (0..=n)
            .map(|k| {
                let w = if k == 0 || k == n { 0.5 } else { 1.0 };
                w * (-vpot(-a + k as f64 * h)).exp()
            })
            .sum::<f64>()
            * h
    };
    let g = Grid1d::new(-3.5, 3.5, 240)?;
    let exact = g.cell_averages(|y| (-vpot(y)).exp() / z);
    // The stationary law of the scheme does not depend on a start: any
    // cells do (from_cells accepts a density that fills the box).
    let right = FokkerPlanck1d::from_cells(
        g,
        Box::new(move |y, _| -0.5 * dfun(y) * (y * y * y - y) + 0.5 * ddfun(y)),
        Box::new(dfun),
        vec![1.0; g.n],
    )?
    .stationary(0.0)?;
    let wrong = FokkerPlanck1d::from_cells(
        g,
        Box::new(move |y, _| -0.5 * dfun(y) * (y * y * y - y)),
        Box::new(dfun),
        vec![1.0; g.n],
    )?
    .stationary(0.0)?;
    let (err_right, err_wrong) = (
        l1_distance(&right, &exact, &[g.h()]),
        l1_distance(&wrong, &exact, &[g.h()]),
    );
    checks.extend([
        Check::at_most(
            "stationary law, D(y) = 1 + 0.6 sin 1.5y: L¹ error",
            err_right,
            1e-3,
            "e^{−V}/Z, V = y⁴/4 − y²/2 (drift −½DV′ + ½D′)",
        ),
        Check::at_least(
            "stationary law without the ½D′ term: L¹ error",
            err_wrong,
            0.05,
            "the divergence correction is needed (control)",
        ),
    ]);
    let stationary = Stationary {
        y: (0..g.n).map(|i| g.center(i)).collect(),
        grid: right,
        exact,
        grid_without_divergence: wrong,
    };
    tick(obs, 3)?;

    // 4. 2-D correlated heat kernel (whitened grid).
    let kinv = DMatrix::from_row_slice(2, 2, &[0.8, 0.3, 0.3, 0.5]);
    let vel = [0.3, -0.6];
    let g1 = Gaussian::new(
        DVector::from_vec(vec![-1.0, 0.5]),
        DMatrix::from_row_slice(2, 2, &[0.2, 0.05, 0.05, 0.1]),
    )?;
    let g2 = Gaussian::new(
        DVector::from_vec(vec![1.0, -0.5]),
        DMatrix::from_row_slice(2, 2, &[0.1, 0.0, 0.0, 0.3]),
    )?;
    let p0 = GaussianMixture::new(vec![0.4, 0.6], vec![g1, g2])?;
    let t = 0.5;
    let p0c = p0.clone();
    // ±8 in z keeps the law 6 sd from the walls (at ±7 the walls held 4e-6
    // of the mass, which the wall diagnostic reports).
    let mut fp2 = FokkerPlanck2d::whitened(
        [-8.0, -8.0],
        [8.0, 8.0],
        if quick { [137, 137] } else { [160, 160] },
        move |_, _| vel,
        &kinv,
        move |y| p0c.pdf(&y),
    )?;
    let mass2 = fp2.mass();
    warnings.extend(fp2.advance_to(t)?.warnings());
    let pt = p0.diffuse(t, &DVector::from_vec(vel.to_vec()), &kinv)?;
    checks.extend([
        Check::at_most(
            "2-D kernel (correlated K⁻¹): L¹ error",
            fp2.l1_error(|y| pt.pdf(&y)),
            5e-3,
            "mixture diffused in closed form: components N(mₖ + vτ, Σₖ + τK⁻¹)",
        ),
        Check::at_most(
            "2-D kernel: |mass(τ) − mass(0)|",
            (fp2.mass() - mass2).abs(),
            1e-12,
            "zero-flux finite volumes",
        ),
    ]);

    // 5. Semigroup (eqs. 22–24), by the adaptive quadrature: every value
    // carries an error estimate, and the checks compare only differences
    // larger than those estimates.
    let sg =
        HeatSemigroup::new(DVector::from_vec(vel.to_vec()), kinv.clone())?.with_tolerance(1e-11);
    let f = |x: &[f64]| {
        (-(x[0] * x[0] + 2.0 * x[1] * x[1]) / 2.0).exp() * (1.0 + x[0] * x[1]).powi(2)
            + 0.3 * (2.0 * x[0]).sin()
    };
    let (t1, t2) = (0.4, 0.9);
    let mut comp_err: f64 = 0.0;
    let mut pt_err: f64 = 0.0;
    let mut est_err: f64 = 0.0;
    for y in [[0.2, -0.3], [1.5, 1.0], [-1.0, -2.0]] {
        let inner = |zz: &[f64]| sg.apply(t1, &f, zz).map_or(f64::NAN, |r| r.value);
        let two = sg.apply(t2, &inner, &y)?;
        let one = sg.apply(t1 + t2, &f, &y)?;
        comp_err = comp_err.max((two.value - one.value).abs());
        let p = |x: &[f64]| p0.pdf(x);
        let r = sg.apply(t, &p, &y)?;
        pt_err = pt_err.max((r.value - pt.pdf(&y)).abs());
        est_err = est_err.max(two.error).max(one.error).max(r.error);
    }
    // E_64 cos at 0 in 1-D: e^{−32} (the case a fixed 24-node rule got wrong).
    let sg1 = HeatSemigroup::new(
        DVector::from_vec(vec![0.0]),
        DMatrix::from_element(1, 1, 1.0),
    )?;
    let wide = sg1.apply(64.0, &|x| x[0].cos(), &[0.0])?;
    checks.extend([
        Check::at_most(
            "semigroup: max |E_{t₂}E_{t₁}f − E_{t₁+t₂}f|",
            comp_err,
            1e-9,
            "eq. (24); nested vs direct adaptive quadrature",
        ),
        Check::at_most(
            "semigroup: max |E_t(p₀) − p_t|",
            pt_err,
            1e-9,
            "eq. (23) against the closed-form diffused mixture (adaptive quadrature)",
        ),
        Check::at_most(
            "semigroup: |E_64 cos(0) − e^{−32}| (wide kernel)",
            (wide.value - (-32.0f64).exp()).abs(),
            wide.error.max(1e-16),
            "closed form cos(y − vt)e^{−tK⁻¹/2}; tolerance = the quadrature's own error estimate",
        ),
    ]);
    let mut grid_err: f64 = 0.0;
    for y in [[0.0, 0.0], [-0.8, 0.2], [1.2, -1.0]] {
        grid_err = grid_err.max((fp2.density_at(y) - pt.pdf(&y)).abs());
    }
    checks.push(Check::at_most(
        "semigroup: max |FP grid − E_t(p₀)| at test points",
        grid_err,
        3e-3,
        "eq. (23): the Fokker–Planck solution is E_t(p₀) (O(h²) grid error)",
    ));

    // 6. Reverse SDE (eq. 26).
    let rev = Arc::new(ReverseDiffusion::new(
        GaussianMixture::new(
            vec![0.35, 0.65],
            vec![
                Gaussian::new(
                    DVector::from_vec(vec![-1.5, 0.5]),
                    DMatrix::from_row_slice(2, 2, &[0.2, 0.05, 0.05, 0.1]),
                )?,
                Gaussian::new(
                    DVector::from_vec(vec![1.0, -0.5]),
                    DMatrix::from_row_slice(2, 2, &[0.15, -0.05, -0.05, 0.25]),
                )?,
            ],
        )?,
        DVector::from_vec(vec![0.3, -0.2]),
        DMatrix::from_row_slice(2, 2, &[0.5, 0.2, 0.2, 0.3]),
        1.5,
    )?);
    let n = if quick { 4000 } else { 8000 };
    let x = rev.run_reverse(&Sra1, n, 100, 11)?;
    let fits = fit_by_responsibility(rev.initial(), &x);
    let (zr, count) = worst_z(&fits, rev.initial());
    checks.push(Check::at_most(
        "reverse SDE: worst |z| of recovered weights, means, covariances",
        zr,
        4.0,
        "p₀ parameters; responsibility-weighted estimates with MC standard errors, \
         12 statistics, Bonferroni P(max|z| > 4) < 1e-3",
    ));
    let y = rev.run_forward(&EulerMaruyama, n, 10, 12)?;
    let pt_rev = rev.marginal(rev.horizon())?;
    let (zf, _) = worst_z(&fit_by_responsibility(&pt_rev, &y), &pt_rev);
    checks.push(Check::at_most(
        "forward ensemble: worst |z| against the mixture p_T",
        zf,
        4.0,
        "components N(mₖ + vT, Σₖ + TK⁻¹); same estimator",
    ));
    let reverse_recovered = fits
        .iter()
        .map(|f| Recovered {
            weight: f.weight.0,
            mean: f.mean.0.as_slice().to_vec(),
            cov: f.cov.0.as_slice().to_vec(),
        })
        .collect();
    let p0m = rev.initial().clone();
    // Marginal of y₁ under p₀: a 1-D mixture of the first coordinates.
    let reverse_marginal: Vec<(f64, f64)> = (0..200)
        .map(|i| {
            let u = -3.5 + 6.0 * i as f64 / 199.0;
            let dens: f64 = p0m
                .weights()
                .iter()
                .zip(p0m.components())
                .map(|(w, c)| w * normal_pdf(u, c.mean()[0], c.cov()[(0, 0)]))
                .sum();
            (u, dens)
        })
        .collect();
    tick(obs, 6)?;

    // 7. Grid against an Euler–Maruyama ensemble (χ²).
    let paths = if quick { 10_000 } else { 20_000 };
    let drift = FnDrift::new(1, move |y: &[f64], _t: f64, out: &mut [f64]| {
        out[0] = -0.5 * dfun(y[0]) * (y[0].powi(3) - y[0]) + 0.5 * ddfun(y[0])
    });
    let noise = FnDiagonalNoise::new(1, move |y: &[f64], _t: f64, out: &mut [f64]| {
        out[0] = dfun(y[0]).sqrt()
    });
    let problem = Problem::new(Arc::new(drift), Diffusion::Diagonal(Arc::new(noise)))?;
    let start = GaussianMixture::new(
        vec![1.0],
        vec![Gaussian::new(
            DVector::from_vec(vec![0.5]),
            DMatrix::from_element(1, 1, 0.1),
        )?],
    )?;
    let init = start.sample_n(paths, 5);
    let cfg = EnsembleConfig {
        paths,
        initial: Initial::Each(Arc::new(init)),
        t0: 0.0,
        save_at: vec![1.0],
        max_step: 1e-3,
        seed: 6,
    };
    let ens = simulate(&problem, &EulerMaruyama, &cfg, &|_| {})?;
    let sample = ens.coordinate(0, 0);
    let g = Grid1d::new(-4.0, 4.0, 400)?;
    let mut fp = FokkerPlanck1d::new(
        g,
        move |y, _| -0.5 * dfun(y) * (y * y * y - y) + 0.5 * ddfun(y),
        dfun,
        |y| normal_pdf(y, 0.5, 0.1),
    )?;
    warnings.extend(fp.advance_to(1.0)?.warnings());
    let chi = fp.chi_square(&sample, 20);
    checks.push(Check::at_least(
        "grid vs Euler–Maruyama ensemble: χ² p-value (20 bins)",
        chi.p_value,
        1e-3,
        "the grid law at τ = 1 (double well, D(y) = 1 + 0.6 sin 1.5y); Pearson χ², 19 dof",
    ));
    let grid_curve: Vec<(f64, f64)> = (0..g.n)
        .step_by(2)
        .map(|i| (g.center(i), fp.cells()[i]))
        .collect();

    // 8. The solver's own accuracy diagnostics (Péclet number, mass at the
    // walls) over the reference runs above (1, 4 and 7): none may warn.
    checks.push(Check::at_most(
        "Fokker–Planck runs with an accuracy warning (Péclet > 1 or mass at the walls)",
        warnings.len() as f64,
        0.0,
        "Advance::warnings of every advance_to above",
    ));
    tick(obs, 7)?;
    Ok(ReferenceResult {
        ou_order: order,
        ou_l1_errors: errs,
        ou_convergence,
        stationary,
        semigroup_error_estimates: est_err,
        reverse_recovered,
        reverse_statistics: count,
        reverse_samples: x,
        reverse_marginal,
        chi_square: chi.statistic,
        ensemble_sample: sample,
        grid_curve,
        fokker_planck_warnings: warnings,
        checks,
    })
}

//! The Fokker–Planck checks (eqs. 15, 20–24, 26) as one report: the grid
//! solver against closed-form kernels and the stationary law e^{−V}, its
//! measured order, the semigroup E_t, the reverse-time SDE on a Gaussian
//! mixture, and the grid against an Euler–Maruyama ensemble.
//!
//! [`run`] is what `bayesrg reproduce` calls (stage `fokker_planck`, in
//! `commands::stages`); it takes a few seconds (less with `quick`).

use super::{Check, Summary};
use crate::plot::{self, Axes, Series};
use anyhow::{Result, anyhow};
use bayesrg_core::fokker_planck::grid1d::normal_pdf;
use bayesrg_core::fokker_planck::{FokkerPlanck1d, FokkerPlanck2d, Grid1d};
use bayesrg_core::gaussian::Gaussian;
use bayesrg_core::mixture::GaussianMixture;
use bayesrg_core::reverse::{ReverseDiffusion, fit_by_responsibility, worst_z};
use bayesrg_core::sde::ensemble::{EnsembleConfig, Initial, simulate};
use bayesrg_core::sde::steppers::{EulerMaruyama, Sra1};
use bayesrg_core::sde::terms::{Diffusion, FnDiagonalNoise, FnDrift, Problem};
use bayesrg_core::semigroup::HeatSemigroup;
use nalgebra::{DMatrix, DVector};
use serde_json::json;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

fn l1(a: &[f64], b: &[f64], h: f64) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() * h
}

fn slope(hs: &[f64], errs: &[f64]) -> f64 {
    let n = hs.len() as f64;
    let x: Vec<f64> = hs.iter().map(|h| h.ln()).collect();
    let y: Vec<f64> = errs.iter().map(|e| e.ln()).collect();
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    sxy / sxx
}

/// Runs every Fokker–Planck check; writes CSV and PNG files into `dir` when
/// given (the caller owns the folder's atomicity, as `reproduce` does).
pub fn run(dir: Option<&Path>, quick: bool) -> Result<Summary> {
    let e = |e: bayesrg_core::Error| anyhow!("{e}");
    let mut checks = vec![];
    let mut details = serde_json::Map::new();

    // 1. Heat kernel with drift: N(m0 + cτ, v0 + τD) (conventions.md).
    let (c, d, m0, v0, tau) = (0.7, 0.5, -1.0, 0.25, 1.5);
    let g = Grid1d::new(-8.0, 8.0, 400).map_err(e)?;
    let mut fp = FokkerPlanck1d::constant_diffusion(g, move |_, _| c, d, |y| normal_pdf(y, m0, v0))
        .map_err(e)?;
    let mass0 = fp.mass();
    let mut warnings: Vec<String> = vec![];
    let adv = fp.advance_to(tau).map_err(e)?;
    warnings.extend(adv.warnings());
    let (m, v) = (m0 + c * tau, v0 + tau * d);
    checks.push(Check::at_most(
        "1-D kernel: L¹ error of the grid density",
        fp.l1_error(|y| normal_pdf(y, m, v)),
        2e-3,
        "N(y₀ + cτ, v₀ + τK⁻¹), closed form (O(h²) grid error, h = 0.04)",
    ));
    checks.push(Check::at_most(
        "1-D kernel: |mass(τ) − mass(0)|",
        (fp.mass() - mass0).abs(),
        1e-12,
        "zero-flux finite volumes conserve mass exactly",
    ));
    checks.push(Check::at_least(
        "1-D kernel: smallest cell value",
        fp.min(),
        0.0,
        "positivity (SSP-RK2 under the forward-Euler limit)",
    ));

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
    let mut csv = String::from("cells,h,l1_error\n");
    for &n in ns {
        let g = Grid1d::new(-5.0, 5.0, n).map_err(e)?;
        let mut fp = FokkerPlanck1d::constant_diffusion(
            g,
            move |y, _| -beta * (y - mu),
            dd,
            |y| normal_pdf(y, om0, ov0),
        )
        .map_err(e)?;
        // (The coarse grids of this convergence study are meant to be
        // inaccurate: their Péclet warnings are not collected.)
        fp.advance_to(ot).map_err(e)?;
        let err = fp.l1_error(|y| normal_pdf(y, om, ov));
        writeln!(csv, "{n},{},{err}", g.h())?;
        hs.push(g.h());
        errs.push(err);
    }
    let order = slope(&hs, &errs);
    checks.push(Check::at_most(
        "OU: |measured order − 2|",
        (order - 2.0).abs(),
        0.25,
        "Scharfetter–Gummel fluxes are second order; exact OU mean and variance",
    ));
    details.insert("ou_order".into(), json!(order));
    details.insert("ou_l1_errors".into(), json!(errs));

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
    let g = Grid1d::new(-3.5, 3.5, 240).map_err(e)?;
    let exact = g.cell_averages(|y| (-vpot(y)).exp() / z);
    // The stationary law of the scheme does not depend on a start: any
    // cells do (from_cells accepts a density that fills the box).
    let right = FokkerPlanck1d::from_cells(
        g,
        Box::new(move |y, _| -0.5 * dfun(y) * (y * y * y - y) + 0.5 * ddfun(y)),
        Box::new(dfun),
        vec![1.0; g.n],
    )
    .map_err(e)?
    .stationary(0.0)
    .map_err(e)?;
    let wrong = FokkerPlanck1d::from_cells(
        g,
        Box::new(move |y, _| -0.5 * dfun(y) * (y * y * y - y)),
        Box::new(dfun),
        vec![1.0; g.n],
    )
    .map_err(e)?
    .stationary(0.0)
    .map_err(e)?;
    let (err_right, err_wrong) = (l1(&right, &exact, g.h()), l1(&wrong, &exact, g.h()));
    checks.push(Check::at_most(
        "stationary law, D(y) = 1 + 0.6 sin 1.5y: L¹ error",
        err_right,
        1e-3,
        "e^{−V}/Z, V = y⁴/4 − y²/2 (drift −½DV′ + ½D′)",
    ));
    checks.push(Check::at_least(
        "stationary law without the ½D′ term: L¹ error",
        err_wrong,
        0.05,
        "the divergence correction is needed (control)",
    ));
    if let Some(dir) = dir {
        let mut s = String::from("y,grid,exact,grid_without_divergence\n");
        for i in 0..g.n {
            writeln!(s, "{},{},{},{}", g.center(i), right[i], exact[i], wrong[i])?;
        }
        std::fs::write(dir.join("stationary.csv"), s)?;
        std::fs::write(dir.join("ou_convergence.csv"), &csv)?;
        let pts = |v: &[f64]| (0..g.n).map(|i| (g.center(i), v[i])).collect::<Vec<_>>();
        plot::line_chart(
            &dir.join("stationary.png"),
            &Axes {
                title: "Stationary law exp(−V), state-dependent K⁻¹".into(),
                x_label: "y".into(),
                y_label: "density".into(),
                ..Default::default()
            },
            &[
                Series::line("exp(−V)/Z", pts(&exact)),
                Series::points("grid (with ½D′)", pts(&right)),
                Series::line("grid without ½D′", pts(&wrong)),
            ],
        )?;
        plot::line_chart(
            &dir.join("ou_convergence.png"),
            &Axes {
                title: format!("Grid L¹ error on OU, order {order:.2}"),
                x_label: "h".into(),
                y_label: "L¹ error".into(),
                log_x: true,
                log_y: true,
            },
            &[Series::points(
                "L¹ error",
                hs.iter().copied().zip(errs.iter().copied()).collect(),
            )],
        )?;
    }

    // 4. 2-D correlated heat kernel (whitened grid).
    let kinv = DMatrix::from_row_slice(2, 2, &[0.8, 0.3, 0.3, 0.5]);
    let vel = [0.3, -0.6];
    let g1 = Gaussian::new(
        DVector::from_vec(vec![-1.0, 0.5]),
        DMatrix::from_row_slice(2, 2, &[0.2, 0.05, 0.05, 0.1]),
    )
    .map_err(e)?;
    let g2 = Gaussian::new(
        DVector::from_vec(vec![1.0, -0.5]),
        DMatrix::from_row_slice(2, 2, &[0.1, 0.0, 0.0, 0.3]),
    )
    .map_err(e)?;
    let p0 = GaussianMixture::new(vec![0.4, 0.6], vec![g1, g2]).map_err(e)?;
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
    )
    .map_err(e)?;
    let mass2 = fp2.mass();
    warnings.extend(fp2.advance_to(t).map_err(e)?.warnings());
    let pt = p0
        .diffuse(t, &DVector::from_vec(vel.to_vec()), &kinv)
        .map_err(e)?;
    checks.push(Check::at_most(
        "2-D kernel (correlated K⁻¹): L¹ error",
        fp2.l1_error(|y| pt.pdf(&y)),
        5e-3,
        "mixture diffused in closed form: components N(mₖ + vτ, Σₖ + τK⁻¹)",
    ));
    checks.push(Check::at_most(
        "2-D kernel: |mass(τ) − mass(0)|",
        (fp2.mass() - mass2).abs(),
        1e-12,
        "zero-flux finite volumes",
    ));

    // 5. Semigroup (eqs. 22–24), by the adaptive quadrature: every value
    // carries an error estimate, and the checks compare only differences
    // larger than those estimates.
    let sg = HeatSemigroup::new(DVector::from_vec(vel.to_vec()), kinv.clone())
        .map_err(e)?
        .with_tolerance(1e-11);
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
        let two = sg.apply(t2, &inner, &y).map_err(e)?;
        let one = sg.apply(t1 + t2, &f, &y).map_err(e)?;
        comp_err = comp_err.max((two.value - one.value).abs());
        let p = |x: &[f64]| p0.pdf(x);
        let r = sg.apply(t, &p, &y).map_err(e)?;
        pt_err = pt_err.max((r.value - pt.pdf(&y)).abs());
        est_err = est_err.max(two.error).max(one.error).max(r.error);
    }
    // E_64 cos at 0 in 1-D: e^{−32} (the case a fixed 24-node rule got wrong).
    let sg1 = HeatSemigroup::new(
        DVector::from_vec(vec![0.0]),
        DMatrix::from_element(1, 1, 1.0),
    )
    .map_err(e)?;
    let wide = sg1.apply(64.0, &|x| x[0].cos(), &[0.0]).map_err(e)?;
    checks.push(Check::at_most(
        "semigroup: max |E_{t₂}E_{t₁}f − E_{t₁+t₂}f|",
        comp_err,
        1e-9,
        "eq. (24); nested vs direct adaptive quadrature",
    ));
    checks.push(Check::at_most(
        "semigroup: max |E_t(p₀) − p_t|",
        pt_err,
        1e-9,
        "eq. (23) against the closed-form diffused mixture (adaptive quadrature)",
    ));
    checks.push(Check::at_most(
        "semigroup: |E_64 cos(0) − e^{−32}| (wide kernel)",
        (wide.value - (-32.0f64).exp()).abs(),
        wide.error.max(1e-16),
        "closed form cos(y − vt)e^{−tK⁻¹/2}; tolerance = the quadrature's own error estimate",
    ));
    details.insert("semigroup_error_estimates".into(), json!(est_err));
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
    let rev = Arc::new(
        ReverseDiffusion::new(
            GaussianMixture::new(
                vec![0.35, 0.65],
                vec![
                    Gaussian::new(
                        DVector::from_vec(vec![-1.5, 0.5]),
                        DMatrix::from_row_slice(2, 2, &[0.2, 0.05, 0.05, 0.1]),
                    )
                    .map_err(e)?,
                    Gaussian::new(
                        DVector::from_vec(vec![1.0, -0.5]),
                        DMatrix::from_row_slice(2, 2, &[0.15, -0.05, -0.05, 0.25]),
                    )
                    .map_err(e)?,
                ],
            )
            .map_err(e)?,
            DVector::from_vec(vec![0.3, -0.2]),
            DMatrix::from_row_slice(2, 2, &[0.5, 0.2, 0.2, 0.3]),
            1.5,
        )
        .map_err(e)?,
    );
    let n = if quick { 4000 } else { 8000 };
    let x = rev.run_reverse(&Sra1, n, 100, 11).map_err(e)?;
    let fits = fit_by_responsibility(rev.initial(), &x);
    let (zr, count) = worst_z(&fits, rev.initial());
    checks.push(Check::at_most(
        "reverse SDE: worst |z| of recovered weights, means, covariances",
        zr,
        4.0,
        "p₀ parameters; responsibility-weighted estimates with MC standard errors, \
         12 statistics, Bonferroni P(max|z| > 4) < 1e-3",
    ));
    let y = rev.run_forward(&EulerMaruyama, n, 10, 12).map_err(e)?;
    let pt_rev = rev.marginal(rev.horizon()).map_err(e)?;
    let (zf, _) = worst_z(&fit_by_responsibility(&pt_rev, &y), &pt_rev);
    checks.push(Check::at_most(
        "forward ensemble: worst |z| against the mixture p_T",
        zf,
        4.0,
        "components N(mₖ + vT, Σₖ + TK⁻¹); same estimator",
    ));
    details.insert(
        "reverse_recovered".into(),
        json!(
            fits.iter()
                .map(|f| json!({
                    "weight": f.weight.0,
                    "mean": f.mean.0.as_slice(),
                    "cov": f.cov.0.as_slice(),
                }))
                .collect::<Vec<_>>()
        ),
    );
    details.insert("reverse_statistics".into(), json!(count));
    if let Some(dir) = dir {
        let mut s = String::from("y1,y2\n");
        for r in x.chunks(2).take(2000) {
            writeln!(s, "{},{}", r[0], r[1])?;
        }
        std::fs::write(dir.join("reverse_samples.csv"), s)?;
        let xs: Vec<f64> = x.chunks(2).map(|r| r[0]).collect();
        let p0m = rev.initial().clone();
        // Marginal of y₁ under p₀: a 1-D mixture of the first coordinates.
        let curve: Vec<(f64, f64)> = (0..200)
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
        plot::histogram(
            &dir.join("reverse_marginal.png"),
            &Axes {
                title: "Reverse SDE from p_T: first coordinate against p₀".into(),
                x_label: "y₁".into(),
                y_label: "density".into(),
                ..Default::default()
            },
            &xs,
            60,
            &[Series::line("p₀ marginal", curve)],
        )?;
    }

    // 7. Grid against an Euler–Maruyama ensemble (χ²).
    let paths = if quick { 10_000 } else { 20_000 };
    let drift = FnDrift::new(1, move |y: &[f64], _t: f64, out: &mut [f64]| {
        out[0] = -0.5 * dfun(y[0]) * (y[0].powi(3) - y[0]) + 0.5 * ddfun(y[0])
    });
    let noise = FnDiagonalNoise::new(1, move |y: &[f64], _t: f64, out: &mut [f64]| {
        out[0] = dfun(y[0]).sqrt()
    });
    let problem = Problem::new(Arc::new(drift), Diffusion::Diagonal(Arc::new(noise))).map_err(e)?;
    let start = GaussianMixture::new(
        vec![1.0],
        vec![
            Gaussian::new(
                DVector::from_vec(vec![0.5]),
                DMatrix::from_element(1, 1, 0.1),
            )
            .map_err(e)?,
        ],
    )
    .map_err(e)?;
    let init = start.sample_n(paths, 5);
    let cfg = EnsembleConfig {
        paths,
        initial: Initial::Each(Arc::new(init)),
        t0: 0.0,
        save_at: vec![1.0],
        max_step: 1e-3,
        seed: 6,
    };
    let ens = simulate(&problem, &EulerMaruyama, &cfg, &|_| {}).map_err(e)?;
    let sample = ens.coordinate(0, 0);
    let g = Grid1d::new(-4.0, 4.0, 400).map_err(e)?;
    let mut fp = FokkerPlanck1d::new(
        g,
        move |y, _| -0.5 * dfun(y) * (y * y * y - y) + 0.5 * ddfun(y),
        dfun,
        |y| normal_pdf(y, 0.5, 0.1),
    )
    .map_err(e)?;
    warnings.extend(fp.advance_to(1.0).map_err(e)?.warnings());
    let chi = fp.chi_square(&sample, 20);
    checks.push(Check::at_least(
        "grid vs Euler–Maruyama ensemble: χ² p-value (20 bins)",
        chi.p_value,
        1e-3,
        "the grid law at τ = 1 (double well, D(y) = 1 + 0.6 sin 1.5y); Pearson χ², 19 dof",
    ));
    details.insert("chi_square".into(), json!(chi.statistic));
    if let Some(dir) = dir {
        let curve: Vec<(f64, f64)> = (0..g.n)
            .step_by(2)
            .map(|i| (g.center(i), fp.cells()[i]))
            .collect();
        plot::histogram(
            &dir.join("grid_vs_ensemble.png"),
            &Axes {
                title: "Euler–Maruyama ensemble against the Fokker–Planck grid, τ = 1".into(),
                x_label: "y".into(),
                y_label: "density".into(),
                ..Default::default()
            },
            &sample,
            60,
            &[Series::line("grid", curve)],
        )?;
    }

    // 8. The solver's own accuracy diagnostics (Péclet number, mass at the
    // walls) over the reference runs above (1, 4 and 7): none may warn.
    checks.push(Check::at_most(
        "Fokker–Planck runs with an accuracy warning (Péclet > 1 or mass at the walls)",
        warnings.len() as f64,
        0.0,
        "Advance::warnings of every advance_to above",
    ));
    details.insert("fokker_planck_warnings".into(), json!(warnings));

    Ok(Summary::new(
        "fokker_planck",
        None,
        checks,
        serde_json::Value::Object(details),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_run_passes_and_writes_its_files() {
        let dir = std::env::temp_dir().join(format!("bayesrg-fp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s = run(Some(&dir), true).unwrap();
        for c in &s.checks {
            assert!(c.pass, "{c:?}");
        }
        assert!(s.pass);
        for f in [
            "stationary.csv",
            "stationary.png",
            "ou_convergence.csv",
            "reverse_samples.csv",
            "reverse_marginal.png",
            "grid_vs_ensemble.png",
        ] {
            assert!(dir.join(f).exists(), "{f}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}

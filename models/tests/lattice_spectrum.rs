//! The spectrum runner on the lattice free field
//! (`bayesrg_core::geometry::spectrum`): the DB-RG count of eq. (38) and the
//! cutoff check of eqs. (4)–(6), through the library call alone.

use bayesrg_core::geometry::lattice::{Cutoff, resolved_momentum2};
use bayesrg_core::geometry::spectrum::{self, FreeField, SpectrumSpec, dbrg_row, mode_fisher};
use bayesrg_core::model::Lattice;
use bayesrg_core::observe::Silent;
use bayesrg_core::rng::Seed;
use bayesrg_models::lattice_field::LatticeField;

#[test]
fn dbrg_count_at_tau_equal_to_a_fisher_value() {
    // Issue #16 item 10: with τ = Iⱼⱼ exactly, "Iⱼⱼ ≥ τ" and "p̂² ≤ Λ(τ)²"
    // (Λ by bisection of another formula for the same Fisher) rounded
    // differently and the counts disagreed — at 28 of the 100 Fisher
    // values of a 10 × 10 lattice. Oracle (derived, docs/lattice.md): the
    // resolved set is the momentum ball, so the counts agree at every τ.
    let cut = Some(Cutoff {
        lambda: 1.5,
        power: 2.0,
    });
    for (shape, mass, cutoff) in [
        (vec![10, 10], 0.5, None),
        (vec![10, 10], 0.5, cut),
        (vec![16, 16], 0.5, cut),
        (vec![12, 12], 0.4, None),
        (vec![32], 0.3, None),
        (vec![7, 9], 1e-3, None),
        (vec![8, 8], 30.0, cut),
    ] {
        let field = LatticeField::new(shape.clone()).unwrap();
        let theta = field.free_field_theta(mass, cutoff);
        let fi = mode_fisher(&theta);
        let mut old_disagree = 0;
        for &tau in &fi {
            let r = dbrg_row(&field, &fi, tau, mass, cutoff);
            assert_eq!(
                r.resolved_by_fisher, r.resolved_by_momentum,
                "{shape:?}, m = {mass}, τ = {tau:e}"
            );
            let l2 = resolved_momentum2(tau, mass, cutoff);
            let old_f = fi.iter().filter(|i| **i >= tau).count();
            let old_p = Lattice::modes(&field)
                .iter()
                .filter(|m| m.p_hat2 <= l2)
                .count();
            old_disagree += usize::from(old_f != old_p);
        }
        if shape == [10, 10] && cutoff.is_none() {
            assert!(
                old_disagree > 0,
                "the regression case must show the old fault"
            );
        }
    }
    // The check can fail: Λ(τ) of the wrong mass disagrees with the count.
    let field = LatticeField::new(vec![10, 10]).unwrap();
    let fi = mode_fisher(&field.free_field_theta(0.5, None));
    let bad = fi
        .iter()
        .filter(|&&tau| {
            let r = dbrg_row(&field, &fi, tau, 0.6, None);
            r.resolved_by_fisher != r.resolved_by_momentum
        })
        .count();
    assert!(bad > 0);
}

fn free_field_spec(shape: Vec<usize>, mass: f64, cutoff: Option<Cutoff>) -> SpectrumSpec {
    SpectrumSpec {
        model: Box::new(LatticeField::new(shape).unwrap()),
        theta: None,
        free_field: Some(FreeField {
            mass,
            cutoff,
            taus: vec![1e-3, 1e-2, 0.1],
        }),
        expect_decades: None,
        expect_rank: None,
        samples: spectrum::DEFAULT_SAMPLES,
        seed: Seed::DEFAULT,
    }
}

#[test]
fn cutoff_check_maps_the_smooth_cutoff_to_the_momentum_ball() {
    // Eqs. (4)–(6), docs/lattice.md: with K_Λ = exp(−(p̂²/Λ²)²) the
    // information shell at I_Λ = ½K_Λ(Λ²)²/(Λ² + m²)² keeps exactly the modes
    // with p̂² < Λ². Oracle: the count of modes below Λ, recounted here from
    // the lattice momenta, and I_Λ from the formula with K_Λ(Λ²) = e⁻¹.
    for (shape, mass, lambda) in [
        (vec![32], 0.3, 1.5),
        (vec![10, 10], 0.5, 1.5),
        (vec![16, 16], 1e-2, 1.5),
        (vec![12], 2.0, 0.9),
    ] {
        let cutoff = Some(Cutoff { lambda, power: 2.0 });
        let r = spectrum::run(&free_field_spec(shape.clone(), mass, cutoff), &mut Silent).unwrap();
        assert!(r.checks.iter().all(|c| c.pass), "{shape:?}: {:?}", r.checks);
        let w = r.lattice.as_ref().unwrap();
        let cm = w.cutoff.as_ref().unwrap();
        let field = LatticeField::new(shape.clone()).unwrap();
        let below = Lattice::modes(&field)
            .iter()
            .filter(|m| m.p_hat2 < lambda * lambda)
            .count();
        assert_eq!(cm.modes_below_lambda, below, "{shape:?}");
        let want = 0.5 * (-1f64).exp().powi(2) / (lambda * lambda + mass * mass).powi(2);
        assert!(
            (cm.fisher_threshold - want).abs() <= 1e-14 * want,
            "{shape:?}: {} vs {want}",
            cm.fisher_threshold
        );
    }
}

#[test]
fn spectrum_spec_refuses_bad_free_fields_naming_the_field() {
    use bayesrg_core::Error;
    // A cutoff of Λ = 0 names free_field.cutoff.lambda.
    let s = free_field_spec(
        vec![8],
        0.5,
        Some(Cutoff {
            lambda: 0.0,
            power: 2.0,
        }),
    );
    let e = s.validate().unwrap_err();
    assert_eq!(e.field().unwrap().to_string(), "free_field.cutoff.lambda");
    // A massless field without a cutoff has an infinite Fisher at p = 0.
    let e = free_field_spec(vec![8], 0.0, None).validate().unwrap_err();
    assert_eq!(e.field().unwrap().to_string(), "free_field.mass");
    // …and with one: the p = 0 mode's stiffness m² is 0 all the same (tryout
    // 8 G8: it was refused later as a bad `theta`, a key the file lacks).
    let cut = Some(Cutoff {
        lambda: 1.5,
        power: 2.0,
    });
    let e = free_field_spec(vec![8], 0.0, cut).validate().unwrap_err();
    assert_eq!(e.field().unwrap().to_string(), "free_field.mass");
    // θ and [free_field] together; neither.
    let mut s = free_field_spec(vec![8], 0.5, None);
    s.theta = Some(vec![1.0; 8]);
    assert_eq!(
        s.validate().unwrap_err().field().unwrap().to_string(),
        "theta"
    );
    s.theta = None;
    s.free_field = None;
    assert_eq!(
        s.validate().unwrap_err().field().unwrap().to_string(),
        "theta"
    );
    // [free_field] on a model without the lattice capability.
    let s = SpectrumSpec {
        model: Box::new(bayesrg_models::Normal {}),
        ..free_field_spec(vec![8], 0.5, None)
    };
    assert!(matches!(s.validate(), Err(Error::Missing { .. })));
    // A valid spec passes.
    assert!(free_field_spec(vec![8], 0.5, None).validate().is_ok());
}

/// Tryout 8 G17: at θ where the Fisher metric is beyond double precision
/// (normal σ = 1e-300: I = diag(1e600, 2e600) overflows; σ = 1e300: it
/// underflows to 0), the spectrum is a failed computation that says so
/// (exit 1), not a table of NaN or "rank 0". Oracle: the closed form
/// I = diag(1/σ², 2/σ²); at σ = 1e-150 and 1e150 it is representable and
/// the eigenvalues are 2/σ² and 1/σ².
#[test]
fn a_metric_beyond_double_precision_is_a_failed_spectrum() {
    let spec = |sigma: f64| SpectrumSpec {
        model: Box::new(bayesrg_models::Normal {}),
        theta: Some(vec![0.0, sigma]),
        free_field: None,
        ..free_field_spec(vec![8], 0.5, None)
    };
    for sigma in [1e-300, 1e300] {
        let e = spectrum::run(&spec(sigma), &mut Silent).unwrap_err();
        assert!(!e.is_bad_input(), "σ = {sigma:e}: {e}");
        assert!(e.to_string().contains("beyond double precision"), "{e}");
    }
    for sigma in [1e-150, 1e150] {
        let r = spectrum::run(&spec(sigma), &mut Silent).unwrap();
        let want = [2.0 / (sigma * sigma), 1.0 / (sigma * sigma)];
        for (got, want) in r.spectrum.eigenvalues.iter().zip(want) {
            assert!(
                (got - want).abs() <= 1e-14 * want,
                "σ = {sigma:e}: {got} vs {want}"
            );
        }
    }
}

//! The validator on Bernoulli models (the shared fixtures of
//! `bayesrg-testkit`): rare events that Monte Carlo cannot resolve, and
//! finite-difference steps that would leave the parameter space.

use bayesrg_core::Model;
use bayesrg_core::fisher;
use bayesrg_core::validate::{FD_RTOL, Settings, fmt_num, validate};
use bayesrg_testkit::models::{Bern, RareBern};

fn settings(n: usize) -> Settings {
    Settings {
        samples: n,
        seed: bayesrg_core::rng::Seed::new(7),
        claimed: None,
    }
}

#[test]
fn rare_events_monte_carlo_cannot_resolve_are_reported_as_such() {
    // Issue 16, item 9: Bernoulli p = 1e-6 with 50 000 draws sees no
    // success; the standard errors are 0 and the z-scores 10⁴. The run must
    // say that Monte Carlo cannot resolve it and how many samples would,
    // not report a false z. Oracle for the advice: with no success the
    // draws carry the score mean m = 1/(1 − p) and miss
    // D = I − 1/(1 − p)² of E[ℓ²], so q = m²/D = p/(1 − 2p) and
    // N = ⌈100/q⌉ = ⌈100(1 − 2p)/p⌉ ≈ 99 999 800 (printed 1.000e8).
    let p: f64 = 1e-6;
    let r = validate(&RareBern::default(), &[p], &settings(50_000)).unwrap();
    assert!(!r.verdict.pass && r.verdict.inconclusive, "{:?}", r.verdict);
    let want = (100.0 * (1.0 - 2.0 * p) / p).ceil();
    let advice = format!("too few events: raise samples to {}", fmt_num(want));
    for c in r.checks.iter().filter(|c| !c.pass) {
        let note = c.note.as_deref().unwrap_or("");
        // The closed-form KL against the Monte Carlo log-ratio (the
        // likelihood checks) rests on its own draws and gives its own count;
        // it too must say that Monte Carlo cannot resolve it.
        if c.name.contains("mean log-ratio") {
            assert!(
                note.contains("too few events: raise samples to"),
                "{note:?}"
            );
        } else {
            assert!(note.contains(&advice), "{}: {note:?}", c.name);
        }
    }
    assert!(
        r.verdict
            .reasons
            .iter()
            .all(|x| x.contains(&advice) || x.contains("mean log-ratio"))
    );
    // The deterministic checks still ran and passed: the KL Hessian and the
    // KL expansion agree with I = 1/(p(1 − p)).
    assert!(
        r.checks
            .iter()
            .filter(|c| c.name.starts_with("KL") || c.name.starts_with("kl_hessian"))
            .all(|c| c.pass),
        "{:#?}",
        r.checks
    );
    // Where the events are resolved (p = 10⁻³, 50 expected successes) the
    // same model passes, and with too few (p = 10⁻⁴, 2 000 draws: 0.2
    // expected) the advice is N ≈ 100/p = 10⁶.
    let r = validate(&RareBern::default(), &[1e-3], &settings(50_000)).unwrap();
    assert!(r.verdict.pass, "{:?}", r.verdict.reasons);
    let r = validate(&RareBern::default(), &[1e-4], &settings(2_000)).unwrap();
    assert!(r.verdict.inconclusive, "{:?}", r.verdict);
    assert!(
        r.verdict.reasons[0].contains("raise samples to 9.998e5"),
        "{:?}",
        r.verdict
    );
}

#[test]
fn steps_leaving_the_space_are_shrunk() {
    // At p = 0.999 the unit Fisher step ε/√I = 0.1·0.0316 leaves (0, 1).
    let r = validate(&Bern {}, &[0.999], &settings(40_000)).unwrap();
    assert!(r.verdict.pass, "{:?}", r.verdict.reasons);
    let k = r.kl_expansion.unwrap();
    assert!(k.directions.iter().any(|d| d.shrink < 1.0), "{k:?}");
    // Why the KL Hessian steps at the natural scale: with steps of
    // ε^{1/4}·max(1, |p|) it is off by more than 10⁻³ here, scaled it is not.
    let exact: f64 = 1.0 / (0.999 * 0.001);
    let plain =
        bayesrg_core::numdiff::hessian(|t| Bern {}.kl(&[0.999], t).unwrap(), &[0.999])[(0, 0)];
    let auto = fisher::kl_hessian(&Bern {}, &[0.999]).unwrap().matrix[(0, 0)];
    assert!((auto / exact - 1.0).abs() < FD_RTOL, "{auto} {exact}");
    let scaled = fisher::kl_hessian_scaled(&Bern {}, &[0.999], &[exact.sqrt().recip()])
        .unwrap()
        .matrix[(0, 0)];
    assert!((plain / exact - 1.0).abs() > 1e-3, "{plain} {exact}");
    assert!((scaled / exact - 1.0).abs() < FD_RTOL, "{scaled} {exact}");
    let r = validate(&Bern {}, &[0.3], &settings(40_000)).unwrap();
    assert!(r.verdict.pass, "{:?}", r.verdict.reasons);
}

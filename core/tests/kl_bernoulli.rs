//! KL(θ ‖ θ′) (eqs. 30–31) of a Bernoulli with rare successes (the shared
//! fixture `RareBern` of `bayesrg-testkit`, with and without its enumerated
//! support). Oracle: KL(1e-6 ‖ 5e-7) = 1.9314730556002864281e-7 from
//! tests/oracles/tiny_probability_kl.py (mpmath). A Monte Carlo that never
//! draws the rare success (FINDINGS.md A2) must be unresolved, not z = 10⁹.

use bayesrg_core::kl::{KlOptions, McCheck, divergence};
use bayesrg_core::rng::Seed;
use bayesrg_testkit::models::RareBern;

fn opt(samples: usize) -> KlOptions {
    KlOptions {
        samples,
        seed: Seed::new(7),
    }
}

#[test]
#[allow(clippy::excessive_precision)] // the oracle's digits as it prints them
fn a_rare_event_never_drawn_is_unresolved_not_certain() {
    // FINDINGS.md A2: Bernoulli 1e-6 → 5e-7, 20 000 draws, no success.
    let want = 1.9314730556002864281e-7;
    for enumerate in [true, false] {
        let m = RareBern { enumerate };
        let r = divergence(&m, &[1e-6], &[5e-7], &opt(20_000)).unwrap();
        let c = r.closed_form.unwrap();
        assert!(((c - want) / want).abs() < 1e-14, "{c}");
        assert_eq!(r.check, McCheck::Unresolved, "enumerate {enumerate}: {r:?}");
        assert!(r.z.is_none());
        let why = r.monte_carlo.unresolved.unwrap();
        let key = if enumerate {
            "expected fewer than"
        } else {
            "same log-ratio"
        };
        assert!(why.contains(key), "{why}");
    }
    // A couple of successes in n draws: the variance rests on them.
    let m = RareBern { enumerate: false };
    let r = divergence(&m, &[1e-4], &[5e-5], &opt(20_000)).unwrap();
    assert_eq!(r.check, McCheck::Unresolved, "{r:?}");
    // Resolved when the events are frequent.
    for enumerate in [true, false] {
        let r = divergence(&RareBern { enumerate }, &[0.3], &[0.4], &opt(20_000)).unwrap();
        assert_eq!(r.check, McCheck::Pass, "{r:?}");
    }
}

//! The conjugate-prior capability (`Model::conjugate`, issue 12: capabilities
//! instead of type-name lookups): each family offers its oracle for its own
//! conjugate prior and for nothing else.
//!
//! Oracles (../shared/notes/oracles.md §7): after T pseudo-observations at θ*,
//! Gamma–Poisson Gamma(a + Tλ*, b + T), Beta–Bernoulli Beta(a + Tp*, b + T(1−p*)),
//! normal mean with precision 1/s₀² + T/σ², written out here by hand, at
//! parameters across decades.

use bayesrg_core::Model;
use bayesrg_core::bayes::prior::{Factor, Prior};
use bayesrg_models::{Bernoulli, LinearGaussian, Normal, NormalVar, Poisson};
use nalgebra::DMatrix;

fn prior(f: Vec<Factor>) -> Prior {
    Prior { factors: f }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs()
}

#[test]
fn each_family_offers_its_conjugate_oracle() {
    for (a, b, l, t) in [
        (0.5, 2.0, 1e-3, 10.0),
        (3.0, 0.1, 40.0, 1e4),
        (2e3, 1e3, 1e4, 0.5),
    ] {
        let o = Poisson {}
            .conjugate(
                &[0],
                &prior(vec![Factor::Gamma { shape: a, rate: b }]),
                &[l],
            )
            .expect("gamma prior is conjugate to the Poisson");
        let (m, v) = o.flow(t, &[l]);
        let (sa, sb) = (a + t * l, b + t);
        assert!(
            close(m[0], sa / sb) && close(v[0], sa / (sb * sb)),
            "{m} {v}"
        );
    }
    for (a, b, p, t) in [(0.5, 0.5, 1e-4, 1e3), (2.0, 5.0, 0.5, 7.0)] {
        let o = Bernoulli {}
            .conjugate(&[0], &prior(vec![Factor::Beta { a, b }]), &[p])
            .unwrap();
        let (m, v) = o.flow(t, &[p]);
        let (sa, sb) = (a + t * p, b + t * (1.0 - p));
        let n = sa + sb;
        assert!(close(m[0], sa / n) && close(v[0], sa * sb / (n * n * (n + 1.0))));
    }
    for (m0, s0, mu, sigma, t) in [(0.0, 1.0, 3.0, 1e-3, 5.0), (1e3, 1e2, 2e3, 10.0, 1e2)] {
        let f = vec![Factor::Normal { mean: m0, sd: s0 }];
        for (model, star) in [
            (Box::new(Normal {}) as Box<dyn Model>, [mu, sigma]),
            (Box::new(NormalVar {}), [mu, sigma * sigma]),
        ] {
            let o = model.conjugate(&[0], &prior(f.clone()), &star).unwrap();
            let (m, v) = o.flow(t, &[mu]);
            let prec = 1.0 / (s0 * s0) + t / (sigma * sigma);
            let mean = (m0 / (s0 * s0) + t * mu / (sigma * sigma)) / prec;
            assert!(close(v[0], 1.0 / prec), "{} vs {}", v[0], 1.0 / prec);
            assert!((m[0] - mean).abs() <= 1e-12 * (mean.abs() + (1.0 / prec).sqrt()));
        }
    }
}

#[test]
fn no_oracle_for_priors_or_coordinates_that_are_not_conjugate() {
    let gamma = prior(vec![Factor::Gamma {
        shape: 1.0,
        rate: 1.0,
    }]);
    let normal = prior(vec![Factor::Normal { mean: 0.0, sd: 1.0 }]);
    assert!(Poisson {}.conjugate(&[0], &normal, &[1.0]).is_none());
    assert!(Bernoulli {}.conjugate(&[0], &gamma, &[0.3]).is_none());
    // σ free (index 1) has no conjugate oracle here.
    assert!(Normal {}.conjugate(&[1], &gamma, &[0.0, 1.0]).is_none());
    // Linear-Gaussian: all coordinates free with normal priors, else none.
    let lg = LinearGaussian::new(DMatrix::identity(2, 2), DMatrix::identity(2, 2)).unwrap();
    let two = prior(vec![
        Factor::Normal { mean: 0.0, sd: 1.0 },
        Factor::Normal { mean: 0.0, sd: 2.0 },
    ]);
    assert!(lg.conjugate(&[0, 1], &two, &[0.0, 0.0]).is_some());
    assert!(lg.conjugate(&[0], &normal, &[0.0, 0.0]).is_none());
}

//! `Model::sample_batch` (issue 14): its default draws the bits of one
//! `sample` call per observation, so routing the Monte Carlo loops through it
//! changed no result. Oracle: the per-observation loop written out by hand.

mod common;

use bayesrg_core::kl::{self, KlOptions};
use bayesrg_core::model::Model;
use bayesrg_core::rng::{self, Seed};
use common::GammaSR;

#[test]
fn default_sample_batch_draws_the_bits_of_per_observation_sampling() {
    // Gamma draws use a rejection sampler: a variable number of words per draw.
    let m = GammaSR {};
    for theta in [[0.3, 2.0], [5.0, 1e-3], [1e3, 7.0]] {
        let mut a = Seed::new(11).stream(3);
        let mut b = Seed::new(11).stream(3);
        let mut batch = vec![0.0; 1000];
        m.sample_batch(&theta, &mut a, &mut batch);
        let one: Vec<f64> = (0..1000)
            .map(|_| {
                let mut y = [0.0];
                m.sample(&theta, &mut b, &mut y);
                y[0]
            })
            .collect();
        assert_eq!(batch, one, "theta = {theta:?}");
    }
}

#[test]
fn monte_carlo_kl_uses_the_per_observation_draws() {
    let m = GammaSR {};
    let (theta, theta2) = ([2.0, 3.0], [2.5, 2.0]);
    let opt = KlOptions {
        samples: 5000,
        seed: Seed::new(9),
    };
    let report = kl::divergence(&m, &theta, &theta2, &opt).unwrap();
    // The loop as it was before `sample_batch`: one draw, then its terms.
    let parts = rng::par_chunks(5000, opt.seed.child("kl").value(), |_, range, r| {
        let (mut s, mut q) = (0.0, 0.0);
        let mut y = [0.0];
        for _ in range {
            m.sample(&theta, r, &mut y);
            let t = m.log_likelihood(&theta, &y) - m.log_likelihood(&theta2, &y);
            s += t;
            q += t * t;
        }
        (s, q)
    });
    let s: f64 = parts.iter().fold(0.0, |acc, p| acc + p.0);
    let mean = s / 5000.0;
    // The same draws: equal up to the order of summation (the library sums
    // with compensation, core/src/kl.rs; this loop sums plainly).
    let got = report.monte_carlo.value;
    assert!((got - mean).abs() <= 1e-13 * mean.abs(), "{got} vs {mean}");
    // And it can fail: another seed gives other bits.
    let other = kl::divergence(
        &m,
        &theta,
        &theta2,
        &KlOptions {
            seed: Seed::new(10),
            ..opt
        },
    )
    .unwrap();
    assert!((other.monte_carlo.value - mean).abs() > 1e-6 * mean.abs());
}

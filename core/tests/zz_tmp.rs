mod common;
use bayesrg_core::bayes::Posterior;
use bayesrg_core::bayes::conjugate::BetaBernoulli;
use bayesrg_core::bayes::dynamics;
use bayesrg_core::bayes::energy::Energy;
use bayesrg_core::bayes::grid::{Axis, GridPosterior};
use bayesrg_core::bayes::prior::{Factor, Prior};
use common::*;
#[test]
fn t() {
    let p = 1e-4;
    let (a, b) = (0.2, 0.2);
    let prior = Prior {
        factors: vec![Factor::Beta { a, b }],
    };
    let e = Energy::new(&Bern {}, &[p], None, 0, 0).unwrap();
    for (lo, hi, n) in [(-182.79, 182.79, 40047usize), (-250.0, 250.0, 60000)] {
        let mut g = GridPosterior::from_prior(&[Axis::logit(lo, hi, n)], &prior).unwrap();
        let k = g.points().map(|x| e.eval(x));
        let ts = [0.0, 3000.0, 30000.0, 3e5, 3e6, 3e7];
        let rec = dynamics::run(g.points_mut(), &k, &ts, 4).unwrap();
        for r in &rec {
            let o = BetaBernoulli { a, b }.flow(r.t, p);
            let (m, v) = (o.mean()[0], o.var()[0]);
            let g0 = GridPosterior::from_prior(&[Axis::logit(lo, hi, n)], &prior).unwrap();
            let (bz, _) = dynamics::boltzmann(g0.points(), &k, r.t);
            eprintln!(
                "n={n} T={} dm={:e} dv={:e}  boltz dm={:e}",
                r.t,
                (r.mean[0] - m) / v.sqrt(),
                (r.cov[(0, 0)] - v) / v,
                (bz.mean()[0] - m) / v.sqrt()
            );
        }
    }
}

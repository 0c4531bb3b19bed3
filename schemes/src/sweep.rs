//! The matched-count sweep of section 4: coarse-grain a model by the
//! information shell of eq. (55) at a series of scales Λ, and compare each
//! rival scheme removing **the same number** of parameters.
//!
//! Inputs, all generic:
//! - the candidates ([`Candidates`]: parameter values θ_p and Fisher diagonal
//!   F_pp of the parameters that may be removed);
//! - the schemes, grouped in [`Arm`]s (an arm's loss is the mean over its
//!   members, e.g. several seeds of random removal);
//! - the rows ([`Point`]: a removal count with its label and scale; [`plan`]
//!   makes the paper's rows);
//! - an evaluator: the loss of the model whose candidate parameters are the
//!   masked vector θ′ (θ with the removed candidates set to 0), one number per
//!   evaluation set (e.g. the whole test set and a small subset).
//!
//! Every distinct removed set is evaluated once (a count of 0 and the full
//! count give the same set for every scheme), the evaluations run in parallel
//! (rayon), and each is a pure function of its set, so the result has the same
//! bits at any number of threads.

use crate::shell::{
    Candidates, InformationShell, KlCostShell, Magnitude, Random, Scheme, ascending_by,
};
use bayesrg_core::error::{Error, Field, Result};
use bayesrg_core::observe::{Observer, tick};
use bayesrg_core::rng::Seed;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a row of the sweep comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowKind {
    /// The paper's grid of Λ.
    Paper,
    /// A fine grid of Λ near 0.
    Fine,
    /// A fraction of the candidates (a matched count).
    Fraction,
}

impl RowKind {
    /// `paper`, `fine` or `fraction`.
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Paper => "paper",
            RowKind::Fine => "fine",
            RowKind::Fraction => "fraction",
        }
    }
}

/// One row to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Where it comes from.
    pub kind: RowKind,
    /// The scale Λ; for a `fraction` row, the Fisher value of the last
    /// candidate the information shell removes at that count (0 at count 0).
    pub lambda: f64,
    /// Candidates removed: |Θ_Λ^<| of eq. (55) for a Λ row.
    pub removed: usize,
}

/// Schemes whose losses are averaged into one column (one member for a
/// deterministic scheme; several seeds for random removal).
#[derive(Debug)]
pub struct Arm {
    /// The column's name (`information_shell`, `random`, …).
    pub name: String,
    /// The schemes averaged.
    pub members: Vec<Box<dyn Scheme>>,
}

/// The four arms of section 4 (Figure 2 and Table 2): the information shell
/// of eq. (55), random removal averaged over `repeats` seeds (member r uses
/// `random_seed.child_index(r)`), magnitude pruning and the KL-cost shell.
pub fn paper_arms(random_seed: Seed, repeats: u64) -> Vec<Arm> {
    vec![
        Arm {
            name: "information_shell".into(),
            members: vec![Box::new(InformationShell {})],
        },
        Arm {
            name: "random".into(),
            members: (0..repeats)
                .map(|r| {
                    Box::new(Random {
                        seed: random_seed.child_index(r),
                    }) as Box<dyn Scheme>
                })
                .collect(),
        },
        Arm {
            name: "magnitude".into(),
            members: vec![Box::new(Magnitude {})],
        },
        Arm {
            name: "kl_cost_shell".into(),
            members: vec![Box::new(KlCostShell {})],
        },
    ]
}

/// One evaluated row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Where it comes from.
    pub kind: RowKind,
    /// The scale Λ (see [`Point::lambda`]).
    pub lambda: f64,
    /// Candidates removed.
    pub removed: usize,
    /// removed / number of candidates.
    pub fraction: f64,
    /// `loss[arm][set]`: the loss of each arm (mean over its members) on
    /// each evaluation set.
    pub loss: Vec<Vec<f64>>,
}

/// The result of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sweep {
    /// The column names, in arm order.
    pub arms: Vec<String>,
    /// One row per point, in the order given.
    pub rows: Vec<Row>,
    /// Distinct removed sets evaluated.
    pub evaluations: usize,
}

/// The rows of section 4: each Λ of `lambdas` (kind `paper`) and of `fine`
/// (kind `fine`) removes the information shell Θ_Λ^< = {F_pp ≤ Λ} (eq. 55);
/// each fraction q of `fractions` removes round(q · candidates) (kind
/// `fraction`), and a last `fraction` row removes every candidate.
///
/// Errors: those of [`check_rows`]; no candidates.
pub fn plan(
    cand: &Candidates,
    lambdas: &[f64],
    fine: &[f64],
    fractions: &[f64],
) -> Result<Vec<Point>> {
    if cand.is_empty() {
        return Err(Error::domain("candidates", 0, "must not be empty"));
    }
    check_rows(lambdas, fine, fractions)?;
    let n = cand.len();
    let sorted: Vec<f64> = ascending_by(&cand.fisher)
        .into_iter()
        .map(|p| cand.fisher[p])
        .collect();
    let mut points = Vec::with_capacity(lambdas.len() + fine.len() + fractions.len() + 1);
    for (kind, grid) in [(RowKind::Paper, lambdas), (RowKind::Fine, fine)] {
        points.extend(grid.iter().map(|&lambda| Point {
            kind,
            lambda,
            removed: cand.count_below(lambda),
        }));
    }
    for &q in fractions.iter().chain(std::iter::once(&1.0)) {
        let removed = ((q * n as f64).round() as usize).min(n);
        points.push(Point {
            kind: RowKind::Fraction,
            lambda: if removed == 0 {
                0.0
            } else {
                sorted[removed - 1]
            },
            removed,
        });
    }
    Ok(points)
}

/// Checks the grids of [`plan`] before any work: a Λ that is negative or not
/// finite, or a fraction outside \[0, 1\], is an [`Error::Domain`] naming
/// `lambdas[i]`, `fine_lambdas[i]` or `fractions[i]`.
pub fn check_rows(lambdas: &[f64], fine: &[f64], fractions: &[f64]) -> Result<()> {
    for (name, grid) in [("lambdas", lambdas), ("fine_lambdas", fine)] {
        if let Some(i) = grid.iter().position(|l| !(l.is_finite() && *l >= 0.0)) {
            return Err(Error::domain(
                Field::key(name).at(i),
                grid[i],
                "must be finite and ≥ 0",
            ));
        }
    }
    if let Some(i) = fractions.iter().position(|f| !(0.0..=1.0).contains(f)) {
        return Err(Error::domain(
            Field::key("fractions").at(i),
            fractions[i],
            "must lie in [0, 1]",
        ));
    }
    Ok(())
}

/// A distinct removed set: empty, everything, or the first `count` of the
/// order of member `member` of arm `arm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Set {
    Empty,
    Full,
    Prefix {
        arm: usize,
        member: usize,
        count: usize,
    },
}

/// Evaluates every arm at every point: `loss(θ′)` for θ′ the candidates'
/// values with the first `removed` of each member's removal order set to 0.
/// `loss` returns one value per evaluation set, the same number every time.
///
/// Reports phase `"sweep"` to `obs` (one unit per distinct set).
///
/// Errors: no arms or an empty arm ([`Error::Domain`]); a point removing more
/// than every candidate ([`Error::Domain`], `removed`); a scheme whose order
/// is not a permutation of the candidates ([`Error::Failed`]); a loss that is
/// not finite or of changing length ([`Error::Failed`], naming the row);
/// [`Error::Cancelled`].
pub fn run(
    cand: &Candidates,
    arms: &[Arm],
    points: &[Point],
    loss: &(dyn Fn(&[f64]) -> Vec<f64> + Sync),
    obs: &mut dyn Observer,
) -> Result<Sweep> {
    let n = cand.len();
    if arms.is_empty() {
        return Err(Error::domain("arms", 0, "must name at least one scheme"));
    }
    if let Some(a) = arms.iter().find(|a| a.members.is_empty()) {
        return Err(Error::domain(
            Field::key("arms").then(a.name.clone()),
            0,
            "must hold at least one scheme",
        ));
    }
    if let Some(i) = points.iter().position(|p| p.removed > n) {
        return Err(Error::domain(
            Field::key("points").at(i).then("removed"),
            points[i].removed,
            format!("must be at most the {n} candidates"),
        ));
    }
    // Removal orders, checked to be permutations.
    let mut orders: Vec<Vec<Vec<usize>>> = Vec::with_capacity(arms.len());
    for a in arms {
        let mut v = Vec::with_capacity(a.members.len());
        for s in &a.members {
            let o = s.removal_order(cand);
            let mut seen = vec![false; n];
            let ok = o.len() == n
                && o.iter()
                    .all(|&p| p < n && !std::mem::replace(&mut seen[p], true));
            if !ok {
                return Err(Error::failed(
                    format!("scheme `{}`", s.label()),
                    format!("its removal order is not a permutation of the {n} candidates"),
                ));
            }
            v.push(o);
        }
        orders.push(v);
    }
    let set_of = |arm: usize, member: usize, count: usize| match count {
        0 => Set::Empty,
        c if c == n => Set::Full,
        count => Set::Prefix { arm, member, count },
    };
    let mut sets: BTreeMap<Set, usize> = BTreeMap::new();
    for p in points {
        for (a, arm) in arms.iter().enumerate() {
            for m in 0..arm.members.len() {
                let next = sets.len();
                sets.entry(set_of(a, m, p.removed)).or_insert(next);
            }
        }
    }
    let mut jobs: Vec<(Set, usize)> = sets.iter().map(|(s, &i)| (*s, i)).collect();
    jobs.sort_by_key(|&(_, i)| i);
    let evaluate = |s: &Set| -> Vec<f64> {
        let mut theta = cand.theta.clone();
        match *s {
            Set::Empty => {}
            Set::Full => theta.iter_mut().for_each(|t| *t = 0.0),
            Set::Prefix { arm, member, count } => {
                for &p in &orders[arm][member][..count] {
                    theta[p] = 0.0;
                }
            }
        }
        loss(&theta)
    };
    obs.phase("sweep", Some(jobs.len() as u64));
    let block = (2 * rayon::current_num_threads()).max(8);
    let mut values: Vec<Vec<f64>> = Vec::with_capacity(jobs.len());
    for blk in jobs.chunks(block) {
        let part: Vec<Vec<f64>> = blk.par_iter().map(|(s, _)| evaluate(s)).collect();
        values.extend(part);
        tick(obs, values.len() as u64)?;
    }
    let width = values.first().map_or(0, Vec::len);
    let mut rows = Vec::with_capacity(points.len());
    for (i, p) in points.iter().enumerate() {
        let mut loss = Vec::with_capacity(arms.len());
        for (a, arm) in arms.iter().enumerate() {
            let mut mean = vec![0.0; width];
            for m in 0..arm.members.len() {
                let v = &values[sets[&set_of(a, m, p.removed)]];
                if v.len() != width || v.iter().any(|x| !x.is_finite()) {
                    return Err(Error::failed(
                        "sweep",
                        format!(
                            "the loss of `{}` at row {i} ({} removed) is {v:?}; expected {width} finite values",
                            arm.name, p.removed
                        ),
                    ));
                }
                for (s, x) in mean.iter_mut().zip(v) {
                    *s += x;
                }
            }
            mean.iter_mut().for_each(|s| *s /= arm.members.len() as f64);
            loss.push(mean);
        }
        rows.push(Row {
            kind: p.kind,
            lambda: p.lambda,
            removed: p.removed,
            fraction: p.removed as f64 / n as f64,
            loss,
        });
    }
    Ok(Sweep {
        arms: arms.iter().map(|a| a.name.clone()).collect(),
        rows,
        evaluations: jobs.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bayesrg_core::observe::Silent;

    /// The orthogonal linear-Gaussian design of oracles.md §8 with unit
    /// noise: the predictive KL of zeroing a set S is ½ Σ_{p∈S} F_pp θ_p²
    /// exactly, so the loss of θ′ is ½ Σ_p F_pp (θ_p − θ′_p)²: an evaluator
    /// with a closed form, written here from the design, not from the sweep.
    fn design() -> Candidates {
        Candidates {
            theta: vec![1.5, -0.1, 0.8, -2.0, 3.0, 0.2, 0.0, -0.7],
            fisher: vec![0.09, 4.0, 0.49, 1.21, 0.0025, 2.56, 0.3, 0.0],
        }
    }

    fn kl_of(c: &Candidates) -> impl Fn(&[f64]) -> Vec<f64> + Sync + '_ {
        move |t: &[f64]| {
            let kl: f64 = (0..c.len())
                .map(|p| 0.5 * c.fisher[p] * (c.theta[p] - t[p]).powi(2))
                .sum();
            vec![kl, 2.0 * kl]
        }
    }

    fn arms(repeats: u64) -> Vec<Arm> {
        paper_arms(Seed::new(9), repeats)
    }

    #[test]
    fn rows_match_hand_counts_and_closed_forms() {
        let c = design();
        let pts = plan(&c, &[0.0, 0.25, 1.0], &[0.005], &[0.5]).unwrap();
        // Hand counts: F ≤ 0 → {7}; ≤ 0.25 → {0, 4, 7}; ≤ 1 → {0, 2, 4, 6, 7};
        // ≤ 0.005 → {4, 7}; half of 8 → 4 (its Λ is the 4th smallest F,
        // 0.3); all → 8 (Λ = 4).
        let removed: Vec<usize> = pts.iter().map(|p| p.removed).collect();
        assert_eq!(removed, vec![1, 3, 5, 2, 4, 8]);
        assert_eq!(pts[4].lambda, 0.3);
        assert_eq!(pts[5].lambda, 4.0);
        let s = run(&c, &arms(3), &pts, &kl_of(&c), &mut Silent).unwrap();
        for r in &s.rows {
            // The KL-cost shell is the optimal set of its size on this design
            // (oracles.md §8): its loss is the sum of the smallest costs.
            let mut costs = KlCostShell::costs(&c);
            costs.sort_by(f64::total_cmp);
            let best: f64 = costs[..r.removed].iter().sum();
            assert!((r.loss[3][0] - best).abs() <= 1e-12 * (1.0 + best));
            // Every arm's loss is at least the optimum; the second set is twice the first.
            for l in &r.loss {
                assert!(l[0] >= best - 1e-12);
                assert_eq!(l[1], 2.0 * l[0]);
            }
        }
        // The information shell at Λ removes exactly Θ_Λ^<: its loss is the
        // closed form over that set.
        let r = &s.rows[1];
        let want: f64 = c
            .shell_below(0.25)
            .iter()
            .map(|&p| 0.5 * c.fisher[p] * c.theta[p].powi(2))
            .sum();
        assert!((r.loss[0][0] - want).abs() <= 1e-15);
        // Removing everything is the same set for every scheme.
        let full = s.rows.last().unwrap();
        assert!(full.loss.iter().all(|l| l == &full.loss[0]));
        // Distinct sets only: the empty set is never asked for here, the full
        // set once, the rest once per (member, count).
        let counts = [1, 3, 5, 2, 4];
        assert_eq!(s.evaluations, 1 + counts.len() * 6);
    }

    #[test]
    fn random_arm_is_the_mean_of_its_members() {
        let c = design();
        let pts = plan(&c, &[0.25], &[], &[]).unwrap();
        let s = run(&c, &arms(3), &pts, &kl_of(&c), &mut Silent).unwrap();
        let f = kl_of(&c);
        let mean: f64 = (0..3)
            .map(|r| {
                let o = Random {
                    seed: Seed::new(9).child_index(r),
                }
                .remove(&c, 3);
                let mut t = c.theta.clone();
                for p in o {
                    t[p] = 0.0;
                }
                f(&t)[0]
            })
            .sum::<f64>()
            / 3.0;
        assert!((s.rows[0].loss[1][0] - mean).abs() <= 1e-15 * (1.0 + mean));
    }

    #[test]
    fn same_bits_with_any_thread_count() {
        let n = 300;
        let c = Candidates {
            theta: (0..n)
                .map(|i| ((i * 37 % 101) as f64 - 50.0) / 17.0)
                .collect(),
            fisher: (0..n).map(|i| (i * 53 % 97) as f64 / 13.0).collect(),
        };
        // A loss with rounding that depends on the order of its terms.
        let loss = |t: &[f64]| vec![t.iter().map(|v| (v * 1.1).sin()).sum::<f64>()];
        let pts = plan(&c, &[0.0, 0.5, 1.0, 3.0], &[1e-3], &[0.1, 0.3, 0.9]).unwrap();
        let go = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| run(&c, &arms(3), &pts, &loss, &mut Silent).unwrap())
        };
        let one = go(1);
        assert_eq!(one, go(2));
        assert_eq!(one, go(4));
    }

    #[test]
    fn bad_rows_and_bad_losses_are_errors() {
        let c = design();
        let e = plan(&c, &[0.1, -1.0], &[], &[]).unwrap_err();
        assert_eq!(e.field().unwrap().to_string(), "lambdas[1]");
        let e = plan(&c, &[], &[f64::NAN], &[]).unwrap_err();
        assert_eq!(e.field().unwrap().to_string(), "fine_lambdas[0]");
        let e = plan(&c, &[], &[], &[1.5]).unwrap_err();
        assert_eq!(e.field().unwrap().to_string(), "fractions[0]");
        let pts = [Point {
            kind: RowKind::Fraction,
            lambda: 0.0,
            removed: 9,
        }];
        assert!(run(&c, &arms(1), &pts, &kl_of(&c), &mut Silent).is_err());
        let pts = plan(&c, &[0.25], &[], &[]).unwrap();
        let nan = |_: &[f64]| vec![f64::NAN];
        let e = run(&c, &arms(1), &pts, &nan, &mut Silent).unwrap_err();
        assert!(!e.is_bad_input(), "{e}");
        let e = run(&c, &[], &pts, &kl_of(&c), &mut Silent).unwrap_err();
        assert!(e.is_bad_input());
    }
}

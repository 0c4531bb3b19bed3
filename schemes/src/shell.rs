//! Removal schemes over parameters with a diagonal Fisher metric: the
//! information shell of eq. (55) and its rivals.
//!
//! A scheme orders candidate parameters for removal (first removed first);
//! removing `count` of them zeroes the first `count` of the order. All schemes
//! except the information shell's own threshold are evaluated **at matched
//! counts**: the count the information shell removes at a scale Λ.
//!
//! | scheme (tag) | removal order | source |
//! |---|---|---|
//! | `information_shell` | ascending F_pp (eq. 55: remove F_pp ≤ Λ) | the paper |
//! | `random` | a seeded uniform permutation | baseline |
//! | `magnitude` | ascending \|θ_p\| | baseline |
//! | `kl_cost_shell` | ascending ½ F_pp θ_p², the second-order KL cost (eq. 31) of θ_p → 0 | Optimal Brain Damage |
//!
//! Ties are broken by index (stable sort), so every order is deterministic.

use bayesrg_core::rng::Seed;
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// A model that exposes its parameters and a diagonal Fisher metric.
pub trait DiagonalFisher {
    /// The parameter values θ.
    fn parameters(&self) -> Vec<f64>;
    /// The diagonal F_pp of the Fisher metric at θ, one per parameter.
    fn diagonal_fisher(&self) -> Vec<f64>;
}

/// Candidate parameters: values and Fisher diagonal of the parameters a scheme
/// may remove (for the autoencoder, the encoder weights).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidates {
    /// θ_p of each candidate.
    pub theta: Vec<f64>,
    /// F_pp of each candidate.
    pub fisher: Vec<f64>,
}

impl Candidates {
    /// All parameters of a model.
    pub fn of<M: DiagonalFisher + ?Sized>(model: &M) -> Self {
        Candidates {
            theta: model.parameters(),
            fisher: model.diagonal_fisher(),
        }
    }
    /// The number of candidates.
    pub fn len(&self) -> usize {
        self.theta.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.theta.is_empty()
    }
    /// The information shell Θ_Λ^< of eq. (55): the candidates with
    /// F_pp ≤ Λ (inclusive), in index order.
    pub fn shell_below(&self, lambda: f64) -> Vec<usize> {
        (0..self.len())
            .filter(|&p| self.fisher[p] <= lambda)
            .collect()
    }
    /// |Θ_Λ^<|: how many candidates the information shell removes at Λ.
    pub fn count_below(&self, lambda: f64) -> usize {
        self.fisher.iter().filter(|&&f| f <= lambda).count()
    }
}

/// Indices sorted by ascending `key` (stable: ties by index). NaN keys sort last.
pub fn ascending_by(key: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..key.len()).collect();
    idx.sort_by(|&a, &b| key[a].total_cmp(&key[b]));
    idx
}

/// A rule that orders parameters for removal.
#[typetag::serde(tag = "type")]
pub trait Scheme: Send + Sync + std::fmt::Debug {
    /// A short label for tables and plots.
    fn label(&self) -> String;
    /// The candidates in the order they are removed (first removed first).
    fn removal_order(&self, c: &Candidates) -> Vec<usize>;
    /// The first `count` candidates of [`Scheme::removal_order`].
    fn remove(&self, c: &Candidates, count: usize) -> Vec<usize> {
        let mut o = self.removal_order(c);
        o.truncate(count.min(c.len()));
        o
    }
}

/// The information shell of eq. (55): remove parameters in order of
/// increasing Fisher diagonal; at scale Λ exactly Θ_Λ^< = {F_pp ≤ Λ}.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InformationShell {}

#[typetag::serde(name = "information_shell")]
impl Scheme for InformationShell {
    fn label(&self) -> String {
        "information shell".into()
    }
    fn removal_order(&self, c: &Candidates) -> Vec<usize> {
        ascending_by(&c.fisher)
    }
}

/// Uniformly random removal (a seeded Fisher–Yates permutation drawn from
/// stream 0 of `seed`, [`Seed::stream`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Random {
    /// Seed of the permutation ([`Seed::DEFAULT`] when absent).
    #[serde(default)]
    pub seed: Seed,
}

#[typetag::serde(name = "random")]
impl Scheme for Random {
    fn label(&self) -> String {
        "random".into()
    }
    fn removal_order(&self, c: &Candidates) -> Vec<usize> {
        let mut rng = self.seed.stream(0);
        let mut o: Vec<usize> = (0..c.len()).collect();
        for i in (1..o.len()).rev() {
            let j = rng.random_range(0..=i);
            o.swap(i, j);
        }
        o
    }
}

/// Magnitude removal: smallest |θ_p| first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Magnitude {}

#[typetag::serde(name = "magnitude")]
impl Scheme for Magnitude {
    fn label(&self) -> String {
        "magnitude".into()
    }
    fn removal_order(&self, c: &Candidates) -> Vec<usize> {
        ascending_by(&c.theta.iter().map(|t| t.abs()).collect::<Vec<_>>())
    }
}

/// The KL-cost shell: smallest ½ F_pp θ_p² first — the second-order KL cost
/// (eq. 31) of setting θ_p to zero with the other parameters fixed, the Fisher
/// form of the saliency of Optimal Brain Damage (LeCun et al. 1990).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KlCostShell {}

impl KlCostShell {
    /// ½ F_pp θ_p² of each candidate.
    pub fn costs(c: &Candidates) -> Vec<f64> {
        c.theta
            .iter()
            .zip(&c.fisher)
            .map(|(t, f)| 0.5 * f * t * t)
            .collect()
    }
}

#[typetag::serde(name = "kl_cost_shell")]
impl Scheme for KlCostShell {
    fn label(&self) -> String {
        "KL-cost shell".into()
    }
    fn removal_order(&self, c: &Candidates) -> Vec<usize> {
        ascending_by(&Self::costs(c))
    }
}

/// The four schemes compared in section 4, in plotting order.
pub fn all(random_seed: Seed) -> Vec<Box<dyn Scheme>> {
    vec![
        Box::new(InformationShell {}),
        Box::new(Random { seed: random_seed }),
        Box::new(Magnitude {}),
        Box::new(KlCostShell {}),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The orthogonal linear-Gaussian design of oracles.md §8:
    /// y = Σⱼ θⱼ xⱼ + ε, xᵢᵀxⱼ = 0 (i ≠ j), ε ~ N(0, σ²I). The Fisher is
    /// diag(‖xⱼ‖²/σ²), and the predictive KL between θ and θ with the set S
    /// zeroed is ‖Σ_{j∈S} θⱼ xⱼ‖²/(2σ²), computed here from the design vectors
    /// themselves (not from the Fisher): it equals ½ Σ_{j∈S} I_jj θⱼ² exactly.
    struct OrthoLinear {
        x: Vec<Vec<f64>>,
        theta: Vec<f64>,
        sigma: f64,
    }

    impl DiagonalFisher for OrthoLinear {
        fn parameters(&self) -> Vec<f64> {
            self.theta.clone()
        }
        fn diagonal_fisher(&self) -> Vec<f64> {
            self.x
                .iter()
                .map(|v| v.iter().map(|a| a * a).sum::<f64>() / self.sigma.powi(2))
                .collect()
        }
    }

    impl OrthoLinear {
        /// Columns of a scaled Hadamard-like orthogonal design in ℝ⁸.
        fn new() -> Self {
            let h = |r: usize, c: usize| {
                if (r & c).count_ones().is_multiple_of(2) {
                    1.0
                } else {
                    -1.0
                }
            };
            let scales = [0.3, 2.0, 0.7, 1.1, 0.05, 1.6];
            let x = (0..6)
                .map(|j| (0..8).map(|r| scales[j] * h(r, j + 1)).collect())
                .collect();
            OrthoLinear {
                x,
                theta: vec![1.5, -0.1, 0.8, -2.0, 3.0, 0.2],
                sigma: 0.5,
            }
        }
        fn kl_zeroing(&self, s: &[usize]) -> f64 {
            let mut d = [0.0; 8];
            for &j in s {
                for (dr, xr) in d.iter_mut().zip(&self.x[j]) {
                    *dr += self.theta[j] * xr;
                }
            }
            d.iter().map(|v| v * v).sum::<f64>() / (2.0 * self.sigma.powi(2))
        }
    }

    #[test]
    fn kl_cost_shell_is_optimal_on_orthogonal_design() {
        let m = OrthoLinear::new();
        let c = Candidates::of(&m);
        let d = c.len();
        for count in 0..=d {
            // Brute force over every subset of this size: the least KL.
            let best = (0u32..1 << d)
                .filter(|s| s.count_ones() as usize == count)
                .map(|s| m.kl_zeroing(&(0..d).filter(|j| s >> j & 1 == 1).collect::<Vec<_>>()))
                .fold(f64::INFINITY, f64::min);
            let removed = KlCostShell {}.remove(&c, count);
            let kl = m.kl_zeroing(&removed);
            assert!(
                (kl - best).abs() <= 1e-12 * (1.0 + best),
                "count {count}: {kl} vs {best}"
            );
            // And the per-parameter cost is exactly ½ I θ² (oracles.md §8).
            let half: f64 = KlCostShell::costs(&c)
                .iter()
                .enumerate()
                .filter(|(j, _)| removed.contains(j))
                .map(|(_, v)| v)
                .sum();
            assert!((kl - half).abs() <= 1e-12 * (1.0 + kl));
        }
    }

    #[test]
    fn information_shell_is_inclusive_threshold() {
        let c = Candidates {
            theta: vec![1.0; 6],
            fisher: vec![0.5, 0.0, 0.25, 0.25, 2.0, 0.125],
        };
        // Hand-counted: F ≤ 0.25 is {1, 2, 3, 5} (inclusive at 0.25).
        assert_eq!(c.shell_below(0.25), vec![1, 2, 3, 5]);
        assert_eq!(c.count_below(0.0), 1);
        for lambda in [0.0, 0.125, 0.25, 0.3, 0.5, 2.0] {
            let mut r = InformationShell {}.remove(&c, c.count_below(lambda));
            r.sort_unstable();
            assert_eq!(r, c.shell_below(lambda));
        }
    }

    #[test]
    fn magnitude_and_random() {
        let c = Candidates {
            theta: vec![0.3, -0.1, 2.0, -0.05, 0.0],
            fisher: vec![1.0; 5],
        };
        assert_eq!(Magnitude {}.removal_order(&c), vec![4, 3, 1, 0, 2]);
        let r = Random { seed: Seed::new(3) }.removal_order(&c);
        let mut s = r.clone();
        s.sort_unstable();
        assert_eq!(s, vec![0, 1, 2, 3, 4]);
        assert_eq!(r, Random { seed: Seed::new(3) }.removal_order(&c));
        // Every index equally likely first: chi-square-free check of the
        // uniform permutation over 5000 seeds, each count within 5 binomial sd.
        let mut first = [0usize; 5];
        for seed in 0..5000 {
            first[Random {
                seed: Seed::new(seed),
            }
            .removal_order(&c)[0]] += 1;
        }
        let sd = (5000.0f64 * 0.2 * 0.8).sqrt();
        for f in first {
            assert!((f as f64 - 1000.0).abs() < 5.0 * sd, "{first:?}");
        }
    }

    #[test]
    fn deserialise_by_tag() {
        for t in crate::SCHEME_TYPES {
            let s: Box<dyn Scheme> = serde_json::from_str(&format!(r#"{{"type":"{t}"}}"#)).unwrap();
            assert!(!s.label().is_empty());
        }
        let e = serde_json::from_str::<Box<dyn Scheme>>(r#"{"type":"nope"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant"), "{e}");
    }
}

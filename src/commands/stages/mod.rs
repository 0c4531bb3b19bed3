//! The stages of `bayesrg reproduce`, one function each; every stage runs the
//! same library code as the matching subcommand on built-in configurations.

mod autoencoder;
mod bayes;
mod fisher;
mod fokker_planck;
mod geometry;
mod sde;

pub use autoencoder::autoencoder;
pub use bayes::dynamical_bayes;
pub use fisher::fisher;
pub use fokker_planck::fokker_planck;
pub use geometry::geometry;
pub use sde::sde;

use super::reproduce::Stage;
use anyhow::Result;

/// Every stage of the toolkit, in order: foundations first.
pub fn all() -> Vec<Stage> {
    vec![
        Stage {
            name: "fisher",
            title: "Fisher metric of every registered model (eqs. 28–31)",
            description: "The validator on every registered model at its example point: \
            Monte Carlo E[ℓℓᵀ] and −E[∇² ln p] against the closed form by z-score, the KL \
            Hessian and JᵀΣ⁻¹J by relative error, the zero-mean score (eq. 28), the \
            quadratic expansion of KL (eq. 31), symmetry and positive semi-definiteness.",
            run: fisher,
        },
        Stage {
            name: "sde",
            title: "SDE ensembles against the heat kernel (eqs. 43–46)",
            description: "Every example of `bayesrg sde`: seeded ensembles (Euler–Maruyama, \
            SRA1, Leimkuhler–Matthews) checked against the heat kernel N(γ_τ, τK⁻¹) of eq. (43), \
            with K⁻¹ = J I⁻¹ Jᵀ (eq. 44) for the Fisher pushforward, or against the exact \
            Ornstein–Uhlenbeck law: Hotelling T² for the mean, the whitened covariance, and \
            per-coordinate Kolmogorov–Smirnov tests, at a family-wise level.",
            run: sde,
        },
        Stage {
            name: "fokker_planck",
            title: "Fokker–Planck grid, semigroup and reverse SDE (eqs. 15, 20–24, 26)",
            description: "Finite-volume grid against the Gaussian kernel N(y₀+vτ, Σ₀+τK⁻¹) and \
            e^{−V} with a state-dependent K (its measured order and exact mass); \
            E_{t₂}E_{t₁} = E_{t₁+t₂} and p_t = E_t(p₀); the reverse SDE recovering a \
            Gaussian mixture; χ² of an Euler–Maruyama ensemble against the grid.",
            run: fokker_planck,
        },
        Stage {
            name: "dynamical_bayes",
            title: "Dynamical Bayes and DB-RG flows (eqs. 32–39, 43–45)",
            description: "Every example of `bayesrg bayes` and `bayesrg flow`: the RK4 flow (33) \
            on grids and particles against its solution (34), its invariants, the conjugate \
            closed forms and the late-time law (35); eq. (32) on simulated data; KL(p_τ‖p₀) \
            non-decreasing along τ; model-space (39) vs data-space (43) predictives.",
            run: dynamical_bayes,
        },
        Stage {
            name: "geometry",
            title: "Geometry of the model manifold and the lattice free field (eqs. 3–6, 29, 38, 55)",
            description: "Fisher–Rao distances by shooting geodesics against closed forms \
            (normal in two charts, Poisson, categorical) and a gamma geodesic; Fisher spectra \
            (the sum of exponentials over six decades); the lattice free field: modes sorted \
            by Fisher against modes sorted by momentum (rank correlation −1), modes resolved \
            by the backward posterior N(μ, τI⁻¹) against the momentum ball p ≤ Λ(τ), and the \
            Fisher threshold of a smooth cutoff K_Λ.",
            run: geometry,
        },
        Stage {
            name: "autoencoder",
            title: "Information shell of an MNIST autoencoder (section 4, eqs. 48–55)",
            description: "Trains the 784→20→784 ReLU autoencoder on the embedded MNIST subset, \
            computes its exact diagonal regression Fisher (eq. 29), removes encoder weights \
            with F ≤ Λ (eq. 55) and compares random, magnitude and KL-cost removal at matched \
            counts: the information shell stays within 2% of the unpruned loss up to ≥ 60% \
            removed, random removal is ≥ 20% worse there, the KL-cost shell is no worse.",
            run: autoencoder,
        },
    ]
}

/// `f` over `items` side by side, one scoped OS thread each, the results in
/// the order of `items`; the first error in that order wins, and a panic is
/// passed on to the caller. Every run of a stage is seeded and thread-count
/// independent (`bayesrg_core::rng`), so running them together changes no
/// result bit, only the wall time; their Monte Carlo work still goes to the
/// one rayon pool.
///
/// OS threads, not rayon tasks: a runner that waits on its own helper thread
/// (the SDE runner polls a scoped thread that feeds the pool) must not occupy
/// a rayon worker while it waits, or a pool whose workers all wait deadlocks.
pub(crate) fn in_order<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items.iter().map(|it| s.spawn(move || f(it))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::in_order;

    #[test]
    fn in_order_keeps_the_order_and_the_first_error() {
        let items: Vec<usize> = (0..16).collect();
        let got = in_order(&items, |&i| Ok(i * i)).unwrap();
        assert_eq!(got, items.iter().map(|i| i * i).collect::<Vec<_>>());
        // Items 3 and 7 fail: the error of item 3 is the one reported.
        let e = in_order(&items, |&i| {
            if i == 3 || i == 7 {
                anyhow::bail!("item {i} failed")
            }
            Ok(i)
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "item 3 failed");
    }

    #[test]
    fn in_order_passes_a_panic_on() {
        let r = std::panic::catch_unwind(|| {
            in_order(&[1, 2], |&i| {
                assert!(i != 2, "item two panics");
                Ok(i)
            })
        });
        assert!(r.is_err());
    }
}

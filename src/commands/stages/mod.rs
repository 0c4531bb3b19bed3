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

use anyhow::Result;

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

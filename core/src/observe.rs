//! Progress and cancellation between a long library computation and its caller.
//!
//! Library runners (a dynamical-Bayes run, a DB-RG flow, an SDE ensemble,
//! training the section-4 autoencoder) take `&mut dyn Observer` and report
//! through it; they draw nothing and print nothing. The command line passes an
//! observer that draws progress bars, Python one that checks for
//! `KeyboardInterrupt`, tests [`Silent`]. The pattern is argmin's observers,
//! kept to what a runner needs.

/// Receives a runner's progress, and may ask it to stop.
///
/// Every method has a default that does nothing, so an observer implements
/// only what it shows.
pub trait Observer {
    /// A phase of the work starts: `name` says what it is (`"train"`,
    /// `"fisher"`, `"sweep"`, `"flow"`), `total` how many units it has, when
    /// known.
    fn phase(&mut self, name: &str, total: Option<u64>) {
        let _ = (name, total);
    }

    /// `done` units of the current phase are finished (a running count, not an
    /// increment).
    fn progress(&mut self, done: u64) {
        let _ = done;
    }

    /// A line worth showing the user (a warning, a headline number).
    fn note(&mut self, message: &str) {
        let _ = message;
    }

    /// Whether the runner should go on. A runner checks it at every progress
    /// report and returns [`crate::Error::Cancelled`] when it is `false`.
    fn keep_going(&mut self) -> bool {
        true
    }
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {}

/// Reports `done` to `obs` and turns a request to stop into
/// [`crate::Error::Cancelled`]; the one call a runner's loop makes.
pub fn tick(obs: &mut dyn Observer, done: u64) -> crate::Result<()> {
    obs.progress(done);
    if obs.keep_going() {
        Ok(())
    } else {
        Err(crate::Error::Cancelled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct StopAt(u64);
    impl Observer for StopAt {
        fn progress(&mut self, done: u64) {
            self.0 = self.0.saturating_sub(done.min(1));
        }
        fn keep_going(&mut self) -> bool {
            self.0 > 0
        }
    }

    #[test]
    fn tick_turns_a_stop_into_cancelled() {
        let mut s = Silent;
        assert!(tick(&mut s, 1).is_ok());
        let mut o = StopAt(2);
        assert!(tick(&mut o, 1).is_ok());
        assert!(matches!(tick(&mut o, 2), Err(crate::Error::Cancelled)));
    }
}

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

/// Reports `done` to `obs` and turns a request to stop (the observer's, or
/// the process-wide [`request_stop`]) into [`crate::Error::Cancelled`]; the
/// one call a runner's loop makes.
pub fn tick(obs: &mut dyn Observer, done: u64) -> crate::Result<()> {
    obs.progress(done);
    if obs.keep_going() && !stop_requested() {
        Ok(())
    } else {
        Err(crate::Error::Cancelled)
    }
}

// A process-wide request to stop, for callers that cannot hand an observer
// to the computation they started (the Python package: `bayesrg.fisher(…)`
// under Ctrl-C, tryout 5 B1). The caller waiting for the computation sets it;
// every runner's [`tick`] and every chunk of [`crate::rng::par_chunks`] check
// it, so the computation stops within one chunk or one progress report.
// (Stopping is not an error of the computation: nothing it returns after a
// stop is used.)
static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The unwind payload of [`stop_here`]: a computation abandoned because a
/// stop was requested, not a bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

/// Asks every computation of this process to stop at its next check
/// ([`tick`], [`stop_here`]). Stays set until [`clear_stop`].
pub fn request_stop() {
    STOP.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Withdraws a [`request_stop`] (once the computations it stopped returned).
pub fn clear_stop() {
    STOP.store(false, std::sync::atomic::Ordering::SeqCst);
}

/// Whether [`request_stop`] was called and not yet cleared.
pub fn stop_requested() -> bool {
    STOP.load(std::sync::atomic::Ordering::Relaxed)
}

/// [`crate::Error::Cancelled`] when [`request_stop`] was called and not yet
/// cleared: the check of a loop that returns a `Result` but has no observer
/// (a step of the RK4 of eq. 33), so that a stop lands within one step.
///
/// # Errors
/// [`crate::Error::Cancelled`] after a stop request.
pub fn check_stop() -> crate::Result<()> {
    if stop_requested() {
        Err(crate::Error::Cancelled)
    } else {
        Ok(())
    }
}

/// The check of a loop that cannot return an error: when a stop is
/// requested, [`stop_now`].
pub fn stop_here() {
    if stop_requested() {
        stop_now();
    }
}

/// Abandons a computation that cannot return an error
/// ([`crate::rng::par_chunks`]) after a requested stop: unwinds with the
/// payload [`Stopped`] (through `resume_unwind`, so no panic message is
/// printed). The caller that requested the stop catches it
/// (`std::panic::catch_unwind`) and tells it apart with [`is_stopped`].
pub fn stop_now() -> ! {
    std::panic::resume_unwind(Box::new(Stopped))
}

/// Whether a caught unwind payload is a [`stop_here`], not a panic.
pub fn is_stopped(payload: &(dyn std::any::Any + Send)) -> bool {
    payload.is::<Stopped>()
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

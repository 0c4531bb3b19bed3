//! Ctrl-C during a long call (tryout 5 B1: `bayesrg.fisher(…, samples=10**9)`
//! could only be killed, and in Jupyter only a kernel restart helped).
//!
//! Python runs its signal handlers only between bytecodes of the main thread,
//! never while that thread is inside Rust. So every long call runs the Rust
//! work on a worker thread, with the GIL released, while the calling thread
//! waits in slices of [`POLL`] and between them runs the pending handlers
//! ([`Python::check_signals`]). When a handler raises (`KeyboardInterrupt` for
//! Ctrl-C), the library is asked to stop ([`observe::request_stop`]: every
//! runner's progress report and every Monte Carlo chunk checks it), the
//! worker is waited for — it stops within one chunk — and the handler's
//! exception is raised. Nothing of the stopped computation is returned or
//! written.
//!
//! The stop request is process-wide: Ctrl-C stops every bayesrg computation
//! the process is running (each raises `KeyboardInterrupt`), and it is
//! withdrawn when the last of them has returned.

use bayesrg_core::observe;
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// How often the waiting thread runs Python's signal handlers.
pub const POLL: Duration = Duration::from_millis(50);

/// Stack of the worker thread (the size of a main thread's; the library's
/// recursions were written for it).
const STACK: usize = 8 << 20;

/// Calls in flight; the last to return withdraws a stop request.
static ACTIVE: Mutex<usize> = Mutex::new(0);

struct Active;

impl Active {
    fn enter() -> Self {
        *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        Active
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        let mut n = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
        *n -= 1;
        if *n == 0 {
            observe::clear_stop();
        }
    }
}

/// The exception for a computation that a stop request ended (one requested
/// by this call's Ctrl-C, or by another call's in the same process).
pub fn stopped() -> PyErr {
    PyKeyboardInterrupt::new_err("the bayesrg computation was stopped (Ctrl-C)")
}

/// Runs `f` on a worker thread without the GIL while this thread answers
/// signals (module docs). Returns `f`'s value, or the payload of its panic
/// (as `std::panic::catch_unwind` does; a stop shows as
/// [`observe::is_stopped`]).
///
/// # Errors
/// The exception a signal handler raised while `f` ran (`KeyboardInterrupt`),
/// after `f` has stopped.
pub fn run<T, F>(py: Python<'_>, f: F) -> PyResult<std::thread::Result<T>>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    let _active = Active::enter();
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel::<()>();
        // (A `Receiver` is not `Sync`; the waits below borrow it across `detach`.)
        let rx = Mutex::new(rx);
        let f = AssertUnwindSafe(f);
        let worker = std::thread::Builder::new()
            .name("bayesrg".into())
            .stack_size(STACK)
            .spawn_scoped(s, move || {
                let r = catch_unwind(f);
                drop(tx);
                r
            });
        let worker = worker.map_err(|e| {
            pyo3::exceptions::PyRuntimeError::new_err(format!(
                "cannot start the thread of a bayesrg computation: {e}"
            ))
        })?;
        let mut raised: Option<PyErr> = None;
        loop {
            let finished = py.detach(|| {
                let rx = rx.lock().unwrap_or_else(|e| e.into_inner());
                !matches!(rx.recv_timeout(POLL), Err(RecvTimeoutError::Timeout))
            });
            if finished {
                break;
            }
            if raised.is_none()
                && let Err(e) = py.check_signals()
            {
                observe::request_stop();
                raised = Some(e);
            }
        }
        let r = worker.join().unwrap_or_else(Err);
        match raised {
            Some(e) => Err(e),
            None => Ok(r),
        }
    })
}

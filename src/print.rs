//! Standard output as Unix tools treat it (issue 11 §2): a closed pipe
//! (`bayesrg models | head -1`) ends the output quietly and the command goes
//! on to its normal end and exit status; any other write error (a full disk,
//! `> /dev/full`) is reported once, removes this run's staging folders, and
//! exits with status 2. Nothing panics.
//!
//! The binary routes `print!` and `println!` here (see `src/main.rs`).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes formatted text to standard output under the rules above.
pub fn stdout(args: std::fmt::Arguments<'_>) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    let r = out.write_fmt(args).and_then(|()| out.flush());
    match r {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
        }
        Err(e) => {
            crate::output::abandon_all();
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot write to standard output: {e}"
            );
            std::process::exit(2);
        }
    }
}

/// Whether standard output was found closed (the reader went away).
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

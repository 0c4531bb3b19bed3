//! A requested stop (`bayesrg_core::observe::request_stop`, what Ctrl-C in
//! Python sets; tryout 5 B1) ends a Monte Carlo loop and a local sweep, and a
//! stopped task is not recorded. Its own test binary: the stop is
//! process-wide, and would stop the other tests' loops.

use std::sync::atomic::{AtomicUsize, Ordering};

use bayesrg_core::observe::{self, Silent};
use bayesrg_core::rng::{CHUNK, par_chunks};
use bayesrg_sweep::{Store, SweepSpec, TaskRunner, run_local};
use serde_json::{Value, json};

/// Sums `n` draws in chunks, counting the chunks run; asks for a stop after
/// `stop_after` chunks (as the Python caller would, from another thread).
struct Chunks {
    chunks: AtomicUsize,
    stop_after: usize,
}

impl TaskRunner for Chunks {
    fn run(&self, _: &str, config: &Value) -> Result<Value, String> {
        let n = config["n"].as_u64().unwrap() as usize;
        let parts = par_chunks(n, config["seed"].as_u64().unwrap(), |_, r, _| {
            if self.chunks.fetch_add(1, Ordering::SeqCst) + 1 == self.stop_after {
                observe::request_stop();
            }
            r.len()
        });
        Ok(json!({"n": parts.iter().sum::<usize>()}))
    }
}

#[test]
fn a_requested_stop_ends_the_loop_and_the_sweep_records_nothing_stopped() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // Without a stop every chunk runs and the result is whole.
    let full = par_chunks(100 * CHUNK, 1, |_, r, _| r.len());
    assert_eq!(full.iter().sum::<usize>(), 100 * CHUNK);

    let spec: SweepSpec = toml::from_str(
        r#"
command = "chunks"
[base]
n = 10_000_000
[[axes]]
path = "n"
values = [10_000_000, 20_000_000, 30_000_000]
"#,
    )
    .unwrap();
    let tasks = spec.expand().unwrap();
    let dir = std::env::temp_dir().join(format!("bayesrg-sweep-stop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open(&dir).unwrap();
    let runner = Chunks {
        chunks: AtomicUsize::new(0),
        stop_after: 5,
    };
    let r = run_local(&tasks, &runner, &store, &mut Silent);
    // A stop is seen by the progress check too, until withdrawn.
    assert!(observe::tick(&mut Silent, 1).is_err());
    observe::clear_stop();
    assert!(matches!(r, Err(bayesrg_core::Error::Cancelled)), "{r:?}");
    // Each task has ~10⁴ chunks; a stop after 5 leaves them far from done
    // (at most the chunks already running per thread finish).
    let ran = runner.chunks.load(Ordering::SeqCst);
    assert!(ran < 1000, "{ran} chunks ran after a stop at the 5th");
    for t in &tasks {
        assert!(!store.is_finished(t));
        assert!(
            store.load(t).unwrap().is_none(),
            "a stopped task was recorded"
        );
    }
    // Withdrawn: the same run now finishes every task, whole.
    let again = Chunks {
        chunks: AtomicUsize::new(0),
        stop_after: 0,
    };
    let r = run_local(&tasks, &again, &store, &mut Silent).unwrap();
    assert_eq!(r.finished, 3);
    let rec = store.load(&tasks[1]).unwrap().unwrap();
    assert_eq!(
        rec.outcome,
        bayesrg_sweep::Outcome::Result(json!({"n": 20_000_000}))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stop_unwinds_par_chunks_with_its_own_payload() {
    // Both tests set the process-wide stop: they take LOCK so as not to overlap.
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let r = std::panic::catch_unwind(|| {
        par_chunks(1000 * CHUNK, 3, |k, r, _| {
            if k == 2 {
                observe::request_stop();
            }
            r.len()
        })
    });
    observe::clear_stop();
    let payload = r.expect_err("a stopped loop must not return a result");
    assert!(observe::is_stopped(payload.as_ref()));
    // A real panic is not a stop.
    let p = std::panic::catch_unwind(|| panic!("a bug")).unwrap_err();
    assert!(!observe::is_stopped(p.as_ref()));
}

static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

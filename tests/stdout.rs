//! Standard output that cannot be written (issue 11 §2): a closed pipe ends
//! quietly with the command's own status, a full disk is exit 2 with one
//! message; never a panic (exit 101).

use std::io::Read;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_bayesrg");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs a command whose reader closes the pipe before reading anything.
fn closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(ROOT)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (child.wait().unwrap().code(), err)
}

#[test]
fn a_closed_pipe_ends_quietly_with_the_commands_status() {
    for (args, status) in [
        (vec!["models"], 0),
        (vec!["schemes"], 0),
        (vec!["fisher", "examples/normal.toml"], 0),
        (vec!["fisher", "examples/normal_wrong_claim.toml"], 1),
        (vec!["geodesic", "examples/geodesic/normal.toml"], 0),
        (vec!["spectrum", "examples/spectrum/normal.toml"], 0),
    ] {
        let (code, err) = closed_pipe(&args);
        assert_eq!(code, Some(status), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn a_full_disk_is_exit_2_with_one_message() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // not Linux
    };
    let o = Command::new(BIN)
        .args(["models"])
        .stdout(full)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.matches("error:").count(), 1, "{err}");
    assert!(err.contains("standard output"), "{err}");
}

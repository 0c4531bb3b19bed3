//! The supervising parent (Unix): starts the child, forwards signals, enforces
//! the call limit, and reports what ended the child.

use super::shared::{self, MAX_SLOTS, Shared};
use super::{CHILD_ENV, FAULT_STATUS, INTERRUPTED_STATUS, Settings, TIMEOUT_ENV};
use crate::fault::{Function, Site};
use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The child's pid, for the signal handler (a handler can reach only statics).
static CHILD_PID: AtomicI32 = AtomicI32::new(0);
/// The last termination signal the parent received (0: none).
static GOT_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Forwards a termination signal to the child unless a terminal sent it (the
/// terminal sends it to the child too). Async-signal-safe: atomics and kill.
extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    GOT_SIGNAL.store(sig, Ordering::Relaxed);
    // si_code > 0: sent by the kernel (a terminal's ^C, a hang-up); ≤ 0: by a
    // process (kill, sigqueue, tkill), which reached only this process.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: the kernel passes a valid siginfo_t with SA_SIGINFO.
    let by_terminal = !info.is_null() && unsafe { (*info).si_code } > 0;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let by_terminal = {
        let _ = info;
        false
    };
    let pid = CHILD_PID.load(Ordering::Relaxed);
    if !by_terminal && pid > 0 {
        // SAFETY: kill is async-signal-safe; the child is not yet reaped.
        unsafe { libc::kill(pid, sig) };
    }
}

fn install_handlers() {
    for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a plain sigaction with a handler that only touches atomics
        // and calls kill.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// A signal's name and what it usually means.
pub(crate) fn describe_signal(sig: i32) -> String {
    let (name, what) = match sig {
        libc::SIGSEGV => ("SIGSEGV", "invalid memory access"),
        libc::SIGABRT => ("SIGABRT", "abort"),
        libc::SIGBUS => ("SIGBUS", "bus error"),
        libc::SIGFPE => ("SIGFPE", "arithmetic fault"),
        libc::SIGILL => ("SIGILL", "illegal instruction"),
        libc::SIGTRAP => ("SIGTRAP", "trap"),
        libc::SIGKILL => ("SIGKILL", "killed, perhaps for lack of memory"),
        libc::SIGSYS => ("SIGSYS", "bad system call"),
        libc::SIGPIPE => ("SIGPIPE", "broken pipe"),
        libc::SIGTERM => ("SIGTERM", "terminated"),
        libc::SIGINT => ("SIGINT", "interrupted"),
        libc::SIGHUP => ("SIGHUP", "hang-up"),
        libc::SIGQUIT => ("SIGQUIT", "quit"),
        _ => return format!("signal {sig}"),
    };
    format!("signal {sig} ({name}, {what})")
}

/// What ended the child, and what the parent reports.
#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    /// Finished, or ended without a plugin call in progress: pass the status.
    Status(i32),
    /// Stopped by a termination signal the user sent: 128 + the signal, silently.
    Interrupted(i32),
    /// A plugin fault: print the message, exit 2.
    Fault(String),
}

/// The sites and functions of the calls in progress (active) and the last
/// calls (inactive), de-duplicated, in slot order.
fn calls(sh: &Shared, active: bool) -> Vec<(Site, Function)> {
    let mut out: Vec<(Site, Function)> = Vec::new();
    for i in 0..MAX_SLOTS {
        let c = shared::decode(sh.slot(i).load(Ordering::Relaxed));
        if c.active != active {
            continue;
        }
        if let (Some(f), Some(site)) = (c.function, sh.site(c.site))
            && !out.iter().any(|(s, g)| *s == site && *g == f)
        {
            out.push((site, f));
        }
    }
    out
}

/// `SITE: FUNCTION` for messages.
fn at((site, f): &(Site, Function)) -> String {
    format!("{site}: {f}")
}

/// " (calls in progress on other threads: …)" when there are more.
fn others(calls: &[(Site, Function)]) -> String {
    if calls.len() < 2 {
        return String::new();
    }
    let rest: Vec<String> = calls[1..].iter().map(at).collect();
    format!(" (also in progress on other threads: {})", rest.join("; "))
}

/// A hint naming the last plugin call, for a crash outside any call.
fn last_call_hint(sh: &Shared) -> String {
    match calls(sh, false).first() {
        Some(c) => format!(
            "; the last plugin call was {} — a plugin that writes outside its buffers \
             can crash the program later",
            at(c)
        ),
        None => String::new(),
    }
}

/// Decides what the child's end means (see the module docs of `supervisor`).
pub(crate) fn judge(
    sh: &Shared,
    status: ExitStatus,
    timed_out: Option<&(Site, Function, Duration)>,
    got_signal: i32,
) -> Outcome {
    if let Some(msg) = sh.fault() {
        return Outcome::Fault(msg);
    }
    if let Some((site, f, limit)) = timed_out {
        return Outcome::Fault(format!(
            "{site}: {f} did not return within {} s, so the run was stopped \
             (the limit on one plugin call: --plugin-timeout SECONDS or {TIMEOUT_ENV}; 0 = none)",
            limit.as_secs_f64()
        ));
    }
    let finished = sh.header().finished.load(Ordering::Acquire) != 0;
    let running = calls(sh, true);
    if let Some(sig) = status.signal() {
        if got_signal != 0 && !finished {
            return Outcome::Interrupted(sig);
        }
        let how = describe_signal(sig);
        return Outcome::Fault(match running.first() {
            Some(c) if !finished => format!("{} crashed: {how}{}", at(c), others(&running)),
            _ if finished => format!(
                "bayesrg crashed while exiting, after the command finished: {how}{}",
                last_call_hint(sh)
            ),
            _ => format!(
                "bayesrg crashed outside any plugin call: {how}{}",
                last_call_hint(sh)
            ),
        });
    }
    let code = status.code().unwrap_or(FAULT_STATUS);
    if finished || got_signal != 0 || code == INTERRUPTED_STATUS {
        return Outcome::Status(code);
    }
    match running.first() {
        Some(c) => Outcome::Fault(format!(
            "{} ended the whole process with exit status {code} (a plugin must return, \
             never call exit){}",
            at(c),
            others(&running)
        )),
        None => Outcome::Status(code),
    }
}

/// Removes the staging folders the child recorded and left behind. Only a
/// directory (not a link) named `.NAME.partial-PID…` with the child's PID.
pub(crate) fn remove_staging(paths: &[PathBuf], child: u32) -> Vec<PathBuf> {
    let mark = format!(".partial-{child}");
    let mut removed = Vec::new();
    for p in paths {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        let ours = name.is_some_and(|n| n.starts_with('.') && n.contains(&mark));
        let is_dir = std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
        if ours && is_dir && std::fs::remove_dir_all(p).is_ok() {
            removed.push(p.clone());
        }
    }
    removed
}

/// The breadcrumb file's path: private, unique, in the temporary folder.
fn crumb_path() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!(
        "bayesrg-supervisor-{}-{nanos}.crumb",
        std::process::id()
    ))
}

/// Removes the breadcrumb file when the parent is done.
struct Remove(PathBuf);

impl Drop for Remove {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub(super) fn run(settings: &Settings) -> std::io::Result<i32> {
    let path = crumb_path();
    let sh = Shared::create(&path)?;
    let _remove = Remove(path.clone());
    let exe = std::env::current_exe()?;
    install_handlers();
    let mut child = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(CHILD_ENV, &path)
        .spawn()?;
    let pid = child.id();
    CHILD_PID.store(pid as i32, Ordering::Relaxed);
    // A signal that arrived before the pid was known is forwarded now.
    let early = GOT_SIGNAL.load(Ordering::Relaxed);
    if early != 0 {
        // SAFETY: the child is not yet reaped.
        unsafe { libc::kill(pid as i32, early) };
    }

    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let poll = settings.call_limit.map_or(Duration::from_millis(250), |l| {
        (l / 8).clamp(Duration::from_millis(5), Duration::from_millis(250))
    });
    // Per slot: the word seen and since when.
    let mut seen: HashMap<usize, (u64, Instant)> = HashMap::new();
    let mut timed_out: Option<(Site, Function, Duration)> = None;
    let mut unlinked = false;
    let status = loop {
        let wait = if unlinked {
            poll
        } else {
            poll.min(Duration::from_millis(20))
        };
        match rx.recv_timeout(wait) {
            Ok(st) => break st?,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(std::io::Error::other("lost the child process"));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if !unlinked && sh.header().attached.load(Ordering::Acquire) != 0 {
            // Both processes have it mapped: the name is no longer needed.
            let _ = std::fs::remove_file(&path);
            unlinked = true;
        }
        let (Some(limit), None) = (settings.call_limit, &timed_out) else {
            continue;
        };
        let now = Instant::now();
        for i in 0..MAX_SLOTS {
            let w = sh.slot(i).load(Ordering::Relaxed);
            if w & shared::ACTIVE == 0 {
                seen.remove(&i);
                continue;
            }
            let since = match seen.get(&i) {
                Some(&(old, t)) if old == w => t,
                _ => {
                    seen.insert(i, (w, now));
                    now
                }
            };
            if now.duration_since(since) >= limit {
                let c = shared::decode(w);
                let site = sh.site(c.site).unwrap_or_else(|| Site {
                    library: PathBuf::from("(unrecorded plugin)"),
                    plugin: None,
                    model: None,
                });
                timed_out = Some((site, c.function.unwrap_or(Function::Load), limit));
                // SAFETY: the child is not yet reaped (the waiter has not
                // returned), so the pid is still the child's.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                break;
            }
        }
    };
    let outcome = judge(
        &sh,
        status,
        timed_out.as_ref(),
        GOT_SIGNAL.load(Ordering::Relaxed),
    );
    remove_staging(&sh.staging(), pid);
    Ok(match outcome {
        Outcome::Status(c) => c,
        Outcome::Interrupted(sig) => 128 + sig,
        Outcome::Fault(msg) => {
            eprintln!("error: {msg}");
            FAULT_STATUS
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_childs_own_staging_folders_are_removed() {
        let base = std::env::temp_dir().join(format!("brg-staging-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let ours = base.join(".res.partial-4242");
        let other_pid = base.join(".res.partial-99");
        let not_hidden = base.join("res.partial-4242");
        let user = base.join("results");
        for d in [&ours, &other_pid, &not_hidden, &user] {
            std::fs::create_dir_all(d.join("sub")).unwrap();
        }
        let link = base.join(".link.partial-4242");
        std::os::unix::fs::symlink(&user, &link).unwrap();
        let all = vec![
            ours.clone(),
            other_pid.clone(),
            not_hidden.clone(),
            user.clone(),
            link.clone(),
            base.join(".gone.partial-4242"),
        ];
        assert_eq!(remove_staging(&all, 4242), vec![ours.clone()]);
        assert!(!ours.exists());
        for d in [&other_pid, &not_hidden, &user, &link] {
            assert!(d.exists(), "{} was removed", d.display());
        }
        assert!(user.join("sub").exists());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn signals_are_named() {
        assert_eq!(
            describe_signal(libc::SIGSEGV),
            format!("signal {} (SIGSEGV, invalid memory access)", libc::SIGSEGV)
        );
        assert_eq!(describe_signal(77), "signal 77");
    }

    fn crumb() -> (Shared, PathBuf) {
        let p = std::env::temp_dir().join(format!(
            "brg-judge-{}-{:?}.crumb",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_file(&p);
        (Shared::create(&p).unwrap(), p)
    }

    #[test]
    fn judging_how_the_child_ended() {
        let (sh, p) = crumb();
        let exit = |c: i32| ExitStatus::from_raw(c << 8);
        let killed = |s: i32| ExitStatus::from_raw(s);
        // Finished: its status passes through.
        sh.header().finished.store(1, Ordering::Release);
        assert_eq!(judge(&sh, exit(1), None, 0), Outcome::Status(1));
        // A crash after finishing is still reported.
        assert!(matches!(judge(&sh, killed(libc::SIGSEGV), None, 0),
            Outcome::Fault(m) if m.starts_with("bayesrg crashed while exiting")));
        sh.header().finished.store(0, Ordering::Release);
        // Unfinished, no call running: an ordinary exit (e.g. a panic's 101).
        // (The in-call cases follow below.)
        assert_eq!(judge(&sh, exit(101), None, 0), Outcome::Status(101));
        // A user's ^C.
        assert_eq!(
            judge(&sh, killed(libc::SIGINT), None, libc::SIGINT),
            Outcome::Interrupted(libc::SIGINT)
        );
        let crash = judge(&sh, killed(libc::SIGABRT), None, 0);
        assert!(
            matches!(&crash, Outcome::Fault(m) if m.starts_with("bayesrg crashed outside any plugin call")),
            "{crash:?}"
        );

        // A call in progress: the crash, or an exit, is that plugin's fault.
        let site = Site {
            library: "/p/libx.so".into(),
            plugin: Some("x".into()),
            model: Some("x/m".into()),
        };
        let id = sh.record_site(&site);
        sh.slot(3)
            .store(shared::encode(id, Function::Sample, 9), Ordering::Relaxed);
        assert_eq!(
            judge(&sh, killed(libc::SIGSEGV), None, 0),
            Outcome::Fault(format!(
                "plugin `x` (/p/libx.so), model `x/m`: `sample` crashed: {}",
                describe_signal(libc::SIGSEGV)
            ))
        );
        assert_eq!(
            judge(&sh, exit(0), None, 0),
            Outcome::Fault(
                "plugin `x` (/p/libx.so), model `x/m`: `sample` ended the whole process with \
                 exit status 0 (a plugin must return, never call exit)"
                    .into()
            )
        );
        // bayesrg's own signal handler ending the run during a call.
        assert_eq!(
            judge(&sh, exit(INTERRUPTED_STATUS), None, 0),
            Outcome::Status(130)
        );
        // Returned, then a crash elsewhere: the last call is named as a hint.
        let w = sh.slot(3).load(Ordering::Relaxed);
        sh.slot(3).store(w & !shared::ACTIVE, Ordering::Relaxed);
        assert!(matches!(judge(&sh, killed(libc::SIGABRT), None, 0),
            Outcome::Fault(m) if m.contains("the last plugin call was plugin `x`")));
        // A call that ran over the limit (the parent killed the child).
        let t = (site.clone(), Function::Kl, Duration::from_millis(500));
        assert!(matches!(judge(&sh, killed(libc::SIGKILL), Some(&t), 0),
            Outcome::Fault(m) if m.contains("`kl` did not return within 0.5 s")));
        std::fs::remove_file(&p).unwrap();
    }
}

//! The supervised worker process: a fault inside a plugin that the process
//! cannot survive (a crash, `abort`, a stack overflow, a call to `exit`, a
//! call that never returns) is still reported as that plugin's fault.
//!
//! # How
//! When a run names a plugin, the `bayesrg` process re-executes itself, before
//! it starts any thread, as a **child** marked by the environment variable
//! [`CHILD_ENV`] (the path of a small memory-mapped file, the *breadcrumb*),
//! and becomes the **parent**: it forwards signals, waits, and watches the
//! breadcrumb ([`run_parent`]). The child runs the command; its stdout and
//! stderr pass straight through. In the breadcrumb the child records:
//! - for each thread, which plugin function is running: [`enter`] sets the
//!   thread's slot (library, model, function) and the returned guard clears it
//!   — two relaxed stores per call, cheap enough for every sample (see
//!   `benches/plugin_calls.rs`);
//! - the plugin sites (library path, plugin name, model tag) by number
//!   ([`register_site`]);
//! - the staging folders of result folders ([`note_staging`]);
//! - the first fault that [`FaultPolicy::Exit`](crate::FaultPolicy::Exit)
//!   stopped the child for ([`fault_exit`]);
//! - that the command finished ([`finished`]).
//!
//! When the child dies by a signal, exits without having finished while a
//! plugin call is running (a plugin calling `exit`), stops for a fault, or
//! stays inside one plugin call longer than the limit (default
//! [`DEFAULT_CALL_LIMIT`], `--plugin-timeout SECONDS` or [`TIMEOUT_ENV`]; 0
//! means none) — the parent kills it if needed, removes the staging folders
//! it left, prints **one** message naming the plugin, library, model, function
//! and signal or status, and exits with status 2. A child that finishes
//! normally passes its exit status through.
//!
//! Signals: SIGINT, SIGQUIT, SIGTERM and SIGHUP sent to the parent alone (by
//! `kill`) are forwarded to the child; those a terminal sends reach the whole
//! process group, the child included, and are not sent twice. A child ended by
//! such a signal is not a plugin fault: the parent cleans up and exits with
//! 128 + the signal, silently.
//!
//! Only on Unix; elsewhere plugins run in the process and
//! [`FaultPolicy::Record`](crate::FaultPolicy::Record) applies. Setting
//! [`DISABLE_ENV`]`=off` runs in the process too (for a debugger).

use crate::fault::{Function, Site};
use std::path::Path;
use std::time::Duration;

#[cfg(unix)]
mod parent;
#[cfg(unix)]
mod shared;

/// The environment variable that marks the supervised child; its value is the
/// breadcrumb file's path.
pub const CHILD_ENV: &str = "BAYESRG_SUPERVISED_CHILD";
/// The environment variable that sets the per-call limit in seconds (the
/// `--plugin-timeout` flag wins); `0` means no limit.
pub const TIMEOUT_ENV: &str = "BAYESRG_PLUGIN_TIMEOUT";
/// The environment variable that, set to `off`, runs plugins in the process
/// without a supervisor (for a debugger; crashes are then not reported).
pub const DISABLE_ENV: &str = "BAYESRG_PLUGIN_SUPERVISOR";
/// The default limit on one plugin call.
pub const DEFAULT_CALL_LIMIT: Duration = Duration::from_secs(60);
/// The exit status of a run stopped for a plugin fault.
pub const FAULT_STATUS: i32 = 2;
/// The exit status with which bayesrg's own handler of SIGINT, SIGTERM and
/// SIGHUP ends a run (`src/output.rs`): a child ending with it was
/// interrupted, even while a plugin call was in progress.
pub const INTERRUPTED_STATUS: i32 = 130;

/// The number of a plugin site in the breadcrumb (0: not recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SiteId(pub(crate) u32);

/// Marks a plugin call in progress on this thread; clears it when dropped.
#[must_use = "the call is marked only while the guard lives"]
pub struct CallGuard {
    #[cfg(unix)]
    inner: Option<(&'static std::sync::atomic::AtomicU64, u64)>,
}

impl Drop for CallGuard {
    #[inline]
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some((slot, restore)) = self.inner {
            slot.store(restore, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Marks `function` of `site` as running on this thread until the guard is
/// dropped. A no-op outside a supervised child.
#[inline]
pub fn enter(site: SiteId, function: Function) -> CallGuard {
    #[cfg(unix)]
    {
        CallGuard {
            inner: shared::enter(site, function),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (site, function);
        CallGuard {}
    }
}

/// Whether this process is a supervised child (after [`attach_child`]).
pub fn is_child() -> bool {
    #[cfg(unix)]
    {
        shared::attached()
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Attaches to the parent's breadcrumb when [`CHILD_ENV`] is set, and removes
/// the variable (so that processes this one starts are not mistaken for the
/// child). Call it first in `main`, before any thread starts. Returns whether
/// this process is a supervised child.
///
/// # Errors
/// A message when the variable is set but the breadcrumb cannot be used.
pub fn attach_child() -> Result<bool, String> {
    #[cfg(unix)]
    {
        let Some(path) = std::env::var_os(CHILD_ENV) else {
            return Ok(false);
        };
        // SAFETY: called first in `main`, before any other thread exists, so
        // nothing reads the environment concurrently.
        unsafe { std::env::remove_var(CHILD_ENV) };
        shared::attach(Path::new(&path)).map(|()| true)
    }
    #[cfg(not(unix))]
    {
        Ok(false)
    }
}

/// Creates a new breadcrumb file at `path` and attaches this process to it as
/// a child would, without a parent: for measuring the breadcrumb's cost
/// (`benches/plugin_calls.rs`) and for tests. Plugin sites are recorded from
/// then on; hosts made afterwards by [`crate::PluginHost::new`] use
/// [`FaultPolicy::Exit`](crate::FaultPolicy::Exit).
///
/// # Errors
/// When the file exists already or cannot be made, or a breadcrumb is attached.
pub fn attach_new(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        shared::Shared::create(path)
            .map_err(|e| format!("cannot create `{}`: {e}", path.display()))?;
        shared::attach(path)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Err("supervision needs Unix".into())
    }
}

/// Records a plugin site (library, plugin, model) and returns its number;
/// `SiteId(0)` outside a supervised child.
pub fn register_site(site: &Site) -> SiteId {
    #[cfg(unix)]
    {
        shared::register_site(site)
    }
    #[cfg(not(unix))]
    {
        let _ = site;
        SiteId(0)
    }
}

/// Records a staging folder (a result folder under construction) that the
/// parent removes if this child ends without finishing. A no-op outside a
/// supervised child. Only a folder whose name starts with `.` and holds
/// `.partial-PID` (PID: this process) is ever removed.
pub fn note_staging(path: &Path) {
    #[cfg(unix)]
    shared::note_staging(path);
    #[cfg(not(unix))]
    let _ = path;
}

/// Records that the process is ending deliberately: the command finished (call
/// just before `main` returns), or a handler of SIGINT/SIGTERM/SIGHUP is ending
/// it. The parent then passes the exit status through instead of blaming a
/// plugin call in progress. A no-op outside a supervised child; one atomic
/// store, safe anywhere.
pub fn finished() {
    #[cfg(unix)]
    shared::finished();
}

/// Stops the process for a plugin fault: in a supervised child the message is
/// handed to the parent, which prints it once; elsewhere it is printed here.
/// Ends the process with status [`FAULT_STATUS`] without running destructors
/// (a plugin that broke a rule may have broken others).
pub fn fault_exit(message: &str) -> ! {
    #[cfg(unix)]
    shared::fault_exit(message);
    #[cfg(not(unix))]
    {
        eprintln!("error: {message}");
        std::process::exit(FAULT_STATUS)
    }
}

/// How the parent supervises.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The longest one plugin call may run; `None`: no limit.
    pub call_limit: Option<Duration>,
}

impl Settings {
    /// The limit from the flag, else [`TIMEOUT_ENV`], else
    /// [`DEFAULT_CALL_LIMIT`]; 0 means no limit.
    ///
    /// # Errors
    /// A message naming the flag or variable when the value is not a number of
    /// seconds ≥ 0.
    pub fn from_flag_or_env(flag: Option<f64>) -> Result<Self, String> {
        let (secs, what) = match flag {
            Some(s) => (s, "--plugin-timeout".to_string()),
            None => match std::env::var(TIMEOUT_ENV) {
                Ok(v) => (
                    v.trim()
                        .parse::<f64>()
                        .map_err(|_| format!("{TIMEOUT_ENV} = `{v}` is not a number of seconds"))?,
                    TIMEOUT_ENV.to_string(),
                ),
                Err(_) => {
                    return Ok(Settings {
                        call_limit: Some(DEFAULT_CALL_LIMIT),
                    });
                }
            },
        };
        if secs.is_nan() || !(0.0..=1e9).contains(&secs) {
            return Err(format!(
                "{what} = {secs} must be a number of seconds between 0 (no limit) and 1e9"
            ));
        }
        Ok(Settings {
            call_limit: (secs > 0.0).then(|| Duration::from_secs_f64(secs)),
        })
    }
}

/// Whether supervision is available here and not switched off by
/// [`DISABLE_ENV`].
pub fn available() -> bool {
    cfg!(unix) && std::env::var(DISABLE_ENV).map_or(true, |v| v != "off")
}

/// Runs this program again as a supervised child with the same arguments,
/// waits for it, and returns the exit status this process should end with
/// (see the module docs). Prints one message for a plugin fault.
///
/// # Errors
/// When the breadcrumb cannot be made or the child cannot be started.
pub fn run_parent(settings: &Settings) -> std::io::Result<i32> {
    #[cfg(unix)]
    {
        parent::run(settings)
    }
    #[cfg(not(unix))]
    {
        let _ = settings;
        Err(std::io::Error::other("supervision needs Unix"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_limit_from_flag_and_its_errors() {
        assert_eq!(
            Settings::from_flag_or_env(Some(2.5)).unwrap().call_limit,
            Some(Duration::from_millis(2500))
        );
        assert_eq!(
            Settings::from_flag_or_env(Some(0.0)).unwrap().call_limit,
            None
        );
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let e = Settings::from_flag_or_env(Some(bad)).unwrap_err();
            assert!(e.starts_with("--plugin-timeout = "), "{e}");
        }
    }

    #[test]
    fn outside_a_child_the_breadcrumb_costs_nothing_and_records_nothing() {
        assert!(!is_child());
        let s = Site {
            library: "/x.so".into(),
            plugin: None,
            model: None,
        };
        assert_eq!(register_site(&s), SiteId(0));
        let g = enter(SiteId(0), Function::Sample);
        drop(g);
        note_staging(Path::new("/tmp/.x.partial-1"));
        finished();
    }
}

//! Result folders: written atomically, and never at the cost of a user's files.
//!
//! The rules for `--out DIR` (docs/guide.md, "Result folders"):
//!
//! 1. **Only bayesrg's own folders are replaced.** Every result folder holds a
//!    manifest, [`MANIFEST`], listing what bayesrg wrote into it, with each
//!    file's size and CRC-32. An existing `DIR` may be replaced only if it is
//!    empty, or if it holds a manifest, nothing that the manifest does not
//!    list, and every listed file as bayesrg wrote it (same size and CRC-32).
//!    Anything else (a folder of the user's, a result folder to which the user
//!    has added a file or in which the user has edited one, a symbolic link, a
//!    file) is refused up front, before any work, and left untouched. (A
//!    manifest of a version before the checksums lists names only; such a
//!    folder is checked for added files alone.)
//! 2. **Inputs are never inside the output.** `DIR` may not be, or contain, an
//!    input of the run (the config file, a data folder, a weights file, a
//!    plugin) or the working folder.
//! 3. **Replacement is atomic.** Results are written into a hidden staging
//!    folder `.DIR.partial-PID` beside `DIR` (so an unwritable place is found
//!    before the computation starts). [`OutDir::commit`] swaps it with the old
//!    folder in one step (`renameat2(RENAME_EXCHANGE)` on Linux; elsewhere the
//!    old folder is first renamed aside to `.DIR.old-PID` and restored if the
//!    move fails), then deletes the old results: at every instant either the
//!    old or the new results are in place.
//! 4. **No staging folder stays behind.** A run that fails or panics removes
//!    its staging folder on drop; SIGINT, SIGTERM and SIGHUP remove every
//!    staging folder of the process before it exits (status 130), in order:
//!    the handler takes the lock under which every write, folder creation
//!    and commit of a staging folder runs, marks the process as stopping (so
//!    they are refused from then on, and none is under way), asks the
//!    computations to stop, removes the folders and exits; and
//!    the leftovers of a killed run (`.DIR.partial-PID` or `.DIR.old-PID` of a
//!    process that no longer runs, recognised by bayesrg's marker inside) are
//!    removed by the next run into the same place.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// The manifest every finished result folder holds: JSON with the files that
/// bayesrg wrote (paths relative to the folder, `/`-separated).
pub const MANIFEST: &str = ".bayesrg-results.json";

/// The one file of a result folder that holds run times (seconds, rates): it
/// differs between runs, so result files stay free of them and two runs with
/// one seed give byte-identical folders apart from it (issue 11 §5,
/// tests/determinism.rs).
pub const TIMINGS_FILE: &str = "timings.json";

/// A number as written into a result CSV: the shortest text that reads back
/// to the same `f64`, in exponent form outside 10⁻⁴ ≤ |v| < 10⁶ (`1e300`,
/// `5.05e-301`, never 300 digits), and `inf`, `-inf`, `NaN` for the non-finite
/// values (which Python's `float`, numpy and pandas read back). The one place
/// CSV numbers are formatted: [`bayesrg_core::error::show`], the rule of messages.
pub fn csv_number(v: f64) -> String {
    bayesrg_core::error::show(v)
}

/// The marker inside a staging folder, so that a later run recognises the
/// leftovers of a killed run as its own before deleting them.
const STAGING_MARKER: &str = ".bayesrg-staging";

/// What [`MANIFEST`] holds.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    written_by: String,
    version: String,
    files: Vec<String>,
    /// Size and CRC-32 of every file (not folder) in `files`, as written,
    /// except every [`TIMINGS_FILE`] (at any depth).
    #[serde(default)]
    stamps: BTreeMap<String, Stamp>,
}

/// The size (bytes) and CRC-32 (IEEE, hex) of a file as bayesrg wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    size: u64,
    crc32: String,
}

/// The [`Stamp`] of the regular file at `path`; `None` for anything else (a
/// symbolic link, a folder) or an unreadable file.
fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    Some(Stamp {
        size: bytes.len() as u64,
        crc32: format!("{:08x}", crc32fast::hash(&bytes)),
    })
}

/// A result folder under construction.
#[derive(Debug)]
pub struct OutDir {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

/// Starts the result folder of a run when `out` is given: [`OutDir::create`]
/// at the start of the run, so that a refused or unwritable `--out` is
/// reported before any work.
pub fn stage(out: Option<&Path>, inputs: &[&Path]) -> Result<Option<OutDir>> {
    out.map(|d| OutDir::create(d, inputs)).transpose()
}

impl OutDir {
    /// Checks that `target` may receive results (rules 1 and 2 of the module
    /// documentation), removes leftovers of killed runs beside it, and starts
    /// the staging folder. `inputs` are the paths the run reads (config file,
    /// data folder, weights, plugins); missing ones are ignored.
    ///
    /// # Errors
    /// Every refusal names the folder and the reason; the command line turns it
    /// into exit status 2. Nothing on disk is changed when this fails, apart
    /// from creating missing parent folders of `target`.
    pub fn create(target: &Path, inputs: &[&Path]) -> Result<Self> {
        let target = absolute(target)?;
        let name = match target.file_name() {
            Some(n) => n.to_string_lossy().into_owned(),
            None => bail!(
                "--out `{}` names no folder (a root or `..`); give the path of a result folder",
                target.display()
            ),
        };
        check_not_input(&target, inputs)?;
        check_replaceable(&target)?;
        let parent = target.parent().map(Path::to_path_buf).unwrap_or_default();
        let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
        // Under the lock of the signal handler, refused once it has marked
        // the process as stopping: the parent may be inside another staging
        // folder of this process (a `reproduce` stage), which the handler
        // removes and which must not come back.
        let mut list = guard("--out", &parent)?;
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("--out: cannot create folder `{}`", parent.display()))?;
        remove_stale(&parent, &name);
        // If a plugin kills this (supervised) process, the parent removes it.
        crate::plugins::supervisor::note_staging(&staging);
        if staging.exists() {
            std::fs::remove_dir_all(&staging).ok();
        }
        // Registered before it exists, so that the handler finds it.
        list.folders.push(staging.clone());
        let made = std::fs::create_dir(&staging)
            .with_context(|| {
                format!(
                    "--out: cannot write into `{}` (creating a staging folder there failed)",
                    parent.display()
                )
            })
            .and_then(|()| {
                std::fs::write(staging.join(STAGING_MARKER), b"bayesrg staging folder\n")
                    .with_context(|| format!("--out: cannot write into `{}`", staging.display()))
            });
        if let Err(e) = made {
            std::fs::remove_dir_all(&staging).ok();
            list.folders.retain(|q| q != &staging);
            return Err(e);
        }
        drop(list);
        Ok(OutDir {
            target,
            staging,
            committed: false,
        })
    }

    /// The path of `name` inside the staging folder (write files here).
    pub fn path(&self, name: &str) -> PathBuf {
        self.staging.join(name)
    }

    /// The folder the results will have once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Writes `value` as pretty JSON to `name`.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        self.write_text(name, &text)
    }

    /// Writes text to `name`, creating its folders inside the staging
    /// folder; refused (an error) once an interrupt marked the process as
    /// stopping ([`guard`]).
    pub fn write_text(&self, name: &str, text: &str) -> Result<()> {
        let p = self.path(name);
        let _list = guard("writing results", &p)?;
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, text).with_context(|| format!("cannot write `{}`", p.display()))
    }

    /// Writes the manifest and moves the finished folder into place, replacing
    /// an older result folder atomically (rule 3). The target is checked again
    /// first: a file added to it during the run makes the commit fail and the
    /// old folder stays as it was.
    pub fn commit(mut self) -> Result<PathBuf> {
        std::fs::remove_file(self.staging.join(STAGING_MARKER)).ok();
        let mut files = Vec::new();
        list_files(&self.staging, Path::new(""), &mut files)?;
        files.sort();
        // Not the run times, at any depth (the `sde` runs inside a
        // `reproduce` report write their own): they differ between runs by
        // design, and a stamp would make the manifest differ too
        // (tests/determinism.rs).
        let stamps = files
            .iter()
            .filter(|f| {
                !f.ends_with('/') && Path::new(f).file_name() != Some(TIMINGS_FILE.as_ref())
            })
            .filter_map(|f| stamp(&self.staging.join(f)).map(|s| (f.clone(), s)))
            .collect();
        let manifest = Manifest {
            written_by: "bayesrg".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            files,
            stamps,
        };
        self.write_json(MANIFEST, &manifest)?;
        // The move into place and the removal of the old results happen
        // under the handler's lock: an interrupt either comes first (the
        // commit is refused, the handler removes the staging folder) or
        // finds the results in place and nothing left to remove.
        let mut list = guard("moving the results into place", &self.target)?;
        check_replaceable(&self.target)?;
        if std::fs::symlink_metadata(&self.target).is_ok() {
            replace(&self.staging, &self.target)?;
        } else {
            std::fs::rename(&self.staging, &self.target)
                .with_context(|| format!("cannot move results into `{}`", self.target.display()))?;
        }
        self.committed = true;
        list.folders.retain(|q| q != &self.staging);
        list.written.push(self.target.clone());
        Ok(self.target.clone())
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        if !self.committed {
            // Under the lock: after an interrupt this waits for the handler,
            // which removes the folder and ends the process.
            let mut list = lock();
            std::fs::remove_dir_all(&self.staging).ok();
            list.folders.retain(|q| q != &self.staging);
        }
    }
}

/// `p` made absolute against the working folder: `.` and `..` resolved, and
/// every existing folder on the way canonicalised (symbolic links followed),
/// except the last component, so that a link named by `--out` stays a link.
fn absolute(p: &Path) -> Result<PathBuf> {
    if p.as_os_str().is_empty() {
        bail!("--out is empty; give the path of a result folder");
    }
    let joined = std::env::current_dir()
        .context("cannot read the working folder")?
        .join(p);
    let parts: Vec<Component> = joined.components().collect();
    let mut out = PathBuf::new();
    for (i, c) in parts.iter().enumerate() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            _ => out.push(c.as_os_str()),
        }
        let last_name = i + 1 == parts.len() && matches!(c, Component::Normal(_));
        if !last_name && let Ok(real) = out.canonicalize() {
            out = real;
        }
    }
    Ok(out)
}

/// Rule 2: `target` is not an input, does not contain one, and does not
/// contain the working folder.
fn check_not_input(target: &Path, inputs: &[&Path]) -> Result<()> {
    let cwd = std::env::current_dir()
        .context("cannot read the working folder")?
        .canonicalize()
        .context("cannot read the working folder")?;
    if cwd.starts_with(target) {
        bail!(
            "--out `{}` is the working folder or holds it; results go into a folder of their own (for example --out results)",
            target.display()
        );
    }
    for input in inputs {
        let Ok(abs) = absolute(input) else { continue };
        if abs.starts_with(target) {
            bail!(
                "--out `{}` holds `{}`, an input of this run; choose another result folder",
                target.display(),
                input.display()
            );
        }
    }
    Ok(())
}

/// Rule 1: `target` does not exist, is an empty folder, or is a result folder
/// of bayesrg holding nothing but what its manifest lists.
fn check_replaceable(target: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => bail!("--out `{}`: {e}", target.display()),
    };
    if meta.file_type().is_symlink() {
        bail!(
            "--out `{}` is a symbolic link; name a folder itself (bayesrg does not replace links)",
            target.display()
        );
    }
    if !meta.is_dir() {
        bail!(
            "--out `{}` exists and is not a folder; bayesrg will not replace it",
            target.display()
        );
    }
    let mut present = Vec::new();
    list_files(target, Path::new(""), &mut present)
        .with_context(|| format!("--out: cannot read `{}`", target.display()))?;
    if present.is_empty() {
        return Ok(());
    }
    let refuse = |why: String| -> Result<()> {
        bail!(
            "--out `{}` already exists and {why}; bayesrg replaces only result folders it wrote itself. Choose a new folder, or remove this one yourself",
            target.display()
        )
    };
    let manifest: Manifest = match std::fs::read_to_string(target.join(MANIFEST))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
    {
        Some(m) => m,
        None => return refuse("holds files that bayesrg did not write".into()),
    };
    let listed: BTreeSet<&str> = manifest.files.iter().map(String::as_str).collect();
    let foreign: Vec<&String> = present
        .iter()
        .filter(|f| f.as_str() != MANIFEST && !listed.contains(f.as_str()))
        .collect();
    if !foreign.is_empty() {
        let shown: Vec<String> = foreign.iter().take(3).map(|f| format!("`{f}`")).collect();
        let more = if foreign.len() > 3 {
            format!(" and {} more", foreign.len() - 3)
        } else {
            String::new()
        };
        return refuse(format!(
            "holds {}{more}, which bayesrg did not write",
            shown.join(", ")
        ));
    }
    // Listed files changed since bayesrg wrote them (an edit of the user's).
    let changed: Vec<&String> = present
        .iter()
        .filter(|f| {
            manifest
                .stamps
                .get(f.as_str())
                .is_some_and(|want| stamp(&target.join(f)).as_ref() != Some(want))
        })
        .collect();
    if !changed.is_empty() {
        let shown: Vec<String> = changed.iter().take(3).map(|f| format!("`{f}`")).collect();
        let more = if changed.len() > 3 {
            format!(" and {} more", changed.len() - 3)
        } else {
            String::new()
        };
        bail!(
            "--out `{}` is a result folder of bayesrg, but {}{more} changed since bayesrg wrote \
             it (its size or CRC-32 differs from the manifest `{MANIFEST}`); bayesrg will not \
             replace an edited file. Move the file out of the folder (or delete the folder \
             yourself), or choose a new folder",
            target.display(),
            shown.join(", ")
        );
    }
    Ok(())
}

/// Every file and folder under `dir`, relative, `/`-separated, folders with a
/// trailing `/`. Symbolic links are listed, never followed.
fn list_files(dir: &Path, rel: &Path, out: &mut Vec<String>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir.join(rel))?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let r = rel.join(e.file_name());
        let name = r.to_string_lossy().replace('\\', "/");
        if e.file_type()?.is_dir() {
            out.push(format!("{name}/"));
            list_files(dir, &r, out)?;
        } else {
            out.push(name);
        }
    }
    Ok(())
}

/// Atomically puts `staging` in the place of the existing folder `target` and
/// deletes the old one (rule 3).
fn replace(staging: &Path, target: &Path) -> Result<()> {
    if exchange(staging, target).is_ok() {
        // `staging` now holds the old results.
        std::fs::remove_dir_all(staging).ok();
        return Ok(());
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = target.parent().unwrap_or(Path::new("."));
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    std::fs::rename(target, &old)
        .with_context(|| format!("cannot replace `{}`", target.display()))?;
    if let Err(e) = std::fs::rename(staging, target) {
        std::fs::rename(&old, target).ok();
        return Err(e).with_context(|| format!("cannot move results into `{}`", target.display()));
    }
    std::fs::remove_dir_all(&old).ok();
    Ok(())
}

/// Swaps two paths in one step (Linux `renameat2` with `RENAME_EXCHANGE`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let ca = CString::new(a.as_os_str().as_bytes())?;
    let cb = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated paths; renameat2 only reads them.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// No atomic exchange here: [`replace`] falls back to two renames.
#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Removes, beside a target named `name` in `parent`, the staging and
/// set-aside folders of bayesrg runs that no longer run (rule 4).
pub fn remove_stale(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&format!(".{name}.")) else {
            continue;
        };
        let (marker, pid) = if let Some(p) = rest.strip_prefix("partial-") {
            (STAGING_MARKER, p)
        } else if let Some(p) = rest.strip_prefix("old-") {
            (MANIFEST, p)
        } else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let path = e.path();
        let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if !is_dir || bayesrg_sweep::store::process_alive(pid) {
            continue;
        }
        if path.join(marker).is_file() || path.join(MANIFEST).is_file() {
            std::fs::remove_dir_all(&path).ok();
        } else {
            // Killed between creating the folder and marking it: only an
            // empty folder is removed.
            std::fs::remove_dir(&path).ok();
        }
    }
}

/// The staging folders of this process and whether an interrupt has marked
/// it as stopping; behind the one lock that the signal handler takes.
#[derive(Default)]
struct Staging {
    folders: Vec<PathBuf>,
    /// Result folders already moved into place by this process.
    written: Vec<PathBuf>,
    stopping: bool,
}

/// The lock of [`Staging`] (a poisoned lock is still used: the list stays
/// valid whatever panicked while it was held).
fn lock() -> std::sync::MutexGuard<'static, Staging> {
    active()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Staging folders of this process, removed by the signal handler.
fn active() -> &'static Mutex<Staging> {
    static ACTIVE: OnceLock<Mutex<Staging>> = OnceLock::new();
    ACTIVE.get_or_init(|| {
        // SIGINT, SIGTERM, SIGHUP: exit with status 130 (docs/guide.md, "Exit
        // statuses"; ctrlc does not say which signal came) once the staging
        // folders are gone. If the handler cannot be
        // installed (another one is), drop-based clean-up still applies.
        install_handler(interrupted);
        Mutex::new(Staging::default())
    })
}

/// The signal handler, in order: under the lock, (1) mark the process as
/// stopping, so that every later write, folder creation or commit through
/// [`guard`] is refused and none is under way (they run under the same
/// lock); (2) ask every computation to stop
/// ([`bayesrg_core::observe::request_stop`]); (3) remove the staging folders;
/// (4) exit with status 130, still holding the lock, so that the main
/// thread, which waits for it before it reports an error ([`settle`]) or
/// removes a folder, cannot exit first with another status.
///
/// Code that writes files by [`OutDir::path`] without the lock (CSV writers,
/// plots) cannot recreate a removed folder, but can create a file in one
/// while it is being removed, which then fails with "not empty": so each
/// folder is removed until it is gone (a few passes at most).
fn interrupted() {
    let mut list = lock();
    list.stopping = true;
    bayesrg_core::observe::request_stop();
    for p in &list.folders {
        for _ in 0..100 {
            if std::fs::symlink_metadata(p).is_err() {
                break;
            }
            std::fs::remove_dir_all(p).ok();
        }
    }
    list.folders.clear();
    // The message matches the disk (tryout 9 H3: an interrupt just after
    // the move into place said "no results written").
    if list.written.is_empty() {
        eprintln!("interrupted: no results written");
    } else {
        let shown: Vec<String> = list
            .written
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        eprintln!(
            "interrupted after the results were written to {}; nothing else was written",
            shown.join(", ")
        );
    }
    std::process::exit(130);
}

/// Installs `handler` for SIGINT, SIGTERM and SIGHUP (ctrlc's `termination`
/// set), the one way this program installs a signal handler. A signal this
/// process was started with ignored stays ignored, as Unix programs do: `nohup`
/// ignores SIGHUP, and a non-interactive shell starts a background job (`&`)
/// with SIGINT ignored. Does nothing when a handler is installed already.
pub fn install_handler(handler: impl FnMut() + Send + 'static) {
    #[cfg(unix)]
    let ignored: Vec<libc::c_int> = [libc::SIGINT, libc::SIGHUP]
        .into_iter()
        .filter(|&sig| {
            // SAFETY: sigaction with a null new action only reads the
            // current disposition into `old`.
            let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
            let r = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
            r == 0 && old.sa_sigaction == libc::SIG_IGN
        })
        .collect();
    if ctrlc::set_handler(handler).is_err() {
        return;
    }
    #[cfg(unix)]
    for sig in ignored {
        // SAFETY: restores the disposition the process was started with.
        unsafe {
            libc::signal(sig, libc::SIG_IGN);
        }
    }
}

/// The lock of [`Staging`] for a write into a staging folder, or an error
/// naming `what` and `path` when an interrupt has marked the process as
/// stopping (the handler then ends the process: the error is never shown).
fn guard(what: &str, path: &Path) -> Result<std::sync::MutexGuard<'static, Staging>> {
    let list = lock();
    if list.stopping {
        bail!("interrupted: {what} `{}` refused", path.display());
    }
    Ok(list)
}

/// Creates the folder `path` and its parents, unless an interrupt has marked
/// the process as stopping (then an error, and nothing is created): the way
/// to make a folder inside a staging folder (a `reproduce` stage's).
///
/// # Errors
/// The interrupt, or the folder cannot be created.
pub fn make_dir(path: &Path) -> Result<()> {
    let _list = guard("creating the folder", path)?;
    std::fs::create_dir_all(path)
        .with_context(|| format!("cannot create folder `{}`", path.display()))
}

/// Installs the signal handler now (it is otherwise installed with the first
/// result folder): for the commands that print to the terminal and write no
/// folder (`fisher`, `kl`, `geodesic`, …), so that SIGINT, SIGTERM and SIGHUP
/// stop their computations and end them with status 130 and "interrupted",
/// as every command ends (tryout 8 G16: they died by the signal).
pub fn arm_interrupts() {
    let _ = active();
}

/// Waits for the signal handler if it has started (it then ends the process
/// with status 130): the main thread calls it before it reports an error
/// or exits, so that a computation stopped by the interrupt does not end the
/// process first with the status of its error.
pub fn settle() {
    drop(lock());
}

/// Removes every staging folder of this process now: for an exit that
/// skips destructors (a fatal write error on standard output).
pub fn abandon_all() {
    let mut list = lock();
    for p in list.folders.drain(..) {
        std::fs::remove_dir_all(p).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(tag: &str) -> PathBuf {
        let b = std::env::temp_dir().join(format!("brg-out-{tag}-{}", std::process::id()));
        std::fs::remove_dir_all(&b).ok();
        std::fs::create_dir_all(&b).unwrap();
        b.canonicalize().unwrap()
    }

    #[test]
    fn nothing_left_without_commit() {
        let base = base("drop");
        let target = base.join("res");
        {
            let o = OutDir::create(&target, &[]).unwrap();
            o.write_text("a.txt", "x").unwrap();
        }
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(&base).unwrap().count(), 0);
        let o = OutDir::create(&target, &[]).unwrap();
        o.write_text("a.txt", "y").unwrap();
        o.commit().unwrap();
        assert_eq!(std::fs::read_to_string(target.join("a.txt")).unwrap(), "y");
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn own_folder_is_replaced_user_folder_is_refused() {
        let base = base("replace");
        let target = base.join("res");
        let o = OutDir::create(&target, &[]).unwrap();
        o.write_text("sub/a.csv", "1").unwrap();
        o.commit().unwrap();
        // A second run replaces it, and nothing but the new results remains.
        let o = OutDir::create(&target, &[]).unwrap();
        o.write_text("b.csv", "2").unwrap();
        o.commit().unwrap();
        assert!(!target.join("sub").exists());
        assert_eq!(std::fs::read_to_string(target.join("b.csv")).unwrap(), "2");
        // A file of the user's inside makes it the user's.
        std::fs::write(target.join("notes.txt"), "mine").unwrap();
        let e = OutDir::create(&target, &[]).unwrap_err().to_string();
        assert!(
            e.contains("notes.txt") && e.contains("did not write"),
            "{e}"
        );
        assert_eq!(
            std::fs::read_to_string(target.join("notes.txt")).unwrap(),
            "mine"
        );
        // A folder without a manifest is refused.
        let user = base.join("mine");
        std::fs::create_dir_all(&user).unwrap();
        std::fs::write(user.join("data.csv"), "1").unwrap();
        assert!(OutDir::create(&user, &[]).is_err());
        assert!(user.join("data.csv").exists());
        // An empty folder may be used.
        let empty = base.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        OutDir::create(&empty, &[]).unwrap().commit().unwrap();
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_file_added_during_the_run_stops_the_commit() {
        let base = base("race");
        let target = base.join("res");
        OutDir::create(&target, &[]).unwrap().commit().unwrap();
        let o = OutDir::create(&target, &[]).unwrap();
        o.write_text("new.csv", "n").unwrap();
        std::fs::write(target.join("late.txt"), "user").unwrap();
        assert!(o.commit().is_err());
        assert!(target.join("late.txt").exists());
        assert_eq!(std::fs::read_dir(&base).unwrap().count(), 1);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn inputs_and_the_working_folder_are_never_inside_the_output() {
        let base = base("inputs");
        let cfg = base.join("cfg");
        std::fs::create_dir_all(&cfg).unwrap();
        std::fs::write(cfg.join("run.toml"), "x").unwrap();
        let e = OutDir::create(&cfg, &[&cfg.join("run.toml")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("input"), "{e}");
        let cwd = std::env::current_dir().unwrap();
        assert!(OutDir::create(&cwd, &[]).is_err());
        assert!(OutDir::create(Path::new("."), &[]).is_err());
        assert!(OutDir::create(Path::new(".."), &[]).is_err());
        assert!(cfg.join("run.toml").exists());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn leftovers_of_dead_runs_are_removed_live_ones_kept() {
        let base = base("stale");
        // pid 2^22 + 7 is above Linux's default pid_max: no such process.
        let dead = base.join(".res.partial-4194311");
        std::fs::create_dir_all(&dead).unwrap();
        std::fs::write(dead.join(STAGING_MARKER), "").unwrap();
        let mine = base.join(format!(".res.partial-{}", std::process::id()));
        let foreign = base.join(".res.partial-4194313");
        std::fs::create_dir_all(&foreign).unwrap(); // no marker, not empty: not ours
        std::fs::write(foreign.join("user.txt"), "x").unwrap();
        let empty = base.join(".res.partial-4194317"); // killed before marking
        std::fs::create_dir_all(&empty).unwrap();
        let o = OutDir::create(&base.join("res"), &[]).unwrap();
        assert!(!dead.exists());
        assert!(foreign.join("user.txt").exists());
        assert!(!empty.exists());
        assert!(mine.exists()); // the live staging folder of this run
        o.commit().unwrap();
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn unwritable_places_are_found_at_once() {
        let base = base("unwritable");
        std::fs::write(base.join("file"), "x").unwrap();
        let e = OutDir::create(&base.join("file/res"), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--out"), "{e}");
        assert!(OutDir::create(&base.join("file"), &[]).is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }
}

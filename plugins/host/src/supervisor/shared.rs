//! The breadcrumb: one memory-mapped file shared by the parent and the child
//! (`memmap2`, `MAP_SHARED`), with a fixed layout. The child writes; the parent
//! reads the per-thread slots while the child runs (to enforce the call limit)
//! and everything else once the child is gone.

use super::SiteId;
use crate::fault::{Function, Site};
use memmap2::MmapMut;
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// `"BRGSUPV1"`: the first word of the file.
pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"BRGSUPV1");
/// Bytes of the fault message.
pub(crate) const FAULT_CAP: usize = 4096;
/// Bytes of one staging path.
pub(crate) const PATH_CAP: usize = 1024;
/// Staging folders recorded.
pub(crate) const MAX_STAGING: usize = 16;
/// Threads tracked at once (threads beyond are not tracked).
pub(crate) const MAX_SLOTS: usize = 256;
/// Plugin sites recorded.
pub(crate) const MAX_SITES: usize = 512;

/// Slot word: bit 63 = a call is running; bits 56..63 = the function code;
/// bits 40..56 = the site number; bits 0..40 = a call counter (so that the
/// parent can tell one long call from many short ones).
pub(crate) const ACTIVE: u64 = 1 << 63;
const FN_SHIFT: u32 = 56;
const SITE_SHIFT: u32 = 40;
const COUNT_MASK: u64 = (1 << 40) - 1;

#[repr(C)]
pub(crate) struct Header {
    pub(crate) magic: u64,
    pub(crate) finished: AtomicU32,
    pub(crate) fault_claimed: AtomicU32,
    pub(crate) fault_len: AtomicU32,
    pub(crate) n_sites: AtomicU32,
    pub(crate) n_staging: AtomicU32,
    /// Set by the child once it has mapped the file (the parent then unlinks
    /// it, so that nothing stays in the temporary folder even if the parent
    /// is killed).
    pub(crate) attached: AtomicU32,
}

#[repr(C, align(64))]
pub(crate) struct Slot {
    pub(crate) word: AtomicU64,
}

#[repr(C)]
pub(crate) struct SiteRec {
    library: [u8; 768],
    plugin: [u8; 64],
    model: [u8; 192],
}

#[repr(C)]
pub(crate) struct Layout {
    pub(crate) header: Header,
    fault: [u8; FAULT_CAP],
    staging: [[u8; PATH_CAP]; MAX_STAGING],
    pub(crate) slots: [Slot; MAX_SLOTS],
    sites: [SiteRec; MAX_SITES],
}

/// A mapped breadcrumb.
pub(crate) struct Shared {
    ptr: *mut Layout,
    _map: MmapMut,
}

// SAFETY: every field shared between threads is an atomic or is written once
// by one thread before an atomic publishes it.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

/// Copies `s` into `dst` NUL-terminated, cut at a character boundary.
///
/// # Safety
/// `dst` must be valid for writes of `N` bytes.
unsafe fn put<const N: usize>(dst: *mut [u8; N], s: &str) {
    let mut n = s.len().min(N - 1);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: n + 1 <= N.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), dst.cast::<u8>(), n);
        dst.cast::<u8>().add(n).write(0);
    }
}

/// Reads a NUL-terminated string written by [`put`].
///
/// # Safety
/// `src` must be valid for reads of `N` bytes.
unsafe fn get<const N: usize>(src: *const [u8; N]) -> String {
    // SAFETY: guaranteed by the caller; the child is gone or the bytes are
    // published (a torn string only reads as garbage text).
    let bytes: [u8; N] = unsafe { std::ptr::read_volatile(src) };
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(N);
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

impl Shared {
    /// Creates the file (mode 0600, new), maps it and writes the magic number.
    pub(crate) fn create(path: &Path) -> std::io::Result<Shared> {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.set_len(size_of::<Layout>() as u64)?;
        let s = Shared::map(&f)?;
        // SAFETY: the mapping is at least size_of::<Layout>() bytes.
        unsafe { std::ptr::addr_of_mut!((*s.ptr).header.magic).write(MAGIC) };
        Ok(s)
    }

    /// Maps an existing file and checks its size and magic number.
    pub(crate) fn open(path: &Path) -> std::io::Result<Shared> {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)?;
        let s = Shared::map(&f)?;
        // SAFETY: the mapping is at least size_of::<Layout>() bytes.
        if unsafe { std::ptr::addr_of!((*s.ptr).header.magic).read() } != MAGIC {
            return Err(std::io::Error::other("not a bayesrg breadcrumb file"));
        }
        Ok(s)
    }

    fn map(f: &std::fs::File) -> std::io::Result<Shared> {
        // SAFETY: the file is private to this parent and its child, which
        // access it only through this layout.
        let mut map = unsafe { MmapMut::map_mut(f)? };
        if map.len() < size_of::<Layout>() {
            return Err(std::io::Error::other("breadcrumb file too small"));
        }
        let ptr = map.as_mut_ptr().cast::<Layout>();
        Ok(Shared { ptr, _map: map })
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: the header's shared fields are atomics.
        unsafe { &(*self.ptr).header }
    }

    pub(crate) fn slot(&self, i: usize) -> &AtomicU64 {
        // SAFETY: slots are atomics; i < MAX_SLOTS by the callers.
        unsafe { &(*self.ptr).slots[i].word }
    }

    /// A recorded site (1-based number); `None` for 0 or beyond the table.
    pub(crate) fn site(&self, id: u32) -> Option<Site> {
        let i = (id as usize).checked_sub(1)?;
        if i >= MAX_SITES || i >= self.header().n_sites.load(Ordering::Acquire) as usize {
            return None;
        }
        // SAFETY: i < MAX_SITES.
        let (library, plugin, model) = unsafe {
            let r = std::ptr::addr_of!((*self.ptr).sites[i]);
            (
                get(std::ptr::addr_of!((*r).library)),
                get(std::ptr::addr_of!((*r).plugin)),
                get(std::ptr::addr_of!((*r).model)),
            )
        };
        Some(Site {
            library: PathBuf::from(library),
            plugin: (!plugin.is_empty()).then_some(plugin),
            model: (!model.is_empty()).then_some(model),
        })
    }

    /// Records a site under the next number (0 when the table is full).
    pub(crate) fn record_site(&self, site: &Site) -> SiteId {
        let i = self.header().n_sites.fetch_add(1, Ordering::AcqRel) as usize;
        if i >= MAX_SITES {
            return SiteId(0);
        }
        // SAFETY: i < MAX_SITES; this index is ours alone.
        unsafe {
            let r = std::ptr::addr_of_mut!((*self.ptr).sites[i]);
            put(
                std::ptr::addr_of_mut!((*r).library),
                &site.library.to_string_lossy(),
            );
            put(
                std::ptr::addr_of_mut!((*r).plugin),
                site.plugin.as_deref().unwrap_or(""),
            );
            put(
                std::ptr::addr_of_mut!((*r).model),
                site.model.as_deref().unwrap_or(""),
            );
        }
        SiteId(i as u32 + 1)
    }

    /// The fault message the child stopped for, if it wrote one.
    pub(crate) fn fault(&self) -> Option<String> {
        let n = self.header().fault_len.load(Ordering::Acquire) as usize;
        if n == 0 {
            return None;
        }
        // SAFETY: the fault area holds FAULT_CAP bytes.
        let text = unsafe { get(std::ptr::addr_of!((*self.ptr).fault)) };
        Some(text)
    }

    /// The staging folders the child recorded.
    pub(crate) fn staging(&self) -> Vec<PathBuf> {
        let n = (self.header().n_staging.load(Ordering::Acquire) as usize).min(MAX_STAGING);
        (0..n)
            // SAFETY: i < MAX_STAGING.
            .map(|i| unsafe { get(std::ptr::addr_of!((*self.ptr).staging[i])) })
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect()
    }
}

/// A decoded slot word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Call {
    pub(crate) active: bool,
    pub(crate) function: Option<Function>,
    pub(crate) site: u32,
}

/// The slot word of a running call (`count`: the thread's call counter).
pub(crate) fn encode(site: SiteId, function: Function, count: u64) -> u64 {
    ACTIVE
        | (u64::from(function.code()) << FN_SHIFT)
        | (u64::from(site.0 & 0xFFFF) << SITE_SHIFT)
        | (count & COUNT_MASK)
}

pub(crate) fn decode(word: u64) -> Call {
    Call {
        active: word & ACTIVE != 0,
        function: Function::from_code(((word >> FN_SHIFT) & 0x7F) as u8),
        site: ((word >> SITE_SHIFT) & 0xFFFF) as u32,
    }
}

// ---------------------------------------------------------------- the child

/// The process's link to its supervisor. Process-wide by nature: a process has
/// at most one parent watching it, and every plugin call — from any host, any
/// thread — must mark it. Set once, before any thread starts; read-only after.
static SHARED: OnceLock<Shared> = OnceLock::new();

pub(super) fn attach(path: &Path) -> Result<(), String> {
    let s = Shared::open(path)
        .map_err(|e| format!("cannot use the supervisor's file `{}`: {e}", path.display()))?;
    s.header().attached.store(1, Ordering::Release);
    SHARED
        .set(s)
        .map_err(|_| "the supervisor's file is attached twice".to_string())
}

pub(super) fn attached() -> bool {
    SHARED.get().is_some()
}

/// Which slots of the breadcrumb are taken, one bit per slot: process-wide,
/// as the slots are (lock-free; a thread claims one on its first call).
static TAKEN: [AtomicU64; MAX_SLOTS / 64] = [const { AtomicU64::new(0) }; MAX_SLOTS / 64];

/// This thread's slot; released when the thread ends. The slot's word is
/// left as it is: `exit()` runs the calling thread's thread-local destructors,
/// and a plugin that calls `exit` inside a call must still be seen inside it.
struct MySlot(Cell<Option<usize>>);

impl Drop for MySlot {
    fn drop(&mut self) {
        if let Some(i) = self.0.get() {
            TAKEN[i / 64].fetch_and(!(1 << (i % 64)), Ordering::Release);
        }
    }
}

thread_local! {
    static MY_SLOT: MySlot = const { MySlot(Cell::new(None)) };
}

fn claim() -> Option<usize> {
    for (w, bits) in TAKEN.iter().enumerate() {
        let mut cur = bits.load(Ordering::Relaxed);
        while cur != u64::MAX {
            let b = (!cur).trailing_zeros() as usize;
            match bits.compare_exchange_weak(
                cur,
                cur | (1 << b),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(w * 64 + b),
                Err(now) => cur = now,
            }
        }
    }
    None
}

#[inline]
pub(super) fn enter(site: SiteId, function: Function) -> Option<(&'static AtomicU64, u64)> {
    let shared = SHARED.get()?;
    let i = MY_SLOT
        .try_with(|m| {
            if m.0.get().is_none() {
                m.0.set(claim());
            }
            m.0.get()
        })
        .ok()
        .flatten()?;
    let slot = shared.slot(i);
    let prev = slot.load(Ordering::Relaxed);
    let word = encode(site, function, prev.wrapping_add(1));
    slot.store(word, Ordering::Relaxed);
    // On return: a nested call restores the outer one; otherwise the slot
    // keeps this call's site and function, inactive, as "the last call".
    let restore = if prev & ACTIVE != 0 {
        prev
    } else {
        word & !ACTIVE
    };
    Some((slot, restore))
}

pub(super) fn register_site(site: &Site) -> SiteId {
    SHARED.get().map_or(SiteId(0), |s| s.record_site(site))
}

pub(super) fn note_staging(path: &Path) {
    let Some(s) = SHARED.get() else { return };
    let Ok(abs) = std::path::absolute(path) else {
        return;
    };
    let text = abs.to_string_lossy();
    if text.len() >= PATH_CAP {
        return;
    }
    let i = s.header().n_staging.fetch_add(1, Ordering::AcqRel) as usize;
    if i < MAX_STAGING {
        // SAFETY: i < MAX_STAGING; this index is ours alone.
        unsafe { put(std::ptr::addr_of_mut!((*s.ptr).staging[i]), &text) };
    }
}

pub(super) fn finished() {
    if let Some(s) = SHARED.get() {
        s.header().finished.store(1, Ordering::Release);
    }
}

pub(super) fn fault_exit(message: &str) -> ! {
    match SHARED.get() {
        Some(s) => {
            let h = s.header();
            if h.fault_claimed
                .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                // SAFETY: the fault area holds FAULT_CAP bytes; we claimed it.
                unsafe { put(std::ptr::addr_of_mut!((*s.ptr).fault), message) };
                h.fault_len
                    .store(message.len().clamp(1, FAULT_CAP) as u32, Ordering::Release);
                // SAFETY: ends the process; nothing of it is used afterwards.
                unsafe { libc::_exit(super::FAULT_STATUS) }
            }
            // Another thread is reporting its fault and ending the process.
            loop {
                std::thread::park();
            }
        }
        None => {
            eprintln!("error: {message}");
            // SAFETY: as above.
            unsafe { libc::_exit(super::FAULT_STATUS) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_words_decode() {
        let w = encode(SiteId(7), Function::Sample, 42);
        assert_eq!(
            decode(w),
            Call {
                active: true,
                function: Some(Function::Sample),
                site: 7
            }
        );
        assert!(!decode(w & !ACTIVE).active);
        assert_eq!(decode(0).function, None);
    }

    #[test]
    fn layout_fits_and_strings_round_trip() {
        assert_eq!(size_of::<Slot>(), 64);
        assert_eq!(size_of::<SiteRec>(), 1024);
        let dir = std::env::temp_dir().join(format!("brg-shared-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("crumb");
        let _ = std::fs::remove_file(&p);
        let a = Shared::create(&p).unwrap();
        let b = Shared::open(&p).unwrap();
        // SAFETY: test-only writes through the documented layout.
        unsafe {
            put(
                std::ptr::addr_of_mut!((*a.ptr).staging[0]),
                "/x/.out.partial-9",
            );
            put(std::ptr::addr_of_mut!((*a.ptr).fault), "γ fault");
        }
        a.header().n_staging.store(1, Ordering::Release);
        a.header().fault_len.store(8, Ordering::Release);
        assert_eq!(b.staging(), vec![PathBuf::from("/x/.out.partial-9")]);
        assert_eq!(b.fault().as_deref(), Some("γ fault"));
        assert!(
            Shared::create(&p).is_err(),
            "create_new refuses an existing file"
        );
        std::fs::write(&p, vec![0u8; size_of::<Layout>()]).unwrap();
        assert!(Shared::open(&p).is_err(), "no magic number");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

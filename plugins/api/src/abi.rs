//! The ABI itself: the `#[repr(C)]` structs, the function-pointer types, the
//! status codes, the magic number and the versions. Nothing here runs; it is the
//! contract that `include/bayesrg_plugin.h` states for C (a test compares the
//! two: `tests/header.rs`).
//!
//! # The header
//! A plugin exports exactly one symbol, [`HEADER_SYMBOL`] (`BAYESRG_PLUGIN_HEADER`),
//! a static [`PluginHeader`]. The host reads and checks, in this order and before
//! reading anything else:
//! 1. [`PluginHeader::magic`] equals [`MAGIC`] (otherwise: not a bayesrg plugin);
//! 2. [`PluginHeader::abi_major`] equals the host's [`ABI_MAJOR`];
//! 3. [`PluginHeader::header_size`] and [`PluginHeader::model_entry_size`] are at
//!    least the sizes of ABI 1.0's structs;
//! 4. [`PluginHeader::target`] equals the host's [`target()`] (`ARCH-OS`, e.g.
//!    `x86_64-linux`).
//!
//! Only then are the name, version and model table read.
//!
//! # SDE terms (ABI 1.1)
//! ABI 1.1 appends three fields to [`PluginHeader`]: `sde_entry_size`,
//! `n_sde_terms` and `sde_terms`, a table of [`SdeEntry`]: the drift a(y, τ)
//! and diagonal diffusion b(y, τ) of an SDE dY = a dτ + b ∘ dW (Itô,
//! component-wise; eqs. 45–46 of the paper), and optionally ∂bᵢ/∂yᵢ for the
//! Milstein scheme. A 1.0 plugin's header ends before them ([`HEADER_SIZE_1_0`]):
//! the host reads them only from a header at least [`HEADER_SIZE_1_1`] bytes
//! long, and treats a zero count as "no SDE terms".
//!
//! # Versioning rules
//! - The **major** version changes for anything that breaks an existing reader:
//!   removing, reordering or retyping a field, changing a function signature or
//!   what a status code or field means. Host and plugin must agree exactly on it.
//! - A **minor** version may only *append* fields at the end of [`PluginHeader`]
//!   or [`ModelEntry`], and only fields whose zero/null value means "absent".
//!   Because every struct carries its size (`header_size`, `model_entry_size`) and
//!   the host walks the model table with the plugin's `model_entry_size` as the
//!   stride, a host built for 1.m loads plugins built for any 1.n: fields the
//!   plugin's struct is too short to hold are treated as null, and fields the
//!   host does not know are ignored.
//!
//! # Calling rules
//! - Every function but `destroy` returns a [`Status`]: [`STATUS_OK`],
//!   [`STATUS_ERROR`] (the plugin reports a failure) or [`STATUS_PANIC`] (a Rust
//!   panic was caught inside the plugin). The last two write a NUL-terminated
//!   UTF-8 message into the host-owned buffer `err` of `err_cap` bytes,
//!   truncated to fit.
//! - **No unwinding across the boundary.** A panic leaving an `extern "C"`
//!   function aborts the process, and the host cannot catch a panic raised by a
//!   plugin's own standard library.
//! - **Whoever allocates frees.** The host owns every buffer it passes (θ, y,
//!   outputs, the error and name buffers); the plugin writes into them, only
//!   within the lengths given, and never keeps or frees them. A model instance
//!   is allocated by `create` in the plugin and released by the host calling the
//!   same entry's `destroy`.
//! - **Libraries are never unloaded.** Static strings, the header and function
//!   pointers stay valid for the life of the process.
//! - Instances are immutable after `create`; the host may call an instance's
//!   functions from several threads at once.
//! - Matrices are row-major `d × d` arrays of `f64`; θ has length `d` (the number
//!   of parameters), an observation has length `obs_dim`.
//! - Values the host checks after every call (a plugin that breaks them is
//!   stopped as faulty): a log-likelihood is finite or `-inf` (outside the
//!   support), never NaN or `+inf`; a sample, a score and a Fisher matrix are
//!   finite; a KL divergence is not NaN; nothing is written past the end of an
//!   output buffer.

use std::ffi::{c_char, c_void};

/// `"BRGPLUG1"` read as a little-endian `u64`: the first field of every header.
pub const MAGIC: u64 = u64::from_le_bytes(*b"BRGPLUG1");
/// The ABI major version this crate speaks. Host and plugin must agree on it.
pub const ABI_MAJOR: u32 = 1;
/// The ABI minor version this crate speaks (see the versioning rules).
pub const ABI_MINOR: u32 = 1;
/// The name of the one exported symbol: a static [`PluginHeader`].
pub const HEADER_SYMBOL: &str = "BAYESRG_PLUGIN_HEADER";

/// The return code of every plugin function.
pub type Status = i32;
/// Success.
pub const STATUS_OK: Status = 0;
/// The plugin reports an error; the message is in the error buffer.
pub const STATUS_ERROR: Status = 1;
/// A panic was caught inside the plugin; the message is in the error buffer.
pub const STATUS_PANIC: Status = 2;

/// Creates an instance from parameters given as NUL-terminated JSON text (the
/// model's config table without its `type` key, serialised compactly; integers
/// stay integers: `{"k":3,"scale":0.5}`).
pub type CreateFn = unsafe extern "C" fn(
    params_json: *const c_char,
    out: *mut *mut c_void,
    err: *mut c_char,
    err_cap: usize,
) -> Status;
/// Releases an instance made by the same entry's `create`. Must not fail.
pub type DestroyFn = unsafe extern "C" fn(inst: *mut c_void);
/// Writes a size (the dimension d, or the observation length) into `out`.
pub type SizeFn = unsafe extern "C" fn(
    inst: *const c_void,
    out: *mut usize,
    err: *mut c_char,
    err_cap: usize,
) -> Status;
/// Writes the name of parameter `i` (NUL-terminated, truncated) into `buf`.
pub type ParamNameFn = unsafe extern "C" fn(
    inst: *const c_void,
    i: usize,
    buf: *mut c_char,
    buf_cap: usize,
    err: *mut c_char,
    err_cap: usize,
) -> Status;
/// Checks that θ (length d) lies in the parameter space; `STATUS_ERROR` and a
/// message naming the parameter when it does not.
pub type CheckFn = unsafe extern "C" fn(
    inst: *const c_void,
    theta: *const f64,
    d: usize,
    err: *mut c_char,
    err_cap: usize,
) -> Status;
/// A function of θ (length d) and one observation y (length m) that writes
/// its value into `out`: the signature of [`LogLikFn`] and [`ScoreFn`].
pub type ObservationFn = unsafe extern "C" fn(
    inst: *const c_void,
    theta: *const f64,
    d: usize,
    y: *const f64,
    m: usize,
    out: *mut f64,
    err: *mut c_char,
    err_cap: usize,
) -> Status;
/// Writes ln p(y | θ) into `out` (`-inf` outside the support).
pub type LogLikFn = ObservationFn;
/// Draws one observation y ~ p(· | θ) into `out` (length m) from the seed the
/// host gives (a fresh 64-bit seed for every draw, from the host's seeded
/// stream: the same seed must give the same draw).
pub type SampleFn = unsafe extern "C" fn(
    inst: *const c_void,
    theta: *const f64,
    d: usize,
    seed: u64,
    out: *mut f64,
    m: usize,
    err: *mut c_char,
    err_cap: usize,
) -> Status;
/// Writes the score ∂ ln p(y | θ)/∂θ (length d) into `out`.
pub type ScoreFn = ObservationFn;
/// Writes the per-observation Fisher matrix I(θ) (row-major d × d) into `out`.
pub type FisherFn = unsafe extern "C" fn(
    inst: *const c_void,
    theta: *const f64,
    d: usize,
    out: *mut f64,
    err: *mut c_char,
    err_cap: usize,
) -> Status;
/// Writes KL(θ₁ ‖ θ₂) = E_θ₁[ln p(Y|θ₁)/p(Y|θ₂)] into `out`.
pub type KlFn = unsafe extern "C" fn(
    inst: *const c_void,
    theta1: *const f64,
    theta2: *const f64,
    d: usize,
    out: *mut f64,
    err: *mut c_char,
    err_cap: usize,
) -> Status;

/// Writes an SDE term at state y (length d) and time τ into `out` (length d):
/// the drift aᵢ(y, τ), the diagonal diffusion bᵢ(y, τ), or its derivative
/// ∂bᵢ/∂yᵢ(y, τ). Every value must be finite.
pub type SdeTermFn = unsafe extern "C" fn(
    inst: *const c_void,
    y: *const f64,
    d: usize,
    tau: f64,
    out: *mut f64,
    err: *mut c_char,
    err_cap: usize,
) -> Status;

/// The names of the functions of a [`ModelEntry`], in table order: the words
/// the host uses when it names a function in a message.
pub const ENTRY_FUNCTIONS: [&str; 11] = [
    "create",
    "destroy",
    "dim",
    "obs_dim",
    "param_name",
    "check_params",
    "log_likelihood",
    "sample",
    "score",
    "fisher",
    "kl",
];

/// The one exported symbol of a plugin (ABI 1.0 layout). Fields are only ever
/// appended (see the versioning rules in the module docs).
#[repr(C)]
pub struct PluginHeader {
    /// Must equal [`MAGIC`].
    pub magic: u64,
    /// Must equal the host's [`ABI_MAJOR`].
    pub abi_major: u32,
    /// The plugin's ABI minor version.
    pub abi_minor: u32,
    /// `size_of::<PluginHeader>()` as the plugin was compiled.
    pub header_size: u32,
    /// `size_of::<ModelEntry>()` as the plugin was compiled: the stride of `models`.
    pub model_entry_size: u32,
    /// `ARCH-OS` of the plugin's build target (see [`target()`]), NUL-terminated.
    pub target: *const c_char,
    /// The plugin's name: the namespace of its tags, NUL-terminated.
    pub name: *const c_char,
    /// The plugin's version, NUL-terminated.
    pub version: *const c_char,
    /// The number of entries in `models`.
    pub n_models: usize,
    /// The model table.
    pub models: *const ModelEntry,
    /// ABI 1.1: `size_of::<SdeEntry>()` as the plugin was compiled (the stride
    /// of `sde_terms`); 0 when the plugin has no SDE terms.
    pub sde_entry_size: usize,
    /// ABI 1.1: the number of entries in `sde_terms` (0: none).
    pub n_sde_terms: usize,
    /// ABI 1.1: the SDE-term table (null when `n_sde_terms` is 0).
    pub sde_terms: *const SdeEntry,
}

/// The size of an ABI 1.0 [`PluginHeader`] (it ends at `models`): the least a
/// host accepts.
pub const HEADER_SIZE_1_0: usize = std::mem::offset_of!(PluginHeader, sde_entry_size);
/// The size of an ABI 1.1 [`PluginHeader`]: a header this long carries the
/// SDE-term fields.
pub const HEADER_SIZE_1_1: usize = std::mem::size_of::<PluginHeader>();

/// One set of SDE terms of a plugin (ABI 1.1): dY = a(Y, τ) dτ + b(Y, τ) ∘ dW
/// with diagonal noise (Itô; eqs. 45–46), Y of length d = `dim`. `drift`,
/// `diffusion` and `diffusion_derivative` may each be null (absent); a config
/// names the terms as `type = "plugin-name/terms-name"` under `drift.terms`
/// or `diffusion.terms` of `bayesrg sde`, which refuses an absent function it
/// needs. Instances are made by `create` from JSON parameters and released by
/// `destroy`, as for models.
#[repr(C)]
pub struct SdeEntry {
    /// The namespaced tag `plugin-name/terms-name`, NUL-terminated.
    pub tag: *const c_char,
    /// One line saying what the SDE is, NUL-terminated.
    pub summary: *const c_char,
    /// JSON parameters that `create` accepts, NUL-terminated.
    pub example_params: *const c_char,
    /// Creates an instance from JSON parameters (required).
    pub create: Option<CreateFn>,
    /// Releases an instance (required).
    pub destroy: Option<DestroyFn>,
    /// The dimension d of the state (required).
    pub dim: Option<SizeFn>,
    /// The drift a(y, τ), d values.
    pub drift: Option<SdeTermFn>,
    /// The diagonal diffusion b(y, τ), d values.
    pub diffusion: Option<SdeTermFn>,
    /// ∂bᵢ/∂yᵢ(y, τ), d values (only Milstein needs it).
    pub diffusion_derivative: Option<SdeTermFn>,
}

// SAFETY: entries are immutable statics of pointers to static data and functions.
unsafe impl Sync for SdeEntry {}

// SAFETY: the header and everything it points to are immutable statics.
unsafe impl Sync for PluginHeader {}

/// One model of a plugin (ABI 1.0 layout). `score`, `fisher` and `kl` may be
/// null; every other function is required.
#[repr(C)]
pub struct ModelEntry {
    /// The namespaced tag `plugin-name/model-name`, NUL-terminated.
    pub tag: *const c_char,
    /// One line saying what the family is, NUL-terminated.
    pub summary: *const c_char,
    /// JSON parameters that `create` accepts (used for listings), NUL-terminated.
    pub example_params: *const c_char,
    /// A valid θ for the example instance.
    pub example_theta: *const f64,
    /// The length of `example_theta`.
    pub example_theta_len: usize,
    /// Creates an instance from JSON parameters.
    pub create: Option<CreateFn>,
    /// Releases an instance.
    pub destroy: Option<DestroyFn>,
    /// The dimension d of the parameter space.
    pub dim: Option<SizeFn>,
    /// The length of one observation.
    pub obs_dim: Option<SizeFn>,
    /// The name of parameter i.
    pub param_name: Option<ParamNameFn>,
    /// Checks θ.
    pub check_params: Option<CheckFn>,
    /// ln p(y | θ).
    pub log_likelihood: Option<LogLikFn>,
    /// One draw y ~ p(· | θ) from a seed.
    pub sample: Option<SampleFn>,
    /// The exact score (optional).
    pub score: Option<ScoreFn>,
    /// The closed-form Fisher matrix (optional).
    pub fisher: Option<FisherFn>,
    /// The closed-form KL divergence (optional).
    pub kl: Option<KlFn>,
}

// SAFETY: entries are immutable statics of pointers to static data and functions.
unsafe impl Sync for ModelEntry {}

/// `ARCH-OS` of the target this crate is compiled for (e.g. `x86_64-linux`),
/// from [`std::env::consts`]; NUL-terminated in a fixed 64-byte buffer.
pub const fn target_bytes() -> [u8; 64] {
    let mut out = [0u8; 64];
    let a = std::env::consts::ARCH.as_bytes();
    let o = std::env::consts::OS.as_bytes();
    let mut i = 0;
    while i < a.len() && i < 30 {
        out[i] = a[i];
        i += 1;
    }
    out[i] = b'-';
    i += 1;
    let mut j = 0;
    while j < o.len() && i < 63 {
        out[i] = o[j];
        i += 1;
        j += 1;
    }
    out
}

/// `ARCH-OS` of the target this crate is compiled for, as a string.
pub fn target() -> String {
    format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn target_string_matches_bytes() {
        let b = target_bytes();
        let c = CStr::from_bytes_until_nul(&b).unwrap();
        assert_eq!(c.to_str().unwrap(), target());
    }

    #[test]
    fn magic_spells_brgplug1() {
        assert_eq!(&MAGIC.to_le_bytes(), b"BRGPLUG1");
        // The C header writes it as a hexadecimal literal; the same value.
        assert_eq!(MAGIC, 0x3147_554C_5047_5242);
    }
}

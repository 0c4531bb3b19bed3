//! The FFI side: the `extern "C"` shims that [`export_plugin!`](crate::export_plugin)
//! puts in a plugin's model table, one per function of
//! [`ModelEntry`], all written by one macro (`shims!`).
//!
//! Every shim runs its body under [`guard`], which turns an `Err` into
//! [`STATUS_ERROR`] and a panic into [`STATUS_PANIC`], with the message in the
//! host's buffer. While a shim runs, a panic is not printed by the plugin's
//! panic hook: its message and location are kept and handed to the host, which
//! prints each fault once (a plugin that panics on every one of 60,000 calls
//! used to write 60,000 lines).

use crate::abi::{ModelEntry, PluginHeader, STATUS_ERROR, STATUS_OK, STATUS_PANIC, Status};
use crate::guest::{Model, Rng};
use std::cell::{Cell, RefCell};
use std::ffi::{CStr, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

/// Writes `msg` into the host's buffer, NUL-terminated and truncated at a UTF-8
/// character boundary. Does nothing when the buffer is null or empty.
///
/// # Safety
/// `buf` must be null or valid for writes of `cap` bytes.
pub unsafe fn write_message(buf: *mut c_char, cap: usize, msg: &str) {
    if buf.is_null() || cap == 0 {
        return;
    }
    let mut n = msg.len().min(cap - 1);
    while !msg.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: n + 1 <= cap bytes, as the caller guarantees the buffer holds.
    unsafe {
        std::ptr::copy_nonoverlapping(msg.as_ptr(), buf.cast::<u8>(), n);
        *buf.add(n) = 0;
    }
}

thread_local! {
    /// Whether this thread is inside a [`guard`].
    static IN_GUARD: Cell<bool> = const { Cell::new(false) };
    /// The message and location of the last panic inside a guard.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once per plugin) a panic hook that keeps quiet inside a guard and
/// records the panic's message and location instead; outside a guard it defers
/// to the hook that was there before.
fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_GUARD.with(Cell::get) {
                let msg = panic_message(info.payload());
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
                    .unwrap_or_default();
                CAUGHT.with(|c| {
                    c.borrow_mut().get_or_insert(format!("panicked{at}: {msg}"));
                });
            } else {
                previous(info);
            }
        }));
    });
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Runs `f`, catching panics: the heart of every generated function.
///
/// `Ok` → [`STATUS_OK`]; `Err(msg)` → [`STATUS_ERROR`] with `msg`; a panic →
/// [`STATUS_PANIC`] with `"{what} panicked at FILE:LINE:COL: MESSAGE"`.
///
/// # Safety
/// `err` must be null or valid for writes of `err_cap` bytes.
pub unsafe fn guard(
    what: &str,
    err: *mut c_char,
    err_cap: usize,
    f: impl FnOnce() -> Result<(), String>,
) -> Status {
    install_quiet_hook();
    let outer = IN_GUARD.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_GUARD.with(|g| g.set(outer));
    match result {
        Ok(Ok(())) => STATUS_OK,
        Ok(Err(msg)) => {
            // SAFETY: forwarded from the caller.
            unsafe { write_message(err, err_cap, &msg) };
            STATUS_ERROR
        }
        Err(p) => {
            let caught = CAUGHT.with(|c| c.borrow_mut().take());
            let detail = caught.unwrap_or_else(|| format!("panicked: {}", panic_message(&*p)));
            // SAFETY: forwarded from the caller.
            unsafe { write_message(err, err_cap, &format!("{what} {detail}")) };
            STATUS_PANIC
        }
    }
}

/// A slice from a host pointer and length (empty when the length is 0).
///
/// # Safety
/// `p` must be valid for reads of `n` values when `n > 0`.
unsafe fn slice<'a>(p: *const f64, n: usize) -> Result<&'a [f64], String> {
    if n == 0 {
        Ok(&[])
    } else if p.is_null() {
        Err("a null input pointer".into())
    } else {
        // SAFETY: guaranteed by the caller.
        Ok(unsafe { std::slice::from_raw_parts(p, n) })
    }
}

/// A mutable slice from a host pointer and length (empty when the length is 0).
///
/// # Safety
/// `p` must be valid for writes of `n` values when `n > 0`.
unsafe fn slice_mut<'a>(p: *mut f64, n: usize) -> Result<&'a mut [f64], String> {
    if n == 0 {
        Ok(&mut [])
    } else if p.is_null() {
        Err("a null output pointer".into())
    } else {
        // SAFETY: guaranteed by the caller.
        Ok(unsafe { std::slice::from_raw_parts_mut(p, n) })
    }
}

/// The instance behind a host handle, after checking that θ has length d.
///
/// # Safety
/// `p` must be null or an instance made by `create::<T>`.
unsafe fn inst<'a, T: Model>(p: *const c_void, d: Option<usize>) -> Result<&'a T, String> {
    if p.is_null() {
        return Err("a null instance".into());
    }
    // SAFETY: the host passes only instances this entry's `create` made.
    let m = unsafe { &*p.cast::<T>() };
    if let Some(d) = d {
        let want = m.param_names().len();
        if d != want {
            return Err(format!("theta has {d} entries, the model has {want}"));
        }
    }
    Ok(m)
}

/// Writes the shims: each `fn NAME(ARGS) BODY` becomes
/// `pub unsafe extern "C" fn NAME<T: Model>(ARGS, err, err_cap) -> Status`
/// running BODY (a `Result<(), String>`) under [`guard`]; `infallible fn` (only
/// `destroy`) has no status and no error buffer. `ModelEntry::new` stores each
/// in a field of the ABI's function-pointer type, so a signature that drifts
/// from `crate::abi` does not compile.
macro_rules! shims {
    ($(
        $(#[$doc:meta])*
        $(@$infallible:ident)? fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block
    )*) => {$(
        shims!(@one $(#[$doc])* [$($infallible)?] $name($($arg: $ty),*) $body);
    )*};
    (@one $(#[$doc:meta])* [infallible] $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The ABI's calling rules (`crate::abi`).
        pub unsafe extern "C" fn $name<T: Model>($($arg: $ty),*) $body
    };
    (@one $(#[$doc:meta])* [] $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The ABI's calling rules (`crate::abi`).
        #[allow(clippy::too_many_arguments)]
        pub unsafe extern "C" fn $name<T: Model>(
            $($arg: $ty,)*
            err: *mut c_char,
            err_cap: usize,
        ) -> Status {
            // SAFETY: the host keeps the ABI's calling rules.
            unsafe { guard(stringify!($name), err, err_cap, || $body) }
        }
    };
}

/// Writes shims of the [`ObservationFn`](crate::abi::ObservationFn) signature
/// (`log_likelihood`, `score`) through `shims!`: each `fn NAME(p, theta, d, y,
/// m, out) BODY` names the arguments (instance, θ and its length d, one
/// observation y and its length m, the output), this macro gives their types.
macro_rules! observation_shims {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($p:ident, $theta:ident, $d:ident, $y:ident, $m:ident, $out:ident) $body:block
    )*) => {
        shims! {$(
            $(#[$doc])*
            fn $name(
                $p: *const c_void,
                $theta: *const f64,
                $d: usize,
                $y: *const f64,
                $m: usize,
                $out: *mut f64
            ) $body
        )*}
    };
}

// The bodies run inside `unsafe` (see `shims!`): every pointer comes from the
// host, which keeps the ABI's calling rules.
observation_shims! {
    /// `log_likelihood`.
    fn log_likelihood(p, theta, d, y, m, out) {
        *out = inst::<T>(p, Some(d))?.log_likelihood(slice(theta, d)?, slice(y, m)?);
        Ok(())
    }

    /// `score`.
    fn score(p, theta, d, y, m, out) {
        inst::<T>(p, Some(d))?.score(slice(theta, d)?, slice(y, m)?, slice_mut(out, d)?)
    }
}

// The bodies run inside `unsafe` (see the macro): every pointer comes from the
// host, which keeps the ABI's calling rules.
shims! {
    /// `create`: parses the JSON parameters into `T`.
    fn create(params: *const c_char, out: *mut *mut c_void) {
        if params.is_null() || out.is_null() {
            return Err("null parameters or output pointer".into());
        }
        let text = CStr::from_ptr(params)
            .to_str()
            .map_err(|e| format!("parameters are not UTF-8: {e}"))?;
        let m: T = serde_json::from_str(text)
            .map_err(|e| format!("invalid parameters {text}: {e}"))?;
        *out = Box::into_raw(Box::new(m)).cast::<c_void>();
        Ok(())
    }

    /// `destroy`: drops an instance (a panic in `Drop` is caught and ignored).
    @infallible fn destroy(p: *mut c_void) {
        if !p.is_null() {
            // SAFETY: `p` came from `create::<T>`'s Box::into_raw.
            let b = unsafe { Box::from_raw(p.cast::<T>()) };
            let _ = catch_unwind(AssertUnwindSafe(move || drop(b)));
        }
    }

    /// `dim`: the number of parameter names.
    fn dim(p: *const c_void, out: *mut usize) {
        *out = inst::<T>(p, None)?.param_names().len();
        Ok(())
    }

    /// `obs_dim`.
    fn obs_dim(p: *const c_void, out: *mut usize) {
        *out = inst::<T>(p, None)?.obs_dim();
        Ok(())
    }

    /// `param_name`: name `i`, truncated to the buffer.
    fn param_name(p: *const c_void, i: usize, buf: *mut c_char, buf_cap: usize) {
        let names = inst::<T>(p, None)?.param_names();
        let name = names
            .get(i)
            .ok_or_else(|| format!("no parameter {i}: the model has {}", names.len()))?;
        write_message(buf, buf_cap, name);
        Ok(())
    }

    /// `check_params`.
    fn check_params(p: *const c_void, theta: *const f64, d: usize) {
        inst::<T>(p, Some(d))?.check_params(slice(theta, d)?)
    }

    /// `sample`: one draw from a generator seeded with `seed`.
    fn sample(
        p: *const c_void,
        theta: *const f64,
        d: usize,
        seed: u64,
        out: *mut f64,
        m: usize,
    ) {
        let md = inst::<T>(p, Some(d))?;
        md.sample(slice(theta, d)?, &mut Rng::new(seed), slice_mut(out, m)?);
        Ok(())
    }

    /// `fisher`.
    fn fisher(p: *const c_void, theta: *const f64, d: usize, out: *mut f64) {
        inst::<T>(p, Some(d))?.fisher(slice(theta, d)?, slice_mut(out, d * d)?)
    }

    /// `kl`.
    fn kl(
        p: *const c_void,
        theta1: *const f64,
        theta2: *const f64,
        d: usize,
        out: *mut f64,
    ) {
        *out = inst::<T>(p, Some(d))?.kl(slice(theta1, d)?, slice(theta2, d)?)?;
        Ok(())
    }
}

impl ModelEntry {
    /// The table entry of model type `T` under `tag` (a NUL-terminated
    /// `plugin-name/model-name`). Used by [`export_plugin!`](crate::export_plugin).
    pub const fn new<T: Model>(tag: &'static CStr) -> Self {
        ModelEntry {
            tag: tag.as_ptr(),
            summary: T::SUMMARY.as_ptr(),
            example_params: T::EXAMPLE_PARAMS.as_ptr(),
            example_theta: T::EXAMPLE_THETA.as_ptr(),
            example_theta_len: T::EXAMPLE_THETA.len(),
            create: Some(create::<T>),
            destroy: Some(destroy::<T>),
            dim: Some(dim::<T>),
            obs_dim: Some(obs_dim::<T>),
            param_name: Some(param_name::<T>),
            check_params: Some(check_params::<T>),
            log_likelihood: Some(log_likelihood::<T>),
            sample: Some(sample::<T>),
            score: if T::HAS_SCORE { Some(score::<T>) } else { None },
            fisher: if T::HAS_FISHER {
                Some(fisher::<T>)
            } else {
                None
            },
            kl: if T::HAS_KL { Some(kl::<T>) } else { None },
        }
    }
}

impl PluginHeader {
    /// A header for ABI [`ABI_MAJOR`](crate::abi::ABI_MAJOR).[`ABI_MINOR`](crate::abi::ABI_MINOR)
    /// with this crate's struct sizes. Used by [`export_plugin!`](crate::export_plugin).
    pub const fn new(
        target: &'static [u8; 64],
        name: &'static CStr,
        version: &'static CStr,
        models: &'static [ModelEntry],
    ) -> Self {
        PluginHeader {
            magic: crate::abi::MAGIC,
            abi_major: crate::abi::ABI_MAJOR,
            abi_minor: crate::abi::ABI_MINOR,
            header_size: std::mem::size_of::<PluginHeader>() as u32,
            model_entry_size: std::mem::size_of::<ModelEntry>() as u32,
            target: target.as_ptr().cast::<c_char>(),
            name: name.as_ptr(),
            version: version.as_ptr(),
            n_models: models.len(),
            models: models.as_ptr(),
            sde_entry_size: 0,
            n_sde_terms: 0,
            sde_terms: std::ptr::null(),
        }
    }
}

//! # bayesrg-plugin-api
//!
//! The versioned C ABI through which `bayesrg` loads model plugins at run time,
//! and an export macro so that a plugin author writes a model in ordinary Rust
//! plus one macro line:
//!
//! ```ignore
//! use bayesrg_plugin_api::{Model, Rng, export_plugin};
//!
//! #[derive(serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Cauchy {}
//!
//! impl Model for Cauchy { /* param_names, obs_dim, log_likelihood, sample, … */ }
//!
//! export_plugin!(name: "cauchy-plugin", models: ["cauchy" => Cauchy]);
//! ```
//!
//! Build the crate as a `cdylib` and load it with `bayesrg --plugin PATH …`; its
//! model is then named in a config as `type = "cauchy-plugin/cauchy"`. The same
//! ABI is described for C in `include/bayesrg_plugin.h`; docs/plugins.md is the
//! user's guide.
//!
//! # Parts
//! - [`abi`]: the contract — `#[repr(C)]` structs, function-pointer types,
//!   status codes, magic number, versions, and the calling rules.
//! - [`guest`]: what a Rust plugin implements — the [`Model`] trait — and the
//!   generator [`Rng`] its sampler draws from.
//! - [`ffi`]: the `extern "C"` shims that [`export_plugin!`] puts in the model
//!   table, all written by one macro.
//!
//! # Why a C ABI
//! Rust trait objects have no stable layout across compilations, and `typetag`'s
//! registry does not cross a dynamic-library boundary (each library carries its
//! own). The boundary is therefore plain C: `#[repr(C)]` structs, `extern "C"`
//! function pointers, NUL-terminated UTF-8 strings and `f64` slices.
//!
//! # Safety
//! Loading a plugin runs its code, with the rights of the user running bayesrg.
//! The host loads plugins only from paths the user names.
#![warn(missing_docs)]

pub mod abi;
pub mod ffi;
pub mod guest;

pub use abi::*;
pub use ffi::{guard, write_message};
pub use guest::{Model, Rng};
pub use serde;
pub use serde_json;

/// Exports a plugin: the one header symbol and its model table.
///
/// ```ignore
/// bayesrg_plugin_api::export_plugin!(name: "cauchy-plugin", models: ["cauchy" => Cauchy]);
/// ```
///
/// Each model's tag is `name/model` (here `cauchy-plugin/cauchy`); the plugin's
/// version is the crate's `CARGO_PKG_VERSION`. Use it once per `cdylib`.
#[macro_export]
macro_rules! export_plugin {
    (name: $name:literal, models: [$($model:literal => $ty:ty),+ $(,)?] $(,)?) => {
        const _: () = {
            static __BRG_TARGET: [u8; 64] = $crate::target_bytes();
            static __BRG_MODELS: [$crate::ModelEntry; [$($model),+].len()] = [
                $($crate::ModelEntry::new::<$ty>(
                    match ::core::ffi::CStr::from_bytes_with_nul(
                        concat!($name, "/", $model, "\0").as_bytes(),
                    ) {
                        Ok(c) => c,
                        Err(_) => panic!("a plugin or model name contains a NUL byte"),
                    },
                )),+
            ];
            #[unsafe(no_mangle)]
            pub static BAYESRG_PLUGIN_HEADER: $crate::PluginHeader = $crate::PluginHeader::new(
                &__BRG_TARGET,
                match ::core::ffi::CStr::from_bytes_with_nul(concat!($name, "\0").as_bytes()) {
                    Ok(c) => c,
                    Err(_) => panic!("the plugin name contains a NUL byte"),
                },
                match ::core::ffi::CStr::from_bytes_with_nul(
                    concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
                ) {
                    Ok(c) => c,
                    Err(_) => panic!("the version contains a NUL byte"),
                },
                &__BRG_MODELS,
            );
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::{CStr, c_char, c_void};

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Panicky {
        #[serde(default)]
        scale: f64,
    }

    impl Model for Panicky {
        const SUMMARY: &'static CStr = c"panics in log_likelihood";
        const EXAMPLE_THETA: &'static [f64] = &[0.0];
        const HAS_KL: bool = true;
        fn param_names(&self) -> Vec<String> {
            vec!["x".into()]
        }
        fn obs_dim(&self) -> usize {
            1
        }
        fn log_likelihood(&self, _t: &[f64], _y: &[f64]) -> f64 {
            panic!("deliberate panic at scale {}", self.scale)
        }
        fn sample(&self, _t: &[f64], rng: &mut Rng, out: &mut [f64]) {
            out[0] = rng.normal();
        }
        fn kl(&self, _a: &[f64], _b: &[f64]) -> Result<f64, String> {
            Err("kl refuses".into())
        }
    }

    static ENTRY: ModelEntry = ModelEntry::new::<Panicky>(c"test/panicky");

    fn create(json: &CStr) -> (Status, *mut c_void, String) {
        let mut inst = std::ptr::null_mut();
        let mut err = [0 as c_char; 256];
        let st =
            unsafe { (ENTRY.create.unwrap())(json.as_ptr(), &mut inst, err.as_mut_ptr(), 256) };
        let msg = unsafe { CStr::from_ptr(err.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        (st, inst, msg)
    }

    #[test]
    fn panics_are_caught_and_reported() {
        let (st, inst, _) = create(c"{\"scale\": 2.5}");
        assert_eq!(st, STATUS_OK);
        let mut err = [0 as c_char; 256];
        let mut out = 0.0;
        let st = unsafe {
            (ENTRY.log_likelihood.unwrap())(
                inst,
                [0.0].as_ptr(),
                1,
                [1.0].as_ptr(),
                1,
                &mut out,
                err.as_mut_ptr(),
                256,
            )
        };
        assert_eq!(st, STATUS_PANIC);
        let msg = unsafe { CStr::from_ptr(err.as_ptr()) }.to_str().unwrap();
        // The message carries the panic's location, recorded by the quiet hook.
        assert!(
            msg.starts_with("log_likelihood panicked at ")
                && msg.contains("src/lib.rs:")
                && msg.ends_with(": deliberate panic at scale 2.5"),
            "{msg}"
        );
        // A θ of the wrong length is an error, not a read past θ.
        let st = unsafe {
            (ENTRY.log_likelihood.unwrap())(
                inst,
                [0.0, 1.0].as_ptr(),
                2,
                [1.0].as_ptr(),
                1,
                &mut out,
                err.as_mut_ptr(),
                256,
            )
        };
        assert_eq!(st, STATUS_ERROR);
        let msg = unsafe { CStr::from_ptr(err.as_ptr()) }.to_str().unwrap();
        assert_eq!(msg, "theta has 2 entries, the model has 1");
        unsafe { (ENTRY.destroy.unwrap())(inst) };
    }

    #[test]
    fn errors_and_bad_parameters_are_reported() {
        let (st, _, msg) = create(c"{\"scale\": \"big\"}");
        assert_eq!(st, STATUS_ERROR);
        assert!(msg.contains("invalid parameters"), "{msg}");
        let (st, _, msg) = create(c"{\"nope\": 1}");
        assert_eq!(st, STATUS_ERROR);
        assert!(msg.contains("unknown field `nope`"), "{msg}");
        let (st, _, msg) = create(c"not json");
        assert_eq!(st, STATUS_ERROR);
        assert!(msg.contains("invalid parameters"), "{msg}");

        let (_, inst, _) = create(c"{}");
        let mut err = [0 as c_char; 8];
        let mut out = 0.0;
        let st = unsafe {
            (ENTRY.kl.unwrap())(
                inst,
                [0.0].as_ptr(),
                [1.0].as_ptr(),
                1,
                &mut out,
                err.as_mut_ptr(),
                8,
            )
        };
        assert_eq!(st, STATUS_ERROR);
        // Truncated to the buffer: 7 bytes and a NUL.
        assert_eq!(
            unsafe { CStr::from_ptr(err.as_ptr()) }.to_bytes(),
            b"kl refu"
        );
        assert!(ENTRY.score.is_none() && ENTRY.fisher.is_none());
        unsafe { (ENTRY.destroy.unwrap())(inst) };
    }

    #[test]
    fn message_truncation_respects_utf8() {
        let mut buf = [1 as c_char; 4];
        unsafe { write_message(buf.as_mut_ptr(), 4, "aγγ") };
        // "a" + "γ" is 3 bytes; the second γ does not fit.
        assert_eq!(
            unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap(),
            "aγ"
        );
    }
}

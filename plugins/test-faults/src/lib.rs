//! A fault-injection plugin for bayesrg's tests, written in Rust (its C twin is
//! `faults.c` in this folder). `rfaulty/normal` is the normal family in
//! (mu, sigma) with exact score, Fisher metric and KL; the parameters choose a
//! fault and the function it happens in:
//!
//! ```toml
//! [model]
//! type = "rfaulty/normal"
//! fault = "abort"            # see `Fault`
//! in = "log_likelihood"      # see `Where`
//! ```
//!
//! With the environment variable `BRG_TEST_CTOR_ABORT=1` the library aborts
//! while it is loaded (a constructor in `.init_array`, Linux).
#![warn(missing_docs)]

use bayesrg_plugin_api::{Model, Rng, export_plugin};
use serde::Deserialize;
use std::ffi::CStr;

/// The fault to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// None: a correct normal model.
    #[default]
    None,
    /// A panic (caught inside the plugin, reported once).
    Panic,
    /// A panic in a destructor while unwinding from a panic: the plugin aborts.
    PanicWhileUnwinding,
    /// `std::process::abort()`.
    Abort,
    /// A write through a null pointer.
    Null,
    /// Unbounded recursion.
    StackOverflow,
    /// Two values written past the end of the output buffer.
    Overrun,
    /// `std::process::exit(0)`.
    Exit0,
    /// A loop that never ends.
    Loop,
    /// A NaN result.
    Nan,
    /// A `+inf` result.
    Inf,
    /// An error where the host has no error channel.
    Error,
    /// No parameters at all (`param_names` is empty).
    Dim0,
}

/// The function the fault happens in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Where {
    /// `log_likelihood`.
    #[default]
    LogLikelihood,
    /// `sample`.
    Sample,
    /// `score`.
    Score,
    /// `fisher`.
    Fisher,
    /// `kl`.
    Kl,
}

/// The example a [`Faulty`] model type declares (what `bayesrg models`
/// creates when it lists the type).
pub trait Example: Send + Sync + 'static {
    /// The example's parameters (JSON).
    const PARAMS: &'static CStr;
}

/// The example without a fault (`rfaulty/normal`).
#[derive(Debug)]
pub struct Clean;
impl Example for Clean {
    const PARAMS: &'static CStr = c"{}";
}

/// An example whose `fisher` fails (`rfaulty/fisher_fails_at_example`): a
/// listing must not run it, or it would hide the plugin's other models.
#[derive(Debug)]
pub struct FisherFails;
impl Example for FisherFails {
    const PARAMS: &'static CStr = c"{\"fault\":\"error\",\"in\":\"fisher\"}";
}

/// The normal family with a fault.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, bound = "")]
pub struct Faulty<E: Example = Clean> {
    #[serde(default)]
    fault: Fault,
    #[serde(default, rename = "in")]
    place: Where,
    #[serde(skip)]
    example: std::marker::PhantomData<E>,
}

struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("a second panic, in a destructor, while unwinding");
    }
}

#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(n: u64) -> u64 {
    let pad = std::hint::black_box([n; 512]);
    recurse(n + 1).wrapping_add(pad[n as usize % 512])
}

impl<E: Example> Faulty<E> {
    /// Does the fault if it belongs to `here`; returns the fault for the
    /// value-level kinds (NaN, inf, overrun, error) that the caller applies.
    fn at(&self, here: Where) -> Option<Fault> {
        if self.place != here {
            return None;
        }
        match self.fault {
            Fault::Panic => panic!("deliberate panic in {here:?}"),
            Fault::PanicWhileUnwinding => {
                let _bomb = Bomb;
                panic!("deliberate panic in {here:?}, with a bomb on the stack");
            }
            Fault::Abort => std::process::abort(),
            // SAFETY: none; this is the fault.
            Fault::Null => unsafe { std::ptr::null_mut::<f64>().write_volatile(1.0) },
            Fault::StackOverflow => {
                std::hint::black_box(recurse(0));
            }
            Fault::Exit0 => std::process::exit(0),
            Fault::Loop => loop {
                std::hint::spin_loop();
            },
            f => return Some(f),
        }
        None
    }

    fn write_past(out: &mut [f64]) {
        // SAFETY: none; this is the fault (the host's red zone catches it).
        unsafe {
            let p = out.as_mut_ptr().add(out.len());
            p.write_volatile(0.0);
            p.add(1).write_volatile(0.0);
        }
    }
}

impl<E: Example> Model for Faulty<E> {
    const SUMMARY: &'static CStr = c"normal (mu, sigma) with injected faults";
    const EXAMPLE_PARAMS: &'static CStr = E::PARAMS;
    const EXAMPLE_THETA: &'static [f64] = &[0.5, 1.5];
    const HAS_SCORE: bool = true;
    const HAS_FISHER: bool = true;
    const HAS_KL: bool = true;

    fn param_names(&self) -> Vec<String> {
        if self.fault == Fault::Dim0 {
            return Vec::new();
        }
        vec!["mu".into(), "sigma".into()]
    }

    fn obs_dim(&self) -> usize {
        1
    }

    fn check_params(&self, theta: &[f64]) -> Result<(), String> {
        if theta[1] > 0.0 {
            Ok(())
        } else {
            Err(format!("parameter `sigma` = {} must be > 0", theta[1]))
        }
    }

    fn log_likelihood(&self, t: &[f64], y: &[f64]) -> f64 {
        let z = (y[0] - t[0]) / t[1];
        let v = -0.5 * z * z - t[1].ln() - 0.918_938_533_204_672_7;
        match self.at(Where::LogLikelihood) {
            Some(Fault::Nan) => f64::NAN,
            Some(Fault::Inf) => f64::INFINITY,
            Some(Fault::Error) => panic!("log_likelihood cannot report an error in Rust"),
            _ => v,
        }
    }

    fn sample(&self, t: &[f64], rng: &mut Rng, out: &mut [f64]) {
        out[0] = t[0] + t[1] * rng.normal();
        match self.at(Where::Sample) {
            Some(Fault::Nan) => out[0] = f64::NAN,
            Some(Fault::Inf) => out[0] = f64::INFINITY,
            Some(Fault::Overrun) => Self::write_past(out),
            _ => {}
        }
    }

    fn score(&self, t: &[f64], y: &[f64], out: &mut [f64]) -> Result<(), String> {
        let z = (y[0] - t[0]) / t[1];
        out[0] = z / t[1];
        out[1] = (z * z - 1.0) / t[1];
        match self.at(Where::Score) {
            Some(Fault::Nan) => out[1] = f64::NAN,
            Some(Fault::Overrun) => Self::write_past(out),
            Some(Fault::Error) => return Err("score failed on purpose".into()),
            _ => {}
        }
        Ok(())
    }

    fn fisher(&self, t: &[f64], out: &mut [f64]) -> Result<(), String> {
        let v = 1.0 / (t[1] * t[1]);
        out.copy_from_slice(&[v, 0.0, 0.0, 2.0 * v]);
        match self.at(Where::Fisher) {
            Some(Fault::Nan) => out[3] = f64::NAN,
            Some(Fault::Overrun) => Self::write_past(out),
            Some(Fault::Error) => return Err("fisher failed on purpose".into()),
            _ => {}
        }
        Ok(())
    }

    fn kl(&self, a: &[f64], b: &[f64]) -> Result<f64, String> {
        let r = a[1] / b[1];
        let dm = (a[0] - b[0]) / b[1];
        let v = 0.5 * (r * r + dm * dm - 1.0) - r.ln();
        match self.at(Where::Kl) {
            Some(Fault::Nan) => Ok(f64::NAN),
            Some(Fault::Error) => Err("kl failed on purpose".into()),
            _ => Ok(v),
        }
    }
}

export_plugin!(name: "rfaulty", models: [
    "normal" => Faulty,
    "fisher_fails_at_example" => Faulty<FisherFails>,
]);

/// Aborts while the library is loaded when `BRG_TEST_CTOR_ABORT=1`.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static ABORT_ON_LOAD: extern "C" fn() = {
    extern "C" fn check() {
        if std::env::var_os("BRG_TEST_CTOR_ABORT").is_some_and(|v| v == "1") {
            std::process::abort();
        }
    }
    check
};

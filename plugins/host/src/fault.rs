//! Plugin faults: what a plugin did wrong, where, and what the host does about it.
//!
//! A *fault* is a plugin breaking the ABI's rules (`bayesrg_plugin_api::abi`):
//! a function that fails or panics where the host has no error channel
//! (`log_likelihood`, `sample`, …), a result that is not a number (a NaN or
//! `+inf` log-likelihood, a NaN sample, score or Fisher entry, a NaN KL), a
//! write past the end of an output buffer, implausible sizes. A bad *input*
//! (parameters `create` rejects, a θ `check_params` rejects) is not a fault: it
//! is an ordinary error of the caller.
//!
//! Crashes, calls to `exit` and calls that never return cannot be caught in
//! the process: the [`crate::supervisor`] reports those from outside, naming
//! the same [`Site`] and [`Function`].

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use thiserror::Error;

/// What the host was doing with a plugin: loading it, reading its header, or
/// calling one of the functions of its model table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Function {
    /// Opening the library, which runs its constructors.
    Load = 1,
    /// Reading the header and model table.
    Header,
    /// `create`.
    Create,
    /// `destroy`.
    Destroy,
    /// `dim`.
    Dim,
    /// `obs_dim`.
    ObsDim,
    /// `param_name`.
    ParamName,
    /// `check_params`.
    CheckParams,
    /// `log_likelihood`.
    LogLikelihood,
    /// `sample`.
    Sample,
    /// `score`.
    Score,
    /// `fisher`.
    Fisher,
    /// `kl`.
    Kl,
    /// `drift` of an SDE-term entry (ABI 1.1).
    Drift,
    /// `diffusion` of an SDE-term entry (ABI 1.1).
    Diffusion,
    /// `diffusion_derivative` of an SDE-term entry (ABI 1.1).
    DiffusionDerivative,
}

impl Function {
    /// Every function, in code order.
    pub const ALL: [Function; 16] = [
        Function::Load,
        Function::Header,
        Function::Create,
        Function::Destroy,
        Function::Dim,
        Function::ObsDim,
        Function::ParamName,
        Function::CheckParams,
        Function::LogLikelihood,
        Function::Sample,
        Function::Score,
        Function::Fisher,
        Function::Kl,
        Function::Drift,
        Function::Diffusion,
        Function::DiffusionDerivative,
    ];

    /// The small integer the supervisor's breadcrumb stores (1 ..= 16).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The function of a breadcrumb code.
    pub fn from_code(c: u8) -> Option<Function> {
        Function::ALL.get(usize::from(c).checked_sub(1)?).copied()
    }

    /// The name of the model-table function (`bayesrg_plugin_api::ENTRY_FUNCTIONS`),
    /// or `load`/`header` for the loading steps.
    pub fn name(self) -> &'static str {
        use bayesrg_plugin_api::ENTRY_FUNCTIONS as F;
        match self {
            Function::Load => "load",
            Function::Header => "header",
            Function::Drift => "drift",
            Function::Diffusion => "diffusion",
            Function::DiffusionDerivative => "diffusion_derivative",
            f => F[usize::from(f.code()) - usize::from(Function::Create.code())],
        }
    }
}

impl fmt::Display for Function {
    /// `` `sample` ``, or a phrase for the loading steps.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Function::Load => f.write_str("its constructors (run while the library is opened)"),
            Function::Header => f.write_str("its header and model table"),
            other => write!(f, "`{}`", other.name()),
        }
    }
}

/// Where a plugin's code runs: the library and, once read from the header, the
/// plugin's name and the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The library's absolute path.
    pub library: PathBuf,
    /// The plugin's name (from its header), once known.
    pub plugin: Option<String>,
    /// The model's tag, for a function of a model.
    pub model: Option<String>,
}

impl fmt::Display for Site {
    /// ``plugin `NAME` (PATH), model `TAG` `` or ``plugin library `PATH` ``.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.plugin {
            Some(p) => write!(f, "plugin `{p}` ({})", self.library.display())?,
            None => write!(f, "plugin library `{}`", self.library.display())?,
        }
        if let Some(m) = &self.model {
            write!(f, ", model `{m}`")?;
        }
        Ok(())
    }
}

/// What went wrong in one plugin call.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FaultKind {
    /// The function returned `STATUS_ERROR` where the host has no error channel.
    #[error("failed: {0}")]
    Error(String),
    /// A panic was caught inside the plugin.
    #[error("panicked (caught inside the plugin): {0}")]
    Panic(String),
    /// A status the ABI does not define.
    #[error("returned the unknown status {code}: {message}")]
    UnknownStatus {
        /// The status.
        code: i32,
        /// The message in the error buffer.
        message: String,
    },
    /// A result that is not a number where one is required.
    #[error("returned {value} at {inputs}")]
    NotFinite {
        /// What came back, e.g. `NaN` or `sample [NaN, 1]`.
        value: String,
        /// The inputs of the call, e.g. `θ = [1, 2], y = [0.5]`.
        inputs: String,
    },
    /// A write past the end of a host buffer.
    #[error("wrote past the end of its {buffer} ({len} {unit}{})", if *len == 1 { "" } else { "s" })]
    Overrun {
        /// Which buffer.
        buffer: &'static str,
        /// Its length.
        len: usize,
        /// The unit of the length (`value`, `byte`).
        unit: &'static str,
    },
    /// `create` succeeded without an instance.
    #[error("returned a null instance")]
    NullInstance,
    /// Sizes the host cannot work with.
    #[error("{0}")]
    BadSizes(String),
}

/// One fault of one plugin: where, in which function, and what went wrong.
/// Displayed as ``plugin `NAME` (PATH), model `TAG`: `FUNCTION` WHAT``.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{site}: {function} {kind}")]
pub struct PluginFault {
    /// The plugin, library and model.
    pub site: Arc<Site>,
    /// The function.
    pub function: Function,
    /// What went wrong.
    pub kind: FaultKind,
}

/// What the host does when a plugin function without an error channel faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPolicy {
    /// Keep the first fault ([`crate::PluginHost::first_fault`]), count the
    /// rest, and return NaN (or no closed form) to the caller. For library
    /// use, where the caller checks after its computation.
    Record,
    /// Stop at once: hand the message to the supervising parent and end the
    /// process with status 2 (see [`crate::supervisor`]). The parent prints
    /// it once and removes the run's partial results. Used in the supervised
    /// child; a computation never continues on a plugin's NaN.
    Exit,
}

impl FaultPolicy {
    /// [`FaultPolicy::Exit`] in a supervised child, else [`FaultPolicy::Record`].
    pub fn for_this_process() -> Self {
        if crate::supervisor::is_child() {
            FaultPolicy::Exit
        } else {
            FaultPolicy::Record
        }
    }
}

/// Where the faults of one host's plugins go (owned by the host, shared with
/// its model types).
#[derive(Debug)]
pub(crate) struct FaultSink {
    policy: FaultPolicy,
    first: OnceLock<PluginFault>,
    count: AtomicUsize,
}

impl FaultSink {
    pub(crate) fn new(policy: FaultPolicy) -> Self {
        FaultSink {
            policy,
            first: OnceLock::new(),
            count: AtomicUsize::new(0),
        }
    }

    pub(crate) fn policy(&self) -> FaultPolicy {
        self.policy
    }

    /// Reports a fault: under [`FaultPolicy::Exit`] this does not return.
    pub(crate) fn report(&self, fault: PluginFault) {
        if self.policy == FaultPolicy::Exit {
            crate::supervisor::fault_exit(&fault.to_string());
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let _ = self.first.set(fault);
    }

    /// The first fault and how many there were in all; `None` when there was none.
    pub(crate) fn first(&self) -> Option<(PluginFault, usize)> {
        let f = self.first.get()?.clone();
        Some((f, self.count.load(Ordering::Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_codes_round_trip_and_names_follow_the_abi() {
        for f in Function::ALL {
            assert_eq!(Function::from_code(f.code()), Some(f));
        }
        assert_eq!(Function::from_code(0), None);
        assert_eq!(Function::from_code(17), None);
        assert_eq!(Function::DiffusionDerivative.name(), "diffusion_derivative");
        assert_eq!(Function::Create.name(), "create");
        assert_eq!(Function::Kl.name(), "kl");
        assert_eq!(Function::LogLikelihood.name(), "log_likelihood");
        assert_eq!(Function::ObsDim.to_string(), "`obs_dim`");
    }

    #[test]
    fn a_fault_names_plugin_library_model_and_function() {
        let site = Arc::new(Site {
            library: "/lib/libx.so".into(),
            plugin: Some("x".into()),
            model: Some("x/m".into()),
        });
        let f = PluginFault {
            site,
            function: Function::LogLikelihood,
            kind: FaultKind::NotFinite {
                value: "NaN".into(),
                inputs: "θ = [1], y = [2]".into(),
            },
        };
        assert_eq!(
            f.to_string(),
            "plugin `x` (/lib/libx.so), model `x/m`: `log_likelihood` returned NaN at θ = [1], y = [2]"
        );
        let bare = Site {
            library: "/lib/liby.so".into(),
            plugin: None,
            model: None,
        };
        assert_eq!(bare.to_string(), "plugin library `/lib/liby.so`");
    }

    #[test]
    fn record_keeps_the_first_fault_and_counts_all() {
        let sink = FaultSink::new(FaultPolicy::Record);
        assert!(sink.first().is_none());
        let site = Arc::new(Site {
            library: "/l.so".into(),
            plugin: None,
            model: None,
        });
        for i in 0..3 {
            sink.report(PluginFault {
                site: site.clone(),
                function: Function::Sample,
                kind: FaultKind::Error(format!("e{i}")),
            });
        }
        let (f, n) = sink.first().unwrap();
        assert_eq!((f.kind, n), (FaultKind::Error("e0".into()), 3));
    }
}

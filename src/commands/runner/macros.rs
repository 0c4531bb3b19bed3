//! `command!` and `command_fns!`: what every command module declares, written
//! once (see [`Command`](super::Command)).

/// Declares the [`Command`] `$c` of a command module: its name in
/// summary.json, its spec and result types and its one library call. The
/// spec is checked by its own `validate`; summary.json's details and the
/// files are the module's `files::details(spec, result, writing)` and
/// `files::write(dir, spec, result)`. Optional `place`, `inputs` and
/// `timings` name functions for [`Command::place`], [`Command::inputs`] and
/// [`Command::write_timings`].
macro_rules! command {
    ($(#[$m:meta])* $c:ident = $name:literal, $spec:ty => $out:ty, $run:path
     $(, $opt:ident = $f:path)* $(,)?) => {
        $(#[$m])*
        pub struct $c;

        impl $crate::commands::Command for $c {
            const NAME: &'static str = $name;
            type Spec = $spec;
            type Output = $out;
            fn validate(spec: &$spec) -> bayesrg_core::Result<()> {
                spec.validate()
            }
            fn compute(
                spec: &$spec,
                obs: &mut dyn bayesrg_core::observe::Observer,
            ) -> bayesrg_core::Result<$out> {
                $run(spec, obs)
            }
            fn details(spec: &$spec, r: &$out, writing: bool) -> anyhow::Result<serde_json::Value> {
                files::details(spec, r, writing)
            }
            fn write(dir: &$crate::output::OutDir, spec: &$spec, r: &$out) -> anyhow::Result<()> {
                files::write(dir, spec, r)
            }
            $(command!(@$opt $f, $spec, $out);)*
        }
    };
    (@place $f:path, $spec:ty, $out:ty) => {
        fn place(origin: Option<&str>, e: bayesrg_core::Error) -> anyhow::Error {
            $f(origin, e)
        }
    };
    (@inputs $f:path, $spec:ty, $out:ty) => {
        fn inputs(spec: &$spec) -> Vec<&std::path::Path> {
            $f(spec)
        }
    };
    (@timings $f:path, $spec:ty, $out:ty) => {
        fn write_timings(
            dir: &$crate::output::OutDir,
            r: &$out,
            seconds: f64,
        ) -> anyhow::Result<()> {
            $f(dir, r, seconds)
        }
    };
}

/// The functions of a command module over its [`Command`] `$c`: `load`, and
/// unless `load` alone is asked for, `run_file`; with `progress` also `run`
/// (a spec, its origin, the result folder, progress bars) as the callers of
/// `bayes` and `flow` use it; with `silent` a `run` without progress bars
/// (`spectrum`, `geodesic`).
macro_rules! command_fns {
    ($c:ty, progress) => {
        command_fns!($c);
        /// Runs the command on a spec read from `origin` (for messages and
        /// summary.json); writes into `out` when given; progress bars when
        /// `progress`.
        pub fn run(
            spec: &<$c as $crate::commands::Command>::Spec,
            origin: Option<&str>,
            out: Option<&std::path::Path>,
            progress: bool,
        ) -> anyhow::Result<$crate::commands::Summary> {
            let origin = origin.map(str::to_string);
            Ok($crate::commands::execute::<$c>(spec, origin, out, progress)?.summary)
        }
    };
    ($c:ty, silent) => {
        command_fns!($c);
        /// Runs the command on a spec read from `config` (for messages and
        /// summary.json), without progress bars; writes into `out` when
        /// given.
        pub fn run(
            spec: &<$c as $crate::commands::Command>::Spec,
            config: Option<String>,
            out: Option<&std::path::Path>,
        ) -> anyhow::Result<$crate::commands::Summary> {
            Ok($crate::commands::execute::<$c>(spec, config, out, false)?.summary)
        }
    };
    ($c:ty) => {
        command_fns!($c, load);
        /// Loads `path` and runs it without progress bars.
        pub fn run_file(
            path: &std::path::Path,
            out: Option<&std::path::Path>,
        ) -> anyhow::Result<$crate::commands::Summary> {
            Ok($crate::commands::run_file::<$c>(path, out)?.summary)
        }
    };
    ($c:ty, load) => {
        /// Reads a config (TOML, or JSON by extension) and checks it; a bad
        /// value is reported at its `file:line:col`.
        pub fn load(
            path: &std::path::Path,
        ) -> anyhow::Result<<$c as $crate::commands::Command>::Spec> {
            $crate::commands::load::<$c>(path)
        }
    };
}

//! The C header `include/bayesrg_plugin.h` and the Rust ABI (`src/abi.rs`)
//! describe one contract. A small C program, compiled with the system `cc`
//! against the header, prints every struct size and field offset, every
//! constant, the target string, draws of the `brg_rng_*` generator and the
//! answers of `brg_json_number`; each is compared with the Rust side.

use bayesrg_plugin_api::{self as api, ModelEntry, PluginHeader, Rng, SdeEntry};
use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const PROBE: &str = r#"
#include <inttypes.h>
#include <stdio.h>
#include "bayesrg_plugin.h"
#define F(S, f) printf(#S "." #f " %zu\n", offsetof(S, f))
int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "rng") == 0) {
        brg_rng r = brg_rng_new(strtoull(argv[2], NULL, 10));
        int i;
        for (i = 0; i < 3; i++) printf("%" PRIu64 "\n", brg_rng_next_u64(&r));
        /* One statement each: the order of arguments' evaluation is unspecified. */
        double u = brg_rng_uniform(&r);
        double n = brg_rng_normal(&r);
        double e = brg_rng_exponential(&r);
        printf("%.17g\n%.17g\n%.17g\n", u, n, e);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "json") == 0) {
        double v = -999.0;
        int st = brg_json_number(argv[2], argv[3], &v);
        printf("%d %.17g\n", st, v);
        return 0;
    }
    printf("sizeof.brg_plugin_header %zu\n", sizeof(brg_plugin_header));
    F(brg_plugin_header, magic); F(brg_plugin_header, abi_major);
    F(brg_plugin_header, abi_minor); F(brg_plugin_header, header_size);
    F(brg_plugin_header, model_entry_size); F(brg_plugin_header, target);
    F(brg_plugin_header, name); F(brg_plugin_header, version);
    F(brg_plugin_header, n_models); F(brg_plugin_header, models);
    F(brg_plugin_header, sde_entry_size); F(brg_plugin_header, n_sde_terms);
    F(brg_plugin_header, sde_terms);
    printf("sizeof.brg_sde_entry %zu\n", sizeof(brg_sde_entry));
    F(brg_sde_entry, tag); F(brg_sde_entry, summary); F(brg_sde_entry, example_params);
    F(brg_sde_entry, create); F(brg_sde_entry, destroy); F(brg_sde_entry, dim);
    F(brg_sde_entry, drift); F(brg_sde_entry, diffusion);
    F(brg_sde_entry, diffusion_derivative);
    printf("sizeof.brg_model_entry %zu\n", sizeof(brg_model_entry));
    F(brg_model_entry, tag); F(brg_model_entry, summary);
    F(brg_model_entry, example_params); F(brg_model_entry, example_theta);
    F(brg_model_entry, example_theta_len); F(brg_model_entry, create);
    F(brg_model_entry, destroy); F(brg_model_entry, dim); F(brg_model_entry, obs_dim);
    F(brg_model_entry, param_name); F(brg_model_entry, check_params);
    F(brg_model_entry, log_likelihood); F(brg_model_entry, sample);
    F(brg_model_entry, score); F(brg_model_entry, fisher); F(brg_model_entry, kl);
    printf("BRG_MAGIC %" PRIu64 "\n", BRG_MAGIC);
    printf("BRG_ABI_MAJOR %u\nBRG_ABI_MINOR %u\n", BRG_ABI_MAJOR, BRG_ABI_MINOR);
    printf("BRG_OK %d\nBRG_ERROR %d\nBRG_PANIC %d\n", BRG_OK, BRG_ERROR, BRG_PANIC);
    printf("sizeof.brg_status %zu\n", sizeof(brg_status));
    printf("BRG_TARGET %s\n", BRG_TARGET);
    return 0;
}
"#;

/// The compiled probe (built once per test binary).
fn probe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("header-probe");
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("probe.c");
        std::fs::write(&src, PROBE).unwrap();
        let exe = dir.join("probe");
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let o = Command::new(cc)
            .args(["-std=c99", "-Wall", "-Werror", "-O1", "-I"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("include"))
            .arg(&src)
            .arg("-o")
            .arg(&exe)
            .arg("-lm")
            .output()
            .expect("run the C compiler `cc`");
        assert!(
            o.status.success(),
            "cc failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        exe
    })
}

fn run_probe(args: &[&str]) -> String {
    let o = Command::new(probe()).args(args).output().unwrap();
    assert!(o.status.success());
    String::from_utf8(o.stdout).unwrap()
}

/// The Rust side of every line the probe prints without arguments.
fn rust_layout() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.to_string(), v);
    };
    macro_rules! off {
        ($c:literal, $s:ty, $($f:ident),*) => {
            $(put(concat!($c, ".", stringify!($f)), offset_of!($s, $f).to_string());)*
        };
    }
    put(
        "sizeof.brg_plugin_header",
        size_of::<PluginHeader>().to_string(),
    );
    off!(
        "brg_plugin_header",
        PluginHeader,
        magic,
        abi_major,
        abi_minor,
        header_size,
        model_entry_size,
        target,
        name,
        version,
        n_models,
        models,
        sde_entry_size,
        n_sde_terms,
        sde_terms
    );
    put("sizeof.brg_sde_entry", size_of::<SdeEntry>().to_string());
    off!(
        "brg_sde_entry",
        SdeEntry,
        tag,
        summary,
        example_params,
        create,
        destroy,
        dim,
        drift,
        diffusion,
        diffusion_derivative
    );
    put(
        "sizeof.brg_model_entry",
        size_of::<ModelEntry>().to_string(),
    );
    off!(
        "brg_model_entry",
        ModelEntry,
        tag,
        summary,
        example_params,
        example_theta,
        example_theta_len,
        create,
        destroy,
        dim,
        obs_dim,
        param_name,
        check_params,
        log_likelihood,
        sample,
        score,
        fisher,
        kl
    );
    put("BRG_MAGIC", api::MAGIC.to_string());
    put("BRG_ABI_MAJOR", api::ABI_MAJOR.to_string());
    put("BRG_ABI_MINOR", api::ABI_MINOR.to_string());
    put("BRG_OK", api::STATUS_OK.to_string());
    put("BRG_ERROR", api::STATUS_ERROR.to_string());
    put("BRG_PANIC", api::STATUS_PANIC.to_string());
    put("sizeof.brg_status", size_of::<api::Status>().to_string());
    put("BRG_TARGET", api::target());
    m
}

/// Lines `NAME VALUE` → a map.
fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Every name whose value differs, or that only one side has.
fn mismatches(c: &BTreeMap<String, String>, rust: &BTreeMap<String, String>) -> Vec<String> {
    let mut keys: Vec<&String> = c.keys().chain(rust.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| c.get(*k) != rust.get(*k))
        .map(|k| format!("{k}: C {:?}, Rust {:?}", c.get(k), rust.get(k)))
        .collect()
}

#[test]
fn header_layout_and_constants_match_the_rust_abi() {
    let c = parse(&run_probe(&[]));
    let rust = rust_layout();
    assert_eq!(c.len(), 49, "the probe printed {c:?}");
    let bad = mismatches(&c, &rust);
    assert!(
        bad.is_empty(),
        "header and Rust ABI differ:\n{}",
        bad.join("\n")
    );

    // The comparison can fail: one wrong offset or constant is reported.
    let mut wrong = c.clone();
    wrong.insert("brg_model_entry.kl".into(), "0".into());
    wrong.remove("BRG_PANIC");
    let bad = mismatches(&wrong, &rust);
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(bad[0].starts_with("BRG_PANIC") && bad[1].starts_with("brg_model_entry.kl"));
}

#[test]
fn c_and_rust_generators_draw_the_same_numbers() {
    for seed in [0u64, 42, u64::MAX] {
        let out = run_probe(&["rng", &seed.to_string()]);
        let lines: Vec<&str> = out.lines().collect();
        let mut r = Rng::new(seed);
        for l in &lines[..3] {
            assert_eq!(l.parse::<u64>().unwrap(), r.next_u64(), "seed {seed}");
        }
        // %.17g round-trips a double exactly; the uniform is bit-identical,
        // the normal and exponential go through the C library's log/cos/sqrt,
        // the same functions Rust calls on this platform.
        let want = [r.uniform(), r.normal(), r.exponential()];
        for (l, w) in lines[3..].iter().zip(want) {
            let got: f64 = l.parse().unwrap();
            assert!(
                (got - w).abs() <= 4.0 * f64::EPSILON * w.abs(),
                "seed {seed}: {got} vs {w}"
            );
        }
    }
    // The first draws for seed 0 are the reference values of
    // tests/oracles/xoshiro256pp.py.
    let out = run_probe(&["rng", "0"]);
    assert_eq!(out.lines().next(), Some("5987356902031041503"));
    assert_eq!(0x53175D61490B23DFu64, 5987356902031041503);
}

#[test]
fn json_number_reads_the_parameters_the_host_passes() {
    // The host passes serde_json's compact text of the config table.
    let params: serde_json::Value = toml::from_str::<toml::Table>(
        "k = 3\nscale = 0.5\nname = \"a,\\\"k\\\":9\"\n[nested]\nk = 7\n",
    )
    .map(|t| serde_json::to_value(t).unwrap())
    .unwrap();
    let text = params.to_string();
    assert_eq!(
        text,
        r#"{"k":3,"name":"a,\"k\":9","nested":{"k":7},"scale":0.5}"#
    );
    let ask = |json: &str, key: &str| -> (i32, f64) {
        let out = run_probe(&["json", json, key]);
        let (s, v) = out.trim().split_once(' ').unwrap();
        (s.parse().unwrap(), v.parse().unwrap())
    };
    assert_eq!(ask(&text, "k"), (1, 3.0));
    assert_eq!(ask(&text, "scale"), (1, 0.5));
    // A key inside a string or a nested table is not a top-level key.
    assert_eq!(ask(r#"{"nested":{"q":7}}"#, "q").0, 0);
    assert_eq!(ask(&text, "missing").0, 0);
    assert_eq!(ask(&text, "name").0, -1);
    assert_eq!(ask(&text, "nested").0, -1);
    assert_eq!(ask("{}", "k").0, 0);
    assert_eq!(ask("[1]", "k").0, -1);
    assert_eq!(ask(r#"{"x":-1.5e-300}"#, "x"), (1, -1.5e-300));
}

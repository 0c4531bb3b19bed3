//! The cost of one plugin call, in calls per second: the C function pointer
//! called directly (the floor), the same call through `PluginModel` (buffers
//! with red zones, status and NaN checks), and through `PluginModel` with the
//! supervisor's breadcrumb attached (two relaxed stores per call more).
//!
//! The plugin is `plugins/test-faults/faults.c` without a fault (a normal
//! model), compiled here with the system `cc`.
//!
//! Run: `cargo bench -p bayesrg-plugin-host --bench plugin_calls`

use bayesrg_core::Model;
use bayesrg_plugin_api as api;
use bayesrg_plugin_host::{FaultPolicy, PluginHost, supervisor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::{Path, PathBuf};

fn build_plugin() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::temp_dir().join(format!("brg-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lib = dir.join("libfaulty.so");
    let ok = std::process::Command::new("cc")
        .args(["-O2", "-shared", "-fPIC", "-I"])
        .arg(root.join("plugins/api/include"))
        .arg(root.join("plugins/test-faults/faults.c"))
        .arg("-o")
        .arg(&lib)
        .arg("-lm")
        .status()
        .unwrap()
        .success();
    assert!(ok, "cc failed");
    lib
}

fn bench(c: &mut Criterion) {
    let lib = build_plugin();
    let theta = [0.5, 1.5];
    let y = [0.7];
    let mut g = c.benchmark_group("log_likelihood");
    g.throughput(Throughput::Elements(1));

    // The floor: the entry's function pointer, called directly.
    // SAFETY: a plugin of this repository, used by its ABI's rules.
    let direct = unsafe {
        let l = Box::leak(Box::new(libloading::Library::new(&lib).unwrap()));
        let h: *const api::PluginHeader = *l
            .get::<*const api::PluginHeader>(b"BAYESRG_PLUGIN_HEADER")
            .unwrap();
        let e = &*(*h).models;
        let mut inst = std::ptr::null_mut();
        let mut err = [0 as std::ffi::c_char; 1024];
        (e.create.unwrap())(c"{}".as_ptr(), &mut inst, err.as_mut_ptr(), 1024);
        (e.log_likelihood.unwrap(), inst)
    };
    g.bench_function("direct C call", |b| {
        let mut err = [0 as std::ffi::c_char; 1024];
        b.iter(|| {
            let mut v = 0.0;
            // SAFETY: as above.
            unsafe {
                (direct.0)(
                    direct.1,
                    theta.as_ptr(),
                    2,
                    y.as_ptr(),
                    1,
                    &mut v,
                    err.as_mut_ptr(),
                    1024,
                )
            };
            black_box(v)
        })
    });

    let mut host = PluginHost::with_policy(FaultPolicy::Record);
    host.load(&lib).unwrap();
    let m = host.create("faulty/normal", serde_json::json!({})).unwrap();
    g.bench_function("PluginModel, no supervisor", |b| {
        b.iter(|| black_box(m.log_likelihood(black_box(&theta), black_box(&y))))
    });

    let crumb = std::env::temp_dir().join(format!("brg-bench-{}.crumb", std::process::id()));
    supervisor::attach_new(&crumb).unwrap();
    let mut host = PluginHost::with_policy(FaultPolicy::Record);
    host.load(&lib).unwrap();
    let m = host.create("faulty/normal", serde_json::json!({})).unwrap();
    g.bench_function("PluginModel, breadcrumb attached", |b| {
        b.iter(|| black_box(m.log_likelihood(black_box(&theta), black_box(&y))))
    });
    let mut out = [0.0];
    let mut rng = bayesrg_core::rng::stream(1, 0);
    g.bench_function("PluginModel sample, breadcrumb attached", |b| {
        b.iter(|| {
            m.sample(&theta, &mut rng, &mut out);
            black_box(out[0])
        })
    });
    g.finish();
    let _ = std::fs::remove_file(&crumb);
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The sweep crate on toy runners: expansion, seeds, the results folder,
//! resuming, failures and the merged table (issue 15).

use std::sync::atomic::{AtomicUsize, Ordering};

use bayesrg_core::observe::Silent;
use bayesrg_core::rng::Seed;
use bayesrg_sweep::{Outcome, Store, SweepSpec, TaskRunner, merge, records, run_local};
use rand_distr::{Distribution, StandardNormal};
use serde_json::{Value, json};

fn spec(toml_text: &str) -> SweepSpec {
    toml::from_str(toml_text).unwrap()
}

const GRID: &str = r#"
command = "toy"
seed = 11
replicates = 2
[base]
theta = [0.0, 1.0]
n = 100
[[axes]]
path = "theta[1]"
name = "sigma"
range = { start = 0.001, stop = 1000.0, num = 7, log = true }
[[axes]]
path = "theta[0]"
values = [-1.0, 0.5, 2]
"#;

#[test]
fn product_order_values_and_seeds() {
    let s = spec(GRID);
    let tasks = s.expand().unwrap();
    assert_eq!(tasks.len(), 7 * 3 * 2);
    // First axis slowest, replicates fastest.
    let t = &tasks[0];
    assert_eq!(t.coords[0], ("sigma".to_string(), json!(0.001)));
    assert_eq!(t.coords[1], ("theta[0]".to_string(), json!(-1.0)));
    assert_eq!(t.coords[2], ("replicate".to_string(), json!(0)));
    assert_eq!(tasks[1].coords[2].1, json!(1));
    assert_eq!(tasks[2].coords[1].1, json!(0.5));
    // Decades: 1e-3 … 1e3 (closed form 10^k, to rounding of powf).
    for (k, want) in [1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3].iter().enumerate() {
        let got = tasks[6 * k].config["theta"][1].as_f64().unwrap();
        assert!((got / want - 1.0).abs() < 1e-14, "{k}: {got} vs {want}");
    }
    assert_eq!(tasks[41].config["theta"], json!([2, 1000.0]));
    // Every task has its own seed and id; the seed sits in the config.
    let mut seeds: Vec<u64> = tasks.iter().map(|t| t.seed.value()).collect();
    seeds.sort_unstable();
    seeds.dedup();
    assert_eq!(seeds.len(), tasks.len());
    for t in &tasks {
        assert_eq!(t.config["seed"], json!(t.seed.value()));
        assert!(t.seed.value() < 1 << 53);
        assert_eq!(t.config["n"], json!(100));
    }
}

#[test]
fn a_task_keeps_its_seed_and_id_when_the_sweep_grows() {
    let small = spec(GRID).expand().unwrap();
    let mut bigger = spec(GRID);
    bigger.axes[1].values.as_mut().unwrap().insert(0, json!(-7));
    bigger.seed_field = "seed".into();
    let big = bigger.expand().unwrap();
    assert_eq!(big.len(), 7 * 4 * 2);
    for t in &small {
        let same = big.iter().find(|b| b.coords == t.coords).unwrap();
        assert_eq!(same.seed, t.seed);
        assert_eq!(same.id, t.id);
        assert_eq!(same.config, t.config);
    }
    // Another root seed changes every task's seed.
    let mut other = spec(GRID);
    other.seed = Seed::new(12);
    let o = other.expand().unwrap();
    assert!(
        o.iter()
            .zip(&small)
            .all(|(a, b)| a.seed != b.seed && a.id != b.id)
    );
}

#[test]
fn zip_mode_and_models_as_values() {
    let s = spec(
        r#"
command = "toy"
mode = "zip"
seed_field = ""
[base]
model = { type = "normal" }
theta = [0.0, 1.0]
[[axes]]
path = "model"
values = [{ type = "normal" }, { type = "poisson" }]
[[axes]]
path = "theta"
values = [[0.0, 1.0], [3.0]]
"#,
    );
    let tasks = s.expand().unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(
        tasks[1].config,
        json!({"model": {"type": "poisson"}, "theta": [3.0]})
    );
    assert!(tasks[0].config.get("seed").is_none());
}

#[test]
fn bad_specs_name_the_field() {
    let cases = [
        (
            r#"command = "t"
[base]
a = 1
[[axes]]
path = "a"
"#,
            "axes[0]",
            "exactly one of",
        ),
        (
            r#"command = "t"
[base]
a = 1
[[axes]]
path = "a"
values = []
"#,
            "axes[0].values",
            "at least one",
        ),
        (
            r#"command = "t"
[base]
a = [1]
[[axes]]
path = "a[3]"
values = [1]
"#,
            "axes[0].path",
            "indexes [3] of an array of 1",
        ),
        (
            r#"command = "t"
[base]
a = 1
[[axes]]
path = "b.c"
values = [1]
"#,
            "axes[0].path",
            "lacks",
        ),
        (
            r#"command = "t"
[base]
a = 1
[[axes]]
path = "a.c"
values = [1]
"#,
            "axes[0].path",
            "takes key `c` of a number",
        ),
        (
            r#"command = "t"
[base]
a = 1
[[axes]]
path = "a"
range = { start = 0.0, stop = 1.0, num = 3, log = true }
"#,
            "axes[0].range.start",
            "> 0",
        ),
        (
            r#"command = "t"
mode = "zip"
[base]
a = 1
b = 2
[[axes]]
path = "a"
values = [1, 2]
[[axes]]
path = "b"
values = [1, 2, 3]
"#,
            "axes[1]",
            "2 values",
        ),
        (
            r#"command = "t"
[base]
a = 1
b = 2
[[axes]]
path = "a"
range = { start = 0.0, stop = 1.0, num = 10000 }
[[axes]]
path = "b"
range = { start = 0.0, stop = 1.0, num = 10000 }
"#,
            "axes",
            "tasks",
        ),
        (
            r#"command = "t"
replicates = 0
base = { a = 1 }
"#,
            "replicates",
            "",
        ),
        (
            r#"command = "t"
base = 3
"#,
            "base",
            "table",
        ),
    ];
    for (text, field, words) in cases {
        let err = spec(text).expand().unwrap_err();
        assert_eq!(
            err.field().map(|f| f.to_string()).as_deref(),
            Some(field),
            "{text}: {err}"
        );
        assert!(err.to_string().contains(words), "{text}: {err}");
        assert!(err.is_bad_input());
    }
}

/// A toy command: the mean of `n` normal draws with the task's seed, failing
/// for theta[0] = 0.5 and panicking at theta = (2, 1).
struct Toy {
    calls: AtomicUsize,
}

impl TaskRunner for Toy {
    fn run(&self, command: &str, config: &Value) -> Result<Value, String> {
        assert_eq!(command, "toy");
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mu = config["theta"][0].as_f64().unwrap();
        let sigma = config["theta"][1].as_f64().unwrap();
        if mu == 0.5 {
            return Err(format!("theta[0] = {mu} is not allowed by the toy"));
        }
        if mu == 2.0 && (sigma - 1.0).abs() < 1e-9 {
            panic!("the toy panics at theta = (2, 1)");
        }
        let mut rng = Seed::new(config["seed"].as_u64().unwrap()).stream(0);
        let n = config["n"].as_u64().unwrap();
        let mean = (0..n)
            .map(|_| {
                mu + sigma * {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    z
                }
            })
            .sum::<f64>()
            / n as f64;
        Ok(json!({"mean": mean, "ok": mean.is_finite(), "label": "text is left out"}))
    }
}

fn run_in(
    dir: &std::path::Path,
    threads: usize,
) -> (bayesrg_sweep::Merged, usize, bayesrg_sweep::LocalRun) {
    let tasks = spec(GRID).expand().unwrap();
    let store = Store::open(dir).unwrap();
    let toy = Toy {
        calls: AtomicUsize::new(0),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let run = pool
        .install(|| run_local(&tasks, &toy, &store, &mut Silent))
        .unwrap();
    let recs = records(&tasks, &store).unwrap();
    (
        merge(&tasks, &recs, &[]).unwrap(),
        toy.calls.into_inner(),
        run,
    )
}

#[test]
fn local_run_records_failures_resumes_and_merges_identically() {
    let base = std::env::temp_dir().join(format!("bayesrg-sweep-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (m1, calls1, run1) = run_in(&base.join("one"), 1);
    assert_eq!(calls1, 42);
    assert_eq!(run1.skipped, 0);
    assert_eq!(
        run1.failed.len(),
        16,
        "7 sigmas x 2 replicates at theta[0] = 0.5, and 2 panics"
    );
    let panics = run1
        .failed
        .iter()
        .filter(|(_, e)| e == "the task panicked: the toy panics at theta = (2, 1)")
        .count();
    assert_eq!(panics, 2);
    assert_eq!(m1.counts.ok, 26);
    assert_eq!(m1.counts.failed, 16);
    // Two threads: the same bytes.
    let (m2, _, _) = run_in(&base.join("two"), 2);
    assert_eq!(m1, m2);
    // Rerun: finished tasks are skipped, failed ones tried again.
    let (m3, calls3, run3) = run_in(&base.join("one"), 2);
    assert_eq!(run3.skipped, 26);
    assert_eq!(calls3, 16);
    assert_eq!(m3, m1);
    // The table: header, one row per task and number (mean, ok), texts left out.
    let lines: Vec<&str> = m1.results.lines().collect();
    assert_eq!(lines[0], "task,sigma,theta[0],replicate,quantity,value");
    assert_eq!(lines.len(), 1 + 26 * 2);
    assert!(lines[1].starts_with("0,0.001,-1.0,0,mean,"));
    assert!(lines[2].starts_with("0,0.001,-1.0,0,ok,1"));
    // The mean of task 0 is an independent recomputation from its seed.
    let t0 = &spec(GRID).expand().unwrap()[0];
    let mut rng = t0.seed.stream(0);
    let want = (0..100)
        .map(|_| {
            -1.0 + 0.001 * {
                let z: f64 = StandardNormal.sample(&mut rng);
                z
            }
        })
        .sum::<f64>()
        / 100.0;
    assert_eq!(lines[1], format!("0,0.001,-1.0,0,mean,{}", json!(want)));
    let t = m1.tasks.lines().nth(3).unwrap();
    assert!(
        t.ends_with(",failed,theta[0] = 0.5 is not allowed by the toy"),
        "{t}"
    );
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn a_result_is_written_once() {
    let dir = std::env::temp_dir().join(format!("bayesrg-sweep-once-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let tasks = spec(GRID).expand().unwrap();
    let store = Store::open(&dir).unwrap();
    assert!(
        store
            .record(&tasks[0], Outcome::Error("first try failed".into()))
            .unwrap()
    );
    assert!(
        store
            .record(&tasks[0], Outcome::Result(json!({"x": 1})))
            .unwrap()
    );
    assert!(
        !store
            .record(&tasks[0], Outcome::Result(json!({"x": 2})))
            .unwrap()
    );
    let rec = store.load(&tasks[0]).unwrap().unwrap();
    assert_eq!(rec.outcome, Outcome::Result(json!({"x": 1})));
    let names: Vec<_> = std::fs::read_dir(dir.join("tasks"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn long_arrays_only_when_kept() {
    let tasks = spec(GRID).expand().unwrap();
    let long: Vec<f64> = (0..100).map(f64::from).collect();
    let rec = bayesrg_sweep::Record {
        task: tasks[0].clone(),
        outcome: Outcome::Result(json!({"a": 1.5, "diag": long, "short": [1, 2]})),
    };
    let recs = vec![Some(rec)];
    let quantities = |keep: &[&str]| -> Vec<String> {
        let keep: Vec<String> = keep.iter().map(|s| s.to_string()).collect();
        let m = merge(&tasks[..1], &recs, &keep).unwrap();
        m.results
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(4).unwrap().to_string())
            .collect()
    };
    assert_eq!(quantities(&[]), ["a", "short[0]", "short[1]"]);
    let kept = quantities(&["diag"]);
    assert_eq!(kept.len(), 100);
    assert_eq!(kept[99], "diag[99]");
    // A prefix ends at a bracket: `diag[7]` is one entry, not diag[70]…diag[79].
    assert_eq!(quantities(&["diag[7]"]), ["diag[7]"]);
}

#[test]
fn numbers_cross_json_text_with_every_bit() {
    // On a cluster a task's config goes out and its outcome comes back as
    // JSON text, and the local run must give the same bytes. serde_json
    // parses floats exactly only with its `float_roundtrip` feature (the
    // workspace enables it); without it these values, seen differing by one
    // ulp in a Dask run (python/tests/test_sweep.py), come back changed.
    let seen = [
        1.1239119801498278e-7,
        4.999767568419571e-9,
        2.8309928001353384e-9,
        2.1175823681357506e-16,
        5.0005833627614504e-9,
    ];
    // And a spread of values over 600 decades from a fixed stream.
    let mut rng = Seed::new(17).stream(0);
    let spread = (0..20_000).map(|_| {
        let z: f64 = StandardNormal.sample(&mut rng);
        (z.tanh() * 300.0 * std::f64::consts::LN_10).exp() * z.signum()
    });
    for x in seen.into_iter().chain(spread) {
        let text = serde_json::to_string(&x).unwrap();
        let back: f64 = serde_json::from_str(&text).unwrap();
        assert_eq!(back.to_bits(), x.to_bits(), "{x:e} came back as {back:e}");
        let v: Value = serde_json::from_str(&format!("{{\"x\":{text}}}")).unwrap();
        assert_eq!(
            v["x"].as_f64().unwrap().to_bits(),
            x.to_bits(),
            "{x:e} in a Value"
        );
    }
}

#[test]
fn texts_are_kept_when_named_and_a_keep_that_matches_nothing_is_refused() {
    // Tryout 5 D4: `keep` never kept texts, and a `keep` matching nothing
    // gave a header-only table with exit 0.
    let tasks = spec(GRID).expand().unwrap();
    let rec = bayesrg_sweep::Record {
        task: tasks[0].clone(),
        outcome: Outcome::Result(json!({
            "a": 1.5,
            "verdict": {"pass": true, "reasons": ["all passed", "a, \"quoted\" one"]},
            "model": "normal",
            "missing": null,
        })),
    };
    let recs = vec![Some(rec), None];
    let rows = |keep: &[&str]| -> (Vec<(String, String)>, Vec<String>) {
        let keep: Vec<String> = keep.iter().map(|s| s.to_string()).collect();
        let m = merge(&tasks[..2], &recs, &keep).unwrap();
        let mut r = csv::Reader::from_reader(m.results.as_bytes());
        let rows = r
            .records()
            .map(|x| {
                let x = x.unwrap();
                (x[4].to_string(), x[5].to_string())
            })
            .collect();
        (rows, m.unmatched_keep)
    };
    let pair = |q: &str, v: &str| (q.to_string(), v.to_string());
    // No keep: numbers and booleans only.
    let (all, none) = rows(&[]);
    assert_eq!(all, [pair("a", "1.5"), pair("verdict.pass", "1")]);
    assert!(none.is_empty());
    // Named texts are kept, with their text (CSV quoting keeps commas and
    // quotes), in the order of the result's JSON (keys sorted).
    let (kept, none) = rows(&["verdict.reasons", "model", "missing"]);
    assert_eq!(
        kept,
        [
            pair("model", "normal"),
            pair("verdict.reasons[0]", "all passed"),
            pair("verdict.reasons[1]", "a, \"quoted\" one"),
        ]
    );
    assert!(none.is_empty(), "a null quantity matches: {none:?}");
    // Entries that match nothing are reported (the wrong case of the check).
    let (kept, unmatched) = rows(&["a", "nonexistent", "verdict.reason_s"]);
    assert_eq!(kept, [pair("a", "1.5")]);
    assert_eq!(unmatched, ["nonexistent", "verdict.reason_s"]);
    // With no finished task nothing can be judged.
    let m = merge(&tasks[..1], &[None], &["nonexistent".to_string()]).unwrap();
    assert!(m.unmatched_keep.is_empty());
}

#[test]
fn merge_into_refuses_an_unmatched_keep_as_bad_input_after_writing() {
    let dir = std::env::temp_dir().join(format!("bayesrg-sweep-keep-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut s = spec(GRID);
    s.keep = vec!["mean".into(), "nonexistent".into()];
    let tasks = s.expand().unwrap();
    let store = Store::open(&dir).unwrap();
    store
        .record(&tasks[0], Outcome::Result(json!({"mean": 2.0})))
        .unwrap();
    let e = bayesrg_sweep::merge_into(&s, &tasks, &store).unwrap_err();
    assert!(e.is_bad_input(), "{e}");
    assert_eq!(e.field().map(|f| f.to_string()).as_deref(), Some("keep[1]"));
    let msg = e.to_string();
    assert!(
        msg.contains("nonexistent") && msg.contains("have: mean"),
        "{msg}"
    );
    let results = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    assert!(
        results.lines().nth(1).unwrap().ends_with(",mean,2.0"),
        "{results}"
    );
    s.keep = vec!["mean".into()];
    assert_eq!(bayesrg_sweep::merge_into(&s, &tasks, &store).unwrap().ok, 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unreadable_task_file_is_run_again_and_nothing_else_is_touched() {
    // Tryout 5 D5: one truncated tasks/ID.json made every resume fail.
    let dir = std::env::temp_dir().join(format!("bayesrg-sweep-corrupt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (first, _, run) = run_in(&dir, 2);
    assert_eq!(run.skipped, 0);
    let tasks = spec(GRID).expand().unwrap();
    let store = Store::open(&dir).unwrap();
    let victim = (0..tasks.len())
        .find(|&i| store.is_finished(&tasks[i]))
        .unwrap();
    let path = dir.join("tasks").join(format!("{}.json", tasks[victim].id));
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    assert!(!store.is_finished(&tasks[victim]));
    let bad = store.unreadable(&tasks);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!((bad[0].0, &bad[0].1), (tasks[victim].index, &path));
    assert!(bad[0].2.contains("EOF"), "{}", bad[0].2);
    // The merge reads it as pending instead of failing.
    let recs = records(&tasks, &store).unwrap();
    assert!(recs[victim].is_none());
    // A rerun runs that task alone, replaces the file and merges to the same bytes.
    let (again, calls, run) = run_in(&dir, 1);
    let finished = tasks.iter().filter(|t| store.is_finished(t)).count();
    assert_eq!(finished, run.skipped + run.finished);
    assert_eq!(run.skipped + 1, first.counts.ok);
    assert_eq!(calls, 1 + run.failed.len());
    assert!(store.unreadable(&tasks).is_empty());
    assert_eq!(again.results, first.results);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Tryout 7 F1: every size a spec gives is checked against [`MAX_TASKS`]
/// before anything of that size is made. The limit itself is accepted; one
/// more is refused, naming the field. (A `range.num` of 1e13 used to allocate
/// 80 TB and abort: were it made, this test would abort too.)
///
/// [`MAX_TASKS`]: bayesrg_sweep::spec::MAX_TASKS
#[test]
fn every_size_is_checked_before_anything_is_made() {
    use bayesrg_sweep::spec::MAX_TASKS;
    let one_axis = |num: usize, replicates: usize| {
        format!(
            "command = \"t\"\nreplicates = {replicates}\n[base]\na = 1\n[[axes]]\npath = \"a\"\n\
             range = {{ start = 1.0, stop = 2.0, num = {num} }}\n"
        )
    };
    for (num, reps, field) in [
        (10_000_000_000_000, 1, "axes[0].range.num"),
        (i64::MAX as usize, 1, "axes[0].range.num"),
        (MAX_TASKS + 1, 1, "axes[0].range.num"),
        (1, MAX_TASKS + 1, "replicates"),
        (1, 10_000_000_000_000, "replicates"),
        // Each size within the limit, their product above it.
        (MAX_TASKS / 2, 3, "axes"),
    ] {
        let err = spec(&one_axis(num, reps)).validate().unwrap_err();
        assert!(err.is_bad_input(), "{err}");
        assert_eq!(
            err.field().map(|f| f.to_string()).as_deref(),
            Some(field),
            "num {num}, replicates {reps}: {err}"
        );
        assert!(
            err.to_string()
                .contains(&format!("{MAX_TASKS} tasks per sweep")),
            "{err}"
        );
    }
    // At the limit: valid, and counted without making the values.
    for (num, reps) in [(MAX_TASKS, 1), (1, MAX_TASKS), (MAX_TASKS / 2, 2)] {
        let s = spec(&one_axis(num, reps));
        s.validate().unwrap();
        assert_eq!(s.count(), (num * reps) as f64);
    }
}

/// Tryout 7 F3: axis paths are read strictly. Each malformed path is refused
/// with the place of the first character at fault (counted by hand below);
/// each well-formed one sets exactly the field it names.
#[test]
fn malformed_paths_are_refused_and_good_ones_set_their_field() {
    use bayesrg_sweep::spec::parse_path;
    for (path, at, words) in [
        ("theta[[1", 7, "`[` where an index"),
        ("theta[1", 8, "`[` is not closed"),
        ("theta[1]]", 9, "`]` where `.`, `[` or the end"),
        ("theta[ 1]", 7, "` ` where an index"),
        ("theta[-1]", 7, "`-` where an index"),
        ("theta[1 ]", 8, "` ` where `]`"),
        ("theta[]", 7, "`]` where an index"),
        ("theta[1.5]", 8, "`.` where `]`"),
        ("[0]", 1, "`[` where a name"),
        (".a", 1, "`.` where a name"),
        ("a..b", 3, "`.` where a name"),
        ("a.", 3, "a name is missing"),
        (" a", 1, "` ` where a name"),
        ("a ", 2, "` ` where `.`, `[` or the end"),
        ("a]", 2, "`]` where `.`, `[` or the end"),
        ("theta[99999999999999999999999]", 7, "too large"),
    ] {
        let why = parse_path(path).unwrap_err();
        assert!(
            why.starts_with("is not a path: ") && why.contains(words),
            "{path}: {why}"
        );
        assert!(
            why.contains(&format!("at character {at} ")),
            "{path}: {why}"
        );
    }
    assert!(parse_path("").unwrap_err().contains("empty"));
    // Through the spec: the field is the axis's path, nothing is expanded.
    let bad = "command = \"t\"\n[base]\ntheta = [0.0, 1.0]\n[[axes]]\npath = \"theta[[1\"\nvalues = [1.0]\n";
    let err = spec(bad).expand().unwrap_err();
    assert!(err.is_bad_input());
    assert_eq!(err.field().unwrap().to_string(), "axes[0].path");
    assert!(
        err.to_string()
            .starts_with("`axes[0].path` = theta[[1 is not a path: "),
        "{err}"
    );
    // Good paths: the config differs from the base at that field alone.
    let base = json!({"theta": [0.0, 1.0], "model": {"type": "normal", "s-d_2": 1}});
    for (path, pointer) in [
        ("theta[1]", "/theta/1"),
        ("theta[0]", "/theta/0"),
        ("model.s-d_2", "/model/s-d_2"),
        ("model.new", "/model/new"),
        ("tau", "/tau"),
    ] {
        let mut v = base.clone();
        bayesrg_sweep::spec::set_path(&mut v, path, json!(7.5)).unwrap();
        assert_eq!(v.pointer(pointer), Some(&json!(7.5)), "{path}");
        let mut back = v.clone();
        if base.pointer(pointer).is_some() {
            *back.pointer_mut(pointer).unwrap() = base.pointer(pointer).unwrap().clone();
        } else {
            back["model"].as_object_mut().unwrap().remove("new");
            back.as_object_mut().unwrap().remove("tau");
        }
        assert_eq!(back, base, "{path} changed something else");
    }
}

/// Tryout 7 F2: a task file that parses but is not the task's own (another
/// task's record copied over it, a result that is not a table) is warned
/// about and run again, and the merged table is that of a clean run.
#[test]
fn a_task_file_that_is_not_the_tasks_own_is_run_again() {
    let dir = std::env::temp_dir().join(format!("bayesrg-sweep-foreign-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (first, _, _) = run_in(&dir, 2);
    let tasks = spec(GRID).expand().unwrap();
    let store = Store::open(&dir).unwrap();
    let done: Vec<usize> = (0..tasks.len())
        .filter(|&i| store.is_finished(&tasks[i]))
        .collect();
    let file = |i: usize| dir.join("tasks").join(format!("{}.json", tasks[i].id));
    let (victim, donor) = (done[3], done[10]);
    let own = std::fs::read_to_string(file(victim)).unwrap();
    std::fs::copy(file(donor), file(victim)).unwrap();
    // Hand edits that keep the file a well-formed record (tryout 7 F2, tryout
    // 8 G2): a null result, an emptied table, a changed number, a flipped
    // verdict, an edited seed. The digest no longer matches.
    let texts: Vec<(usize, String)> = done[4..9]
        .iter()
        .map(|&i| (i, std::fs::read_to_string(file(i)).unwrap()))
        .collect();
    let edits: [fn(&mut Value); 5] = [
        |r| r["result"] = Value::Null,
        |r| r["result"] = json!({}),
        |r| {
            let (k, v) = r["result"].as_object().unwrap().iter().next().unwrap();
            let changed = json!([v.clone(), 123.0]);
            let k = k.clone();
            r["result"][k] = changed;
        },
        |r| r["task"]["seed"] = json!(r["task"]["seed"].as_u64().unwrap() ^ 1),
        |r| {
            r.as_object_mut().unwrap().remove("digest");
        },
    ];
    for ((i, text), edit) in texts.iter().zip(edits) {
        let mut rec: Value = serde_json::from_str(text).unwrap();
        edit(&mut rec);
        assert_ne!(&rec.to_string(), text, "task {i}: the edit changed nothing");
        std::fs::write(file(*i), rec.to_string()).unwrap();
    }
    let edited: Vec<usize> = texts.iter().map(|t| t.0).collect();
    // A failure's file of another task is no failure of this one either.
    let failed = (0..tasks.len())
        .find(|&i| !store.is_finished(&tasks[i]))
        .unwrap();
    let failed_file = dir
        .join("tasks")
        .join(format!("{}.error.json", tasks[failed].id));
    std::fs::copy(
        dir.join("tasks").join(format!(
            "{}.error.json",
            tasks[(failed + 1..tasks.len())
                .find(|&i| !store.is_finished(&tasks[i]))
                .unwrap()]
            .id
        )),
        &failed_file,
    )
    .unwrap();
    for &i in edited.iter().chain([&victim]) {
        assert!(!store.is_finished(&tasks[i]), "task {i}");
    }
    let bad = store.unreadable(&tasks);
    let mut which: Vec<usize> = bad.iter().map(|b| b.0).collect();
    which.sort();
    let mut want = edited.clone();
    want.extend([victim, failed]);
    want.sort();
    assert_eq!(which, want, "{bad:?}");
    for (i, path, why) in &bad {
        if edited.contains(i) {
            assert_eq!(path, &file(*i));
            assert!(
                why.contains("does not match its digest") || why.contains("missing field `digest`"),
                "{why}"
            );
        } else {
            assert!(why.contains("the record of another task"), "{why}");
        }
    }
    let recs = records(&tasks, &store).unwrap();
    assert!(recs[victim].is_none() && recs[failed].is_none());
    assert!(edited.iter().all(|&i| recs[i].is_none()));
    // The rerun runs those tasks again and gives the clean run's bytes.
    let (again, _, run) = run_in(&dir, 1);
    assert_eq!(run.skipped + 1 + edited.len(), first.counts.ok);
    assert_eq!(again.results, first.results);
    assert_eq!(again.tasks, first.tasks);
    assert_eq!(std::fs::read_to_string(file(victim)).unwrap(), own);
    for (i, text) in &texts {
        assert_eq!(
            &std::fs::read_to_string(file(*i)).unwrap(),
            text,
            "task {i}"
        );
    }
    assert!(store.unreadable(&tasks).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A result that is not a table is recorded as the task's error, so that a
/// task file always holds what [`Store::is_finished`] accepts.
#[test]
fn a_result_that_is_not_a_table_is_recorded_as_an_error() {
    let dir = std::env::temp_dir().join(format!("bayesrg-sweep-nontable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let tasks = spec(GRID).expand().unwrap();
    let store = Store::open(&dir).unwrap();
    for (t, v, kind) in [
        (&tasks[0], json!(3.5), "a number"),
        (&tasks[1], Value::Null, "null"),
    ] {
        assert!(store.record(t, Outcome::Result(v)).unwrap());
        assert!(!store.is_finished(t));
        let rec = store.load(t).unwrap().unwrap();
        assert_eq!(
            rec.outcome,
            Outcome::Error(format!(
                "the command's result is {kind}, not a table of results"
            ))
        );
    }
    assert!(store.unreadable(&tasks).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Tryout 7 F4: temporary files of processes that no longer run are removed
/// when a folder is opened for a run; those of running processes (this one,
/// standing for a cluster client writing there) are kept.
#[test]
fn temporary_files_of_dead_runs_are_removed() {
    let dir = std::env::temp_dir().join(format!("bayesrg-sweep-stale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let s = spec(GRID);
    Store::create(&dir, &[], &s).unwrap();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let me = std::process::id();
    let tasks = dir.join("tasks");
    let names = [
        (
            tasks.join(format!(".0123456789abcdef.json.tmp-{dead}-3")),
            false,
        ),
        (dir.join(format!(".results.csv.tmp-{dead}-0")), false),
        (
            tasks.join(format!(".0123456789abcdef.json.tmp-{me}-4")),
            true,
        ),
        // Not of the form .NAME.tmp-PID-N: never touched.
        (tasks.join(format!("notes.tmp-{dead}-1")), true),
        (tasks.join(format!(".x.tmp-{dead}")), true),
    ];
    for (p, _) in &names {
        std::fs::write(p, "partial").unwrap();
    }
    Store::create(&dir, &[], &s).unwrap();
    for (p, kept) in &names {
        assert_eq!(p.exists(), *kept, "{}", p.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Tryout 7 F11: a `keep` that matches nothing leaves it out of the tables
/// (the message says so): here the only entry, so the table is the one of
/// `keep = []` (a second merge), not an empty one.
#[test]
fn a_keep_that_matches_nothing_is_left_out_of_the_tables() {
    let dir = std::env::temp_dir().join(format!("bayesrg-sweep-keep-none-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (all, _, _) = run_in(&dir, 2);
    let mut s = spec(GRID);
    s.keep = vec!["nonexistent".into()];
    let tasks = s.expand().unwrap();
    let store = Store::open(&dir).unwrap();
    let e = bayesrg_sweep::merge_into(&s, &tasks, &store).unwrap_err();
    assert!(e.is_bad_input());
    assert_eq!(e.field().unwrap().to_string(), "keep[0]");
    assert!(
        e.to_string()
            .contains("written without it (with every number"),
        "{e}"
    );
    let results = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    assert_eq!(results, all.results);
    assert!(results.lines().count() > 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Tryout 8 G1: a folder that another process's sweep holds is refused
/// untouched (the hold is an exclusive `flock` on the folder; a second open
/// description of it conflicts as another process's would), and taken once
/// the other lets go. A process that holds its folder may create it again.
#[cfg(unix)]
#[test]
fn a_folder_another_sweep_holds_is_refused_untouched() {
    use std::os::fd::AsRawFd;
    let dir = std::env::temp_dir().join(format!("bayesrg-sweep-held-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let s = spec(GRID);
    let store = Store::create(&dir, &[], &s).unwrap();
    Store::create(&dir, &[], &s).expect("this process holds it already");
    store.release();
    let other = std::fs::File::open(&dir).unwrap();
    // SAFETY: flock on a descriptor this test owns.
    let r = unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(r, 0);
    let listing = |d: &std::path::Path| {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(d)
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_file())
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = listing(&dir);
    let e = Store::create(&dir, &[], &s).unwrap_err().to_string();
    assert!(e.contains("--out") && e.contains("in use"), "{e}");
    assert_eq!(listing(&dir), before);
    drop(other);
    Store::create(&dir, &[], &s).expect("free again");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Tryout 8 G12: ranges across more than 308 decades, and linear ranges
/// whose span is beyond f64, give their values (the ends exactly, the middle
/// of a log range at the geometric mean: 1 for 1e-300 to 1e300) instead of
/// a NaN; ordinary ranges keep the bits of `start · (stop/start)^f`.
#[test]
fn ranges_beyond_f64_spans_give_their_values() {
    use bayesrg_sweep::spec::Range;
    let r = |start: f64, stop: f64, num: usize, log: bool| {
        Range {
            start,
            stop,
            num,
            log,
        }
        .values()
    };
    let wide = r(1e-300, 1e300, 3, true);
    assert_eq!((wide[0], wide[2]), (1e-300, 1e300));
    assert!((wide[1] - 1.0).abs() < 1e-12, "{wide:?}");
    let down = r(1e300, 1e-300, 5, true);
    for (v, e) in down.iter().zip([300.0, 150.0, 0.0, -150.0, -300.0]) {
        assert!((v.log10() - e).abs() < 1e-12, "{down:?}");
    }
    let lin = r(-1e308, 1e308, 5, false);
    for (v, e) in lin.iter().zip([-1e308, -5e307, 0.0, 5e307, 1e308]) {
        assert!((v - e).abs() <= 1e-15 * e.abs(), "{lin:?}");
    }
    for (a, b) in [(1e-3, 1e3), (2.0, 3.0), (1e-155, 1e150)] {
        let v = r(a, b, 7, true);
        for (i, x) in v.iter().enumerate().take(6).skip(1) {
            assert_eq!(*x, a * (b / a).powf(i as f64 / 6.0));
        }
    }
}

/// Tryout 8 G15: a finished sweep whose marker was lost or damaged is
/// resumed (its sealed task files are kept, nothing runs again) with a note,
/// and the marker is written again; a folder that also holds a file of the
/// user's is still refused untouched.
#[test]
fn a_lost_or_damaged_marker_strands_no_finished_task() {
    let dir = std::env::temp_dir().join(format!("bayesrg-sweep-marker-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Store::create(&dir, &[], &spec(GRID)).unwrap().release();
    let (first, _, _) = run_in(&dir, 2);
    let marker = dir.join(bayesrg_sweep::MARKER);
    let good = std::fs::read_to_string(&marker).unwrap();
    for damage in ["remove", "garble"] {
        if damage == "remove" {
            std::fs::remove_file(&marker).unwrap();
        } else {
            std::fs::write(&marker, "{\"command\": ").unwrap();
        }
        let store = Store::create(&dir, &[], &spec(GRID)).unwrap();
        let note = store.recovery().expect("a note");
        assert!(note.contains("resumed"), "{note}");
        store.release();
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), good, "{damage}");
        let (again, _, run) = run_in(&dir, 1);
        assert_eq!(
            run.skipped, first.counts.ok,
            "{damage}: no finished task runs again"
        );
        assert_eq!(again.results, first.results, "{damage}");
    }
    std::fs::remove_file(&marker).unwrap();
    // Tryout 9 H1: another sweep (here one point fewer on an axis, or
    // another command) does not take the folder over: its task files are
    // not all tasks of that spec, so it is refused, untouched.
    let listing = || {
        let mut v: Vec<_> = std::fs::read_dir(dir.join("tasks"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    let files = listing();
    for other in [
        GRID.replace("values = [-1.0, 0.5, 2]", "values = [-1.0, 0.5]"),
        GRID.replace("command = \"toy\"", "command = \"other\""),
    ] {
        let e = Store::create(&dir, &[], &spec(&other))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not tasks of this spec"), "{e}");
        assert!(!marker.exists(), "nothing written");
        assert_eq!(listing(), files);
    }
    // A spec with more points holds every task file: it is let in.
    let grown = GRID.replace("values = [-1.0, 0.5, 2]", "values = [-1.0, 0.5, 2, 3]");
    let store = Store::create(&dir, &[], &spec(&grown)).unwrap();
    assert!(store.recovery().is_some());
    store.release();
    std::fs::remove_file(&marker).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let e = Store::create(&dir, &[], &spec(GRID))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not the folder of this bayesrg sweep"), "{e}");
    assert!(!marker.exists(), "nothing written");
    let _ = std::fs::remove_dir_all(&dir);
}

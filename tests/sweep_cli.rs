//! `bayesrg sweep` (issue 15): a 240-task Fisher sweep over six decades of σ,
//! merged into one table whose closed-form entries match 1/σ² and 2/σ²;
//! byte-identical at 1 and 2 threads; resumed without rerunning; bad specs
//! and foreign folders refused with exit 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_bayesrg");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("bayesrg-sweep-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `bayesrg sweep SPEC [FLAGS…] --out OUT` on `threads` threads.
fn sweep(spec: &Path, out: &Path, flags: &[&str], threads: &str) -> Output {
    Command::new(BIN)
        .arg("sweep")
        .arg(spec)
        .args(flags)
        .arg("--out")
        .arg(out)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap()
}

const SPEC: &str = r#"command = "fisher"
seed = 5
replicates = 2

[base]
theta = [0.0, 1.0]
samples = 20000
[base.model]
type = "normal"

[[axes]]
path = "theta[1]"
name = "sigma"
range = { start = 1e-3, stop = 1e3, num = 20, log = true }

[[axes]]
path = "theta[0]"
name = "mu"
values = [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0]
"#;

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn a_240_task_sweep_merges_matches_closed_forms_and_resumes() {
    let base = tmp("big");
    let spec = base.join("spec.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let (a, b) = (base.join("a"), base.join("b"));
    let o = sweep(&spec, &a, &["--quiet"], "1");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("240 tasks: 240 finished now"));
    let o = sweep(&spec, &b, &["--quiet"], "2");
    assert_eq!(o.status.code(), Some(0));
    let results = read(&a, "results.csv");
    assert_eq!(
        results,
        read(&b, "results.csv"),
        "same bytes at 1 and 2 threads"
    );
    assert_eq!(read(&a, "tasks.csv"), read(&b, "tasks.csv"));
    assert_eq!(std::fs::read_dir(a.join("tasks")).unwrap().count(), 240);

    // Oracle: I(mu, sigma) = diag(1/sigma^2, 2/sigma^2), and every validation
    // passes. (At 2,000 samples one of the 240 fails at z = 4.95 > 4.5: the
    // z-scores of E[score score'] use a standard error estimated from few
    // draws of a heavy-tailed quantity; 20,000 is what the validator needs.)
    let mut head = results.lines().next().unwrap().split(',');
    assert_eq!(head.next(), Some("task"));
    let (mut seen, mut passes) = (0, 0);
    for line in results.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let sigma: f64 = f[1].parse().unwrap();
        let value: f64 = f[5].parse().unwrap();
        let want = match f[4] {
            "closed_form[0][0]" => 1.0 / (sigma * sigma),
            "closed_form[1][1]" => 2.0 / (sigma * sigma),
            "verdict.pass" => {
                passes += (value == 1.0) as usize;
                continue;
            }
            _ => continue,
        };
        assert!((value / want - 1.0).abs() < 1e-12, "{line}: want {want}");
        seen += 1;
    }
    assert_eq!(seen, 480);
    assert_eq!(passes, 240, "every validation passes");

    // A rerun runs nothing and writes the same table.
    let o = sweep(&spec, &a, &["--quiet"], "2");
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 finished now, 240 finished before"));
    assert_eq!(read(&a, "results.csv"), results);
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn failed_tasks_are_reported_and_the_others_run() {
    let base = tmp("fail");
    let spec = base.join("spec.toml");
    // θ* = 60 passes the checks made before any work but lies beyond the
    // grid [0, 40], which only the run can see (it needs the model).
    std::fs::write(
        &spec,
        "command = \"bayes\"\n[base]\ntheta_star = [3.5]\nt = [0.0, 1.0, 10.0]\nn_data = 20\n\
         [base.model]\ntype = \"poisson\"\n[[base.prior]]\ndist = \"gamma\"\nshape = 4.0\nrate = 1.0\n\
         [[base.grid]]\nlo = 0.0\nhi = 40.0\nn = 2000\n\
         [[axes]]\npath = \"theta_star[0]\"\nname = \"rate\"\nvalues = [3.5, 60.0, 5.0]\n",
    )
    .unwrap();
    let out = base.join("o");
    let o = sweep(&spec, &out, &["--quiet"], "2");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains(
            "3 tasks: 2 finished now, 0 finished before, 1 failed, 1 failed their checks"
        ),
        "{stdout}"
    );
    let tasks = read(&out, "tasks.csv");
    let failed: Vec<&str> = tasks.lines().filter(|l| l.contains(",failed,")).collect();
    assert_eq!(failed.len(), 1);
    // θ* = 5 finishes, but its late-time check of eq. (35) at T = 10 fails
    // (0.107 > 0.1), as `bayesrg bayes` on that configuration exits 1.
    assert!(
        tasks.contains("check_failed,failed checks: checks[6]"),
        "{tasks}"
    );
    assert!(
        failed[0].starts_with("1,") && failed[0].contains("theta* = 60"),
        "{tasks}"
    );
    std::fs::remove_dir_all(&base).unwrap();
}

/// Tryout 9 H2: a sweep whose tasks finish but fail their checks (here the
/// documented wrong claim of examples/normal_wrong_claim.toml, I = 0.888889·1
/// where the closed form is diag(1/σ², 2/σ²) = diag(0.444, 0.889) at
/// σ = 1.5) is a failed sweep, as `bayesrg fisher` on one of them is: exit
/// 1, status `check_failed` naming the failed checks, the `pass` quantity 0;
/// a right claim on the same axis passes.
#[test]
fn tasks_whose_checks_fail_fail_the_sweep() {
    let base = tmp("check-failed");
    let spec = base.join("spec.toml");
    let text = "command = \"fisher\"\nseed = 1\n[base]\ntheta = [0.5, 1.5]\nsamples = 20000\n\
                claimed_fisher = [[CLAIM, 0.0], [0.0, 0.888889]]\n[base.model]\ntype = \"normal\"\n\
                [[axes]]\npath = \"theta[0]\"\nname = \"mu\"\nvalues = [0.5, 1.0]\n";
    for (claim, code) in [("0.888889", 1), ("0.444444444444444", 0)] {
        std::fs::write(&spec, text.replace("CLAIM", claim)).unwrap();
        let out = base.join(format!("o{code}"));
        let o = sweep(&spec, &out, &["--quiet"], "2");
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(code), "{claim}: {stdout}");
        let tasks = read(&out, "tasks.csv");
        let results = read(&out, "results.csv");
        let pass_rows: Vec<&str> = results
            .lines()
            .filter(|l| l.ends_with(",pass,0") || l.ends_with(",pass,1"))
            .collect();
        assert_eq!(pass_rows.len(), 2, "{results}");
        if code == 1 {
            assert!(
                stdout.contains("0 failed, 2 failed their checks"),
                "{stdout}"
            );
            assert_eq!(tasks.matches(",check_failed,").count(), 2, "{tasks}");
            assert!(tasks.contains("failed checks: "), "{tasks}");
            assert!(
                pass_rows.iter().all(|l| l.ends_with(",pass,0")),
                "{results}"
            );
        } else {
            assert!(
                stdout.contains("0 failed, 0 failed their checks"),
                "{stdout}"
            );
            assert!(!tasks.contains("check_failed"), "{tasks}");
            assert!(
                pass_rows.iter().all(|l| l.ends_with(",pass,1")),
                "{results}"
            );
        }
    }
    std::fs::remove_dir_all(&base).unwrap();
}

/// Tryout 9 H12: a table of a sweep folder edited by hand (a note appended
/// to `results.csv`) is not overwritten by the next run: exit 2 naming it,
/// nothing touched; once it is moved away, the run resumes and writes it
/// anew.
#[test]
fn an_edited_table_is_refused_not_overwritten() {
    let base = tmp("edited-table");
    let spec = base.join("spec.toml");
    std::fs::write(
        &spec,
        "command = \"fisher\"\n[base]\ntheta = [0.0, 1.0]\nsamples = 2000\n[base.model]\n\
         type = \"normal\"\n[[axes]]\npath = \"theta[0]\"\nvalues = [0.0, 1.0]\n",
    )
    .unwrap();
    let out = base.join("o");
    assert_eq!(sweep(&spec, &out, &["--quiet"], "2").status.code(), Some(0));
    let table = read(&out, "results.csv");
    let edited = format!("{table}my,annotation\n");
    std::fs::write(out.join("results.csv"), &edited).unwrap();
    let o = sweep(&spec, &out, &["--quiet"], "2");
    let err = one_line(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("results.csv") && err.contains("changed"),
        "{err}"
    );
    assert_eq!(read(&out, "results.csv"), edited, "untouched");
    std::fs::rename(out.join("results.csv"), base.join("mine.csv")).unwrap();
    assert_eq!(sweep(&spec, &out, &["--quiet"], "2").status.code(), Some(0));
    assert_eq!(read(&out, "results.csv"), table);
    std::fs::remove_dir_all(&base).unwrap();
}

/// Tryout 9 H7: a prune sweep naming a `weights` file that is not there is
/// bad input before any work (exit 2 at the spec's `base`), as `bayesrg
/// prune --weights` is, not a folder of failed tasks; so is `grid_images = 0`
/// (H4: it failed after the whole run, "no images to draw").
#[test]
fn a_missing_input_file_and_an_empty_grid_are_refused_before_any_work() {
    let base = tmp("missing-weights");
    let spec = base.join("spec.toml");
    for (extra, needle) in [
        ("weights = \"nope.bin\"\n", "`weights`"),
        ("grid_images = 0\n", "grid_images"),
    ] {
        std::fs::write(
            &spec,
            format!(
                "command = \"prune\"\n[base]\n{extra}[[axes]]\npath = \"random_repeats\"\nvalues = [1, 2]\n"
            ),
        )
        .unwrap();
        let out = base.join("o");
        let o = sweep(&spec, &out, &["--quiet"], "2");
        let err = one_line(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "{err}");
        assert!(!out.exists(), "nothing written: {err}");
    }
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn bad_specs_and_foreign_folders_are_refused_untouched() {
    let base = tmp("bad");
    let spec = base.join("spec.toml");
    let cases = [
        (
            "command = \"fisher\"\n[base]\ntheta = [1.0]\n[[axes]]\npath = \"theta[4]\"\nvalues = [1]\n",
            "spec.toml:5:8",
        ),
        (
            "command = \"fisher\"\n[base]\ntheta = [1.0]\n[[axes]]\npath = \"theta[0]\"\nrange = { start = 0.0, stop = 1.0, num = 3, log = true }\n",
            "must be > 0",
        ),
        (
            "command = \"nope\"\n[base]\ntheta = [1.0]\n",
            "known: bayes, fisher, flow, prune, sde",
        ),
        (
            "command = \"fisher\"\nbase = { theta = [1.0] }\nextra = 1\n",
            "extra",
        ),
        // Tryout 5 D2: every task's configuration is read and checked before
        // any runs; a misspelt path, a stray key in `base` and a value the
        // model refuses are bad input naming the task, not failed tasks.
        (
            "command = \"fisher\"\n[base]\ntheta = [0.0, 1.0]\nmodel = { type = \"normal\" }\n[[axes]]\npath = \"thetaa\"\nvalues = [1.0]\n",
            "spec.toml:6:8: invalid setting `axes[0].path`",
        ),
        (
            "command = \"fisher\"\n[base]\ntheta = [0.0, 1.0]\nmodel = { type = \"normal\", sigmaa = 1 }\n[[axes]]\npath = \"theta[0]\"\nvalues = [1.0]\n",
            "unknown field `sigmaa`",
        ),
        (
            "command = \"fisher\"\n[base]\ntheta = [0.0, 1.0]\nmodel = { type = \"normal\" }\n[[axes]]\npath = \"theta[1]\"\nname = \"sigma\"\nvalues = [1.0, -1.0]\n",
            "task 1 (sigma=-1.0)",
        ),
        // Tryout 5 D3: columns that would clash, a seed that would be
        // overwritten, and two points with one configuration.
        (
            "command = \"fisher\"\n[base]\ntheta = [0.0, 1.0]\n[[axes]]\npath = \"theta[0]\"\nname = \"x\"\nvalues = [1]\n[[axes]]\npath = \"theta[1]\"\nname = \"x\"\nvalues = [1]\n",
            "is also the column of axes[0]",
        ),
        (
            "command = \"fisher\"\n[base]\ntheta = [0.0, 1.0]\n[[axes]]\npath = \"theta[0]\"\nname = \"task\"\nvalues = [1]\n",
            "is a column the merged tables have already",
        ),
        (
            "command = \"fisher\"\n[base]\ntheta = [0.0, 1.0]\n[[axes]]\npath = \"seed\"\nname = \"s\"\nvalues = [1, 2]\n",
            "receives each task's own seed",
        ),
        (
            "command = \"fisher\"\n[base]\ntheta = [0.0, 1.0]\n[[axes]]\npath = \"theta[0]\"\nvalues = [1.0, 2.0, 1.0]\n",
            "is the number of `values[0]` (1.0) again",
        ),
        // Tryout 9 H8 and H13: one number written two ways; a blank name.
        (
            "command = \"fisher\"\n[base]\ntheta = [0.0, 1.0]\n[[axes]]\npath = \"theta[0]\"\nvalues = [1.0, 2.0, 1]\n",
            "spec.toml:6:21: `axes[0].values[2]` = 1 is the number of `values[0]` (1.0) again",
        ),
        (
            "command = \"fisher\"\n[base]\ntheta = [0.0, 1.0]\n[[axes]]\npath = \"theta[0]\"\nname = \" \"\nvalues = [1]\n",
            "must be a column name",
        ),
    ];
    let out = base.join("never");
    for (text, words) in cases {
        std::fs::write(&spec, text).unwrap();
        let o = sweep(&spec, &out, &[], "1");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(words), "{text}: {err}");
        assert!(!out.exists(), "nothing written on bad input");
    }
    std::fs::write(&spec, SPEC).unwrap();
    let mine = base.join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("precious.txt"), "keep").unwrap();
    let o = sweep(&spec, &mine, &[], "1");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not the folder of this bayesrg sweep"));
    let names: Vec<_> = std::fs::read_dir(&mine)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["precious.txt"]);
    let o = sweep(&spec, &base, &[], "1");
    assert_eq!(o.status.code(), Some(2), "a folder holding the spec");
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn another_sweeps_folder_is_refused_and_a_grown_one_resumed() {
    // Tryout 5 C1: a folder of one sweep given to another took the new spec
    // and replaced the old marker, results.csv and tasks.csv; the old task
    // files were orphaned. Now only the same sweep or one with more points
    // resumes a folder.
    let base = tmp("foreign");
    let spec = base.join("spec.toml");
    let study = |values: &str| {
        format!(
            "command = \"fisher\"\n[base]\ntheta = [0.0, 1.0]\nsamples = 2000\nmodel = {{ type = \"normal\" }}\n[[axes]]\npath = \"theta[1]\"\nname = \"sigma\"\nvalues = {values}\n"
        )
    };
    std::fs::write(&spec, study("[1.0, 2.0]")).unwrap();
    let out = base.join("o");
    assert_eq!(sweep(&spec, &out, &["--quiet"], "1").status.code(), Some(0));
    let snapshot = |d: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        for sub in [d.to_path_buf(), d.join("tasks")] {
            for e in std::fs::read_dir(&sub).unwrap() {
                let p = e.unwrap().path();
                if p.is_file() {
                    files.push((p.display().to_string(), std::fs::read(&p).unwrap()));
                }
            }
        }
        files.sort();
        files
    };
    let before = snapshot(&out);
    // Another study (σ = 3 only): refused, every byte kept.
    std::fs::write(&spec, study("[3.0]")).unwrap();
    let o = sweep(&spec, &out, &["--quiet"], "1");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("holds the results of another sweep: 2 of its 2 tasks"),
        "{err}"
    );
    assert_eq!(snapshot(&out), before);
    // The same study grown by a point: resumed, the two old tasks kept.
    std::fs::write(&spec, study("[1.0, 2.0, 3.0]")).unwrap();
    let o = sweep(&spec, &out, &["--quiet"], "1");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("3 tasks: 1 finished now, 2 finished before"),
        "{stdout}"
    );
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn dry_run_lists_tasks_with_their_seeds() {
    let base = tmp("dry");
    let spec = base.join("spec.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let out = base.join("o");
    let o = sweep(&spec, &out, &["--dry-run"], "1");
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.lines().count(), 240);
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains("sigma=0.001 mu=-2.0 replicate=0")
    );
    assert!(!out.exists());
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn sde_tasks_finish_when_they_fill_the_pool() {
    // An `sde` task used to wait on its thread for a helper that needed the
    // same rayon pool: with every worker of the pool running such a task
    // (here one task on one thread, and two on two) the sweep hung for ever.
    // The run is given a deadline and killed if it does not finish.
    let base = tmp("sde");
    let spec = base.join("spec.toml");
    std::fs::write(
        &spec,
        "command = \"sde\"\nseed = 1\nreplicates = 2\n[base]\npaths = 2000\ndt = 0.05\nsave_at = [0.5, 1.0]\ny0 = [1.0, -1.0]\nstepper = \"sra1\"\ndrift = { type = \"ou\", b = [[1.5, 0.5], [-0.5, 1.0]], centre = [0.0, 0.5] }\ndiffusion = { type = \"k_inv\", matrix = [[1.0, 0.2], [0.2, 0.6]] }\n",
    )
    .unwrap();
    for threads in ["1", "2"] {
        let out = base.join(format!("o{threads}"));
        let mut child = Command::new(BIN)
            .arg("sweep")
            .arg(&spec)
            .args(["--quiet", "--out"])
            .arg(&out)
            .env("RAYON_NUM_THREADS", threads)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("an sde sweep on {threads} thread(s) did not finish in 120 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        assert_eq!(status.code(), Some(0), "{threads} thread(s)");
        assert_eq!(std::fs::read_dir(out.join("tasks")).unwrap().count(), 2);
    }
    std::fs::remove_dir_all(&base).unwrap();
}

/// A small Fisher sweep (two tasks) for the tryout 7 cases below.
const SMALL: &str = r#"command = "fisher"
seed = 7
keep = ["nonexistent"]
[base]
theta = [0.0, 1.0]
samples = 2000
[base.model]
type = "normal"
[[axes]]
path = "theta[1]"
range = { start = 1.0, stop = 2.0, num = 2 }
"#;

/// `stderr` as text, checked to be one line.
fn one_line(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err
}

/// Tryout 7 F1 and F3: a size above the task limit (before anything is
/// made: 1e13 values used to abort on an 80 TB allocation), a malformed
/// axis path, a bad value in an axis and two axes on one field (tryout 8
/// G10, G12) are bad input on one line, at the line:col of the value
/// (counted by hand in the text), and nothing is written.
#[test]
fn huge_sizes_and_malformed_paths_are_refused_at_their_place() {
    let base = tmp("strict");
    let spec = base.join("spec.toml");
    let out = base.join("never");
    let small = SMALL.replace("keep = [\"nonexistent\"]\n", "");
    let mut cases = vec![(
        small.replace("num = 2 }", "num = 10000000000000 }"),
        "spec.toml:10:42: `axes[0].range.num` asks for 1e13 values".to_string(),
    )];
    for p in ["theta[[1", "theta[1", "theta[1]]", "theta[ 1]", "theta[-1]"] {
        cases.push((
            small.replace("path = \"theta[1]\"", &format!("path = \"{p}\"")),
            format!("spec.toml:9:8: `axes[0].path` = {p} is not a path: "),
        ));
    }
    cases.push((
        small.replace("seed = 7\n", "seed = 7\nreplicates = 100000000\n"),
        "spec.toml:3:14: `replicates` asks for 1e8 replicates".to_string(),
    ));
    // Tryout 8 G10: a value an axis gives is blamed at that value, not at
    // `base`: a NaN (TOML's `nan`), and a sample count over the budget.
    let range = "range = { start = 1.0, stop = 2.0, num = 2 }";
    cases.push((
        small.replace(range, "values = [1.0, nan]"),
        "spec.toml:10:16: `axes[0].values[1]` = NaN or null is not a value".to_string(),
    ));
    cases.push((
        small
            .replace("path = \"theta[1]\"", "path = \"samples\"")
            .replace(range, "values = [1000, 2000, 10000000000000]"),
        "spec.toml:10:23: invalid setting `axes[0].values[2]`: task 2 (samples=10000000000000)"
            .to_string(),
    ));
    // Tryout 8 G12: two axes on one field, or on a field and a part of it.
    for other in ["theta[1]", "theta"] {
        cases.push((
            format!("{small}[[axes]]\npath = \"{other}\"\nname = \"s2\"\nvalues = [5.0]\n"),
            format!("spec.toml:12:8: `axes[1].path` = `{other}` sets a field that axes[0]"),
        ));
    }
    for (text, words) in cases {
        std::fs::write(&spec, &text).unwrap();
        let o = sweep(&spec, &out, &["--quiet"], "1");
        let err = one_line(&o);
        assert_eq!(o.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(&words), "{text}: want {words}, got {err}");
        assert!(!out.exists(), "nothing written on bad input");
    }
    std::fs::remove_dir_all(&base).unwrap();
}

/// Tryout 7 F11: a `keep` entry that matches nothing is refused at its
/// line:col after the run, and the tables are written without it: here the
/// table of the same sweep without `keep` (a second run), not a bare header.
#[test]
fn a_keep_that_matches_nothing_is_located_and_left_out() {
    let base = tmp("keep");
    let (spec, plain) = (base.join("spec.toml"), base.join("plain.toml"));
    std::fs::write(&spec, SMALL).unwrap();
    std::fs::write(&plain, SMALL.replace("keep = [\"nonexistent\"]\n", "")).unwrap();
    let (a, b) = (base.join("a"), base.join("b"));
    let o = sweep(&spec, &a, &["--quiet"], "1");
    let err = one_line(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("spec.toml:3:9: `keep[0]` = [\"nonexistent\"] matches no quantity")
            && err.contains("written without it (with every number"),
        "{err}"
    );
    let o = sweep(&plain, &b, &["--quiet"], "1");
    assert_eq!(o.status.code(), Some(0));
    let results = read(&a, "results.csv");
    assert!(results.lines().count() > 2, "{results}");
    assert_eq!(results, read(&b, "results.csv"));
    std::fs::remove_dir_all(&base).unwrap();
}

/// Tryout 7 F2: a task file replaced by another task's record, or with
/// `"result": null`, is warned about and run again; the table is then the
/// one of the untouched run (same bytes).
#[test]
fn a_task_file_of_another_task_is_run_again() {
    let base = tmp("foreign");
    let spec = base.join("spec.toml");
    std::fs::write(&spec, SMALL.replace("keep = [\"nonexistent\"]\n", "")).unwrap();
    let a = base.join("a");
    let o = sweep(&spec, &a, &["--quiet"], "1");
    assert_eq!(o.status.code(), Some(0));
    let reference = read(&a, "results.csv");
    let mut files: Vec<PathBuf> = std::fs::read_dir(a.join("tasks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2);
    for damage in ["copy", "null"] {
        let own = std::fs::read_to_string(&files[1]).unwrap();
        if damage == "copy" {
            std::fs::copy(&files[0], &files[1]).unwrap();
        } else {
            let mut rec: serde_json::Value = serde_json::from_str(&own).unwrap();
            rec["result"] = serde_json::Value::Null;
            std::fs::write(&files[1], rec.to_string()).unwrap();
        }
        let o = sweep(&spec, &a, &["--quiet"], "1");
        let err = one_line(&o);
        assert_eq!(o.status.code(), Some(0), "{err}");
        let why = if damage == "copy" {
            "the record of another task"
        } else {
            "does not match its digest"
        };
        assert!(
            err.starts_with("warning: the file of task")
                && err.contains(&files[1].display().to_string())
                && err.contains(why),
            "{err}"
        );
        assert!(String::from_utf8_lossy(&o.stdout).contains("1 finished now, 1 finished before"));
        assert_eq!(read(&a, "results.csv"), reference, "{damage}");
        assert_eq!(std::fs::read_to_string(&files[1]).unwrap(), own);
    }
    std::fs::remove_dir_all(&base).unwrap();
}

/// The temporary files (`.NAME.tmp-PID-N`) in `dir` and `dir/tasks`.
fn temp_files(dir: &Path) -> Vec<String> {
    [dir.to_path_buf(), dir.join("tasks")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

/// Tryout 7 F4: SIGINT, SIGTERM and SIGHUP end a sweep with exit 130 and
/// "interrupted", keep its finished tasks and leave no temporary file; a
/// temporary file of a dead process (a SIGKILL) is removed by the next run,
/// which finishes the sweep with the bytes of an uninterrupted run.
#[test]
fn signals_keep_finished_tasks_and_leave_no_temporary_file() {
    let base = tmp("signals");
    let spec = base.join("spec.toml");
    std::fs::write(
        &spec,
        SMALL
            .replace("keep = [\"nonexistent\"]\n", "")
            .replace("samples = 2000", "samples = 200000")
            .replace("stop = 2.0, num = 2", "stop = 100.0, num = 60, log = true"),
    )
    .unwrap();
    let (a, b) = (base.join("a"), base.join("b"));
    let o = sweep(&spec, &b, &["--quiet"], "2");
    assert_eq!(o.status.code(), Some(0));
    let finished = |d: &Path| {
        std::fs::read_dir(d.join("tasks"))
            .map(|r| {
                r.flatten()
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .count()
            })
            .unwrap_or(0)
    };
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let before = finished(&a);
        let mut child = Command::new(BIN)
            .arg("sweep")
            .arg(&spec)
            .args(["--quiet", "--out"])
            .arg(&a)
            .env("RAYON_NUM_THREADS", "2")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Signal once the run has written a task file of its own.
        while finished(&a) <= before && child.try_wait().unwrap().is_none() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        if sig == libc::SIGINT {
            // Tryout 8 G1: a second sweep into the folder of a running one
            // (here one with more points, which could resume it) is refused
            // untouched, and the first goes on.
            let grown = base.join("grown.toml");
            std::fs::write(
                &grown,
                std::fs::read_to_string(&spec)
                    .unwrap()
                    .replace("num = 60", "num = 61"),
            )
            .unwrap();
            let o = sweep(&grown, &a, &["--quiet"], "1");
            let err = one_line(&o);
            assert_eq!(o.status.code(), Some(2), "{err}");
            assert!(err.contains("--out") && err.contains("in use"), "{err}");
            assert!(child.try_wait().unwrap().is_none(), "the first sweep ended");
        }
        // SAFETY: sending a signal to our own child.
        unsafe { libc::kill(child.id() as libc::pid_t, sig) };
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(130), "signal {sig}: {err}");
        assert!(err.contains("interrupted"), "{err}");
        assert_eq!(temp_files(&a), Vec::<String>::new(), "signal {sig}");
        assert!(finished(&a) > before && finished(&a) < 60, "signal {sig}");
    }
    // What a SIGKILL mid-write leaves: removed by the next run.
    let mut dead = Command::new("true").spawn().unwrap();
    let pid = dead.id();
    dead.wait().unwrap();
    let left = a
        .join("tasks")
        .join(format!(".0123456789abcdef.json.tmp-{pid}-0"));
    std::fs::write(&left, "{\"task\":").unwrap();
    let o = sweep(&spec, &a, &["--quiet"], "2");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(temp_files(&a), Vec::<String>::new());
    assert_eq!(read(&a, "results.csv"), read(&b, "results.csv"));
    std::fs::remove_dir_all(&base).unwrap();
}

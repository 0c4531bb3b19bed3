//! `bayesrg prune` through the binary and the library: files, oracles, and
//! bad input (exit status 2, the culprit named, nothing half-written).

use bayesrg_cli::commands::prune::{self, Section4Spec};
use std::path::{Path, PathBuf};
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("brg-prune-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A very small run: 2 epochs on 1,000 images, 300 test images.
fn tiny() -> Section4Spec {
    let mut c = Section4Spec::quick();
    c.train_images = Some(1000);
    c.test_images = Some(300);
    c.train.epochs = 2;
    c.fractions = vec![0.25, 0.5, 0.75];
    c.fine_lambdas = vec![1e-4, 0.01];
    c
}

fn read_csv(p: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(p).unwrap();
    let h = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            h.iter()
                .map(String::from)
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

#[test]
fn library_run_writes_consistent_files() {
    let base = tmp("lib");
    let out = base.join("res");
    let cfg = tiny();
    let (s, _) = prune::run(&cfg, None, Some(&out), false).unwrap();
    for f in [
        "sweep.csv",
        "summary.json",
        "fisher.csv",
        "weights.bin",
        "fig2_loss_vs_removed.png",
        "fig2_loss_vs_lambda.png",
        "fig5_fisher_histogram.png",
        "fig3_reconstructions_information_shell.png",
        "fig4_reconstructions_random.png",
        "timings.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // Second code path: recount the shell sizes and the means from fisher.csv.
    let fisher = read_csv(&out.join("fisher.csv"));
    let enc: Vec<f64> = fisher
        .iter()
        .filter(|r| r["group"] == "w1")
        .map(|r| r["fisher"].parse().unwrap())
        .collect();
    assert_eq!(enc.len(), 15680);
    let all: Vec<f64> = fisher
        .iter()
        .map(|r| r["fisher"].parse().unwrap())
        .collect();
    let mean_all = all.iter().sum::<f64>() / all.len() as f64;
    let got = s.details["spectrum"]["mean_fisher_all_parameters"]
        .as_f64()
        .unwrap();
    assert!(
        (got - mean_all).abs() <= 1e-12 * mean_all,
        "{got} vs {mean_all}"
    );
    let sweep = read_csv(&out.join("sweep.csv"));
    for r in sweep.iter().filter(|r| r["kind"] != "fraction") {
        let lam: f64 = r["lambda"].parse().unwrap();
        let n = enc.iter().filter(|&&v| v <= lam).count();
        assert_eq!(r["removed"].parse::<usize>().unwrap(), n, "Λ = {lam}");
    }
    // Removing every encoder weight is the same set for every scheme.
    let full = sweep.iter().find(|r| r["removed"] == "15680").unwrap();
    for k in ["random", "magnitude", "kl_cost_shell"] {
        assert_eq!(full[k], full["information_shell"]);
    }
    // Reloading the saved weights reproduces the unpruned loss and Fisher bits.
    let mut again = cfg.clone();
    again.weights = Some(out.join("weights.bin"));
    let (s2, _) = prune::run(&again, None, None, false).unwrap();
    assert_eq!(s.details["unpruned_loss"], s2.details["unpruned_loss"]);
    assert_eq!(s.details["spectrum"], s2.details["spectrum"]);
    assert_eq!(s.details["sweep"], s2.details["sweep"]);
    std::fs::remove_dir_all(&base).unwrap();
}

fn bayesrg(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bayesrg"))
        .args(args)
        .output()
        .unwrap()
}

fn expect_exit2(args: &[&str], needle: &str) {
    let o = bayesrg(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: `{needle}` not in {err}");
}

#[test]
fn bad_input_exits_2_naming_the_culprit() {
    let base = tmp("bad");
    let out = base.join("out");
    let o = out.to_str().unwrap();
    // Unknown key in the config: file:line named.
    let cfg = base.join("bad.toml");
    std::fs::write(&cfg, "test_images = 10\nepochz = 3\n").unwrap();
    expect_exit2(&["prune", cfg.to_str().unwrap(), "--out", o], "bad.toml:2:");
    // Invalid values: the library names the field, the command line the
    // file, line and column.
    std::fs::write(&cfg, "[train]\nlr = -1.0\n").unwrap();
    expect_exit2(
        &["prune", cfg.to_str().unwrap(), "--out", o],
        "bad.toml:2:6",
    );
    std::fs::write(&cfg, "lambdas = [0.0, 0.5,\n  -2.0]\n").unwrap();
    expect_exit2(
        &["prune", cfg.to_str().unwrap(), "--out", o],
        "bad.toml:2:3",
    );
    // Issue 11 §3: an enormous latent aborted; now refused before any work.
    std::fs::write(&cfg, "[arch]\ninput = 784\nlatent = 100000000\n").unwrap();
    expect_exit2(
        &["prune", cfg.to_str().unwrap(), "--out", o],
        "bad.toml:3:10",
    );
    std::fs::write(&cfg, "[train]\nepochs = 100000000000\n").unwrap();
    expect_exit2(
        &["prune", cfg.to_str().unwrap(), "--out", o],
        "train.epochs",
    );
    std::fs::write(&cfg, "seed = 3\nrandom_repeats = 100000000000\n").unwrap();
    expect_exit2(
        &["prune", cfg.to_str().unwrap(), "--out", o],
        "bad.toml:2:18",
    );
    expect_exit2(
        &["prune", cfg.to_str().unwrap(), "--out", o],
        "`random_repeats`",
    );
    // The acceptance tolerance: NaN and negative values are refused (a NaN
    // made every comparison false and the check silently pass or fail).
    for v in ["nan", "-0.01", "inf"] {
        std::fs::write(&cfg, format!("[acceptance]\nkeep_tolerance = {v}\n")).unwrap();
        expect_exit2(
            &["prune", cfg.to_str().unwrap(), "--out", o],
            "bad.toml:2:18",
        );
        expect_exit2(
            &["prune", cfg.to_str().unwrap(), "--out", o],
            "`acceptance.keep_tolerance`",
        );
    }
    // Sizes beyond the data (the embedded subset: 10,000 training and 2,000
    // test images) are refused, not cut silently (tryout 7, F12).
    std::fs::write(&cfg, "seed = 3\ntest_images = 100000000\n").unwrap();
    for needle in ["bad.toml:2:15", "the 2000 test images"] {
        expect_exit2(&["prune", cfg.to_str().unwrap(), "--out", o], needle);
    }
    // Tryout 8 G9: the protocol's and the figures' image counts too, and
    // more Λ rows or image columns than a figure can show.
    for (text, needles) in [
        (
            "test_images = 100\nprotocol_images = 100000000000\n",
            ["bad.toml:2:19", "the 100 test images used"],
        ),
        (
            "test_images = 50\ngrid_images = 51\n",
            ["bad.toml:2:15", "the 50 test images used"],
        ),
        (
            "grid_images = 65\n",
            ["bad.toml:1:15", "must be at most 64"],
        ),
    ] {
        std::fs::write(&cfg, text).unwrap();
        for needle in needles {
            expect_exit2(&["prune", cfg.to_str().unwrap(), "--out", o], needle);
        }
    }
    let many: Vec<String> = (0..65).map(|k| format!("{}.0", k)).collect();
    std::fs::write(&cfg, format!("grid_lambdas = [{}]\n", many.join(", "))).unwrap();
    for needle in ["bad.toml:1:16", "`grid_lambdas`", "must be at most 64"] {
        expect_exit2(&["prune", cfg.to_str().unwrap(), "--out", o], needle);
    }
    std::fs::write(&cfg, "train_images = 10001\n").unwrap();
    expect_exit2(
        &["prune", cfg.to_str().unwrap(), "--out", o],
        "the 10000 training images",
    );
    std::fs::write(&cfg, "[train]\nepochs = 4\nbatch_size = 100000000000\n").unwrap();
    for needle in ["bad.toml:3:14", "`train.batch_size`"] {
        expect_exit2(&["prune", cfg.to_str().unwrap(), "--out", o], needle);
    }
    // The deliberately right value passes the same check (the test can fail).
    std::fs::write(&cfg, "[acceptance]\nkeep_tolerance = 0.0\n").unwrap();
    let spec = prune::load(&cfg).unwrap();
    assert_eq!(spec.acceptance.keep_tolerance, 0.0);
    // Missing data folder.
    expect_exit2(
        &["prune", "--data", "/nonexistent-mnist-dir", "--out", o],
        "/nonexistent-mnist-dir",
    );
    // Truncated images file.
    let data = base.join("mnist");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("train-images-idx3-ubyte"),
        [0u8, 0, 8, 3, 0, 0, 0, 9, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2],
    )
    .unwrap();
    std::fs::write(
        data.join("train-labels-idx1-ubyte"),
        [0u8, 0, 8, 1, 0, 0, 0, 9],
    )
    .unwrap();
    expect_exit2(
        &["prune", "--data", data.to_str().unwrap(), "--out", o],
        "train-images-idx3-ubyte",
    );
    // A folder whose training files hold 0 images: refused naming `data`
    // before training (with weights given, no training images are needed).
    let empty = base.join("empty-mnist");
    std::fs::create_dir_all(&empty).unwrap();
    let idx = |magic: u8, dims: &[u32], data: &[u8]| {
        let mut b = vec![0u8, 0, 8, magic];
        for d in dims {
            b.extend(d.to_be_bytes());
        }
        b.extend(data);
        b
    };
    let w = |name: &str, bytes: Vec<u8>| std::fs::write(empty.join(name), bytes).unwrap();
    w("train-images-idx3-ubyte", idx(3, &[0, 28, 28], &[]));
    w("train-labels-idx1-ubyte", idx(1, &[0], &[]));
    w("t10k-images-idx3-ubyte", idx(3, &[1, 28, 28], &[7u8; 784]));
    w("t10k-labels-idx1-ubyte", idx(1, &[1], &[3]));
    expect_exit2(
        &["prune", "--data", empty.to_str().unwrap(), "--out", o],
        "no training images",
    );
    expect_exit2(
        &["prune", "--data", empty.to_str().unwrap(), "--out", o],
        "`data`",
    );
    // Not a weights file.
    let w = base.join("w.bin");
    std::fs::write(&w, b"garbage, not weights").unwrap();
    expect_exit2(
        &["prune", "--weights", w.to_str().unwrap(), "--out", o],
        "w.bin",
    );
    assert!(!out.exists(), "nothing written on error");
    std::fs::remove_dir_all(&base).unwrap();
}

/// Two runs with one seed write byte-identical result files at 1 and 4
/// threads (timings.json aside, the one file that records times).
#[test]
fn result_files_identical_across_runs_and_thread_counts() {
    let base = tmp("same");
    let cfg = base.join("tiny.toml");
    std::fs::write(
        &cfg,
        "train_images = 600\ntest_images = 200\nrandom_repeats = 2\nfractions = [0.5]\nfine_lambdas = [0.01]\ngrid_images = 2\n[train]\nepochs = 2\nbatch_size = 150\n",
    )
    .unwrap();
    let run = |threads: &str, name: &str| {
        let out = base.join(name);
        let o = Command::new(env!("CARGO_BIN_EXE_bayesrg"))
            .args(["prune", cfg.to_str().unwrap(), "--quiet", "--out"])
            .arg(&out)
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(
            o.status.code() == Some(0) || o.status.code() == Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    };
    let a = run("1", "a");
    let b = run("4", "b");
    let mut names: Vec<String> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "timings.json")
        .collect();
    names.sort();
    assert!(names.len() >= 9, "{names:?}");
    for n in &names {
        assert!(
            std::fs::read(a.join(n)).unwrap() == std::fs::read(b.join(n)).unwrap(),
            "{n} differs between 1 and 4 threads"
        );
    }
    std::fs::remove_dir_all(&base).unwrap();
}

/// The shipped configs load and check, and the two that say they are the
/// library's settings are them (a drift between file and code fails here).
#[test]
fn shipped_configs_are_valid_and_match_the_settings_they_name() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/prune");
    let load = |name: &str| prune::load(&dir.join(name)).unwrap();
    assert_eq!(load("paper.toml"), Section4Spec::default());
    assert_eq!(load("quick.toml"), Section4Spec::quick());
    for name in ["paper-full.toml", "authors-full.toml"] {
        let s = load(name);
        assert_eq!((s.train.epochs, s.train.batch_size), (10, 1000), "{name}");
        assert_eq!(s.arch.bias, name.starts_with("authors"), "{name}");
    }
    // And a spec that differs is told apart.
    assert_ne!(load("paper.toml"), Section4Spec::quick());
}

/// Issue 11: the `autoencoder_regression` model's inputs are checked when
/// the config is read (exit 2, the field named): longer or shorter than
/// `arch.input`, empty, none at all, NaN or infinite.
#[test]
fn autoencoder_regression_inputs_are_checked_at_config_time() {
    let base = tmp("aereg");
    let cfg = base.join("ae.toml");
    let write = |inputs: &str| {
        std::fs::write(
            &cfg,
            format!(
                "theta = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]\nsamples = 1000\n[model]\n\
                 type = \"autoencoder_regression\"\narch = {{ input = 3, latent = 1, bias = false }}\n\
                 inputs = {inputs}\n"
            ),
        )
        .unwrap();
    };
    let c = cfg.to_str().unwrap();
    for (inputs, needle) in [
        ("[[1.0, 0.0, 0.5, 2.0]]", "`inputs[0]` has 4 entries"),
        ("[[1.0, 0.5, 0.5], [1.0, 0.0]]", "`inputs[1]` has 2 entries"),
        ("[[]]", "`inputs[0]` has 0 entries"),
        ("[]", "`inputs`"),
        ("[[1.0, nan, 0.5]]", "`inputs[0][1]` is NaN"),
        ("[[1.0, 0.0, -inf]]", "`inputs[0][2]`"),
    ] {
        write(inputs);
        expect_exit2(&["fisher", c], needle);
    }
    // The same config with good inputs is accepted (the checks can pass).
    write("[[1.0, 0.2, 0.5]]");
    let o = bayesrg(&["fisher", c]);
    assert_ne!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::remove_dir_all(&base).unwrap();
}

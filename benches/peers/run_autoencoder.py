#!/usr/bin/env python3
"""Driver of the section-4 peer benchmark (run it through
benches/peers/run_autoencoder.sh, which builds bayesrg, sets up the pinned
PyTorch + NNGeometry environment and fetches the full MNIST).

For each repeat it runs, one after the other, `bayesrg prune
configs/prune/paper-full.toml --data MNIST` (Table 2 on the full MNIST: 600
Adam steps of 1,000 images, the exact Fisher over the 10,000 test images, the
48 sweep rows) and benches/peers/autoencoder_torch.py on the same protocol;
the first repeat also checks that both computed the same thing (the Fisher of
bayesrg's weights by NNGeometry, their test MSE, the information-shell losses).
Then it trains with SEEDS seeds on both sides (the seed-to-seed spread of the
test MSE), and writes a markdown report (medians over the repeats, ratios,
machine, versions, date, load) to OUT/report.md and, with --update-docs, into
docs/benchmarks.md between the autoencoder-peer markers.
"""
import argparse, datetime, json, os, platform, re, statistics, subprocess, sys, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BEGIN, END = "<!-- autoencoder-peer:begin -->", "<!-- autoencoder-peer:end -->"


def sh(cmd, env=None, **kw):
    return subprocess.run(cmd, env={**os.environ, **(env or {})}, check=True, capture_output=True, text=True, **kw)


def loadavg():
    return os.getloadavg()[0]


def bayesrg_run(binary, config, mnist, out, extra=None):
    cfg = config
    if extra:
        cfg = out + ".toml"
        with open(config) as f, open(cfg, "w") as g:
            g.write(extra + "\n" + f.read())
    t = time.perf_counter()
    p = subprocess.run([binary, "prune", cfg, "--data", mnist, "--quiet", "--out", out],
                       env={**os.environ, "RAYON_NUM_THREADS": "2"}, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode not in (0, 1):
        sys.exit(f"bayesrg failed: {p.stderr}")
    timings = json.load(open(os.path.join(out, "timings.json")))
    details = json.load(open(os.path.join(out, "summary.json")))["details"]
    return {"wall": wall, **timings, "evaluations": details["sweep"]["evaluations"],
            "unpruned_loss": details["unpruned_loss"], "rows": len(details["sweep"]["rows"]),
            "mean_fisher": details["spectrum"]["mean_fisher_all_parameters"]}


def torch_run(py, mnist, *args):
    p = subprocess.run([py, os.path.join(ROOT, "benches/peers/autoencoder_torch.py"), "--data", mnist, *args],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"torch failed: {p.stderr}")
    sys.stderr.write(p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def med(v):
    return statistics.median(v)


def sd(v):
    return statistics.stdev(v) if len(v) > 1 else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", required=True)
    ap.add_argument("--mnist", required=True)
    ap.add_argument("--out", default="/tmp/ae-peer")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--update-docs", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    binary = os.path.join(ROOT, "target/release/bayesrg")
    config = os.path.join(ROOT, "configs/prune/paper-full.toml")
    loads = [loadavg()]
    b, t = [], []
    check = None
    for rep in range(a.repeats):
        d = os.path.join(a.out, f"bayesrg-{rep}")
        b.append(bayesrg_run(binary, config, a.mnist, d))
        loads.append(loadavg())
        print(f"repeat {rep}: bayesrg {b[-1]['wall']:.2f} s wall (train {b[-1]['train']:.2f}, Fisher "
              f"{b[-1]['fisher']:.3f}, sweep {b[-1]['sweep']:.2f})", file=sys.stderr)
        t.append(torch_run(a.python, a.mnist, *(["--check", d] if rep == 0 else [])))
        loads.append(loadavg())
        if rep == 0:
            check = t[-1]
    # Seed-to-seed noise of the test MSE (training only; bayesrg's sweep cut to one row).
    bs, ts = [], []
    for s in range(a.seeds):
        r = bayesrg_run(binary, config, a.mnist, os.path.join(a.out, f"seed-{s}"),
                        extra=f"seed = {s}\nlambdas = [0.0]\nfine_lambdas = []\nfractions = []\ngrid_images = 1")
        bs.append(r["unpruned_loss"])
        ts.append(torch_run(a.python, a.mnist, "--train-only", "--seed", str(s))["unpruned_test_mse"])
    loads.append(loadavg())

    ver = sh([binary, "--version"]).stdout.strip()
    rustc = sh(["rustc", "--version"]).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    tj = t[0]
    per_eval_b = [x["sweep"] / x["evaluations"] for x in b]
    rows = [
        ("end to end (wall)", [x["wall"] for x in b], [x["end_to_end_s"] for x in t], 20),
        ("training, 600 Adam steps", [x["train"] for x in b], [x["train_s"] for x in t], 2),
        ("exact diagonal Fisher, 10,000 images", [x["fisher"] for x in b], [x["fisher_s"] for x in t], None),
        (f"sweep, {b[0]['rows']} rows", [x["sweep"] for x in b], [x["sweep_s"] for x in t], None),
        ("one network evaluation on the 10k test images", per_eval_b, [x["forward_10k_s"] for x in t], 2),
    ]
    lines = [BEGIN, "",
             f"Measured {date} by `benches/peers/run_autoencoder.sh` (repeats: {a.repeats}, seeds: {a.seeds}).",
             f"Machine: {cpu}, {os.cpu_count()} cores, load average {min(loads):.1f}–{max(loads):.1f} during the run "
             + ("(the run's own two threads: nothing else running)." if max(loads) <= 2.5 else
                "(**shared with other work**, so read the times as upper bounds and the ratios as rough)."),
             f"bayesrg: `{ver}`, {rustc}, release, `RAYON_NUM_THREADS=2`, training and sweep in f32, Fisher in f64. "
             f"Peer: Python {platform.python_version()}, torch {tj['torch']} (PyPI wheel, CPU, MKL: {tj['mkl']}), "
             f"NNGeometry {tj['nngeometry']}, NumPy {tj['numpy']}, `torch.set_num_threads(2)`, float32.",
             "Protocol: Table 2 on the full MNIST (configs/prune/paper-full.toml): 600 Adam steps of 1,000 images "
             "with the training MSE after each epoch, the diagonal regression Fisher over the 10,000 test images, "
             f"the {b[0]['rows']} sweep rows × 4 schemes (random: mean of 3) on all test images and the first 10. "
             f"bayesrg evaluates each distinct removed set once ({b[0]['evaluations']} sets); the peer evaluates "
             f"{tj['sweep_evaluations']}.",
             "",
             "| phase | bayesrg (median) | PyTorch + NNGeometry (median) | ratio | target |",
             "|---|---|---|---|---|"]
    for name, xb, xt, target in rows:
        r = med(xt) / med(xb)
        tgt = "" if target is None else (f"≥ {target}× — {'met' if r >= target else '**not met**'}")
        unit = (lambda v: f"{1e3 * v:.1f} ms") if med(xb) < 0.1 else (lambda v: f"{v:.2f} s")
        lines.append(f"| {name} | {unit(med(xb))} | {unit(med(xt))} | {r:.1f}× | {tgt} |")
    walls = ", ".join("%.2f" % x["wall"] for x in b)
    peer_walls = ", ".join("%.1f" % x["end_to_end_s"] for x in t)
    sweeps = ", ".join("%.2f" % x["sweep"] for x in b)
    sweep_ok = "met" if med([x["sweep"] for x in b]) < 2 else "**not met**"
    lines += ["",
              f"- Repeats: bayesrg end to end {walls} s; peer {peer_walls} s.",
              f"- Sweep on full MNIST (default rows): {sweeps} s (target < 2 s: {sweep_ok}).",
              f"- Test MSE after training, {a.seeds} seeds: bayesrg {statistics.mean(bs):.6f} ± {sd(bs):.6f} (sd), "
              f"PyTorch {statistics.mean(ts):.6f} ± {sd(ts):.6f}; difference of the means "
              f"{statistics.mean(bs) - statistics.mean(ts):+.6f}, its standard error "
              f"{(sd(bs) ** 2 / len(bs) + sd(ts) ** 2 / len(ts)) ** 0.5:.6f}.",
              f"- Same computation (repeat 1, on bayesrg's weights): NNGeometry's Fisher agrees with fisher.csv "
              f"to max |ΔF| / max F = {check['fisher_max_abs_diff_over_max']:.1e} (float32 against f64; mean F "
              f"{check['fisher_mean_torch']:.6f} vs {check['fisher_mean_bayesrg']:.6f}); torch's test MSE of those "
              f"weights {check['unpruned_mse_torch_on_bayesrg_weights']:.7f} vs bayesrg's "
              f"{check['unpruned_mse_bayesrg']:.7f}; the information-shell losses at the 20 Λ of the paper grid "
              f"agree to a relative {check['shell_loss_max_rel_diff']:.1e}.",
              "", END]
    # Agreement gate. The peer runs in float32: a forward pass rounds to about
    # (n + m + 2) * 6e-8 = 5e-5 relative, so test MSEs and shell losses must
    # agree to 1e-4; NNGeometry sums the Fisher over 10,000 images in float32
    # (relative error up to ~1e4 * 6e-8 in the worst case), so 1e-3 there.
    # A disagreement is written into the report and ends the run with status 1.
    gates = [
        ("Fisher, max |dF| / max F", check["fisher_max_abs_diff_over_max"], 1e-3),
        ("unpruned test MSE, relative", abs(check["unpruned_mse_torch_on_bayesrg_weights"] / check["unpruned_mse_bayesrg"] - 1), 1e-4),
        ("information-shell losses, max relative", check["shell_loss_max_rel_diff"], 1e-4),
    ]
    bad = [f"{name}: {v:.1e} > {tol:.0e}" for name, v, tol in gates if not v <= tol]
    if bad:
        lines.insert(-2, "- **The two programs disagree:** " + "; ".join(bad) + ". The ratios above compare different computations.")
    report = "\n".join(lines) + "\n"
    open(os.path.join(a.out, "report.md"), "w").write(report)
    json.dump({"bayesrg": b, "torch": t, "seeds": {"bayesrg": bs, "torch": ts}, "loads": loads},
              open(os.path.join(a.out, "raw.json"), "w"), indent=1)
    print(report)
    if a.update_docs:
        p = os.path.join(ROOT, "docs/benchmarks.md")
        doc = open(p).read()
        if BEGIN in doc and END in doc:
            doc = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END) + "\n?", lambda _: report, doc, flags=re.S)
        else:
            doc += "\n" + report
        open(p, "w").write(doc)
    if bad:
        sys.exit("the two programs disagree: " + "; ".join(bad))


if __name__ == "__main__":
    main()

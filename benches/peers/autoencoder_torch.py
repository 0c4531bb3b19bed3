#!/usr/bin/env python3
"""Peer reference (not in CI): the section-4 protocol of `bayesrg prune` in
PyTorch + NNGeometry, timed phase by phase. Run through
benches/peers/run_autoencoder.sh, which sets up the pinned environment
(benches/peers/requirements-autoencoder.txt) and the full MNIST.

  autoencoder_torch.py --data MNIST_DIR [--check RESULTS_DIR] [--seed S]
                       [--train-only] [--dtype float32|float64] [--threads 2]

Protocol (Table 2 of the paper, the authors' loop; the same as
configs/prune/paper-full.toml): 784 -> 20 -> 784 ReLU without biases,
PyTorch's default initialisation, Adam(0.001, 0.9, 0.999, 1e-8), 10 epochs of
the 60,000 training images in batches of 1,000 (600 Adam steps; a fresh
shuffle each epoch and the training MSE over all images after each), pixels /
255; then the regression Fisher with unit variance
F_pp = (1/N) sum_n sum_k (df_k(x_n)/dtheta_p)^2 over the 10,000 test images
with NNGeometry (FIM(model, loader, PMatDiag, variant="regression"), batches of
100: the authors' tool); then the sweep: bayesrg's rows (the paper's Lambda
grid 0, 0.125, ..., 2.375, the fine grid 1e-6 ... 0.05, matched counts at
5 %, ..., 100 % of the encoder weights), each for the information shell,
random removal (mean of 3 permutations), magnitude and the KL-cost shell, on all
test images and on the first 10. No plots.

--train-only trains and prints the test MSE (for the seed-to-seed noise).
--check RESULTS_DIR takes the weights.bin of a `bayesrg prune --out
RESULTS_DIR` run and checks that both programs computed the same thing: the
Fisher of those weights (NNGeometry vs fisher.csv), their unpruned test MSE
and the information-shell losses at the paper grid (vs sweep.csv).

The last line printed is one JSON object (the driver reads it).
"""
import argparse, csv, json, os, statistics, struct, sys, time

import numpy as np
import torch
from torch import nn

N_IN, LATENT = 784, 20


def idx_images(path, dtype):
    b = open(path, "rb").read()
    magic, count, r, c = struct.unpack(">IIII", b[:16])
    assert magic == 0x803, path
    x = np.frombuffer(b, dtype=np.uint8, offset=16).reshape(count, r * c)
    return torch.from_numpy(x.astype(np.float64) / 255.0).to(dtype)


def make_net(dtype):
    return nn.Sequential(
        nn.Linear(N_IN, LATENT, bias=False), nn.ReLU(),
        nn.Linear(LATENT, N_IN, bias=False), nn.ReLU(),
    ).to(dtype)


def train(net, x, epochs=10, batch=1000, seed=42):
    opt = torch.optim.Adam(net.parameters(), lr=0.001, betas=(0.9, 0.999), eps=1e-8)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(epochs):
        perm = torch.randperm(x.shape[0], generator=g)
        for s in range(0, x.shape[0], batch):
            xb = x[perm[s:s + batch]]
            opt.zero_grad(set_to_none=True)
            loss = ((net(xb) - xb) ** 2).mean()
            loss.backward()
            opt.step()
        with torch.no_grad():
            losses.append(((net(x) - x) ** 2).mean().item())
    return losses


def fisher_nngeometry(net, x, batch=100):
    from nngeometry.metrics import FIM
    from nngeometry.object import PMatDiag
    ds = torch.utils.data.TensorDataset(x, x)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=False)
    f = FIM(model=net, loader=loader, representation=PMatDiag,
            variant="regression", device="cpu")
    d = f.get_diag()
    # NNGeometry orders the parameters layer by layer, each weight flattened
    # row-major: encoder.weight [j, i] then decoder.weight [k, j].
    e = N_IN * LATENT
    return d[:e].reshape(LATENT, N_IN), d[e:].reshape(N_IN, LATENT)


def masked_loss(net, w_enc_flat, x):
    """Test MSE with the encoder weights w_enc_flat ([j, i] row-major)."""
    h = torch.relu(x @ w_enc_flat.reshape(LATENT, N_IN).T)
    o = net[3](net[2](h))
    return ((o - x) ** 2).mean().item()


def plan(fe):
    enc = fe.numel()
    srt = torch.sort(fe).values
    rows = [("paper", 0.125 * i, int((fe <= 0.125 * i).sum())) for i in range(20)]
    rows += [("fine", l, int((fe <= l).sum())) for l in [1e-6, 1e-5, 1e-4, 1e-3, 0.005, 0.01, 0.02, 0.05]]
    for k in range(1, 20):
        c = round(0.05 * k * enc)
        rows.append(("fraction", 0.0 if c == 0 else srt[c - 1].item(), c))
    rows.append(("fraction", srt[-1].item(), enc))
    return rows


def sweep(net, f_enc, test, proto, repeats=3, random_seed=0):
    """bayesrg's rows; returns the rows and the number of network evaluations
    on the whole test set."""
    fe = f_enc.reshape(-1)
    te = net[0].weight.detach().reshape(-1).clone()
    enc = fe.numel()
    orders = [torch.argsort(fe, stable=True)]
    orders += [torch.randperm(enc, generator=torch.Generator().manual_seed(random_seed + r))
               for r in range(repeats)]
    orders += [torch.argsort(te.abs(), stable=True), torch.argsort(0.5 * fe * te * te, stable=True)]
    rows, evals = [], 0
    with torch.no_grad():
        for kind, lam, c in plan(fe):
            ls, ps = [], []
            for o in orders:
                w = te.clone()
                w[o[:c]] = 0.0
                ls.append(masked_loss(net, w, test))
                ps.append(masked_loss(net, w, proto))
                evals += 1
            mean = lambda v: [v[0], sum(v[1:1 + repeats]) / repeats, v[1 + repeats], v[2 + repeats]]
            rows.append((kind, lam, c, mean(ls), mean(ps)))
    return rows, evals


def forward_time(net, x, reps=15):
    """Median seconds of one masked network evaluation on x (the sweep's unit)."""
    te = net[0].weight.detach().reshape(-1).clone()
    ts = []
    with torch.no_grad():
        for _ in range(reps):
            t = time.perf_counter()
            masked_loss(net, te, x)
            ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def load_bayesrg_weights(path, dtype):
    b = open(path, "rb").read()
    assert b[:8] == b"BRGAE\0v1", path
    n_in, m, bias, _count = struct.unpack("<IIII", b[8:24])
    assert (n_in, m, bias) == (N_IN, LATENT, 0), "only the default architecture"
    theta = np.frombuffer(b, dtype="<f8", offset=24)
    e = n_in * m
    net = make_net(dtype)
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(theta[:e].reshape(n_in, m).T.copy()))  # input-major -> [j, i]
        net[2].weight.copy_(torch.from_numpy(theta[e:2 * e].reshape(n_in, m).copy()))  # [k, j]
    return net


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="folder with the four MNIST IDX files")
    ap.add_argument("--check", metavar="RESULTS_DIR")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--train-only", action="store_true")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dtype = getattr(torch, a.dtype)
    import nngeometry
    out = {"torch": torch.__version__, "nngeometry": getattr(nngeometry, "__version__", "0.4"),
           "numpy": np.__version__, "threads": torch.get_num_threads(), "dtype": a.dtype,
           "seed": a.seed, "mkl": torch.backends.mkl.is_available()}

    t0 = time.perf_counter()
    torch.manual_seed(a.seed)
    xtr = idx_images(os.path.join(a.data, "train-images-idx3-ubyte"), dtype)
    xte = idx_images(os.path.join(a.data, "t10k-images-idx3-ubyte"), dtype)
    net = make_net(dtype)
    t = time.perf_counter()
    losses = train(net, xtr, seed=a.seed)
    out["train_s"] = time.perf_counter() - t
    out["final_train_mse"] = losses[-1]
    with torch.no_grad():
        out["unpruned_test_mse"] = ((net(xte) - xte) ** 2).mean().item()
    if a.train_only:
        print(json.dumps(out))
        return
    t = time.perf_counter()
    f1, f2 = fisher_nngeometry(net, xte)
    out["fisher_s"] = time.perf_counter() - t
    t = time.perf_counter()
    rows, evals = sweep(net, f1, xte, xte[:10])
    out["sweep_s"] = time.perf_counter() - t
    out["end_to_end_s"] = time.perf_counter() - t0
    out["rows"] = len(rows)
    out["sweep_evaluations"] = evals
    out["forward_10k_s"] = forward_time(net, xte)
    out["mean_fisher"] = float(torch.cat([f1.reshape(-1), f2.reshape(-1)]).mean())
    out["removed_paper_grid"] = {f"{r[1]:g}": r[2] for r in rows if r[0] == "paper"}
    print(f"torch {torch.__version__} {a.dtype}, {out['threads']} threads: train {out['train_s']:.2f} s, "
          f"Fisher {out['fisher_s']:.2f} s, sweep {out['sweep_s']:.2f} s ({len(rows)} rows, {evals} evaluations "
          f"on 10k images, one {1e3 * out['forward_10k_s']:.1f} ms), end to end {out['end_to_end_s']:.2f} s; "
          f"test MSE {out['unpruned_test_mse']:.6f}", file=sys.stderr)

    if a.check:
        bnet = load_bayesrg_weights(os.path.join(a.check, "weights.bin"), dtype)
        t = time.perf_counter()
        g1, g2 = fisher_nngeometry(bnet, xte)
        out["fisher_on_bayesrg_weights_s"] = time.perf_counter() - t
        ours = torch.cat([g1.T.reshape(-1), g2.reshape(-1)]).double().numpy()  # bayesrg's order
        ref = np.array([float(r["fisher"]) for r in csv.DictReader(open(os.path.join(a.check, "fisher.csv")))])
        scale = np.abs(ref).max()
        out["fisher_max_abs_diff_over_max"] = float(np.max(np.abs(ours - ref)) / scale)
        out["fisher_mean_bayesrg"] = float(ref.mean())
        out["fisher_mean_torch"] = float(ours.mean())
        summary = json.load(open(os.path.join(a.check, "summary.json")))["details"]
        with torch.no_grad():
            tl = ((bnet(xte) - xte) ** 2).mean().item()
        out["unpruned_mse_torch_on_bayesrg_weights"] = tl
        out["unpruned_mse_bayesrg"] = summary["unpruned_loss"]
        # Information-shell losses at the paper grid, from bayesrg's Fisher.
        fe = torch.from_numpy(ref[:N_IN * LATENT].reshape(N_IN, LATENT).T.copy()).reshape(-1)
        te = bnet[0].weight.detach().reshape(-1).clone()
        rel = []
        for r in csv.DictReader(open(os.path.join(a.check, "sweep.csv"))):
            if r["kind"] != "paper":
                continue
            w = te.clone()
            w[fe <= float(r["lambda"])] = 0.0
            with torch.no_grad():
                l = masked_loss(bnet, w, xte)
            rel.append(abs(l - float(r["information_shell"])) / float(r["information_shell"]))
        out["shell_loss_max_rel_diff"] = max(rel)
        print(f"check on bayesrg's weights: Fisher max |diff| / max F = {out['fisher_max_abs_diff_over_max']:.2e}; "
              f"test MSE {tl:.7f} (torch) vs {summary['unpruned_loss']:.7f} (bayesrg); information-shell "
              f"losses at the paper grid agree to {out['shell_loss_max_rel_diff']:.1e}", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

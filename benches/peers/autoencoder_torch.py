#!/usr/bin/env python3
"""Peer reference (not in CI): the autoencoder information-shell protocol of
`bayesrg prune` in PyTorch, timed end to end and for the Fisher alone.

  python3 benches/peers/autoencoder_torch.py [--check RESULTS_DIR] [--fisher nngeometry|vmap]

Same protocol as `bayesrg prune` with its defaults on the embedded subset
(docs/reproduction.md): 784 -> 20 -> 784 ReLU without biases, float64,
PyTorch's default initialisation, Adam(0.001, 0.9, 0.999, 1e-8), batch 1000,
60 epochs of the 10,000 embedded training images (600 Adam steps, a fresh
shuffle each epoch and the training MSE after each), pixels / 255; then the
regression Fisher with unit variance F_pp = (1/N) sum_n sum_k (df_k(x_n)/dtheta_p)^2
over the 2,000 embedded test images by *generic* autodiff; then the sweep: the
paper's Lambda grid (0, 0.125, ..., 2.375), the fine grid (1e-6 ... 0.05) and
matched counts at 5 %, ..., 100 % of the encoder weights, each evaluated for the
information shell, random removal (mean of 3 permutations), magnitude and the
KL-cost shell, on all test images and on the first 10 (6 + 6 forward passes per
row, like bayesrg). No plots are written (bayesrg writes six PNGs).

Fisher back ends:
  nngeometry  FIM(model, loader, PMatDiag, variant="regression") of NNGeometry
              (the authors' tool: one backward pass per output and batch, with
              per-layer hooks).
  vmap        torch.func.vmap(jacrev(f)) per example, squared and summed
              (a plain per-example Jacobian; used when NNGeometry is missing).

--check RESULTS_DIR loads the weights.bin of a `bayesrg prune --out RESULTS_DIR`
run, computes the Fisher on those weights with the same back end and prints the
largest relative difference from RESULTS_DIR/fisher.csv and the removed counts
at the paper's Lambda grid next to bayesrg's sweep.csv.

The last line printed is one JSON object (the run script reads it).
"""
import argparse, csv, gzip, json, os, struct, sys, time

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "../../plugins/autoencoder/data")
N_IN, LATENT = 784, 20


def idx_images(path):
    b = gzip.open(path, "rb").read()
    magic, count, r, c = struct.unpack(">IIII", b[:16])
    assert magic == 0x803, path
    x = np.frombuffer(b, dtype=np.uint8, offset=16).reshape(count, r * c)
    return torch.from_numpy(x.astype(np.float64) / 255.0)


def make_net():
    return nn.Sequential(
        nn.Linear(N_IN, LATENT, bias=False), nn.ReLU(),
        nn.Linear(LATENT, N_IN, bias=False), nn.ReLU(),
    ).double()


def train(net, x, epochs=60, batch=1000, seed=42):
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
    # nngeometry orders the parameters layer by layer, weight flattened
    # row-major: encoder.weight [j, i] then decoder.weight [k, j].
    e = N_IN * LATENT
    return d[:e].reshape(LATENT, N_IN), d[e:].reshape(N_IN, LATENT)


def fisher_vmap(net, x, chunk=8):
    from torch.func import functional_call, jacrev, vmap
    params = {k: v.detach() for k, v in net.named_parameters()}

    def f(p, xi):
        return functional_call(net, p, (xi.unsqueeze(0),)).squeeze(0)

    jac = vmap(jacrev(f), in_dims=(None, 0))
    acc = {k: torch.zeros_like(v) for k, v in params.items()}
    for s in range(0, x.shape[0], chunk):
        j = jac(params, x[s:s + chunk])          # name -> (B, 784, *shape)
        for k in acc:
            acc[k] += (j[k] ** 2).sum(dim=(0, 1))
    n = x.shape[0]
    return acc["0.weight"] / n, acc["2.weight"] / n


def fisher(net, x, backend):
    return fisher_nngeometry(net, x) if backend == "nngeometry" else fisher_vmap(net, x)


def sweep(net, f_enc, test, proto, repeats=3, random_seed=0):
    """The rows of bayesrg's sweep: returns (removed counts at the paper grid,
    number of rows, list of rows (kind, lambda, count, 4 losses, 4 protocol losses))."""
    w1 = net[0].weight.detach().clone()            # [j, i]
    fe = f_enc.reshape(-1)
    te = w1.reshape(-1)
    enc = fe.numel()
    srt = torch.sort(fe).values
    order_info = torch.argsort(fe, stable=True)
    order_mag = torch.argsort(te.abs(), stable=True)
    order_kl = torch.argsort(0.5 * fe * te * te, stable=True)
    orders_rand = [torch.randperm(enc, generator=torch.Generator().manual_seed(random_seed + r))
                   for r in range(repeats)]
    lambdas = [0.125 * i for i in range(20)]
    fine = [1e-6, 1e-5, 1e-4, 1e-3, 0.005, 0.01, 0.02, 0.05]
    plan = [("paper", l, int((fe <= l).sum())) for l in lambdas]
    plan += [("fine", l, int((fe <= l).sum())) for l in fine]
    for k in range(1, 20):
        c = round(0.05 * k * enc)
        plan.append(("fraction", 0.0 if c == 0 else srt[c - 1].item(), c))
    plan.append(("fraction", srt[-1].item(), enc))

    def loss(order, c, x):
        w = te.clone()
        w[order[:c]] = 0.0
        h = torch.relu(x @ w.reshape(LATENT, N_IN).T)
        o = net[3](net[2](h))
        return ((o - x) ** 2).mean().item()

    rows = []
    with torch.no_grad():
        for kind, lam, c in plan:
            ls, ps = [], []
            for x, out in ((test, ls), (proto, ps)):
                out.append(loss(order_info, c, x))
                out.append(sum(loss(o, c, x) for o in orders_rand) / repeats)
                out.append(loss(order_mag, c, x))
                out.append(loss(order_kl, c, x))
            rows.append((kind, lam, c, ls, ps))
    return rows


def load_bayesrg_weights(path):
    b = open(path, "rb").read()
    assert b[:8] == b"BRGAE\0v1", path
    n_in, m, bias, _count = struct.unpack("<IIII", b[8:24])
    assert (n_in, m, bias) == (N_IN, LATENT, 0), "only the default architecture"
    theta = np.frombuffer(b, dtype="<f8", offset=24)
    e = n_in * m
    net = make_net()
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(theta[:e].reshape(n_in, m).T.copy()))  # input-major -> [j, i]
        net[2].weight.copy_(torch.from_numpy(theta[e:2 * e].reshape(n_in, m).copy()))  # [k, j]
    return net


def to_bayesrg_order(f1, f2):
    return torch.cat([f1.T.reshape(-1), f2.reshape(-1)]).numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", metavar="RESULTS_DIR")
    ap.add_argument("--fisher", choices=["nngeometry", "vmap"], default=None)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    backend = a.fisher
    if backend is None:
        try:
            import nngeometry  # noqa: F401
            backend = "nngeometry"
        except Exception:
            backend = "vmap"
    out = {"fisher_backend": backend, "torch": torch.__version__, "threads": torch.get_num_threads()}
    try:
        import nngeometry
        out["nngeometry"] = getattr(nngeometry, "__version__", "installed")
    except Exception:
        pass

    # --- end to end -------------------------------------------------------
    t0 = time.perf_counter()
    torch.manual_seed(42)
    xtr = idx_images(os.path.join(DATA, "train-images-10k-idx3-ubyte.gz"))
    xte = idx_images(os.path.join(DATA, "t10k-images-2k-idx3-ubyte.gz"))
    net = make_net()
    t = time.perf_counter()
    losses = train(net, xtr)
    out["train_s"] = time.perf_counter() - t
    t = time.perf_counter()
    f1, f2 = fisher(net, xte, backend)
    out["fisher_s"] = time.perf_counter() - t
    t = time.perf_counter()
    rows = sweep(net, f1, xte, xte[:10])
    out["sweep_s"] = time.perf_counter() - t
    out["end_to_end_s"] = time.perf_counter() - t0
    out["rows"] = len(rows)
    out["final_train_mse"] = losses[-1]
    with torch.no_grad():
        out["unpruned_test_mse"] = ((net(xte) - xte) ** 2).mean().item()
    out["mean_fisher"] = float(torch.cat([f1.reshape(-1), f2.reshape(-1)]).mean())
    out["mean_fisher_encoder"] = float(f1.mean())
    out["removed_paper_grid"] = {f"{r[1]:g}": r[2] for r in rows if r[0] == "paper"}
    out["info_shell_loss_paper_grid"] = {f"{r[1]:g}": r[3][0] for r in rows if r[0] == "paper"}
    print(f"torch {torch.__version__} ({backend}), {out['threads']} threads: train {out['train_s']:.2f} s, "
          f"Fisher {out['fisher_s']:.2f} s, sweep {out['sweep_s']:.2f} s ({len(rows)} rows), "
          f"end to end {out['end_to_end_s']:.2f} s; unpruned test MSE {out['unpruned_test_mse']:.6f}",
          file=sys.stderr)

    # --- the same weights as bayesrg ----------------------------------------
    if a.check:
        bnet = load_bayesrg_weights(os.path.join(a.check, "weights.bin"))
        t = time.perf_counter()
        g1, g2 = fisher(bnet, xte, backend)
        out["fisher_on_bayesrg_weights_s"] = time.perf_counter() - t
        ours = to_bayesrg_order(g1, g2)
        ref = np.array([float(r["fisher"]) for r in csv.DictReader(open(os.path.join(a.check, "fisher.csv")))])
        out["max_rel_diff_fisher"] = float(np.max(np.abs(ours - ref) / (1e-12 + np.abs(ref))))
        out["max_abs_diff_fisher"] = float(np.max(np.abs(ours - ref)))
        out["mean_fisher_bayesrg"] = float(ref.mean())
        out["mean_fisher_torch_on_bayesrg_weights"] = float(ours.mean())
        fe = g1.reshape(-1)
        ours_counts = {f"{0.125 * i:g}": int((fe <= 0.125 * i).sum()) for i in range(20)}
        theirs = {}
        for r in csv.DictReader(open(os.path.join(a.check, "sweep.csv"))):
            if r.get("kind") == "paper":
                theirs[f"{float(r['lambda']):g}"] = int(r["removed"])
        out["removed_paper_grid_on_bayesrg_weights"] = ours_counts
        out["removed_paper_grid_bayesrg"] = theirs
        out["removed_counts_agree"] = ours_counts == theirs
        print(f"Fisher on bayesrg's weights: {out['fisher_on_bayesrg_weights_s']:.2f} s, max relative "
              f"difference from fisher.csv {out['max_rel_diff_fisher']:.2e}; removed counts at the "
              f"paper grid agree: {out['removed_counts_agree']}", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

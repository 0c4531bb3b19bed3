#!/usr/bin/env python3
"""Peer reference (not in CI): the diagonal regression Fisher of the bayesrg
autoencoder, computed with NumPy matrix products (BLAS), from a `weights.bin`
and the test images that `bayesrg prune` used.

  python3 benches/peers/autoencoder_fisher_numpy.py RESULTS_DIR [MNIST_DIR]

RESULTS_DIR holds weights.bin and fisher.csv of a `bayesrg prune` run; the test
images are the embedded 2,000 (default) or MNIST_DIR's t10k files. It prints the
largest relative difference from fisher.csv (an independent third code path)
and the time of the Fisher alone, best of 5.

F(W1[j,i]) = mean_n x_i^2 s_j sum_k a_k W2[k,j]^2,  F(W2[k,j]) = mean_n a_k h_j^2,
F(b1[j]) = mean_n s_j c_j,  F(b2[k]) = mean_n a_k.
"""
import csv, gzip, os, struct, sys, time
import numpy as np

def idx_images(path, n=None):
    op = gzip.open if path.endswith(".gz") else open
    b = op(path, "rb").read()
    magic, count, r, c = struct.unpack(">IIII", b[:16])
    assert magic == 0x803
    x = np.frombuffer(b, dtype=np.uint8, offset=16).reshape(count, r * c)
    return (x[:n] if n else x).astype(np.float64) / 255.0

def main():
    res = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    if len(sys.argv) > 2:
        x = idx_images(os.path.join(sys.argv[2], "t10k-images-idx3-ubyte"))
    else:
        x = idx_images(os.path.join(here, "../../plugins/autoencoder/data/t10k-images-2k-idx3-ubyte.gz"))
    b = open(os.path.join(res, "weights.bin"), "rb").read()
    assert b[:8] == b"BRGAE\0v1"
    n_in, m, bias, count = struct.unpack("<IIII", b[8:24])
    theta = np.frombuffer(b, dtype="<f8", offset=24)
    e = n_in * m
    w1 = theta[:e].reshape(n_in, m)                  # input-major
    off = e + (m if bias else 0)
    b1 = theta[e:off] if bias else np.zeros(m)
    w2 = theta[off:off + e].reshape(n_in, m)         # [k, j]
    b2 = theta[off + e:] if bias else np.zeros(n_in)

    def fisher():
        hp = x @ w1 + b1
        s = hp > 0
        h = np.where(s, hp, 0.0)
        a = (h @ w2.T + b2) > 0
        c = (a @ (w2 * w2)) * s
        n = x.shape[0]
        f1 = (x * x).T @ c / n
        f2 = a.T.astype(np.float64) @ (h * h) / n
        parts = [f1.ravel()]
        if bias:
            parts.append(c.mean(0))
        parts.append(f2.ravel())
        if bias:
            parts.append(a.mean(0))
        return np.concatenate(parts)

    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        f = fisher()
        best = min(best, time.perf_counter() - t)
    ours = np.array([float(r["fisher"]) for r in csv.DictReader(open(os.path.join(res, "fisher.csv")))])
    rel = np.max(np.abs(f - ours) / (1e-12 + np.abs(ours)))
    print(f"images {x.shape[0]}  parameters {f.size}  numpy Fisher {best*1e3:.1f} ms  "
          f"max relative difference from bayesrg {rel:.2e}")

if __name__ == "__main__":
    main()

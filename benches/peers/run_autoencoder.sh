#!/usr/bin/env bash
# Peer benchmark (not in CI): `bayesrg prune` (defaults, embedded subset) and
# the PyTorch reference benches/peers/autoencoder_torch.py, one after the other
# in one run, then the ratios (end to end; Fisher alone).
#
#   benches/peers/run_autoencoder.sh [OUT_DIR]      # default /tmp/ae-peer
#
# Needs python3 with torch (and optionally nngeometry; otherwise the Fisher is
# torch.func.vmap(jacrev)). bayesrg uses its rayon pool (RAYON_NUM_THREADS=2
# here); torch runs with torch.set_num_threads(2).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-/tmp/ae-peer}
shift || true
rm -rf "$OUT"
mkdir -p "$OUT"
cargo build --release -q
export RAYON_NUM_THREADS=2

echo "== bayesrg prune --out $OUT/bayesrg" >&2
t0=$(date +%s.%N)
target/release/bayesrg prune --quiet --out "$OUT/bayesrg" > "$OUT/bayesrg.log" 2>&1 || true
t1=$(date +%s.%N)
echo "== autoencoder_torch.py --check $OUT/bayesrg" >&2
python3 benches/peers/autoencoder_torch.py --check "$OUT/bayesrg" "$@" > "$OUT/torch.json" 2> >(tee "$OUT/torch.log" >&2)

python3 - "$OUT" "$t0" "$t1" <<'EOF'
import json, sys, subprocess
out, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
b = json.load(open(f"{out}/bayesrg/summary.json"))
d = b["details"]; sec = d["seconds"]
tj = json.loads(open(f"{out}/torch.json").read().strip().splitlines()[-1])
be2e = t1 - t0
ver = subprocess.run(["target/release/bayesrg", "--version"], capture_output=True, text=True).stdout.strip()
print(f"{ver}; torch {tj['torch']} (Fisher: {tj['fisher_backend']}), {tj['threads']} threads")
print(f"{'':34}{'bayesrg':>10}{'torch':>10}{'ratio':>9}")
rows = [("end to end (wall)", be2e, tj["end_to_end_s"]),
        ("  training (600 Adam steps)", sec["train"], tj["train_s"]),
        ("  Fisher, 2,000 images", sec["fisher"], tj["fisher_s"]),
        ("  Fisher on the same weights", sec["fisher"], tj.get("fisher_on_bayesrg_weights_s", float("nan"))),
        ("  sweep", sec["sweep"], tj["sweep_s"])]
for name, x, y in rows:
    print(f"{name:34}{x:9.2f}s{y:9.2f}s{y / x:8.1f}x")
print(f"targets: end to end >= 10x: {'met' if tj['end_to_end_s'] / be2e >= 10 else 'NOT met'}; "
      f"Fisher >= 100x: {'met' if tj['fisher_s'] / sec['fisher'] >= 100 else 'NOT met'}")
if "max_rel_diff_fisher" in tj:
    print(f"Fisher check on bayesrg's weights: max relative difference {tj['max_rel_diff_fisher']:.2e}, "
          f"mean F {tj['mean_fisher_torch_on_bayesrg_weights']:.6g} (torch) vs {tj['mean_fisher_bayesrg']:.6g} (bayesrg); "
          f"removed counts at the paper grid agree: {tj['removed_counts_agree']}")
print(f"torch-trained net: unpruned test MSE {tj['unpruned_test_mse']:.6f} (bayesrg {d.get('unpruned_loss', float('nan')):.6f}), "
      f"mean F {tj['mean_fisher']:.6g}; removed at Lambda = 0, 0.125, 0.5, 1: "
      + ", ".join(str(tj['removed_paper_grid'][k]) for k in ('0', '0.125', '0.5', '1')))
EOF

#!/bin/bash
# mpirun -np 2 against a plain single-process run at the same global batch
# (docs/SCALING.md): tiny_lm, batch 16, 50 steps, constant lr 1e-4 and 1e-3;
# the relative difference of the losses at step 50 and, per tensor class, of
# the parameters (bench/param_drift.py).
#   bash bench/param_drift.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-50}
heed=build/tools/heed
export OMP_WAIT_POLICY=passive OMP_NUM_THREADS=1
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
# Compiled once: for one process at batch 16, for each of two at 8.
$heed compile examples/tiny_lm.heed --batch 16 -o $t/b16.hx > /dev/null
$heed compile examples/tiny_lm.heed --batch 8 -o $t/b8.hx > /dev/null
args="--batch 16 --steps $steps --schedule constant --warmup 0 --log-every 1 --eval-every 0
      --data tests/lit/cli/Inputs/moby_train.txt -q"
for lr in 1e-4 1e-3; do
  $heed train $t/b16.hx $args --lr $lr --out $t/plain-$lr > /dev/null
  mpirun --allow-run-as-root --bind-to none -np 2 $heed train $t/b8.hx $args --lr $lr --out $t/np2-$lr > /dev/null
  echo "lr $lr, step $steps: loss $(tail -1 $t/plain-$lr/metrics.jsonl | sed 's/.*"loss":\([^,]*\).*/\1/') (plain) vs" \
       "$(tail -1 $t/np2-$lr/metrics.jsonl | sed 's/.*"loss":\([^,]*\).*/\1/') (np 2); largest relative loss difference over the steps:" \
       "$(python3 - $t/plain-$lr/metrics.jsonl $t/np2-$lr/metrics.jsonl <<'PY'
import json, sys
a, b = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
print(f"{max(abs(x['loss'] - y['loss']) / abs(x['loss']) for x, y in zip(a, b)):.2e}")
PY
)"
  python3 bench/param_drift.py $t/plain-$lr/ckpt-$steps.safetensors $t/np2-$lr/ckpt-$steps.safetensors
done

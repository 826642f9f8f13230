#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install what heed needs (Debian packages
# only), build, train examples/tiny_lm.heed on the bundled Moby-Dick text with progress
# and validation, then generate text from the checkpoint.
#   STEPS=3000 bash tools/quickstart.sh       (more steps: lower loss, longer run)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${STEPS:-3000}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

bash tools/install-deps.sh
bash tools/build.sh

heed=build/tools/heed
data=examples/data/moby-dick
out=runs/quickstart
rm -rf "$out"   # a fresh run each time (heed train refuses to overwrite a run without --resume)
$heed check examples/tiny_lm.heed
$heed train examples/tiny_lm.heed --data $data/moby_dick.train.txt --valid $data/moby_dick.valid.txt \
  --out "$out" --steps "$steps" --batch 16 --lr 2e-3 --warmup 200 --eval-every 500 \
  ${HEED_TRAIN_FLAGS:-}
echo
$heed generate "$out" --prompt "Call me Ishmael. " --max-tokens 400 --temperature 0.8 --top-k 40
echo

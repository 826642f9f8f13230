#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install what heed needs (Debian packages
# only), build, train examples/tiny_lm.heed on the bundled Moby-Dick text with progress
# and validation, then generate text from the checkpoint.
#   STEPS=600 bash tools/quickstart.sh        (more steps: lower loss, longer run)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${STEPS:-600}

bash tools/install-deps.sh
bash tools/build.sh

heed=build/tools/heed
data=examples/data/moby-dick
$heed check examples/tiny_lm.heed
$heed train examples/tiny_lm.heed --data $data/moby_dick.train.txt --valid $data/moby_dick.valid.txt \
  --out runs/tiny_lm --steps "$steps" --batch 16 --lr 2e-3 --warmup 60 --eval-every 200 \
  ${HEED_TRAIN_FLAGS:-} \
  $( [ -f runs/tiny_lm/latest ] && echo --resume )
echo
$heed generate runs/tiny_lm --prompt "Call me Ishmael. " --max-tokens 300
echo

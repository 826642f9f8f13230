#!/usr/bin/env bash
# Real bucketed training speed of examples/g2p.heed (docs/BENCHMARKS.md, "g2p's real
# training"): target tokens/s over the first N steps of `heed train` on the bundled
# CMUdict training split, length buckets as in g2p.heed, no validation. Unlike the
# benchmark step (every batch at 24/24), two thirds of these batches run at the 8/8
# bucket, where per-step and per-kernel fixed costs weigh more.
#   bash bench/g2p_train.sh [ROUNDS] [STEPS]     (default 2 rounds of 500 steps)
# HEED_BEFORE=/path/to/other/heed alternates another build (A B A B) in the same run,
# for before/after ratios; OMP_WAIT_POLICY defaults to active here (a dedicated
# machine, as docs/g2p.md's runs), WAIT=passive changes it.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
steps=${2:-500}
export OMP_WAIT_POLICY=${WAIT:-active}
heed=build/tools/heed
[ -x $heed ] || { echo "build first: bash tools/build.sh"; exit 1; }
cpu=$(lscpu | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); m=$2} /^CPU family/ {gsub(/ /, "", $2); f=$2}
                       /^Model:/ {gsub(/ /, "", $2); mo=$2} END {printf "%s (family %s, model %s)", m, f, mo}')
echo "CPU: $cpu; OMP_WAIT_POLICY=$OMP_WAIT_POLICY; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() {  # run BINARY -> target tokens/s of the whole run ("trained N steps ... in M:SS, X tok/s")
  rm -rf "$tmp/run"
  "$1" train examples/g2p.heed --schedule-by steps --data examples/data/cmudict/train.tsv --steps "$steps" \
    --warmup $((steps / 5)) --eval-every 0 --log-every "$steps" --out "$tmp/run" 2>&1 |
    awk '/^trained/ { for (i = 1; i <= NF; i++) if ($i == "tok/s") { v = $(i-1); m = sub(/k$/, "", v) ? 1000 : 1; print v * m } }'
}

echo "| round | heed tok/s | ${HEED_BEFORE:+before tok/s | after / before |}"
echo "|---|---|${HEED_BEFORE:+---|---|}"
for ((r = 1; r <= rounds; r++)); do
  a=$(run $heed)
  if [ -n "${HEED_BEFORE:-}" ]; then
    b=$(run "$HEED_BEFORE")
    echo "| $r | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2fx", a/b}') |"
  else
    echo "| $r | $a |"
  fi
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# Incremental decoding (docs/BENCHMARKS.md, "Incremental decoding"), in one run:
#  1. tiny LM (examples/tiny_lm.heed defaults, random weights), greedy, batch 1,
#     127 new tokens after a 1-byte prompt: heed with the key/value cache, heed
#     recomputing the window (--no-cache), PyTorch with its own key/value cache
#     (bench/torch_decode.py, 2 threads), alternating rounds; tokens/s of the
#     decoding alone (build/bench/heed_bench_decode times rt::sampleTokens, not
#     the compile);
#  2. heed eval of examples/g2p.heed on the CMUdict dev words, cached vs
#     --no-cache, greedy and beam 4: whole-command wall time (compile
#     included), and the WER/PER of both (they must be identical).
# The checkpoint for 2 is $G2P_CKPT, else build/bench/g2p_decode_run, trained
# here once (400 steps of the recipe, warm-up 100: a few minutes; speed and
# token equality do not need a good model).
# "Today" in the issue's target is the --no-cache path of the tree before the
# cache; once the uncached command got faster too (eval compiles only the
# entries it runs), the cached/--no-cache ratio understates the gain:
# BASELINE_HEED=path/to/an/older/heed adds its --no-cache time, measured in the
# same run, and the speed-up against it.
#   bash bench/decode.sh [ROUNDS]     (default 3; G2P_WORDS=N: the first N dev words; SKIP_G2P=1)
# Report ratios of one run only: the machine may be shared.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
export OMP_WAIT_POLICY=passive
heed=build/tools/heed
bench=build/bench/heed_bench_decode
[ -x $bench ] && [ -x $heed ] || { echo "build first: bash tools/build.sh"; exit 1; }
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "installing python3-torch and libopenblas0-openmp (Debian) for the PyTorch side"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    python3-torch libopenblas0-openmp >/dev/null
fi
cpu=$(lscpu | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); m=$2} /^CPU family/ {gsub(/ /, "", $2); f=$2}
                       /^Model:/ {gsub(/ /, "", $2); mo=$2} END {printf "%s (family %s, model %s)", m, f, mo}')
source bench/openblas_core.sh
echo "CPU: $cpu; load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $openblas_note"
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo
echo "## tiny LM greedy decoding, batch 1, 127 tokens after a 1-byte prompt (tokens/s)"
echo "| round | heed kv-cache | heed --no-cache | PyTorch kv-cache | PyTorch no-cache |"
echo "|---|---|---|---|---|"
hc=() hu=() pc=() pu=()
for ((r = 1; r <= rounds; r++)); do
  h=$($bench --rounds 1 --tokens 127)
  p=$(/usr/bin/python3 bench/torch_decode.py 127)
  hc+=("$(echo "$h" | awk '/^heed kv-cache:/ {print $(NF-1)}')")
  hu+=("$(echo "$h" | awk '/^heed no-cache:/ {print $(NF-1)}')")
  pc+=("$(echo "$p" | awk '/^torch kv-cache:/ {print $(NF-1)}')")
  pu+=("$(echo "$p" | awk '/^torch no-cache:/ {print $(NF-1)}')")
  echo "| $r | ${hc[-1]} | ${hu[-1]} | ${pc[-1]} | ${pu[-1]} |"
done
mhc=$(printf '%s\n' "${hc[@]}" | median) mhu=$(printf '%s\n' "${hu[@]}" | median)
mpc=$(printf '%s\n' "${pc[@]}" | median) mpu=$(printf '%s\n' "${pu[@]}" | median)
echo "| median | $mhc | $mhu | $mpc | $mpu |"
awk -v a="$mhc" -v b="$mpc" -v c="$mhu" 'BEGIN {printf "heed kv-cache / PyTorch kv-cache: %.2fx; heed kv-cache / heed --no-cache: %.2fx\n", a/b, a/c}'

[ "${SKIP_G2P:-0}" = 1 ] && exit 0
echo
ckpt=${G2P_CKPT:-build/bench/g2p_decode_run}
if [ ! -e "$ckpt" ]; then
  echo "training $ckpt (400 steps of examples/g2p.heed, warm-up 100)"
  $heed train examples/g2p.heed --schedule-by steps --steps 400 --warmup 100 --eval-every 400 --eval-words 200 \
    --data examples/data/cmudict/train.tsv --valid examples/data/cmudict/dev.tsv --out "$ckpt" -q | tail -3
fi
words=()
[ -n "${G2P_WORDS:-}" ] && words=(--max-words "$G2P_WORDS")
echo "## heed eval $ckpt on examples/data/cmudict/dev.tsv ${words[*]} (whole command, compile included)"
base=${BASELINE_HEED:-}
if [ -n "$base" ]; then
  echo "baseline (\"today\"): $base --no-cache"
  echo "| decoding | cached s | --no-cache s | speed-up | baseline --no-cache s | speed-up vs baseline | WER / PER (all) |"
  echo "|---|---|---|---|---|---|---|"
else
  echo "| decoding | cached s | --no-cache s | speed-up | WER / PER (both) |"
  echo "|---|---|---|---|---|"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
timed() {  # timed BINARY OUT ARGS... -> seconds
  local s e
  s=$(date +%s.%N)
  "$1" eval "$ckpt" --data examples/data/cmudict/dev.tsv --json "${words[@]}" "${@:3}" > "$2"
  e=$(date +%s.%N)
  awk -v s="$s" -v e="$e" 'BEGIN {printf "%.1f", e - s}'
}
same() {  # same A.json B.json WHAT: the results must be byte-identical
  if ! cmp -s "$1" "$2"; then echo "$3 results differ (beam $beam):"; cat "$1" "$2"; exit 1; fi
}
for beam in 1 4; do
  tc=$(timed $heed "$tmp/c.json" --beam $beam)
  tu=$(timed $heed "$tmp/u.json" --beam $beam --no-cache)
  same "$tmp/c.json" "$tmp/u.json" "cached and --no-cache"
  rates=$(/usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print('%.2f%% / %.2f%%' % (100*j['wer'], 100*j['per']))" "$tmp/c.json")
  name=$([ $beam = 1 ] && echo greedy || echo "beam $beam")
  if [ -n "$base" ]; then
    tb=$(timed "$base" "$tmp/b.json" --beam $beam --no-cache)
    same "$tmp/c.json" "$tmp/b.json" "cached and baseline --no-cache"
    awk -v n="$name" -v a="$tc" -v b="$tu" -v c="$tb" -v r="$rates" \
      'BEGIN {printf "| %s | %s | %s | %.2fx | %s | %.2fx | %s |\n", n, a, b, b/a, c, c/a, r}'
  else
    awk -v n="$name" -v a="$tc" -v b="$tu" -v r="$rates" 'BEGIN {printf "| %s | %s | %s | %.2fx | %s |\n", n, a, b, b/a, r}'
  fi
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

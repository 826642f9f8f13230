#!/usr/bin/env bash
# Side-by-side: heed (compiled backend) vs PyTorch (Debian's python3-torch with
# OpenBLAS-OpenMP, 2 threads) on identical configurations, alternating A B A B.
# Prints a markdown table: ms/step, tokens/s, the ratio, matmul GFLOP/s, peak RSS,
# heed's compile time. Needs an idle machine for meaningful numbers.
#   bash bench/compare.sh [ROUNDS]        (default 2)
# BENCH_DROPOUT=0.1 trains both sides with dropout p = 0.1 where the examples have it
# (default 0); BENCH_BF16=0 skips the bf16 table.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
steps=${BENCH_STEPS:-10}
p_drop=${BENCH_DROPOUT:-0.0}
export OMP_WAIT_POLICY=passive
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "installing python3-torch and libopenblas0-openmp (Debian) for the PyTorch side"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    python3-torch libopenblas0-openmp >/dev/null
fi
bench=build/bench/heed_bench_step
[ -x $bench ] || { echo "build first: bash tools/build.sh"; exit 1; }
source bench/openblas_core.sh

declare -A heed_args=(
  [tiny]="examples/tiny_lm.heed --batch 16 --set p_drop=$p_drop"
  [small]="examples/tiny_lm.heed --batch 8 --set p_drop=$p_drop --set vocab=4096 --set d_model=256 --set layers=6 --set heads=8 --set seq=256"
  [g2p]="examples/translate.heed --batch 64 --set p_drop=$p_drop"
)

run() {  # run LABEL CMD... -> "ms tok/s gflops rss_mib compile_s"
  local out rss
  out=$( { /usr/bin/time -f 'RSS %M' "$@"; } 2>&1 )
  rss=$(echo "$out" | awk '/^RSS/ {print $2/1024}')
  echo "$out" | awk -v rss="$rss" '
    /ms\/step/ { for (i = 1; i <= NF; i++) { if ($i == "ms/step") ms = $(i-1); if ($i == "tok/s") tok = $(i-1);
                 if ($i == "GFLOP/s") gf = $(i-1); if ($i == "compile") c = $(i+1) } }
    END { printf "%s %s %s %s %s\n", ms, tok, (gf == "" ? "-" : gf), rss, (c == "" ? "-" : c) }'
}

# The ceiling: oneDNN sgemm 1024^3 on 2 threads, measured now, best of three runs: the first
# run on a cold VM measured 68.65 GFLOP/s where the next ones gave 147-161 (Intel family 6
# model 167, 2026-12-02), which made the step "144% of the ceiling".
ceiling=$(for _ in 1 2 3; do build/bench/heed_bench_native --filter=1024 2>/dev/null; done |
  awk '$1 == "matmul" && $3 == "native" && $4 == 2 && $7 > best {best = $7} END {print best}')
echo "| config | heed ms/step | PyTorch ms/step | heed tok/s | PyTorch tok/s | ratio | heed GFLOP/s (matmul FLOPs / step time) | % of sgemm ceiling | heed RSS MiB | PyTorch RSS MiB | heed compile s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for cfg in tiny small g2p; do
  best_h="" best_p=""
  for ((r = 0; r < rounds; r++)); do
    h=$(run $bench ${heed_args[$cfg]} --steps "$steps" --backend compiled)
    p=$(run /usr/bin/python3 bench/torch_models.py "$cfg" --steps "$steps" --dropout "$p_drop")
    # keep the faster round of each (least disturbed by other load)
    if [ -z "$best_h" ] || awk -v a="${h%% *}" -v b="${best_h%% *}" 'BEGIN{exit !(a<b)}'; then best_h=$h; fi
    if [ -z "$best_p" ] || awk -v a="${p%% *}" -v b="${best_p%% *}" 'BEGIN{exit !(a<b)}'; then best_p=$p; fi
  done
  read -r hm ht hg hr hc <<<"$best_h"
  read -r pm pt pg pr pc <<<"$best_p"
  ratio=$(awk -v a="$ht" -v b="$pt" 'BEGIN{printf "%.2f", a/b}')
  pct=$(awk -v g="$hg" -v c="$ceiling" 'BEGIN{printf "%.0f%%", 100*g/c}')
  printf "| %s | %.1f | %.1f | %.0f | %.0f | %.2fx | %s | %s | %.0f | %.0f | %s |\n" \
    "$cfg" "$hm" "$pm" "$ht" "$pt" "$ratio" "$hg" "$pct" "$hr" "$pr" "$hc"
done

# bf16 mixed precision (docs/PRECISION.md): heed --precision bf16 against heed fp32 and
# PyTorch under torch.autocast("cpu", dtype=torch.bfloat16), alternating; n/a on a
# host without avx512_bf16 (heed refuses bf16 there). BENCH_BF16=0 skips it.
if [ "${BENCH_BF16:-1}" != 0 ]; then
  echo
  echo "| config | heed fp32 ms/step | heed bf16 ms/step | PyTorch autocast bf16 ms/step | heed bf16 / heed fp32 speed-up | heed bf16 vs PyTorch bf16 |"
  echo "|---|---|---|---|---|---|"
  for cfg in tiny small g2p; do
    if ! grep -qw avx512_bf16 /proc/cpuinfo; then
      echo "| $cfg | n/a | n/a | n/a | n/a (no avx512_bf16) | n/a |"
      continue
    fi
    best_f="" best_b="" best_t=""
    for ((r = 0; r < rounds; r++)); do
      f=$(run $bench ${heed_args[$cfg]} --steps "$steps" --backend compiled)
      b=$(run $bench ${heed_args[$cfg]} --steps "$steps" --backend compiled --precision bf16)
      t=$(run /usr/bin/python3 bench/torch_models.py "$cfg" --steps "$steps" --dropout "$p_drop" --autocast)
      if [ -z "$best_f" ] || awk -v a="${f%% *}" -v b="${best_f%% *}" 'BEGIN{exit !(a<b)}'; then best_f=$f; fi
      if [ -z "$best_b" ] || awk -v a="${b%% *}" -v b="${best_b%% *}" 'BEGIN{exit !(a<b)}'; then best_b=$b; fi
      if [ -z "$best_t" ] || awk -v a="${t%% *}" -v b="${best_t%% *}" 'BEGIN{exit !(a<b)}'; then best_t=$t; fi
    done
    fm=${best_f%% *} bm=${best_b%% *} tm=${best_t%% *}
    printf "| %s | %.1f | %.1f | %.1f | %.2fx | %.2fx |\n" "$cfg" "$fm" "$bm" "$tm" \
      "$(awk -v a="$fm" -v b="$bm" 'BEGIN{print a/b}')" "$(awk -v a="$tm" -v b="$bm" 'BEGIN{print a/b}')"
  done
fi
echo
echo "dropout p = $p_drop on both sides; sgemm ceiling (oneDNN 1024^3, 2 threads): $ceiling GFLOP/s"
# Hosts of one machine kind differ (the ratio depends on the CPU): name it.
cpu=$(lscpu | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); m=$2} /^CPU family/ {gsub(/ /, "", $2); f=$2}
                       /^Model:/ {gsub(/ /, "", $2); mo=$2} END {printf "%s (family %s, model %s)", m, f, mo}')
echo "cpu: $cpu"
echo "$openblas_note"
echo "machine: $(nproc) cores, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

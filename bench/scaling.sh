#!/bin/bash
# Data-parallel scaling on this machine (docs/SCALING.md): tokens/s of
# `heed train` as 1 process x 2 OpenMP threads and as `mpirun -np 2` x 1 thread,
# alternating, for the tiny and small configurations of bench/compare.sh; for
# the MPI runs the allreduce per step (issue, progress, wait) with the buckets'
# sums overlapping the backward (DDP's bucket sizes; for tiny also 256 KiB /
# 1 MiB buckets) and with every sum after the backward
# (HEED_OVERLAP_ALLREDUCE=0): the wait that overlap removes is what the
# backward hid. The models are compiled once (heed compile: the whole batch for
# one process, half of it for each of two), so the runs time training only.
#   bash bench/scaling.sh [STEPS] [ROUNDS] [CONFIGS]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-30} rounds=${2:-2} configs=${3:-tiny small}
heed=build/tools/heed
data=tests/lit/cli/Inputs/moby_train.txt
declare -A model=(
  [tiny]="examples/tiny_lm.heed"
  [small]="examples/tiny_lm.heed --set vocab=4096 --set d_model=256 --set layers=6 --set heads=8 --set seq=256"
)
declare -A batch=([tiny]=16 [small]=8)
export OMP_WAIT_POLICY=passive
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
rate() { sed -n 's/.* \([0-9.]*[kM]*\) tok\/s$/\1/p' "$1" | awk '/k$/ {print $1*1e3; next} /M$/ {print $1*1e6; next} {print $1}'; }
wait_ms() { sed -n 's/.* wait \([0-9.]*\) ms;.*/\1/p' "$1"; }
mpi() { OMP_NUM_THREADS=1 mpirun --allow-run-as-root --bind-to none -np 2 $heed train "$@"; }
echo "lscpu: $(lscpu | sed -n 's/^Model name: *//p'), family $(lscpu | sed -n 's/^CPU family: *//p'), model $(lscpu | sed -n 's/^Model: *//p'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
for name in $configs; do
  B=${batch[$name]}
  $heed compile ${model[$name]} --batch $B -o $t/$name-1.hx > /dev/null
  $heed compile ${model[$name]} --batch $((B / 2)) -o $t/$name-2.hx > /dev/null
  HEED_BUCKET_BYTES=262144,1048576 $heed compile ${model[$name]} --batch $((B / 2)) -o $t/$name-2s.hx > /dev/null
  for r in $(seq 1 "$rounds"); do
    args="--batch $B --steps $steps --log-every 1000 --eval-every 0 --data $data"
    OMP_NUM_THREADS=2 $heed train $t/$name-1.hx $args --out $t/a$r-$name > $t/a.out 2>&1
    mpi $t/$name-2.hx $args --out $t/b$r-$name > $t/b.out 2>&1
    HEED_OVERLAP_ALLREDUCE=0 mpi $t/$name-2.hx $args --out $t/c$r-$name > $t/c.out 2>&1
    mpi $t/$name-2s.hx $args --out $t/d$r-$name > $t/d.out 2>&1
    a=$(rate $t/a.out) b=$(rate $t/b.out) c=$(rate $t/c.out) d=$(rate $t/d.out)
    echo "$name round $r: np1x2threads $a tok/s; np2x1thread $b tok/s (ratio $(awk -v a=$a -v b=$b 'BEGIN{printf "%.2f", b/a}')), sums after the backward $c tok/s, 256K/1M buckets $d tok/s"
    for k in b c d; do
      echo "  $k: $(sed -n 's/^allreduce of \(.*\)$/\1/p' $t/$k.out)"
    done
    awk -v b="$(wait_ms $t/b.out)" -v c="$(wait_ms $t/c.out)" -v d="$(wait_ms $t/d.out)" \
      'BEGIN{printf "  wait hidden by the backward: DDP buckets %.0f%%, 256K/1M buckets %.0f%% (of the %.2f ms wait with every sum after the backward)\n", 100*(1-b/c), 100*(1-d/c), c}'
  done
done

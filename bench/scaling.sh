#!/bin/bash
# Data-parallel scaling on this machine (docs/SCALING.md): tokens/s of
# `heed train` as 1 process x 2 OpenMP threads and as `mpirun -np 2` x 1 thread,
# alternating, for the tiny and small configurations of bench/compare.sh, and
# the allreduce time per step of the MPI runs.
#   bash bench/scaling.sh [STEPS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-30} rounds=${2:-2}
heed=build/tools/heed
data=tests/lit/cli/Inputs/moby_train.txt
declare -A cfg=(
  [tiny]="examples/tiny_lm.heed --batch 16"
  [small]="examples/tiny_lm.heed --batch 8 --set vocab=4096 --set d_model=256 --set layers=6 --set heads=8 --set seq=256"
)
export OMP_WAIT_POLICY=passive
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
rate() { sed -n 's/.* \([0-9.]*[kM]*\) tok\/s$/\1/p' "$1" | awk '/k$/ {print $1*1e3; next} /M$/ {print $1*1e6; next} {print $1}'; }
for name in tiny small; do
  for r in $(seq 1 "$rounds"); do
    args="${cfg[$name]} --steps $steps --log-every 1000 --eval-every 0 --data $data"
    OMP_NUM_THREADS=2 $heed train $args --out $t/a$r-$name > $t/a.out 2>&1
    OMP_NUM_THREADS=1 mpirun --allow-run-as-root --bind-to none -np 2 $heed train $args --out $t/b$r-$name > $t/b.out 2>&1
    a=$(rate $t/a.out) b=$(rate $t/b.out)
    ar=$(sed -n 's/^allreduce of \(.*\)$/\1/p' $t/b.out)
    echo "$name round $r: np1x2threads $a tok/s, np2x1thread $b tok/s, ratio np2/np1 $(awk -v a=$a -v b=$b 'BEGIN{printf "%.2f", b/a}'); allreduce of $ar"
  done
done

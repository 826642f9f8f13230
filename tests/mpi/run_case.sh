#!/bin/bash
# One case of the --micro-batches / mpirun tests (tests/mpi/CMakeLists.txt):
#   run_case.sh CASE HEED SOURCE_DIR MPIEXEC
# "identical" below is bit for bit: the metrics rows (same_losses.py) and the
# checkpoint tensors and metadata apart from heed.micro_batches / heed.world_size
# (same_checkpoint.py).
set -euo pipefail
case_=$1 heed=$2 src=$3 mpiexec=${4:-mpirun}
in=$src/tests/lit/cli/Inputs
same=$in/same_losses.py
samec=$in/same_checkpoint.py
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
mpirun=("$mpiexec" --allow-run-as-root --oversubscribe --bind-to none)

# tiny_lm at small sizes, dropout on (its p_drop is 0.1).
tiny=($src/examples/tiny_lm.heed --set d_model=32 --set heads=2 --set layers=1 --set seq=16
      --lr 1e-4 --schedule constant --warmup 0 --log-every 1 --eval-every 10 --eval-batches 2
      --valid $in/moby_valid.txt)
# Every tiny run but the bad one uses batch 16.
tiny16=("${tiny[@]}" --batch 16 --data $in/moby_train.txt -q)
# The same settings without the model and its --set values (for an artifact).
opts16=("${tiny16[@]:9}")
# g2p with length buckets and validation (teacher-forced loss).
g2p=($src/examples/g2p.heed --schedule-by steps --set d_model=32 --set layers=1 --set heads=2 --set d_ff=64 --buckets "6 9"
     --schedule constant --lr 1e-4 --warmup 0 --batch 16 --eval-every 10 --log-every 1 --eval-words 0
     --data $in/g2p_train.tsv --valid $in/g2p_dev.tsv -q)

fail() { echo "FAIL: $*" >&2; exit 1; }
# The arguments after $1 without option $1 and its value (heed refuses an option given twice).
without() {
  local f=$1 skip=0 a
  shift
  for a in "$@"; do
    if [ $skip = 1 ]; then skip=0; elif [ "$a" = "$f" ]; then skip=1; else printf '%s\n' "$a"; fi
  done
}

case $case_ in
micro_vs_plain)
  # Against a plain run at the same global batch: 50 steps within 1e-5 relative
  # at lr 1e-4, on both backends (the dropout masks must be the whole batch's).
  for b in compiled reference; do
    "$heed" train "${tiny16[@]}" --steps 50 --backend $b --out $t/plain-$b > /dev/null
    "$heed" train "${tiny16[@]}" --steps 50 --backend $b --micro-batches 2 --out $t/m2-$b > /dev/null
    python3 $same $t/plain-$b/metrics.jsonl $t/m2-$b/metrics.jsonl 1e-5
  done
  "$heed" train "${g2p[@]}" --steps 50 --out $t/gplain > /dev/null
  "$heed" train "${g2p[@]}" --steps 50 --micro-batches 4 --out $t/gm4 > /dev/null
  python3 $same $t/gplain/metrics.jsonl $t/gm4/metrics.jsonl 1e-5
  ;;
micro_threads)
  # Bit-identical across thread counts.
  OMP_NUM_THREADS=1 "$heed" train "${tiny16[@]}" --steps 20 --micro-batches 2 --out $t/a > /dev/null
  OMP_NUM_THREADS=2 "$heed" train "${tiny16[@]}" --steps 20 --micro-batches 2 --out $t/b > /dev/null
  python3 $same $t/a/metrics.jsonl $t/b/metrics.jsonl
  cmp $t/a/ckpt-20.safetensors $t/b/ckpt-20.safetensors
  ;;
np2_tiny)
  "$heed" train "${tiny16[@]}" --steps 30 --micro-batches 2 --out $t/m2 > /dev/null
  "${mpirun[@]}" -np 2 "$heed" train "${tiny16[@]}" --steps 30 --out $t/np2 > /dev/null
  # Rank 0 alone prints, and shows the world size.
  "${mpirun[@]}" -np 2 "$heed" train "${tiny[@]}" --batch 16 --data $in/moby_train.txt --steps 2 --out $t/hdr > $t/hdr.out 2>&1
  [ "$(grep -c '^heed train: model' $t/hdr.out)" = 1 ] || { cat $t/hdr.out; fail "not one header"; }
  grep -q "data parallel, 2 processes: 2 slices of batch 8 per step" $t/hdr.out || { cat $t/hdr.out; fail "no world size"; }
  python3 $same $t/m2/metrics.jsonl $t/np2/metrics.jsonl
  python3 $samec $t/m2/ckpt-30.safetensors $t/np2/ckpt-30.safetensors
  ;;
np2_buckets)
  # Several gradient buckets (small ones) whose sums overlap the backward and each
  # other: still bit-identical to --micro-batches 2, on 4 ranks to 4, and to the
  # same run with the sums after the backward (HEED_OVERLAP_ALLREDUCE=0).
  export HEED_BUCKET_BYTES=4096,16384
  "$heed" train "${tiny16[@]}" --steps 10 --micro-batches 2 --out $t/m2 > /dev/null
  "${mpirun[@]}" -np 2 "$heed" train "${tiny16[@]}" --steps 10 --out $t/np2 > $t/np2.out
  grep -q "allreduce of .* gradient bytes in [3-9] buckets" $t/np2.out || { cat $t/np2.out; fail "not several buckets"; }
  python3 $same $t/m2/metrics.jsonl $t/np2/metrics.jsonl
  python3 $samec $t/m2/ckpt-10.safetensors $t/np2/ckpt-10.safetensors
  HEED_OVERLAP_ALLREDUCE=0 "${mpirun[@]}" -np 2 "$heed" train "${tiny16[@]}" --steps 10 --out $t/after > $t/after.out
  grep -q "in 1 buckets" $t/after.out || { cat $t/after.out; fail "HEED_OVERLAP_ALLREDUCE=0 still bucketed"; }
  cmp $t/np2/ckpt-10.safetensors $t/after/ckpt-10.safetensors
  "$heed" train "${tiny16[@]}" --steps 10 --micro-batches 4 --out $t/m4 > /dev/null
  "${mpirun[@]}" -np 4 "$heed" train "${tiny16[@]}" --steps 10 --out $t/np4 > /dev/null
  python3 $same $t/m4/metrics.jsonl $t/np4/metrics.jsonl
  python3 $samec $t/m4/ckpt-10.safetensors $t/np4/ckpt-10.safetensors
  # The reference backend sums after the backward, with the same result.
  "$heed" train "${tiny16[@]}" --steps 5 --backend reference --micro-batches 2 --out $t/rm2 > /dev/null
  "${mpirun[@]}" -np 2 "$heed" train "${tiny16[@]}" --steps 5 --backend reference --out $t/rnp2 > /dev/null
  python3 $same $t/rm2/metrics.jsonl $t/rnp2/metrics.jsonl
  python3 $samec $t/rm2/ckpt-5.safetensors $t/rnp2/ckpt-5.safetensors
  ;;
np2_micro2)
  # 2 processes x 2 micro-batches = 4 slices: bit-identical to --micro-batches 4.
  "$heed" train "${tiny16[@]}" --steps 20 --micro-batches 4 --out $t/m4 > /dev/null
  "${mpirun[@]}" -np 2 "$heed" train "${tiny16[@]}" --steps 20 --micro-batches 2 --out $t/np2m2 > /dev/null
  "${mpirun[@]}" -np 2 "$heed" train "${tiny[@]}" --batch 16 --data $in/moby_train.txt --micro-batches 2 --steps 1 \
    --out $t/hdr > $t/out 2>&1
  grep -q "data parallel, 2 processes x 2 micro-batches: 4 slices of batch 4 per step" $t/out || { cat $t/out; fail "no header"; }
  python3 $same $t/m4/metrics.jsonl $t/np2m2/metrics.jsonl
  python3 $samec $t/m4/ckpt-20.safetensors $t/np2m2/ckpt-20.safetensors
  rc=0
  mapfile -t tinyb < <(without --batch "${tiny16[@]}")
  "${mpirun[@]}" -np 2 "$heed" train "${tinyb[@]}" --batch 12 --micro-batches 4 --steps 2 --out $t/bad > $t/out 2>&1 || rc=$?
  [ $rc -ne 0 ] || fail "batch 12 in 2 processes x 4 micro-batches was accepted"
  grep -q "error: the batch of 12 does not split into 2 processes x 4 micro-batches" $t/out || { cat $t/out; fail "no batch error"; }
  ;;
np2_valid)
  # Sharded validation (3 batches: rank 0 scores 0 and 2, rank 1 scores 1) equals
  # the single-process validation of --micro-batches 2, bit for bit.
  mapfile -t tv < <(without --eval-every "${tiny16[@]}")
  mapfile -t tv < <(without --eval-batches "${tv[@]}")
  "$heed" train "${tv[@]}" --steps 10 --eval-every 5 --eval-batches 3 --micro-batches 2 --out $t/m2 > /dev/null
  "${mpirun[@]}" -np 2 "$heed" train "${tv[@]}" --steps 10 --eval-every 5 --eval-batches 3 --out $t/np2 > /dev/null
  [ "$(grep -c valid_loss $t/np2/metrics.jsonl)" = 2 ] || fail "no validation rows"
  python3 $same $t/m2/metrics.jsonl $t/np2/metrics.jsonl
  # g2p: the teacher-forced loss, sharded, and the greedy decoding on rank 0.
  mapfile -t gw < <(without --eval-words "${g2p[@]}")
  "$heed" train "${gw[@]}" --steps 10 --eval-words 8 --micro-batches 2 --out $t/g2 > /dev/null
  "${mpirun[@]}" -np 2 "$heed" train "${gw[@]}" --steps 10 --eval-words 8 --out $t/gnp2 > /dev/null
  python3 $same $t/g2/metrics.jsonl $t/gnp2/metrics.jsonl
  grep -q valid_wer $t/gnp2/metrics.jsonl || fail "no WER row"
  [ "$(grep valid_wer $t/g2/metrics.jsonl | sed 's/.*valid_wer//')" = "$(grep valid_wer $t/gnp2/metrics.jsonl | sed 's/.*valid_wer//')" ] ||
    fail "WER differs"
  ;;
np2_artifact)
  # A compiled artifact (at the slice's batch) under mpirun: bit-identical to
  # the artifact trained in 2 micro-batches in one process.
  "$heed" compile $src/examples/tiny_lm.heed --set d_model=32 --set heads=2 --set layers=1 --set seq=16 \
    --batch 8 -o $t/lm.hx > /dev/null
  "$heed" train $t/lm.hx "${opts16[@]}" --steps 10 --micro-batches 2 --out $t/m2 > /dev/null
  "${mpirun[@]}" -np 2 "$heed" train $t/lm.hx "${opts16[@]}" --steps 10 --out $t/np2 > /dev/null
  python3 $same $t/m2/metrics.jsonl $t/np2/metrics.jsonl
  python3 $samec $t/m2/ckpt-10.safetensors $t/np2/ckpt-10.safetensors
  rc=0
  mapfile -t ob < <(without --batch "${opts16[@]}")
  "${mpirun[@]}" -np 2 "$heed" train $t/lm.hx "${ob[@]}" --batch 8 --steps 2 --out $t/bad > $t/out 2>&1 || rc=$?
  [ $rc -ne 0 ] || fail "an artifact of batch 8 on 2 processes at batch 8 was accepted"
  grep -q "error: '.*lm.hx' was compiled for batch 8; trained in 2 slices .* so the batch is 16, not 8" $t/out ||
    { cat $t/out; fail "no artifact batch error"; }
  [ "$(grep -c '^error:' $t/out)" = 1 ] || { cat $t/out; fail "not exactly one error line"; }
  ;;
np2_g2p)
  "$heed" train "${g2p[@]}" --steps 30 --micro-batches 2 --out $t/m2 > /dev/null
  "${mpirun[@]}" -np 2 "$heed" train "${g2p[@]}" --steps 30 --out $t/np2 > /dev/null
  python3 $same $t/m2/metrics.jsonl $t/np2/metrics.jsonl
  python3 $samec $t/m2/ckpt-30.safetensors $t/np2/ckpt-30.safetensors
  ;;
np4_tiny)
  # Rank-order sums: 4 processes equal 4 micro-batches bit for bit.
  "$heed" train "${tiny16[@]}" --steps 20 --micro-batches 4 --out $t/m4 > /dev/null
  "${mpirun[@]}" -np 4 "$heed" train "${tiny16[@]}" --steps 20 --out $t/np4 > /dev/null
  python3 $same $t/m4/metrics.jsonl $t/np4/metrics.jsonl
  python3 $samec $t/m4/ckpt-20.safetensors $t/np4/ckpt-20.safetensors
  ;;
resume)
  # Interrupted (SIGINT to rank 1 only: a collective stop) and resumed equals uninterrupted.
  "${mpirun[@]}" -np 2 "$heed" train "${tiny16[@]}" --steps 30 --out $t/full > /dev/null
  "${mpirun[@]}" -np 2 "$heed" train "${tiny16[@]}" --steps 20 --out $t/split > /dev/null
  "${mpirun[@]}" -np 2 "$heed" train "${tiny16[@]}" --steps 30 --out $t/split --resume > /dev/null
  python3 $same $t/full/metrics.jsonl $t/split/metrics.jsonl
  python3 $samec $t/full/ckpt-30.safetensors $t/split/ckpt-30.safetensors
  # Another process count on resume is allowed: 2 processes to step 20, then 4
  # equals 2 micro-batches to step 20, then 4.
  "$heed" train "${tiny16[@]}" --steps 20 --micro-batches 2 --out $t/mm > /dev/null
  "$heed" train "${tiny16[@]}" --steps 30 --micro-batches 4 --out $t/mm --resume > /dev/null
  "${mpirun[@]}" -np 2 "$heed" train "${tiny16[@]}" --steps 20 --out $t/x > /dev/null
  "${mpirun[@]}" -np 4 "$heed" train "${tiny16[@]}" --steps 30 --out $t/x --resume > /dev/null
  python3 $same $t/mm/metrics.jsonl $t/x/metrics.jsonl
  python3 $samec $t/mm/ckpt-30.safetensors $t/x/ckpt-30.safetensors
  ;;
interrupt)
  # Ctrl-C reaching one rank only (SIGINT to rank 1) stops both after the same
  # step with a checkpoint (exit 130); --resume then equals an uninterrupted run
  # (without validation: an interrupted run validates at the step it stops at).
  nv=()
  for a in "${tiny16[@]}"; do [ "$a" = --valid ] || [ "$a" = $in/moby_valid.txt ] || nv+=("$a"); done
  tiny16=("${nv[@]}")
  "${mpirun[@]}" -np 2 "$heed" train "${tiny16[@]}" --steps 400 --checkpoint-every 1000 --out $t/full > /dev/null
  "${mpirun[@]}" -np 2 "$heed" train "${tiny16[@]}" --steps 400 --checkpoint-every 1000 --out $t/run > $t/run.out 2>&1 &
  job=$!
  for _ in $(seq 1 600); do [ -s $t/run/metrics.jsonl ] && break; sleep 0.1; done
  for p in $(pgrep -P $job); do
    tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && kill -INT $p
  done
  rc=0
  wait $job || rc=$?
  [ $rc -eq 130 ] || { cat $t/run.out; fail "interrupted job exited $rc, not 130"; }
  name=$(cat $t/run/latest)
  echo "interrupted at $name"
  "${mpirun[@]}" -np 2 "$heed" train "${tiny16[@]}" --steps 400 --checkpoint-every 1000 --out $t/run --resume > /dev/null
  python3 $same $t/full/metrics.jsonl $t/run/metrics.jsonl
  python3 $samec $t/full/ckpt-400.safetensors $t/run/ckpt-400.safetensors
  ;;
kill)
  # SIGKILL of one rank ends the job: non-zero, within seconds, `latest` names a
  # complete checkpoint, and --resume continues from it.
  "${mpirun[@]}" -np 2 "$heed" train "${tiny16[@]}" --steps 1000000 --checkpoint-every 20 \
    --out $t/run > $t/run.out 2>&1 &
  job=$!
  for _ in $(seq 1 600); do [ -f $t/run/latest ] && break; sleep 0.1; done
  [ -f $t/run/latest ] || { cat $t/run.out; fail "no checkpoint after 60 s"; }
  victim=""
  for p in $(pgrep -P $job); do
    if tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then victim=$p; fi
  done
  [ -n "$victim" ] || fail "rank 1 not found among the children of mpirun"
  kill -KILL $victim
  t0=$(date +%s)
  rc=0
  wait $job || rc=$?
  dt=$(( $(date +%s) - t0 ))
  [ $rc -ne 0 ] || fail "mpirun exited 0 after a rank was killed"
  [ $dt -le 20 ] || fail "the job took $dt s to end after a rank was killed"
  name=$(cat $t/run/latest)
  [ -f "$t/run/$name" ] || fail "latest names '$name', which does not exist"
  case $name in *.tmp*) fail "latest names a temporary";; esac
  step=${name#ckpt-}; step=${step%.safetensors}
  "${mpirun[@]}" -np 2 "$heed" train "${tiny16[@]}" --steps $((step + 5)) --out $t/run --resume > /dev/null
  [ -f $t/run/ckpt-$((step + 5)).safetensors ] || fail "resume did not reach step $((step + 5))"
  echo "killed rank 1: mpirun exited $rc after ${dt}s; resumed from $name"
  ;;
mismatch)
  # One rank with other --set values: refused before step 1, with one error.
  rc=0
  "${mpirun[@]}" -np 1 "$heed" train "${tiny16[@]}" --steps 5 --out $t/mm : \
    -np 1 "$heed" train "${tiny16[@]}" --set d_ff=96 --steps 5 --out $t/mm > $t/out 2>&1 || rc=$?
  [ $rc -ne 0 ] || fail "a mismatched rank was accepted"
  grep -q "error: rank 1 of this mpirun job trains a different model, --set overrides or settings than rank 0" $t/out ||
    { cat $t/out; fail "no mismatch error"; }
  [ "$(grep -c '^error:' $t/out)" = 1 ] || { cat $t/out; fail "not exactly one error line"; }
  [ ! -f $t/mm/latest ] || fail "a checkpoint was written"
  ;;
diverge_nan)
  # A NaN is replayed by rank 0 over every slice and reported once; so is a divergence.
  rc=0
  "${mpirun[@]}" -np 2 "$heed" train $in/nan_forward.heed --data $in/moby_train.txt --batch 2 --steps 3 -q \
    --out $t/n > $t/out 2>&1 || rc=$?
  [ $rc -ne 0 ] || fail "a NaN run exited 0"
  grep -q "^error: loss is not finite at step 1" $t/out || { cat $t/out; fail "no non-finite loss error"; }
  grep -q "nan_forward.heed:6:5: error: sqrt produced NaN in the forward of step 1" $t/out || { cat $t/out; fail "not located"; }
  grep -q "(slice 1 of 2 of the batch)" $t/out || { cat $t/out; fail "no slice"; }
  [ "$(grep -c '^error:' $t/out)" = 1 ] || { cat $t/out; fail "not exactly one error line"; }
  rc=0
  "${mpirun[@]}" -np 2 "$heed" train $src/examples/tiny_lm.heed --set d_model=32 --set heads=2 --set layers=1 \
    --set seq=16 --batch 4 --lr 1e3 --schedule constant --warmup 1 --steps 10 --data $in/moby_train.txt -q \
    --out $t/dv > $t/out 2>&1 || rc=$?
  [ $rc -ne 0 ] || fail "a diverging run exited 0"
  grep -q "^error: training diverged at step 2: " $t/out || { cat $t/out; fail "no divergence error"; }
  grep -q "tiny_lm.heed:[0-9]*:[0-9]*: error: [a-z_]* is where the values blow up in the forward of step 2" $t/out ||
    { cat $t/out; fail "divergence not located"; }
  grep -q "^note: the parameter with the largest update-to-weight ratio is '" $t/out || { cat $t/out; fail "no update ratio"; }
  [ "$(grep -c '^error:' $t/out)" = 1 ] || { cat $t/out; fail "not exactly one error line"; }
  ;;
bad_setup)
  # A batch the processes do not divide: one error, not one per rank.
  rc=0
  "${mpirun[@]}" -np 2 "$heed" train "${tiny[@]}" --data $in/moby_train.txt --batch 7 -q --steps 5 --out $t/b > $t/out 2>&1 || rc=$?
  [ $rc -ne 0 ] || fail "batch 7 on 2 processes was accepted"
  grep -q "error: the batch of 7 does not split into 2 processes" $t/out || { cat $t/out; fail "no batch error"; }
  [ "$(grep -c '^error:' $t/out)" = 1 ] || { cat $t/out; fail "not exactly one error line"; }
  # A rank that cannot read the data: that rank's error, once, naming the rank.
  rc=0
  "${mpirun[@]}" -np 1 "$heed" train "${tiny16[@]}" --steps 5 --out $t/d : \
    -np 1 "$heed" train "${tiny[@]}" --batch 16 --data $t/missing.txt -q --steps 5 --out $t/d > $t/out 2>&1 || rc=$?
  [ $rc -ne 0 ] || fail "a rank without data was accepted"
  grep -q "^error: rank 1 of 2: .*missing.txt" $t/out || { cat $t/out; fail "no error naming rank 1"; }
  [ "$(grep -c '^error:' $t/out)" = 1 ] || { cat $t/out; fail "not exactly one error line"; }
  ;;
*)
  fail "unknown case $case_"
  ;;
esac
echo "ok: $case_"

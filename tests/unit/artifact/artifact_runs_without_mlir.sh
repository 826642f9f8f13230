#!/bin/bash
# usage: artifact_runs_without_mlir.sh HEED ARTIFACT_LOSSES JIT_LOSSES MODEL WORKDIR
# heed compile writes an artifact; a program linked only against heed_artifact
# (no MLIR, no LLVM: checked with ldd) loads it and trains 3 steps; its losses
# must equal the JIT compiled backend's on the same model. Its attention runs as
# the fused sdpa / sdpa_grad library calls (checked in the manifest).
set -euo pipefail
heed=$1 art=$2 jit=$3 model=$4 work=$5
sets=(--set d_model=32 --set layers=1 --set heads=2 --set seq=16 --set d_ff=64 --set p_drop=0.1)
rm -rf "$work" && mkdir -p "$work"
"$heed" compile "$model" --batch 2 "${sets[@]}" -o "$work/model.hx" > "$work/compile.out"

if ldd "$art" | grep -Ei 'libMLIR|libLLVM'; then
  echo "FAIL: $art links MLIR or LLVM"; exit 1
fi
if ldd "$work/model.hx/kernels.so" | grep -Ei 'libMLIR|libLLVM'; then
  echo "FAIL: kernels.so links MLIR or LLVM"; exit 1
fi
if nm -C "$art" | grep -q ' mlir::'; then
  echo "FAIL: $art contains MLIR code"; exit 1
fi

# The attention layer runs as the fused library calls, forward and backward.
grep -q '"kind": *"sdpa"' "$work/model.hx/manifest.json" || { echo "FAIL: no sdpa call in the manifest"; exit 1; }
grep -q '"kind": *"sdpa_grad"' "$work/model.hx/manifest.json" || { echo "FAIL: no sdpa_grad call in the manifest"; exit 1; }
# The feed-forward layer's bias and ReLU run as post-ops of its first matmul.
grep -q '"act": *"relu"' "$work/model.hx/manifest.json" || { echo "FAIL: no matmul with a relu epilogue"; exit 1; }

"$art" "$work/model.hx" > "$work/artifact.txt"
"$jit" "$model" --batch 2 "${sets[@]}" > "$work/jit.txt"
cat "$work/artifact.txt"
[ "$(wc -l < "$work/artifact.txt")" -eq 4 ] || { echo "FAIL: expected 4 losses"; exit 1; }
# Same code, same kernels: equal up to float rounding (they are normally bit-identical).
paste "$work/artifact.txt" "$work/jit.txt" | awk '{
  a = $NF; n = NF / 2; b = $n;
  d = a - b; if (d < 0) d = -d; s = (b < 0 ? -b : b);
  if (d > 1e-6 * (s > 1 ? s : 1)) { print "FAIL: " $0; bad = 1 } }
  END { exit bad }'
echo "PASS: artifact losses equal the JIT backend's"

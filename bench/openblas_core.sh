# Sourced by the benchmarks that run PyTorch (compare.sh, decode.sh): which OpenBLAS kernels
# PyTorch's fp32 matmuls use.
#
# Debian's OpenBLAS 0.3.21 picks its kernels from the CPU's family and model, and it does not
# know every CPU of this machine kind: on an Intel Xeon of family 6, model 207 it falls back to
# its "Prescott" (SSE3) kernels, which made PyTorch fp32 there 3-4x slower than its AVX-512
# kernels and heed's lead look like 6x. A benchmark that flatters heed with a misdetected BLAS
# measures nothing, so unless the caller set OPENBLAS_CORETYPE, a generic pick on a CPU with
# AVX-512 or AVX2 is replaced by the best kernel set the CPU's flags allow; $openblas_note says
# which kernels ran (and what OpenBLAS detected), for the benchmark's footer.
openblas_detected=$(OPENBLAS_VERBOSE=2 /usr/bin/python3 -c 'import torch' 2>&1 | awk '/^Core:/ {print $2; exit}')
openblas_note="PyTorch's OpenBLAS kernels: ${OPENBLAS_CORETYPE:-${openblas_detected:-unknown}}"
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  case "$openblas_detected" in
    Prescott | Core2 | Penryn | Dunnington | Nehalem | Sandybridge | Katmai | Coppermine | Northwood | Banias | Atom)
      best=""
      if grep -qw avx512_bf16 /proc/cpuinfo; then best=Cooperlake
      elif grep -qw avx512f /proc/cpuinfo; then best=SkylakeX
      elif grep -qw avx2 /proc/cpuinfo; then best=Haswell
      fi
      if [ -n "$best" ]; then
        export OPENBLAS_CORETYPE=$best
        openblas_note="PyTorch's OpenBLAS kernels: $best (OPENBLAS_CORETYPE; it detected $openblas_detected on this CPU)"
      fi
      ;;
  esac
fi

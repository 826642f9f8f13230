#!/usr/bin/env bash
# Installs every package heed needs to build, test and run, from Debian 12's archive only.
# Idempotent: apt-get skips what is already there. Run as root (or with sudo).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache python3
  # LLVM / MLIR 19 (libMLIR.so, ODS tablegen, mlir-opt, lit + FileCheck)
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools
  # clang 19 + its runtime, for the libFuzzer target
  clang-19 libclang-rt-19-dev
  # oneDNN 2.6 (its CMake config needs the OpenCL dev packages)
  libdnnl-dev opencl-c-headers ocl-icd-opencl-dev
  # small libraries
  libfmt-dev libgtest-dev libgmock-dev libcli11-dev nlohmann-json3-dev zlib1g-dev
  # PyTorch 1.13 (+ numpy), the oracle of the export tests and the other side of bench/compare.sh
  python3-torch python3-numpy libopenblas0-openmp
  # an exported SentencePiece tokenizer in model.py (and its test)
  python3-sentencepiece
  # heed plot draws with gnuplot
  gnuplot-nox
  # tokenizers: SentencePiece 0.1.97 (found with pkg-config; the CLI spm_train for checks)
  pkg-config libsentencepiece-dev sentencepiece
  # OpenMPI: `mpirun -np N heed train` (runtime/dist/MpiCommunicator.cpp)
  libopenmpi-dev openmpi-bin
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"

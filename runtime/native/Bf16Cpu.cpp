//===- Bf16Cpu.cpp - can this process run bf16 matmuls? ------------------===//
//
// Three checks, any of which refuses bf16: the CPU's avx512_bf16 flag (cpuid),
// HEED_CPU_HIDE (a comma-separated list of flags to pretend are missing, so the
// refusal is testable on a CPU that has them), and oneDNN's effective ISA,
// which DNNL_MAX_CPU_ISA=AVX512_CORE caps below the bf16 kernels.
//
//===----------------------------------------------------------------------===//

#include "runtime/native/Bf16.h"

#include "runtime/Error.h"

#include <dnnl.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace heed::rt::native {

namespace {

bool hiddenByEnv(const std::string &flag) {
  const char *hide = std::getenv("HEED_CPU_HIDE");
  if (!hide) return false;
  std::stringstream ss(hide);
  std::string item;
  while (std::getline(ss, item, ','))
    if (item == flag) return true;
  return false;
}

/// /proc/cpuinfo's "model name", or "this CPU".
std::string cpuName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
    }
  return "this CPU";
}

}  // namespace

std::string bf16Unsupported() {
  if (hiddenByEnv("avx512_bf16"))
    return "the CPU's avx512_bf16 flag is hidden by HEED_CPU_HIDE=" + std::string(std::getenv("HEED_CPU_HIDE"));
  if (!__builtin_cpu_supports("avx512bf16"))
    return "the CPU (" + cpuName() + ") has no avx512_bf16 (AVX512_BF16 instructions; see the flags of /proc/cpuinfo)";
  const unsigned isa = (unsigned)dnnl::get_effective_cpu_isa();
  const unsigned need = (unsigned)dnnl::cpu_isa::avx512_core_bf16;
  if ((isa & need) != need)
    return "oneDNN is limited to an ISA without bf16 kernels (DNNL_MAX_CPU_ISA" +
           std::string(std::getenv("DNNL_MAX_CPU_ISA") ? "=" + std::string(std::getenv("DNNL_MAX_CPU_ISA")) : "") + ")";
  return "";
}

void requireBf16Cpu(const std::string &what) {
  std::string why = bf16Unsupported();
  if (!why.empty())
    throw Error(what + " needs a CPU with AVX512_BF16, and " + why +
                "; heed does not emulate bf16: use --precision fp32");
}

}  // namespace heed::rt::native

//===- Bf16.h - bf16 mixed-precision kernels (AVX512_BF16) ------*- C++ -*-===//
//
// The matmul of a program compiled at bf16 precision (runtime/Precision.h):
// both inputs rounded to bfloat16 (round-to-nearest-even, the same rounding as
// rt::roundToBf16 and so as the reference interpreter), multiplied by oneDNN's
// bf16 kernels (brg:avx512_core_bf16) with float32 accumulation, and written as
// float32. bf16 runs only on a CPU with AVX512_BF16: there is no slower
// emulation; requireBf16Cpu() says so before anything is compiled.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/native/Native.h"

#include <cstdint>
#include <string>

namespace heed::rt::native {

/// "" if this process can run bf16 matmuls, else why not: the CPU lacks the
/// avx512_bf16 flag, HEED_CPU_HIDE=avx512_bf16 hides it (for tests), or
/// oneDNN's ISA is capped below avx512_core_bf16 (DNNL_MAX_CPU_ISA).
std::string bf16Unsupported();

/// Throws rt::Error with bf16Unsupported()'s reason, naming `what` (e.g. "--precision bf16").
void requireBf16Cpu(const std::string &what);

/// Rounds n floats to bfloat16 bits (rt::toBf16Bits), threaded for large n.
void castToBf16(const float *x, uint16_t *y, int64_t n);

/// native::matmul (same layout, bias, activation, accumulate and batch strides)
/// with a and b rounded to bf16 first; c, bias and the accumulation are float32.
/// The rounded copies live in per-thread scratch buffers reused across calls.
void matmulBf16(const float *a, const float *b, float *c, int64_t batch, int64_t M, int64_t N,
                int64_t K, bool transA, bool transB, const float *bias, Act act, bool accumulate,
                int64_t batchStrideA, int64_t batchStrideB);

/// Drop the calling thread's bf16 matmul primitives, scratch buffers and weight shadows.
void clearMatmulBf16Cache();

/// Weights are rounded once per run, not at every matmul that reads them: the
/// param library call writes the bf16 shadow of the parameter's buffer
/// (writeBf16Shadow), and a matmul whose operand is that parameter reads it
/// (Bf16ShadowInputs). A shadow is only looked up for an operand that a param
/// call of the same run produced, so it is never stale; the optimizer updates
/// the float32 master weights after the last matmul of a step.
void writeBf16Shadow(const float *x, int64_t n);

/// While alive, matmulBf16 on this thread reads a (lhs) and/or b (rhs) from
/// their shadows instead of rounding them (falling back to rounding if none).
class Bf16ShadowInputs {
public:
  Bf16ShadowInputs(bool lhs, bool rhs);
  ~Bf16ShadowInputs();
  Bf16ShadowInputs(const Bf16ShadowInputs &) = delete;
  Bf16ShadowInputs &operator=(const Bf16ShadowInputs &) = delete;

private:
  bool saved_[2];
};

}  // namespace heed::rt::native

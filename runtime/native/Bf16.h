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

#include "runtime/native/Bf16Source.h"
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

/// The same matmul on inputs already rounded (bf16 bits, the layout of the
/// float32 operands they round).
void matmulBf16Rounded(const uint16_t *a, const uint16_t *b, float *c, int64_t batch, int64_t M,
                       int64_t N, int64_t K, bool transA, bool transB, const float *bias, Act act,
                       bool accumulate, int64_t batchStrideA, int64_t batchStrideB);

/// Drop the calling thread's bf16 matmul primitives, scratch buffers and copies.
void clearMatmulBf16Cache();

//===--- bf16 copies: each matmul input rounded once per run ---------------===//
//
// A float32 value that bf16 matmuls read is rounded once per run, not at every
// matmul: its bf16 copy is kept, on the calling thread, by the address of the
// float32 buffer. The producer writes it in the same pass as the float32
// result where it can (a param call: the weight's shadow; layer norm and the
// cross-entropy gradient: their results), otherwise the first matmul that reads
// the value rounds it; the later matmuls read the copy, and the last one drops
// it (weights' shadows stay, rewritten by the next run's param call). The
// schedule decides which operand does what (rt::assignBf16Inputs), so a copy is
// only read after a producer or a matmul of the same run wrote it: never stale.

/// The bf16 rounding of x[0, n) for operand `slot` (0: lhs, 1: rhs) of a matmul.
/// Copy falls back to rounding (and keeping) if no copy of n elements exists.
const uint16_t *bf16Input(const float *x, int64_t n, Bf16Source source, int slot);

/// The buffer a producer writes the bf16 copy of its result x[0, n) into
/// (created or reused; the buffers of dropped copies are recycled).
uint16_t *bf16CopyFor(const float *x, int64_t n);

/// The bf16 copy of x exists (with n elements): for tests.
bool hasBf16Copy(const float *x, int64_t n);

/// Forgets x's copy (its last matmul ran); its buffer is reused by later copies.
void dropBf16Copy(const float *x);

/// Weights: the param call writes x's copy (a shadow that is never dropped).
void writeBf16Shadow(const float *x, int64_t n);

/// x's shadow of n elements on this thread, or null (UpdateKernels::bf16Shadow:
/// the optimizer rewrites it as it updates x).
uint16_t *bf16ShadowOf(const float *x, int64_t n);

}  // namespace heed::rt::native

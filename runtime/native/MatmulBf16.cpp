//===- MatmulBf16.cpp - matmul with bf16 inputs, f32 accumulation ---------===//
//
// The bf16 path beside Matmul.cpp's float32 one (same layout and caching; see
// there). Each call rounds a and b into this thread's scratch buffers (one
// pass over each input, vectorised and threaded; a parameter operand is read
// from the bf16 shadow its param call wrote, Bf16.h), then runs a cached oneDNN
// matmul whose source and weights are bf16 and whose bias, destination and
// sum post-op are float32; on AVX512_BF16 oneDNN 2.6 dispatches it to
// brg:avx512_core_bf16 (check with DNNL_VERBOSE=1).
//
//===----------------------------------------------------------------------===//

#include "runtime/native/Bf16.h"

#include "runtime/Error.h"
#include "runtime/Precision.h"
#include "runtime/native/Dnnl.h"
#include "runtime/native/MatmulPrimitive.h"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace heed::rt::native {

using namespace detail;
using dnnl::memory;

namespace {

using MatmulBf16Entry = MatmulPrimitive;

thread_local PrimCache<13, MatmulBf16Entry> bf16Cache;
/// The rounded copies of a and b, reused by every call on this thread.
thread_local std::vector<uint16_t> scratchA, scratchB;
/// Parameters' bf16 copies, by the float32 buffer they round (writeBf16Shadow).
thread_local std::unordered_map<const float *, std::vector<uint16_t>> shadows;
/// Which operands of the next matmulBf16 calls have shadows (Bf16ShadowInputs).
thread_local bool shadowed[2] = {false, false};

MatmulBf16Entry makeMatmulBf16(int64_t batch, int64_t M, int64_t N, int64_t K, bool transA, bool transB,
                               bool hasBias, Act act, bool accumulate, int64_t sA, int64_t sB) {
  return makeMatmulPrimitive(memory::data_type::bf16, batch, M, N, K, transA, transB, hasBias, act, accumulate, sA,
                             sB);
}

// The same integer rounding as rt::toBf16Bits, compiled for AVX-512 so that it
// vectorises (bf16 only runs on CPUs that have AVX-512).
__attribute__((target("avx512f,avx512bw,avx512vl"))) void castChunk(const float *x, uint16_t *y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = toBf16Bits(x[i]);
}

/// Elements spanned by `batch` matrices of `elems` each, `stride` apart (0: one shared matrix).
int64_t spanOf(int64_t batch, int64_t elems, int64_t stride) {
  return stride == 0 || batch == 1 ? elems : (batch - 1) * stride + elems;
}

const uint16_t *castInto(std::vector<uint16_t> &buf, const float *x, int64_t n, bool shadow) {
  if (shadow)
    if (auto it = shadows.find(x); it != shadows.end() && (int64_t)it->second.size() >= n) return it->second.data();
  if ((int64_t)buf.size() < n) buf.resize(n);
  castToBf16(x, buf.data(), n);
  return buf.data();
}

}  // namespace

void castToBf16(const float *x, uint16_t *y, int64_t n) {
  constexpr int64_t kChunk = 1 << 14;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  if (n < kDnnlSerialElems || omp_get_max_threads() == 1) {
    castChunk(x, y, n);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t lo = c * kChunk, hi = std::min(n, lo + kChunk);
    castChunk(x + lo, y + lo, hi - lo);
  }
}

void writeBf16Shadow(const float *x, int64_t n) {
  std::vector<uint16_t> &s = shadows[x];
  s.resize(n);
  castToBf16(x, s.data(), n);
}

Bf16ShadowInputs::Bf16ShadowInputs(bool lhs, bool rhs) : saved_{shadowed[0], shadowed[1]} {
  shadowed[0] = lhs;
  shadowed[1] = rhs;
}
Bf16ShadowInputs::~Bf16ShadowInputs() {
  shadowed[0] = saved_[0];
  shadowed[1] = saved_[1];
}

void clearMatmulBf16Cache() {
  bf16Cache.clear();
  shadows.clear();
  std::vector<uint16_t>().swap(scratchA);
  std::vector<uint16_t>().swap(scratchB);
}

void matmulBf16(const float *a, const float *b, float *c, int64_t batch, int64_t M, int64_t N, int64_t K,
                bool transA, bool transB, const float *bias, Act act, bool accumulate, int64_t batchStrideA,
                int64_t batchStrideB) {
  if (batch < 0 || M < 0 || N < 0 || K < 0 || batchStrideA < 0 || batchStrideB < 0)
    throw Error(fmt::format("native bf16 matmul: negative size (batch {}, M {}, N {}, K {}, strides {}, {})", batch,
                            M, N, K, batchStrideA, batchStrideB));
  if (batch == 0 || M == 0 || N == 0) return;
  if (K == 0) {  // act(bias or 0): no input to round
    matmul(a, b, c, batch, M, N, K, transA, transB, bias, act, accumulate, batchStrideA, batchStrideB);
    return;
  }
  if (batch > 1 && batchStrideA == 0 && batchStrideB == 0) {
    // Both operands broadcast: oneDNN wants at least one real batch dim.
    for (int64_t i = 0; i < batch; ++i)
      matmulBf16(a, b, c + i * M * N, 1, M, N, K, transA, transB, bias, act, accumulate, 0, 0);
    return;
  }
  if (batch == 1) batchStrideA = batchStrideB = 1;  // irrelevant: keep the key canonical
  const uint16_t *a16 = castInto(scratchA, a, spanOf(batch, M * K, batch == 1 ? 0 : batchStrideA), shadowed[0]);
  const uint16_t *b16 = castInto(scratchB, b, spanOf(batch, K * N, batch == 1 ? 0 : batchStrideB), shadowed[1]);
  SerialIfSmall serial(2.0 * (double)batch * M * N * K < kDnnlSerialFlops);
  Key<13> key{{batch, M, N, K, transA, transB, bias != nullptr, (int64_t)act, accumulate, batchStrideA,
               batchStrideB, omp_get_max_threads(), 0}};
  MatmulBf16Entry &e = bf16Cache.get(key, [&] {
    return makeMatmulBf16(batch, M, N, K, transA, transB, bias != nullptr, act, accumulate, batchStrideA,
                          batchStrideB);
  });
  setHandle(e.a, a16);
  setHandle(e.b, b16);
  setHandle(e.c, c);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, e.a}, {DNNL_ARG_WEIGHTS, e.b}, {DNNL_ARG_DST, e.c}};
  if (bias) {
    setHandle(e.bias, bias);
    args.emplace(DNNL_ARG_BIAS, e.bias);
  }
  e.prim.execute(cpuStream(), args);
  cpuStream().wait();
}

}  // namespace heed::rt::native

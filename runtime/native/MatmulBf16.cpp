//===- MatmulBf16.cpp - matmul with bf16 inputs, f32 accumulation ---------===//
//
// The bf16 path beside Matmul.cpp's float32 one (same layout and caching; see
// there). The inputs' bf16 roundings come from bf16Input (Bf16.h): a copy that
// their producer or an earlier matmul of the run wrote, or one vectorised,
// threaded rounding pass into a copy or this thread's scratch. Then a cached oneDNN
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
/// The rounded copies of a and b of a matmul that keeps none, reused by every call on this thread.
thread_local std::vector<uint16_t> scratch[2];
/// bf16 copies by the float32 buffer they round (weights' shadows and
/// activations read by several matmuls), and the buffers of dropped copies.
thread_local std::unordered_map<const float *, std::vector<uint16_t>> copies;
thread_local std::vector<std::vector<uint16_t>> spare;

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

uint16_t *bf16CopyFor(const float *x, int64_t n) {
  auto [it, fresh] = copies.try_emplace(x);
  std::vector<uint16_t> &buf = it->second;
  if (fresh && !spare.empty()) {  // the smallest recycled buffer that fits, else the largest
    size_t best = 0;
    for (size_t i = 1; i < spare.size(); ++i) {
      const bool fits = (int64_t)spare[i].capacity() >= n, bestFits = (int64_t)spare[best].capacity() >= n;
      if (fits ? !bestFits || spare[i].capacity() < spare[best].capacity()
               : !bestFits && spare[i].capacity() > spare[best].capacity())
        best = i;
    }
    buf.swap(spare[best]);
    spare.erase(spare.begin() + (std::ptrdiff_t)best);
  }
  buf.resize(n);
  return buf.data();
}

uint16_t *bf16ShadowOf(const float *x, int64_t n) {
  auto it = copies.find(x);
  return it != copies.end() && (int64_t)it->second.size() == n ? it->second.data() : nullptr;
}

bool hasBf16Copy(const float *x, int64_t n) { return bf16ShadowOf(x, n) != nullptr; }

void dropBf16Copy(const float *x) {
  auto it = copies.find(x);
  if (it == copies.end()) return;
  spare.push_back(std::move(it->second));
  copies.erase(it);
}

void writeBf16Shadow(const float *x, int64_t n) { castToBf16(x, bf16CopyFor(x, n), n); }

const uint16_t *bf16Input(const float *x, int64_t n, Bf16Source source, int slot) {
  if (source == Bf16Source::Copy)
    if (auto it = copies.find(x); it != copies.end() && (int64_t)it->second.size() == n) return it->second.data();
  uint16_t *y;
  if (source == Bf16Source::Round) {
    std::vector<uint16_t> &buf = scratch[slot & 1];
    if ((int64_t)buf.size() < n) buf.resize(n);
    y = buf.data();
  } else {
    y = bf16CopyFor(x, n);
  }
  castToBf16(x, y, n);
  return y;
}

void clearMatmulBf16Cache() {
  bf16Cache.clear();
  copies.clear();
  spare.clear();
  for (std::vector<uint16_t> &s : scratch) std::vector<uint16_t>().swap(s);
}

namespace {
// Both entry points take the same sizes; a negative one is a caller's bug, named in words.
void checkSizes(int64_t batch, int64_t M, int64_t N, int64_t K, int64_t batchStrideA, int64_t batchStrideB) {
  if (batch < 0 || M < 0 || N < 0 || K < 0 || batchStrideA < 0 || batchStrideB < 0)
    throw Error(fmt::format("native bf16 matmul: negative size (batch {}, M {}, N {}, K {}, strides {}, {})", batch,
                            M, N, K, batchStrideA, batchStrideB));
}
}  // namespace

void matmulBf16(const float *a, const float *b, float *c, int64_t batch, int64_t M, int64_t N, int64_t K,
                bool transA, bool transB, const float *bias, Act act, bool accumulate, int64_t batchStrideA,
                int64_t batchStrideB) {
  checkSizes(batch, M, N, K, batchStrideA, batchStrideB);
  if (batch == 0 || M == 0 || N == 0) return;
  if (K == 0) {  // act(bias or 0): no input to round
    matmul(a, b, c, batch, M, N, K, transA, transB, bias, act, accumulate, batchStrideA, batchStrideB);
    return;
  }
  const int64_t sA = batch == 1 ? 0 : batchStrideA, sB = batch == 1 ? 0 : batchStrideB;
  matmulBf16Rounded(bf16Input(a, spanOf(batch, M * K, sA), Bf16Source::Round, 0),
                    bf16Input(b, spanOf(batch, K * N, sB), Bf16Source::Round, 1), c, batch, M, N, K, transA,
                    transB, bias, act, accumulate, batchStrideA, batchStrideB);
}

void matmulBf16Rounded(const uint16_t *a16, const uint16_t *b16, float *c, int64_t batch, int64_t M, int64_t N,
                       int64_t K, bool transA, bool transB, const float *bias, Act act, bool accumulate,
                       int64_t batchStrideA, int64_t batchStrideB) {
  checkSizes(batch, M, N, K, batchStrideA, batchStrideB);
  if (batch == 0 || M == 0 || N == 0) return;
  if (K == 0) {  // act(bias or 0): no input is read
    matmul(nullptr, nullptr, c, batch, M, N, K, transA, transB, bias, act, accumulate, batchStrideA, batchStrideB);
    return;
  }
  if (batch > 1 && batchStrideA == 0 && batchStrideB == 0) {
    // Both operands broadcast: oneDNN wants at least one real batch dim.
    for (int64_t i = 0; i < batch; ++i)
      matmulBf16Rounded(a16, b16, c + i * M * N, 1, M, N, K, transA, transB, bias, act, accumulate, 0, 0);
    return;
  }
  if (batch == 1) batchStrideA = batchStrideB = 1;  // irrelevant: keep the key canonical
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

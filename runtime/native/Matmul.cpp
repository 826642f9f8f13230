//===- Matmul.cpp - batched matmul on cached oneDNN primitives ------------===//
//
// One oneDNN matmul primitive per configuration (shapes, transposes, batch
// strides, bias, activation, accumulate, thread count), cached per thread with
// its memory objects; each call only swaps the data handles and executes.
//
// Layout: a is [bA, M, K] with strides {sA, K, 1} (or {sA, 1, M} if transA),
// b is [bB, K, N] with strides {sB, N, 1} (or {sB, 1, K} if transB); a batch
// stride of 0 becomes a batch dim of 1, which oneDNN broadcasts. Post-ops:
// eltwise (relu / gelu_erf) then, when accumulating, sum (C = C + act(AB + bias)).
//
//===----------------------------------------------------------------------===//

#include "runtime/Error.h"
#include "runtime/native/Dnnl.h"
#include "runtime/native/MatmulPrimitive.h"
#include "runtime/native/Native.h"

#include <fmt/format.h>
#include <omp.h>

#include <cmath>

namespace heed::rt::native {

using namespace detail;
using dnnl::memory;

MatmulPrimitive detail::makeMatmulPrimitive(memory::data_type inputs, int64_t batch, int64_t M, int64_t N, int64_t K,
                                            bool transA, bool transB, bool hasBias, Act act, bool accumulate,
                                            int64_t sA, int64_t sB) {
  const auto f32 = memory::data_type::f32;
  const int64_t bA = sA == 0 ? 1 : batch, bB = sB == 0 ? 1 : batch;
  if (bA == 1) sA = M * K;
  if (bB == 1) sB = K * N;
  memory::desc aMd({bA, M, K}, inputs, transA ? memory::dims{sA, 1, M} : memory::dims{sA, K, 1});
  memory::desc bMd({bB, K, N}, inputs, transB ? memory::dims{sB, 1, K} : memory::dims{sB, N, 1});
  memory::desc cMd({batch, M, N}, f32, memory::dims{M * N, N, 1});
  memory::desc biasMd = hasBias ? memory::desc({1, 1, N}, f32, memory::dims{N, N, 1}) : memory::desc();
  dnnl::post_ops ops;
  if (act == Act::Relu) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  if (act == Act::Gelu) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f);
  if (accumulate) ops.append_sum(1.f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  dnnl::matmul::desc desc(aMd, bMd, biasMd, cMd);
  dnnl::matmul::primitive_desc pd(desc, attr, cpuEngine());
  MatmulPrimitive e{dnnl::matmul(pd), userMemory(aMd), userMemory(bMd), memory(), userMemory(cMd)};
  if (hasBias) e.bias = userMemory(biasMd);
  return e;
}

namespace {

using MatmulEntry = MatmulPrimitive;

thread_local PrimCache<13, MatmulEntry> matmulCache;

MatmulEntry makeMatmul(int64_t batch, int64_t M, int64_t N, int64_t K, bool transA, bool transB,
                       bool hasBias, Act act, bool accumulate, int64_t sA, int64_t sB) {
  return makeMatmulPrimitive(memory::data_type::f32, batch, M, N, K, transA, transB, hasBias, act, accumulate, sA,
                             sB);
}

float applyAct(Act act, float v) {
  switch (act) {
  case Act::None: return v;
  case Act::Relu: return v > 0.f ? v : 0.f;
  case Act::Gelu: return 0.5f * v * (1.f + std::erf(v * 0.70710678118654752440f));
  }
  return v;
}

}  // namespace

void clearMatmulCache() { matmulCache.clear(); }

void matmul(const float *a, const float *b, float *c, int64_t batch, int64_t M, int64_t N,
            int64_t K, bool transA, bool transB, const float *bias, Act act, bool accumulate,
            int64_t batchStrideA, int64_t batchStrideB) {
  if (batch < 0 || M < 0 || N < 0 || K < 0 || batchStrideA < 0 || batchStrideB < 0)
    throw Error(fmt::format("native matmul: negative size (batch {}, M {}, N {}, K {}, strides "
                            "{}, {})",
                            batch, M, N, K, batchStrideA, batchStrideB));
  if (batch == 0 || M == 0 || N == 0) return;
  if (K == 0) {  // an empty contraction: act(bias or 0), which oneDNN rejects
    for (int64_t r = 0; r < batch * M; ++r)
      for (int64_t j = 0; j < N; ++j) {
        const float v = applyAct(act, bias ? bias[j] : 0.f);
        c[r * N + j] = accumulate ? c[r * N + j] + v : v;
      }
    return;
  }
  if (batch > 1 && batchStrideA == 0 && batchStrideB == 0) {
    // Both operands broadcast: oneDNN wants at least one real batch dim.
    for (int64_t i = 0; i < batch; ++i)
      matmul(a, b, c + i * M * N, 1, M, N, K, transA, transB, bias, act, accumulate, 0, 0);
    return;
  }
  if (batch == 1) batchStrideA = batchStrideB = 1;  // irrelevant: keep the key canonical
  SerialIfSmall serial(2.0 * (double)batch * M * N * K < kDnnlSerialFlops);
  Key<13> key{{batch, M, N, K, transA, transB, bias != nullptr, (int64_t)act, accumulate,
               batchStrideA, batchStrideB, omp_get_max_threads(), 0}};
  MatmulEntry &e = matmulCache.get(key, [&] {
    return makeMatmul(batch, M, N, K, transA, transB, bias != nullptr, act, accumulate,
                      batchStrideA, batchStrideB);
  });
  setHandle(e.a, a);
  setHandle(e.b, b);
  setHandle(e.c, c);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, e.a}, {DNNL_ARG_WEIGHTS, e.b}, {DNNL_ARG_DST, e.c}};
  if (bias) {
    setHandle(e.bias, bias);
    args.emplace(DNNL_ARG_BIAS, e.bias);
  }
  e.prim.execute(cpuStream(), args);
  cpuStream().wait();
}

}  // namespace heed::rt::native

//===- Matmul.cpp - batched matmul with broadcast batch dims --------------===//

#include "runtime/kernels/Broadcast.h"
#include "runtime/kernels/Reference.h"

#include <fmt/format.h>

#include <algorithm>

namespace heed::rt::ref {

using namespace detail;

namespace {

/// c[M, N] = a[M, K] @ b[K, N], all contiguous. i-k-j order: the inner loop runs
/// along contiguous rows of b and c and vectorises. Columns are processed in
/// blocks so that the c row block stays in L1 while b's rows stream past.
template <class T>
void gemm(const T *a, const T *b, T *c, int64_t M, int64_t K, int64_t N) {
  constexpr int64_t kBlockN = 1024;
  std::fill(c, c + M * N, T(0));
  for (int64_t j0 = 0; j0 < N; j0 += kBlockN) {
    const int64_t j1 = std::min(N, j0 + kBlockN);
    for (int64_t i = 0; i < M; ++i) {
      T *__restrict crow = c + i * N;
      const T *arow = a + i * K;
      for (int64_t k = 0; k < K; ++k) {
        const T aik = arow[k];
        const T *__restrict brow = b + k * N;
        for (int64_t j = j0; j < j1; ++j) crow[j] += aik * brow[j];
      }
    }
  }
}

}  // namespace

Tensor matmul(const Tensor &a, const Tensor &b) {
  const DType dt = expectFloat(a, "matmul", "a");
  expectDType(b, dt, "matmul", "b");
  if (a.rank() < 2 || b.rank() < 2)
    throw Error(fmt::format("matmul: operands must have rank >= 2, got {} and {}",
                            shapeToString(a.shape()), shapeToString(b.shape())));
  const int64_t M = a.dim(-2), K = a.dim(-1), K2 = b.dim(-2), N = b.dim(-1);
  if (K != K2)
    throw Error(fmt::format("matmul: contraction dims differ: {} @ {}", shapeToString(a.shape()),
                            shapeToString(b.shape())));
  Shape aBatch(a.shape().begin(), a.shape().end() - 2);
  Shape bBatch(b.shape().begin(), b.shape().end() - 2);
  Shape batch;
  try {
    batch = broadcastShapes(aBatch, bBatch, "matmul");
  } catch (const Error &) {
    throw Error(fmt::format("matmul: batch dims of {} and {} do not broadcast",
                            shapeToString(a.shape()), shapeToString(b.shape())));
  }
  Shape os = batch;
  os.push_back(M);
  os.push_back(N);
  Tensor out(dt, os);
  Strides sa = broadcastStrides(aBatch, batch, "matmul");
  Strides sb = broadcastStrides(bBatch, batch, "matmul");
  Strides sc = contiguousStrides(batch);
  for (auto &s : sa) s *= M * K;
  for (auto &s : sb) s *= K * N;
  for (auto &s : sc) s *= M * N;
  dispatchFloat(dt, [&](auto tag) {
    using T = decltype(tag);
    const T *pa = elems<T>(a);
    const T *pb = elems<T>(b);
    T *pc = elems<T>(out);
    forEachRow<3>(batch, {sc, sa, sb},
                  [&](const std::array<int64_t, 3> &off, const std::array<int64_t, 3> &st,
                      int64_t n) {
                    for (int64_t j = 0; j < n; ++j)
                      gemm(pa + off[1] + j * st[1], pb + off[2] + j * st[2],
                           pc + off[0] + j * st[0], M, K, N);
                  });
  });
  return out;
}

}  // namespace heed::rt::ref

//===- Embedding.cpp - gather and scatterAdd ------------------------------===//
//
// Ids are validated on the calling thread first (so errors throw normally),
// then the rows are copied / accumulated in parallel. scatterAdd buckets the
// positions by id (a stable counting sort) and gives each output row to one
// thread, which adds its positions in increasing order: the same additions in
// the same order as the reference, hence bit-identical for any thread count.
//
//===----------------------------------------------------------------------===//

#include "runtime/Error.h"
#include "runtime/native/Native.h"
#include "runtime/native/VecMath.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace heed::rt::native {

using namespace detail;

namespace {
void checkIds(const char *op, const int32_t *ids, int64_t n, int64_t V) {
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= V)
      throw Error(fmt::format("{}: id {} at flat position {} of {} ids is outside [0, {})", op,
                              ids[i], i, n, V));
}
}  // namespace

void gather(const float *table, const int32_t *ids, float *out, int64_t n, int64_t V,
            int64_t D) {
  checkIds("gather", ids, n, V);
  if (D <= 0) return;
  const size_t rowBytes = (size_t)D * sizeof(float);
#pragma omp parallel for schedule(static) if (n * D >= 4 * kParallelMin && n > 1)
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(out + i * D, table + (int64_t)ids[i] * D, rowBytes);
}

void scatterAdd(const float *dy, const int32_t *ids, float *out, int64_t n, int64_t V,
                int64_t D) {
  checkIds("scatter_add", ids, n, V);
  if (D <= 0 || V <= 0) return;
  // start[v] .. start[v+1] index order[] = the positions with id v, increasing.
  thread_local std::vector<int64_t> start, order;
  start.assign((size_t)V + 1, 0);
  order.resize((size_t)std::max<int64_t>(n, 1));
  for (int64_t i = 0; i < n; ++i) ++start[(size_t)ids[i] + 1];
  for (int64_t v = 0; v < V; ++v) start[v + 1] += start[v];
  {
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t i = 0; i < n; ++i) order[fill[ids[i]]++] = i;
  }
  const int64_t *st = start.data(), *ord = order.data();
#pragma omp parallel for schedule(static) if ((n + V) * D >= kParallelMin && V > 1)
  for (int64_t v = 0; v < V; ++v) {
    float *__restrict dst = out + v * D;
    std::fill(dst, dst + D, 0.0f);
    for (int64_t k = st[v]; k < st[v + 1]; ++k) {
      const float *__restrict src = dy + ord[k] * D;
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) dst[j] += src[j];
    }
  }
}

}  // namespace heed::rt::native

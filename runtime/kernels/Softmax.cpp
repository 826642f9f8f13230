//===- Softmax.cpp - softmax and log_softmax over one axis ----------------===//

#include "runtime/kernels/Broadcast.h"
#include "runtime/kernels/Reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace heed::rt::ref {

using namespace detail;

namespace {

/// View x as [outer, n, inner] around `axis`; for each (outer, inner) column
/// compute max, then sum(exp(x - max)) in double. The loops run over `inner`
/// contiguously, so both the last-axis case (inner == 1) and other axes are
/// cache-friendly.
template <class T>
void softmaxTyped(const Tensor &x, int64_t outer, int64_t n, int64_t inner, bool log,
                  Tensor &out) {
  const T *px = elems<T>(x);
  T *po = elems<T>(out);
  std::vector<T> mx((size_t)inner);
  std::vector<double> sum((size_t)inner);
  for (int64_t o = 0; o < outer; ++o) {
    const T *xb = px + o * n * inner;
    T *ob = po + o * n * inner;
    std::fill(mx.begin(), mx.end(), -std::numeric_limits<T>::infinity());
    std::fill(sum.begin(), sum.end(), 0.0);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t i = 0; i < inner; ++i) mx[i] = std::max(mx[i], xb[r * inner + i]);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t i = 0; i < inner; ++i) {
        T e = std::exp(xb[r * inner + i] - mx[i]);
        if (!log) ob[r * inner + i] = e;
        sum[i] += e;
      }
    if (log) {
      for (int64_t i = 0; i < inner; ++i) sum[i] = (double)mx[i] + std::log(sum[i]);
      for (int64_t r = 0; r < n; ++r)
        for (int64_t i = 0; i < inner; ++i)
          ob[r * inner + i] = (T)((double)xb[r * inner + i] - sum[i]);
    } else {
      for (int64_t i = 0; i < inner; ++i) sum[i] = 1.0 / sum[i];
      for (int64_t r = 0; r < n; ++r)
        for (int64_t i = 0; i < inner; ++i)
          ob[r * inner + i] = (T)(ob[r * inner + i] * sum[i]);
    }
  }
}

Tensor softmaxImpl(const Tensor &x, int64_t axis, bool log, const char *name) {
  const DType dt = expectFloat(x, name, "x");
  const int64_t ax = normAxis(axis, x.rank(), name);
  const Shape &xs = x.shape();
  const AxisSplit split = splitAtAxis(xs, ax);
  const int64_t outer = split.outer, n = split.n, inner = split.inner;
  Tensor out(dt, xs);
  if (n == 0) return out;
  dispatchFloat(dt, [&](auto tag) { softmaxTyped<decltype(tag)>(x, outer, n, inner, log, out); });
  return out;
}

}  // namespace

Tensor softmax(const Tensor &x, int64_t axis) { return softmaxImpl(x, axis, false, "softmax"); }

Tensor logSoftmax(const Tensor &x, int64_t axis) {
  return softmaxImpl(x, axis, true, "log_softmax");
}

}  // namespace heed::rt::ref

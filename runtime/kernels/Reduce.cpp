//===- Reduce.cpp - sum, mean, max over one axis --------------------------===//

#include "runtime/kernels/Broadcast.h"
#include "runtime/kernels/Reference.h"

#include <fmt/format.h>

#include <cmath>
#include <algorithm>
#include <limits>
#include <vector>

namespace heed::rt::ref {

using namespace detail;

namespace {

/// x viewed as [outer, n, inner]; reduces the middle dim into out [outer, inner].
template <class T>
void reduceTyped(ReduceKind kind, const Tensor &x, int64_t outer, int64_t n, int64_t inner,
                 Tensor &out) {
  const T *px = elems<T>(x);
  T *po = elems<T>(out);

  if (kind == ReduceKind::Max) {
    for (int64_t o = 0; o < outer; ++o) {
      T *m = po + o * inner;
      const T *base = px + o * n * inner;
      for (int64_t i = 0; i < inner; ++i) m[i] = base[i];
      for (int64_t r = 1; r < n; ++r) {
        const T *row = base + r * inner;
        for (int64_t i = 0; i < inner; ++i) {
          T v = row[i];
          if (v > m[i] || std::isnan(v)) m[i] = v;  // NaN sticks: nothing compares > NaN
        }
      }
    }
    return;
  }

  std::vector<double> acc((size_t)inner);
  const double scale = kind == ReduceKind::Mean ? 1.0 / (double)n : 1.0;
  for (int64_t o = 0; o < outer; ++o) {
    std::fill(acc.begin(), acc.end(), 0.0);
    const T *base = px + o * n * inner;
    if (inner == 1) {
      double s = 0.0;
      for (int64_t r = 0; r < n; ++r) s += base[r];
      acc[0] = s;
    } else {
      for (int64_t r = 0; r < n; ++r) {
        const T *row = base + r * inner;
        for (int64_t i = 0; i < inner; ++i) acc[i] += row[i];
      }
    }
    T *dst = po + o * inner;
    for (int64_t i = 0; i < inner; ++i) dst[i] = (T)(acc[i] * scale);
  }
}

}  // namespace

Tensor reduce(ReduceKind kind, const Tensor &x, int64_t axis, bool keepdim) {
  const char *name = kind == ReduceKind::Sum ? "sum" : kind == ReduceKind::Mean ? "mean" : "max";
  const DType dt = expectFloat(x, name, "x");
  const int64_t ax = normAxis(axis, x.rank(), name);
  const Shape &xs = x.shape();
  const AxisSplit split = splitAtAxis(xs, ax);
  const int64_t outer = split.outer, n = split.n, inner = split.inner;
  if (n == 0 && kind != ReduceKind::Sum)
    throw Error(fmt::format("{}: empty axis {} of {}", name, axis, shapeToString(xs)));

  Shape os = xs;
  if (keepdim)
    os[ax] = 1;
  else
    os.erase(os.begin() + ax);
  Tensor out(dt, os);
  dispatchFloat(dt, [&](auto tag) { reduceTyped<decltype(tag)>(kind, x, outer, n, inner, out); });
  return out;
}

}  // namespace heed::rt::ref

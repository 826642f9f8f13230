//===- Shape.cpp - transpose, reshape, broadcast, sum_to ------------------===//

#include "runtime/kernels/Broadcast.h"
#include "runtime/kernels/Reference.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace heed::rt::ref {

using namespace detail;

namespace {

/// dst (contiguous, shape `shape`) = src read with element strides `srcStrides`.
template <class T>
void stridedCopy(const T *src, const Strides &srcStrides, T *dst, const Shape &shape) {
  forEachRow<2>(shape, {contiguousStrides(shape), srcStrides},
                [&](const std::array<int64_t, 2> &off, const std::array<int64_t, 2> &st,
                    int64_t n) {
                  T *o = dst + off[0];
                  const T *s = src + off[1];
                  if (st[1] == 1)
                    std::memcpy(o, s, (size_t)n * sizeof(T));
                  else if (st[1] == 0)
                    std::fill(o, o + n, *s);
                  else
                    for (int64_t j = 0; j < n; ++j) o[j] = s[j * st[1]];
                });
}

/// Dispatch on the element size: the shape ops only move bits.
Tensor stridedCopyAny(const Tensor &x, const Strides &srcStrides, const Shape &shape) {
  Tensor out(x.dtype(), shape);
  switch (dtypeSize(x.dtype())) {
  case 1:
    stridedCopy(static_cast<const uint8_t *>(x.raw()), srcStrides,
                static_cast<uint8_t *>(out.raw()), shape);
    break;
  case 4:
    stridedCopy(static_cast<const uint32_t *>(x.raw()), srcStrides,
                static_cast<uint32_t *>(out.raw()), shape);
    break;
  case 8:
    stridedCopy(static_cast<const uint64_t *>(x.raw()), srcStrides,
                static_cast<uint64_t *>(out.raw()), shape);
    break;
  default: throw Error("stridedCopy: unsupported element size");
  }
  return out;
}

}  // namespace

Tensor transpose(const Tensor &x, const std::vector<int64_t> &perm) {
  if (!x.defined()) throw Error("transpose: undefined operand");
  const int64_t r = x.rank();
  bool ok = (int64_t)perm.size() == r;
  std::vector<bool> seen(r, false);
  for (int64_t p : perm) {
    if (!ok || p < 0 || p >= r || seen[p]) {
      ok = false;
      break;
    }
    seen[p] = true;
  }
  if (!ok)
    throw Error(fmt::format("transpose: perm [{}] is not a permutation of the dims of {}",
                            fmt::join(perm, ", "), shapeToString(x.shape())));
  Strides xs = contiguousStrides(x.shape());
  Shape os(r);
  Strides ss(r);
  for (int64_t i = 0; i < r; ++i) {
    os[i] = x.shape()[perm[i]];
    ss[i] = xs[perm[i]];
  }
  return stridedCopyAny(x, ss, os);
}

Tensor reshape(const Tensor &x, const Shape &shape) {
  if (!x.defined()) throw Error("reshape: undefined operand");
  if (numElements(shape) != x.size())
    throw Error(fmt::format("reshape: {} has {} elements, target {} has {}",
                            shapeToString(x.shape()), x.size(), shapeToString(shape),
                            numElements(shape)));
  return x.reshaped(shape);
}

Tensor broadcastTo(const Tensor &x, const Shape &shape) {
  if (!x.defined()) throw Error("broadcast: undefined operand");
  return stridedCopyAny(x, broadcastStrides(x.shape(), shape, "broadcast"), shape);
}

namespace {

template <class T>
void sumToTyped(const Tensor &x, const Strides &accStrides, Tensor &out) {
  const Shape &xs = x.shape();
  std::vector<double> acc((size_t)out.size(), 0.0);
  const T *px = elems<T>(x);
  double *pa = acc.data();
  forEachRow<2>(xs, {contiguousStrides(xs), accStrides},
                [&](const std::array<int64_t, 2> &off, const std::array<int64_t, 2> &st,
                    int64_t n) {
                  const T *s = px + off[0];
                  double *a = pa + off[1];
                  if (st[1] == 0) {
                    double sum = 0.0;
                    for (int64_t j = 0; j < n; ++j) sum += s[j];
                    *a += sum;
                  } else {
                    for (int64_t j = 0; j < n; ++j) a[j * st[1]] += s[j];
                  }
                });
  T *po = elems<T>(out);
  for (size_t i = 0; i < acc.size(); ++i) po[i] = (T)acc[i];
}

}  // namespace

Tensor sumTo(const Tensor &x, const Shape &shape) {
  const DType dt = expectFloat(x, "sum_to", "x");
  // `shape` must broadcast to x's shape (the inverse direction).
  Strides accStrides = broadcastStrides(shape, x.shape(), "sum_to");
  Tensor out(dt, shape);
  dispatchFloat(dt, [&](auto tag) { sumToTyped<decltype(tag)>(x, accStrides, out); });
  return out;
}

}  // namespace heed::rt::ref

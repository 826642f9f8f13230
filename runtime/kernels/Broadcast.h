//===- Broadcast.h - strided loop helpers (internal) ------------*- C++ -*-===//
//
// Not part of the public API: shared by the kernel .cpp files.
//
// forEachRow walks an N-operand strided iteration space row by row. Every
// operand k has an element stride per dimension of the iteration shape (0 for a
// broadcast dim). Size-1 dims are dropped and adjacent dims that are contiguous
// for every operand are merged, so e.g. a same-shape binary op is one row of
// numElements elements. The callback receives, per row, the operand offsets,
// the operand strides along the row, and the row length; the inner loop is then
// a plain (vectorisable) loop.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Error.h"
#include "runtime/Tensor.h"

#include <array>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace heed::rt::ref::detail {

using Strides = std::vector<int64_t>;

/// Row-major element strides of a contiguous tensor.
Strides contiguousStrides(const Shape &shape);

/// Strides to read a contiguous tensor of shape `in` as if broadcast to `out`
/// (aligned to out's rank; 0 on added or stretched dims). Throws if `in` does not
/// broadcast to `out`.
Strides broadcastStrides(const Shape &in, const Shape &out, const char *op);

/// Normalise a possibly negative axis; throws if out of range.
int64_t normAxis(int64_t axis, int64_t rank, const char *op);

/// A shape seen as [outer, n, inner] around axis `ax` (already normalized):
/// the layout every single-axis kernel (reductions, softmax) loops over.
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};
inline AxisSplit splitAtAxis(const Shape &s, int64_t ax) {
  AxisSplit a;
  for (int64_t i = 0; i < ax; ++i) a.outer *= s[i];
  for (int64_t i = ax + 1; i < (int64_t)s.size(); ++i) a.inner *= s[i];
  a.n = s[ax];
  return a;
}

/// Throws Error unless t is defined and has dtype `want`.
void expectDType(const Tensor &t, DType want, const char *op, const char *operand);

/// Throws Error unless t is defined and is f32 or f64; returns its dtype. The
/// other float operands of the same call are then checked with
/// expectDType(other, thatDType, ...), so mixing f32 and f64 throws.
DType expectFloat(const Tensor &t, const char *op, const char *operand);

/// Typed element pointers for the float kernels (T is float or double).
template <class T>
const T *elems(const Tensor &t) {
  if constexpr (std::is_same_v<T, double>)
    return t.f64();
  else
    return t.f32();
}
template <class T>
T *elems(Tensor &t) {
  if constexpr (std::is_same_v<T, double>)
    return t.f64();
  else
    return t.f32();
}

/// The DType of element type T (float or double).
template <class T>
constexpr DType floatDType() {
  return std::is_same_v<T, double> ? DType::F64 : DType::F32;
}

/// Calls f(T{}) with T = double for F64 and T = float otherwise (callers have
/// already checked that dt is a float dtype). Use with a generic lambda:
///   dispatchFloat(dt, [&](auto tag) { using T = decltype(tag); ... });
template <class F>
decltype(auto) dispatchFloat(DType dt, F &&f) {
  if (dt == DType::F64) return f(double{});
  return f(float{});
}

template <size_t N, class F>
void forEachRow(const Shape &shape, const std::array<Strides, N> &strides, F &&f) {
  int64_t total = numElements(shape);
  if (total == 0) return;
  Shape dims;
  std::vector<std::array<int64_t, N>> st;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    std::array<int64_t, N> s;
    for (size_t k = 0; k < N; ++k) s[k] = strides[k][d];
    if (!dims.empty()) {
      bool merge = true;
      for (size_t k = 0; k < N; ++k)
        if (st.back()[k] != s[k] * shape[d]) merge = false;
      if (merge) {
        dims.back() *= shape[d];
        st.back() = s;
        continue;
      }
    }
    dims.push_back(shape[d]);
    st.push_back(s);
  }
  std::array<int64_t, N> off{};
  if (dims.empty()) {
    std::array<int64_t, N> zero{};
    f(off, zero, int64_t(1));
    return;
  }
  const int64_t r = (int64_t)dims.size();
  const int64_t n = dims[r - 1];
  const std::array<int64_t, N> inner = st[r - 1];
  std::vector<int64_t> idx(r, 0);
  const int64_t rows = total / n;
  for (int64_t row = 0; row < rows; ++row) {
    f(off, inner, n);
    for (int64_t d = r - 2; d >= 0; --d) {
      ++idx[d];
      for (size_t k = 0; k < N; ++k) off[k] += st[d][k];
      if (idx[d] < dims[d]) break;
      for (size_t k = 0; k < N; ++k) off[k] -= st[d][k] * dims[d];
      idx[d] = 0;
    }
  }
}

}  // namespace heed::rt::ref::detail

//===- Embedding.cpp - gather, scatter_add, sinusoidal --------------------===//

#include "runtime/kernels/Broadcast.h"
#include "runtime/kernels/Reference.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace heed::rt::ref {

using namespace detail;

namespace {
[[noreturn]] void badId(const char *op, int32_t id, int64_t pos, int64_t rows,
                        const Shape &idsShape) {
  throw Error(fmt::format("{}: id {} at flat position {} of ids {} is outside [0, {})", op, id,
                          pos, shapeToString(idsShape), rows));
}

template <class T>
void scatterAddTyped(const Tensor &dy, const Tensor &ids, int64_t rows, int64_t D, Tensor &out) {
  const T *pd = elems<T>(dy);
  const int32_t *pi = ids.i32();
  T *po = elems<T>(out);
  for (int64_t i = 0, n = ids.size(); i < n; ++i) {
    const int32_t id = pi[i];
    if (id < 0 || id >= rows) badId("scatter_add", id, i, rows, ids.shape());
    T *__restrict dst = po + (int64_t)id * D;
    const T *__restrict src = pd + i * D;
    for (int64_t j = 0; j < D; ++j) dst[j] += src[j];
  }
}

template <class T>
void sinusoidalTyped(int64_t len, int64_t dim, Tensor &out) {
  T *po = elems<T>(out);
  // Frequencies per column pair, in double: 1 / 10000^(2i/dim).
  std::vector<double> freq((size_t)(dim + 1) / 2);
  for (int64_t i = 0; i < (int64_t)freq.size(); ++i)
    freq[i] = std::pow(10000.0, -(double)(2 * i) / (double)dim);
  for (int64_t p = 0; p < len; ++p) {
    T *row = po + p * dim;
    for (int64_t i = 0; i < (int64_t)freq.size(); ++i) {
      const double angle = (double)p * freq[i];
      row[2 * i] = (T)std::sin(angle);
      if (2 * i + 1 < dim) row[2 * i + 1] = (T)std::cos(angle);
    }
  }
}

}  // namespace

Tensor gather(const Tensor &table, const Tensor &ids) {
  const DType dt = expectFloat(table, "gather", "table");
  expectDType(ids, DType::I32, "gather", "ids");
  if (table.rank() != 2)
    throw Error(fmt::format("gather: table must be [V, D], got {}", shapeToString(table.shape())));
  const int64_t V = table.dim(0), D = table.dim(1);
  Shape os = ids.shape();
  os.push_back(D);
  Tensor out(dt, os);
  // Rows are copied as bytes, so one loop serves f32 and f64.
  const size_t rowBytes = (size_t)D * dtypeSize(dt);
  const uint8_t *pt = static_cast<const uint8_t *>(table.raw());
  const int32_t *pi = ids.i32();
  uint8_t *po = static_cast<uint8_t *>(out.raw());
  for (int64_t i = 0, n = ids.size(); i < n; ++i) {
    const int32_t id = pi[i];
    if (id < 0 || id >= V) badId("gather", id, i, V, ids.shape());
    if (rowBytes) std::memcpy(po + (size_t)i * rowBytes, pt + (size_t)id * rowBytes, rowBytes);
  }
  return out;
}

Tensor scatterAdd(const Tensor &dy, const Tensor &ids, int64_t rows) {
  const DType dt = expectFloat(dy, "scatter_add", "dy");
  expectDType(ids, DType::I32, "scatter_add", "ids");
  if (rows < 0) throw Error(fmt::format("scatter_add: negative rows {}", rows));
  if (dy.rank() != ids.rank() + 1 ||
      !std::equal(ids.shape().begin(), ids.shape().end(), dy.shape().begin()))
    throw Error(fmt::format("scatter_add: dy {} must be ids {} plus a trailing dim",
                            shapeToString(dy.shape()), shapeToString(ids.shape())));
  const int64_t D = dy.dim(-1);
  Tensor out(dt, {rows, D});
  dispatchFloat(dt, [&](auto tag) { scatterAddTyped<decltype(tag)>(dy, ids, rows, D, out); });
  return out;
}

Tensor sinusoidal(int64_t len, int64_t dim, DType dtype) {
  if (len < 0 || dim < 0)
    throw Error(fmt::format("sinusoidal: negative len {} or dim {}", len, dim));
  if (!isFloat(dtype))
    throw Error(fmt::format("sinusoidal: dtype {} is not f32 or f64", dtypeName(dtype)));
  Tensor out(dtype, {len, dim});
  dispatchFloat(dtype, [&](auto tag) { sinusoidalTyped<decltype(tag)>(len, dim, out); });
  return out;
}

}  // namespace heed::rt::ref

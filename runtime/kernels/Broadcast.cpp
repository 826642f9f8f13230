//===- Broadcast.cpp - shape helpers shared by the kernels ----------------===//

#include "runtime/kernels/Broadcast.h"
#include "runtime/kernels/Reference.h"

#include <fmt/format.h>

namespace heed::rt::ref {

Shape broadcastShapes(const Shape &a, const Shape &b, const char *op) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error(fmt::format("{}: shapes {} and {} do not broadcast", op, shapeToString(a),
                              shapeToString(b)));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace detail {

Strides contiguousStrides(const Shape &shape) {
  Strides s(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

Strides broadcastStrides(const Shape &in, const Shape &out, const char *op) {
  if (in.size() > out.size())
    throw Error(fmt::format("{}: cannot broadcast {} to {}", op, shapeToString(in),
                            shapeToString(out)));
  Strides cs = contiguousStrides(in);
  Strides s(out.size(), 0);
  size_t lead = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == out[lead + i])
      s[lead + i] = in[i] == 1 ? 0 : cs[i];
    else if (in[i] == 1)
      s[lead + i] = 0;
    else
      throw Error(fmt::format("{}: cannot broadcast {} to {}", op, shapeToString(in),
                              shapeToString(out)));
  }
  return s;
}

int64_t normAxis(int64_t axis, int64_t rank, const char *op) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw Error(fmt::format("{}: axis {} out of range for rank {}", op, axis, rank));
  return a;
}

void expectDType(const Tensor &t, DType want, const char *op, const char *operand) {
  if (!t.defined())
    throw Error(fmt::format("{}: operand '{}' is undefined", op, operand));
  if (t.dtype() != want)
    throw Error(fmt::format("{}: operand '{}' has dtype {} (shape {}), expected {}", op, operand,
                            dtypeName(t.dtype()), shapeToString(t.shape()), dtypeName(want)));
}

DType expectFloat(const Tensor &t, const char *op, const char *operand) {
  if (!t.defined())
    throw Error(fmt::format("{}: operand '{}' is undefined", op, operand));
  if (!isFloat(t.dtype()))
    throw Error(fmt::format("{}: operand '{}' has dtype {} (shape {}), expected f32 or f64", op,
                            operand, dtypeName(t.dtype()), shapeToString(t.shape())));
  return t.dtype();
}

}  // namespace detail
}  // namespace heed::rt::ref

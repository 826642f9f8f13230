//===- Elementwise.cpp - binary, compare, where, unary, gelu_grad ---------===//

#include "runtime/kernels/Broadcast.h"
#include "runtime/kernels/Reference.h"

#include <fmt/format.h>

#include <cmath>

namespace heed::rt::ref {

using namespace detail;

namespace {

/// out[i] = op(a[i], b[i]) over the broadcast of a and b (out is contiguous).
template <class TA, class TO, class Op>
void binaryLoop(const TA *a, const Shape &as, const TA *b, const Shape &bs, TO *out,
                const Shape &os, const char *opName, Op op) {
  forEachRow<3>(os,
                {contiguousStrides(os), broadcastStrides(as, os, opName),
                 broadcastStrides(bs, os, opName)},
                [&](const std::array<int64_t, 3> &off, const std::array<int64_t, 3> &st,
                    int64_t n) {
                  TO *o = out + off[0];
                  const TA *pa = a + off[1];
                  const TA *pb = b + off[2];
                  if (st[1] == 1 && st[2] == 1) {
                    for (int64_t j = 0; j < n; ++j) o[j] = op(pa[j], pb[j]);
                  } else if (st[1] == 1 && st[2] == 0) {
                    const TA bv = *pb;
                    for (int64_t j = 0; j < n; ++j) o[j] = op(pa[j], bv);
                  } else if (st[1] == 0 && st[2] == 1) {
                    const TA av = *pa;
                    for (int64_t j = 0; j < n; ++j) o[j] = op(av, pb[j]);
                  } else {
                    for (int64_t j = 0; j < n; ++j) o[j] = op(pa[j * st[1]], pb[j * st[2]]);
                  }
                });
}

const char *binaryName(BinaryKind k) {
  switch (k) {
  case BinaryKind::Add: return "add";
  case BinaryKind::Sub: return "sub";
  case BinaryKind::Mul: return "mul";
  case BinaryKind::Div: return "div";
  }
  return "binary";
}

const char *compareName(CompareKind k) {
  switch (k) {
  case CompareKind::Eq: return "eq";
  case CompareKind::Ne: return "ne";
  case CompareKind::Lt: return "lt";
  case CompareKind::Le: return "le";
  case CompareKind::Gt: return "gt";
  case CompareKind::Ge: return "ge";
  }
  return "compare";
}

template <class T>
void binaryTyped(BinaryKind kind, const T *a, const Shape &as, const T *b, const Shape &bs, T *o,
                 const Shape &os, const char *name) {
  switch (kind) {
  case BinaryKind::Add:
    binaryLoop(a, as, b, bs, o, os, name, [](T x, T y) { return x + y; });
    break;
  case BinaryKind::Sub:
    binaryLoop(a, as, b, bs, o, os, name, [](T x, T y) { return x - y; });
    break;
  case BinaryKind::Mul:
    binaryLoop(a, as, b, bs, o, os, name, [](T x, T y) { return x * y; });
    break;
  case BinaryKind::Div:
    binaryLoop(a, as, b, bs, o, os, name, [](T x, T y) { return x / y; });
    break;
  }
}

template <class T>
void compareTyped(CompareKind kind, const T *a, const Shape &as, const T *b, const Shape &bs,
                  uint8_t *o, const Shape &os, const char *name) {
  switch (kind) {
  case CompareKind::Eq:
    binaryLoop(a, as, b, bs, o, os, name, [](T x, T y) { return (uint8_t)(x == y); });
    break;
  case CompareKind::Ne:
    binaryLoop(a, as, b, bs, o, os, name, [](T x, T y) { return (uint8_t)(x != y); });
    break;
  case CompareKind::Lt:
    binaryLoop(a, as, b, bs, o, os, name, [](T x, T y) { return (uint8_t)(x < y); });
    break;
  case CompareKind::Le:
    binaryLoop(a, as, b, bs, o, os, name, [](T x, T y) { return (uint8_t)(x <= y); });
    break;
  case CompareKind::Gt:
    binaryLoop(a, as, b, bs, o, os, name, [](T x, T y) { return (uint8_t)(x > y); });
    break;
  case CompareKind::Ge:
    binaryLoop(a, as, b, bs, o, os, name, [](T x, T y) { return (uint8_t)(x >= y); });
    break;
  }
}

void expectSameDType(const Tensor &a, const Tensor &b, const char *op) {
  if (!a.defined() || !b.defined())
    throw Error(fmt::format("{}: undefined operand", op));
  if (a.dtype() != b.dtype())
    throw Error(fmt::format("{}: operand dtypes differ: {} {} vs {} {}", op, dtypeName(a.dtype()),
                            shapeToString(a.shape()), dtypeName(b.dtype()),
                            shapeToString(b.shape())));
}

template <class T>
void whereTyped(const Tensor &cond, const Tensor &a, const Tensor &b, Tensor &out) {
  const Shape &os = out.shape();
  const uint8_t *c = cond.b8();
  const T *pa = static_cast<const T *>(a.raw());
  const T *pb = static_cast<const T *>(b.raw());
  T *po = static_cast<T *>(out.raw());
  forEachRow<4>(os,
                {contiguousStrides(os), broadcastStrides(cond.shape(), os, "where"),
                 broadcastStrides(a.shape(), os, "where"),
                 broadcastStrides(b.shape(), os, "where")},
                [&](const std::array<int64_t, 4> &off, const std::array<int64_t, 4> &st,
                    int64_t n) {
                  T *o = po + off[0];
                  const uint8_t *cc = c + off[1];
                  const T *aa = pa + off[2];
                  const T *bb = pb + off[3];
                  for (int64_t j = 0; j < n; ++j)
                    o[j] = cc[j * st[1]] ? aa[j * st[2]] : bb[j * st[3]];
                });
}

/// Constants of the gelu kernels in the element type (the f32 values are the
/// nearest floats to the decimal literals, as before templating).
template <class T>
struct GeluConst;
template <>
struct GeluConst<float> {
  static constexpr float invSqrt2 = 0.70710678118654752440f;
  static constexpr float invSqrt2Pi = 0.39894228040143267794f;
};
template <>
struct GeluConst<double> {
  static constexpr double invSqrt2 = 0.70710678118654752440;
  static constexpr double invSqrt2Pi = 0.39894228040143267794;
};

template <class T, class F>
Tensor mapFloat(const Tensor &x, F f) {
  Tensor out(x.dtype(), x.shape());
  const T *px = elems<T>(x);
  T *po = elems<T>(out);
  const int64_t n = x.size();
  for (int64_t i = 0; i < n; ++i) po[i] = f(px[i]);
  return out;
}

template <class T>
Tensor unaryTyped(UnaryKind kind, const Tensor &x) {
  switch (kind) {
  case UnaryKind::Neg: return mapFloat<T>(x, [](T v) { return -v; });
  case UnaryKind::Exp: return mapFloat<T>(x, [](T v) { return std::exp(v); });
  case UnaryKind::Log: return mapFloat<T>(x, [](T v) { return std::log(v); });
  case UnaryKind::Sqrt: return mapFloat<T>(x, [](T v) { return std::sqrt(v); });
  case UnaryKind::Rsqrt: return mapFloat<T>(x, [](T v) { return T(1) / std::sqrt(v); });
  case UnaryKind::Tanh: return mapFloat<T>(x, [](T v) { return std::tanh(v); });
  case UnaryKind::Relu: return mapFloat<T>(x, [](T v) { return v > T(0) ? v : T(0); });
  case UnaryKind::Gelu:
    return mapFloat<T>(x, [](T v) {
      return T(0.5) * v * (T(1) + std::erf(v * GeluConst<T>::invSqrt2));
    });
  }
  throw Error("unary: invalid kind");
}

template <class T>
void geluGradTyped(const Tensor &x, const Tensor &dy, Tensor &out) {
  const T *px = elems<T>(x);
  const T *pd = elems<T>(dy);
  T *po = elems<T>(out);
  for (int64_t i = 0, n = x.size(); i < n; ++i) {
    T v = px[i];
    T cdf = T(0.5) * (T(1) + std::erf(v * GeluConst<T>::invSqrt2));
    T pdf = GeluConst<T>::invSqrt2Pi * std::exp(T(-0.5) * v * v);
    po[i] = pd[i] * (cdf + v * pdf);
  }
}

}  // namespace

Tensor binary(BinaryKind kind, const Tensor &a, const Tensor &b) {
  const char *name = binaryName(kind);
  expectSameDType(a, b, name);
  Shape os = broadcastShapes(a.shape(), b.shape(), name);
  Tensor out(a.dtype(), os);
  switch (a.dtype()) {
  case DType::F32:
    binaryTyped(kind, a.f32(), a.shape(), b.f32(), b.shape(), out.f32(), os, name);
    break;
  case DType::F64:
    binaryTyped(kind, a.f64(), a.shape(), b.f64(), b.shape(), out.f64(), os, name);
    break;
  case DType::I32:
    if (kind == BinaryKind::Div) {
      const int32_t *pb = b.i32();
      for (int64_t i = 0, n = b.size(); i < n; ++i)
        if (pb[i] == 0)
          throw Error(fmt::format("div: integer division by zero (divisor shape {})",
                                  shapeToString(b.shape())));
    }
    binaryTyped(kind, a.i32(), a.shape(), b.i32(), b.shape(), out.i32(), os, name);
    break;
  default:
    throw Error(fmt::format("{}: unsupported dtype {} (expected f32, f64 or i32)", name,
                            dtypeName(a.dtype())));
  }
  return out;
}

Tensor compare(CompareKind kind, const Tensor &a, const Tensor &b) {
  const char *name = compareName(kind);
  expectSameDType(a, b, name);
  Shape os = broadcastShapes(a.shape(), b.shape(), name);
  Tensor out(DType::Bool, os);
  switch (a.dtype()) {
  case DType::F32:
    compareTyped(kind, a.f32(), a.shape(), b.f32(), b.shape(), out.b8(), os, name);
    break;
  case DType::F64:
    compareTyped(kind, a.f64(), a.shape(), b.f64(), b.shape(), out.b8(), os, name);
    break;
  case DType::I32:
    compareTyped(kind, a.i32(), a.shape(), b.i32(), b.shape(), out.b8(), os, name);
    break;
  case DType::Bool:
    compareTyped(kind, a.b8(), a.shape(), b.b8(), b.shape(), out.b8(), os, name);
    break;
  default:
    throw Error(fmt::format("{}: unsupported dtype {}", name, dtypeName(a.dtype())));
  }
  return out;
}

Tensor where(const Tensor &cond, const Tensor &a, const Tensor &b) {
  expectDType(cond, DType::Bool, "where", "cond");
  expectSameDType(a, b, "where");
  Shape os = broadcastShapes(broadcastShapes(cond.shape(), a.shape(), "where"), b.shape(),
                             "where");
  Tensor out(a.dtype(), os);
  switch (a.dtype()) {
  case DType::F32: whereTyped<float>(cond, a, b, out); break;
  case DType::F64: whereTyped<double>(cond, a, b, out); break;
  case DType::I32: whereTyped<int32_t>(cond, a, b, out); break;
  default:
    throw Error(fmt::format("where: unsupported dtype {} (expected f32, f64 or i32)",
                            dtypeName(a.dtype())));
  }
  return out;
}

Tensor unary(UnaryKind kind, const Tensor &x) {
  if (kind == UnaryKind::Neg && x.defined() && x.dtype() == DType::I32) {
    Tensor out(DType::I32, x.shape());
    const int32_t *px = x.i32();
    int32_t *po = out.i32();
    for (int64_t i = 0, n = x.size(); i < n; ++i) po[i] = -px[i];
    return out;
  }
  const DType dt = expectFloat(x, "unary", "x");
  return dispatchFloat(dt, [&](auto tag) { return unaryTyped<decltype(tag)>(kind, x); });
}

Tensor geluGrad(const Tensor &x, const Tensor &dy) {
  const DType dt = expectFloat(x, "gelu_grad", "x");
  expectDType(dy, dt, "gelu_grad", "dy");
  if (x.shape() != dy.shape())
    throw Error(fmt::format("gelu_grad: x {} and dy {} differ in shape", shapeToString(x.shape()),
                            shapeToString(dy.shape())));
  Tensor out(dt, x.shape());
  dispatchFloat(dt, [&](auto tag) { geluGradTyped<decltype(tag)>(x, dy, out); });
  return out;
}

}  // namespace heed::rt::ref

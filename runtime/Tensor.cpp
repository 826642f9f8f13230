//===- Tensor.cpp - the runtime's dense tensor ----------------------------===//

#include "runtime/Tensor.h"

#include "runtime/BufferPool.h"
#include "runtime/Error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace heed::rt {

size_t dtypeSize(DType t) {
  switch (t) {
  case DType::F32: return 4;
  case DType::I32: return 4;
  case DType::I64: return 8;
  case DType::Bool: return 1;
  case DType::F64: return 8;
  }
  throw Error("dtypeSize: invalid dtype");
}

const char *dtypeName(DType t) {
  switch (t) {
  case DType::F32: return "f32";
  case DType::I32: return "i32";
  case DType::I64: return "i64";
  case DType::Bool: return "bool";
  case DType::F64: return "f64";
  }
  return "?";
}

int64_t numElements(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shapeToString(const Shape &s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  for (int64_t d : shape_)
    if (d < 0)
      throw Error(fmt::format("Tensor: negative dimension in shape {}", shapeToString(shape_)));
  // Always allocate at least one byte so that an empty tensor is still defined().
  storage_ = allocateStorage(std::max<size_t>(bytes(), 1), /*zero=*/true);
}

Tensor Tensor::uninitialized(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  for (int64_t d : t.shape_)
    if (d < 0)
      throw Error(fmt::format("Tensor: negative dimension in shape {}", shapeToString(t.shape_)));
  t.storage_ = allocateStorage(std::max<size_t>(t.bytes(), 1), /*zero=*/false);
  return t;
}

Tensor Tensor::scalarF32(float v) {
  Tensor t(DType::F32, {});
  t.f32()[0] = v;
  return t;
}

Tensor Tensor::fromF32(Shape shape, const std::vector<float> &values) {
  Tensor t(DType::F32, std::move(shape));
  if ((int64_t)values.size() != t.size())
    throw Error(fmt::format("Tensor::fromF32: {} values for shape {}", values.size(),
                            shapeToString(t.shape())));
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::fromI32(Shape shape, const std::vector<int32_t> &values) {
  Tensor t(DType::I32, std::move(shape));
  if ((int64_t)values.size() != t.size())
    throw Error(fmt::format("Tensor::fromI32: {} values for shape {}", values.size(),
                            shapeToString(t.shape())));
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(int32_t));
  return t;
}

Tensor Tensor::scalarF64(double v) {
  Tensor t(DType::F64, {});
  t.f64()[0] = v;
  return t;
}

Tensor Tensor::fromF64(Shape shape, const std::vector<double> &values) {
  Tensor t(DType::F64, std::move(shape));
  if ((int64_t)values.size() != t.size())
    throw Error(fmt::format("Tensor::fromF64: {} values for shape {}", values.size(),
                            shapeToString(t.shape())));
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(double));
  return t;
}

namespace {
[[noreturn]] void badAccess(const char *accessor, DType actual) {
  throw Error(fmt::format("Tensor::{}() on a {} tensor", accessor, dtypeName(actual)));
}
}  // namespace

float *Tensor::f32() {
  if (dtype_ != DType::F32) badAccess("f32", dtype_);
  return reinterpret_cast<float *>(storage_.get());
}
const float *Tensor::f32() const {
  if (dtype_ != DType::F32) badAccess("f32", dtype_);
  return reinterpret_cast<const float *>(storage_.get());
}
double *Tensor::f64() {
  if (dtype_ != DType::F64) badAccess("f64", dtype_);
  return reinterpret_cast<double *>(storage_.get());
}
const double *Tensor::f64() const {
  if (dtype_ != DType::F64) badAccess("f64", dtype_);
  return reinterpret_cast<const double *>(storage_.get());
}
int32_t *Tensor::i32() {
  if (dtype_ != DType::I32) badAccess("i32", dtype_);
  return reinterpret_cast<int32_t *>(storage_.get());
}
const int32_t *Tensor::i32() const {
  if (dtype_ != DType::I32) badAccess("i32", dtype_);
  return reinterpret_cast<const int32_t *>(storage_.get());
}
int64_t *Tensor::i64() {
  if (dtype_ != DType::I64) badAccess("i64", dtype_);
  return reinterpret_cast<int64_t *>(storage_.get());
}
const int64_t *Tensor::i64() const {
  if (dtype_ != DType::I64) badAccess("i64", dtype_);
  return reinterpret_cast<const int64_t *>(storage_.get());
}
uint8_t *Tensor::b8() {
  if (dtype_ != DType::Bool) badAccess("b8", dtype_);
  return storage_.get();
}
const uint8_t *Tensor::b8() const {
  if (dtype_ != DType::Bool) badAccess("b8", dtype_);
  return storage_.get();
}

Tensor Tensor::reshaped(Shape newShape) const {
  if (numElements(newShape) != size())
    throw Error(fmt::format("Tensor::reshaped: cannot reshape {} ({} elements) to {} ({} elements)",
                            shapeToString(shape_), size(), shapeToString(newShape),
                            numElements(newShape)));
  for (int64_t d : newShape)
    if (d < 0)
      throw Error(fmt::format("Tensor::reshaped: negative dimension in {}", shapeToString(newShape)));
  Tensor t = *this;
  t.shape_ = std::move(newShape);
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return Tensor();
  Tensor t = uninitialized(dtype_, shape_);
  if (bytes()) std::memcpy(t.raw(), raw(), bytes());
  return t;
}

namespace {

template <class To, class From>
void convertLoop(const From *src, To *dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<To, uint8_t>)
      dst[i] = src[i] != From(0) ? 1 : 0;
    else
      dst[i] = static_cast<To>(src[i]);
  }
}

template <class To>
void convertFrom(const Tensor &x, To *dst) {
  const int64_t n = x.size();
  switch (x.dtype()) {
  case DType::F32: convertLoop(x.f32(), dst, n); break;
  case DType::F64: convertLoop(x.f64(), dst, n); break;
  case DType::I32: convertLoop(x.i32(), dst, n); break;
  case DType::I64: convertLoop(x.i64(), dst, n); break;
  case DType::Bool: convertLoop(x.b8(), dst, n); break;
  }
}

}  // namespace

Tensor castTo(const Tensor &x, DType to) {
  if (!x.defined()) throw Error(fmt::format("castTo: undefined tensor (to {})", dtypeName(to)));
  if (x.dtype() == to) return x;
  Tensor out(to, x.shape());
  switch (to) {
  case DType::F32: convertFrom(x, out.f32()); break;
  case DType::F64: convertFrom(x, out.f64()); break;
  case DType::I32: convertFrom(x, out.i32()); break;
  case DType::I64: convertFrom(x, out.i64()); break;
  case DType::Bool: convertFrom(x, out.b8()); break;
  }
  return out;
}

}  // namespace heed::rt

//===- Tensor.h - the runtime's dense tensor --------------------*- C++ -*-===//
//
// A dense, row-major, contiguous tensor with shared storage. This is what the
// reference kernels, the interpreter, checkpoints and data loaders exchange.
// No MLIR here: the runtime must build and link without it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace heed::rt {

// New values are appended: the numeric values of existing ones must not change.
enum class DType : uint8_t { F32, I32, I64, Bool, F64 };

/// Bytes per element: 4, 4, 8, 1, 8 (Bool is stored as uint8_t 0/1).
size_t dtypeSize(DType t);
const char *dtypeName(DType t);  // "f32", "i32", "i64", "bool", "f64"
/// F32 or F64.
inline bool isFloat(DType t) { return t == DType::F32 || t == DType::F64; }

using Shape = std::vector<int64_t>;
int64_t numElements(const Shape &s);
std::string shapeToString(const Shape &s);  // "[2, 3]"

class Tensor {
public:
  Tensor() = default;
  /// Zero-initialised tensor.
  Tensor(DType dtype, Shape shape);
  static Tensor zeros(DType dtype, Shape shape) { return Tensor(dtype, std::move(shape)); }
  /// Contents unspecified (see BufferPool.h): for results a kernel overwrites whole.
  static Tensor uninitialized(DType dtype, Shape shape);
  static Tensor scalarF32(float v);
  static Tensor fromF32(Shape shape, const std::vector<float> &values);
  static Tensor fromI32(Shape shape, const std::vector<int32_t> &values);
  static Tensor scalarF64(double v);
  static Tensor fromF64(Shape shape, const std::vector<double> &values);

  DType dtype() const { return dtype_; }
  const Shape &shape() const { return shape_; }
  int64_t rank() const { return (int64_t)shape_.size(); }
  int64_t dim(int64_t i) const { return shape_[i < 0 ? i + rank() : i]; }
  int64_t size() const { return numElements(shape_); }
  size_t bytes() const { return (size_t)size() * dtypeSize(dtype_); }
  bool defined() const { return storage_ != nullptr; }
  /// No other Tensor shares this storage: whoever holds it may reuse it in place.
  bool soleOwner() const { return storage_ && storage_.use_count() == 1; }

  void *raw() { return storage_.get(); }
  const void *raw() const { return storage_.get(); }
  float *f32();
  const float *f32() const;
  double *f64();
  const double *f64() const;
  int32_t *i32();
  const int32_t *i32() const;
  int64_t *i64();
  const int64_t *i64() const;
  uint8_t *b8();
  const uint8_t *b8() const;

  /// Same storage, new shape (element counts must agree).
  Tensor reshaped(Shape newShape) const;
  /// Deep copy.
  Tensor clone() const;

private:
  DType dtype_ = DType::F32;
  Shape shape_;
  std::shared_ptr<uint8_t[]> storage_;
};

/// x converted elementwise to dtype `to` (same shape). If x already has dtype
/// `to`, returns x itself (sharing storage, no copy). Supported: any conversion
/// among f32, f64, i32, i64 and bool (float -> int truncates toward zero and
/// is meant for in-range values: NaN or out-of-range is undefined, as in C++;
/// anything -> bool is `!= 0`; bool -> number is 0/1). An undefined x throws.
Tensor castTo(const Tensor &x, DType to);

}  // namespace heed::rt

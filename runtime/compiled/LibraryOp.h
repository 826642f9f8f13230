//===- LibraryOp.h - a library call of the compiled backend -----*- C++ -*-===//
//
// The ops a partitioned entry point does not fuse into generated kernels
// (compiler/lowering/Partition.cpp: everything without a linalg lowering, plus
// last-axis softmax) run as library calls: oneDNN and the native kernels
// (runtime/native) where the shapes fit their calling conventions, the
// reference kernels (runtime/kernels/Reference.h) otherwise. A LibraryOp
// describes one such call without MLIR: its kind, its attributes and its
// result types. The JIT backend builds them from heed ops
// (compiler/compiled/LibraryCalls.cpp); an artifact stores them in its
// manifest (toJson / libraryOpFromJson). Both run them with runLibraryOp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/RunContext.h"
#include "runtime/Tensor.h"
#include "runtime/native/Bf16Source.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace heed::rt {

struct LibraryOp {
  enum class Kind : uint8_t {
    Matmul,            // a[..., M, K] @ b[..., K, N]; transposeLhs/Rhs; bias, act, residual
    Softmax,           // axis
    SoftmaxGrad,       // axis; inputs (y, dy). Not scheduled as a library call today
                       // (it fuses), kept so Partition may route it here.
    LayerNorm,         // eps
    LayerNormGrad,     // eps; three results (dx, dgamma, dbeta)
    CrossEntropy,      // smoothing, ignoreIndex
    CrossEntropyGrad,  // smoothing, ignoreIndex
    Gather,
    ScatterAdd,
    Dropout,           // p, seed; identity outside training or when p == 0
    Param,             // name
    OptimizerStep,     // names (one per gradient input); no results
    Sdpa,              // causal, scale, keyPadding; inputs (q, k, v, [key_padding]) -> (out, lse)
    SdpaGrad,          // causal, scale, keyPadding, dlse; inputs (q, k, v, out, lse, dout,
                       // [dlse], [key_padding]) -> (dq, dk, dv)
    GradientBucket,    // bucket, names (one per gradient input); no results. Inserted by
                       // addGradientBucketSteps (GradientBuckets.h) after the step that
                       // produces the bucket's last gradient: hands the bucket to
                       // RunContext::bucketReady (data-parallel training starts its sum)
  };
  Kind kind = Kind::Matmul;
  /// Matmul: that input holds the operand with its last two dims swapped (an
  /// absorbed transpose).
  bool transposeLhs = false, transposeRhs = false;
  /// Matmul epilogue: a third input, bias [N], added to every row, then `act`
  /// ("relu", "gelu" exact erf, or ""), as oneDNN post-ops.
  bool bias = false;
  std::string act;
  /// Matmul of a program compiled at bf16 precision (runtime/Precision.h): both
  /// inputs rounded to bfloat16, float32 accumulation and result (Param: of
  /// such a program). JSON "precision": "bf16".
  bool bf16 = false;
  /// bf16 Matmul: where each operand's bf16 rounding comes from, and whether
  /// this is the last matmul reading that copy (which drops it); set by
  /// assignBf16Inputs (runtime/compiled/Bf16Inputs.h). JSON "bf16_lhs"/"bf16_rhs"
  /// ("keep", "copy"; absent: round) and "drop_lhs"/"drop_rhs".
  native::Bf16Source bf16Lhs = native::Bf16Source::Round, bf16Rhs = native::Bf16Source::Round;
  bool dropLhs = false, dropRhs = false;
  /// Param, LayerNorm, CrossEntropyGrad: bf16 matmuls read result 0, so the
  /// call also writes its bf16 copy (native::bf16CopyFor; a param's shadow) in
  /// the same pass. JSON "writes_bf16".
  bool writesBf16 = false;
  /// LayerNorm, CrossEntropyGrad with writesBf16: only bf16 matmuls read result
  /// 0, so its float32 values are not written (the buffer is still allocated: it
  /// names the copy). Set by assignBf16Inputs; an observed run (Executor's
  /// StepObserver: the NaN replay) writes them anyway. JSON "bf16_only".
  bool bf16Only = false;
  /// Matmul epilogue: a last input of the result's shape added after that (a
  /// residual or gradient sum), as oneDNN's sum post-op on a copy of it, or on
  /// the input itself (which becomes the result) when no other Tensor shares it.
  bool residual = false;
  float eps = 1e-5f, smoothing = 0, p = 0;
  int64_t ignoreIndex = -1, seed = 0, axis = -1;
  /// Sdpa, SdpaGrad: the causal mask, the score scale, and which optional inputs are present.
  bool causal = false, keyPadding = false, dlse = false;
  /// Sdpa, SdpaGrad: q, k, v, out and the gradients are [B, T, H, dh] (the op's
  /// token_major) rather than [B, H, T, dh]. JSON "token_major".
  bool tokenMajor = false;
  float scale = 1.0f;
  std::string name;                // Param
  std::vector<std::string> names;  // OptimizerStep, GradientBucket
  int64_t bucket = 0;              // GradientBucket: its index in the schedule
  std::vector<DType> resultTypes;
  std::vector<Shape> resultShapes;
  /// "file:line:col: " of the model text it came from ("" if unknown); prefixes errors.
  std::string location;
};

/// "matmul", "softmax", ... (the heed op's mnemonic).
const char *libraryKindName(LibraryOp::Kind kind);
/// Whether calls of this kind can write their result's bf16 copy alone (LibraryOp::bf16Only).
bool canLeaveFloat32Unwritten(LibraryOp::Kind kind);
/// Throws rt::Error on an unknown name.
LibraryOp::Kind libraryKindFromName(const std::string &name);

/// Runs one library call: `out` receives the results (cleared first). Throws rt::Error.
void runLibraryOp(const LibraryOp &op, const std::vector<Tensor> &in, std::vector<Tensor> &out,
                  RunContext &ctx);

nlohmann::json toJson(const LibraryOp &op);
/// Throws rt::Error (or nlohmann::json::exception) on a malformed description.
LibraryOp libraryOpFromJson(const nlohmann::json &j);

/// "f32" <-> DType (rt::dtypeName's names); throws rt::Error on an unknown name.
DType dtypeFromName(const std::string &name);

}  // namespace heed::rt

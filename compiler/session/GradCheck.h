//===- GradCheck.h - autodiff gradients vs finite differences ---*- C++ -*-===//
//
// For every trainable parameter, compares the gradient that @train_step's
// backward pass computes with central differences of @eval's loss, on small
// random inputs with dropout off. Large tensors are sampled. Everything runs in
// float64 (the reference kernels have f64 instantiations), so a small step
// (1e-6) keeps both truncation and rounding error far below the tolerance;
// `f32` runs the same check in f32 with a larger step, for comparison.
// Backend "compiled" takes the autodiff gradients from the compiled backend's
// train_step (float32, fused kernels and oneDNN) and compares them with the same
// float64 finite differences of the reference: the compiled backward pass
// against the exact derivative, limited only by float32 rounding.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/ImportToIR.h"

#include <cstdint>
#include <string>
#include <vector>

namespace heed {

struct GradcheckOptions {
  uint64_t seed = 1;
  double eps = 0;        // 0: 1e-6 in float64, 1e-2 in float32
  double tolerance = 0;  // 0: 1e-4 in float64, 5e-2 in float32, 1e-3 for the compiled backend
  bool f32 = false;      // check in float32 instead of float64
  int64_t samples = 12;  // elements checked per parameter tensor
  /// Where the autodiff gradients come from: "reference" (the interpreter, in the
  /// check's precision) or "compiled" (the compiled train_step, float32).
  std::string backend = "reference";
};

struct GradcheckRow {
  std::string name;
  int64_t checked = 0;                     // elements compared
  double autodiff = 0, numeric = 0;        // L2 norms over the checked elements
  double relError = 0;                     // |autodiff - numeric| relative to the larger, with a floor
  bool failed = false;
};

struct GradcheckReport {
  double loss = 0;  // at the initial parameters
  int64_t batch = 0;
  bool f64 = true, compiled = false;
  double eps = 0, tolerance = 0;
  std::vector<GradcheckRow> rows;  // trainable parameters, in store order
  bool anyNonZero = false;         // false: the loss depends on no parameter
  int failures = 0;
};

/// Builds the model (batch from options.batch, else 2) and runs the check.
/// Throws rt::ReportedError after located model errors, rt::Error otherwise.
GradcheckReport checkGradients(const std::string &modelPath, ImportOptions options, const GradcheckOptions &o);

}  // namespace heed

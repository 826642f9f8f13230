//===- RunContext.h - what one run of an entry point sees -------*- C++ -*-===//
//
// Passed to every kernel of a run: where parameters live, which training step
// this is (dropout masks are keyed by (seed, step, index)), whether dropout is
// active, and how the optimizer step applies gradients. No MLIR here: the
// reference interpreter and compiled code share it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/ParamStore.h"
#include "runtime/Tensor.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace heed::rt {

struct RunContext {
  ParamStore *params = nullptr;
  /// 1-based training step (0 outside training); keys the dropout masks.
  int64_t step = 0;
  /// Dropout is applied only when training.
  bool training = false;
  /// Run all float math in double precision (gradient checks): f32 inputs,
  /// constants and tables become f64; parameters are expected as f64 already.
  bool f64 = false;
  /// Called by the optimizer_step op with (parameter name, gradient) pairs.
  std::function<void(std::vector<std::pair<std::string, Tensor>> &)> applyGradients;
};

}  // namespace heed::rt

//===- CheckedStep.h - a training step run with a check after every op -*- C++ -*-===//
//
// When a step's loss or gradient is not finite, the trainer replays that step
// (StepReplay.h) in a checked mode to find the op that first produced a NaN or
// an infinity. The checked mode needs the model's IR (compiler/session/NanReplay
// runs it on the reference interpreter), so it comes through the injected
// ProgramFactory and runtime/ stays free of MLIR.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/RunContext.h"
#include "runtime/Tensor.h"

#include <optional>
#include <string>
#include <vector>

namespace heed::rt {

class CheckedStep {
public:
  virtual ~CheckedStep() = default;
  /// How the step is checked, for the report: "the reference interpreter, ...".
  virtual std::string describe() const = 0;
  /// Runs train_step on `inputs` (the order of its EntrySpec) with `ctx` (its
  /// applyGradients receives the gradients; nothing else changes the
  /// parameters) and checks every op's results. Returns the report of the first
  /// op whose result is not finite (`file:line:col: error: ...`, the source line,
  /// a caret and notes), or nullopt when every result was finite. Throws rt::Error.
  virtual std::optional<std::string> run(const std::vector<Tensor> &inputs, RunContext &ctx) = 0;
};

}  // namespace heed::rt

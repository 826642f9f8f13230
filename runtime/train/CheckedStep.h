//===- CheckedStep.h - a training step run with a check after every op -*- C++ -*-===//
//
// When a step's loss or gradient is not finite, or its loss breaks the
// divergence rule, the trainer replays that step (StepReplay.h) in a checked
// mode that looks at every op's results: to find the op that first produced a
// NaN or an infinity, or the op where the values blow up. The checked modes need
// the model's IR (compiler/session/NanReplay: the compiled backend with fusion
// off, and the reference interpreter), so they come through the injected
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

/// The op where a diverged step's values grow the most (CheckedStep::largestGrowth).
struct Growth {
  double factor = 0;   // its result's RMS over its largest float input's RMS
  std::string report;  // `file:line:col: error: ...`, the source line, a caret and notes
};

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
  /// Runs train_step as run() does and measures every op of the forward (the
  /// ops the loss depends on) that has a float input: its growth is the root
  /// mean square of its result over the largest root mean square of its float
  /// inputs (constants, such as a literal scale, are not inputs here). Returns
  /// the op with the largest growth, located, or nullopt when no op has a float
  /// input that is not all zeros. Throws rt::Error.
  virtual std::optional<Growth> largestGrowth(const std::vector<Tensor> &inputs, RunContext &ctx) = 0;
};

}  // namespace heed::rt

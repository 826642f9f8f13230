//===- StepReplay.h - locating the op behind a non-finite step --*- C++ -*-===//
//
// When a step's loss or gradient norm is not finite, the trainer replays that
// step in the factory's checked mode (CheckedStep.h: a finiteness check after
// every op) to name the first op that produced a NaN or an infinity, at its
// model line. The replay needs the state before the step: the parameters and
// Adam's moments are still that state, because the trainer applies a step's
// gradients only once its loss is finite and the optimizer refuses a
// non-finite gradient (applyUpdate returns before touching them); the batch is
// the step's own (the trainer keeps it), and dropout masks are a pure function
// of (seed, step, index), so the replay draws the same ones.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/ParamStore.h"
#include "runtime/Tensor.h"
#include "runtime/train/ProgramFactory.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace heed::rt {

struct StepReplayRequest {
  std::string model;                             // the model file the step was trained from
  std::map<std::string, std::string> overrides;  // its --set values (a length bucket's included)
  int64_t batch = 0;                             // the batch the step's program was built at (a slice's)
  std::optional<Precision> precision;            // the run's (its matmul inputs' rounding)
  int64_t step = 0;
  /// The train_step inputs of each slice (one entry for an unsliced step) and
  /// where each slice starts in the whole batch (RunContext::rowOffset).
  std::vector<std::vector<Tensor>> slices;
  int64_t sliceRows = 0;  // 0: unsliced
  ParamStore *params = nullptr;  // the state before the step; read, not changed
};

/// Replays the step and returns what to add to the trainer's error: the located
/// report of the first non-finite op, or a sentence saying that the replay did
/// not reproduce it (with the largest gradient, when the norm overflowed), or
/// why it could not run.
std::string replayNonFiniteStep(ProgramFactory &factory, const StepReplayRequest &r);

}  // namespace heed::rt

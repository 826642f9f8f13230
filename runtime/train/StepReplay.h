//===- StepReplay.h - locating the op behind a non-finite or diverged step -*- C++ -*-===//
//
// When a step's loss or gradient norm is not finite, the trainer replays that
// step in the factory's checked modes (CheckedStep.h: the compiled backend with
// fusion off, then the reference interpreter, a finiteness check after every
// op), the next mode only when the one before found every result finite, to
// name the first op that produced a NaN or an infinity, at its model line, and
// which mode reproduced it. When a finite loss breaks the divergence rule
// (Divergence.h), the step is replayed in the first mode with per-op root mean
// squares to name the op where the values blow up (the forward op whose
// result's RMS is the largest multiple of its largest input's), and the
// parameter whose update at that step is the largest relative to its weights.
// The replay needs the state before the step: the parameters and Adam's
// moments are still that state, because the trainer applies a step's gradients
// only once its loss is finite and within the divergence rule (a diverged
// step's update goes to a copy, for the ratios) and the optimizer refuses a
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

/// Replays a diverged step and returns what to add to the trainer's error: the
/// located op where the values blow up and the parameter with the largest
/// update-to-weight ratio (the RMS of its update at this step over the RMS of
/// its weights before it; `after` holds the parameters with the step's update
/// applied), or why the replay could not run.
std::string replayDivergedStep(ProgramFactory &factory, const StepReplayRequest &r, const ParamStore &after);

}  // namespace heed::rt

//===- NanReplay.h - a training step checked after every op ------*- C++ -*-===//
//
// The checked mode of rt::CheckedStep (runtime/train/CheckedStep.h): the
// model's @train_step, built as for training, runs on the reference
// interpreter, and after every op each float result is checked for NaN and
// infinities. The first op with one is reported at its model line, with a
// caret, whether it ran in the forward (the ops the loss depends on) or the
// backward, and the range of each of its inputs. Both backends train the same
// @train_step IR, so this replays a step of either (up to the compiled
// kernels' rounding: a NaN the reference does not reproduce is reported as
// such by the trainer).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/ImportToIR.h"
#include "runtime/train/CheckedStep.h"

#include <memory>
#include <string>

namespace heed {

/// The checked train_step of `modelPath` (a model file) built with `options`;
/// null after printing located errors.
std::unique_ptr<rt::CheckedStep> buildCheckedStep(const std::string &modelPath, const ImportOptions &options);

}  // namespace heed

//===- NanReplay.h - a training step checked after every op ------*- C++ -*-===//
//
// The checked modes of rt::CheckedStep (runtime/train/CheckedStep.h): the
// model's @train_step, built as for training, runs with a look at every op's
// results, either
//   - on the compiled backend with fusion off (CompiledProgram.h,
//     ObservableProgram: every heed op its own kernel or library call, each
//     schedule step's outputs mapped back to its op), which reproduces a NaN
//     that only the compiled kernels' rounding makes, or
//   - on the reference interpreter.
// run() reports the first op with a NaN or an infinity at its model line, with
// a caret, whether it ran in the forward (the ops the loss depends on) or the
// backward, and the range of each of its inputs. largestGrowth() reports the
// forward op whose result's RMS is the largest multiple of its inputs' (a
// diverged step: where the values blow up). Both backends train the same
// @train_step IR, so either mode replays a step of either backend.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/ImportToIR.h"
#include "runtime/train/CheckedStep.h"

#include <memory>
#include <string>
#include <vector>

namespace heed {

/// The checked modes of `modelPath`'s train_step built with `options`, in the
/// order a replay tries them: with `compiled`, the compiled backend with fusion
/// off, then the reference interpreter; else the reference interpreter only.
/// `shownPath` (empty: the model's own path) names the model file in the
/// reports (an artifact's stored source is built from a temporary copy).
/// Empty after printing located errors.
std::vector<std::unique_ptr<rt::CheckedStep>> buildCheckedSteps(const std::string &modelPath,
                                                                const ImportOptions &options, bool compiled,
                                                                const std::string &shownPath = "");

}  // namespace heed

//===- InterpretedProgram.h - a model run by the reference backend -*- C++ -*-===//
#pragma once

#include "frontend/ImportToIR.h"
#include "runtime/Program.h"

#include <memory>
#include <string>

namespace heed {

/// Parses, checks and compiles `modelPath` down to the training module
/// (@train_step, @eval, @forward) and runs it with the reference interpreter.
/// Returns null after printing located errors.
std::unique_ptr<rt::Program> buildReferenceProgram(const std::string &modelPath,
                                                   const ImportOptions &options);

}  // namespace heed

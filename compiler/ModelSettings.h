//===- ModelSettings.h - a model's config and train block as plain maps -*- C++ -*-===//
//
// The imported module's `heed.config` (numbers and bools, batch included) and
// `heed.train` (each value as the text a flag would give) attributes, as the
// maps the runtime reads: rt::ModelInfo for a compiled program, and `heed
// check`, which runs the trainer's settings checks on them without compiling.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <map>
#include <string>

namespace mlir {
class ModuleOp;
}  // namespace mlir

namespace heed {

/// Config values after --set, plus batch (bools as 0/1).
std::map<std::string, double> modelConfigOf(mlir::ModuleOp imported);

/// The train block, by key; numbers as "%.9g" text, bools as true/false.
std::map<std::string, std::string> trainBlockOf(mlir::ModuleOp imported);

}  // namespace heed

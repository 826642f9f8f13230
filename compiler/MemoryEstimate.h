//===- MemoryEstimate.h - the memory an entry function keeps alive -*- C++ -*-===//
//
// The largest set of tensors an entry point of the training module holds at
// once, found by the liveness both backends use (a value is freed after its
// last use; arguments and results stay): with the parameters
// (rt::parameterNeed) it is what rt::checkMemory compares with the memory
// available, before any tensor is allocated. Parameters (heed.param results)
// are counted once, as parameters, not per entry.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/MemoryBudget.h"

#include "mlir/IR/BuiltinOps.h"

namespace heed {

/// Adds the entry of `module` with the largest live set to `need` (its bytes as
/// need.activationBytes, its largest value to need.largest). Without `training`
/// train_step is skipped: evaluating and decoding never run it.
void addActivationNeed(mlir::ModuleOp module, bool training, rt::MemoryNeed &need);

}  // namespace heed

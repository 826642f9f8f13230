//===- ModelSignature.h - a model's inputs and outputs ----------*- C++ -*-===//
//
// The tensors a model takes and returns, read from the imported module's
// @forward (before any pass): names, resolved shapes (batch bound), the
// model's dimension names and dtypes. `heed check --json` prints it, `heed
// forward` binds the user's arrays by it and `heed export` writes it into
// model.py.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Program.h"

#include <string>
#include <vector>

namespace mlir {
class ModuleOp;
}  // namespace mlir

namespace heed {

struct ModelSignature {
  std::string model;
  int64_t batch = 0;
  std::vector<rt::TensorSpec> inputs;
  std::vector<rt::TensorSpec> outputs;  // the `output` tensors, in statement order (no loss)
  std::string loss;                     // the minimized value's name, "" if inference only
};

/// The signature of an imported model (its @forward with heed.name/heed.dims attributes).
ModelSignature signatureOf(mlir::ModuleOp imported);

/// "f32", "i32", "bool": the model language's names.
const char *languageDtypeName(rt::DType t);

}  // namespace heed

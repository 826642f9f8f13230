//===- GradHarness.h - finite-difference checks of one op's gradient ------===//
//
// Builds `loss = sum(op(inputs) * r)` (r a fixed random tensor) around one op,
// runs heed-autodiff, and compares @train_step's gradients for every float
// input with central differences of the same loss, all in float64 through the
// reference interpreter.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include "mlir/IR/Builders.h"

#include <functional>
#include <string>
#include <vector>

namespace heed::test {

struct InputSpec {
  enum Kind { Normal, Positive, AwayFromZero, Distinct, Ids, Mask } kind = Normal;
  rt::Shape shape;
  int64_t idLimit = 0;  // Ids: values in [0, idLimit)
  static InputSpec normal(rt::Shape s) { return {Normal, std::move(s)}; }
  static InputSpec positive(rt::Shape s) { return {Positive, std::move(s)}; }
  static InputSpec awayFromZero(rt::Shape s) { return {AwayFromZero, std::move(s)}; }
  static InputSpec distinct(rt::Shape s) { return {Distinct, std::move(s)}; }
  static InputSpec ids(rt::Shape s, int64_t limit) { return {Ids, std::move(s), limit}; }
  static InputSpec mask(rt::Shape s) { return {Mask, std::move(s)}; }
};

using BuildFn =
    std::function<mlir::Value(mlir::OpBuilder &, mlir::Location, llvm::ArrayRef<mlir::Value>)>;

struct GradCase {
  std::string op;  // the mnemonic under test, for the op-table coverage check
  std::string name;
  std::vector<InputSpec> inputs;
  BuildFn build;
  bool training = false;  // run with dropout active (fixed step)
  double eps = 1e-6;
  double tolerance = 1e-6;
};

struct GradResult {
  std::vector<double> relError;  // one per float input
  std::vector<double> gradNorm;
  std::string error;              // non-empty if the case could not run
};

GradResult checkGradient(const GradCase &c);

/// All cases, one or more per differentiable op.
const std::vector<GradCase> &gradCases();

}  // namespace heed::test

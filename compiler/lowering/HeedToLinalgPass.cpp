//===- HeedToLinalgPass.cpp - heed-to-linalg ------------------------------===//
//
// lowerHeedToLinalg as a pass: every heed op of a function becomes linalg /
// tensor / arith / math on tensors, by the template its record declares
// (HeedToLinalg.cpp). Runs on the fused kernels heed-partition outlines:
//   heed-opt \
//     --pass-pipeline='builtin.module(heed-partition,builtin.module(func.func(heed-to-linalg)))'
// An op with no linalg lowering (a library call) is an error naming it.
//
//===----------------------------------------------------------------------===//

#include "compiler/lowering/HeedToLinalg.h"
#include "compiler/lowering/LoweringPasses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace heed {
namespace {

struct HeedToLinalgPass : PassWrapper<HeedToLinalgPass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(HeedToLinalgPass)
  StringRef getArgument() const final { return "heed-to-linalg"; }
  StringRef getDescription() const final {
    return "Lower a fused group of heed ops to linalg/tensor/arith/math on tensors";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, linalg::LinalgDialect, math::MathDialect,
                    tensor::TensorDialect>();
  }
  void runOnOperation() override {
    if (failed(lowerHeedToLinalg(getOperation()))) signalPassFailure();
  }
};

}  // namespace

std::unique_ptr<Pass> createHeedToLinalgPass() { return std::make_unique<HeedToLinalgPass>(); }

}  // namespace heed

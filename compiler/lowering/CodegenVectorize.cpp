//===- CodegenVectorize.cpp -----------------------------------------------===//

#include "compiler/lowering/CodegenVectorize.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cstdlib>
#include <functional>
#include <cstring>

using namespace mlir;

namespace heed {

bool vectorizeKernelsEnabled() {
  const char *e = std::getenv("HEED_VECTORIZE");
  return !(e && std::strcmp(e, "0") == 0);
}

namespace {

/// The lanes to vectorize `op`'s innermost loop with, or 0 to leave it scalar.
/// Only ops whose every operand either ignores the innermost loop or walks it as
/// its own contiguous last dimension (so each tile is one plain vector load or
/// store, no gather), with static loop bounds, no i1 buffers (a vector<16xi1>
/// load would read bits where memref<i1> keeps bytes), and a row that 16, 8 or
/// 4 lanes divide (so there is no remainder: the other rows stay scalar loops).
int64_t vectorWidth(linalg::LinalgOp op) {
  unsigned loops = op.getNumLoops();
  if (loops == 0 || !op.hasPureBufferSemantics()) return 0;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t row = ranges.back();
  if (ShapedType::isDynamic(row)) return 0;
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type) continue;  // a scalar (linalg.fill's value)
    if (type.getElementType().getIntOrFloatBitWidth() < 8) return 0;
    AffineMap map = op.getMatchingIndexingMap(&operand);
    for (unsigned r = 0; r < map.getNumResults(); ++r) {
      auto dim = dyn_cast<AffineDimExpr>(map.getResult(r));
      if (!dim) {
        auto cst = dyn_cast<AffineConstantExpr>(map.getResult(r));
        if (cst && cst.getValue() == 0) continue;  // a broadcast size-1 dimension
        return 0;
      }
      if (dim.getPosition() != loops - 1) continue;
      if (r + 1 != map.getNumResults()) return 0;  // the row is not the last dimension
      SmallVector<int64_t> strides;
      int64_t offset;
      if (failed(getStridesAndOffset(type, strides, offset)) || strides.back() != 1) return 0;
    }
  }
  if (failed(linalg::vectorizeOpPrecondition(op))) return 0;
  for (int64_t w : {16, 8, 4})
    if (row % w == 0) return w;
  return 0;
}

/// Replaces `op` by loops over 1 x ... x 1 x `width` tiles, in the order of
/// its own loops, and vectorizes the tile. Failing that, the tile stays a
/// (scalar) linalg op that convert-linalg-to-loops lowers like any other.
void tileAndVectorize(IRRewriter &rewriter, linalg::LinalgOp op, int64_t width) {
  SmallVector<int64_t> sizes(op.getNumLoops(), 1);
  sizes.back() = width;
  rewriter.setInsertionPoint(op);
  FailureOr<linalg::TiledLinalgOp> tiled =
      linalg::tileLinalgOp(rewriter, op, linalg::LinalgTilingOptions().setTileSizes(sizes));
  if (failed(tiled)) return;
  rewriter.eraseOp(op);
  (void)linalg::vectorize(rewriter, tiled->op);
}

/// Lowers the tiles' n-D vector ops to 1-D loads, stores, arithmetic and
/// ordered reductions (vector.reduction with the accumulator, which the LLVM
/// conversion turns into llvm.vector.reduce.fadd without reassociation).
void lowerToRowVectors(func::FuncOp fn) {
  MLIRContext *ctx = fn.getContext();
  // In stages: each one's patterns would undo another's (unit dims dropped and
  // re-added around multi-reductions), so they run one after the other.
  auto apply = [&](const std::function<void(RewritePatternSet &)> &add) {
    RewritePatternSet patterns(ctx);
    add(patterns);
    vector::TransferReadOp::getCanonicalizationPatterns(patterns, ctx);
    vector::TransferWriteOp::getCanonicalizationPatterns(patterns, ctx);
    // A reduction over unit dimensions (a column sum's tile) is one add into
    // the accumulator.
    vector::MultiDimReductionOp::getCanonicalizationPatterns(patterns, ctx);
    vector::ShapeCastOp::getCanonicalizationPatterns(patterns, ctx);
    vector::BroadcastOp::getCanonicalizationPatterns(patterns, ctx);
    vector::ExtractOp::getCanonicalizationPatterns(patterns, ctx);
    vector::TransposeOp::getCanonicalizationPatterns(patterns, ctx);
    memref::SubViewOp::getCanonicalizationPatterns(patterns, ctx);
    (void)applyPatternsAndFoldGreedily(fn, std::move(patterns));
  };
  apply([](RewritePatternSet &p) {
    vector::populateVectorTransferPermutationMapLoweringPatterns(p);
    vector::populateCastAwayVectorLeadingOneDimPatterns(p);
  });
  apply([](RewritePatternSet &p) {
    vector::populateVectorMultiReductionLoweringPatterns(p, vector::VectorMultiReductionLowering::InnerReduction);
  });
  apply([](RewritePatternSet &p) {
    vector::populateVectorTransferDropUnitDimsPatterns(p);
    vector::populateVectorTransferLoweringPatterns(p, /*maxTransferRank=*/1);
    vector::populateVectorBroadcastLoweringPatterns(p);
    vector::populateVectorShapeCastLoweringPatterns(p);
  });
}

/// Math ops on vectors become polynomials (the scalar ones left in unvectorized
/// loops keep libm, Codegen.cpp).
void approximateVectorMath(func::FuncOp fn) {
  SmallVector<Operation *> ops;
  fn.walk([&](Operation *op) {
    if (isa<math::MathDialect>(op->getDialect()) && op->getNumResults() == 1 &&
        isa<VectorType>(op->getResult(0).getType()))
      ops.push_back(op);
  });
  if (ops.empty()) return;
  RewritePatternSet patterns(fn.getContext());
  populateMathPolynomialApproximationPatterns(patterns);
  GreedyRewriteConfig config;
  config.strictMode = GreedyRewriteStrictness::ExistingAndNewOps;
  (void)applyOpPatternsAndFold(ops, std::move(patterns), config);
}

struct VectorizeKernelsPass : PassWrapper<VectorizeKernelsPass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(VectorizeKernelsPass)
  StringRef getArgument() const override { return "heed-vectorize-kernels"; }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<affine::AffineDialect, arith::ArithDialect, math::MathDialect, memref::MemRefDialect,
                    scf::SCFDialect, vector::VectorDialect>();
  }
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    SmallVector<std::pair<linalg::LinalgOp, int64_t>> todo;
    fn.walk([&](linalg::LinalgOp op) {
      if (int64_t w = vectorWidth(op)) todo.push_back({op, w});
    });
    if (todo.empty()) return;
    IRRewriter rewriter(&getContext());
    for (auto [op, width] : todo) tileAndVectorize(rewriter, op, width);
    lowerToRowVectors(fn);
    approximateVectorMath(fn);
  }
};

}  // namespace

std::unique_ptr<Pass> createVectorizeKernelsPass() { return std::make_unique<VectorizeKernelsPass>(); }

}  // namespace heed

//===- PartitionPass.cpp - heed-partition ---------------------------------===//
//
// Runs the compiled backend's partition (Partition.h) and leaves its decisions
// in the IR: library calls with their epilogues and absorbed transposes, fused
// kernels, row splits. Before/after:
//
//   %0 = heed.matmul %x, %w : ...         %0 = heed.matmul %x, %w {heed.library = "matmul + bias + relu"}
//   %1 = heed.add %0, %b : ...      ->    %1 = heed.add %0, %b {heed.absorbed = "epilogue"}
//   %2 = heed.relu %1 : ...               %2 = heed.relu %1 {heed.absorbed = "epilogue"}
//   %3 = heed.exp %2 : ...                %3 = heed.exp %2 {heed.kernel = "f_k0"}
//                                         module @kernels { func.func @f_k0(...) {heed.exp ...} }
//
//===----------------------------------------------------------------------===//

#include "compiler/lowering/LoweringPasses.h"
#include "compiler/lowering/Partition.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace heed {
namespace {

struct PartitionPass : PassWrapper<PartitionPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(PartitionPass)
  PartitionPass() = default;
  PartitionPass(const PartitionPass &other) : PassWrapper(other) {}

  // The defaults are the environment's, as in the compiled backend.
  Option<int64_t> rowChunks{*this, "row-chunks",
                            llvm::cl::desc("row chunks of a row-wise kernel (HEED_ROW_CHUNKS; 1: no split)"),
                            llvm::cl::init(PartitionOptions().rowChunks)};
  Option<int64_t> rowSplitMinElements{
      *this, "row-split-min-elements",
      llvm::cl::desc("least elements written (or read from the largest input) worth a row split (HEED_ROW_SPLIT_MIN_ELEMENTS)"),
      llvm::cl::init(PartitionOptions().rowSplitMinElements)};
  Option<bool> epilogues{*this, "epilogues",
                         llvm::cl::desc("bias, relu/gelu (and residual) adds as matmul post-ops "
                                        "(HEED_MATMUL_EPILOGUES)"),
                         llvm::cl::init(PartitionOptions().epilogues)};
  Option<bool> residual{*this, "residual-epilogues",
                        llvm::cl::desc("a same-shape add after a matmul as its sum post-op "
                                       "(HEED_MATMUL_RESIDUAL)"),
                        llvm::cl::init(PartitionOptions().residualEpilogues)};

  StringRef getArgument() const final { return "heed-partition"; }
  StringRef getDescription() const final {
    return "Partition each function into library calls and fused kernels; annotate the decisions "
           "and append the kernels as module @kernels";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<func::FuncDialect>();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    PartitionOptions o;
    o.rowChunks = rowChunks;
    o.rowSplitMinElements = rowSplitMinElements;
    o.epilogues = epilogues;
    o.residualEpilogues = residual;
    std::map<std::string, Schedule> schedules;
    OwningOpRef<ModuleOp> kernels = outlineKernels(module, schedules, o);
    for (func::FuncOp fn : module.getOps<func::FuncOp>())
      annotateSchedule(fn, schedules.at(fn.getName().str()), *kernels);
    kernels->setSymName("kernels");
    module.getBody()->push_back(kernels.release());
  }
};

}  // namespace

std::unique_ptr<Pass> createPartitionPass() { return std::make_unique<PartitionPass>(); }

}  // namespace heed

//===- Codegen.cpp --------------------------------------------------------===//
//
// The pass pipeline follows the one measured to work on MLIR 19 (bufferize with
// function boundaries, results to out-params, deallocation, loops, LLVM); see
// docs/ARCHITECTURE.md. With the vector stage (CodegenVectorize.h) the
// vectorized tiles' math ops are polynomials; math ops left scalar (exp, log,
// tanh, erf) call libm's float functions, like the reference kernels.
//
//===----------------------------------------------------------------------===//

#include "compiler/lowering/Codegen.h"

#include "compiler/lowering/CodegenVectorize.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;

namespace heed {

void registerCodegenDialects(DialectRegistry &registry) {
  registry.insert<affine::AffineDialect, arith::ArithDialect, bufferization::BufferizationDialect,
                  cf::ControlFlowDialect, func::FuncDialect, linalg::LinalgDialect,
                  LLVM::LLVMDialect, math::MathDialect, memref::MemRefDialect, scf::SCFDialect,
                  tensor::TensorDialect, vector::VectorDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
}

namespace {
/// Adds `k_packed(ptr args)` for every kernel `k`: loads args[i] (a pointer to the
/// i-th buffer pointer) and calls `k` with the buffer pointers.
void addPackedEntries(ModuleOp module) {
  OpBuilder b(module.getContext());
  auto ptrTy = LLVM::LLVMPointerType::get(module.getContext());
  SmallVector<LLVM::LLVMFuncOp> kernels;
  for (auto fn : module.getOps<LLVM::LLVMFuncOp>())
    if (!fn.isExternal() && !fn.getName().ends_with("_packed")) kernels.push_back(fn);
  for (LLVM::LLVMFuncOp fn : kernels) {
    b.setInsertionPointAfter(fn);
    auto voidTy = LLVM::LLVMVoidType::get(module.getContext());
    auto packed = b.create<LLVM::LLVMFuncOp>(fn.getLoc(), (fn.getName() + "_packed").str(),
                                             LLVM::LLVMFunctionType::get(voidTy, {ptrTy}));
    Block *entry = packed.addEntryBlock(b);
    b.setInsertionPointToStart(entry);
    SmallVector<Value> args;
    unsigned n = fn.getFunctionType().getNumParams();
    for (unsigned i = 0; i < n; ++i) {
      auto slot = b.create<LLVM::GEPOp>(fn.getLoc(), ptrTy, ptrTy, entry->getArgument(0),
                                        ArrayRef<LLVM::GEPArg>{(int32_t)i});
      Value holder = b.create<LLVM::LoadOp>(fn.getLoc(), ptrTy, slot);
      args.push_back(b.create<LLVM::LoadOp>(fn.getLoc(), ptrTy, holder));
    }
    b.create<LLVM::CallOp>(fn.getLoc(), fn, args);
    b.create<LLVM::ReturnOp>(fn.getLoc(), ValueRange{});
  }
}
}  // namespace

namespace {
/// linalg-fuse-elementwise-ops fuses a producer only into its single use. A
/// kernel often both returns an elementwise result and reduces it (relu's
/// backward and its bias gradient), or reads it twice. This pattern fuses such a
/// producer into its first consumer anyway and keeps the producer's value as an
/// extra result of the fused loop, replacing its other uses (MLIR 19's own
/// multi-use path leaves them on the producer, which then still runs: the
/// elements are computed twice and the inputs read twice). It saves a pass over
/// memory and computes every element as before. Only when every other use comes
/// after the consumer, so the fused op, which takes the consumer's place,
/// dominates them.
struct FuseMultiUseProducer : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp consumer, PatternRewriter &rewriter) const override {
    for (OpOperand &operand : consumer->getOpOperands()) {
      auto producer = operand.get().getDefiningOp<linalg::GenericOp>();
      if (!producer || producer->hasOneUse() || !linalg::areElementwiseOpsFusable(&operand)) continue;
      bool laterUses = llvm::all_of(producer->getUsers(), [&](Operation *u) {
        return u == consumer.getOperation() ||
               (u->getBlock() == consumer->getBlock() && consumer->isBeforeInBlock(u));
      });
      if (!laterUses) continue;
      FailureOr<linalg::ElementwiseOpFusionResult> fused = linalg::fuseElementwiseOps(rewriter, &operand);
      if (failed(fused)) continue;
      for (auto [orig, repl] : fused->replacements) rewriter.replaceAllUsesWith(orig, repl);
      rewriter.eraseOp(consumer);
      if (producer->use_empty()) rewriter.eraseOp(producer);
      return success();
    }
    return rewriter.notifyMatchFailure(consumer, "no multi-use elementwise producer to fuse");
  }
};

/// The patterns of MLIR 19's LinalgElementwiseOpFusionPass (producers with a
/// single use), plus FuseMultiUseProducer.
struct FuseElementwisePass : PassWrapper<FuseElementwisePass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(FuseElementwisePass)
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    linalg::ControlFusionFn singleUse = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      return producer && producer->hasOneUse();
    };
    linalg::populateElementwiseOpsFusionPatterns(patterns, singleUse);
    patterns.add<FuseMultiUseProducer>(ctx);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, singleUse);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, ctx);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
    ctx->getLoadedDialect<linalg::LinalgDialect>()->getCanonicalizationPatterns(patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, singleUse);
    GreedyRewriteConfig config;
    config.useTopDownTraversal = true;
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns), config))) signalPassFailure();
  }
};
}  // namespace

namespace {
/// convert-math-to-libm for scalar math ops only: the vector stage's
/// polynomials leave vector fma, floor, abs and sqrt, which must become LLVM's
/// vector intrinsics (convert-math-to-llvm), not a libm call per lane.
struct ScalarMathToLibmPass : PassWrapper<ScalarMathToLibmPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ScalarMathToLibmPass)
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, func::FuncDialect, LLVM::LLVMDialect>();
  }
  void runOnOperation() override {
    SmallVector<Operation *> scalarMath;
    getOperation().walk([&](Operation *op) {
      if (isa<math::MathDialect>(op->getDialect()) &&
          llvm::none_of(op->getResultTypes(), [](Type t) { return isa<VectorType>(t); }))
        scalarMath.push_back(op);
    });
    RewritePatternSet patterns(&getContext());
    populateMathToLibmConversionPatterns(patterns);
    GreedyRewriteConfig config;
    config.strictMode = GreedyRewriteStrictness::ExistingOps;
    (void)applyOpPatternsAndFold(scalarMath, std::move(patterns), config);
  }
};
}  // namespace

LogicalResult fuseLinalg(ModuleOp module) {
  PassManager pm(module.getContext());
  pm.addPass(std::make_unique<FuseElementwisePass>());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  return pm.run(module);
}

LogicalResult lowerLinalgToLLVM(ModuleOp module, bool vectorize) {
  PassManager pm(module.getContext());
  bufferization::OneShotBufferizationOptions bo;
  bo.bufferizeFunctionBoundaries = true;
  bo.setFunctionBoundaryTypeConversion(bufferization::LayoutMapOption::IdentityLayoutMap);
  pm.addPass(bufferization::createOneShotBufferizePass(bo));
  bufferization::BufferResultsToOutParamsOpts oo;
  oo.hoistStaticAllocs = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(oo));
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  if (vectorize) {
    pm.addNestedPass<func::FuncOp>(createVectorizeKernelsPass());
    // Transfers the vector stage left above rank 1 (none expected) become loops.
    pm.addPass(createConvertVectorToSCFPass(VectorTransferToSCFOptions().enableFullUnroll()));
  }
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addPass(memref::createExpandStridedMetadataPass());  // before lower-affine
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertSCFToCFPass());
  // exp/log/tanh/erf call the C library's float functions, as the reference
  // kernels do, so the two backends round alike (parity to 1e-5 and beyond).
  pm.addPass(std::make_unique<ScalarMathToLibmPass>());
  pm.addPass(createCanonicalizerPass());
  if (vectorize) pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  ConvertFuncToLLVMPassOptions fo;
  fo.useBarePtrCallConv = true;
  pm.addPass(createConvertFuncToLLVMPass(fo));
  pm.addPass(createReconcileUnrealizedCastsPass());
  if (failed(pm.run(module))) return failure();
  addPackedEntries(module);
  return success();
}

static std::unique_ptr<llvm::TargetMachine> hostMachine(bool pic, std::string &error) {
  static bool initialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    return true;
  }();
  (void)initialized;
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder) {
    error = llvm::toString(builder.takeError());
    return nullptr;
  }
  builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  if (pic) builder->setRelocationModel(llvm::Reloc::PIC_);
  auto tm = builder->createTargetMachine();
  if (!tm) {
    error = llvm::toString(tm.takeError());
    return nullptr;
  }
  return std::move(*tm);
}

std::unique_ptr<JitKernels> JitKernels::create(ModuleOp module, std::string &error) {
  auto tm = hostMachine(false, error);
  if (!tm) return nullptr;
  ExecutionEngineOptions opts;
  opts.transformer = makeOptimizingTransformer(3, 0, tm.get());
  opts.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  auto engine = ExecutionEngine::create(module, opts, std::move(tm));
  if (!engine) {
    error = llvm::toString(engine.takeError());
    return nullptr;
  }
  auto jit = std::unique_ptr<JitKernels>(new JitKernels());
  jit->engine = std::move(*engine);
  return jit;
}

JitKernels::~JitKernels() = default;

JitKernels::PackedFn JitKernels::lookup(const std::string &name) {
  auto sym = engine->lookup(name + "_packed");
  if (!sym) {
    llvm::consumeError(sym.takeError());
    return nullptr;
  }
  return reinterpret_cast<PackedFn>(*sym);
}

LogicalResult emitNative(ModuleOp module, EmitKind kind, std::string &out, std::string &error) {
  llvm::LLVMContext llctx;
  auto llmod = translateModuleToLLVMIR(module, llctx);
  if (!llmod) {
    error = "translation to LLVM IR failed";
    return failure();
  }
  auto tm = hostMachine(true, error);
  if (!tm) return failure();
  llmod->setDataLayout(tm->createDataLayout());
  llmod->setTargetTriple(tm->getTargetTriple().str());
  if (auto err = makeOptimizingTransformer(3, 0, tm.get())(llmod.get())) {
    error = llvm::toString(std::move(err));
    return failure();
  }
  llvm::raw_string_ostream os(out);
  if (kind == EmitKind::LLVMIR) {
    llmod->print(os, nullptr);
    return success();
  }
  llvm::SmallVector<char, 0> buf;
  llvm::raw_svector_ostream bos(buf);
  llvm::legacy::PassManager pm;
  auto fileType = kind == EmitKind::Object ? llvm::CodeGenFileType::ObjectFile
                                           : llvm::CodeGenFileType::AssemblyFile;
  if (tm->addPassesToEmitFile(pm, bos, nullptr, fileType)) {
    error = "the target cannot emit this file type";
    return failure();
  }
  pm.run(*llmod);
  out.assign(buf.begin(), buf.end());
  return success();
}

}  // namespace heed

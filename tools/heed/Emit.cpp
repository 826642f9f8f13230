//===- Emit.cpp - `heed emit --stage S`: show any stage of the pipeline ---===//

#include "tools/heed/Commands.h"
#include "compiler/ModelLoader.h"

#include "compiler/Pipeline.h"
#include "compiler/lowering/Codegen.h"
#include "compiler/lowering/KernelPipeline.h"
#include "frontend/Parser.h"
#include "ops/HeedDialect.h"
#include "ops/ModulePrecision.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

using namespace mlir;

namespace heed {

int finishVerify(ModelLoader &loader);

/// Graphviz: one node per op (mnemonic and result shape), edges along operands.
static void printDot(func::FuncOp fn, llvm::raw_ostream &os) {
  std::map<Operation *, int> ids;
  os << "digraph \"" << fn.getName() << "\" {\n  node [shape=box, fontname=\"monospace\"];\n";
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    auto name = fn.getArgAttrOfType<StringAttr>(i, "heed.name");
    os << "  arg" << i << " [shape=oval, label=\"" << (name ? name.getValue() : "arg") << "\\n"
       << fn.getArgument(i).getType() << "\"];\n";
  }
  int next = 0;
  fn.walk([&](Operation *op) {
    if (isa<func::FuncOp>(op)) return;
    int id = ids[op] = next++;
    std::string label = op->getName().getStringRef().str();
    if (auto p = dyn_cast<ParamOp>(op)) label = "param " + p.getName().str();
    os << "  n" << id << " [label=\"" << label;
    for (Type t : op->getResultTypes()) os << "\\n" << t;
    os << "\"" << (isa<ParamOp>(op) ? ", style=filled, fillcolor=lightyellow" : "") << "];\n";
    for (Value v : op->getOperands()) {
      if (auto arg = dyn_cast<BlockArgument>(v))
        os << "  arg" << arg.getArgNumber() << " -> n" << id << ";\n";
      else
        os << "  n" << ids[v.getDefiningOp()] << " -> n" << id << ";\n";
    }
  });
  os << "}\n";
}

int runEmit(const ModelArgs &m, const std::string &stage, const std::string &output,
            bool locations) {
  if (std::find(std::begin(kEmitStages), std::end(kEmitStages), stage) == std::end(kEmitStages)) {
    llvm::errs() << "error: unknown stage '" << stage << "' (stages: " << emitStageList(", ") << ")\n";
    return 1;
  }
  // Flags that the stage would ignore are errors.
  if (locations && stage != "graph" && stage != "decomposed" && stage != "grad") {
    llvm::errs() << "error: --locations applies to the IR stages graph, decomposed and grad, not '" << stage
                 << "'\n";
    return 1;
  }
  if (stage == "ast" && (!m.sets.empty() || m.batch > 0)) {
    llvm::errs() << "error: " << (m.sets.empty() ? "--batch" : "--set")
                 << " does not apply to --stage ast, which prints the model as parsed, before config values "
                    "are bound\n";
    return 1;
  }
  if (stage == "obj" && output.empty()) {
    llvm::errs() << "error: --stage obj writes a binary object file: give -o FILE\n";
    return 1;
  }
  ModelLoader loader(m.verifyDiagnostics);

  std::string err;
  auto out = mlir::openOutputFile(output.empty() ? "-" : output, &err);
  if (!out) {
    llvm::errs() << "error: " << err << "\n";
    return 1;
  }
  if (stage == "ast") {
    auto ast = loader.parse(m.path);
    if (m.verifyDiagnostics) return finishVerify(loader);
    if (!ast) return 1;
    printAST(*ast, loader.sourceMgr(), out->os());
    out->keep();
    return 0;
  }
  ImportOptions opts;
  if (!parseOverrides(m.sets, opts)) return 1;
  if (m.batch > 0) opts.batch = m.batch;
  LoadedModel model = loader.load(m.path, opts);
  if (m.verifyDiagnostics) return finishVerify(loader);
  if (!model.module) return 1;
  ModuleOp mod = *model.module;
  // The kernels of a model whose train block says precision = "bf16" are those
  // `heed train` compiles: fused kernels write the bf16 copies matmuls read.
  if (auto train = mod->getAttrOfType<mlir::DictionaryAttr>("heed.train"))
    if (auto p = train.getAs<mlir::StringAttr>("precision"); p && p.getValue() == "bf16")
      setModulePrecision(mod, rt::Precision::BF16);

  if (stage == "decomposed" || stage == "dot") {
    if (failed(runDecomposePipeline(mod))) return 1;
  } else if (stage == "grad") {
    if (failed(runTrainingPipeline(mod))) return 1;
  } else if (stage != "graph") {
    // Kernel stages: the fused groups of every entry point, down to machine code.
    if (failed(runTrainingPipeline(mod))) return 1;
    KernelStage upTo = stage == "fused"    ? KernelStage::Fused
                       : stage == "linalg" ? KernelStage::Linalg
                                           : KernelStage::LLVMDialect;
    FailureOr<KernelModule> km = buildKernelModule(mod, upTo);
    if (failed(km)) return 1;
    OwningOpRef<ModuleOp> &kernels = km->kernels;
    std::map<std::string, Schedule> &schedules = km->schedules;
    if (stage == "llvm" || stage == "asm" || stage == "obj") {
      std::string text, error;
      EmitKind kind = stage == "llvm" ? EmitKind::LLVMIR : stage == "asm" ? EmitKind::Assembly : EmitKind::Object;
      if (failed(emitNative(*kernels, kind, text, error))) {
        llvm::errs() << "error: " << error << "\n";
        return 1;
      }
      out->os() << text;
    } else {
      if (stage == "fused")
        for (auto &[entry, sched] : schedules) {
          out->os() << "// @" << entry << ": " << sched.kernels << " fused kernels, "
                    << sched.libraryCalls << " library calls\n";
          printSchedule(sched, out->os());
        }
      kernels->print(out->os());
      out->os() << "\n";
    }
    out->keep();
    return 0;
  }
  if (stage == "dot") {
    printDot(mod.lookupSymbol<func::FuncOp>("forward"), out->os());
  } else {
    OpPrintingFlags flags;
    if (locations) flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false);
    mod.print(out->os(), flags);
    out->os() << "\n";
  }
  out->keep();
  return 0;
}

}  // namespace heed

//===- ScheduleReport.cpp - a partition's decisions, printable ------------===//
//
// The compiled backend keeps its schedule in C++ (Partition.h); these helpers
// write the same decisions onto the IR (the heed-partition pass, lit tests) and
// as comments (`heed emit --stage fused`), so they can be read and checked.
//
//===----------------------------------------------------------------------===//

#include "compiler/lowering/Partition.h"

#include "ops/HeedDialect.h"
#include "ops/RuntimeTypes.h"

#include "mlir/IR/Builders.h"

using namespace mlir;

namespace heed {

std::string libraryCallName(const Step &s) {
  std::string n = s.op->getName().stripDialect().str();
  if (s.transposeLhs || s.transposeRhs)
    n += std::string("(") + (s.transposeLhs ? "transpose_lhs" : "") +
         (s.transposeLhs && s.transposeRhs ? ", " : "") + (s.transposeRhs ? "transpose_rhs" : "") + ")";
  if (s.bias) n += " + bias";
  if (!s.act.empty()) n += " + " + s.act;
  if (s.residual) n += " + residual";
  return n;
}

void annotateSchedule(func::FuncOp fn, const Schedule &schedule, ModuleOp kernelModule) {
  Builder b(fn.getContext());
  fn->setAttr("heed.fused_kernels", b.getI64IntegerAttr(schedule.kernels));
  fn->setAttr("heed.library_calls", b.getI64IntegerAttr(schedule.libraryCalls));
  for (const Step &s : schedule.steps) {
    if (s.kind == Step::Library) {
      s.op->setAttr("heed.library", b.getStringAttr(libraryCallName(s)));
      for (Operation *a : llvm::drop_begin(s.ops))
        a->setAttr("heed.absorbed", b.getStringAttr(isa<TransposeOp>(a) ? "strides" : "epilogue"));
      continue;
    }
    for (Operation *op : s.ops) op->setAttr("heed.kernel", b.getStringAttr(s.kernel));
    if (s.chunks == 1) continue;
    auto k = kernelModule.lookupSymbol<func::FuncOp>(s.kernel);
    k->setAttr("heed.row_chunks", b.getI64IntegerAttr(s.chunks));
    SmallVector<bool> split(s.splitArgs.begin(), s.splitArgs.end());
    k->setAttr("heed.row_split", b.getDenseBoolArrayAttr(split));
    if (llvm::is_contained(s.partialOutputs, true)) {
      SmallVector<bool> partial(s.partialOutputs.begin(), s.partialOutputs.end());
      k->setAttr("heed.partial_outputs", b.getDenseBoolArrayAttr(partial));
    }
  }
}

void printSchedule(const Schedule &schedule, llvm::raw_ostream &os) {
  int64_t params = 0, split = 0;
  for (const Step &s : schedule.steps) {
    params += s.kind == Step::Library && isa<ParamOp>(s.op);
    split += s.chunks > 1;
  }
  if (params) os << "//   " << params << " library param calls (parameters read from the store)\n";
  if (split)
    os << "//   " << split << " kernels are row-split: compiled for 1/chunks of their rows, so their "
       << "types below show that share of the leading (batch) dim; the executor runs the chunks "
          "in parallel\n";
  for (const Step &s : schedule.steps) {
    if (s.kind == Step::Kernel) {
      os << "//   kernel @" << s.kernel << " (" << s.ops.size() << " ops)";
      if (s.chunks > 1) os << ", row-split in " << s.chunks;
      os << "\n";
      continue;
    }
    if (isa<ParamOp>(s.op)) continue;
    os << "//   library " << libraryCallName(s) << ":";
    for (Type t : s.op->getOperandTypes()) os << " " << t;
    os << " ->";
    for (Value v : s.outputs) os << " " << v.getType();
    if (std::string at = locationPrefix(s.op->getLoc()); !at.empty()) {
      while (!at.empty() && (at.back() == ' ' || at.back() == ':')) at.pop_back();
      os << "  (" << at << ")";
    }
    os << "\n";
  }
}

}  // namespace heed

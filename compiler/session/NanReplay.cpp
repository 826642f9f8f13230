//===- NanReplay.cpp - a training step checked after every op -------------===//

#include "compiler/session/NanReplay.h"

#include "compiler/ModuleProgram.h"
#include "compiler/interp/Interpreter.h"
#include "ops/HeedDialect.h"
#include "ops/RuntimeTypes.h"
#include "runtime/Error.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cctype>
#include <cmath>
#include <cstdio>

using namespace mlir;

namespace heed {
namespace {

/// The model built as for training; its functions run on the interpreter.
class TrainingModule : public ModuleProgram {
protected:
  std::vector<rt::Tensor> runFunction(func::FuncOp fn, const std::string &, const std::vector<rt::Tensor> &inputs,
                                      rt::RunContext &ctx) override {
    return interpret(fn, inputs, ctx);
  }
};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

/// The non-finite values of a float tensor.
struct Bad {
  int64_t nan = 0, posInf = 0, negInf = 0;
  int64_t total() const { return nan + posInf + negInf; }
  /// "NaN", "Inf" or "-Inf": the worst kind present.
  const char *kind() const { return nan ? "NaN" : posInf ? "Inf" : "-Inf"; }
};

template <class T>
Bad countBad(const T *x, int64_t n) {
  Bad b;
  for (int64_t i = 0; i < n; ++i)
    if (std::isnan(x[i])) ++b.nan;
    else if (std::isinf(x[i])) ++(x[i] > 0 ? b.posInf : b.negInf);
  return b;
}

Bad countBad(const rt::Tensor &t) {
  if (t.dtype() == rt::DType::F32) return countBad(t.f32(), t.size());
  if (t.dtype() == rt::DType::F64) return countBad(t.f64(), t.size());
  return {};
}

/// "f32[4, 16] in [-3.2, 4.1]", with the non-finite counts when there are any.
std::string describeRange(const rt::Tensor &t) {
  std::string s = std::string(rt::dtypeName(t.dtype())) + rt::shapeToString(t.shape());
  if (t.size() == 0) return s + " (empty)";
  double lo = INFINITY, hi = -INFINITY;
  auto scan = [&](auto *x) {
    for (int64_t i = 0; i < t.size(); ++i)
      if (std::isfinite((double)x[i])) lo = std::min(lo, (double)x[i]), hi = std::max(hi, (double)x[i]);
  };
  switch (t.dtype()) {
  case rt::DType::F32: scan(t.f32()); break;
  case rt::DType::F64: scan(t.f64()); break;
  case rt::DType::I32: scan(t.i32()); break;
  case rt::DType::I64: scan(t.i64()); break;
  case rt::DType::Bool: scan(t.b8()); break;
  }
  s += lo <= hi ? " in [" + num(lo) + ", " + num(hi) + "]" : " with no finite value";
  Bad b = countBad(t);
  if (!b.total()) return s + ", finite";
  s += ", not finite:";
  if (b.nan) s += " " + std::to_string(b.nan) + " NaN";
  if (b.posInf) s += " " + std::to_string(b.posInf) + " Inf";
  if (b.negInf) s += " " + std::to_string(b.negInf) + " -Inf";
  return s;
}

/// The ops the returned loss depends on: the forward. Every other op of
/// @train_step computes gradients (the backward) or feeds the optimizer.
llvm::DenseSet<Operation *> forwardOps(func::FuncOp fn) {
  llvm::DenseSet<Operation *> fwd;
  auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
  SmallVector<Value> work;
  for (unsigned i = 0; i < fn.getNumResults(); ++i)
    if (fn.getResultAttr(i, "heed.loss")) work.push_back(ret.getOperand(i));
  while (!work.empty()) {
    Operation *op = work.pop_back_val().getDefiningOp();
    if (!op || !fwd.insert(op).second) continue;
    for (Value v : op->getOperands()) work.push_back(v);
  }
  return fwd;
}

/// Thrown from the interpreter's after-op hook at the first non-finite result.
struct Found {
  std::string report;
};

class ReferenceCheckedStep : public rt::CheckedStep {
public:
  explicit ReferenceCheckedStep(std::unique_ptr<TrainingModule> m) : module(std::move(m)) {
    fn = module->function("train_step");
    fwd = forwardOps(fn);
  }

  std::string describe() const override {
    return "the reference interpreter, a finiteness check after every op";
  }

  std::optional<std::string> run(const std::vector<rt::Tensor> &inputs, rt::RunContext &ctx) override {
    try {
      interpret(fn, inputs, ctx, [&](Operation &op, ArrayRef<rt::Tensor> operands, ArrayRef<rt::Tensor> results) {
        for (const rt::Tensor &r : results)
          if (Bad b = countBad(r); b.total()) throw Found{report(op, operands, r, b, ctx.step)};
      });
    } catch (Found &f) {
      return f.report;
    }
    return std::nullopt;
  }

private:
  /// The model's own word at the op's caret ("softmax", "attention", a layer
  /// call); empty at an operator (`/`, `@`) or without a source line.
  std::string wordAt(const std::string &line, unsigned col) const {
    std::string w;
    for (size_t i = col - 1; i < line.size() && (std::isalnum((unsigned char)line[i]) || line[i] == '_'); ++i)
      w += line[i];
    return w.empty() || std::isdigit((unsigned char)w[0]) ? "" : w;
  }

  std::string report(Operation &op, ArrayRef<rt::Tensor> operands, const rt::Tensor &result, const Bad &bad,
                     int64_t step) {
    const bool backward = !fwd.contains(&op);
    const std::string prim = op.getName().stripDialect().str();
    FileLineColLoc at = modelFileLoc(op.getLoc());

    // The source line: the model text the program was built from, else the file.
    llvm::SourceMgr sm;
    std::string line;
    unsigned bufId = 0;
    if (at) {
      std::unique_ptr<llvm::MemoryBuffer> buf;
      if (at.getFilename().str() == module->info().sourcePath)
        buf = llvm::MemoryBuffer::getMemBufferCopy(module->info().source, at.getFilename().str());
      else if (auto f = llvm::MemoryBuffer::getFile(at.getFilename().str()))
        buf = std::move(*f);
      if (buf) {
        bufId = sm.AddNewSourceBuffer(std::move(buf), llvm::SMLoc());
        llvm::SMLoc l = sm.FindLocForLineAndColumn(bufId, at.getLine(), 1);
        if (l.isValid()) {
          const char *b = l.getPointer(), *end = sm.getMemoryBuffer(bufId)->getBufferEnd(), *e = b;
          while (e < end && *e != '\n' && *e != '\r') ++e;
          line.assign(b, e);
        }
      }
    }
    std::string word = at && !line.empty() ? wordAt(line, at.getColumn()) : "";

    std::string what;
    if (auto p = dyn_cast<ParamOp>(op)) what = "parameter '" + p.getName().str() + "' holds";
    else what = (word.empty() ? prim : word) + " produced";
    std::string msg = what + " " + bad.kind() + " in the " + (backward ? "backward" : "forward") + " of step " +
                      std::to_string(step) + " (" + std::to_string(bad.total()) + " of " +
                      std::to_string(result.size()) + " values";
    if (!isa<ParamOp>(op) && !word.empty() && word != prim) msg += (backward ? ", in its gradient's " : ", in its ") + prim;
    msg += ")";

    std::string out;
    llvm::raw_string_ostream os(out);
    llvm::SMLoc loc = bufId ? sm.FindLocForLineAndColumn(bufId, at.getLine(), at.getColumn()) : llvm::SMLoc();
    if (loc.isValid()) {
      sm.PrintMessage(os, loc, llvm::SourceMgr::DK_Error, msg, {}, {}, /*ShowColors=*/false);
    } else {
      os << locationPrefix(op.getLoc()) << "error: " << msg << "\n";
    }
    if (operands.empty()) os << "note: " << prim << " has no inputs\n";
    for (size_t i = 0; i < operands.size(); ++i)
      os << "note: " << prim << "'s input " << i + 1 << " of " << operands.size() << ": "
         << describeRange(operands[i]) << "\n";
    os << "note: found by replaying step " << step << " on " << describe();
    return out;
  }

  std::unique_ptr<TrainingModule> module;
  func::FuncOp fn;
  llvm::DenseSet<Operation *> fwd;
};

}  // namespace

std::unique_ptr<rt::CheckedStep> buildCheckedStep(const std::string &modelPath, const ImportOptions &options) {
  auto m = std::make_unique<TrainingModule>();
  if (!m->build(modelPath, options)) return nullptr;
  if (!m->function("train_step")) throw rt::Error("the model has no train_step to replay");
  return std::make_unique<ReferenceCheckedStep>(std::move(m));
}

}  // namespace heed

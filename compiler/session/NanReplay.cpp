//===- NanReplay.cpp - a training step checked after every op -------------===//

#include "compiler/session/NanReplay.h"

#include "compiler/ModuleProgram.h"
#include "compiler/compiled/CompiledProgram.h"
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
#include <optional>

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

/// The values computed from constants alone (a literal and its broadcasts):
/// scale factors, not values the step computes from its inputs and parameters.
llvm::DenseSet<Value> constantValues(func::FuncOp fn) {
  llvm::DenseSet<Value> k;
  for (Operation &op : fn.getBody().front()) {
    bool constant = isa<ConstantOp>(op) ||
                    (op.getNumOperands() > 0 && llvm::all_of(op.getOperands(), [&](Value v) { return k.contains(v); }));
    if (constant) k.insert(op.result_begin(), op.result_end());
  }
  return k;
}

/// Thrown from the after-op hook at the first non-finite result.
struct Found {
  std::string report;
};

/// The root mean square of a float tensor's values; nullopt for other dtypes.
std::optional<double> rms(const rt::Tensor &t) {
  if (t.dtype() != rt::DType::F32 && t.dtype() != rt::DType::F64) return std::nullopt;
  double sum = 0;
  for (int64_t i = 0; i < t.size(); ++i) {
    const double v = t.dtype() == rt::DType::F32 ? (double)t.f32()[i] : t.f64()[i];
    sum += v * v;
  }
  return t.size() ? std::sqrt(sum / (double)t.size()) : 0.0;
}

/// A train_step checked op by op; the modes differ in how they run it.
class CheckedModule : public rt::CheckedStep {
public:
  CheckedModule(ModuleProgram &program, std::string shownPath) : program(program), shownPath(std::move(shownPath)) {
    fn = program.function("train_step");
    fwd = forwardOps(fn);
    constants = constantValues(fn);
  }

  std::optional<std::string> run(const std::vector<rt::Tensor> &inputs, rt::RunContext &ctx) override {
    try {
      runObserved(inputs, ctx, [&](Operation &op, ArrayRef<rt::Tensor> operands, ArrayRef<rt::Tensor> results) {
        for (const rt::Tensor &r : results)
          if (Bad b = countBad(r); b.total()) throw Found{nonFiniteReport(op, operands, r, b, ctx.step)};
      });
    } catch (Found &f) {
      return f.report;
    }
    return std::nullopt;
  }

  std::optional<rt::Growth> largestGrowth(const std::vector<rt::Tensor> &inputs, rt::RunContext &ctx) override {
    std::optional<rt::Growth> best;
    runObserved(inputs, ctx, [&](Operation &op, ArrayRef<rt::Tensor> operands, ArrayRef<rt::Tensor> results) {
      if (!fwd.contains(&op) || isa<ParamOp>(op) || (op.getNumResults() && constants.contains(op.getResult(0)))) return;
      double in = 0, out = 0;
      bool floatIn = false, floatOut = false;
      for (size_t i = 0; i < operands.size() && i < op.getNumOperands(); ++i)
        if (std::optional<double> r = rms(operands[i]); r && !constants.contains(op.getOperand(i)))
          in = std::max(in, *r), floatIn = true;
      size_t which = 0;  // the result with the largest RMS
      for (size_t i = 0; i < results.size(); ++i)
        if (std::optional<double> r = rms(results[i]); r && (!floatOut || *r > out)) out = *r, which = i, floatOut = true;
      if (!floatIn || !floatOut || !(in > 0)) return;
      const double factor = out / in;
      if (best && !(factor > best->factor)) return;
      best = rt::Growth{factor, growthReport(op, operands, results, which, in, out, factor, ctx.step)};
    });
    return best;
  }

protected:
  /// Runs train_step with `afterOp` called after every op.
  virtual void runObserved(const std::vector<rt::Tensor> &inputs, rt::RunContext &ctx, AfterOp afterOp) = 0;

  func::FuncOp fn;

private:
  /// The model's own word at the op's caret ("softmax", "attention", a layer
  /// call); empty at an operator (`/`, `@`) or without a source line.
  static std::string wordAt(const std::string &line, unsigned col) {
    std::string w;
    for (size_t i = col - 1; i < line.size() && (std::isalnum((unsigned char)line[i]) || line[i] == '_'); ++i)
      w += line[i];
    return w.empty() || std::isdigit((unsigned char)w[0]) ? "" : w;
  }

  /// The op's model location, its source line and the word at its caret.
  struct Located {
    FileLineColLoc at;
    llvm::SourceMgr sm;
    unsigned bufId = 0;
    std::string line, word;
  };
  void locate(Operation &op, Located &l) const {
    l.at = modelFileLoc(op.getLoc());
    if (!l.at) return;
    // The source line: the model text the program was built from, else the file.
    std::unique_ptr<llvm::MemoryBuffer> buf;
    const std::string file = l.at.getFilename().str();
    if (file == program.info().sourcePath)
      buf = llvm::MemoryBuffer::getMemBufferCopy(program.info().source, shownPath.empty() ? file : shownPath);
    else if (auto f = llvm::MemoryBuffer::getFile(file))
      buf = std::move(*f);
    if (!buf) return;
    l.bufId = l.sm.AddNewSourceBuffer(std::move(buf), llvm::SMLoc());
    llvm::SMLoc s = l.sm.FindLocForLineAndColumn(l.bufId, l.at.getLine(), 1);
    if (s.isValid()) {
      const char *b = s.getPointer(), *end = l.sm.getMemoryBuffer(l.bufId)->getBufferEnd(), *e = b;
      while (e < end && *e != '\n' && *e != '\r') ++e;
      l.line.assign(b, e);
    }
    if (!l.line.empty()) l.word = wordAt(l.line, l.at.getColumn());
  }

  /// `file:line:col: error: msg`, the line and a caret (or the op's location prefix).
  void printError(llvm::raw_ostream &os, Operation &op, Located &l, const std::string &msg) const {
    llvm::SMLoc loc = l.bufId ? l.sm.FindLocForLineAndColumn(l.bufId, l.at.getLine(), l.at.getColumn()) : llvm::SMLoc();
    if (loc.isValid())
      l.sm.PrintMessage(os, loc, llvm::SourceMgr::DK_Error, msg, {}, {}, /*ShowColors=*/false);
    else
      os << locationPrefix(op.getLoc()) << "error: " << msg << "\n";
  }

  void printInputs(llvm::raw_ostream &os, const std::string &prim, ArrayRef<rt::Tensor> operands) const {
    if (operands.empty()) os << "note: " << prim << " has no inputs\n";
    for (size_t i = 0; i < operands.size(); ++i)
      os << "note: " << prim << "'s input " << i + 1 << " of " << operands.size() << ": "
         << describeRange(operands[i]) << "\n";
  }

  std::string nonFiniteReport(Operation &op, ArrayRef<rt::Tensor> operands, const rt::Tensor &result, const Bad &bad,
                              int64_t step) const {
    const bool backward = !fwd.contains(&op);
    const std::string prim = op.getName().stripDialect().str();
    Located l;
    locate(op, l);
    std::string what;
    if (auto p = dyn_cast<ParamOp>(op)) what = "parameter '" + p.getName().str() + "' holds";
    else what = (l.word.empty() ? prim : l.word) + " produced";
    std::string msg = what + " " + bad.kind() + " in the " + (backward ? "backward" : "forward") + " of step " +
                      std::to_string(step) + " (" + std::to_string(bad.total()) + " of " +
                      std::to_string(result.size()) + " values";
    if (!isa<ParamOp>(op) && !l.word.empty() && l.word != prim)
      msg += (backward ? ", in its gradient's " : ", in its ") + prim;
    msg += ")";

    std::string out;
    llvm::raw_string_ostream os(out);
    printError(os, op, l, msg);
    printInputs(os, prim, operands);
    os << "note: found by replaying step " << step << " on " << describe();
    return out;
  }

  std::string growthReport(Operation &op, ArrayRef<rt::Tensor> operands, ArrayRef<rt::Tensor> results, size_t which,
                           double in, double out, double factor, int64_t step) const {
    const std::string prim = op.getName().stripDialect().str();
    Located l;
    locate(op, l);
    std::string msg = (l.word.empty() ? prim : l.word) + " is where the values blow up in the forward of step " +
                      std::to_string(step) + ": its result" +
                      (results.size() > 1 ? " " + std::to_string(which + 1) : "") + "'s RMS is " + num(factor) +
                      " times its largest input's (" + num(out) + " from " + num(in) +
                      "), the largest ratio of any op the loss depends on";
    if (!l.word.empty() && l.word != prim) msg += " (in its " + prim + ")";
    std::string text;
    llvm::raw_string_ostream os(text);
    printError(os, op, l, msg);
    printInputs(os, prim, operands);
    for (size_t i = 0; i < results.size(); ++i)
      os << "note: " << prim << "'s result" << (results.size() > 1 ? " " + std::to_string(i + 1) : "") << ": "
         << describeRange(results[i]) << "\n";
    os << "note: found by replaying step " << step << " on " << describe() << " (per-op root mean squares)";
    return text;
  }

  ModuleProgram &program;
  std::string shownPath;
  llvm::DenseSet<Operation *> fwd;
  llvm::DenseSet<Value> constants;
};

class ReferenceCheckedStep : public CheckedModule {
public:
  ReferenceCheckedStep(std::unique_ptr<TrainingModule> m, const std::string &shownPath)
      : CheckedModule(*m, shownPath), module(std::move(m)) {}

  std::string describe() const override {
    return "the reference interpreter, a finiteness check after every op";
  }

protected:
  void runObserved(const std::vector<rt::Tensor> &inputs, rt::RunContext &ctx, AfterOp afterOp) override {
    interpret(fn, inputs, ctx, afterOp);
  }

private:
  std::unique_ptr<TrainingModule> module;
};

class UnfusedCompiledCheckedStep : public CheckedModule {
public:
  UnfusedCompiledCheckedStep(std::unique_ptr<ObservableProgram> p, const std::string &shownPath)
      : CheckedModule(*p, shownPath), program(std::move(p)) {}

  std::string describe() const override {
    return "the compiled backend with fusion off (every op its own kernel or library call), a finiteness check "
           "after every op";
  }

protected:
  void runObserved(const std::vector<rt::Tensor> &inputs, rt::RunContext &ctx, AfterOp afterOp) override {
    program->runObserved("train_step", inputs, ctx, afterOp);
  }

private:
  std::unique_ptr<ObservableProgram> program;
};

}  // namespace

std::vector<std::unique_ptr<rt::CheckedStep>> buildCheckedSteps(const std::string &modelPath,
                                                                const ImportOptions &options, bool compiled,
                                                                const std::string &shownPath) {
  std::vector<std::unique_ptr<rt::CheckedStep>> modes;
  if (compiled) {
    std::unique_ptr<ObservableProgram> p = buildUnfusedCompiledProgram(modelPath, options);
    if (!p) return {};
    if (!p->function("train_step")) throw rt::Error("the model has no train_step to replay");
    modes.push_back(std::make_unique<UnfusedCompiledCheckedStep>(std::move(p), shownPath));
  }
  auto m = std::make_unique<TrainingModule>();
  if (!m->build(modelPath, options)) return {};
  if (!m->function("train_step")) throw rt::Error("the model has no train_step to replay");
  modes.push_back(std::make_unique<ReferenceCheckedStep>(std::move(m), shownPath));
  return modes;
}

}  // namespace heed

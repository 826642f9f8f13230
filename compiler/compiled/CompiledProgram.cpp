//===- CompiledProgram.cpp ------------------------------------------------===//

#include "compiler/compiled/CompiledProgram.h"

#include "compiler/ModuleProgram.h"
#include "compiler/compiled/LibraryCalls.h"
#include "compiler/interp/InterpretedProgram.h"
#include "compiler/lowering/Codegen.h"
#include "compiler/lowering/HeedToLinalg.h"
#include "compiler/lowering/Partition.h"
#include "runtime/Error.h"

#include "mlir/IR/DialectRegistry.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdlib>

#include <chrono>

using namespace mlir;

namespace heed {
namespace {

std::string locString(Location loc) {
  if (auto f = dyn_cast<FileLineColLoc>(loc))
    return f.getFilename().str() + ":" + std::to_string(f.getLine()) + ":" +
           std::to_string(f.getColumn()) + ": ";
  return "";
}

rt::DType dtypeOf(Type t) {
  Type e = cast<RankedTensorType>(t).getElementType();
  if (e.isF32()) return rt::DType::F32;
  if (e.isInteger(32)) return rt::DType::I32;
  return rt::DType::Bool;
}

rt::Shape shapeOf(Type t) {
  auto s = cast<RankedTensorType>(t).getShape();
  return rt::Shape(s.begin(), s.end());
}

struct EntryPlan {
  Schedule schedule;
  std::vector<JitKernels::PackedFn> fns;  // per step (null for library steps)
  /// For each step, the values whose last use it is (released after it runs).
  std::vector<std::vector<Value>> release;
  int64_t peakBytes = 0;
};

class CompiledProgram : public ModuleProgram {
public:
  CompileStats stats;
  /// HEED_PROFILE=1: time per step kind, printed when the program is destroyed.
  bool profiling = getenv("HEED_PROFILE") != nullptr;
  std::map<std::string, double> profileSeconds;
  ~CompiledProgram() override {
    if (!profiling || profileSeconds.empty()) return;
    double total = 0;
    for (auto &[k, v] : profileSeconds) total += v;
    std::vector<std::pair<double, std::string>> rows;
    for (auto &[k, v] : profileSeconds) rows.push_back({v, k});
    std::sort(rows.rbegin(), rows.rend());
    llvm::errs() << "heed profile (compiled backend), total " << llvm::format("%.3f", total) << " s\n";
    for (auto &[v, k] : rows)
      llvm::errs() << llvm::format("  %-22s %8.3f s  %5.1f%%\n", k.c_str(), v, 100 * v / total);
  }

protected:
  bool prepare() override {
    auto start = std::chrono::steady_clock::now();
    MLIRContext *ctx = module().getContext();
    DialectRegistry registry;
    registerCodegenDialects(registry);
    ctx->appendDialectRegistry(registry);
    ctx->loadAllAvailableDialects();

    std::map<std::string, Schedule> schedules;
    kernels = outlineKernels(module(), schedules);
    for (auto &[name, schedule] : schedules) plans[name].schedule = std::move(schedule);
    for (func::FuncOp k : kernels->getOps<func::FuncOp>())
      if (failed(lowerHeedToLinalg(k))) return false;
    if (failed(lowerKernelsToLLVM(*kernels))) {
      emitError(module().getLoc()) << "internal error: the kernels did not lower to LLVM";
      return false;
    }
    std::string error;
    jit = JitKernels::create(*kernels, error);
    if (!jit) {
      llvm::errs() << "error: JIT compilation failed: " << error << "\n";
      return false;
    }
    for (auto &[name, plan] : plans) {
      computeLiveness(plan);
      for (Step &s : plan.schedule.steps) {
        plan.fns.push_back(s.kind == Step::Kernel ? jit->lookup(s.kernel) : nullptr);
        if (s.kind == Step::Kernel && !plan.fns.back()) {
          llvm::errs() << "error: kernel '" << s.kernel << "' is missing from the JIT module\n";
          return false;
        }
      }
    }
    auto &train = plans.count("train_step") ? plans["train_step"] : plans.begin()->second;
    stats.kernels = train.schedule.kernels;
    stats.libraryCalls = train.schedule.libraryCalls;
    stats.flopsPerStep = train.schedule.flops;
    stats.plannedPeakBytes = train.peakBytes;
    stats.compileSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return true;
  }

  std::vector<rt::Tensor> runFunction(func::FuncOp fn, const std::string &entry,
                                      const std::vector<rt::Tensor> &inputs,
                                      rt::RunContext &ctx) override {
    if (ctx.f64) throw rt::Error("the compiled backend runs in float32 only; use --backend reference");
    EntryPlan &plan = plans.at(entry);
    Block &body = fn.getBody().front();
    llvm::DenseMap<Value, rt::Tensor> values;
    for (unsigned i = 0; i < body.getNumArguments(); ++i) {
      Type t = body.getArgument(i).getType();
      if (inputs[i].shape() != shapeOf(t) || inputs[i].dtype() != dtypeOf(t))
        throw rt::Error(entry + ": input " + std::to_string(i) + " must be " +
                        rt::dtypeName(dtypeOf(t)) + rt::shapeToString(shapeOf(t)) + ", got " +
                        rt::dtypeName(inputs[i].dtype()) + rt::shapeToString(inputs[i].shape()));
      values[body.getArgument(i)] = inputs[i];
    }
    std::vector<rt::Tensor> in;
    llvm::SmallVector<rt::Tensor> out;
    std::vector<void *> ptrs;
    std::vector<void *> args;
    const bool profile = profiling;
    for (size_t si = 0; si < plan.schedule.steps.size(); ++si) {
      const Step &s = plan.schedule.steps[si];
      auto t0 = profile ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
      in.clear();
      out.clear();
      for (Value v : s.inputs) in.push_back(values.lookup(v));
      if (s.kind == Step::Library) {
        try {
          runLibraryCall(s.op, in, out, ctx, s.transposeLhs, s.transposeRhs);
        } catch (const rt::Error &e) {
          throw rt::Error(locString(s.op->getLoc()) + e.what());
        }
      } else {
        for (Value v : s.outputs) out.push_back(rt::Tensor(dtypeOf(v.getType()), shapeOf(v.getType())));
        ptrs.clear();
        for (rt::Tensor &t : in) ptrs.push_back(t.raw());
        for (rt::Tensor &t : out) ptrs.push_back(t.raw());
        args.clear();
        for (void *&p : ptrs) args.push_back(&p);
        plan.fns[si](args.data());
      }
      if (profile) {
        std::string key = s.kind == Step::Kernel ? "fused kernels"
                                                 : s.op->getName().getStringRef().str();
        profileSeconds[key] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      }
      for (size_t i = 0; i < s.outputs.size(); ++i) values[s.outputs[i]] = out[i];
      for (Value v : plan.release[si]) values.erase(v);
    }
    std::vector<rt::Tensor> results;
    for (Value v : body.getTerminator()->getOperands()) results.push_back(values.lookup(v));
    return results;
  }

private:
  /// Last use of every value, and the largest live set in bytes (the planned peak).
  void computeLiveness(EntryPlan &plan) {
    llvm::DenseMap<Value, size_t> last;
    const auto &steps = plan.schedule.steps;
    for (size_t i = 0; i < steps.size(); ++i)
      for (Value v : steps[i].inputs) last[v] = i;
    func::FuncOp fn;
    plan.release.assign(steps.size(), {});
    llvm::DenseSet<Value> returned;
    if (!steps.empty()) {
      Operation *anyOp = steps.front().kind == Step::Library ? steps.front().op : nullptr;
      (void)anyOp;
    }
    int64_t live = 0, peak = 0;
    auto bytes = [](Value v) {
      auto t = cast<RankedTensorType>(v.getType());
      return t.getNumElements() * (t.getElementType().isF32() || t.getElementType().isInteger(32) ? 4 : 1);
    };
    for (size_t i = 0; i < steps.size(); ++i) {
      for (Value v : steps[i].outputs) live += bytes(v);
      peak = std::max(peak, live);
      for (Value v : steps[i].inputs) {
        if (last.lookup(v) != i || isa<BlockArgument>(v)) continue;
        bool usedByReturn = llvm::any_of(v.getUsers(), [](Operation *u) { return isa<func::ReturnOp>(u); });
        if (usedByReturn) continue;
        if (llvm::is_contained(plan.release[i], v)) continue;
        plan.release[i].push_back(v);
        live -= bytes(v);
      }
    }
    plan.peakBytes = peak;
  }

  OwningOpRef<ModuleOp> kernels;
  std::unique_ptr<JitKernels> jit;
  std::map<std::string, EntryPlan> plans;
};

}  // namespace

std::unique_ptr<rt::Program> buildCompiledProgram(const std::string &modelPath,
                                                  const ImportOptions &options, CompileStats *stats) {
  auto p = std::make_unique<CompiledProgram>();
  if (!p->build(modelPath, options)) return nullptr;
  if (stats) *stats = p->stats;
  return p;
}

std::unique_ptr<rt::Program> buildProgram(const std::string &backend, const std::string &modelPath,
                                          const ImportOptions &options) {
  if (backend == "reference") return buildReferenceProgram(modelPath, options);
  if (backend == "compiled") return buildCompiledProgram(modelPath, options);
  llvm::errs() << "error: unknown backend '" << backend << "' (backends: compiled, reference)\n";
  return nullptr;
}

}  // namespace heed

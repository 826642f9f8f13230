//===- CompiledProgram.cpp ------------------------------------------------===//

#include "compiler/compiled/CompiledProgram.h"

#include "compiler/ModuleProgram.h"
#include "compiler/compiled/LibraryCalls.h"
#include "compiler/interp/InterpretedProgram.h"
#include "compiler/lowering/Codegen.h"
#include "compiler/lowering/KernelPipeline.h"
#include "runtime/AtomicFile.h"
#include "runtime/Error.h"
#include "runtime/compiled/Executor.h"
#include "runtime/compiled/ArtifactProgram.h"
#include "runtime/compiled/GradientBuckets.h"
#include "runtime/compiled/NativeUpdateKernels.h"
#include "runtime/compiled/Manifest.h"
#include "runtime/compiled/Bf16Inputs.h"
#include "runtime/native/Bf16.h"

#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>

using namespace mlir;
namespace fs = std::filesystem;

namespace heed {
namespace {

class CompiledProgram : public ObservableProgram {
public:
  /// Jit: compile the kernels in memory and run them. Object: only emit the
  /// kernels as a PIC object file (heed compile); entries cannot run.
  enum class Mode { Jit, Object };
  explicit CompiledProgram(Mode mode, PartitionOptions partition = {}) : mode(mode), partition(partition) {
    checksMemory = mode == Mode::Jit;
  }

  CompileStats stats;
  std::string objectCode;  // Mode::Object
  std::map<std::string, rt::Plan> plans;

  ~CompiledProgram() override {
    if (profiling) rt::printProfile(profile, "compiled backend");
  }

  const rt::UpdateKernels *updateKernels() const override { return &rt::nativeUpdateKernels(); }

protected:
  bool prepare() override {
    auto start = std::chrono::steady_clock::now();
    if (info().precision == rt::Precision::BF16) {
      try {  // never a silent fp32 run or a slow emulation
        rt::native::requireBf16Cpu("bf16 precision");
      } catch (const rt::Error &e) {
        llvm::errs() << "error: " << e.what() << "\n";
        return false;
      }
    }
    FailureOr<KernelModule> km = buildKernelModule(
        module(), KernelStage::LLVMDialect, [&](const char *stage) { progress.begin(stage); }, partition);
    if (failed(km)) return false;
    kernels = std::move(km->kernels);
    schedules = km->schedules;
    try {
      for (auto &[name, schedule] : km->schedules) {
        rt::Plan &plan = plans[name] = makePlan(function(name), schedule);
        for (rt::PlanStep &s : plan.steps) {
          auto alias = km->reshapeAliases.find(s.kernel);
          if (s.kind != rt::PlanStep::Kind::Kernel || alias == km->reshapeAliases.end()) continue;
          s.kind = rt::PlanStep::Kind::Alias;
          s.aliasOf = alias->second;
          s.chunks = 1;
          s.chunkBytes.clear();
          s.kernel.clear();
          --plan.kernels;
        }
        rt::assignBf16Inputs(plan);  // who rounds each bf16 matmul input
        // train_step: the data-parallel allreduce's buckets. Not in an unfused
        // (observed) program: its plan steps stay one to one with the schedule's.
        if (partition.fuse) rt::addGradientBucketSteps(plan);
        plan.validate();
      }
    } catch (const rt::Error &e) {
      llvm::errs() << "error: " << e.what() << "\n";
      return false;
    }
    std::string error;
    progress.begin("machine code");
    if (mode == Mode::Object) {
      if (failed(emitNative(*kernels, EmitKind::Object, objectCode, error))) {
        llvm::errs() << "error: cannot emit the kernels as an object file: " << error << "\n";
        return false;
      }
    } else {
      jit = JitKernels::create(*kernels, error);
      if (!jit) {
        llvm::errs() << "error: JIT compilation failed: " << error << "\n";
        return false;
      }
      for (auto &[name, plan] : plans)
        for (rt::PlanStep &s : plan.steps) {
          if (s.kind != rt::PlanStep::Kind::Kernel) continue;
          s.fn = jit->lookup(s.kernel);
          if (!s.fn) {
            llvm::errs() << "error: kernel '" << s.kernel << "' is missing from the JIT module\n";
            return false;
          }
        }
    }
    const rt::Plan &train = plans.count("train_step") ? plans["train_step"] : plans.begin()->second;
    stats.kernels = train.kernels;
    stats.rowSplitKernels = 0;
    for (const rt::PlanStep &s : train.steps) {
      stats.rowSplitKernels += s.chunks > 1;
      stats.residualEpilogues += s.kind == rt::PlanStep::Kind::Library && s.op.residual;
    }
    stats.libraryCalls = train.libraryCalls;
    stats.flopsPerStep = train.flops;
    stats.plannedPeakBytes = train.peakBytes;
    stats.precision = info().precision;
    stats.gradientBuckets = rt::gradientBuckets(train);
    stats.compileSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return true;
  }

  std::vector<rt::Tensor> runFunction(func::FuncOp, const std::string &entry,
                                      const std::vector<rt::Tensor> &inputs,
                                      rt::RunContext &ctx) override {
    if (mode != Mode::Jit) throw rt::Error("internal error: this program was compiled to an object file only");
    return rt::execute(plans.at(entry), inputs, ctx, profiling ? &profile : nullptr);
  }

  std::vector<rt::Tensor> runObserved(const std::string &entry, const std::vector<rt::Tensor> &inputs,
                                      rt::RunContext &ctx, AfterOp afterOp) override {
    if (partition.fuse || mode != Mode::Jit)
      throw rt::Error("internal error: only an unfused, JIT-compiled program runs observed");
    const Schedule &schedule = schedules.at(entry);
    std::vector<rt::Tensor> operands, results;
    rt::StepObserver observe = [&](size_t i, const std::vector<rt::Tensor> &in, const std::vector<rt::Tensor> &out) {
      const Step &s = schedule.steps.at(i);
      if (s.ops.size() != 1) throw rt::Error("internal error: an unfused schedule step runs several ops");
      Operation &op = *s.ops.front();
      // The step's inputs are the op's distinct operands (a kernel reads `h - h`'s h once).
      operands.clear();
      for (Value v : op.getOperands())
        operands.push_back(in.at((size_t)(llvm::find(s.inputs, v) - s.inputs.begin())));
      results.clear();
      for (Value r : op.getResults())  // a result nothing reads is no output
        if (auto it = llvm::find(s.outputs, r); it != s.outputs.end()) results.push_back(out.at((size_t)(it - s.outputs.begin())));
      afterOp(op, operands, results);
    };
    return rt::execute(plans.at(entry), inputs, ctx, profiling ? &profile : nullptr, observe);
  }

private:
  Mode mode;
  PartitionOptions partition;
  std::map<std::string, Schedule> schedules;  // per entry, as partitioned (one to one with its plan's steps)
  OwningOpRef<ModuleOp> kernels;
  std::unique_ptr<JitKernels> jit;
  /// HEED_PROFILE=1: time per step kind, printed when the program is destroyed.
  bool profiling = getenv("HEED_PROFILE") != nullptr;
  rt::ExecProfile profile;
};

/// Links `object` into the shared library `so` with the system C compiler.
bool linkSharedLibrary(const std::string &object, const std::string &so, std::string &error) {
  std::string cc;
  for (const char *name : {"cc", "gcc", "clang"})
    if (auto p = llvm::sys::findProgramByName(name)) {
      cc = *p;
      break;
    }
  if (cc.empty()) {
    error = "no C compiler found on PATH (looked for cc, gcc, clang): heed compile links the "
            "kernels into a shared library with it; install one (e.g. apt-get install gcc)";
    return false;
  }
  llvm::SmallVector<llvm::StringRef> args = {cc, "-shared", "-o", so, object, "-lm"};
  std::string msg;
  int rc = llvm::sys::ExecuteAndWait(cc, args, std::nullopt, {}, 0, 0, &msg);
  if (rc != 0) {
    error = "'" + cc + " -shared -o " + so + " " + object + " -lm' failed" +
            (msg.empty() ? " (exit code " + std::to_string(rc) + ")" : ": " + msg);
    return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<rt::Program> buildCompiledProgram(const std::string &modelPath,
                                                  const ImportOptions &options, CompileStats *stats) {
  auto p = std::make_unique<CompiledProgram>(CompiledProgram::Mode::Jit);
  if (!p->build(modelPath, options)) return nullptr;
  if (stats) *stats = p->stats;
  return p;
}

std::unique_ptr<ObservableProgram> buildUnfusedCompiledProgram(const std::string &modelPath,
                                                               const ImportOptions &options) {
  PartitionOptions unfused;
  unfused.fuse = false;
  auto p = std::make_unique<CompiledProgram>(CompiledProgram::Mode::Jit, unfused);
  if (!p->build(modelPath, options)) return nullptr;
  return p;
}

bool compileArtifact(const std::string &modelPath, const ImportOptions &options,
                     const std::string &outDir, CompileStats *stats) {
  auto start = std::chrono::steady_clock::now();
  std::string out = fs::path(outDir).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  std::error_code ec;
  if (fs::exists(out, ec) && !(fs::is_directory(out, ec) && (fs::is_empty(out, ec) || rt::isArtifactDir(out)))) {
    llvm::errs() << "error: '" << out
                 << "' exists and is not a compiled artifact: heed compile does not overwrite it\n";
    return false;
  }

  auto p = std::make_unique<CompiledProgram>(CompiledProgram::Mode::Object);
  if (!p->build(modelPath, options)) return false;

  rt::Manifest m;
  m.info = p->info();
  if (m.info.config.count("batch"))  // the batch is compiled in: training must use it
    m.info.train["batch"] = std::to_string((int64_t)m.info.config.at("batch"));
  m.targetTriple = llvm::sys::getProcessTriple();
  m.targetCpu = llvm::sys::getHostCPUName().str();
  m.params = p->params();
  for (auto &[name, plan] : p->plans) {
    const rt::EntrySpec *e = p->entry(name);
    if (!e) continue;
    m.entries.push_back(*e);
    m.plans[name] = plan;
    for (const rt::PlanStep &s : plan.steps)
      if (s.kind == rt::PlanStep::Kind::Kernel) m.kernelSymbols.push_back(s.kernel + "_packed");
  }

  std::string tmp = out + ".tmp", old = out + ".old";
  fs::remove_all(tmp, ec);
  if (!fs::create_directories(tmp, ec) && ec) {
    llvm::errs() << "error: cannot create '" << tmp << "': " << ec.message() << "\n";
    return false;
  }
  struct Cleanup {
    std::string dir;
    bool keep = false;
    ~Cleanup() {
      std::error_code ec;
      if (!keep) fs::remove_all(dir, ec);
    }
  } cleanup{tmp};
  std::string error;
  try {
    rt::writeFileAtomic(tmp + "/kernels.o", p->objectCode);
    if (!linkSharedLibrary(tmp + "/kernels.o", tmp + "/kernels.so", error)) {
      llvm::errs() << "error: " << error << "\n";
      return false;
    }
    rt::recordKernelLibrary(m, tmp + "/kernels.so");
    m.compileSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rt::writeFileAtomic(tmp + "/manifest.json", rt::manifestToJson(m).dump(1) + "\n");
  } catch (const rt::Error &e) {
    llvm::errs() << "error: " << e.what() << "\n";
    return false;
  }
  // Swap the new directory in: out -> out.old, tmp -> out, drop out.old.
  fs::remove_all(old, ec);
  bool hadOld = fs::exists(out, ec);
  if (hadOld) fs::rename(out, old, ec);
  if (!ec) fs::rename(tmp, out, ec);
  if (ec) {
    llvm::errs() << "error: cannot move '" << tmp << "' to '" << out << "': " << ec.message() << "\n";
    if (hadOld && !fs::exists(out)) fs::rename(old, out, ec);
    return false;
  }
  cleanup.keep = true;
  fs::remove_all(old, ec);
  if (stats) {
    *stats = p->stats;
    stats->compileSeconds = m.compileSeconds;
  }
  return true;
}

std::unique_ptr<rt::Program> buildProgram(const std::string &backend, const std::string &modelPath,
                                          const ImportOptions &options) {
  if (backend == "reference") return buildReferenceProgram(modelPath, options);
  if (backend == "compiled") return buildCompiledProgram(modelPath, options);
  llvm::errs() << "error: unknown backend '" << backend << "' (backends: compiled, reference)\n";
  return nullptr;
}

}  // namespace heed

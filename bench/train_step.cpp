//===- train_step.cpp - ms per training step, reference vs compiled -------===//
//
// usage: heed_bench_step MODEL.heed [--batch N] [--steps N] [--set k=v ...] [--backend B] [--precision fp32|bf16]
// Prints compile time, ms/step (median of the timed steps after 2 warm-up steps; also the
// median process CPU time per step, steadier on a shared machine),
// tokens/s and matmul GFLOP/s, for each backend asked for (default both).
//
//===----------------------------------------------------------------------===//

#include "compiler/compiled/CompiledProgram.h"
#include "compiler/interp/InterpretedProgram.h"
#include "runtime/Random.h"
#include "runtime/train/Optimizer.h"

#include <algorithm>
#include <ctime>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace heed;
using Clock = std::chrono::steady_clock;

namespace {
/// CPU time of the process so far (every thread), in ms.
double cpuMs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.heed [--batch N] [--steps N] [--set k=v] [--backend B] [--precision P]\n", argv[0]);
    return 1;
  }
  std::string model = argv[1];
  ImportOptions opts;
  opts.batch = 16;
  int steps = 10;
  std::vector<std::string> backends = {"reference", "compiled"};
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--batch")) opts.batch = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--backend")) backends = {argv[i + 1]};
    else if (!std::strcmp(argv[i], "--precision")) {
      opts.precision = rt::parsePrecision(argv[i + 1]);
      if (!opts.precision) {
        std::fprintf(stderr, "--precision expects fp32 or bf16, got '%s'\n", argv[i + 1]);
        return 1;
      }
    }
    else if (!std::strcmp(argv[i], "--set")) {
      std::string kv = argv[i + 1];
      opts.overrides[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    }
  }
  for (const std::string &backend : backends) {
    auto t0 = Clock::now();
    CompileStats stats;
    std::unique_ptr<rt::Program> p = backend == "compiled" ? buildCompiledProgram(model, opts, &stats)
                                                           : buildReferenceProgram(model, opts);
    if (!p) return 1;
    double compile = std::chrono::duration<double>(Clock::now() - t0).count();
    rt::ParamStore params = rt::createParams(*p, 1, ".");
    const rt::EntrySpec *e = p->entry("train_step");
    std::vector<rt::Tensor> in;
    int64_t tokens = 0;
    for (const rt::TensorSpec &s : e->inputs) {
      rt::Tensor t(s.dtype, s.shape);
      for (int64_t i = 0; i < t.size(); ++i)
        if (s.dtype == rt::DType::I32) t.i32()[i] = (int32_t)(rt::uniform01(1, 1, i) * (s.idLimit ? s.idLimit : 2));
      in.push_back(t);
      if (s.name == "tokens" || s.name == "tgt_out") tokens = t.size();
    }
    rt::OptimizerConfig oc;
    // The optimizer loops heed train uses for this backend (threaded for compiled).
    const rt::UpdateKernels *kernels = p->updateKernels();
    std::vector<double> ms, cpu;  // wall and process CPU (all threads) time per step
    bool shadowsCurrent = false;  // as heed train: the update rewrites the bf16 weights' shadows
    for (int step = 1; step <= steps + 2; ++step) {
      rt::RunContext ctx;
      ctx.params = &params;
      ctx.step = step;
      ctx.training = true;
      ctx.bf16ShadowsCurrent = shadowsCurrent;
      ctx.applyGradients = [&](std::vector<std::pair<std::string, rt::Tensor>> &g) {
        rt::applyUpdate(params, g, oc, 1e-4f, step, kernels, &shadowsCurrent);
      };
      auto t = Clock::now();
      const double c = cpuMs();
      p->run("train_step", in, ctx);
      if (step > 2) ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
      if (step > 2) cpu.push_back(cpuMs() - c);
    }
    std::sort(ms.begin(), ms.end());
    std::sort(cpu.begin(), cpu.end());
    double med = ms[ms.size() / 2];
    std::printf("%-9s compile %.2f s  %.1f ms/step  %.0f tok/s", backend.c_str(), compile, med,
                tokens / (med / 1000));
    if (backend == "compiled")
      std::printf("  %.1f GFLOP/s matmul  (%lld kernels, %lld library calls, planned peak %.1f MiB)",
                  stats.flopsPerStep / (med / 1000) / 1e9, (long long)stats.kernels,
                  (long long)stats.libraryCalls, stats.plannedPeakBytes / 1048576.0);
    // CPU time is steadier than wall time on a shared machine (OMP_WAIT_POLICY=passive: no spinning).
    std::printf("  [cpu %.1f ms per step]\n", cpu[cpu.size() / 2]);
  }
  return 0;
}

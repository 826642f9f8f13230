//===- ArtifactLosses.cpp - train losses of a compiled artifact -----------===//
//
//   heed_artifact_losses DIR                      (links heed_artifact only: no MLIR/LLVM)
//   heed_jit_losses MODEL.heed [--batch N] [--set k=v]...   (the JIT compiled backend)
//
// Both initialise the parameters from seed 1, feed the same deterministic ids and
// print the train_step loss of 3 Adam steps, then the eval loss, one per line
// (%.9g): artifact_runs_without_mlir (CMakeLists.txt) compares the two outputs.
//
//===----------------------------------------------------------------------===//

#include "runtime/Error.h"
#include "runtime/Random.h"
#include "runtime/train/Optimizer.h"
#ifdef HEED_JIT
#include "compiler/compiled/CompiledProgram.h"
#else
#include "runtime/compiled/ArtifactProgram.h"
#endif

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

using namespace heed;

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR | MODEL.heed [--batch N] [--set k=v]...\n", argv[0]);
    return 2;
  }
  try {
#ifdef HEED_JIT
    ImportOptions opts;
    for (int i = 2; i + 1 < argc; i += 2) {
      if (!std::strcmp(argv[i], "--batch")) opts.batch = std::atoll(argv[i + 1]);
      else if (!std::strcmp(argv[i], "--set")) {
        std::string kv = argv[i + 1];
        opts.overrides[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
      }
    }
    std::unique_ptr<rt::Program> p = buildCompiledProgram(argv[1], opts);
    if (!p) return 1;
#else
    std::unique_ptr<rt::Program> p = rt::ArtifactProgram::load(argv[1]);
#endif
    rt::ParamStore params = rt::createParams(*p, 1, ".");
    auto inputsOf = [&](const std::string &entry) {
      std::vector<rt::Tensor> in;
      for (const rt::TensorSpec &s : p->entry(entry)->inputs) {
        rt::Tensor t(s.dtype, s.shape);
        for (int64_t i = 0; i < t.size(); ++i)
          if (s.dtype == rt::DType::I32)
            t.i32()[i] = (int32_t)(rt::uniform01(7, s.name.size(), i) * (s.idLimit ? s.idLimit : 2));
        in.push_back(t);
      }
      return in;
    };
    const rt::EntrySpec *train = p->entry("train_step");
    if (!train) throw rt::Error("the program has no train_step");
    int lossIndex = train->lossIndex < 0 ? 0 : train->lossIndex;
    rt::OptimizerConfig oc;
    oc.clip = 1.0f;
    std::vector<rt::Tensor> in = inputsOf("train_step");
    for (int step = 1; step <= 3; ++step) {
      rt::RunContext ctx;
      ctx.params = &params;
      ctx.step = step;
      ctx.training = true;
      ctx.applyGradients = [&](std::vector<std::pair<std::string, rt::Tensor>> &g) {
        rt::applyUpdate(params, g, oc, 1e-3f, step);
      };
      std::vector<rt::Tensor> out = p->run("train_step", in, ctx);
      std::printf("train_step %d loss %.9g\n", step, out.at(lossIndex).f32()[0]);
    }
    if (const rt::EntrySpec *eval = p->entry("eval")) {
      rt::RunContext ctx;
      ctx.params = &params;
      std::vector<rt::Tensor> out = p->run("eval", inputsOf("eval"), ctx);
      std::printf("eval loss %.9g\n", out.at(eval->lossIndex < 0 ? 0 : eval->lossIndex).f32()[0]);
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}

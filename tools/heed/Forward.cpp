//===- Forward.cpp - `heed forward`: a model on the user's arrays ---------===//

#include "tools/heed/CliOptions.h"
#include "tools/heed/Commands.h"

#include "compiler/ModelLoader.h"
#include "compiler/compiled/CompiledProgram.h"
#include "compiler/export/ForwardRun.h"
#include "compiler/export/ModelSignature.h"
#include "compiler/export/ModelSource.h"
#include "runtime/Npz.h"

#include <CLI/CLI.hpp>

#include <cstdio>

namespace heed {

namespace {

struct ForwardOptions {
  std::string model, inputs, output, entry, backend = "compiled", precision;
  std::vector<std::string> sets;
  uint64_t seed = 1;
  bool seedGiven = false;
  bool grads = false;
};

int forward(const ForwardOptions &o) {
  auto source = ModelSource::open(o.model, o.sets);
  source->checkSeedApplies(o.seedGiven);
  rt::NamedTensors arrays = rt::readNpz(o.inputs);
  ImportOptions opts;
  opts.overrides = source->overrides();
  // Like eval and generate: a checkpoint runs at its training precision unless told otherwise.
  opts.precision = o.precision.empty() ? source->storedPrecision() : precisionFlag(o.precision);
  ModelSignature sig;
  {
    // The arrays bind the batch: read the model's inputs first.
    ModelLoader loader;
    LoadedModel m = loader.load(source->modelPath(), opts);
    if (!m.module) return 1;
    sig = signatureOf(*m.module);
    if (auto b = impliedBatch(sig, arrays)) {
      opts.batch = *b;
      for (rt::TensorSpec &s : sig.inputs)
        for (size_t i = 0; i < s.dims.size(); ++i)
          if (s.dims[i] == "batch") s.shape[i] = *b;
    }
  }
  std::unique_ptr<rt::Program> program = buildProgram(o.backend, source->modelPath(), opts);
  if (!program) return 1;
  rt::ParamStore params;
  for (const rt::ParamSpec &p : program->params()) params.add(p.name, p.shape, p.init, p.frozen);
  source->fillParams(params, o.seed);
  rt::NamedTensors out = runForward(*program, params, arrays, {o.entry, o.grads}, sig);
  rt::writeNpz(o.output, out);
  std::printf("%s: wrote", o.output.c_str());
  for (const auto &[name, t] : out)
    if (name.rfind("grad/", 0) != 0) std::printf(" %s %s", name.c_str(), rt::shapeToString(t.shape()).c_str());
  size_t grads = 0;
  for (const auto &[name, t] : out) grads += name.rfind("grad/", 0) == 0;
  if (grads) std::printf(" and %zu gradients", grads);
  std::printf("\n");
  return 0;
}

}  // namespace

std::function<int()> addForwardCommand(CLI::App &app) {
  auto o = std::make_shared<ForwardOptions>();
  auto *cmd = app.add_subcommand(
      "forward", "run a model (initial parameters from --seed) or a checkpoint on arrays from an .npz; "
                 "writes every output by name, and 'loss' when the model minimizes one and its inputs "
                 "(the targets) are given");
  cmd->add_option("model", o->model, "model file (.heed), checkpoint (.safetensors) or run directory")->required();
  cmd->add_option("--inputs", o->inputs,
                  "an .npz (np.savez or np.savez_compressed) with one array per model input, by name; the arrays bind "
                  "the batch; f64 arrays become f32 and i64 become i32")
      ->required()->type_name("NPZ");
  cmd->add_option("-o,--output", o->output, "the .npz to write")->required();
  auto *seed = cmd->add_option("--seed", o->seed, "initialisation seed for a model file (default 1)")
                   ->check(cli::number<uint64_t>());
  cmd->add_option("--entry", o->entry, "encoder-decoders: run only encode (outputs memory) or decode")
      ->check(CLI::IsMember({"encode", "decode"}));
  cmd->add_option("--set", o->sets, "override a config value: --set d_model=256 (repeatable)");
  cmd->add_flag("--grads", o->grads,
                "also write grad/<parameter>: the loss's gradient for every trainable parameter (dropout off)");
  cmd->add_option("--backend", o->backend, "compiled (default) or reference (the interpreter)")
      ->check(CLI::IsMember({"compiled", "reference"}));
  cmd->add_option("--precision", o->precision,
                  "matmul precision: fp32 or bf16 (default: a checkpoint's, else the model's train block, else "
                  "fp32; docs/PRECISION.md)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  return [cmd, o, seed] {
    o->seedGiven = seed->count() > 0;
    return cmd->parsed() ? reportErrors([&] { return forward(*o); }) : -1;
  };
}

}  // namespace heed

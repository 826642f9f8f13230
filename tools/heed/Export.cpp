//===- Export.cpp - `heed export`: parameters and model.py for PyTorch ----===//

#include "tools/heed/CliOptions.h"
#include "tools/heed/Commands.h"

#include "compiler/ModelLoader.h"
#include "compiler/export/ModelSource.h"
#include "compiler/export/PyTorchExport.h"

#include "ops/HeedDialect.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"

#include <CLI/CLI.hpp>

#include <cstdio>

namespace heed {

namespace {

struct ExportOptions {
  std::string model, to = "pytorch", output;
  std::vector<std::string> sets;
  uint64_t seed = 1;
  bool seedGiven = false;
  int64_t batch = 0;
};

int exportModel(const ExportOptions &o) {
  auto source = ModelSource::open(o.model, o.sets);
  source->checkSeedApplies(o.seedGiven);
  ImportOptions opts;
  opts.overrides = source->overrides();
  if (o.batch > 0) opts.batch = o.batch;
  ModelLoader loader;
  LoadedModel m = loader.load(source->modelPath(), opts);
  if (!m.module) return 1;
  rt::ParamStore params;
  m.module->walk([&](ParamOp p) {
    if (params.contains(p.getName().str())) return;
    auto s = p.getType().getShape();
    params.add(p.getName().str(), rt::Shape(s.begin(), s.end()), p.getInit().str(), p.getFrozen());
  });
  source->fillParams(params, o.seed);
  if (o.to == "numpy") {
    writeNumpyParams(o.output, params);
    std::printf("%s: %zu parameters (heed names and layouts)\n", o.output.c_str(), params.size());
    return 0;
  }
  // The same model at twice the batch tells which sizes follow the batch (quietly:
  // a model that does not import there keeps its export's batch).
  ModelLoader twinLoader;
  mlir::ScopedDiagnosticHandler quiet(&twinLoader.context(), [](mlir::Diagnostic &) { return mlir::success(); });
  ImportOptions twinOpts = opts;
  auto batchAttr = mlir::cast<mlir::DictionaryAttr>(m.module->getOperation()->getAttr("heed.config"))
                       .getAs<mlir::IntegerAttr>("batch");
  twinOpts.batch = 2 * batchAttr.getInt();
  LoadedModel twin = twinLoader.load(source->modelPath(), twinOpts);
  mlir::FailureOr<PyTorchModel> py = generatePyTorch(*m.module, twin.module ? *twin.module : mlir::ModuleOp());
  if (mlir::failed(py)) return 1;
  // A language model's checkpoint carries its tokenizer: model.py then reads and
  // writes text as heed does.
  std::vector<std::pair<std::string, std::string>> tokenizerFiles = source->tokenizerFiles();
  writePyTorchExport(o.output, *py, params,
                     {{"heed.model_name", m.module->getOperation()->getAttrOfType<mlir::StringAttr>("heed.model").str()},
                      {"heed.exported_from", o.model}},
                     tokenizerFiles);
  std::string extra;
  for (const auto &f : tokenizerFiles) extra += ", " + f.first;
  std::printf("%s: model.py, model.safetensors (%zu parameters, PyTorch names and layouts), names.json%s\n",
              o.output.c_str(), py->params.size(), extra.c_str());
  return 0;
}

}  // namespace

std::function<int()> addExportCommand(CLI::App &app) {
  auto o = std::make_shared<ExportOptions>();
  auto *cmd = app.add_subcommand(
      "export", "write a model's parameters (no optimizer state) for other tools: --to pytorch writes DIR with "
                "model.py (an nn.Module generated from the heed graph), model.safetensors and names.json; "
                "--to numpy writes an .npz under heed's names");
  cmd->add_option("model", o->model, "model file (.heed), checkpoint (.safetensors) or run directory")->required();
  cmd->add_option("--to", o->to, "pytorch (default) or numpy")->check(CLI::IsMember({"pytorch", "numpy"}));
  cmd->add_option("-o,--output", o->output, "pytorch: the directory to write; numpy: the .npz file")->required();
  auto *seed = cmd->add_option("--seed", o->seed, "initialisation seed for a model file (default 1)")
                   ->check(cli::number<uint64_t>());
  cmd->add_option("--batch", o->batch, "the batch the export is made at (model.py runs at any batch when the model's sizes follow it)")->check(cli::positive<int64_t>());
  cmd->add_option("--set", o->sets, "override a config value: --set d_model=256 (repeatable)");
  return [cmd, o, seed] {
    o->seedGiven = seed->count() > 0;
    return cmd->parsed() ? reportErrors([&] { return exportModel(*o); }) : -1;
  };
}

}  // namespace heed

//===- ModelProgramFactory.cpp - programs from model files ----------------===//

#include "compiler/session/ModelProgramFactory.h"

#include "compiler/compiled/CompiledProgram.h"
#include "compiler/session/NanReplay.h"
#include "runtime/Error.h"
#include "runtime/compiled/ArtifactProgram.h"
#include "runtime/train/RunCheckpoint.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace heed {

namespace {

/// A directory written by `heed compile`: its compiled batch and --set values are fixed.
std::unique_ptr<rt::Program> loadArtifact(const std::string &dir, const std::map<std::string, std::string> &overrides,
                                          std::optional<int64_t> batch, std::optional<rt::Precision> precision) {
  std::unique_ptr<rt::ArtifactProgram> p = rt::ArtifactProgram::load(dir);
  const rt::ModelInfo &info = p->info();
  if (precision && *precision != info.precision)
    throw rt::Error("'" + dir + "' was compiled at precision " + rt::precisionName(info.precision) + ", not " +
                    rt::precisionName(*precision) + ": pass --precision " + rt::precisionName(info.precision) +
                    " or recompile it with heed compile --precision " + rt::precisionName(*precision));
  auto b = info.config.find("batch");
  if (batch && b != info.config.end() && (int64_t)b->second != *batch)
    throw rt::Error("'" + dir + "' was compiled for batch " + std::to_string((int64_t)b->second) + ", not " +
                    std::to_string(*batch) + ": pass --batch " + std::to_string((int64_t)b->second) +
                    " or recompile it with heed compile --batch " + std::to_string(*batch));
  if (!overrides.empty() && overrides != info.overrides)
    throw rt::Error("'" + dir + "' is a compiled artifact (compiled with --set " + rt::overridesToJson(info.overrides) +
                    "): --set cannot change it; recompile it with heed compile --set ...");
  return p;
}

}  // namespace

ModelProgramFactory::ModelProgramFactory(std::string backend, std::optional<rt::Precision> precision)
    : backend_(std::move(backend)), precision_(precision) {
  if (backend_ != "compiled" && backend_ != "reference")
    throw rt::Error("unknown backend '" + backend_ + "' (backends: compiled, reference)");
}

std::unique_ptr<rt::Program> ModelProgramFactory::build(const std::string &model,
                                                        const std::map<std::string, std::string> &overrides,
                                                        std::optional<int64_t> batch,
                                                        rt::BuildPurpose purpose,
                                                        std::optional<rt::Precision> precision,
                                                        const std::vector<std::string> &entries) {
  if (precision_) precision = precision_;
  if (fs::is_directory(model)) {
    // An artifact holds compiled kernels: the interpreter cannot run it.
    if (backend_ == "reference")
      throw rt::Error("--backend reference runs a model file on the interpreter; '" + model +
                      "' is a heed compile artifact, which only runs its compiled kernels: give the .heed file");
    return loadArtifact(model, overrides, batch, precision);
  }
  ImportOptions opts;
  opts.precision = precision;
  opts.overrides = overrides;
  opts.batch = batch;
  opts.checkInitFiles = opts.training = purpose == rt::BuildPurpose::Train;
  opts.entries = entries;  // an artifact (above) has all its entries compiled already
  std::unique_ptr<rt::Program> p = buildProgram(backend_, model, opts);
  if (!p) throw rt::ReportedError{};
  return p;
}

std::vector<std::unique_ptr<rt::CheckedStep>> ModelProgramFactory::buildChecked(
    const std::string &model, const std::map<std::string, std::string> &overrides, int64_t batch,
    std::optional<rt::Precision> precision) {
  if (precision_) precision = precision_;
  ImportOptions opts;
  opts.precision = precision;
  opts.overrides = overrides;
  opts.batch = batch;
  opts.training = true;
  opts.checkInitFiles = false;  // the parameters are the run's
  std::vector<std::unique_ptr<rt::CheckedStep>> modes;
  if (fs::is_directory(model)) {
    // An artifact keeps the model's source: rebuild it from a temporary copy
    // under its file name, as it was compiled, reports naming the file it was.
    rt::ModelInfo info = rt::ArtifactProgram::load(model)->info();
    if (info.source.empty()) return {};
    rt::RunCheckpoint stored;
    stored.modelFile = info.sourcePath;
    stored.source = info.source;
    rt::StoredModelFile file(stored);
    opts.overrides = info.overrides;
    opts.precision = info.precision;
    auto b = info.config.find("batch");
    if (b != info.config.end()) opts.batch = (int64_t)b->second;
    modes = buildCheckedSteps(file.path(), opts, /*compiled=*/true, info.sourcePath);
  } else {
    modes = buildCheckedSteps(model, opts, backend_ == "compiled");
  }
  if (modes.empty()) throw rt::ReportedError{};
  return modes;
}

std::string ModelProgramFactory::describe(const std::string &model) const {
  if (rt::isArtifactDir(model)) return "compiled artifact";
  return backend_ == "compiled" ? "compiled (MLIR kernels + oneDNN)" : "reference interpreter";
}

}  // namespace heed

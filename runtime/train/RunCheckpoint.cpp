//===- RunCheckpoint.cpp - the checkpoints a training run writes ----------===//

#include "runtime/train/RunCheckpoint.h"

#include "runtime/AtomicFile.h"
#include "runtime/Error.h"
#include "runtime/Random.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <unistd.h>

namespace heed::rt {

std::string RunCheckpoint::meta(const std::string &key, const std::string &fallback) const {
  auto it = ckpt.metadata.find(key);
  return it == ckpt.metadata.end() ? fallback : it->second;
}

int64_t RunCheckpoint::metaInt(const std::string &key, int64_t fallback, int64_t min) const {
  return metadataInt(ckpt, key, fallback, min);
}

std::string RunCheckpoint::task() const {
  std::string t = meta("heed.task", "lm");
  return t.empty() ? "lm" : t;
}

RunCheckpoint readRunCheckpoint(const std::string &fileOrDir) {
  RunCheckpoint rc;
  rc.path = resolveCheckpointPath(fileOrDir);
  rc.ckpt = loadCheckpoint(rc.path);
  checkRunFormat(rc.ckpt);
  rc.source = rc.meta("heed.model_source");
  if (rc.source.empty())
    throw Error("checkpoint '" + rc.path + "' was not written by heed train: its metadata holds no model source");
  rc.modelName = rc.meta("heed.model_name", "model");
  rc.modelFile = rc.meta("heed.model_file", rc.modelName + ".heed");
  try {
    rc.overrides = overridesFromJson(rc.meta("heed.overrides", "{}"));
  } catch (const std::exception &) {
    throw Error("checkpoint '" + rc.path + "': its metadata 'heed.overrides' is not a JSON object");
  }
  return rc;
}

std::optional<std::string> firstNonFinite(const Checkpoint &ckpt) {
  for (const std::string &name : ckpt.order) {
    const Tensor &t = ckpt.tensors.at(name);
    if (t.dtype() != DType::F32) continue;
    int64_t bad = 0;
    const float *p = t.f32();
    for (int64_t i = 0; i < t.size(); ++i) bad += !std::isfinite(p[i]);
    if (bad)
      return "'" + name + "' (" + std::to_string(bad) + " of " + std::to_string(t.size()) + " values)";
  }
  return std::nullopt;
}

ParamStore emptyParams(const Program &program) {
  ParamStore store;
  for (const ParamSpec &p : program.params()) store.add(p.name, p.shape, p.init, p.frozen);
  return store;
}

ParamStore loadParams(const Program &program, const RunCheckpoint &rc) {
  ParamStore store = emptyParams(program);
  loadTrainingState(rc.ckpt, store, /*withOptimizer=*/false);
  return store;
}

std::string overridesToJson(const std::map<std::string, std::string> &o) {
  nlohmann::json j = nlohmann::json::object();
  for (auto &[k, v] : o) j[k] = v;
  return j.dump();
}

std::map<std::string, std::string> overridesFromJson(const std::string &text) {
  nlohmann::json j = nlohmann::json::parse(text);
  if (!j.is_object()) throw Error("not an object");
  std::map<std::string, std::string> o;
  for (auto &[k, v] : j.items()) o[k] = v.get<std::string>();
  return o;
}

std::string sourceHash(const std::string &source) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)hashString(source));
  return buf;
}

StoredModelFile::StoredModelFile(const RunCheckpoint &rc) {
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / "heed-model-XXXXXX").string();
  if (!mkdtemp(tmpl.data()))
    throw Error("cannot create a temporary directory in " + fs::temp_directory_path().string());
  dir_ = tmpl;
  std::string name = fs::path(rc.modelFile).filename().string();
  if (name.empty() || name == "." || name == "..") name = "model.heed";
  path_ = dir_ + "/" + name;
  writeFileAtomic(path_, rc.source);
}

StoredModelFile::~StoredModelFile() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace heed::rt

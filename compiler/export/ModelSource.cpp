//===- ModelSource.cpp ----------------------------------------------------===//

#include "compiler/export/ModelSource.h"

#include "runtime/AtomicFile.h"
#include "runtime/Error.h"
#include "runtime/compiled/ArtifactProgram.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <unistd.h>

namespace fs = std::filesystem;

namespace heed {

static bool looksLikeCheckpoint(const std::string &path) {
  if (fs::is_directory(path)) return true;
  return fs::path(path).extension() == ".safetensors";
}

std::unique_ptr<ModelSource> ModelSource::open(const std::string &path, const std::vector<std::string> &sets) {
  std::unique_ptr<ModelSource> s(new ModelSource());
  s->given_ = path;
  if (!fs::exists(path)) throw rt::Error("'" + path + "' does not exist (expected a model file, a checkpoint or a run directory)");
  if (rt::isArtifactDir(path))
    throw rt::Error("'" + path + "' is a heed compile artifact, which holds kernels but not the model graph: "
                    "give the model file or a checkpoint");
  if (looksLikeCheckpoint(path)) {
    std::string file = rt::resolveCheckpointPath(path);
    s->checkpoint_ = rt::loadCheckpoint(file);
    auto meta = [&](const std::string &key) {
      auto it = s->checkpoint_->metadata.find(key);
      return it == s->checkpoint_->metadata.end() ? std::string() : it->second;
    };
    std::string source = meta("heed.model_source");
    if (source.empty())
      throw rt::Error("checkpoint '" + file + "' was not written by heed train: its metadata holds no model source");
    std::string overrides = meta("heed.overrides");
    if (!overrides.empty()) {
      nlohmann::json j = nlohmann::json::parse(overrides, nullptr, /*allow_exceptions=*/false);
      if (!j.is_object()) throw rt::Error("checkpoint '" + file + "': its metadata 'heed.overrides' is not a JSON object");
      for (auto &[k, v] : j.items())
        if (v.is_string()) s->overrides_[k] = v.get<std::string>();
    }
    // The compiler reads files: the stored source goes into a private directory,
    // under its original file name so that diagnostics name it.
    std::string tmpl = (fs::temp_directory_path() / "heed-model-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw rt::Error("cannot create a temporary directory in " + fs::temp_directory_path().string());
    s->tempDir_ = tmpl;
    std::string name = fs::path(meta("heed.model_file")).filename().string();
    if (name.empty() || name == "." || name == "..") name = "model.heed";
    s->modelPath_ = s->tempDir_ + "/" + name;
    rt::writeFileAtomic(s->modelPath_, source);
  } else {
    s->modelPath_ = path;
  }
  for (const std::string &kv : sets) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == kv.size())
      throw rt::Error("--set expects key=value, got '" + kv + "'");
    s->overrides_[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return s;
}

ModelSource::~ModelSource() {
  if (tempDir_.empty()) return;
  std::error_code ec;
  fs::remove_all(tempDir_, ec);
}

std::string ModelSource::baseDir() const {
  std::string dir = fs::path(modelPath_).parent_path().string();
  return dir.empty() ? "." : dir;
}

void ModelSource::fillParams(rt::ParamStore &store, uint64_t seed) const {
  if (checkpoint_) rt::loadTrainingState(*checkpoint_, store, /*withOptimizer=*/false);
  else store.initializeAll(seed, baseDir());
}

}  // namespace heed

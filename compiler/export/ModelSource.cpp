//===- ModelSource.cpp ----------------------------------------------------===//

#include "compiler/export/ModelSource.h"
#include "compiler/ModelLoader.h"

#include "runtime/text/TokenizerExport.h"
#include "runtime/text/TokenizerStore.h"

#include "runtime/Error.h"
#include "runtime/compiled/ArtifactProgram.h"
#include "runtime/train/ProgramFactory.h"

#include <filesystem>

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
    s->checkpoint_ = rt::readRunCheckpoint(path);
    s->overrides_ = s->checkpoint_->overrides;
    s->storedFile_ = std::make_unique<rt::StoredModelFile>(*s->checkpoint_);
    s->modelPath_ = s->storedFile_->path();
  } else {
    s->modelPath_ = path;
  }
  if (std::string err = parseSetFlags(sets, s->overrides_); !err.empty()) throw rt::Error(err);
  return s;
}

std::string ModelSource::baseDir() const {
  std::string dir = fs::path(modelPath_).parent_path().string();
  return dir.empty() ? "." : dir;
}

std::optional<rt::Precision> ModelSource::storedPrecision() const {
  if (!checkpoint_) return std::nullopt;
  return rt::checkpointPrecision(*checkpoint_);
}

void ModelSource::checkSeedApplies(bool seedGiven) const {
  if (seedGiven && checkpoint_)
    throw rt::Error("--seed initialises a model file's parameters; '" + given_ +
                    "' is a checkpoint, whose trained parameters are used");
}

void ModelSource::fillParams(rt::ParamStore &store, uint64_t seed) const {
  if (checkpoint_) rt::loadTrainingState(checkpoint_->ckpt, store, /*withOptimizer=*/false);
  else store.initializeAll(seed, baseDir());
}

std::vector<std::pair<std::string, std::string>> ModelSource::tokenizerFiles() const {
  if (!checkpoint_ || checkpoint_->task() != "lm") return {};
  return rt::tokenizerExportFiles(*rt::tokenizerFromMetadata(checkpoint_->ckpt.metadata, checkpoint_->path));
}

}  // namespace heed

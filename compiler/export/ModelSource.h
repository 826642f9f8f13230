//===- ModelSource.h - a model file or a checkpoint, as a model -*- C++ -*-===//
//
// `heed forward` and `heed export` take either a model file (its parameters
// initialised from --seed) or a checkpoint written by `heed train` (a
// .safetensors file or a run directory: the model source and --set values
// stored in its metadata, its trained parameters). ModelSource resolves
// either to a model file the compiler can read (a checkpoint's source is
// written to a private temporary directory: rt::StoredModelFile)
// plus the parameters.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/ParamStore.h"
#include "runtime/train/RunCheckpoint.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace heed {

class ModelSource {
public:
  /// `sets` (--set key=value) apply over a checkpoint's stored overrides.
  /// Throws rt::Error: an unreadable path, a heed compile artifact, a checkpoint
  /// without a model source, malformed --set.
  static std::unique_ptr<ModelSource> open(const std::string &path, const std::vector<std::string> &sets);

  /// The .heed file to compile (the user's, or the checkpoint's stored source).
  const std::string &modelPath() const { return modelPath_; }
  /// Where load("file.npy") inits are resolved: the model file's directory.
  std::string baseDir() const;
  const std::map<std::string, std::string> &overrides() const { return overrides_; }
  bool isCheckpoint() const { return checkpoint_.has_value(); }
  /// The precision a checkpoint was trained at (`heed.precision`); nullopt for
  /// a model file (its train block, else fp32, applies).
  std::optional<rt::Precision> storedPrecision() const;
  /// A language model checkpoint's tokenizer as files for an export
  /// (runtime/text/TokenizerExport.h); none for a model file (it has no tokenizer
  /// until it is trained) or a sequence-to-sequence checkpoint.
  std::vector<std::pair<std::string, std::string>> tokenizerFiles() const;
  /// What the user named, for messages.
  const std::string &given() const { return given_; }

  /// Loads the checkpoint's parameters into `store` (every parameter of the store
  /// must be there with its shape), or initialises them from `seed` for a model file.
  void fillParams(rt::ParamStore &store, uint64_t seed) const;
  /// Throws if --seed was given for a checkpoint: its parameters are trained,
  /// not initialised, so the seed would be ignored.
  void checkSeedApplies(bool seedGiven) const;

private:
  ModelSource() = default;
  std::string given_, modelPath_;
  std::map<std::string, std::string> overrides_;
  std::optional<rt::RunCheckpoint> checkpoint_;
  std::unique_ptr<rt::StoredModelFile> storedFile_;
};

}  // namespace heed

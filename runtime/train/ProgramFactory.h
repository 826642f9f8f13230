//===- ProgramFactory.h - how the trainer gets its programs -----*- C++ -*-===//
//
// The trainer, the evaluator and the decoders build programs (a model at a
// batch size, with --set overrides; the same model again per length bucket;
// the model stored in a checkpoint) without knowing how: runtime/ has no MLIR.
// compiler/session/ModelProgramFactory implements it with the reference
// interpreter or the compiled backend, and loads `heed compile` artifacts.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Precision.h"
#include "runtime/Program.h"
#include "runtime/train/CheckedStep.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace heed::rt {

struct RunCheckpoint;

/// Thrown after the errors were already printed (located model errors).
struct ReportedError {};

/// What a program is built for: training (its load() files are read and its
/// memory check counts Adam's moments and train_step), or running a model rebuilt
/// from a checkpoint (the parameters come from the checkpoint; no training).
enum class BuildPurpose { Train, FromCheckpoint };

class ProgramFactory {
public:
  virtual ~ProgramFactory() = default;
  /// The model in `model` (a model file or an artifact directory) with the
  /// overrides, at `batch` (nullopt: the model's own), compiled at `precision`
  /// (nullopt: the model's train block, else fp32; an artifact's is fixed and
  /// another is an error). Throws rt::Error, or ReportedError after printing
  /// located errors. `entries`: the entry points the caller will run (empty:
  /// all); the others may be left uncompiled (Program::entry still describes
  /// them; running one is an internal error).
  virtual std::unique_ptr<Program> build(const std::string &model,
                                         const std::map<std::string, std::string> &overrides,
                                         std::optional<int64_t> batch,
                                         BuildPurpose purpose = BuildPurpose::Train,
                                         std::optional<Precision> precision = std::nullopt,
                                         const std::vector<std::string> &entries = {}) = 0;
  /// How `model` runs, for progress headers: "compiled (MLIR kernels + oneDNN)", ...
  virtual std::string describe(const std::string &model) const = 0;
  /// The model's train_step in the checked modes (CheckedStep.h) a replay tries,
  /// in order, built like build(model, overrides, batch, Train, precision) (a
  /// bf16 run replays with its matmul inputs rounded as they were); empty when
  /// this factory has none (an artifact that keeps no model source). Throws
  /// like build().
  virtual std::vector<std::unique_ptr<CheckedStep>> buildChecked(const std::string &model,
                                                                 const std::map<std::string, std::string> &overrides,
                                                                 int64_t batch, std::optional<Precision> precision) {
    return {};
  }
};

/// The precision a checkpoint was trained at (`heed.precision`; absent: fp32).
/// Throws on an unknown value.
Precision checkpointPrecision(const RunCheckpoint &rc);

/// Rebuilds the checkpoint's model (its stored source and overrides) at `batch`
/// and at the checkpoint's precision (unless the factory overrides it):
/// the source is written under its original file name to a private temporary
/// directory, so that diagnostics name it. `entries`: as build().
std::unique_ptr<Program> buildFromCheckpoint(ProgramFactory &factory, const RunCheckpoint &rc, int64_t batch,
                                             const std::vector<std::string> &entries = {});

}  // namespace heed::rt

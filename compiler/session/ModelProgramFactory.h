//===- ModelProgramFactory.h - programs from model files --------*- C++ -*-===//
//
// The rt::ProgramFactory of the heed tools: a model file is parsed, checked and
// compiled by the backend chosen here (a value, not a global), and a directory
// written by `heed compile` is loaded as an artifact (its batch and --set
// values are fixed: asking for others is an error that says how to recompile).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/train/ProgramFactory.h"

#include <string>

namespace heed {

class ModelProgramFactory : public rt::ProgramFactory {
public:
  /// `backend`: "compiled" (MLIR-generated kernels + oneDNN) or "reference" (the interpreter).
  /// `precision`: every program at this precision, whatever build() asks (eval,
  /// generate and encode --precision); nullopt: as build() asks.
  explicit ModelProgramFactory(std::string backend = "compiled",
                               std::optional<rt::Precision> precision = std::nullopt);

  std::unique_ptr<rt::Program> build(const std::string &model, const std::map<std::string, std::string> &overrides,
                                     std::optional<int64_t> batch,
                                     rt::BuildPurpose purpose = rt::BuildPurpose::Train,
                                     std::optional<rt::Precision> precision = std::nullopt,
                                     const std::vector<std::string> &entries = {}) override;
  std::string describe(const std::string &model) const override;
  /// A model file's train_step with a finiteness check after every op
  /// (NanReplay.h): on the compiled backend with fusion off, then on the
  /// reference interpreter (the reference backend: the interpreter only). An
  /// artifact replays from the model source its manifest keeps (at its compiled
  /// batch, --set values and precision); none when it keeps none.
  std::vector<std::unique_ptr<rt::CheckedStep>> buildChecked(const std::string &model,
                                                             const std::map<std::string, std::string> &overrides,
                                                             int64_t batch,
                                                             std::optional<rt::Precision> precision) override;

  const std::string &backend() const { return backend_; }

private:
  std::string backend_;
  std::optional<rt::Precision> precision_;
};

}  // namespace heed

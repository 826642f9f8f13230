//===- ArtifactProgram.h - run a compiled artifact without MLIR -*- C++ -*-===//
//
// Loads a directory written by `heed compile` (Manifest.h): parses
// manifest.json, dlopens kernels.so, binds every kernel's packed entry and runs
// entry points with the Executor, exactly as the JIT backend does. Links
// against the runtime, the native kernels (oneDNN) and libdl only: no MLIR, no
// LLVM (tests/unit/artifact checks it with ldd).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Program.h"
#include "runtime/compiled/Manifest.h"
#include "runtime/compiled/NativeUpdateKernels.h"

#include <memory>
#include <string>

namespace heed::rt {

class ArtifactProgram : public Program {
public:
  /// Throws rt::Error naming the file on a missing, corrupt or incompatible
  /// manifest, a kernel library that does not load, or missing kernel symbols.
  static std::unique_ptr<ArtifactProgram> load(const std::string &dir);
  ~ArtifactProgram() override;

  const ModelInfo &info() const override { return manifest_.info; }
  const std::vector<ParamSpec> &params() const override { return manifest_.params; }
  const EntrySpec *entry(const std::string &name) const override;
  std::vector<Tensor> run(const std::string &entry, const std::vector<Tensor> &inputs,
                          RunContext &ctx) override;
  /// runtime/native's threaded optimizer loops (NativeUpdateKernels.h).
  const UpdateKernels *updateKernels() const override { return &nativeUpdateKernels(); }

  const Manifest &manifest() const { return manifest_; }
  const std::string &directory() const { return dir_; }

private:
  ArtifactProgram() = default;
  std::string dir_;
  Manifest manifest_;
  void *handle_ = nullptr;
  bool profiling_ = false;
  ExecProfile profile_;
};

/// Is `path` a directory holding a manifest.json?
bool isArtifactDir(const std::string &path);

}  // namespace heed::rt

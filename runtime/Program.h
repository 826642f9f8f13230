//===- Program.h - an executable model, whatever the backend ----*- C++ -*-===//
//
// What the training loop, evaluation and decoding see of a compiled model:
// its parameters, its entry points (train_step, eval, forward) with their
// input and output tensors by name, and a way to run one. The reference
// interpreter and the compiled backend both implement it. No MLIR here.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/ParamStore.h"
#include "runtime/Precision.h"
#include "runtime/RunContext.h"
#include "runtime/Tensor.h"

#include <map>
#include <string>
#include <vector>

namespace heed::rt {

struct TensorSpec {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  std::vector<std::string> dims;  // the model's dimension names ("" where unnamed)
  /// For i32 id inputs: ids must be < idLimit (the vocabulary they index), 0 if unknown.
  int64_t idLimit = 0;
};

struct EntrySpec {
  std::string name;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  /// Index into outputs of the loss, or -1.
  int lossIndex = -1;
  int find(const std::string &input) const {
    for (size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].name == input) return (int)i;
    return -1;
  }
};

struct ParamSpec {
  std::string name;
  Shape shape;
  std::string init;
  bool frozen = false;
};

/// Facts about the model that tools print and checkpoints store.
struct ModelInfo {
  std::string name;
  std::string sourcePath;
  std::string source;                       // the model file's text
  std::map<std::string, double> config;     // config values after --set, plus batch
  std::map<std::string, std::string> train; // the `train { }` block, as text
  std::map<std::string, std::string> overrides;  // --set key=value, as given
  Precision precision = Precision::F32;           // matmul precision compiled in (Precision.h)
};

struct UpdateKernels;  // runtime/train/Optimizer.h

class Program {
public:
  virtual ~Program() = default;
  virtual const ModelInfo &info() const = 0;
  virtual const std::vector<ParamSpec> &params() const = 0;
  /// nullptr if the program has no such entry point.
  virtual const EntrySpec *entry(const std::string &name) const = 0;
  /// Runs an entry point; inputs in the order of EntrySpec::inputs. Throws rt::Error.
  virtual std::vector<Tensor> run(const std::string &entry, const std::vector<Tensor> &inputs,
                                  RunContext &ctx) = 0;
  /// The optimizer loops that suit this backend (the compiled backend and
  /// artifacts: runtime/native's threaded ones); nullptr: the reference loops.
  virtual const UpdateKernels *updateKernels() const { return nullptr; }
};

/// A parameter store with every parameter of `program`, initialised from `seed`
/// (load("file.npy") paths are relative to baseDir).
ParamStore createParams(const Program &program, uint64_t seed, const std::string &baseDir);

}  // namespace heed::rt

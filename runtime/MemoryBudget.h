//===- MemoryBudget.h - does a program fit in memory? -----------*- C++ -*-===//
//
// A model's memory is known before anything is allocated: its parameters (and,
// to train, Adam's two moments per parameter) and the largest set of tensors an
// entry point keeps alive at once (computed by the program builders from their
// schedules: compiler/MemoryEstimate.h for model files, the artifact's plans for
// compiled artifacts). checkMemory compares that with the memory this process
// can still get and refuses a model that cannot fit, naming its largest tensor
// and the flag that sizes it, instead of letting the kernel kill the process at
// 24 GB or a bare std::bad_alloc end it.
//
// The memory available is the smallest of
//   * MemAvailable in /proc/meminfo,
//   * the cgroup v2 limit of this process minus what the cgroup uses
//     (memory.max - memory.current),
//   * RLIMIT_AS minus the address space already mapped;
// HEED_MEMORY_LIMIT overrides all three: a size ("64G", "512M", "1.5GiB",
// bytes) or "off" to skip the check.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Program.h"
#include "runtime/Tensor.h"

#include <cstdint>
#include <string>

namespace heed::rt {

/// One tensor of the estimate, for the message.
struct TensorNeed {
  std::string what;  // "parameter 'embedding.weight'", "a value of train_step (m.heed:24:10)"
  DType dtype = DType::F32;
  Shape shape;
  /// Saturates at INT64_MAX (a model's shapes may multiply past it).
  int64_t bytes() const;
};

struct MemoryNeed {
  int64_t paramBytes = 0;      // the parameters
  int64_t optimizerBytes = 0;  // Adam's moments (training only)
  int64_t activationBytes = 0; // the largest live set of the entry that needs most
  std::string activationEntry; // that entry
  TensorNeed largest;          // the largest single tensor of all of the above
  /// Keeps `t` as `largest` if it is larger.
  void consider(const TensorNeed &t);
};

/// The parameters of `params` (and, with `training`, two Adam moments each).
MemoryNeed parameterNeed(const std::vector<ParamSpec> &params, bool training);

struct MemoryLimit {
  int64_t bytes = -1;  // -1: no limit known, or the check is off
  std::string source;  // "MemAvailable", "the cgroup limit (memory.max)", "RLIMIT_AS", "HEED_MEMORY_LIMIT"
};

/// What this process can still allocate (see the file comment). Throws rt::Error
/// on a malformed HEED_MEMORY_LIMIT.
MemoryLimit availableMemory();

/// "476.8 GiB", "12.0 MiB", "512 bytes".
std::string formatMemorySize(int64_t bytes);

/// Throws rt::Error when need.total() exceeds limit.bytes: the sizes, the
/// largest tensor and the config entry or flag that sizes it (looked up in
/// info.config by the tensor's dimensions; --set entries the user gave first).
/// `purpose` is "train" or "run".
void checkMemory(const MemoryNeed &need, const MemoryLimit &limit, const ModelInfo &info,
                 const std::string &purpose);

}  // namespace heed::rt

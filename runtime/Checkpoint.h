//===- Checkpoint.h - safetensors checkpoints -------------------*- C++ -*-===//
//
// The safetensors format (https://github.com/huggingface/safetensors):
//
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   a JSON object:
//               {"<name>": {"dtype": "F32"|"I32"|"I64"|"BOOL", "shape": [..],
//                           "data_offsets": [begin, end]}, ...,
//                "__metadata__": {"<key>": "<string value>", ...}}
//             padded with trailing spaces so the data starts 8-byte aligned
//   rest      the tensors' raw little-endian bytes; offsets are relative to the
//             start of this section, which they cover exactly (no holes, no
//             overlaps, no trailing bytes).
//
// loadCheckpoint validates all of that and throws rt::Error
// "checkpoint '<path>': <what is wrong>" on any violation.
//
// Training state (saveTrainingState / loadTrainingState) stores each parameter
// as "param/<name>" and, when the optimizer has allocated them, its Adam moments
// as "adam_m/<name>" and "adam_v/<name>".
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/ParamStore.h"
#include "runtime/Tensor.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace heed::rt {

struct Checkpoint {
  std::map<std::string, Tensor> tensors;
  std::vector<std::string> order;  // tensor names by data offset (= save order for heed's files)
  std::map<std::string, std::string> metadata;
  std::string path;  // set by loadCheckpoint; used in loadTrainingState's errors
};

/// Writes a safetensors file atomically (writeFileAtomic). Tensors are written in
/// the given order. Throws on duplicate or empty names, the reserved name
/// "__metadata__", or an undefined tensor.
void saveCheckpoint(const std::string &path,
                    const std::vector<std::pair<std::string, const Tensor *>> &tensors,
                    const std::map<std::string, std::string> &metadata = {});

/// Reads and validates a safetensors file.
Checkpoint loadCheckpoint(const std::string &path);
/// The same from the bytes of a file (`name` stands in for the path in errors).
Checkpoint parseCheckpoint(std::string_view bytes, const std::string &name = "<memory>");
/// The same from a file of `fileSize` bytes read by `read(dst, n, offset)`, which
/// throws rt::Error if it cannot.
Checkpoint parseCheckpoint(uint64_t fileSize, const std::string &path,
                           const std::function<void(void *, uint64_t, uint64_t)> &read);

/// The version of heed train's checkpoint metadata ("heed.format"); readers refuse
/// any other, since the meaning of the keys may have changed.
constexpr int kRunFormatVersion = 1;

/// Throws "checkpoint '<path>' has heed.format N, but this heed reads version 1"
/// when ck's "heed.format" is present and is not kRunFormatVersion.
void checkRunFormat(const Checkpoint &ck);

/// The integer metadata `key` of ck (`fallback` when absent), at least `min`.
/// Anything else throws "checkpoint '<path>': metadata '<key>' is '<text>', not an
/// integer" (or "... out of range") instead of a bare std::stoll error.
int64_t metadataInt(const Checkpoint &ck, const std::string &key, int64_t fallback, int64_t min = 0);
/// The same for an unsigned 64-bit value (a seed).
uint64_t metadataUnsigned(const Checkpoint &ck, const std::string &key, uint64_t fallback);

/// "ckpt-<step>.safetensors"
std::string checkpointFileName(int64_t step);

/// A file is returned as is. For a directory: the file named by its `latest`
/// text file if there is one, else the `ckpt-<step>.safetensors` with the highest
/// step. Throws if the path does not exist, `latest` names a missing file, or the
/// directory holds no checkpoint.
std::string resolveCheckpointPath(const std::string &fileOrDir);

/// Steps of the ckpt-<step>.safetensors files in run directory `dir`, ascending
/// (none if it does not exist).
std::vector<int64_t> checkpointSteps(const std::string &dir);

/// Atomically writes `dir/latest` containing `fileName` (a name inside dir).
void writeLatestMarker(const std::string &dir, const std::string &fileName);

/// Saves every parameter as param/<name> (store order), then adam_m/<name> and
/// adam_v/<name> for the parameters whose optimizer state is allocated.
void saveTrainingState(const std::string &path, const ParamStore &store,
                       const std::map<std::string, std::string> &metadata = {});

/// Loads a training state into `store`. Every parameter of the store must be in
/// the checkpoint with the same shape, and the checkpoint may not hold param/
/// tensors the store lacks; errors name the parameter and both shapes. With
/// `withOptimizer`, the adam_m/adam_v tensors present are loaded (checked the
/// same way; a parameter without them starts with fresh state); without it, all
/// optimizer state is reset. Everything is checked before anything is changed.
void loadTrainingState(const Checkpoint &ckpt, ParamStore &store, bool withOptimizer);

}  // namespace heed::rt

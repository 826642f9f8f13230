//===- RunDirectory.h - a training run's directory --------------*- C++ -*-===//
//
// What a run directory holds and who may write it:
//
//   ckpt-<step>.safetensors  checkpoints (RunCheckpoint.h); the newest `keep`
//                            stay, older ones are removed after each save
//   latest                   the file name of the newest checkpoint
//   metrics.jsonl            one JSON row per logged step (MetricsFile)
//   .lock                flock'ed by the one process writing the run, and
//                            holding its PID (so the refusal can name it)
//
// Opening a RunDirectory creates the directory and takes the lock: a second
// `heed train` (or `heed average -o`) on the same directory fails with "run
// directory 'X' is in use by process PID". The lock is released by the
// destructor or by the process dying (flock), never left stale.
// Files are written with writeFileAtomic (<file>.tmp.<pid>, then renamed);
// removeStaleTemporaries() deletes those left by processes that died.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/ParamStore.h"
#include "runtime/Tensor.h"
#include "runtime/train/Progress.h"

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace heed::rt {

class RunDirectory {
public:
  /// Creates `dir` (and parents) if needed and locks it; throws rt::Error if
  /// another process holds the lock or the directory cannot be made.
  explicit RunDirectory(std::string dir);
  ~RunDirectory();
  RunDirectory(const RunDirectory &) = delete;
  RunDirectory &operator=(const RunDirectory &) = delete;

  const std::string &path() const { return dir_; }
  std::string file(const std::string &name) const;
  std::string checkpointPath(int64_t step) const;
  /// Steps of the ckpt-<step>.safetensors files, ascending.
  std::vector<int64_t> checkpointSteps() const;
  /// Does it hold a run already (checkpoints or a `latest` marker)?
  bool holdsRun() const;

  /// Writes ckpt-<step>.safetensors with the training state, points `latest` at
  /// it and removes all but the newest `keep` checkpoints. Returns its path.
  std::string saveTrainingState(int64_t step, const ParamStore &params,
                                const std::map<std::string, std::string> &meta, int64_t keep);
  /// Writes checkpoint file `name` (no rotation) and points `latest` at it.
  std::string saveCheckpoint(const std::string &name,
                             const std::vector<std::pair<std::string, const Tensor *>> &tensors,
                             const std::map<std::string, std::string> &meta);

  /// Deletes `<file>.tmp.<pid>` files whose process is no longer alive; returns their names.
  std::vector<std::string> removeStaleTemporaries();

  std::string metricsPath() const { return file("metrics.jsonl"); }
  /// Rewrites metrics.jsonl keeping the rows with step <= `step` (a resumed run
  /// recomputes the later ones).
  void truncateMetrics(int64_t step);

private:
  std::string dir_;
  int lockFd_ = -1;
};

/// metrics.jsonl: MetricsWriter's rows plus extra fields (the seq2seq task's
/// valid_wer, valid_per and valid_words on the steps that decoded).
class MetricsFile {
public:
  MetricsFile(const std::string &path, bool truncate);
  ~MetricsFile();
  MetricsFile(const MetricsFile &) = delete;
  MetricsFile &operator=(const MetricsFile &) = delete;
  /// `extra`: more "key":value fields, each starting with ','.
  void write(const StepStats &st, const std::string &extra = "");

private:
  std::string path_;
  std::FILE *f_ = nullptr;
};

}  // namespace heed::rt

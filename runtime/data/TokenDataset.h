//===- TokenDataset.h - a token stream for language models ------*- C++ -*-===//
//
// A whole file held in memory as token ids (bytes, or a tokenizer's ids).
//
// Training batches: row r of step s is the window of seq + 1 tokens starting at
//   start = (hash64(seed ^ kDataDomain, s, r) * (size - seq)) >> 64
// (a multiply-shift map onto [0, size - seq)), tokens = window[0, seq),
// targets = window[1, seq]. The start positions are a pure function of
// (seed, step, row), so a run resumed at step k sees exactly the batches an
// uninterrupted run would. kDataDomain = hashString("heed.data.batch") keeps
// these draws independent of dropout masks that use the same seed and step.
//
// Validation: window w < evalWindows(seq) has tokens [w*seq, w*seq + seq) and
// targets shifted by one, so the windows do not overlap. When they leave a tail
// (size - 1 not a multiple of seq), one more row, the last seq + 1 tokens of the
// file, scores only its targets past the full windows (EvalRow::firstScored):
// every token from position 1 on is scored exactly once.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace heed::rt {

class TokenDataset {
public:
  /// `name` (the file) is used in errors; throws if `ids` is empty.
  TokenDataset(std::vector<int32_t> ids, std::string name);
  /// What a token is called in errors: "tokens" (the default) or "bytes".
  void setUnit(std::string u) { unit_ = std::move(u); }

  int64_t size() const { return (int64_t)ids_.size(); }
  const std::string &path() const { return path_; }
  const std::vector<int32_t> &ids() const { return ids_; }
  /// The largest id + 1.
  int64_t idLimit() const;

  /// Throws "data file 'x' has 100 tokens; a window needs seq + 1 = 129" if the
  /// data is too short for one window (or seq < 1).
  void checkWindow(int64_t seq) const;

  /// Random training batch: tokens and targets become fresh i32 [batch, seq] tensors.
  void batch(int64_t step, int64_t batch, int64_t seq, uint64_t seed, Tensor &tokens, Tensor &targets) const;

  /// Number of non-overlapping validation windows: (size - 1) / seq.
  int64_t evalWindows(int64_t seq) const;
  /// The windows plus the tail row, if there is a tail.
  int64_t evalRows(int64_t seq) const;
  /// Validation batch of rows first, first + 1, ... (< evalRows); rows past the
  /// last repeat rows from the start of the batch (so the shapes stay [batch,
  /// seq]). Returns how many rows are real; `firstScored[r]` is the first
  /// position of row r whose target counts (0, or past the full windows for the
  /// tail row).
  int64_t evalBatch(int64_t first, int64_t batch, int64_t seq, Tensor &tokens, Tensor &targets,
                    std::vector<int64_t> &firstScored) const;
  /// The full windows only (first < evalWindows).
  int64_t evalBatch(int64_t first, int64_t batch, int64_t seq, Tensor &tokens, Tensor &targets) const;

protected:
  TokenDataset() = default;
  std::string path_;
  std::vector<int32_t> ids_;
  std::string unit_ = "tokens";
};

}  // namespace heed::rt

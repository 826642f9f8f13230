//===- ByteDataset.h - byte-level text data ---------------------*- C++ -*-===//
//
// A whole file held in memory as a sequence of byte tokens (ids 0..255).
//
// Training batches: row r of step s is the window of seq + 1 bytes starting at
//   start = (hash64(seed ^ kDataDomain, s, r) * (size - seq)) >> 64
// (a multiply-shift map onto [0, size - seq)), tokens = window[0, seq),
// targets = window[1, seq]. The start positions are a pure function of
// (seed, step, row), so a run resumed at step k sees exactly the batches an
// uninterrupted run would. kDataDomain = hashString("heed.data.batch") keeps
// these draws independent of dropout masks that use the same seed and step.
//
// Validation: window w (0 <= w < evalWindows(seq)) has tokens = bytes
// [w*seq, w*seq + seq) and targets shifted by one, so the windows do not overlap
// and each byte from position 1 on is predicted at most once.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace heed::rt {

class ByteDataset {
public:
  /// Loads a file. Throws rt::Error if it is missing, unreadable or empty.
  explicit ByteDataset(const std::string &path);
  /// In-memory data (for tests and generated corpora); `name` is used in errors.
  static ByteDataset fromString(std::string bytes, std::string name = "<memory>");

  int64_t size() const { return (int64_t)data_.size(); }
  const std::string &path() const { return path_; }
  const std::string &bytes() const { return data_; }

  /// Throws "data file 'x' has 100 bytes; a window needs seq + 1 = 129" if the
  /// data is too short for one window (or seq < 1).
  void checkWindow(int64_t seq) const;

  /// Random training batch: tokens and targets become fresh i32 [batch, seq] tensors.
  void batch(int64_t step, int64_t batch, int64_t seq, uint64_t seed, Tensor &tokens,
             Tensor &targets) const;

  /// Number of non-overlapping validation windows: (size - 1) / seq.
  int64_t evalWindows(int64_t seq) const;
  /// Validation batch of windows first, first + 1, ...; rows past the last window
  /// repeat windows from the start of the batch (so the shapes stay [batch, seq]).
  /// Returns how many rows are real (min(batch, evalWindows - first)), so the
  /// caller can weight the last partial batch. Requires 0 <= first < evalWindows.
  int64_t evalBatch(int64_t first, int64_t batch, int64_t seq, Tensor &tokens, Tensor &targets) const;

  /// Ids 0..255 -> bytes; other ids throw.
  static std::string decode(const std::vector<int32_t> &ids);
  /// Bytes -> ids 0..255.
  static std::vector<int32_t> encode(std::string_view text);

private:
  ByteDataset() = default;
  std::string path_;
  std::string data_;
};

/// Entropy of the file's byte distribution, in nats per byte (the loss of the
/// best context-free byte model: a useful baseline). Throws if missing or empty.
double unigramEntropyNats(const std::string &path);

}  // namespace heed::rt

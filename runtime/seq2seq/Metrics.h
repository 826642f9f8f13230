//===- Metrics.h - edit distance and word/symbol error rates ----*- C++ -*-===//
//
// Evaluation of sequence outputs against references, as in G2P papers:
//
//   * edit distance: Levenshtein distance (insertions, deletions and
//     substitutions all cost 1) between two symbol id sequences;
//   * WER (word error rate): the fraction of words whose hypothesis differs
//     from the reference anywhere (a G2P "word" is one whole pronunciation);
//   * PER (phoneme/symbol error rate): total edit distance / total reference
//     length, summed over all words (not an average of per-word rates).
//
// Sequences are compared as given: strip BOS/EOS/PAD before accumulating.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <vector>

namespace heed::rt {

/// Levenshtein distance between a and b (O(|a| |b|) time, O(min) memory).
int64_t editDistance(const std::vector<int32_t> &a, const std::vector<int32_t> &b);

struct ErrorRates {
  int64_t words = 0;        // pairs accumulated
  int64_t wordErrors = 0;   // pairs with hypothesis != reference
  int64_t symbols = 0;      // sum of reference lengths
  int64_t symbolEdits = 0;  // sum of edit distances

  /// Accumulates one (hypothesis, reference) pair.
  void add(const std::vector<int32_t> &hypothesis, const std::vector<int32_t> &reference);
  /// Merges counts (e.g. from several evaluation shards).
  ErrorRates &operator+=(const ErrorRates &o);

  /// wordErrors / words; 0 if no words.
  double wer() const;
  /// symbolEdits / symbols; 0 if nothing was accumulated, +inf if every
  /// reference was empty but some hypothesis was not.
  double per() const;
};

}  // namespace heed::rt

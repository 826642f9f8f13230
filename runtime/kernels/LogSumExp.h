//===- LogSumExp.h - log-sum-exp of one row of logits -----------*- C++ -*-===//
//
// The one log-softmax / cross-entropy computation on rows of logits, shared by
// the reference cross_entropy kernel (Loss.cpp) and by everything that scores
// logits outside a program: validation losses, beam search's log-probabilities.
// The max is taken in the row's own precision and the exponentials are summed
// in double, so every user gets the same bits for the same row.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace heed::rt {

/// log(sum_c exp(row[c])), computed as max + log(sum exp(row - max)).
template <class T>
double logSumExp(const T *row, int64_t V) {
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t c = 0; c < V; ++c) m = std::max(m, row[c]);
  double s = 0.0;
  for (int64_t c = 0; c < V; ++c) s += std::exp((double)row[c] - m);
  return m + std::log(s);
}

/// -log softmax(row)[target]: the cross-entropy of one position, in nats.
template <class T>
double crossEntropyRow(const T *row, int64_t V, int32_t target) {
  return logSumExp(row, V) - (double)row[target];
}

/// out[c] = log softmax(row)[c] (out may not alias row).
template <class T>
void logSoftmaxRow(const T *row, T *out, int64_t V) {
  const double lse = logSumExp(row, V);
  for (int64_t c = 0; c < V; ++c) out[c] = (T)((double)row[c] - lse);
}

}  // namespace heed::rt

//===- Metrics.cpp - edit distance and word/symbol error rates ------------===//

#include "runtime/seq2seq/Metrics.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace heed::rt {

int64_t editDistance(const std::vector<int32_t> &a, const std::vector<int32_t> &b) {
  // Keep the shorter sequence as the DP row.
  const std::vector<int32_t> &longer = a.size() >= b.size() ? a : b;
  const std::vector<int32_t> &shorter = a.size() >= b.size() ? b : a;
  const size_t m = shorter.size();
  std::vector<int64_t> row(m + 1);
  std::iota(row.begin(), row.end(), int64_t(0));
  for (size_t i = 1; i <= longer.size(); ++i) {
    int64_t diag = row[0];  // D[i-1][0]
    row[0] = (int64_t)i;
    for (size_t j = 1; j <= m; ++j) {
      const int64_t up = row[j];  // D[i-1][j]
      const int64_t sub = diag + (longer[i - 1] != shorter[j - 1]);
      row[j] = std::min({sub, up + 1, row[j - 1] + 1});
      diag = up;
    }
  }
  return row[m];
}

void ErrorRates::add(const std::vector<int32_t> &hypothesis, const std::vector<int32_t> &reference) {
  ++words;
  symbols += (int64_t)reference.size();
  if (hypothesis != reference) {
    ++wordErrors;
    symbolEdits += editDistance(hypothesis, reference);
  }
}

ErrorRates &ErrorRates::operator+=(const ErrorRates &o) {
  words += o.words;
  wordErrors += o.wordErrors;
  symbols += o.symbols;
  symbolEdits += o.symbolEdits;
  return *this;
}

double ErrorRates::wer() const { return words ? (double)wordErrors / (double)words : 0.0; }

double ErrorRates::per() const {
  if (symbols) return (double)symbolEdits / (double)symbols;
  return symbolEdits ? std::numeric_limits<double>::infinity() : 0.0;
}

}  // namespace heed::rt

//===- TokenDataset.cpp - a token stream for language models --------------===//

#include "runtime/data/TokenDataset.h"

#include "runtime/Error.h"
#include "runtime/Random.h"

#include <fmt/format.h>

#include <algorithm>

namespace heed::rt {

namespace {

uint64_t dataDomain() {
  static const uint64_t d = hashString("heed.data.batch");
  return d;
}

void checkBatchArgs(const char *fn, int64_t batch, int64_t seq) {
  if (batch < 1 || seq < 1)
    throw Error(fmt::format("TokenDataset::{}: batch and seq must be >= 1 (got batch {}, seq {})", fn, batch, seq));
}

void copyWindow(const std::vector<int32_t> &data, int64_t start, int64_t seq, int32_t *tok, int32_t *tgt) {
  const int32_t *p = data.data() + start;
  std::copy(p, p + seq, tok);
  std::copy(p + 1, p + seq + 1, tgt);
}

}  // namespace

TokenDataset::TokenDataset(std::vector<int32_t> ids, std::string name) : path_(std::move(name)), ids_(std::move(ids)) {
  if (ids_.empty()) throw Error(fmt::format("data file '{}' is empty", path_));
}

int64_t TokenDataset::idLimit() const { return (int64_t)*std::max_element(ids_.begin(), ids_.end()) + 1; }

void TokenDataset::checkWindow(int64_t seq) const {
  if (seq < 1) throw Error(fmt::format("TokenDataset: seq must be >= 1, got {}", seq));
  if (size() < seq + 1)
    throw Error(fmt::format("data file '{}' has {} {}; a window needs seq + 1 = {}", path_, size(), unit_, seq + 1));
}

void TokenDataset::batch(int64_t step, int64_t batch, int64_t seq, uint64_t seed, Tensor &tokens,
                         Tensor &targets) const {
  checkBatchArgs("batch", batch, seq);
  checkWindow(seq);
  const uint64_t starts = (uint64_t)(size() - seq);  // start + seq <= size - 1
  Tensor tok(DType::I32, {batch, seq}), tgt(DType::I32, {batch, seq});
  int32_t *a = tok.i32(), *b = tgt.i32();
  for (int64_t r = 0; r < batch; ++r) {
    const uint64_t h = hash64(seed ^ dataDomain(), (uint64_t)step, (uint64_t)r);
    const int64_t start = (int64_t)(((unsigned __int128)h * starts) >> 64);
    copyWindow(ids_, start, seq, a + r * seq, b + r * seq);
  }
  tokens = std::move(tok);
  targets = std::move(tgt);
}

int64_t TokenDataset::evalWindows(int64_t seq) const {
  checkWindow(seq);
  return (size() - 1) / seq;
}

int64_t TokenDataset::evalRows(int64_t seq) const {
  const int64_t w = evalWindows(seq);
  return w + ((size() - 1) % seq != 0 ? 1 : 0);
}

int64_t TokenDataset::evalBatch(int64_t first, int64_t batch, int64_t seq, Tensor &tokens, Tensor &targets,
                                std::vector<int64_t> &firstScored) const {
  checkBatchArgs("evalBatch", batch, seq);
  const int64_t windows = evalWindows(seq), rows = evalRows(seq);
  if (first < 0 || first >= rows)
    throw Error(fmt::format("TokenDataset::evalBatch: first row {} out of range [0, {})", first, rows));
  const int64_t real = std::min(batch, rows - first);
  Tensor tok(DType::I32, {batch, seq}), tgt(DType::I32, {batch, seq});
  int32_t *a = tok.i32(), *b = tgt.i32();
  firstScored.assign((size_t)batch, 0);
  for (int64_t r = 0; r < batch; ++r) {
    const int64_t w = first + (r % real);
    if (w < windows) {
      copyWindow(ids_, w * seq, seq, a + r * seq, b + r * seq);
    } else {
      // The tail: the last seq + 1 tokens; targets up to windows * seq are scored already.
      const int64_t start = size() - 1 - seq;
      copyWindow(ids_, start, seq, a + r * seq, b + r * seq);
      firstScored[(size_t)r] = windows * seq - start;
    }
  }
  tokens = std::move(tok);
  targets = std::move(tgt);
  return real;
}

int64_t TokenDataset::evalBatch(int64_t first, int64_t batch, int64_t seq, Tensor &tokens, Tensor &targets) const {
  const int64_t windows = evalWindows(seq);
  if (first < 0 || first >= windows)
    throw Error(fmt::format("TokenDataset::evalBatch: first window {} out of range [0, {})", first, windows));
  std::vector<int64_t> scored;
  const int64_t real = evalBatch(first, std::min(batch, windows - first), seq, tokens, targets, scored);
  if (real == batch) return real;
  // Pad to `batch` rows by repeating the batch's first windows.
  Tensor tok(DType::I32, {batch, seq}), tgt(DType::I32, {batch, seq});
  for (int64_t r = 0; r < batch; ++r) {
    std::copy(tokens.i32() + (r % real) * seq, tokens.i32() + (r % real + 1) * seq, tok.i32() + r * seq);
    std::copy(targets.i32() + (r % real) * seq, targets.i32() + (r % real + 1) * seq, tgt.i32() + r * seq);
  }
  tokens = std::move(tok);
  targets = std::move(tgt);
  return real;
}

}  // namespace heed::rt

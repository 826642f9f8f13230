//===- ByteDataset.cpp - byte-level text data -----------------------------===//

#include "runtime/data/ByteDataset.h"

#include "runtime/AtomicFile.h"
#include "runtime/Error.h"
#include "runtime/Random.h"

#include <fmt/format.h>

#include <array>
#include <cmath>

namespace heed::rt {

namespace {

uint64_t dataDomain() {
  static const uint64_t d = hashString("heed.data.batch");
  return d;
}

void checkBatchArgs(const char *fn, int64_t batch, int64_t seq) {
  if (batch < 1 || seq < 1)
    throw Error(fmt::format("ByteDataset::{}: batch and seq must be >= 1 (got batch {}, seq {})", fn,
                            batch, seq));
}

void copyWindow(const std::string &data, int64_t start, int64_t seq, int32_t *tok, int32_t *tgt) {
  const unsigned char *p = reinterpret_cast<const unsigned char *>(data.data()) + start;
  for (int64_t t = 0; t < seq; ++t) {
    tok[t] = p[t];
    tgt[t] = p[t + 1];
  }
}

}  // namespace

ByteDataset::ByteDataset(const std::string &path) : path_(path) {
  data_ = readTextFile(path, "data file");
  if (data_.empty()) throw Error(fmt::format("data file '{}' is empty", path));
}

ByteDataset ByteDataset::fromString(std::string bytes, std::string name) {
  if (bytes.empty()) throw Error(fmt::format("data file '{}' is empty", name));
  ByteDataset d;
  d.path_ = std::move(name);
  d.data_ = std::move(bytes);
  return d;
}

void ByteDataset::checkWindow(int64_t seq) const {
  if (seq < 1) throw Error(fmt::format("ByteDataset: seq must be >= 1, got {}", seq));
  if (size() < seq + 1)
    throw Error(fmt::format("data file '{}' has {} bytes; a window needs seq + 1 = {}", path_, size(),
                            seq + 1));
}

void ByteDataset::batch(int64_t step, int64_t batch, int64_t seq, uint64_t seed, Tensor &tokens,
                        Tensor &targets) const {
  checkBatchArgs("batch", batch, seq);
  checkWindow(seq);
  const uint64_t starts = (uint64_t)(size() - seq);  // start + seq <= size - 1
  Tensor tok(DType::I32, {batch, seq}), tgt(DType::I32, {batch, seq});
  int32_t *a = tok.i32(), *b = tgt.i32();
  for (int64_t r = 0; r < batch; ++r) {
    const uint64_t h = hash64(seed ^ dataDomain(), (uint64_t)step, (uint64_t)r);
    const int64_t start = (int64_t)(((unsigned __int128)h * starts) >> 64);
    copyWindow(data_, start, seq, a + r * seq, b + r * seq);
  }
  tokens = std::move(tok);
  targets = std::move(tgt);
}

int64_t ByteDataset::evalWindows(int64_t seq) const {
  checkWindow(seq);
  return (size() - 1) / seq;
}

int64_t ByteDataset::evalBatch(int64_t first, int64_t batch, int64_t seq, Tensor &tokens,
                               Tensor &targets) const {
  checkBatchArgs("evalBatch", batch, seq);
  const int64_t windows = evalWindows(seq);
  if (first < 0 || first >= windows)
    throw Error(fmt::format("ByteDataset::evalBatch: first window {} out of range [0, {})", first,
                            windows));
  const int64_t real = std::min(batch, windows - first);
  Tensor tok(DType::I32, {batch, seq}), tgt(DType::I32, {batch, seq});
  int32_t *a = tok.i32(), *b = tgt.i32();
  for (int64_t r = 0; r < batch; ++r) {
    const int64_t w = first + (r % real);
    copyWindow(data_, w * seq, seq, a + r * seq, b + r * seq);
  }
  tokens = std::move(tok);
  targets = std::move(tgt);
  return real;
}

std::string ByteDataset::decode(const std::vector<int32_t> &ids) {
  std::string out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] > 255)
      throw Error(fmt::format("ByteDataset::decode: id {} at position {} is not a byte (0..255)",
                              ids[i], i));
    out.push_back((char)(unsigned char)ids[i]);
  }
  return out;
}

std::vector<int32_t> ByteDataset::encode(std::string_view text) {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (char c : text) ids.push_back((int32_t)(unsigned char)c);
  return ids;
}

double unigramEntropyNats(const std::string &path) {
  const std::string data = readTextFile(path, "data file");
  if (data.empty()) throw Error(fmt::format("data file '{}' is empty", path));
  std::array<uint64_t, 256> counts{};
  for (char c : data) ++counts[(unsigned char)c];
  const double n = (double)data.size();
  double h = 0;
  for (uint64_t c : counts)
    if (c) {
      const double p = (double)c / n;
      h -= p * std::log(p);
    }
  return h;
}

}  // namespace heed::rt

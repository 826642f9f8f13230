//===- ParallelData.cpp - parallel (source, target) text corpora ----------===//

#include "runtime/seq2seq/ParallelData.h"

#include "runtime/AtomicFile.h"
#include "runtime/Error.h"
#include "runtime/Random.h"
#include "runtime/seq2seq/Lines.h"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <numeric>

namespace heed::rt {

namespace {

uint64_t batchDomain() {
  static const uint64_t d = hashString("heed.seq2seq.batch");
  return d;
}

}  // namespace

//===----------------------------------------------------------------------===//
// EncodeStats
//===----------------------------------------------------------------------===//

std::string EncodeStats::summary() const {
  std::string s = fmt::format("kept {} of {} pairs", kept, pairs);
  if (skipped)
    s += fmt::format("; skipped {} too long (src > {}: {}, tgt + 1 > {}: {}; longest src {}, tgt {})",
                     skipped, srcLen, srcTooLong, tgtLen, tgtTooLong, maxSrc, maxTgt);
  s += fmt::format("; {} unknown source symbols, {} unknown target symbols", srcUnknown, tgtUnknown);
  if (blankLines) s += fmt::format("; {} blank lines", blankLines);
  return s;
}

//===----------------------------------------------------------------------===//
// ParallelData
//===----------------------------------------------------------------------===//

ParallelData ParallelData::load(const std::string &path, Tokenizer srcTok, Tokenizer tgtTok) {
  const std::string text = readWholeFile(path, "data file");
  return parse(text, srcTok, tgtTok, path);
}

ParallelData ParallelData::parse(std::string_view text, Tokenizer srcTok, Tokenizer tgtTok,
                                 const std::string &name) {
  text = stripUtf8Bom(text);  // a byte-order mark is no symbol of the first line
  if (text.empty()) throw Error(fmt::format("data file '{}' is empty", name));
  ParallelData d;
  d.path_ = name;
  d.srcTok_ = srcTok;
  d.tgtTok_ = tgtTok;
  const std::vector<std::string_view> lines = splitLines(text);
  int64_t lineNo = 0;
  for (std::string_view line : lines) {
    ++lineNo;
    auto fail = [&](const std::string &what) {
      throw Error(fmt::format("data file '{}': line {} {}", name, lineNo, what));
    };
    if (isBlank(line)) {
      ++d.blankLines_;
      continue;
    }
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) fail("has no tab: expected 'source<TAB>target'");
    const size_t tabs = (size_t)std::count(line.begin(), line.end(), '\t');
    if (tabs > 1) fail(fmt::format("has {} tabs: expected 'source<TAB>target'", tabs));
    TextPair p;
    p.line = lineNo;
    try {
      p.src = tokenize(line.substr(0, tab), srcTok);
    } catch (const Error &e) {
      fail(fmt::format("source: {}", e.what()));
    }
    try {
      p.tgt = tokenize(line.substr(tab + 1), tgtTok);
    } catch (const Error &e) {
      fail(fmt::format("target: {}", e.what()));
    }
    if (p.src.empty()) fail("has an empty source");
    if (p.tgt.empty()) fail("has an empty target");
    d.pairs_.push_back(std::move(p));
  }
  if (d.pairs_.empty())
    throw Error(fmt::format("data file '{}' has no examples ({} blank lines)", name, d.blankLines_));
  return d;
}

Vocab ParallelData::buildSrcVocab(int64_t minCount) const {
  std::unordered_map<std::string, int64_t> counts;
  for (const auto &p : pairs_)
    for (const auto &s : p.src) ++counts[s];
  return Vocab::fromCounts(counts, minCount);
}

Vocab ParallelData::buildTgtVocab(int64_t minCount) const {
  std::unordered_map<std::string, int64_t> counts;
  for (const auto &p : pairs_)
    for (const auto &s : p.tgt) ++counts[s];
  return Vocab::fromCounts(counts, minCount);
}

EncodedData ParallelData::encode(const Vocab &srcVocab, const Vocab &tgtVocab, int64_t srcLen,
                                 int64_t tgtLen) const {
  if (srcLen < 1 || tgtLen < 2)
    throw Error(fmt::format("ParallelData::encode: need src_len >= 1 and tgt_len >= 2 (BOS/EOS), got "
                            "{} and {}",
                            srcLen, tgtLen));
  EncodeStats st;
  st.pairs = size();
  st.blankLines = blankLines_;
  st.srcLen = srcLen;
  st.tgtLen = tgtLen;
  std::vector<Example> examples;
  examples.reserve(pairs_.size());
  for (const auto &p : pairs_) {
    const int64_t ns = (int64_t)p.src.size(), nt = (int64_t)p.tgt.size();
    st.maxSrc = std::max(st.maxSrc, ns);
    st.maxTgt = std::max(st.maxTgt, nt);
    const bool srcLong = ns > srcLen, tgtLong = nt + 1 > tgtLen;
    st.srcTooLong += srcLong;
    st.tgtTooLong += tgtLong;
    if (srcLong || tgtLong) {
      ++st.skipped;
      continue;
    }
    Example e;
    e.src = srcVocab.encode(p.src, &st.srcUnknown);
    e.tgt = tgtVocab.encode(p.tgt, &st.tgtUnknown);
    examples.push_back(std::move(e));
  }
  st.kept = (int64_t)examples.size();
  return EncodedData(std::move(examples), srcLen, tgtLen, st);
}

//===----------------------------------------------------------------------===//
// EncodedData
//===----------------------------------------------------------------------===//

struct EncodedData::PermCache {
  std::mutex mu;
  bool valid = false;
  uint64_t seed = 0;
  int64_t epoch = 0;
  std::vector<int64_t> perm;
};

EncodedData::EncodedData(std::vector<Example> examples, int64_t srcLen, int64_t tgtLen, EncodeStats stats)
    : examples_(std::move(examples)), srcLen_(srcLen), tgtLen_(tgtLen), stats_(stats),
      cache_(std::make_shared<PermCache>()) {
  if (srcLen < 1 || tgtLen < 2)
    throw Error(fmt::format("EncodedData: need src_len >= 1 and tgt_len >= 2, got {} and {}", srcLen,
                            tgtLen));
  for (size_t i = 0; i < examples_.size(); ++i) {
    const Example &e = examples_[i];
    if ((int64_t)e.src.size() > srcLen || (int64_t)e.tgt.size() + 1 > tgtLen)
      throw Error(fmt::format("EncodedData: example {} (src {}, tgt {} symbols) does not fit src_len {}, "
                              "tgt_len {} (tgt + 1 <= tgt_len)",
                              i, e.src.size(), e.tgt.size(), srcLen, tgtLen));
    for (const auto *seq : {&e.src, &e.tgt})
      for (int32_t id : *seq)
        if (id < 0) throw Error(fmt::format("EncodedData: example {} has negative id {}", i, id));
  }
}

int64_t EncodedData::exampleIndex(int64_t step, int64_t batch, int64_t row, uint64_t seed) const {
  const int64_t n = size();
  if (n == 0) throw Error("EncodedData: no examples to draw a batch from");
  if (step < 0 || batch < 1 || row < 0 || row >= batch)
    throw Error(fmt::format("EncodedData: invalid step {}, batch {}, row {}", step, batch, row));
  const int64_t g = step * batch + row;
  const int64_t epoch = g / n, pos = g % n;
  PermCache &c = *cache_;
  std::lock_guard<std::mutex> lock(c.mu);
  if (!c.valid || c.seed != seed || c.epoch != epoch || (int64_t)c.perm.size() != n) {
    c.perm.resize((size_t)n);
    std::iota(c.perm.begin(), c.perm.end(), int64_t(0));
    shuffleHashed(c.perm, seed ^ batchDomain(), (uint64_t)epoch);
    c.valid = true;
    c.seed = seed;
    c.epoch = epoch;
  }
  return c.perm[(size_t)pos];
}

void EncodedData::fillRow(const Example &e, int64_t srcLen, int64_t tgtLen, int32_t *src, int32_t *tgtIn,
                          int32_t *tgtOut) {
  std::fill(src, src + srcLen, Vocab::PAD);
  std::fill(tgtIn, tgtIn + tgtLen, Vocab::PAD);
  std::fill(tgtOut, tgtOut + tgtLen, Vocab::PAD);
  std::copy(e.src.begin(), e.src.end(), src);
  tgtIn[0] = Vocab::BOS;
  std::copy(e.tgt.begin(), e.tgt.end(), tgtIn + 1);
  std::copy(e.tgt.begin(), e.tgt.end(), tgtOut);
  tgtOut[e.tgt.size()] = Vocab::EOS;
}

void EncodedData::batch(int64_t step, int64_t batch, uint64_t seed, Tensor &src, Tensor &tgtIn,
                        Tensor &tgtOut) const {
  if (batch < 1) throw Error(fmt::format("EncodedData::batch: batch must be >= 1, got {}", batch));
  Tensor s(DType::I32, {batch, srcLen_}), ti(DType::I32, {batch, tgtLen_}), to(DType::I32, {batch, tgtLen_});
  for (int64_t r = 0; r < batch; ++r) {
    const Example &e = examples_[(size_t)exampleIndex(step, batch, r, seed)];
    fillRow(e, srcLen_, tgtLen_, s.i32() + r * srcLen_, ti.i32() + r * tgtLen_, to.i32() + r * tgtLen_);
  }
  src = std::move(s);
  tgtIn = std::move(ti);
  tgtOut = std::move(to);
}

int64_t EncodedData::evalBatches(int64_t batch) const {
  if (batch < 1) throw Error(fmt::format("EncodedData::evalBatches: batch must be >= 1, got {}", batch));
  return (size() + batch - 1) / batch;
}

int64_t EncodedData::evalBatch(int64_t first, int64_t batch, Tensor &src, Tensor &tgtIn,
                               Tensor &tgtOut) const {
  if (batch < 1) throw Error(fmt::format("EncodedData::evalBatch: batch must be >= 1, got {}", batch));
  if (first < 0 || first >= size())
    throw Error(fmt::format("EncodedData::evalBatch: first example {} out of range [0, {})", first, size()));
  const int64_t real = std::min(batch, size() - first);
  Tensor s(DType::I32, {batch, srcLen_}), ti(DType::I32, {batch, tgtLen_}), to(DType::I32, {batch, tgtLen_});
  for (int64_t r = 0; r < batch; ++r) {
    const Example &e = examples_[(size_t)(first + r % real)];
    fillRow(e, srcLen_, tgtLen_, s.i32() + r * srcLen_, ti.i32() + r * tgtLen_, to.i32() + r * tgtLen_);
  }
  src = std::move(s);
  tgtIn = std::move(ti);
  tgtOut = std::move(to);
  return real;
}

Tensor padSequences(const std::vector<std::vector<int32_t>> &seqs, int64_t len, int64_t minRows) {
  if (len < 1) throw Error(fmt::format("padSequences: len must be >= 1, got {}", len));
  const int64_t rows = std::max((int64_t)seqs.size(), minRows);
  Tensor t(DType::I32, {rows, len});  // zero = PAD
  for (size_t i = 0; i < seqs.size(); ++i) {
    if ((int64_t)seqs[i].size() > len)
      throw Error(fmt::format("padSequences: sequence {} has {} symbols, more than the length {}", i,
                              seqs[i].size(), len));
    std::copy(seqs[i].begin(), seqs[i].end(), t.i32() + (int64_t)i * len);
  }
  return t;
}

}  // namespace heed::rt

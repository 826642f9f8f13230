//===- ParallelData.h - parallel (source, target) text corpora --*- C++ -*-===//
//
// Loading, encoding and batching of `source<TAB>target` files, e.g. CMUdict G2P:
//
//   MOTIONS<TAB>M OW1 SH AH0 N Z
//
// 1. ParallelData::load reads and tokenizes the file (a Tokenizer per side).
//    Lines end at '\n' (CRLF tolerated); blank lines are skipped and counted;
//    every other line must hold exactly one tab and a non-empty source and
//    target, else rt::Error names the file and line, e.g.
//      "data file 'train.tsv': line 17 has no tab: expected 'source<TAB>target'".
//    A missing or empty file (or one with only blank lines) is an error too.
// 2. buildVocabs() makes the source and target vocabularies of the training
//    file (Vocab: PAD=0, BOS=1, EOS=2, UNK=3, then by frequency).
// 3. encode(srcVocab, tgtVocab, srcLen, tgtLen) maps symbols to ids (unknown ->
//    UNK) and drops, never truncates, the pairs that do not fit the model:
//    src > srcLen symbols, or tgt + 1 > tgtLen (tgt_in = BOS + tgt and
//    tgt_out = tgt + EOS both have tgt + 1 entries). EncodeStats counts them.
// 4. EncodedData::batch fills
//      src    i32 [batch, srcLen]   source ids, then PAD
//      tgtIn  i32 [batch, tgtLen]   BOS, target ids, then PAD
//      tgtOut i32 [batch, tgtLen]   target ids, EOS, then PAD
//    Row r of step s is example perm_e[g mod N] with g = s * batch + r, N the
//    number of examples, e = g div N the epoch, and perm_e a Fisher-Yates
//    shuffle of 0..N-1 driven by hash64(seed ^ kDomain, e, i) (kDomain =
//    hashString("heed.seq2seq.batch")). So batches are a pure function of
//    (seed, step, batch size): a resumed run sees the batches an uninterrupted
//    one would, and within each epoch every example is seen exactly once.
//    evalBatch takes the examples in file order for evaluation.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"
#include "runtime/seq2seq/Tokenizer.h"
#include "runtime/seq2seq/Vocab.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace heed::rt {

/// One encoded pair: symbol ids without BOS, EOS or padding.
struct Example {
  std::vector<int32_t> src, tgt;
};

/// One tokenized line of the file.
struct TextPair {
  std::vector<std::string> src, tgt;
  int64_t line = 0;  // 1-based line number in the file
};

/// What encode kept and dropped.
struct EncodeStats {
  int64_t pairs = 0;       // pairs offered (non-blank lines)
  int64_t blankLines = 0;  // blank lines skipped by the loader
  int64_t kept = 0;        // examples in the result
  int64_t skipped = 0;     // pairs dropped because they do not fit: pairs - kept
  int64_t srcTooLong = 0;  // pairs with src > srcLen symbols    (may overlap tgtTooLong)
  int64_t tgtTooLong = 0;  // pairs with tgt + 1 > tgtLen symbols
  int64_t srcUnknown = 0;  // source symbols of kept examples mapped to UNK
  int64_t tgtUnknown = 0;  // target symbols of kept examples mapped to UNK
  int64_t maxSrc = 0;      // longest source over all pairs (symbols)
  int64_t maxTgt = 0;      // longest target over all pairs (symbols, without BOS/EOS)
  int64_t srcLen = 0;      // the limits encode used
  int64_t tgtLen = 0;
  /// e.g. "kept 104203 of 104205 pairs; skipped 2 too long (src > 24: 2, tgt + 1 > 24: 1;
  /// longest src 34, tgt 32); 0 unknown source symbols, 0 unknown target symbols"
  std::string summary() const;
};

class EncodedData;

class ParallelData {
public:
  /// Reads and tokenizes `path` (errors as described above).
  static ParallelData load(const std::string &path, Tokenizer srcTok, Tokenizer tgtTok);
  /// Same from memory; `name` stands in for the path in errors.
  static ParallelData parse(std::string_view text, Tokenizer srcTok, Tokenizer tgtTok,
                            const std::string &name = "<memory>");

  const std::string &path() const { return path_; }
  Tokenizer srcTokenizer() const { return srcTok_; }
  Tokenizer tgtTokenizer() const { return tgtTok_; }
  int64_t size() const { return (int64_t)pairs_.size(); }
  int64_t blankLines() const { return blankLines_; }
  const std::vector<TextPair> &pairs() const { return pairs_; }

  /// Vocabularies of this file's sources and targets (Vocab::build).
  Vocab buildSrcVocab(int64_t minCount = 1) const;
  Vocab buildTgtVocab(int64_t minCount = 1) const;
  std::pair<Vocab, Vocab> buildVocabs(int64_t minCount = 1) const {
    return {buildSrcVocab(minCount), buildTgtVocab(minCount)};
  }

  /// Ids of every pair that fits (see the file comment); srcLen >= 1, tgtLen >= 2.
  /// The result's stats() tell how many were dropped and why.
  EncodedData encode(const Vocab &srcVocab, const Vocab &tgtVocab, int64_t srcLen, int64_t tgtLen) const;

private:
  std::string path_;
  Tokenizer srcTok_ = Tokenizer::Chars, tgtTok_ = Tokenizer::Space;
  std::vector<TextPair> pairs_;
  int64_t blankLines_ = 0;
};

class EncodedData {
public:
  /// Examples must fit (src <= srcLen, tgt + 1 <= tgtLen, ids >= 0) or rt::Error is thrown.
  EncodedData(std::vector<Example> examples, int64_t srcLen, int64_t tgtLen, EncodeStats stats = {});

  int64_t size() const { return (int64_t)examples_.size(); }
  int64_t srcLen() const { return srcLen_; }
  int64_t tgtLen() const { return tgtLen_; }
  const std::vector<Example> &examples() const { return examples_; }
  const EncodeStats &stats() const { return stats_; }

  /// The example used for row `row` of training step `step` (see the file comment).
  int64_t exampleIndex(int64_t step, int64_t batch, int64_t row, uint64_t seed) const;

  /// Training batch: src, tgtIn, tgtOut become fresh i32 tensors (shapes above).
  /// Throws if there are no examples, batch < 1 or step < 0. Thread-safe.
  void batch(int64_t step, int64_t batch, uint64_t seed, Tensor &src, Tensor &tgtIn, Tensor &tgtOut) const;

  /// Number of evaluation batches: ceil(size / batch).
  int64_t evalBatches(int64_t batch) const;
  /// Evaluation batch of examples first, first + 1, ... in order; rows past the
  /// last example repeat the batch's first rows (so shapes stay [batch, len] and
  /// no row is all padding). Returns how many rows are real: min(batch, size - first).
  /// Requires 0 <= first < size.
  int64_t evalBatch(int64_t first, int64_t batch, Tensor &src, Tensor &tgtIn, Tensor &tgtOut) const;

  /// Writes one example's padded rows (srcLen, tgtLen and tgtLen entries).
  static void fillRow(const Example &e, int64_t srcLen, int64_t tgtLen, int32_t *src, int32_t *tgtIn,
                      int32_t *tgtOut);

private:
  struct PermCache;
  std::vector<Example> examples_;
  int64_t srcLen_ = 0, tgtLen_ = 0;
  EncodeStats stats_;
  std::shared_ptr<PermCache> cache_;  // the last epoch's permutation (shared by copies; locked)
};

/// Pads id sequences (e.g. encoded source words for generation) with PAD into an
/// i32 [rows, len] tensor, rows = max(seqs.size(), minRows); rows past the last
/// sequence are all PAD. A sequence longer than len throws rt::Error naming its index.
Tensor padSequences(const std::vector<std::vector<int32_t>> &seqs, int64_t len, int64_t minRows = 0);

}  // namespace heed::rt

//===- Evaluator.h - evaluating and decoding a checkpoint -------*- C++ -*-===//
//
// `heed eval`, `heed generate` and `heed encode` as functions of a checkpoint:
// the model is rebuilt from the source stored in it (ProgramFactory.h) at the
// requested batch, its parameters loaded, dropout off.
//
//   LMs             evaluateLmCheckpoint: cross-entropy of the next-token
//                   predictions over every token of a text file (through the
//                   checkpoint's tokenizer) or a pre-tokenized one, per token,
//                   per word and per byte
//   seq2seq         evaluateSeq2SeqCheckpoint: teacher-forced loss (nats per
//                   target token, EOS included, no label smoothing) and the
//                   WER/PER of greedy or beam-search decoding (GNMT length
//                   penalty ((5 + len) / 6)^alpha); pairs too long for the
//                   model are skipped and counted
//                   transcribe / encodeSources on a LoadedSeq2Seq
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/ParamStore.h"
#include "runtime/Program.h"
#include "runtime/seq2seq/Metrics.h"
#include "runtime/seq2seq/ParallelData.h"
#include "runtime/seq2seq/Seq2SeqRunner.h"
#include "runtime/train/LanguageModel.h"
#include "runtime/train/ProgramFactory.h"
#include "runtime/train/RunCheckpoint.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace heed::rt {

/// The run's training batch (heed.batch), or `fallback` if absent or malformed.
int64_t trainingBatch(const RunCheckpoint &rc, int64_t fallback);

/// Throws if `rc` is not of `task` ("lm" | "seq2seq"), saying what `command` needs.
void requireTask(const RunCheckpoint &rc, const std::string &task, const std::string &command);

/// The checkpoint's tokenizer (TokenizerStore.h; bytes for older runs).
std::unique_ptr<TextTokenizer> checkpointTokenizer(const RunCheckpoint &rc);

struct LmCheckpointEval {
  LmEvalResult r;         // per token
  std::string tokenizer;  // its description
  bool text = false;      // the data was text (words and bytes are known)
  int64_t words = 0;      // whitespace words + one end-of-line per line
  int64_t bytes = 0;
  /// Word-level perplexity exp(nll / words) and bits per byte nll / ln 2 / bytes
  /// (text only; the scores of every token from the first on).
  double pplWord() const;
  double bitsPerByte() const;
};

/// An LM checkpoint on the file `data` (at most maxBatches batches of `batch`
/// windows; 0 = all). Throws if not finite, naming the checkpoint's non-finite
/// parameter if it has one.
LmCheckpointEval evaluateLmCheckpoint(ProgramFactory &factory, const RunCheckpoint &rc, const std::string &data,
                                      int64_t batch, int64_t maxBatches);

/// A seq2seq checkpoint's program, layout, parameters and vocabularies.
struct LoadedSeq2Seq {
  std::unique_ptr<Program> program;
  Seq2SeqLayout layout;
  ParamStore params;
  Seq2SeqVocabs vocabs;
};
/// `entries`: the entry points the caller runs (ProgramFactory::build; empty: all).
LoadedSeq2Seq loadSeq2Seq(ProgramFactory &factory, const RunCheckpoint &rc, int64_t batch, const std::string &what,
                          const std::vector<std::string> &entries = {});

/// Throws on a beam below 1 or a negative or non-finite length penalty.
void checkBeamOptions(int64_t beam, double lengthPenalty);

struct Seq2SeqCheckpointEval {
  Seq2SeqEval teacherForced;
  ErrorRates rates;
  EncodeStats stats;  // of the data file against the model's lengths and vocabularies
  int64_t words = 0;  // pairs decoded
};
/// maxWords 0: every pair. batch 0: the training batch (else 32). useCache
/// false (--no-cache): decode by recomputing the decoder window per step.
Seq2SeqCheckpointEval evaluateSeq2SeqCheckpoint(ProgramFactory &factory, const RunCheckpoint &rc,
                                                const std::string &data, int64_t batch, int64_t beam,
                                                double lengthPenalty, int64_t maxWords, bool useCache = true);

/// The program's batch for decoding n words with `beam`: `flag` if > 0, else
/// min(n * beam, 64).
int64_t decodeBatch(int64_t flag, int64_t n, int64_t beam);

/// Detokenized best outputs, one per source; an empty source gives "" (it is not
/// decoded), so outputs stay aligned with the input rows.
std::vector<std::string> transcribe(LoadedSeq2Seq &m, const std::vector<std::vector<int32_t>> &srcs, int64_t beam,
                                    double lengthPenalty, bool useCache = true);

struct EncoderOutputs {
  Tensor memory;   // f32 [n, src_len, d_model]
  Tensor lengths;  // i32 [n]: symbols per source
  Tensor mask;     // bool [n, src_len]: true at padded positions
};
/// An empty source gets a row of zeros, length 0 and a mask true everywhere.
EncoderOutputs encodeSources(LoadedSeq2Seq &m, const std::vector<std::vector<int32_t>> &srcs);

}  // namespace heed::rt

//===- Seq2SeqRunner.h - running encoder-decoder models ---------*- C++ -*-===//
//
// What training, evaluation, decoding and encoding share for
// sequence-to-sequence (encoder-decoder) models such as examples/g2p.heed:
//
//   * Seq2SeqLayout: a model is a seq2seq model when its program has the
//     "encode" and "decode" entry points (compiler/passes/SplitStages.cpp adds
//     them when an output, the encoder's `memory`, feeds another, the decoder's
//     `logits`) and inputs named src, tgt_in and tgt_out, all i32, src
//     [batch, src_len] and tgt_in/tgt_out [batch, tgt_len];
//   * the vocabularies and tokenizers, stored in the checkpoint metadata:
//       heed.task        "seq2seq" (LMs: "lm" or absent)
//       heed.src_vocab   rt::Vocab::serialize() of the source vocabulary
//       heed.tgt_vocab   ... of the target vocabulary
//       heed.src_tokens  chars | space | bytes | a tokenizer spec (bpe:N, ...)
//       heed.tgt_tokens  chars | space | bytes | a tokenizer spec
//       heed.src_tokenizer, heed.tgt_tokenizer (+ _data)
//                        the pieces' tokenizer (runtime/text/TokenizerStore.h)
//   * Seq2SeqRunner: teacher-forced loss, batched encoding and batched greedy /
//     beam-search decoding of a program with loaded parameters.
//
// Decoding (see Seq2SeqRunner::decode): the program has a fixed batch B. Words
// are taken B at a time; the "encode" entry runs once per group (rows past the
// last word repeat the first word, their outputs are ignored); each decoding
// step then runs the "decode" entry on the live hypotheses' prefixes (tgt_in =
// BOS + prefix, PAD after), B rows per call (each row with its word's memory
// and src), and reads the logits at each row's last prefix position. With the
// compiler's decode_step (runtime/decode/StepDecoder.h) and the cache not
// switched off, a step instead feeds each hypothesis's last token at its
// position: decode_init computes the cross-attention keys/values and the
// source mask once per group from the memory, the self-attention keys/values
// are appended per step, and the caches follow the hypotheses beam search
// keeps (gathered by parent). Without it the decoder is recomputed over the
// fixed tgt_len window at every step. The encoder runs once per group either
// way.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Program.h"
#include "runtime/dist/Communicator.h"
#include "runtime/seq2seq/BeamSearch.h"
#include "runtime/seq2seq/ParallelData.h"
#include "runtime/seq2seq/Tokenizer.h"
#include "runtime/seq2seq/Vocab.h"
#include "runtime/train/RunCheckpoint.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace heed::rt {

class StepDecoder;

struct Seq2SeqLayout {
  int64_t batch = 0, srcLen = 0, tgtLen = 0;
  int64_t srcVocab = 0, tgtVocab = 0;  // id limits of src and tgt_in/tgt_out (0: unknown)
  std::string srcVocabKey, tgtVocabKey;  // the config keys holding them, if any ("src_vocab")
  int64_t dModel = 0;                  // the memory's last dimension
  int forwardLogits = -1;              // index of "logits" in forward's outputs
  int decodeLogits = -1;               // ... in decode's outputs
  int encodeMemory = 0;                // ... of the memory in encode's outputs
  int trainLossIndex = -1;
};

/// Does the program look like an encoder-decoder (encode/decode entries, or
/// inputs named src/tgt_in/tgt_out)? Then the seq2seq task applies (and
/// seq2seqLayout explains what is missing if it does not fit).
bool looksSeq2Seq(const rt::Program &program);
/// The same test on a model's inputs (`heed check`, before any compile): src and tgt_in.
bool hasSeq2SeqInputs(const std::vector<rt::TensorSpec> &inputs);

/// Throws rt::Error naming what is missing if the program is not a seq2seq model.
Seq2SeqLayout seq2seqLayout(const rt::Program &program, const std::string &what);

struct Seq2SeqVocabs {
  rt::Vocab src, tgt;
  rt::Tokenizer srcTok = rt::Tokenizer::Chars, tgtTok = rt::Tokenizer::Space;
  void toMetadata(std::map<std::string, std::string> &meta) const;
  static Seq2SeqVocabs fromCheckpoint(const RunCheckpoint &rc);
};

/// Throws if a vocabulary has more ids than the model's vocab dimension, naming both.
void checkVocabsFit(const Seq2SeqVocabs &v, const Seq2SeqLayout &l, const std::string &modelName);

struct Seq2SeqEval {
  double loss = 0;     // mean nats per target token (EOS included), no label smoothing
  int64_t tokens = 0;  // target tokens scored
  int64_t words = 0;
};

/// A program with its parameters, ready to score, encode and decode.
class Seq2SeqRunner {
public:
  /// The entry points decode() and evaluate() run (a program built from a
  /// checkpoint compiles only these): encode, decode (evaluate's loss, and
  /// every step without the cache) and, with the cache, decode_init and decode_step.
  static std::vector<std::string> decodeEntries(bool useCache);

  /// useCache false (--no-cache): recompute the decoder window at every step
  /// even when the program has decode_step.
  Seq2SeqRunner(rt::Program &program, const Seq2SeqLayout &layout, rt::ParamStore &params, bool useCache = true)
      : program(program), layout(layout), params(params), useCache(useCache) {}

  /// Teacher-forced cross-entropy over the first maxWords examples (0: all).
  /// `comm`: the ranks share the batches out (the same result, bit for bit).
  Seq2SeqEval teacherForced(const rt::EncodedData &data, int64_t maxWords = 0, rt::Communicator *comm = nullptr);

  /// Encoder outputs f32 [n, src_len, d_model] of n source id sequences (each <= src_len).
  rt::Tensor encode(const std::vector<std::vector<int32_t>> &srcs);

  /// Best hypothesis per source: greedy if beam <= 1, else beam search with GNMT
  /// length penalty alpha. Outputs at most tgt_len tokens (EOS included).
  std::vector<rt::Hypothesis> decode(const std::vector<std::vector<int32_t>> &srcs, int64_t beam,
                                     double alpha);

  /// Beam search (rt::beamSearchBatch) even for beam = 1: the finished
  /// hypotheses per source, best first (tests compare beam 1 with greedy).
  std::vector<std::vector<rt::Hypothesis>> decodeBeams(const std::vector<std::vector<int32_t>> &srcs,
                                                       int64_t beam, double alpha);

  struct Evaluation {
    Seq2SeqEval teacherForced;
    std::vector<rt::Hypothesis> best;  // per pair, as decode()
  };
  /// teacherForced() and decode() of the first maxWords pairs (0: all) together:
  /// the encoder runs once per group for both, the loss from the "decode"
  /// entry on its memory. A non-finite loss returns at once (loss NaN, no hypotheses).
  Evaluation evaluate(const rt::EncodedData &data, int64_t maxWords, int64_t beam, double alpha);

  /// Number of "decode" (or, cached, "decode_step") entry runs so far (for tests and timing).
  int64_t decodeCalls() const { return decodeCalls_; }
  /// Does decoding use the key/value cache (decode_step)?
  bool cached() const;

private:
  std::vector<std::vector<rt::Hypothesis>> search(const std::vector<std::vector<int32_t>> &srcs, int64_t beam,
                                                  double alpha, bool greedy);
  /// The key/value cache decoder when cached(), else null.
  std::unique_ptr<rt::StepDecoder> makeCache(rt::RunContext &ctx);
  /// Greedy or beam search of the `count` sources of one encoded group; appends to result.
  void searchGroup(const rt::Tensor &srcT, const rt::Tensor &memory, int64_t count, int64_t beam, double alpha,
                   bool greedy, rt::StepDecoder *cache, std::vector<std::vector<rt::Hypothesis>> &result);
  /// Runs "encode" on up to `batch` sources; fills srcT [B, src_len] and memory [B, src_len, d].
  void encodeGroup(const std::vector<std::vector<int32_t>> &srcs, size_t first, size_t count,
                   rt::Tensor &srcT, rt::Tensor &memory);
  /// Log-probabilities of the next token for each prefix (rows: the sources'
  /// memory/src rows in srcT/memory).
  void stepLogProbs(const rt::Tensor &srcT, const rt::Tensor &memory, const std::vector<int64_t> &rows,
                    const std::vector<std::vector<int32_t>> &prefixes, rt::Tensor &logProbs);
  /// The same through the key/value cache: each prefix's last token at its
  /// position, the caches following `parents` (rt::BatchStepFn).
  void cachedLogProbs(rt::StepDecoder &cache, const std::vector<int64_t> &sources, const std::vector<int64_t> &parents,
                      const std::vector<std::vector<int32_t>> &prefixes, rt::Tensor &logProbs);

  rt::Program &program;
  Seq2SeqLayout layout;
  rt::ParamStore &params;
  bool useCache;
  int64_t decodeCalls_ = 0;
};

/// Symbols of a source word (tokenizer, then vocabulary; unknown -> UNK, counted).
std::vector<int32_t> encodeWord(const std::string &word, const Seq2SeqVocabs &v, int64_t *unknown);

struct EncodedWords {
  std::vector<std::vector<int32_t>> srcs;
  int64_t unknown = 0;           // source symbols mapped to <unk>
  int64_t wordsWithUnknown = 0;  // words that had one
};
/// The source ids of each word; a word longer than srcLen is an error naming it.
EncodedWords encodeWords(const std::vector<std::string> &words, const Seq2SeqVocabs &v, int64_t srcLen);

}  // namespace heed::rt

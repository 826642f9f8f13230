//===- LanguageModel.h - decoder-only language models -----------*- C++ -*-===//
//
// What training, evaluation and sampling share for decoder-only language
// models over a tokenizer's ids (runtime/text/Tokenizer.h; bytes by default):
//
//   * LmLayout: which inputs of the program are the tokens and the targets,
//     seq, vocab and the forward output that holds the logits; lmLayout()
//     rejects models that do not fit (an encoder-decoder, ...) and
//     checkTokenizerFits() a vocabulary smaller than the tokenizer's;
//   * evaluateLm(): cross-entropy over a TokenDataset's validation windows
//     (with its tail, every token scored once), dropout off;
//   * sampleTokens(): continue a prompt, greedy or sampled.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/ParamStore.h"
#include "runtime/Program.h"
#include "runtime/data/TokenDataset.h"
#include "runtime/text/Tokenizer.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace heed::rt {

/// The index of train_step's loss output (the result the compiler marks heed.loss);
/// throws naming `model` if there is none.
int trainLossIndex(const EntrySpec &train, const std::string &model);

/// How to feed a decoder-only LM.
struct LmLayout {
  std::string tokens, targets;  // input names
  int64_t batch = 0, seq = 0;
  int64_t vocab = 0;            // the smallest id limit of tokens/targets (0: unknown)
  int logitsIndex = -1;         // "forward" output [batch, seq, V] f32, or -1
  int64_t logitsVocab = 0;      // its V
  int trainLossIndex = -1;      // train_step output holding the loss
};

/// Throws rt::Error if the program is not a decoder-only LM; `what` names the
/// command in the message ("heed train").
LmLayout lmLayout(const Program &program, const std::string &what);

/// Throws rt::Error naming both sizes and the flags to change if the model's ids
/// or logits cannot hold every id of `tok`; `model` is "model 'x'".
void checkTokenizerFits(const LmLayout &layout, const TextTokenizer &tok, const std::string &model);

/// A language model's data file: text through the tokenizer, or pre-tokenized
/// ids (runtime/text/TokenFiles.h, whose ids must be below tok.size()).
struct LmData {
  TokenDataset data;
  bool text = false;      // read through the tokenizer
  int64_t bytes = 0;      // text: its bytes
  int64_t words = 0;      // text: countWords (whitespace words + one per line)
};
LmData readLmData(const std::string &path, const TextTokenizer &tok);

struct LmEvalResult {
  double loss = 0;        // mean nats per predicted token
  double nll = 0;         // their sum
  int64_t tokens = 0;     // predicted tokens
  bool complete = false;  // every token of the data from position 1 on was scored once
};

/// Mean cross-entropy per token over the validation windows and the tail (at
/// most `maxBatches` batches; 0 = all), dropout off. Computed from the forward
/// logits (the true negative log-likelihood, without the training loss' label
/// smoothing) when the model outputs logits; otherwise the mean of the "eval"
/// entry's loss over the full windows (no tail).
LmEvalResult evaluateLm(Program &program, const LmLayout &layout, ParamStore &params, const TokenDataset &data,
                        int64_t maxBatches);

struct SampleOptions {
  int64_t maxTokens = 200;  // tokens to generate
  double temperature = 0;   // 0: greedy (the most likely token, lowest id on ties)
  int64_t topK = 0;         // 0: all the tokenizer's ids
  uint64_t seed = 1;
};

/// Throws rt::Error on an empty prompt or options out of range.
void checkSampleOptions(const std::string &prompt, const SampleOptions &o);

/// Continues `prompt` with a program built at batch 1 (LanguageModel.cpp
/// describes the window and the sampling stream). `emit` receives the prompt
/// once all checks passed, then the text each new token adds as it is chosen.
/// Throws rt::Error on bad options, a model without logits, or non-finite logits.
void sampleTokens(Program &program, const LmLayout &layout, ParamStore &params, const TextTokenizer &tokenizer,
                  const std::string &prompt, const SampleOptions &o, const std::function<void(std::string_view)> &emit);

}  // namespace heed::rt

//===- LanguageModel.h - byte-level language models -------------*- C++ -*-===//
//
// What training, evaluation and sampling share for decoder-only byte-level
// language models:
//
//   * LmLayout: which inputs of the program are the tokens and the targets,
//     seq, vocab and the forward output that holds the logits; lmLayout()
//     rejects models that do not fit (an encoder-decoder, vocab < 256, ...);
//   * evaluateLm(): mean cross-entropy per byte over the non-overlapping
//     validation windows of a ByteDataset, with dropout off;
//   * sampleBytes(): continue a prompt, greedy or sampled.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/ParamStore.h"
#include "runtime/Program.h"
#include "runtime/data/ByteDataset.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace heed::rt {

/// The index of train_step's loss output (the result the compiler marks heed.loss);
/// throws naming `model` if there is none.
int trainLossIndex(const EntrySpec &train, const std::string &model);

/// How to feed a decoder-only byte-level LM.
struct LmLayout {
  std::string tokens, targets;  // input names
  int64_t batch = 0, seq = 0;
  int64_t vocab = 0;            // the smallest id limit of tokens/targets (0: unknown)
  int logitsIndex = -1;         // "forward" output [batch, seq, V>=256] f32, or -1
  int trainLossIndex = -1;      // train_step output holding the loss
};

/// Throws rt::Error if the program is not a byte-level LM; `what` names the
/// command in the message ("heed train").
LmLayout lmLayout(const Program &program, const std::string &what);

struct LmEvalResult {
  double loss = 0;     // mean nats per predicted byte
  int64_t tokens = 0;  // predicted bytes
};

/// Mean cross-entropy per byte over the validation windows (at most `maxBatches`
/// batches; 0 = all), dropout off. Computed from the forward logits (the true
/// negative log-likelihood, without the training loss' label smoothing) when the
/// model outputs logits; otherwise the mean of the "eval" entry's loss.
LmEvalResult evaluateLm(Program &program, const LmLayout &layout, ParamStore &params, const ByteDataset &data,
                        int64_t maxBatches);

struct SampleOptions {
  int64_t maxTokens = 200;
  double temperature = 0;  // 0: greedy (the most likely byte, lowest id on ties)
  int64_t topK = 0;        // 0: all 256 bytes
  uint64_t seed = 1;
};

/// Throws rt::Error on an empty prompt or options out of range.
void checkSampleOptions(const std::string &prompt, const SampleOptions &o);

/// Continues `prompt` with a program built at batch 1 (LanguageModel.cpp
/// describes the window and the sampling stream). `emit` receives the prompt
/// once all checks passed, then each new byte as it is chosen. Throws rt::Error
/// on bad options, a model without logits, or non-finite logits.
void sampleBytes(Program &program, const LmLayout &layout, ParamStore &params, const std::string &prompt,
                 const SampleOptions &o, const std::function<void(std::string_view)> &emit);

}  // namespace heed::rt

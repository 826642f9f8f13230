//===- BeamSearch.h - greedy and beam-search decoding -----------*- C++ -*-===//
//
// Decoding algorithms that know nothing about the model: the caller supplies a
// step function that, given the prefixes of the live hypotheses (each starting
// with BOS, see Vocab), fills logProbs with f32 [n, vocab] log-probabilities of
// the next symbol, one row per prefix (usually: run the decoder on the padded
// prefixes, take the logits at position len - 1, log-softmax). Every call
// receives all live hypotheses at once (of one source, or of every source in
// the *Batch variants), so the caller can run them as one batch.
//
// Shared rules:
//   * PAD and BOS are never generated (their log-probabilities are ignored);
//     UNK may be. Generating EOS ends a hypothesis.
//   * maxLen bounds the generated tokens, EOS included: a prefix never holds
//     more than maxLen ids (BOS + maxLen - 1), so maxLen = the model's tgt_len
//     fits its tgt_in. A hypothesis that reaches maxLen tokens without EOS is
//     cut there (Hypothesis::finished = false).
//   * Ties are broken deterministically: higher summed log-probability, then the
//     lower beam index, then the higher step log-probability, then the lower id.
//   * A NaN in logProbs, a wrong dtype/shape, or vocab < 3 throws rt::Error.
//
// Greedy: append the most probable symbol until EOS or maxLen.
//
// Beam search (as in fairseq): keep beamWidth live hypotheses. Each step expands
// every live one by every symbol and ranks the candidates by summed log-prob;
// walking the best 2 * beamWidth in order, an EOS candidate ranked within the
// first beamWidth becomes a finished hypothesis, and the first beamWidth non-EOS
// candidates become the next live set. Search stops when beamWidth hypotheses
// have finished, none is live, or maxLen is reached (the live ones are then
// kept as unfinished). Finished hypotheses are ranked by
//     score = logProb / lp(len),   lp(len) = ((5 + len) / 6)^alpha   (GNMT, Wu et al. 2016)
// with len the number of generated tokens including EOS; alpha = 0 ranks by
// plain log-probability, larger alpha favours longer outputs. With beamWidth = 1
// this is exactly greedy decoding.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace heed::rt {

/// prefixes: one per live hypothesis, each starting with BOS. logProbs (out):
/// f32 [prefixes.size(), vocab].
using StepFn =
    std::function<void(const std::vector<std::vector<int32_t>> &prefixes, Tensor &logProbs)>;
/// Batched over sources: sources[i] in [0, numSources) says which source
/// prefixes[i] belongs to (sources are listed in increasing order); parents[i]
/// is the row of the previous call whose prefix prefixes[i] extends by its last
/// symbol (-1 in the first call), so a step function with per-row state (a
/// key/value cache, runtime/decode/StepDecoder.h) can reorder it.
using BatchStepFn = std::function<void(const std::vector<int64_t> &sources, const std::vector<int64_t> &parents,
                                       const std::vector<std::vector<int32_t>> &prefixes,
                                       Tensor &logProbs)>;

struct Hypothesis {
  std::vector<int32_t> symbols;  // generated symbols, without BOS and EOS
  double logProb = 0;            // sum of the chosen tokens' log-probabilities (EOS included)
  double score = 0;              // logProb / lp(len)
  bool finished = false;         // ended with EOS (false: cut at maxLen)
  /// Generated tokens: symbols plus the EOS if finished.
  int64_t length() const { return (int64_t)symbols.size() + (finished ? 1 : 0); }
};

/// GNMT length penalty ((5 + length) / 6)^alpha; 1 for alpha = 0.
double lengthPenalty(int64_t length, double alpha);

/// Greedy decoding of one source. The score uses alpha = 0 (score == logProb).
Hypothesis greedySearch(const StepFn &step, int64_t maxLen);
/// greedySearch(...).symbols.
std::vector<int32_t> greedyDecode(const StepFn &step, int64_t maxLen);

/// Beam search of one source: up to beamWidth hypotheses, best first.
std::vector<Hypothesis> beamSearch(const StepFn &step, int64_t beamWidth, int64_t maxLen,
                                   double lengthPenaltyAlpha = 0);
/// The best hypothesis's symbols.
std::vector<int32_t> beamDecode(const StepFn &step, int64_t beamWidth, int64_t maxLen,
                                double lengthPenaltyAlpha = 0);

/// Greedy decoding of numSources sources together: one step call per position
/// with every unfinished source's prefix.
std::vector<Hypothesis> greedySearchBatch(int64_t numSources, const BatchStepFn &step, int64_t maxLen);
/// Beam search of numSources sources together (each as beamSearch): one step
/// call per position with the live hypotheses of every unfinished source.
std::vector<std::vector<Hypothesis>> beamSearchBatch(int64_t numSources, const BatchStepFn &step,
                                                     int64_t beamWidth, int64_t maxLen,
                                                     double lengthPenaltyAlpha = 0);

}  // namespace heed::rt

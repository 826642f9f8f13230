//===- BeamSearch.cpp - greedy and beam-search decoding -------------------===//

#include "runtime/seq2seq/BeamSearch.h"

#include "runtime/Error.h"
#include "runtime/seq2seq/Vocab.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace heed::rt {

namespace {

constexpr int32_t kFirstGenerated = Vocab::EOS;  // PAD (0) and BOS (1) are never generated

void checkCommon(const char *fn, int64_t numSources, int64_t maxLen) {
  if (numSources < 0) throw Error(fmt::format("{}: numSources must be >= 0, got {}", fn, numSources));
  if (maxLen < 1) throw Error(fmt::format("{}: maxLen must be >= 1, got {}", fn, maxLen));
}

// Runs the step function and checks its output: f32 [n, vocab >= 3], no NaN.
const float *runStep(const char *fn, const BatchStepFn &step, const std::vector<int64_t> &sources,
                     const std::vector<int64_t> &parents, const std::vector<std::vector<int32_t>> &prefixes,
                     Tensor &out, int64_t &vocab) {
  out = Tensor();
  step(sources, parents, prefixes, out);
  const int64_t n = (int64_t)prefixes.size();
  if (!out.defined() || out.dtype() != DType::F32 || out.rank() != 2 || out.dim(0) != n)
    throw Error(fmt::format("{}: the step function must return f32 [{}, vocab] log-probabilities, got {} {}",
                            fn, n, out.defined() ? dtypeName(out.dtype()) : "nothing",
                            out.defined() ? shapeToString(out.shape()) : ""));
  vocab = out.dim(1);
  if (vocab <= kFirstGenerated)
    throw Error(fmt::format("{}: vocabulary of {} symbols has no EOS (id {})", fn, vocab, Vocab::EOS));
  const float *p = out.f32();
  for (int64_t i = 0; i < n * vocab; ++i)
    if (std::isnan(p[i]))
      throw Error(fmt::format("{}: log-probability of symbol {} for hypothesis {} is NaN", fn, i % vocab,
                              i / vocab));
  return p;
}

struct Live {
  std::vector<int32_t> prefix;  // starts with BOS
  double logProb = 0;
  int64_t parent = -1;  // its parent's row in the previous step call
};

struct Candidate {
  double sum;     // beam log-prob + step log-prob
  int64_t beam;   // index of the live hypothesis it extends
  float stepLp;   // the step log-prob alone
  int32_t token;
};

bool better(const Candidate &a, const Candidate &b) {
  if (a.sum != b.sum) return a.sum > b.sum;
  if (a.beam != b.beam) return a.beam < b.beam;
  if (a.stepLp != b.stepLp) return a.stepLp > b.stepLp;
  return a.token < b.token;
}

Hypothesis makeHypothesis(const std::vector<int32_t> &prefix, double logProb, bool finished, double alpha) {
  Hypothesis h;
  h.symbols.assign(prefix.begin() + 1, prefix.end());
  h.logProb = logProb;
  h.finished = finished;
  h.score = logProb / lengthPenalty(h.length(), alpha);
  return h;
}

BatchStepFn single(const StepFn &step) {
  return [&step](const std::vector<int64_t> &, const std::vector<int64_t> &,
                 const std::vector<std::vector<int32_t>> &prefixes, Tensor &logProbs) { step(prefixes, logProbs); };
}

}  // namespace

double lengthPenalty(int64_t length, double alpha) {
  if (alpha == 0) return 1.0;
  return std::pow((5.0 + (double)length) / 6.0, alpha);
}

//===----------------------------------------------------------------------===//
// Greedy
//===----------------------------------------------------------------------===//

std::vector<Hypothesis> greedySearchBatch(int64_t numSources, const BatchStepFn &step, int64_t maxLen) {
  const char *fn = "greedySearch";
  checkCommon(fn, numSources, maxLen);
  std::vector<std::vector<int32_t>> prefix((size_t)numSources, std::vector<int32_t>{Vocab::BOS});
  std::vector<double> logProb((size_t)numSources, 0.0);
  std::vector<bool> done((size_t)numSources, false);
  std::vector<int64_t> rowOf((size_t)numSources, -1);  // each source's row in the previous call
  Tensor out;
  for (int64_t t = 1; t <= maxLen; ++t) {
    std::vector<int64_t> sources, parents;
    std::vector<std::vector<int32_t>> prefixes;
    for (int64_t s = 0; s < numSources; ++s)
      if (!done[(size_t)s]) {
        sources.push_back(s);
        parents.push_back(rowOf[(size_t)s]);
        rowOf[(size_t)s] = (int64_t)prefixes.size();
        prefixes.push_back(prefix[(size_t)s]);
      }
    if (sources.empty()) break;
    int64_t vocab = 0;
    const float *lp = runStep(fn, step, sources, parents, prefixes, out, vocab);
    for (size_t i = 0; i < sources.size(); ++i) {
      const float *row = lp + (int64_t)i * vocab;
      int32_t best = kFirstGenerated;
      for (int32_t v = kFirstGenerated + 1; v < vocab; ++v)
        if (row[v] > row[best]) best = v;
      const size_t s = (size_t)sources[i];
      logProb[s] += (double)row[best];
      if (best == Vocab::EOS) done[s] = true;
      else prefix[s].push_back(best);
    }
  }
  std::vector<Hypothesis> result;
  result.reserve((size_t)numSources);
  for (int64_t s = 0; s < numSources; ++s)
    result.push_back(makeHypothesis(prefix[(size_t)s], logProb[(size_t)s], done[(size_t)s], 0.0));
  return result;
}

Hypothesis greedySearch(const StepFn &step, int64_t maxLen) {
  return greedySearchBatch(1, single(step), maxLen)[0];
}

std::vector<int32_t> greedyDecode(const StepFn &step, int64_t maxLen) {
  return greedySearch(step, maxLen).symbols;
}

//===----------------------------------------------------------------------===//
// Beam search
//===----------------------------------------------------------------------===//

std::vector<std::vector<Hypothesis>> beamSearchBatch(int64_t numSources, const BatchStepFn &step,
                                                     int64_t beamWidth, int64_t maxLen, double alpha) {
  const char *fn = "beamSearch";
  checkCommon(fn, numSources, maxLen);
  if (beamWidth < 1) throw Error(fmt::format("{}: beamWidth must be >= 1, got {}", fn, beamWidth));
  if (!std::isfinite(alpha) || alpha < 0)
    throw Error(fmt::format("{}: the length penalty alpha must be finite and >= 0, got {}", fn, alpha));
  const size_t K = (size_t)beamWidth;
  std::vector<std::vector<Live>> live((size_t)numSources, std::vector<Live>{Live{{Vocab::BOS}, 0.0}});
  std::vector<std::vector<Hypothesis>> finished((size_t)numSources);
  Tensor out;
  std::vector<Candidate> cands;
  for (int64_t t = 1; t <= maxLen; ++t) {
    std::vector<int64_t> sources, parents;
    std::vector<std::vector<int32_t>> prefixes;
    for (int64_t s = 0; s < numSources; ++s)
      for (const Live &h : live[(size_t)s]) {
        sources.push_back(s);
        parents.push_back(h.parent);
        prefixes.push_back(h.prefix);
      }
    if (sources.empty()) break;
    int64_t vocab = 0;
    const float *lp = runStep(fn, step, sources, parents, prefixes, out, vocab);
    size_t row0 = 0;  // first row of the current source
    for (int64_t s = 0; s < numSources; ++s) {
      std::vector<Live> &beams = live[(size_t)s];
      if (beams.empty()) continue;
      const int64_t firstRow = (int64_t)row0;
      cands.clear();
      for (size_t b = 0; b < beams.size(); ++b) {
        const float *row = lp + (int64_t)(row0 + b) * vocab;
        for (int32_t v = kFirstGenerated; v < vocab; ++v)
          cands.push_back(Candidate{beams[b].logProb + (double)row[v], (int64_t)b, row[v], v});
      }
      row0 += beams.size();
      const size_t keep = std::min(cands.size(), 2 * K);
      std::partial_sort(cands.begin(), cands.begin() + (ptrdiff_t)keep, cands.end(), better);
      std::vector<Hypothesis> &done = finished[(size_t)s];
      std::vector<Live> next;
      for (size_t r = 0; r < keep; ++r) {
        const Candidate &c = cands[r];
        const Live &parent = beams[(size_t)c.beam];
        if (c.token == Vocab::EOS) {
          if (r < K) done.push_back(makeHypothesis(parent.prefix, c.sum, true, alpha));
        } else if (next.size() < K) {
          Live h{parent.prefix, c.sum, firstRow + c.beam};
          h.prefix.push_back(c.token);
          next.push_back(std::move(h));
        }
      }
      if (done.size() >= K || next.empty()) {
        next.clear();
      } else if (t == maxLen) {
        for (const Live &h : next) done.push_back(makeHypothesis(h.prefix, h.logProb, false, alpha));
        next.clear();
      }
      beams = std::move(next);
    }
  }
  for (auto &done : finished) {
    std::stable_sort(done.begin(), done.end(), [](const Hypothesis &a, const Hypothesis &b) {
      if (a.score != b.score) return a.score > b.score;
      if (a.logProb != b.logProb) return a.logProb > b.logProb;
      return a.symbols < b.symbols;
    });
    if (done.size() > K) done.resize(K);
  }
  return finished;
}

std::vector<Hypothesis> beamSearch(const StepFn &step, int64_t beamWidth, int64_t maxLen, double alpha) {
  return beamSearchBatch(1, single(step), beamWidth, maxLen, alpha)[0];
}

std::vector<int32_t> beamDecode(const StepFn &step, int64_t beamWidth, int64_t maxLen, double alpha) {
  std::vector<Hypothesis> hyps = beamSearch(step, beamWidth, maxLen, alpha);
  if (hyps.empty()) return {};
  return hyps.front().symbols;
}

}  // namespace heed::rt

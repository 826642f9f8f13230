#include "TempDir.h"

#include "runtime/Error.h"
#include "runtime/Random.h"
#include "runtime/seq2seq/BeamSearch.h"
#include "runtime/seq2seq/Vocab.h"

#include <cmath>
#include <limits>
#include <map>
#include <memory>

using namespace heed::rt;
using namespace heed::rt::test;

namespace {
using Ids = std::vector<int32_t>;
constexpr int32_t EOS = Vocab::EOS, A = 4, B = 5, C = 6;
constexpr int64_t V = 7;  // PAD BOS EOS UNK A B C

// Next-symbol distributions by prefix (prefixes start with BOS). Unlisted
// prefixes: EOS with probability 0.9, the rest spread evenly.
struct Table {
  std::map<Ids, std::map<int32_t, double>> next;
  int64_t calls = 0;
  std::vector<size_t> callSizes;
  size_t longestPrefix = 0;

  std::vector<float> logProbs(const Ids &prefix) const {
    std::vector<double> p(V, 0.0);
    auto it = next.find(prefix);
    if (it == next.end()) {
      for (int32_t v = 2; v < V; ++v) p[v] = 0.1 / (V - 3);
      p[EOS] = 0.9;
    } else {
      for (auto [v, q] : it->second) p[v] = q;
    }
    std::vector<float> lp(V);
    for (int64_t v = 0; v < V; ++v) lp[v] = p[v] > 0 ? (float)std::log(p[v]) : -INFINITY;
    return lp;
  }
  StepFn fn() {
    return [this](const std::vector<Ids> &prefixes, Tensor &out) {
      ++calls;
      callSizes.push_back(prefixes.size());
      std::vector<float> all;
      for (const Ids &p : prefixes) {
        EXPECT_EQ(p.at(0), Vocab::BOS);
        longestPrefix = std::max(longestPrefix, p.size());
        auto lp = logProbs(p);
        all.insert(all.end(), lp.begin(), lp.end());
      }
      out = Tensor::fromF32({(int64_t)prefixes.size(), V}, all);
    };
  }
};

// A pseudo-random model: log-softmax of logits hashed from (seed, prefix, symbol).
// With `levels` > 0 the logits are quantized to create many exact ties.
StepFn randomModel(uint64_t seed, int levels, int64_t vocab) {
  return [=](const std::vector<Ids> &prefixes, Tensor &out) {
    std::vector<float> all;
    for (const Ids &p : prefixes) {
      uint64_t h = seed;
      for (int32_t id : p) h = mix64(h ^ (uint64_t)id);
      std::vector<double> logit(vocab);
      double mx = -1e300;
      for (int64_t v = 0; v < vocab; ++v) {
        double x = 4.0 * uniform01(seed, h, (uint64_t)v);
        if (levels > 0) x = std::floor(x * levels / 4.0);
        if (v == EOS) x += 0.3 * (double)p.size();  // make EOS likelier as prefixes grow
        logit[v] = x;
        mx = std::max(mx, x);
      }
      double z = 0;
      for (double x : logit) z += std::exp(x - mx);
      for (double x : logit) all.push_back((float)(x - mx - std::log(z)));
    }
    out = Tensor::fromF32({(int64_t)prefixes.size(), vocab}, all);
  };
}
}  // namespace

TEST(RuntimeBeamSearch, GreedyFollowsTheTable) {
  Table t;
  t.next[{1}] = {{A, 0.7}, {B, 0.2}, {EOS, 0.1}};
  t.next[{1, A}] = {{B, 0.6}, {A, 0.3}, {EOS, 0.1}};
  t.next[{1, A, B}] = {{EOS, 0.8}, {C, 0.2}};
  Hypothesis h = greedySearch(t.fn(), 10);
  EXPECT_EQ(h.symbols, (Ids{A, B}));
  EXPECT_TRUE(h.finished);
  EXPECT_EQ(h.length(), 3);
  EXPECT_NEAR(h.logProb, std::log(0.7 * 0.6 * 0.8), 1e-6);
  EXPECT_DOUBLE_EQ(h.score, h.logProb);
  EXPECT_EQ(t.calls, 3);
  EXPECT_EQ(greedyDecode(t.fn(), 10), (Ids{A, B}));
}

TEST(RuntimeBeamSearch, MaxLenCutsAndBoundsPrefixes) {
  Table t;
  for (Ids p = {1}; p.size() < 12; p.push_back(A)) t.next[p] = {{A, 0.9}, {EOS, 0.1}};
  Hypothesis g = greedySearch(t.fn(), 4);
  EXPECT_EQ(g.symbols, (Ids{A, A, A, A}));
  EXPECT_FALSE(g.finished);
  EXPECT_EQ(t.longestPrefix, 4u);  // BOS + 3: the model's tgt_len = maxLen suffices
  t.longestPrefix = 0;
  auto beams = beamSearch(t.fn(), 3, 4);
  EXPECT_LE(t.longestPrefix, 4u);
  ASSERT_FALSE(beams.empty());
  EXPECT_LE(beams.front().symbols.size(), 4u);
  EXPECT_EQ(greedyDecode(t.fn(), 1), (Ids{A}));
  EXPECT_THROW(greedyDecode(t.fn(), 0), Error);
  EXPECT_THROW(beamDecode(t.fn(), 0, 5), Error);
}

TEST(RuntimeBeamSearch, BeamFindsABetterSequenceThanGreedy) {
  Table t;
  t.next[{1}] = {{A, 0.6}, {B, 0.4}};
  t.next[{1, A}] = {{EOS, 0.34}, {B, 0.33}, {C, 0.33}};  // every continuation of A is poor
  t.next[{1, A, B}] = {{EOS, 0.5}, {C, 0.5}};
  t.next[{1, A, C}] = {{EOS, 0.5}, {B, 0.5}};
  t.next[{1, B}] = {{EOS, 0.9}, {C, 0.1}};
  Hypothesis g = greedySearch(t.fn(), 10);
  EXPECT_EQ(g.symbols, (Ids{A}));  // 0.6 * 0.34 = 0.204
  auto beams = beamSearch(t.fn(), 2, 10);
  ASSERT_EQ(beams.size(), 2u);
  EXPECT_EQ(beams[0].symbols, (Ids{B}));  // 0.4 * 0.9 = 0.36
  EXPECT_TRUE(beams[0].finished);
  EXPECT_NEAR(beams[0].logProb, std::log(0.36), 1e-6);
  EXPECT_GT(beams[0].logProb, g.logProb);
  EXPECT_EQ(beams[1].symbols, (Ids{A}));
  EXPECT_EQ(beamDecode(t.fn(), 2, 10), (Ids{B}));
  // Every call holds all live hypotheses of the source (at most beamWidth).
  t.callSizes.clear();
  beamSearch(t.fn(), 2, 10);
  EXPECT_EQ(t.callSizes, (std::vector<size_t>{1, 2}));
}

TEST(RuntimeBeamSearch, BeamWidthOneEqualsGreedy) {
  Table t;
  t.next[{1}] = {{A, 0.6}, {B, 0.4}};
  t.next[{1, A}] = {{EOS, 0.34}, {B, 0.33}, {C, 0.33}};
  t.next[{1, B}] = {{EOS, 0.9}, {C, 0.1}};
  EXPECT_EQ(beamDecode(t.fn(), 1, 10), greedyDecode(t.fn(), 10));
  int64_t compared = 0, cut = 0;
  for (int levels : {0, 3}) {
    for (uint64_t seed = 0; seed < 150; ++seed) {
      for (int64_t maxLen : {1, 3, 12}) {
        const int64_t vocab = 3 + (int64_t)(seed % 9);
        StepFn m = randomModel(seed, levels, vocab);
        Hypothesis g = greedySearch(m, maxLen);
        auto b = beamSearch(m, 1, maxLen);
        ASSERT_EQ(b.size(), 1u);
        EXPECT_EQ(b[0].symbols, g.symbols) << "seed " << seed << " levels " << levels;
        EXPECT_EQ(b[0].logProb, g.logProb);
        EXPECT_EQ(b[0].finished, g.finished);
        // Alpha does not change a single hypothesis.
        EXPECT_EQ(beamDecode(m, 1, maxLen, 0.8), g.symbols);
        ++compared;
        cut += !g.finished;
      }
    }
  }
  EXPECT_EQ(compared, 900);
  EXPECT_GT(cut, 0);  // some runs hit maxLen
}

TEST(RuntimeBeamSearch, LengthPenalty) {
  EXPECT_DOUBLE_EQ(lengthPenalty(7, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(lengthPenalty(1, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(lengthPenalty(7, 1.0), 2.0);
  EXPECT_DOUBLE_EQ(lengthPenalty(13, 0.5), std::sqrt(3.0));
  Table t;
  t.next[{1}] = {{EOS, 0.52}, {A, 0.48}};
  t.next[{1, A}] = {{EOS, 0.999}, {B, 0.001}};
  // Raw log-prob: "" (log 0.52 = -0.654) beats "A" (log(0.48 * 0.999) = -0.735).
  auto raw = beamSearch(t.fn(), 2, 5, 0.0);
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_TRUE(raw[0].symbols.empty());
  EXPECT_EQ(raw[1].symbols, (Ids{A}));
  // GNMT alpha = 1: "A" scores -0.735 / (7/6) = -0.630 > -0.654 / 1.
  auto norm = beamSearch(t.fn(), 2, 5, 1.0);
  ASSERT_EQ(norm.size(), 2u);
  EXPECT_EQ(norm[0].symbols, (Ids{A}));
  EXPECT_NEAR(norm[0].score, norm[0].logProb / (7.0 / 6.0), 1e-12);
  EXPECT_NEAR(norm[1].score, norm[1].logProb, 1e-12);
  EXPECT_EQ(beamDecode(t.fn(), 2, 5, 1.0), (Ids{A}));
  EXPECT_THROW(beamDecode(t.fn(), 2, 5, -1.0), Error);
}

TEST(RuntimeBeamSearch, NeverGeneratesPadOrBos) {
  Table t;
  t.next[{1}] = {{Vocab::PAD, 0.5}, {Vocab::BOS, 0.3}, {A, 0.15}, {EOS, 0.05}};
  EXPECT_EQ(greedyDecode(t.fn(), 3), (Ids{A}));
  EXPECT_EQ(beamDecode(t.fn(), 3, 3), (Ids{A}));
}

TEST(RuntimeBeamSearch, BatchedEqualsOneByOne) {
  const int64_t n = 6, vocab = 8;
  // Source s uses the random model with seed 100 + s.
  // Also checks the parents: each prefix extends its parent's (the previous
  // call's row) by one symbol, of the same source.
  auto batchFn = [&](int64_t *calls) {
    auto prev = std::make_shared<std::pair<std::vector<int64_t>, std::vector<Ids>>>();
    return [=](const std::vector<int64_t> &sources, const std::vector<int64_t> &parents, const std::vector<Ids> &prefixes,
               Tensor &out) {
      ++*calls;
      std::vector<float> all;
      EXPECT_EQ(parents.size(), prefixes.size());
      for (size_t i = 0; i < prefixes.size(); ++i) {
        if (i > 0) {
          EXPECT_LE(sources[i - 1], sources[i]);
        }
        if (prefixes[i].size() == 1) {
          EXPECT_EQ(parents[i], -1);
        } else if (parents[i] < 0 || parents[i] >= (int64_t)prev->second.size()) {
          ADD_FAILURE() << "row " << i << " has parent " << parents[i];
        } else {
          EXPECT_EQ(prev->first[(size_t)parents[i]], sources[i]);
          EXPECT_EQ(prev->second[(size_t)parents[i]], Ids(prefixes[i].begin(), prefixes[i].end() - 1));
        }
        Tensor one;
        randomModel(100 + (uint64_t)sources[i], 0, vocab)({prefixes[i]}, one);
        all.insert(all.end(), one.f32(), one.f32() + vocab);
      }
      out = Tensor::fromF32({(int64_t)prefixes.size(), vocab}, all);
      *prev = {sources, prefixes};
    };
  };
  int64_t calls = 0;
  auto greedy = greedySearchBatch(n, batchFn(&calls), 10);
  EXPECT_LE(calls, 10);
  calls = 0;
  auto beams = beamSearchBatch(n, batchFn(&calls), 3, 10, 0.6);
  EXPECT_LE(calls, 10);
  ASSERT_EQ(greedy.size(), (size_t)n);
  ASSERT_EQ(beams.size(), (size_t)n);
  for (int64_t s = 0; s < n; ++s) {
    StepFn m = randomModel(100 + (uint64_t)s, 0, vocab);
    EXPECT_EQ(greedy[(size_t)s].symbols, greedyDecode(m, 10));
    auto one = beamSearch(m, 3, 10, 0.6);
    ASSERT_EQ(beams[(size_t)s].size(), one.size());
    for (size_t k = 0; k < one.size(); ++k) {
      EXPECT_EQ(beams[(size_t)s][k].symbols, one[k].symbols);
      EXPECT_EQ(beams[(size_t)s][k].score, one[k].score);
    }
    // Beam results are sorted and never score below greedy when alpha = 0.
    auto b0 = beamSearch(m, 4, 10, 0.0);
    for (size_t k = 1; k < b0.size(); ++k) EXPECT_GE(b0[k - 1].score, b0[k].score);
  }
  EXPECT_TRUE(greedySearchBatch(0, batchFn(&calls), 5).empty());
}

TEST(RuntimeBeamSearch, StepFunctionErrors) {
  StepFn wrongShape = [](const std::vector<Ids> &p, Tensor &out) {
    out = Tensor(DType::F32, {(int64_t)p.size() + 1, 5});
  };
  expectErrorContaining([&] { greedyDecode(wrongShape, 3); }, {"f32 [1, vocab]", "[2, 5]"});
  StepFn wrongType = [](const std::vector<Ids> &p, Tensor &out) {
    out = Tensor(DType::I32, {(int64_t)p.size(), 5});
  };
  EXPECT_THROW(beamDecode(wrongType, 2, 3), Error);
  StepFn tiny = [](const std::vector<Ids> &p, Tensor &out) { out = Tensor(DType::F32, {(int64_t)p.size(), 2}); };
  expectErrorContaining([&] { greedyDecode(tiny, 3); }, {"no EOS"});
  StepFn nan = [](const std::vector<Ids> &p, Tensor &out) {
    out = Tensor(DType::F32, {(int64_t)p.size(), 5});
    out.f32()[3] = std::numeric_limits<float>::quiet_NaN();
  };
  expectErrorContaining([&] { beamDecode(nan, 2, 3); }, {"NaN"});
  StepFn nothing = [](const std::vector<Ids> &, Tensor &) {};
  expectErrorContaining([&] { greedyDecode(nothing, 3); }, {"got nothing"});
}

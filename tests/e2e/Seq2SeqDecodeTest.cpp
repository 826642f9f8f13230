//===- Seq2SeqDecodeTest.cpp - masks and decoding of examples/g2p.heed ----===//
//
// Properties of the encoder-decoder that decoding relies on, checked on the
// g2p model (small sizes, random parameters, real CMUdict words) run by the
// reference interpreter:
//
//   (a) masks: the decoder's logits do not depend on the encoder memory at
//       padded source positions (key_padding), nor on tgt_in after position t
//       for positions <= t (causal), nor on the other rows of the batch;
//   (b) greedy decoding == beam search with K = 1, on real words;
//   (c) step-by-step decoding (the "decode" entry on BOS + prefix, encoder run
//       once) gives, at each position, the logits of one teacher-forced
//       "forward" pass on the whole output;
//   (d) length buckets (runtime/seq2seq/LengthBuckets.h): a training step on
//       short pairs gives the same loss and gradients from the model built at
//       src_len = tgt_len = 8 as from the one at 24, on both backends;
//   (e) the key/value cache (decode_init/decode_step, runtime/decode/StepDecoder):
//       the step logits of rows of different source lengths, more rows than
//       the batch, reordered by parent as beam search does, equal the "decode"
//       window's; greedy and beam search through the cache give the hypotheses
//       of recomputation, on both backends.
//
// (Changing src tokens at padded positions to non-PAD ids would change the
// mask itself, src == pad, so (a) perturbs the memory the decoder attends to
// at those positions instead: that is what key_padding must hide.)
//
//===----------------------------------------------------------------------===//

#include "runtime/seq2seq/Seq2SeqRunner.h"

#include "compiler/compiled/CompiledProgram.h"
#include "compiler/interp/InterpretedProgram.h"
#include "runtime/Random.h"
#include "runtime/decode/StepDecoder.h"
#include "runtime/seq2seq/ParallelData.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#ifndef HEED_SOURCE_DIR
#error "HEED_SOURCE_DIR must be defined"
#endif

namespace heed {
namespace {

const std::string kModel = std::string(HEED_SOURCE_DIR) + "/examples/g2p.heed";
const std::string kDev = std::string(HEED_SOURCE_DIR) + "/examples/data/cmudict/dev.tsv";
constexpr int64_t B = 4;

struct Fixture {
  std::unique_ptr<rt::Program> program;
  rt::Seq2SeqLayout layout;
  rt::ParamStore params;
  std::vector<std::vector<int32_t>> words;  // source ids of real dev words
  rt::RunContext ctx;

  Fixture() {
    ImportOptions opts;
    opts.overrides = {{"d_model", "32"}, {"layers", "2"}, {"heads", "2"}, {"d_ff", "64"}, {"p_drop", "0.0"}};
    opts.batch = B;
    opts.training = false;  // a program that decodes: with decode_init/decode_step
    program = buildReferenceProgram(kModel, opts);
    if (!program) throw std::runtime_error("cannot build " + kModel);
    layout = rt::seq2seqLayout(*program, "test");
    params = rt::createParams(*program, 7, ".");
    // Larger random weights than the init, so outputs differ clearly between inputs.
    for (rt::Param &p : params)
      for (int64_t i = 0; i < p.value.size(); ++i) p.value.f32()[i] += 0.2f * rt::normal(11, 3, (uint64_t)i);
    rt::ParallelData dev = rt::ParallelData::load(kDev, rt::Tokenizer::Chars, rt::Tokenizer::Space);
    auto [sv, tv] = dev.buildVocabs();
    rt::EncodedData enc = dev.encode(sv, tv, layout.srcLen, layout.tgtLen);
    for (int64_t i = 0; i < 24; ++i) words.push_back(enc.examples()[(size_t)i].src);
    ctx.params = &params;
    ctx.training = false;
  }

  rt::Tensor srcBatch(size_t first) const {
    rt::Tensor t(rt::DType::I32, {B, layout.srcLen});
    for (int64_t r = 0; r < B; ++r) {
      const auto &w = words[first + (size_t)r];
      std::copy(w.begin(), w.end(), t.i32() + r * layout.srcLen);
    }
    return t;
  }
  rt::Tensor encode(const rt::Tensor &src) { return program->run("encode", {src}, ctx).at(0); }
  rt::Tensor decode(const rt::Tensor &memory, const rt::Tensor &src, const rt::Tensor &tgtIn) {
    const rt::EntrySpec &e = *program->entry("decode");
    std::vector<rt::Tensor> in;
    for (const rt::TensorSpec &s : e.inputs) in.push_back(s.name == "src" ? src : s.name == "tgt_in" ? tgtIn : memory);
    return program->run("decode", in, ctx).at((size_t)layout.decodeLogits);
  }
  rt::Tensor forward(const rt::Tensor &src, const rt::Tensor &tgtIn) {
    const rt::EntrySpec &e = *program->entry("forward");
    std::vector<rt::Tensor> in;
    for (const rt::TensorSpec &s : e.inputs) in.push_back(s.name == "src" ? src : tgtIn);
    return program->run("forward", in, ctx).at((size_t)layout.forwardLogits);
  }
  rt::Tensor randomTgt(uint64_t stream) const {
    rt::Tensor t(rt::DType::I32, {B, layout.tgtLen});
    for (int64_t i = 0; i < t.size(); ++i) t.i32()[i] = 4 + (int32_t)(rt::hash64(5, stream, (uint64_t)i) % 60);
    for (int64_t r = 0; r < B; ++r) t.i32()[r * layout.tgtLen] = rt::Vocab::BOS;
    return t;
  }
};

Fixture &fx() {
  static Fixture f;
  return f;
}

double maxAbsDiff(const float *a, const float *b, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, (double)std::fabs(a[i] - b[i]));
  return m;
}

TEST(Seq2SeqDecode, LayoutOfG2p) {
  Fixture &f = fx();
  EXPECT_EQ(f.layout.batch, B);
  EXPECT_EQ(f.layout.srcLen, 24);
  EXPECT_EQ(f.layout.tgtLen, 24);
  EXPECT_EQ(f.layout.srcVocab, 32);
  EXPECT_EQ(f.layout.tgtVocab, 80);
  EXPECT_EQ(f.layout.dModel, 32);
}

TEST(Seq2SeqDecode, MemoryAtPaddedSourcePositionsIsInvisible) {
  Fixture &f = fx();
  rt::Tensor src = f.srcBatch(0), tin = f.randomTgt(1);
  rt::Tensor memory = f.encode(src);
  rt::Tensor base = f.decode(memory, src, tin);
  rt::Tensor perturbed = memory.clone();
  const int64_t S = f.layout.srcLen, D = memory.dim(2);
  int64_t changed = 0;
  for (int64_t r = 0; r < B; ++r)
    for (int64_t t = (int64_t)f.words[(size_t)r].size(); t < S; ++t, ++changed)
      for (int64_t d = 0; d < D; ++d) perturbed.f32()[(r * S + t) * D + d] += 5.0f * rt::normal(9, (uint64_t)t, (uint64_t)d);
  ASSERT_GT(changed, 0);
  rt::Tensor after = f.decode(perturbed, src, tin);
  EXPECT_LE(maxAbsDiff(base.f32(), after.f32(), base.size()), 1e-5);
  // ...while the memory at a real position does change the logits.
  rt::Tensor real = memory.clone();
  for (int64_t d = 0; d < D; ++d) real.f32()[d] += 5.0f;
  rt::Tensor moved = f.decode(real, src, tin);
  EXPECT_GT(maxAbsDiff(base.f32(), moved.f32(), (int64_t)f.layout.tgtLen * base.dim(2)), 1e-3);
}

TEST(Seq2SeqDecode, SourcePaddingIsInvisibleToTheEncoderOutputAtRealPositions) {
  // The same words in another batch (other neighbours, other padding lengths)
  // give the same memory at their real positions and the same logits.
  Fixture &f = fx();
  rt::Tensor src = f.srcBatch(0);
  rt::Tensor other = f.srcBatch(4);
  std::memcpy(other.i32(), src.i32(), sizeof(int32_t) * (size_t)f.layout.srcLen);  // row 0 shared
  rt::Tensor m1 = f.encode(src), m2 = f.encode(other);
  const int64_t D = m1.dim(2), len = (int64_t)f.words[0].size();
  EXPECT_LE(maxAbsDiff(m1.f32(), m2.f32(), len * D), 1e-5);
  rt::Tensor tin = f.randomTgt(2);
  rt::Tensor l1 = f.forward(src, tin), l2 = f.forward(other, tin);
  EXPECT_LE(maxAbsDiff(l1.f32(), l2.f32(), f.layout.tgtLen * l1.dim(2)), 1e-5);
}

TEST(Seq2SeqDecode, FutureTargetTokensAreInvisible) {
  Fixture &f = fx();
  rt::Tensor src = f.srcBatch(0), tin = f.randomTgt(3);
  rt::Tensor base = f.forward(src, tin);
  const int64_t T = f.layout.tgtLen, V = base.dim(2);
  for (int64_t t : {0, 3, 10, 22}) {
    rt::Tensor changed = tin.clone();
    for (int64_t r = 0; r < B; ++r)
      for (int64_t u = t + 1; u < T; ++u) {
        int32_t &id = changed.i32()[r * T + u];
        id = 4 + (id - 4 + 1 + (int32_t)((u * 7 + r) % 50)) % 60;  // always a different id in [4, 64)
      }
    rt::Tensor after = f.forward(src, changed);
    for (int64_t r = 0; r < B; ++r) {
      EXPECT_LE(maxAbsDiff(base.f32() + r * T * V, after.f32() + r * T * V, (t + 1) * V), 1e-5)
          << "row " << r << " positions <= " << t;
      EXPECT_GT(maxAbsDiff(base.f32() + (r * T + t + 1) * V, after.f32() + (r * T + t + 1) * V, V), 1e-4)
          << "position " << t + 1 << " should see its own token";
    }
  }
}

TEST(Seq2SeqDecode, GreedyEqualsBeamOfOne) {
  Fixture &f = fx();
  rt::Seq2SeqRunner runner(*f.program, f.layout, f.params);
  std::vector<rt::Hypothesis> greedy = runner.decode(f.words, 1, 0);
  std::vector<std::vector<rt::Hypothesis>> beam = runner.decodeBeams(f.words, 1, 0);
  ASSERT_EQ(greedy.size(), f.words.size());
  ASSERT_EQ(beam.size(), f.words.size());
  int64_t finished = 0;
  for (size_t i = 0; i < f.words.size(); ++i) {
    ASSERT_EQ(beam[i].size(), 1u);
    EXPECT_EQ(greedy[i].symbols, beam[i][0].symbols) << "word " << i;
    EXPECT_EQ(greedy[i].finished, beam[i][0].finished);
    EXPECT_NEAR(greedy[i].logProb, beam[i][0].logProb, 1e-9);
    finished += greedy[i].finished;
  }
  // The same words one batch row at a time decode the same.
  std::vector<std::vector<int32_t>> one(f.words.begin(), f.words.begin() + 1);
  EXPECT_EQ(runner.decode(one, 1, 0)[0].symbols, greedy[0].symbols);
  // Wider beams never find a worse best log-probability (alpha = 0).
  std::vector<rt::Hypothesis> wide = runner.decode(f.words, 3, 0);
  for (size_t i = 0; i < f.words.size(); ++i)
    if (greedy[i].finished && wide[i].finished) EXPECT_GE(wide[i].logProb, greedy[i].logProb - 1e-6);
  (void)finished;
}

TEST(Seq2SeqDecode, StepByStepMatchesTeacherForcing) {
  Fixture &f = fx();
  rt::Seq2SeqRunner runner(*f.program, f.layout, f.params);
  std::vector<std::vector<int32_t>> four(f.words.begin(), f.words.begin() + B);
  std::vector<rt::Hypothesis> hyps = runner.decode(four, 1, 0);
  const int64_t T = f.layout.tgtLen;
  rt::Tensor src = f.srcBatch(0);
  rt::Tensor full(rt::DType::I32, {B, T});
  int64_t maxLen = 0;
  for (int64_t r = 0; r < B; ++r) {
    const auto &y = hyps[(size_t)r].symbols;
    full.i32()[r * T] = rt::Vocab::BOS;
    for (size_t i = 0; i < y.size() && (int64_t)i + 1 < T; ++i) full.i32()[r * T + 1 + (int64_t)i] = y[i];
    maxLen = std::max<int64_t>(maxLen, std::min<int64_t>((int64_t)y.size() + 1, T));
  }
  rt::Tensor teacher = f.forward(src, full);
  const int64_t V = teacher.dim(2);
  rt::Tensor memory = f.encode(src);  // once
  for (int64_t t = 0; t < maxLen; ++t) {
    rt::Tensor prefix(rt::DType::I32, {B, T});  // BOS + y[0..t), PAD after
    for (int64_t r = 0; r < B; ++r)
      for (int64_t u = 0; u <= t; ++u) prefix.i32()[r * T + u] = full.i32()[r * T + u];
    rt::Tensor step = f.decode(memory, src, prefix);
    for (int64_t r = 0; r < B; ++r)
      EXPECT_LE(maxAbsDiff(step.f32() + (r * T + t) * V, teacher.f32() + (r * T + t) * V, V), 1e-4)
          << "row " << r << " position " << t;
  }
  // The greedy choice at each step is the argmax of those logits (ids >= EOS).
  for (int64_t r = 0; r < B; ++r) {
    const auto &y = hyps[(size_t)r].symbols;
    for (size_t i = 0; i < y.size(); ++i) {
      const float *row = teacher.f32() + (r * T + (int64_t)i) * V;
      int32_t best = rt::Vocab::EOS;
      for (int32_t v = best + 1; v < V; ++v)
        if (row[v] > row[best]) best = v;
      EXPECT_EQ(best, y[i]) << "row " << r << " step " << i;
    }
  }
}

struct StepResult {
  double loss = 0;
  std::map<std::string, rt::Tensor> grads;
};

/// One train_step of `program` on `rows` padded to the program's lengths; the
/// gradients are captured, not applied.
StepResult trainStep(rt::Program &program, rt::ParamStore &params, const std::vector<rt::Example> &rows) {
  rt::Seq2SeqLayout l = rt::seq2seqLayout(program, "test");
  const int64_t n = (int64_t)rows.size();
  rt::Tensor src(rt::DType::I32, {n, l.srcLen}), tin(rt::DType::I32, {n, l.tgtLen}),
      tout(rt::DType::I32, {n, l.tgtLen});
  for (int64_t r = 0; r < n; ++r)
    rt::EncodedData::fillRow(rows[(size_t)r], l.srcLen, l.tgtLen, src.i32() + r * l.srcLen,
                             tin.i32() + r * l.tgtLen, tout.i32() + r * l.tgtLen);
  const rt::EntrySpec &e = *program.entry("train_step");
  std::vector<rt::Tensor> in;
  for (const rt::TensorSpec &s : e.inputs) in.push_back(s.name == "src" ? src : s.name == "tgt_in" ? tin : tout);
  StepResult res;
  rt::RunContext ctx;
  ctx.params = &params;
  ctx.training = true;
  ctx.step = 1;
  ctx.applyGradients = [&](std::vector<std::pair<std::string, rt::Tensor>> &g) {
    for (auto &[name, t] : g) res.grads[name] = t.clone();
  };
  res.loss = program.run("train_step", in, ctx).at((size_t)l.trainLossIndex).f32()[0];
  return res;
}

void expectBucketStepEqualsFullStep(const std::string &backend) {
  ImportOptions full;
  full.overrides = {{"d_model", "32"}, {"layers", "2"}, {"heads", "2"}, {"d_ff", "64"}, {"p_drop", "0.0"}};
  full.batch = B;
  ImportOptions bucket = full;
  bucket.overrides["src_len"] = "8";
  bucket.overrides["tgt_len"] = "8";
  std::unique_ptr<rt::Program> a = buildProgram(backend, kModel, full);
  std::unique_ptr<rt::Program> b = buildProgram(backend, kModel, bucket);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(rt::seq2seqLayout(*b, "test").srcLen, 8);

  rt::ParamStore params = rt::createParams(*a, 7, ".");
  for (rt::Param &p : params)
    for (int64_t i = 0; i < p.value.size(); ++i) p.value.f32()[i] += 0.2f * rt::normal(11, 3, (uint64_t)i);
  // Real dev words that fit 8/8, of different lengths (so each row has its own padding).
  rt::ParallelData dev = rt::ParallelData::load(kDev, rt::Tokenizer::Chars, rt::Tokenizer::Space);
  auto [sv, tv] = dev.buildVocabs();
  rt::EncodedData shortWords = dev.encode(sv, tv, 8, 8);
  std::vector<rt::Example> rows(shortWords.examples().begin(), shortWords.examples().begin() + B);

  StepResult ra = trainStep(*a, params, rows), rb = trainStep(*b, params, rows);
  EXPECT_NEAR(ra.loss, rb.loss, 1e-5 * std::max(1.0, std::fabs(ra.loss))) << backend;
  ASSERT_EQ(ra.grads.size(), params.size()) << backend;
  ASSERT_EQ(rb.grads.size(), ra.grads.size()) << backend;
  for (const auto &[name, ga] : ra.grads) {
    const rt::Tensor &gb = rb.grads.at(name);
    ASSERT_EQ(ga.shape(), gb.shape()) << name;
    double scale = 0;
    for (int64_t i = 0; i < ga.size(); ++i) scale = std::max(scale, (double)std::fabs(ga.f32()[i]));
    EXPECT_LE(maxAbsDiff(ga.f32(), gb.f32(), ga.size()), 1e-4 * std::max(scale, 1e-3))
        << backend << ": gradient of " << name;
  }
}

TEST(Seq2SeqDecode, CachedStepLogitsEqualTheDecodeWindow) {
  Fixture &f = fx();
  const int64_t T = f.layout.tgtLen, S = f.layout.srcLen;
  rt::Tensor src = f.srcBatch(0);  // sources 0..3: real words of different lengths
  rt::Tensor memory = f.encode(src);
  ASSERT_TRUE(rt::StepDecoder::usable(*f.program));
  rt::StepDecoder dec(*f.program, f.ctx, f.program->entry("decode")->outputs[(size_t)f.layout.decodeLogits].name);
  dec.start({{"memory", memory}, {"src", src}});
  // Six rows (two blocks of B = 4, the second half padding): beams of sources 0, 1, 3.
  std::vector<int64_t> sources = {0, 0, 1, 3, 3, 3};
  std::vector<std::vector<int32_t>> prefix(sources.size(), std::vector<int32_t>{rt::Vocab::BOS});
  std::vector<int64_t> parents(sources.size(), -1);
  for (int64_t t = 0; t < 9; ++t) {
    if (t == 4 || t == 6) {  // beam search keeps other hypotheses: row i continues row parent[i]
      // t = 4: two rows continue row 1 (one takes a copy of its cache); t = 6: two
      // rows left in two blocks, packed into one.
      std::vector<int64_t> keep = t == 4 ? std::vector<int64_t>{1, 1, 2, 5, 3} : std::vector<int64_t>{0, 3};
      std::vector<int64_t> nextSources;
      std::vector<std::vector<int32_t>> nextPrefix;
      for (int64_t p : keep) {
        nextSources.push_back(sources[(size_t)p]);
        nextPrefix.push_back(prefix[(size_t)p]);
      }
      sources = nextSources;
      prefix = nextPrefix;
      parents = keep;
      for (size_t i = 0; i < prefix.size(); ++i)  // the kept copies diverge
        prefix[i].back() = (int32_t)(4 + (i * 13 + (size_t)t) % 60);
    }
    std::vector<int32_t> tokens, positions;
    for (const auto &p : prefix) {
      tokens.push_back(p.back());
      positions.push_back((int32_t)p.size() - 1);
    }
    const int64_t calls = dec.calls();
    const rt::Tensor &got = dec.stepRows(sources, parents, tokens, positions);
    EXPECT_EQ(dec.calls() - calls, t < 6 ? 2 : 1) << "blocks run at position " << t;
    const int64_t V = got.dim(2);
    // The window: each row's prefix in "decode" with its source's memory.
    for (size_t first = 0; first < prefix.size(); first += (size_t)B) {
      rt::Tensor mem(rt::DType::F32, {B, S, memory.dim(2)}), s(rt::DType::I32, {B, S}), tin(rt::DType::I32, {B, T});
      for (int64_t r = 0; r < B; ++r) {
        const size_t i = std::min(first + (size_t)r, prefix.size() - 1);
        const int64_t so = sources[i];
        std::memcpy(mem.f32() + r * S * mem.dim(2), memory.f32() + so * S * mem.dim(2), sizeof(float) * (size_t)(S * mem.dim(2)));
        std::memcpy(s.i32() + r * S, src.i32() + so * S, sizeof(int32_t) * (size_t)S);
        std::copy(prefix[i].begin(), prefix[i].end(), tin.i32() + r * T);
      }
      rt::Tensor want = f.decode(mem, s, tin);
      for (int64_t r = 0; r < B && first + (size_t)r < prefix.size(); ++r)
        EXPECT_LE(maxAbsDiff(got.f32() + (int64_t)(first + (size_t)r) * V, want.f32() + (r * T + t) * V, V), 1e-4)
            << "row " << first + (size_t)r << " position " << t;
    }
    for (size_t i = 0; i < prefix.size(); ++i) {
      prefix[i].push_back((int32_t)(4 + (i * 7 + (size_t)t * 3) % 60));
      parents[i] = (int64_t)i;
    }
  }
}

void expectCachedDecodingEqualsRecomputation(rt::Program &program, rt::ParamStore &params, const std::string &what) {
  rt::Seq2SeqLayout layout = rt::seq2seqLayout(program, "test");
  rt::Seq2SeqRunner cached(program, layout, params, /*useCache=*/true);
  rt::Seq2SeqRunner window(program, layout, params, /*useCache=*/false);
  ASSERT_TRUE(cached.cached()) << what;
  ASSERT_FALSE(window.cached()) << what;
  // 10 words in groups of B = 4 (the last one with two padding rows), each
  // source padded to src_len by its own length.
  std::vector<std::vector<int32_t>> words(fx().words.begin(), fx().words.begin() + 10);
  for (int64_t beam : {1, 4}) {
    std::vector<std::vector<rt::Hypothesis>> a = beam == 1 ? std::vector<std::vector<rt::Hypothesis>>{}
                                                           : cached.decodeBeams(words, beam, 0.6);
    std::vector<std::vector<rt::Hypothesis>> b = beam == 1 ? std::vector<std::vector<rt::Hypothesis>>{}
                                                           : window.decodeBeams(words, beam, 0.6);
    if (beam == 1)
      for (size_t i = 0; i < words.size(); ++i) {
        a.push_back({cached.decode({words[i]}, 1, 0)[0]});
        b.push_back({window.decode({words[i]}, 1, 0)[0]});
      }
    std::vector<rt::Hypothesis> ga = cached.decode(words, beam, 0.6), gb = window.decode(words, beam, 0.6);
    ASSERT_EQ(a.size(), words.size());
    ASSERT_EQ(b.size(), words.size());
    for (size_t i = 0; i < words.size(); ++i) {
      EXPECT_EQ(ga[i].symbols, gb[i].symbols) << what << " beam " << beam << " word " << i;
      EXPECT_NEAR(ga[i].logProb, gb[i].logProb, 1e-4) << what << " beam " << beam << " word " << i;
      ASSERT_EQ(a[i].size(), b[i].size()) << what << " beam " << beam << " word " << i;
      for (size_t k = 0; k < a[i].size(); ++k) {
        EXPECT_EQ(a[i][k].symbols, b[i][k].symbols) << what << " beam " << beam << " word " << i << " hyp " << k;
        EXPECT_EQ(a[i][k].finished, b[i][k].finished);
        EXPECT_NEAR(a[i][k].score, b[i][k].score, 1e-4);
      }
    }
  }
  EXPECT_GT(cached.decodeCalls(), 0);
}

TEST(Seq2SeqDecode, CachedDecodingEqualsRecomputationReference) {
  expectCachedDecodingEqualsRecomputation(*fx().program, fx().params, "reference");
}

TEST(Seq2SeqDecode, CachedDecodingEqualsRecomputationCompiled) {
  ImportOptions opts;
  opts.overrides = {{"d_model", "32"}, {"layers", "2"}, {"heads", "2"}, {"d_ff", "64"}, {"p_drop", "0.0"}};
  opts.batch = B;
  opts.training = false;
  std::unique_ptr<rt::Program> program = buildProgram("compiled", kModel, opts);
  ASSERT_TRUE(program);
  expectCachedDecodingEqualsRecomputation(*program, fx().params, "compiled");
}

TEST(Seq2SeqDecode, BucketStepEqualsFullStepReference) { expectBucketStepEqualsFullStep("reference"); }
TEST(Seq2SeqDecode, BucketStepEqualsFullStepCompiled) { expectBucketStepEqualsFullStep("compiled"); }

}  // namespace
}  // namespace heed

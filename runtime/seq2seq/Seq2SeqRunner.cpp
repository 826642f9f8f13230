//===- Seq2SeqRunner.cpp - running encoder-decoder models -----------------===//

#include "runtime/seq2seq/Seq2SeqRunner.h"

#include "runtime/text/TokenizerStore.h"

#include "runtime/Error.h"
#include "runtime/decode/StepDecoder.h"
#include "runtime/kernels/LogSumExp.h"
#include "runtime/train/LanguageModel.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

namespace heed::rt {

namespace {

const rt::TensorSpec *findInput(const rt::EntrySpec &e, const std::string &name) {
  int i = e.find(name);
  return i < 0 ? nullptr : &e.inputs[(size_t)i];
}

/// The output [batch, len, V>=3] f32 named "logits" (or the only such output).
int logitsIndex(const rt::EntrySpec &e, int64_t batch, int64_t len) {
  int found = -1;
  for (size_t i = 0; i < e.outputs.size(); ++i) {
    const rt::TensorSpec &o = e.outputs[i];
    if (o.dtype != rt::DType::F32 || o.shape.size() != 3 || o.shape[0] != batch || o.shape[1] != len ||
        o.shape[2] < 3)
      continue;
    if (found < 0 || o.name == "logits") found = (int)i;
  }
  return found;
}

/// The config key (e.g. "src_vocab") whose value is `limit`, preferring names with "vocab".
std::string vocabKey(const rt::ModelInfo &info, int64_t limit, const std::string &prefer) {
  if (info.config.count(prefer) && (int64_t)info.config.at(prefer) == limit) return prefer;
  for (auto &[k, v] : info.config)
    if ((int64_t)v == limit && k.find("vocab") != std::string::npos) return k;
  return "";
}

/// Adds the cross-entropy of the first `rows` rows of logits [B, T, V] against
/// tout [B, T] (PAD targets skipped) to total, and the scored targets to tokens.
void addCrossEntropy(const rt::Tensor &logits, const rt::Tensor &tout, int64_t rows, double &total, int64_t &tokens) {
  const int64_t T = logits.dim(1), V = logits.dim(2);
  const int32_t *Y = tout.i32();
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t t = 0; t < T; ++t) {
      const int32_t y = Y[row * T + t];
      if (y == rt::Vocab::PAD) continue;
      total += crossEntropyRow(logits.f32() + (row * T + t) * V, V, y);
      ++tokens;
    }
}

}  // namespace

bool looksSeq2Seq(const rt::Program &program) {
  if (program.entry("encode") && program.entry("decode")) return true;
  const rt::EntrySpec *train = program.entry("train_step");
  if (!train) train = program.entry("forward");
  if (!train) return false;
  return hasSeq2SeqInputs(train->inputs);
}

bool hasSeq2SeqInputs(const std::vector<rt::TensorSpec> &inputs) {
  auto has = [&](const char *name) {
    return std::any_of(inputs.begin(), inputs.end(), [&](const rt::TensorSpec &t) { return t.name == name; });
  };
  return has("src") && has("tgt_in");
}

Seq2SeqLayout seq2seqLayout(const rt::Program &program, const std::string &what) {
  const rt::ModelInfo &info = program.info();
  const std::string model = "model '" + info.name + "'";
  const std::string need =
      ": " + what + " on source<TAB>target data needs an encoder-decoder with i32 inputs src [batch, src_len], "
      "tgt_in and tgt_out [batch, tgt_len], and an output (the encoder's memory) that feeds the logits";
  const rt::EntrySpec *train = program.entry("train_step");
  const rt::EntrySpec *forward = program.entry("forward");
  const rt::EntrySpec *enc = program.entry("encode");
  const rt::EntrySpec *dec = program.entry("decode");
  if (!train || !program.entry("eval"))
    throw rt::Error(model + " has no 'minimize': " + what + " needs a loss to minimize");
  if (!forward) throw rt::Error(model + " has no forward entry point");
  for (const char *name : {"src", "tgt_in", "tgt_out"}) {
    const rt::TensorSpec *s = findInput(*train, name);
    if (!s) throw rt::Error(model + " has no input '" + name + "'" + need);
    if (s->dtype != rt::DType::I32 || s->shape.size() != 2)
      throw rt::Error(model + ": input '" + name + "' is " + rt::dtypeName(s->dtype) + " " +
                      rt::shapeToString(s->shape) + need);
  }
  if (train->inputs.size() != 3) {
    std::string names;
    for (const rt::TensorSpec &s : train->inputs) names += (names.empty() ? "" : ", ") + s.name;
    throw rt::Error(model + " has inputs (" + names + ") besides src, tgt_in and tgt_out" + need);
  }
  if (!enc || !dec)
    throw rt::Error(model + " has no encode/decode entry points (no output such as 'memory' feeds another "
                            "output such as 'logits'; list both in 'output memory, logits')" + need);
  const rt::TensorSpec &src = *findInput(*train, "src");
  const rt::TensorSpec &tin = *findInput(*train, "tgt_in");
  const rt::TensorSpec &tout = *findInput(*train, "tgt_out");
  if (tin.shape != tout.shape || src.shape[0] != tin.shape[0])
    throw rt::Error(model + ": inputs src " + rt::shapeToString(src.shape) + ", tgt_in " +
                    rt::shapeToString(tin.shape) + " and tgt_out " + rt::shapeToString(tout.shape) +
                    " do not share [batch, ...]" + need);
  Seq2SeqLayout l;
  l.batch = src.shape[0];
  l.srcLen = src.shape[1];
  l.tgtLen = tin.shape[1];
  l.srcVocab = src.idLimit;
  for (int64_t lim : {tin.idLimit, tout.idLimit})
    if (lim > 0) l.tgtVocab = l.tgtVocab == 0 ? lim : std::min(l.tgtVocab, lim);
  l.srcVocabKey = vocabKey(info, l.srcVocab, "src_vocab");
  l.tgtVocabKey = vocabKey(info, l.tgtVocab, "tgt_vocab");
  if (l.tgtLen < 2) throw rt::Error(model + ": tgt_len must be >= 2 (BOS/EOS), got " + std::to_string(l.tgtLen));

  // encode(src) -> memory; decode(memory, src, tgt_in) -> logits
  if (enc->outputs.size() != 1 || enc->outputs[0].shape.size() != 3 || enc->outputs[0].dtype != rt::DType::F32)
    throw rt::Error(model + ": its encode entry must return one f32 [batch, src_len, d] tensor" + need);
  for (const rt::TensorSpec &s : enc->inputs)
    if (s.name != "src") throw rt::Error(model + ": its encoder reads input '" + s.name + "' besides src" + need);
  const std::string memName = enc->outputs[0].name;
  l.dModel = enc->outputs[0].shape[2];
  for (const rt::TensorSpec &s : dec->inputs)
    if (s.name != memName && s.name != "src" && s.name != "tgt_in")
      throw rt::Error(model + ": its decoder reads input '" + s.name + "' besides " + memName +
                      ", src and tgt_in" + need);
  if (findInput(*dec, memName) == nullptr)
    throw rt::Error(model + ": its decode entry does not take the encoder output '" + memName + "'" + need);
  l.forwardLogits = logitsIndex(*forward, l.batch, l.tgtLen);
  l.decodeLogits = logitsIndex(*dec, l.batch, l.tgtLen);
  if (l.forwardLogits < 0 || l.decodeLogits < 0)
    throw rt::Error(model + " has no logits output f32 [batch, tgt_len, tgt_vocab]" + need);
  for (const rt::TensorSpec &s : forward->inputs)
    if (s.name != "src" && s.name != "tgt_in")
      throw rt::Error(model + ": its forward pass reads input '" + s.name + "' besides src and tgt_in" + need);
  l.trainLossIndex = trainLossIndex(*train, model);
  return l;
}

void Seq2SeqVocabs::toMetadata(std::map<std::string, std::string> &meta) const {
  meta["heed.task"] = "seq2seq";
  meta["heed.src_vocab"] = src.serialize();
  meta["heed.tgt_vocab"] = tgt.serialize();
  meta["heed.src_tokens"] = rt::tokenizerName(srcTok);
  meta["heed.tgt_tokens"] = rt::tokenizerName(tgtTok);
  if (srcTok.model()) rt::storeTokenizer(*srcTok.model(), meta, "heed.src_tokenizer");
  if (tgtTok.model()) rt::storeTokenizer(*tgtTok.model(), meta, "heed.tgt_tokenizer");
}

/// chars, space or bytes by name; else the pieces' tokenizer stored under `key`.
static rt::Tokenizer storedSide(const RunCheckpoint &rc, const std::string &name, const std::string &key) {
  if (name == "chars" || name == "space" || name == "bytes") return rt::parseTokenizer(name);
  if (!rc.ckpt.metadata.count(key))
    throw rt::Error("checkpoint '" + rc.path + "' tokenizes with '" + name + "' but has no '" + key + "' in its metadata");
  std::shared_ptr<const rt::TextTokenizer> model = rt::tokenizerFromMetadata(rc.ckpt.metadata, "checkpoint '" + rc.path + "'", key);
  return rt::Tokenizer::pieces(std::move(model), name);
}

Seq2SeqVocabs Seq2SeqVocabs::fromCheckpoint(const RunCheckpoint &rc) {
  Seq2SeqVocabs v;
  for (const char *k : {"heed.src_vocab", "heed.tgt_vocab", "heed.src_tokens", "heed.tgt_tokens"})
    if (rc.meta(k).empty())
      throw rt::Error("checkpoint '" + rc.path + "' has no '" + k + "' in its metadata");
  v.src = rt::Vocab::deserialize(rc.meta("heed.src_vocab"), rc.path + ":heed.src_vocab");
  v.tgt = rt::Vocab::deserialize(rc.meta("heed.tgt_vocab"), rc.path + ":heed.tgt_vocab");
  v.srcTok = storedSide(rc, rc.meta("heed.src_tokens"), "heed.src_tokenizer");
  v.tgtTok = storedSide(rc, rc.meta("heed.tgt_tokens"), "heed.tgt_tokenizer");
  return v;
}

void checkVocabsFit(const Seq2SeqVocabs &v, const Seq2SeqLayout &l, const std::string &modelName) {
  auto check = [&](const rt::Vocab &voc, int64_t limit, const std::string &key, const char *side) {
    if (limit <= 0 || voc.size() <= limit) return;
    std::string dim = key.empty() ? std::string("its ") + side + " vocabulary dimension" : "its " + key;
    std::string fix = key.empty() ? "" : " (e.g. --set " + key + "=" + std::to_string(voc.size()) + ")";
    throw rt::Error("the data has " + std::to_string(voc.size()) + " " + side +
                    " symbols (4 specials included) but model '" + modelName + "' has " + dim + " = " +
                    std::to_string(limit) + ": raise it to at least " + std::to_string(voc.size()) + fix);
  };
  check(v.src, l.srcVocab, l.srcVocabKey, "source");
  check(v.tgt, l.tgtVocab, l.tgtVocabKey, "target");
}

std::vector<int32_t> encodeWord(const std::string &word, const Seq2SeqVocabs &v, int64_t *unknown) {
  return v.src.encode(rt::tokenize(word, v.srcTok), unknown);
}

EncodedWords encodeWords(const std::vector<std::string> &words, const Seq2SeqVocabs &v, int64_t srcLen) {
  EncodedWords out;
  for (const std::string &w : words) {
    int64_t before = out.unknown;
    std::vector<int32_t> ids;
    try {
      ids = encodeWord(w, v, &out.unknown);
    } catch (const rt::Error &e) {
      throw rt::Error("word '" + w + "': " + e.what());
    }
    if ((int64_t)ids.size() > srcLen)
      throw rt::Error("word '" + w + "' has " + std::to_string(ids.size()) + " symbols; the model's src_len is " +
                      std::to_string(srcLen));
    out.wordsWithUnknown += out.unknown > before;
    out.srcs.push_back(std::move(ids));
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Seq2SeqRunner
//===----------------------------------------------------------------------===//

Seq2SeqEval Seq2SeqRunner::teacherForced(const rt::EncodedData &data, int64_t maxWords, rt::Communicator *comm) {
  const int64_t B = layout.batch;
  int64_t n = data.size();
  if (maxWords > 0) n = std::min(n, maxWords);
  const rt::EntrySpec &fwd = *program.entry("forward");
  rt::RunContext ctx;
  ctx.params = &params;
  ctx.training = false;
  rt::Tensor src, tin, tout;
  // Per batch: the summed nats, the target tokens and the words.
  std::vector<double> sums = rt::shardedBatchSums(comm, (n + B - 1) / B, 3, [&](int64_t b, double *score) {
    const int64_t first = b * B;
    int64_t real = std::min(data.evalBatch(first, B, src, tin, tout), n - first);
    std::vector<rt::Tensor> in;
    for (const rt::TensorSpec &s : fwd.inputs) in.push_back(s.name == "src" ? src : tin);
    std::vector<rt::Tensor> out = program.run("forward", in, ctx);
    double total = 0;
    int64_t tokens = 0;
    addCrossEntropy(out.at((size_t)layout.forwardLogits), tout, real, total, tokens);
    score[0] = total;
    score[1] = (double)tokens;
    score[2] = (double)real;
  });
  Seq2SeqEval r;
  r.tokens = (int64_t)sums[1];
  r.words = (int64_t)sums[2];
  r.loss = r.tokens > 0 ? sums[0] / (double)r.tokens : NAN;
  return r;
}

void Seq2SeqRunner::encodeGroup(const std::vector<std::vector<int32_t>> &srcs, size_t first, size_t count,
                                rt::Tensor &srcT, rt::Tensor &memory) {
  const int64_t B = layout.batch, S = layout.srcLen;
  srcT = rt::Tensor(rt::DType::I32, {B, S});
  for (int64_t r = 0; r < B; ++r) {
    // Rows past the group repeat its first source (an all-padding row would
    // attend to nothing); their outputs are ignored.
    const std::vector<int32_t> &s = srcs[first + (size_t)r % count];
    if ((int64_t)s.size() > S)
      throw rt::Error("source " + std::to_string(first + (size_t)r % count + 1) + " has " +
                      std::to_string(s.size()) + " symbols; the model's src_len is " + std::to_string(S));
    std::copy(s.begin(), s.end(), srcT.i32() + r * S);
  }
  rt::RunContext ctx;
  ctx.params = &params;
  ctx.training = false;
  std::vector<rt::Tensor> out = program.run("encode", {srcT}, ctx);
  memory = out.at((size_t)layout.encodeMemory);
}

void Seq2SeqRunner::stepLogProbs(const rt::Tensor &srcT, const rt::Tensor &memory,
                                 const std::vector<int64_t> &rows,
                                 const std::vector<std::vector<int32_t>> &prefixes, rt::Tensor &logProbs) {
  const int64_t B = layout.batch, S = layout.srcLen, T = layout.tgtLen, D = memory.dim(2);
  const rt::EntrySpec &dec = *program.entry("decode");
  const int64_t n = (int64_t)prefixes.size();
  int64_t V = 0;
  rt::RunContext ctx;
  ctx.params = &params;
  ctx.training = false;
  for (int64_t first = 0; first < n; first += B) {
    const int64_t real = std::min(B, n - first);
    rt::Tensor mem(rt::DType::F32, {B, S, D}), src(rt::DType::I32, {B, S}), tin(rt::DType::I32, {B, T});
    for (int64_t r = 0; r < B; ++r) {
      const int64_t i = first + r % real;  // unused rows repeat the first ones
      const int64_t row = rows[(size_t)i];
      std::memcpy(mem.f32() + r * S * D, memory.f32() + row * S * D, sizeof(float) * (size_t)(S * D));
      std::memcpy(src.i32() + r * S, srcT.i32() + row * S, sizeof(int32_t) * (size_t)S);
      const std::vector<int32_t> &p = prefixes[(size_t)i];
      if ((int64_t)p.size() > T) throw rt::Error("decode: a prefix is longer than tgt_len");
      std::copy(p.begin(), p.end(), tin.i32() + r * T);
    }
    std::vector<rt::Tensor> in;
    for (const rt::TensorSpec &s : dec.inputs) in.push_back(s.name == "src" ? src : s.name == "tgt_in" ? tin : mem);
    std::vector<rt::Tensor> out = program.run("decode", in, ctx);
    ++decodeCalls_;
    const rt::Tensor &logits = out.at((size_t)layout.decodeLogits);
    if (V == 0) {
      V = logits.dim(2);
      logProbs = rt::Tensor(rt::DType::F32, {n, V});
    }
    for (int64_t r = 0; r < real; ++r) {
      const int64_t pos = (int64_t)prefixes[(size_t)(first + r)].size() - 1;
      logSoftmaxRow(logits.f32() + (r * T + pos) * V, logProbs.f32() + (first + r) * V, V);
    }
  }
}

void Seq2SeqRunner::cachedLogProbs(rt::StepDecoder &cache, const std::vector<int64_t> &sources,
                                   const std::vector<int64_t> &parents,
                                   const std::vector<std::vector<int32_t>> &prefixes, rt::Tensor &logProbs) {
  const int64_t n = (int64_t)prefixes.size();
  std::vector<int32_t> tokens((size_t)n), positions((size_t)n);
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<int32_t> &p = prefixes[(size_t)i];
    if (p.empty() || (int64_t)p.size() > layout.tgtLen) throw rt::Error("decode: a prefix is empty or longer than tgt_len");
    tokens[(size_t)i] = p.back();
    positions[(size_t)i] = (int32_t)p.size() - 1;
  }
  const int64_t before = cache.calls();
  const rt::Tensor &logits = cache.stepRows(sources, parents, tokens, positions);
  decodeCalls_ += cache.calls() - before;
  const int64_t V = logits.dim(2);
  logProbs = rt::Tensor::uninitialized(rt::DType::F32, {n, V});
  for (int64_t i = 0; i < n; ++i) logSoftmaxRow(logits.f32() + i * V, logProbs.f32() + i * V, V);
}

rt::Tensor Seq2SeqRunner::encode(const std::vector<std::vector<int32_t>> &srcs) {
  const int64_t B = layout.batch, S = layout.srcLen;
  const int64_t n = (int64_t)srcs.size();
  rt::Tensor all(rt::DType::F32, {n, S, layout.dModel});
  for (int64_t first = 0; first < n; first += B) {
    const int64_t count = std::min(B, n - first);
    rt::Tensor srcT, memory;
    encodeGroup(srcs, (size_t)first, (size_t)count, srcT, memory);
    std::memcpy(all.f32() + first * S * layout.dModel, memory.f32(),
                sizeof(float) * (size_t)(count * S * layout.dModel));
  }
  return all;
}

std::vector<std::vector<rt::Hypothesis>> Seq2SeqRunner::decodeBeams(const std::vector<std::vector<int32_t>> &srcs,
                                                                    int64_t beam, double alpha) {
  return search(srcs, std::max<int64_t>(beam, 1), alpha, /*greedy=*/false);
}

std::vector<std::string> Seq2SeqRunner::decodeEntries(bool useCache) {
  if (!useCache) return {"encode", "decode"};
  return {"encode", "decode", "decode_init", "decode_step"};
}

bool Seq2SeqRunner::cached() const { return rt::StepDecoder::usable(program, useCache); }

std::unique_ptr<rt::StepDecoder> Seq2SeqRunner::makeCache(rt::RunContext &ctx) {
  if (!cached()) return nullptr;
  return std::make_unique<rt::StepDecoder>(program, ctx,
                                           program.entry("decode")->outputs[(size_t)layout.decodeLogits].name);
}

void Seq2SeqRunner::searchGroup(const rt::Tensor &srcT, const rt::Tensor &memory, int64_t count, int64_t beam,
                                double alpha, bool greedy, rt::StepDecoder *cache,
                                std::vector<std::vector<rt::Hypothesis>> &result) {
  if (cache) cache->start({{program.entry("encode")->outputs[(size_t)layout.encodeMemory].name, memory}, {"src", srcT}});
  rt::BatchStepFn step = [&](const std::vector<int64_t> &sources, const std::vector<int64_t> &parents,
                             const std::vector<std::vector<int32_t>> &prefixes, rt::Tensor &lp) {
    if (cache) cachedLogProbs(*cache, sources, parents, prefixes, lp);
    else stepLogProbs(srcT, memory, sources, prefixes, lp);
  };
  if (greedy) {
    for (rt::Hypothesis &h : rt::greedySearchBatch(count, step, layout.tgtLen)) result.push_back({std::move(h)});
  } else {
    for (auto &hs : rt::beamSearchBatch(count, step, beam, layout.tgtLen, alpha)) result.push_back(std::move(hs));
  }
}

std::vector<std::vector<rt::Hypothesis>> Seq2SeqRunner::search(const std::vector<std::vector<int32_t>> &srcs,
                                                               int64_t beam, double alpha, bool greedy) {
  const int64_t B = layout.batch;
  const int64_t n = (int64_t)srcs.size();
  std::vector<std::vector<rt::Hypothesis>> result;
  result.reserve((size_t)n);
  rt::RunContext ctx;
  ctx.params = &params;
  ctx.training = false;
  std::unique_ptr<rt::StepDecoder> cache = makeCache(ctx);
  for (int64_t first = 0; first < n; first += B) {
    const int64_t count = std::min(B, n - first);
    rt::Tensor srcT, memory;
    encodeGroup(srcs, (size_t)first, (size_t)count, srcT, memory);
    searchGroup(srcT, memory, count, beam, alpha, greedy, cache.get(), result);
  }
  return result;
}

Seq2SeqRunner::Evaluation Seq2SeqRunner::evaluate(const rt::EncodedData &data, int64_t maxWords, int64_t beam,
                                                  double alpha) {
  const int64_t B = layout.batch;
  int64_t n = data.size();
  if (maxWords > 0) n = std::min(n, maxWords);
  const rt::EntrySpec &dec = *program.entry("decode");
  rt::RunContext ctx;
  ctx.params = &params;
  ctx.training = false;
  std::unique_ptr<rt::StepDecoder> cache = makeCache(ctx);
  Evaluation ev;
  double total = 0;
  rt::Tensor src, tin, tout;
  std::vector<std::vector<rt::Hypothesis>> found;
  for (int64_t first = 0; first < n; first += B) {
    const int64_t real = std::min(data.evalBatch(first, B, src, tin, tout), n - first);
    rt::Tensor memory = program.run("encode", {src}, ctx).at((size_t)layout.encodeMemory);
    // Teacher forcing through the decoder on this memory (what "forward" computes).
    std::vector<rt::Tensor> in;
    for (const rt::TensorSpec &s : dec.inputs) in.push_back(s.name == "src" ? src : s.name == "tgt_in" ? tin : memory);
    std::vector<rt::Tensor> out = program.run("decode", in, ctx);
    addCrossEntropy(out.at((size_t)layout.decodeLogits), tout, real, total, ev.teacherForced.tokens);
    ev.teacherForced.words += real;
    if (!std::isfinite(total)) {  // the caller reports the non-finite loss; nothing to decode
      ev.teacherForced.loss = NAN;
      return ev;
    }
    searchGroup(src, memory, real, std::max<int64_t>(beam, 1), alpha, beam <= 1, cache.get(), found);
  }
  ev.teacherForced.loss = ev.teacherForced.tokens > 0 ? total / (double)ev.teacherForced.tokens : NAN;
  for (auto &hs : found) ev.best.push_back(hs.empty() ? rt::Hypothesis{} : hs.front());
  return ev;
}

std::vector<rt::Hypothesis> Seq2SeqRunner::decode(const std::vector<std::vector<int32_t>> &srcs, int64_t beam,
                                                  double alpha) {
  std::vector<rt::Hypothesis> best;
  for (auto &hs : search(srcs, beam, alpha, /*greedy=*/beam <= 1)) best.push_back(hs.empty() ? rt::Hypothesis{} : hs.front());
  return best;
}

}  // namespace heed::rt

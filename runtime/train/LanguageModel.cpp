//===- LanguageModel.cpp - byte-level language models ---------------------===//
//
// Sampling: the context is the prompt's bytes plus everything generated so
// far; its last `seq` bytes are placed at the start of the tokens input,
// zero-padded after (causal attention makes the padding invisible to earlier
// positions), and the next byte is read from the logits at the last real
// position. Only byte ids 0..255 are candidates. With temperature T > 0 the
// byte is drawn from softmax(logits / T) over the top-k likeliest bytes; draw i
// uses uniform01(seed, hashString("heed.generate"), i), so a seed reproduces
// its text exactly.
//
// With the compiler's decode_step (runtime/decode/StepDecoder.h) each new byte
// costs one position: the window's bytes sit at positions 0.. of a key/value
// cache. Once the context passes `seq` bytes the window slides by one byte per
// step and every byte changes its absolute position, so the cache is rebuilt
// from the window's `seq` bytes (seq steps per byte: slower than one full
// forward, see docs/BENCHMARKS.md); the tokens are those of full recomputation.
//
//===----------------------------------------------------------------------===//

#include "runtime/train/LanguageModel.h"

#include "runtime/Error.h"
#include "runtime/Random.h"
#include "runtime/kernels/LogSumExp.h"
#include "runtime/decode/StepDecoder.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <vector>

namespace heed::rt {

namespace {

std::string joinNames(const std::vector<const TensorSpec *> &v) {
  std::string s;
  for (const TensorSpec *t : v) s += (s.empty() ? "" : ", ") + t->name;
  return s;
}

}  // namespace

int trainLossIndex(const EntrySpec &train, const std::string &model) {
  if (train.lossIndex < 0) throw Error(model + ": train_step returns no loss");
  return train.lossIndex;
}

LmLayout lmLayout(const Program &program, const std::string &what) {
  const std::string model = "model '" + program.info().name + "'";
  const EntrySpec *train = program.entry("train_step");
  const EntrySpec *forward = program.entry("forward");
  if (!train || !program.entry("eval"))
    throw Error(model + " has no 'minimize': " + what + " needs a loss to minimize");
  if (!forward) throw Error(model + " has no forward entry point");

  std::vector<const TensorSpec *> ids, other;
  for (const TensorSpec &s : train->inputs) (s.dtype == DType::I32 ? ids : other).push_back(&s);
  const std::string notLm =
      ": --data text files train decoder-only byte-level language models, which take two i32 "
      "[batch, seq] inputs (tokens and targets); encoder-decoders need inputs src, tgt_in and tgt_out "
      "and source<TAB>target data";
  if (ids.size() != 2 || !other.empty()) {
    std::string have = std::to_string(ids.size()) + " i32 input(s) (" + joinNames(ids) + ")";
    if (!other.empty()) have += " and other inputs (" + joinNames(other) + ")";
    throw Error(model + " has " + have + notLm);
  }
  auto usedByForward = [&](const TensorSpec *s) { return forward->find(s->name) >= 0; };
  const TensorSpec *tok = nullptr, *tgt = nullptr;
  if (usedByForward(ids[0]) != usedByForward(ids[1])) {
    tok = usedByForward(ids[0]) ? ids[0] : ids[1];
    tgt = tok == ids[0] ? ids[1] : ids[0];
  } else {
    for (const TensorSpec *s : ids) {
      if (s->name == "tokens") tok = s;
      if (s->name == "targets") tgt = s;
    }
    if (!tok || !tgt)
      throw Error(model + ": cannot tell which of its inputs (" + joinNames(ids) +
                  ") are the tokens and which the targets; name them 'tokens' and 'targets'");
  }
  if (tok->shape.size() != 2 || tok->shape != tgt->shape)
    throw Error(model + ": inputs '" + tok->name + "' " + shapeToString(tok->shape) + " and '" + tgt->name + "' " +
                shapeToString(tgt->shape) + " must both be [batch, seq]" + notLm);
  for (const TensorSpec &s : forward->inputs)
    if (s.name != tok->name)
      throw Error(model + ": its forward pass needs input '" + s.name + "' besides '" + tok->name + "'" + notLm);

  LmLayout l;
  l.tokens = tok->name;
  l.targets = tgt->name;
  l.batch = tok->shape[0];
  l.seq = tok->shape[1];
  for (int64_t lim : {tok->idLimit, tgt->idLimit})
    if (lim > 0) l.vocab = l.vocab == 0 ? lim : std::min(l.vocab, lim);
  if (l.vocab > 0 && l.vocab < 256)
    throw Error(model + " has a vocabulary of " + std::to_string(l.vocab) +
                " ids, but byte data has ids up to 255: it needs vocab >= 256 (e.g. --set vocab=256)");
  for (size_t i = 0; i < forward->outputs.size(); ++i) {
    const TensorSpec &o = forward->outputs[i];
    if (o.dtype != DType::F32 || o.shape.size() != 3 || o.shape[0] != l.batch || o.shape[1] != l.seq ||
        o.shape[2] < 256)
      continue;
    if (l.logitsIndex < 0 || o.name == "logits") l.logitsIndex = (int)i;
  }
  l.trainLossIndex = trainLossIndex(*train, model);
  return l;
}

LmEvalResult evaluateLm(Program &program, const LmLayout &layout, ParamStore &params, const ByteDataset &data,
                        int64_t maxBatches) {
  const int64_t B = layout.batch, S = layout.seq;
  data.checkWindow(S);
  int64_t windows = data.evalWindows(S);
  int64_t batches = (windows + B - 1) / B;
  if (maxBatches > 0) batches = std::min(batches, maxBatches);

  RunContext ctx;
  ctx.params = &params;
  ctx.training = false;
  const bool viaLogits = layout.logitsIndex >= 0;
  const EntrySpec &entry = *program.entry(viaLogits ? "forward" : "eval");
  double total = 0;
  int64_t tokens = 0;
  Tensor tok, tgt;
  for (int64_t b = 0; b < batches; ++b) {
    int64_t real = data.evalBatch(b * B, B, S, tok, tgt);
    std::vector<Tensor> in;
    for (const TensorSpec &s : entry.inputs) in.push_back(s.name == layout.tokens ? tok : tgt);
    std::vector<Tensor> out = program.run(entry.name, in, ctx);
    if (viaLogits) {
      const Tensor &logits = out.at(layout.logitsIndex);
      const int64_t V = logits.dim(2);
      const float *L = logits.f32();
      const int32_t *T = tgt.i32();
      for (int64_t i = 0; i < real * S; ++i) total += crossEntropyRow(L + i * V, V, T[i]);
    } else {
      // The eval loss is a mean over the whole batch, padding rows included:
      // weight it by the real rows (exact for full batches).
      const Tensor &loss = out.at(entry.lossIndex >= 0 ? entry.lossIndex : 0);
      total += (double)loss.f32()[0] * (double)(real * S);
    }
    tokens += real * S;
  }
  LmEvalResult r;
  r.tokens = tokens;
  r.loss = tokens > 0 ? total / (double)tokens : NAN;
  return r;
}

void checkSampleOptions(const std::string &prompt, const SampleOptions &o) {
  if (prompt.empty()) throw Error("--prompt is empty: give at least one byte of text to continue");
  if (o.maxTokens < 0) throw Error("--max-tokens must be >= 0, got " + std::to_string(o.maxTokens));
  if (!(o.temperature >= 0) || !std::isfinite(o.temperature))
    throw Error("--temperature must be >= 0 (0 = greedy), got " + std::to_string(o.temperature));
  if (o.topK < 0) throw Error("--top-k must be >= 0 (0 = all bytes), got " + std::to_string(o.topK));
}

void sampleBytes(Program &program, const LmLayout &layout, ParamStore &params, const std::string &prompt,
                 const SampleOptions &o, const std::function<void(std::string_view)> &emit) {
  checkSampleOptions(prompt, o);
  if (layout.logitsIndex < 0)
    throw Error("model '" + program.info().name + "' has no logits output [batch, seq, vocab >= 256] to sample from");
  const int64_t S = layout.seq;
  std::vector<int32_t> context = ByteDataset::encode(prompt);
  emit(prompt);
  RunContext ctx;
  ctx.params = &params;
  ctx.training = false;
  const uint64_t stream = hashString("heed.generate");
  Tensor tokens(DType::I32, {1, S});
  std::vector<double> z(256);  // the candidates' logits / T
  std::unique_ptr<StepDecoder> cached;
  if (StepDecoder::usable(program, o.useCache))
    cached = std::make_unique<StepDecoder>(program, ctx, program.entry("forward")->outputs[layout.logitsIndex].name);
  int64_t windowStart = -1, fed = 0;  // the cache holds context[windowStart, windowStart + fed)
  std::vector<Tensor> out;
  std::string generated;
  for (int64_t i = 0; i < o.maxTokens; ++i) {
    int64_t n = std::min<int64_t>((int64_t)context.size(), S);
    const float *row;
    if (cached) {
      const int64_t first = (int64_t)context.size() - n;
      if (first != windowStart) {  // first byte, or the window slid: rebuild
        cached->start();
        windowStart = first;
        fed = 0;
      }
      const Tensor *logits = nullptr;
      for (; fed < n; ++fed) logits = &cached->step({context[first + fed]}, {(int32_t)fed});
      row = logits->f32();
    } else {
      int32_t *t = tokens.i32();
      std::fill(t, t + S, 0);
      std::copy(context.end() - n, context.end(), t);
      out = program.run("forward", {tokens}, ctx);
      const Tensor &logits = out.at(layout.logitsIndex);
      row = logits.f32() + (n - 1) * logits.dim(2);
    }
    int next = 0;
    if (o.temperature <= 0) {
      for (int v = 1; v < 256; ++v)
        if (row[v] > row[next]) next = v;
    } else {
      // Draw from softmax(logits / T) over the k likeliest bytes.
      std::vector<int> order(256);
      std::iota(order.begin(), order.end(), 0);
      int k = o.topK > 0 && o.topK < 256 ? (int)o.topK : 256;
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return row[a] > row[b]; });
      for (int j = 0; j < k; ++j) z[j] = (double)row[order[j]] / o.temperature;
      const double lse = logSumExp(z.data(), k);
      double u = (double)uniform01(o.seed, stream, (uint64_t)i);
      next = order[k - 1];
      for (int j = 0; j < k; ++j) {
        const double pj = std::exp(z[j] - lse);
        if (u < pj) {
          next = order[j];
          break;
        }
        u -= pj;
      }
    }
    if (!std::isfinite(row[next])) throw Error("the model's logits are not finite");
    context.push_back(next);
    const char c = (char)next;
    emit(std::string_view(&c, 1));
    generated += c;
    if (!o.stop.empty() && generated.size() >= o.stop.size() &&
        generated.compare(generated.size() - o.stop.size(), o.stop.size(), o.stop) == 0)
      break;
  }
}

}  // namespace heed::rt

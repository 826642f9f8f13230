//===- LanguageModel.cpp - decoder-only language models -------------------===//
//
// Sampling: the context is the prompt's tokens (after the tokenizer's start
// token, as a document's stream begins) plus everything generated so far; its
// last `seq` tokens are placed at the start of the tokens input, zero-padded
// after (causal attention makes the padding invisible to earlier positions),
// and the next token is read from the logits at the last real position. Only
// the tokenizer's ids are candidates. With temperature T > 0 the token is drawn
// from softmax(logits / T) over the top-k likeliest; draw i uses
// uniform01(seed, hashString("heed.generate"), i), so a seed reproduces its
// text exactly.
//
// With the compiler's decode_step (runtime/decode/StepDecoder.h) each new token
// costs one position: the window's tokens sit at positions 0.. of a key/value
// cache. Once the context passes `seq` tokens the window slides by one token per
// step and every token changes its absolute position, so the cache would have to
// be rebuilt from the window's `seq` tokens (seq steps per token, more than one
// full forward of the window, see docs/BENCHMARKS.md): from there on each token
// recomputes the window with "forward" instead. Either way the tokens are those
// of full recomputation.
//
//===----------------------------------------------------------------------===//

#include "runtime/train/LanguageModel.h"

#include "runtime/Error.h"
#include "runtime/Random.h"
#include "runtime/kernels/LogSumExp.h"
#include "runtime/decode/StepDecoder.h"
#include "runtime/text/TokenFiles.h"
#include "runtime/text/Tokenizer.h"
#include "runtime/AtomicFile.h"

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
      ": --data text files train decoder-only language models, which take two i32 "
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
  for (size_t i = 0; i < forward->outputs.size(); ++i) {
    const TensorSpec &o = forward->outputs[i];
    if (o.dtype != DType::F32 || o.shape.size() != 3 || o.shape[0] != l.batch || o.shape[1] != l.seq || o.shape[2] < 2)
      continue;
    if (l.logitsIndex < 0 || o.name == "logits") {
      l.logitsIndex = (int)i;
      l.logitsVocab = o.shape[2];
    }
  }
  l.trainLossIndex = trainLossIndex(*train, model);
  return l;
}

LmData readLmData(const std::string &path, const TextTokenizer &tok) {
  if (isTokenFile(path)) {
    std::vector<int32_t> ids = readTokenFile(path);
    for (size_t i = 0; i < ids.size(); ++i)
      if (ids[i] >= tok.size())
        throw Error("token file '" + path + "': id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                    " is outside the run's " + std::to_string(tok.size()) + " ids (" + tok.describe() + ")");
    return LmData{TokenDataset(std::move(ids), path), false, 0, 0};
  }
  const std::string text = readTextFile(path, "data file");
  if (text.empty()) throw Error("data file '" + path + "' is empty");
  TokenDataset d(tok.encodeDocument(text), path);
  d.setUnit(tok.kind() == "bytes" ? "bytes" : "tokens with " + tok.describe());
  return LmData{std::move(d), true, (int64_t)text.size(), countWords(text)};
}

void checkTokenizerFits(const LmLayout &layout, const TextTokenizer &tok, const std::string &model) {
  const int64_t n = tok.size();
  auto tooSmall = [&](int64_t have, const std::string &what) {
    std::string hint = tok.kind() == "bytes" ? "" : " or a smaller tokenizer (--tokenizer)";
    return Error(model + " has " + what + " of " + std::to_string(have) + " but its tokenizer, " + tok.describe() +
                 ", has " + std::to_string(n) + " ids: give the model vocab >= " + std::to_string(n) +
                 " (e.g. --set vocab=" + std::to_string(n) + ")" + hint);
  };
  if (layout.vocab > 0 && layout.vocab < n) throw tooSmall(layout.vocab, "a vocabulary");
  if (layout.logitsIndex >= 0 && layout.logitsVocab < n) throw tooSmall(layout.logitsVocab, "logits over a vocabulary");
}

LmEvalResult evaluateLm(Program &program, const LmLayout &layout, ParamStore &params, const TokenDataset &data,
                        int64_t maxBatches, Communicator *comm) {
  const int64_t B = layout.batch, S = layout.seq;
  data.checkWindow(S);
  const bool viaLogits = layout.logitsIndex >= 0;
  // The tail row needs per-position scores, which only the logits give.
  const int64_t rows = viaLogits ? data.evalRows(S) : data.evalWindows(S);
  int64_t batches = (rows + B - 1) / B;
  if (maxBatches > 0) batches = std::min(batches, maxBatches);

  RunContext ctx;
  ctx.params = &params;
  ctx.training = false;
  const EntrySpec &entry = *program.entry(viaLogits ? "forward" : "eval");
  Tensor tok, tgt;
  std::vector<int64_t> firstScored;
  // Per batch: the summed nats and the tokens scored.
  std::vector<double> sums = shardedBatchSums(comm, batches, 2, [&](int64_t b, double *score) {
    double total = 0;
    int64_t tokens = 0;
    int64_t real = viaLogits ? data.evalBatch(b * B, B, S, tok, tgt, firstScored) : data.evalBatch(b * B, B, S, tok, tgt);
    std::vector<Tensor> in;
    for (const TensorSpec &s : entry.inputs) in.push_back(s.name == layout.tokens ? tok : tgt);
    std::vector<Tensor> out = program.run(entry.name, in, ctx);
    if (viaLogits) {
      const Tensor &logits = out.at(layout.logitsIndex);
      const int64_t V = logits.dim(2);
      const float *L = logits.f32();
      const int32_t *T = tgt.i32();
      for (int64_t r = 0; r < real; ++r)
        for (int64_t t = firstScored[(size_t)r]; t < S; ++t) {
          const int64_t i = r * S + t;
          if (T[i] >= V) throw Error("token id " + std::to_string(T[i]) + " is outside the model's " + std::to_string(V) + " logits");
          total += crossEntropyRow(L + i * V, V, T[i]);
          ++tokens;
        }
    } else {
      // The eval loss is a mean over the whole batch, padding rows included:
      // weight it by the real rows (exact for full batches).
      const Tensor &loss = out.at(entry.lossIndex >= 0 ? entry.lossIndex : 0);
      total += (double)loss.f32()[0] * (double)(real * S);
      tokens += real * S;
    }
    score[0] = total;
    score[1] = (double)tokens;
  });
  LmEvalResult r;
  r.tokens = (int64_t)sums[1];
  r.nll = sums[0];
  r.loss = r.tokens > 0 ? r.nll / (double)r.tokens : NAN;
  r.complete = batches * B >= data.evalRows(S);
  return r;
}

void checkSampleOptions(const std::string &prompt, const SampleOptions &o) {
  if (prompt.empty()) throw Error("--prompt is empty: give at least one byte of text to continue");
  if (o.maxTokens < 0) throw Error("--max-tokens must be >= 0, got " + std::to_string(o.maxTokens));
  // The whole context is kept (the window slides over it), 8 bytes a token: a bound keeps a
  // typo (an extra digit or five) from growing it until the machine runs out of memory.
  if (o.maxTokens > kMaxGenerateTokens)
    throw Error("--max-tokens must be at most " + std::to_string(kMaxGenerateTokens) + ", got " +
                std::to_string(o.maxTokens));
  if (!(o.temperature >= 0) || !std::isfinite(o.temperature))
    throw Error("--temperature must be >= 0 (0 = greedy), got " + std::to_string(o.temperature));
  if (o.topK < 0) throw Error("--top-k must be >= 0 (0 = all bytes), got " + std::to_string(o.topK));
}

std::vector<std::string> lmSampleEntries(bool useCache) {
  if (!useCache) return {"forward"};
  return {"forward", "decode_init", "decode_step"};
}

void sampleTokens(Program &program, const LmLayout &layout, ParamStore &params, const TextTokenizer &tokenizer,
                  const std::string &prompt, const SampleOptions &o, const std::function<void(std::string_view)> &emit) {
  checkSampleOptions(prompt, o);
  if (layout.logitsIndex < 0)
    throw Error("model '" + program.info().name + "' has no logits output [batch, seq, vocab] to sample from");
  const int64_t S = layout.seq;
  const int V = (int)std::min<int64_t>(tokenizer.size(), layout.logitsVocab);  // candidates: the tokenizer's ids
  std::vector<int32_t> context = tokenizer.encodeDocument(prompt);
  if (context.empty()) throw Error("--prompt encodes to no tokens: give some text to continue");
  const size_t promptTokens = context.size();
  emit(prompt);
  RunContext ctx;
  ctx.params = &params;
  ctx.training = false;
  const uint64_t stream = hashString("heed.generate");
  Tensor tokens(DType::I32, {1, S});
  std::vector<double> z((size_t)V);  // the candidates' logits / T
  std::unique_ptr<StepDecoder> cached;
  if (StepDecoder::usable(program, o.useCache))
    cached = std::make_unique<StepDecoder>(program, ctx, program.entry("forward")->outputs[layout.logitsIndex].name);
  int64_t fed = -1;  // the cache holds context[0, fed) (-1: not started)
  std::vector<Tensor> out;
  std::vector<int32_t> generated;
  size_t emitted = 0;  // bytes of decode(generated) already emitted
  for (int64_t i = 0; i < o.maxTokens; ++i) {
    int64_t n = std::min<int64_t>((int64_t)context.size(), S);
    const float *row;
    if (cached && (int64_t)context.size() <= S) {  // the window has not slid (see the file comment)
      if (fed < 0) {
        cached->start();
        fed = 0;
      }
      const Tensor *logits = nullptr;
      for (; fed < n; ++fed) logits = &cached->step({context[fed]}, {(int32_t)fed});
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
      for (int v = 1; v < V; ++v)
        if (row[v] > row[next]) next = v;
    } else {
      // Draw from softmax(logits / T) over the k likeliest tokens.
      std::vector<int> order((size_t)V);
      std::iota(order.begin(), order.end(), 0);
      int k = o.topK > 0 && o.topK < V ? (int)o.topK : V;
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
    generated.push_back(next);
    // Pieces decode in context (a SentencePiece word piece carries its space
    // only after another piece), so emit what decoding all of it adds.
    std::vector<int32_t> tail(context.begin() + (long)promptTokens - 1, context.end());
    std::string text = tokenizer.decode(tail);
    const std::string head = tokenizer.decode({context[promptTokens - 1]});
    text = text.substr(std::min(text.size(), head.size()));
    if (text.size() > emitted) {
      emit(std::string_view(text).substr(emitted));
      emitted = text.size();
    }
    if (!o.stop.empty() && text.size() >= o.stop.size() &&
        text.compare(text.size() - o.stop.size(), o.stop.size(), o.stop) == 0)
      break;
  }
}

}  // namespace heed::rt

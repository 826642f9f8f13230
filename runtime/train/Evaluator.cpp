//===- Evaluator.cpp - evaluating and decoding a checkpoint ---------------===//

#include "runtime/train/Evaluator.h"

#include "runtime/Error.h"
#include "runtime/text/TokenizerStore.h"

#include <algorithm>
#include <cmath>

namespace heed::rt {

int64_t trainingBatch(const RunCheckpoint &rc, int64_t fallback) {
  return rc.metaInt("heed.batch", fallback, 1);
}

/// The error for a non-finite loss, naming the checkpoint's first non-finite tensor if it has one.
static Error nonFiniteLoss(const RunCheckpoint &rc, const std::string &dataPath) {
  std::string msg = "the loss is not finite on " + dataPath;
  if (std::optional<std::string> bad = firstNonFinite(rc.ckpt))
    msg += ": checkpoint '" + rc.path + "' holds non-finite values in " + *bad;
  return Error(msg);
}

void requireTask(const RunCheckpoint &rc, const std::string &task, const std::string &command) {
  if (rc.task() == task) return;
  if (task == "seq2seq")
    throw Error("checkpoint '" + rc.path + "' holds a language model (" + rc.modelName +
                "), not a sequence-to-sequence model: " + command);
  throw Error("checkpoint '" + rc.path + "' holds a sequence-to-sequence model (" + rc.modelName + "): " + command);
}

std::unique_ptr<TextTokenizer> checkpointTokenizer(const RunCheckpoint &rc) {
  return tokenizerFromMetadata(rc.ckpt.metadata, "checkpoint '" + rc.path + "'");
}

double LmCheckpointEval::pplWord() const { return words > 0 ? std::exp(r.nll / (double)words) : NAN; }
double LmCheckpointEval::bitsPerByte() const { return bytes > 0 ? r.nll / std::log(2.0) / (double)bytes : NAN; }

LmCheckpointEval evaluateLmCheckpoint(ProgramFactory &factory, const RunCheckpoint &rc, const std::string &dataPath,
                                      int64_t batch, int64_t maxBatches) {
  if (batch <= 0) batch = trainingBatch(rc, 16);
  std::unique_ptr<TextTokenizer> tok = checkpointTokenizer(rc);
  LmData data = readLmData(dataPath, *tok);  // before the (slower) build: bad data fails fast
  // evaluateLm runs forward (the logits) or, without them, eval.
  std::unique_ptr<Program> program = buildFromCheckpoint(factory, rc, batch, {"forward", "eval"});
  LmLayout layout = lmLayout(*program, "heed eval");
  checkTokenizerFits(layout, *tok, "model '" + rc.modelName + "'");
  data.data.checkWindow(layout.seq);
  ParamStore params = loadParams(*program, rc);
  LmCheckpointEval e;
  e.r = evaluateLm(*program, layout, params, data.data, maxBatches);
  if (!std::isfinite(e.r.loss)) throw nonFiniteLoss(rc, dataPath);
  e.tokenizer = tok->describe();
  // Per word and per byte only when every token was scored.
  e.text = data.text && e.r.complete;
  if (e.text) {
    e.words = data.words;
    e.bytes = data.bytes;
  }
  return e;
}

LoadedSeq2Seq loadSeq2Seq(ProgramFactory &factory, const RunCheckpoint &rc, int64_t batch, const std::string &what,
                          const std::vector<std::string> &entries) {
  LoadedSeq2Seq m;
  m.vocabs = Seq2SeqVocabs::fromCheckpoint(rc);
  m.program = buildFromCheckpoint(factory, rc, batch, entries);
  m.layout = seq2seqLayout(*m.program, what);
  checkVocabsFit(m.vocabs, m.layout, m.program->info().name);
  m.params = loadParams(*m.program, rc);
  return m;
}

void checkBeamOptions(int64_t beam, double alpha) {
  if (beam < 1) throw Error("--beam must be >= 1 (1 = greedy), got " + std::to_string(beam));
  if (!std::isfinite(alpha) || alpha < 0) throw Error("--length-penalty must be >= 0, got " + std::to_string(alpha));
}

Seq2SeqCheckpointEval evaluateSeq2SeqCheckpoint(ProgramFactory &factory, const RunCheckpoint &rc,
                                                const std::string &dataPath, int64_t batch, int64_t beam,
                                                double alpha, int64_t maxWords, bool useCache) {
  checkBeamOptions(beam, alpha);
  if (maxWords < 0) throw Error("--max-words must be >= 0");
  Seq2SeqVocabs v = Seq2SeqVocabs::fromCheckpoint(rc);
  // The data first: bad data fails before the (slower) build.
  ParallelData pairs = ParallelData::load(dataPath, v.srcTok, v.tgtTok);
  if (batch <= 0) batch = trainingBatch(rc, 32);
  LoadedSeq2Seq m = loadSeq2Seq(factory, rc, batch, "heed eval", Seq2SeqRunner::decodeEntries(useCache));
  EncodedData data = pairs.encode(m.vocabs.src, m.vocabs.tgt, m.layout.srcLen, m.layout.tgtLen);
  Seq2SeqCheckpointEval r;
  r.stats = data.stats();
  if (data.size() == 0)
    throw Error("data file '" + dataPath + "': no pair fits the model (" + r.stats.summary() + ")");
  const int64_t n = maxWords > 0 ? std::min(maxWords, data.size()) : data.size();
  Seq2SeqRunner runner(*m.program, m.layout, m.params, useCache);
  Seq2SeqRunner::Evaluation ev = runner.evaluate(data, n, beam, alpha);
  r.teacherForced = ev.teacherForced;
  if (!std::isfinite(r.teacherForced.loss)) throw nonFiniteLoss(rc, dataPath);
  for (int64_t i = 0; i < n; ++i) r.rates.add(ev.best[(size_t)i].symbols, data.examples()[(size_t)i].tgt);
  r.words = n;
  return r;
}

int64_t decodeBatch(int64_t flag, int64_t n, int64_t beam) {
  if (flag > 0) return flag;
  return std::max<int64_t>(1, std::min<int64_t>(n * std::max<int64_t>(1, beam), 64));
}

namespace {

/// The sources that are not empty: an empty row (a blank line of `heed generate
/// --input`) is not run through the model, it keeps its place in the output.
std::vector<std::vector<int32_t>> nonEmptySources(const std::vector<std::vector<int32_t>> &srcs,
                                                  std::vector<size_t> &rows) {
  std::vector<std::vector<int32_t>> kept;
  for (size_t i = 0; i < srcs.size(); ++i)
    if (!srcs[i].empty()) {
      rows.push_back(i);
      kept.push_back(srcs[i]);
    }
  return kept;
}

}  // namespace

std::vector<std::string> transcribe(LoadedSeq2Seq &m, const std::vector<std::vector<int32_t>> &srcs, int64_t beam,
                                    double alpha, bool useCache) {
  std::vector<size_t> rows;
  std::vector<std::vector<int32_t>> kept = nonEmptySources(srcs, rows);
  std::vector<std::string> out(srcs.size());
  if (kept.empty()) return out;
  Seq2SeqRunner runner(*m.program, m.layout, m.params, useCache);
  std::vector<Hypothesis> hyps = runner.decode(kept, beam, alpha);
  for (size_t k = 0; k < rows.size(); ++k)
    out[rows[k]] = detokenize(m.vocabs.tgt.decode(hyps[k].symbols), m.vocabs.tgtTok);
  return out;
}

EncoderOutputs encodeSources(LoadedSeq2Seq &m, const std::vector<std::vector<int32_t>> &srcs) {
  const int64_t n = (int64_t)srcs.size(), S = m.layout.srcLen, D = m.layout.dModel;
  std::vector<size_t> rows;
  std::vector<std::vector<int32_t>> kept = nonEmptySources(srcs, rows);
  EncoderOutputs e;
  e.memory = Tensor::zeros(DType::F32, {n, S, D});
  if (!kept.empty()) {
    Seq2SeqRunner runner(*m.program, m.layout, m.params);
    Tensor memory = runner.encode(kept);
    for (size_t k = 0; k < rows.size(); ++k)
      std::copy(memory.f32() + k * S * D, memory.f32() + (k + 1) * S * D, e.memory.f32() + rows[k] * S * D);
  }
  e.lengths = Tensor(DType::I32, {n});
  e.mask = Tensor(DType::Bool, {n, S});
  for (int64_t i = 0; i < n; ++i) {
    e.lengths.i32()[i] = (int32_t)srcs[(size_t)i].size();
    for (int64_t t = 0; t < S; ++t) e.mask.b8()[i * S + t] = t >= (int64_t)srcs[(size_t)i].size();
  }
  return e;
}

}  // namespace heed::rt

//===- Seq2SeqCommands.cpp - eval / generate / encode for seq2seq models --===//
//
//   heed generate CKPT WORD... | --input FILE [--beam K] [--length-penalty A] [--batch B]
//       prints WORD<TAB>SYM SYM ... per word (targets detokenized with the run's
//       --tgt-tokens). Greedy by default; --beam K > 1 is beam search with the
//       GNMT length penalty ((5 + len) / 6)^A, A = 0.6 by default (Wu et al.
//       2016's value; A = 0 ranks by summed log-probability, which favours
//       short outputs). Decoding stops at EOS or after tgt_len tokens.
//   heed eval CKPT --data F.tsv [--beam K] [--length-penalty A] [--max-words N] [--json]
//       teacher-forced loss (nats per target token, EOS included, no label
//       smoothing) and WER/PER of the decoded words (runtime/seq2seq/Metrics.h).
//       Pairs too long for the model are skipped and counted.
//   heed encode CKPT WORD... | --input FILE -o enc.npy
//       the encoder outputs f32 [n, src_len, d_model] (enc.npy), the source
//       lengths i32 [n] (enc.lengths.npy) and the padding mask bool
//       [n, src_len], true at padded positions (enc.mask.npy).
//
// The program is rebuilt from the checkpoint at batch B: --batch, else (eval)
// the training batch, else min(#words * beam, 64) for generate and
// min(#words, 64) for encode.
//
//===----------------------------------------------------------------------===//

#include "tools/heed/Commands.h"
#include "tools/heed/Seq2SeqSession.h"

#include "runtime/Error.h"
#include "runtime/Npy.h"
#include "runtime/seq2seq/Lines.h"
#include "runtime/seq2seq/Metrics.h"
#include "runtime/seq2seq/ParallelData.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

namespace heed {

namespace {

struct LoadedSeq2Seq {
  std::unique_ptr<rt::Program> program;
  Seq2SeqLayout layout;
  rt::ParamStore params;
  Seq2SeqVocabs vocabs;
};

LoadedSeq2Seq loadSeq2Seq(const RunCheckpoint &rc, int64_t batch, const std::string &what) {
  LoadedSeq2Seq m;
  m.vocabs = Seq2SeqVocabs::fromCheckpoint(rc);
  m.program = buildFromCheckpoint(rc, batch);
  m.layout = seq2seqLayout(*m.program, what);
  checkVocabsFit(m.vocabs, m.layout, m.program->info().name);
  m.params = emptyParams(*m.program);
  rt::loadTrainingState(rc.ckpt, m.params, /*withOptimizer=*/false);
  return m;
}

void requireSeq2Seq(const RunCheckpoint &rc, const std::string &command) {
  if (checkpointTask(rc) != "seq2seq")
    throw rt::Error("checkpoint '" + rc.path + "' holds a byte-level language model (" + rc.modelName + "), not a "
                    "sequence-to-sequence model: " + command);
}

/// Positional words plus the lines of --input; errors if there are none.
std::vector<std::string> gatherWords(const std::vector<std::string> &words, const std::string &input) {
  std::vector<std::string> all;
  for (const std::string &w : words) {
    std::string t(rt::trimWhitespace(w));
    if (!t.empty()) all.push_back(t);
  }
  if (!input.empty())
    for (std::string &w : rt::readLines(input)) all.push_back(std::move(w));
  if (all.empty())
    throw rt::Error(input.empty() ? "no words given: pass WORD... or --input FILE (one word per line)"
                                  : "no words to read: input file '" + input + "' has no non-blank line");
  return all;
}

/// Source ids of each word; over-long words are an error, unknown symbols a warning.
std::vector<std::vector<int32_t>> encodeWords(const std::vector<std::string> &words, const Seq2SeqVocabs &v,
                                              int64_t srcLen) {
  std::vector<std::vector<int32_t>> out;
  int64_t unknown = 0, wordsWithUnknown = 0;
  for (const std::string &w : words) {
    int64_t before = unknown;
    std::vector<int32_t> ids;
    try {
      ids = encodeWord(w, v, &unknown);
    } catch (const rt::Error &e) {
      throw rt::Error("word '" + w + "': " + e.what());
    }
    if ((int64_t)ids.size() > srcLen)
      throw rt::Error("word '" + w + "' has " + std::to_string(ids.size()) + " symbols; the model's src_len is " +
                      std::to_string(srcLen));
    wordsWithUnknown += unknown > before;
    out.push_back(std::move(ids));
  }
  if (unknown)
    std::fprintf(stderr, "warning: %lld unknown source symbols (in %lld words) mapped to <unk>\n", (long long)unknown,
                 (long long)wordsWithUnknown);
  return out;
}

int64_t decodeBatch(int64_t flag, int64_t n, int64_t beam) {
  if (flag > 0) return flag;
  return std::max<int64_t>(1, std::min<int64_t>(n * std::max<int64_t>(1, beam), 64));
}

void checkBeam(int64_t beam, double alpha) {
  if (beam < 1) throw rt::Error("--beam must be >= 1 (1 = greedy), got " + std::to_string(beam));
  if (!std::isfinite(alpha) || alpha < 0)
    throw rt::Error("--length-penalty must be >= 0, got " + std::to_string(alpha));
}

std::string siblingPath(const std::string &out, const std::string &what) {
  std::string base = out;
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".npy") == 0) base.resize(base.size() - 4);
  return base + "." + what + ".npy";
}

}  // namespace

int generateSeq2Seq(const GenerateOptions &o, const RunCheckpoint &rc) {
  if (o.promptGiven)
    throw rt::Error("checkpoint '" + rc.path + "' holds a sequence-to-sequence model (" + rc.modelName +
                    "): give words (heed generate CKPT WORD... or --input FILE), not --prompt");
  checkBeam(o.beam, o.lengthPenalty);
  std::vector<std::string> words = gatherWords(o.words, o.input);
  LoadedSeq2Seq m = loadSeq2Seq(rc, decodeBatch(o.batch, (int64_t)words.size(), o.beam), "heed generate");
  std::vector<std::vector<int32_t>> srcs = encodeWords(words, m.vocabs, m.layout.srcLen);
  Seq2SeqRunner runner(*m.program, m.layout, m.params);
  std::vector<rt::Hypothesis> hyps = runner.decode(srcs, o.beam, o.lengthPenalty);
  for (size_t i = 0; i < words.size(); ++i) {
    std::string out = rt::detokenize(m.vocabs.tgt.decode(hyps[i].symbols), m.vocabs.tgtTok);
    std::printf("%s\t%s\n", words[i].c_str(), out.c_str());
  }
  std::fflush(stdout);
  return 0;
}

int evalSeq2Seq(const EvalOptions &o, const RunCheckpoint &rc) {
  checkBeam(o.beam, o.lengthPenalty);
  if (o.maxWords < 0) throw rt::Error("--max-words must be >= 0");
  Seq2SeqVocabs v = Seq2SeqVocabs::fromCheckpoint(rc);
  // The data first: bad data fails before the (slower) build.
  rt::ParallelData pairs = rt::ParallelData::load(o.data, v.srcTok, v.tgtTok);
  int64_t batch = o.batch;
  if (batch <= 0) {
    try {
      batch = rt::metadataInt(rc.ckpt, "heed.batch", 32, 1);
    } catch (const std::exception &) {
      batch = 32;
    }
    if (batch <= 0) batch = 32;
  }
  LoadedSeq2Seq m = loadSeq2Seq(rc, batch, "heed eval");
  rt::EncodedData data = pairs.encode(m.vocabs.src, m.vocabs.tgt, m.layout.srcLen, m.layout.tgtLen);
  const rt::EncodeStats &st = data.stats();
  if (data.size() == 0) throw rt::Error("data file '" + o.data + "': no pair fits the model (" + st.summary() + ")");
  if (st.srcUnknown || st.tgtUnknown)
    std::fprintf(stderr, "warning: %s: %lld unknown source and %lld unknown target symbols mapped to <unk>\n",
                 o.data.c_str(), (long long)st.srcUnknown, (long long)st.tgtUnknown);
  const int64_t n = o.maxWords > 0 ? std::min(o.maxWords, data.size()) : data.size();
  Seq2SeqRunner runner(*m.program, m.layout, m.params);
  Seq2SeqEval tf = runner.teacherForced(data, n);
  if (!std::isfinite(tf.loss)) throw rt::Error("the loss is not finite on " + o.data);
  std::vector<std::vector<int32_t>> srcs;
  for (int64_t i = 0; i < n; ++i) srcs.push_back(data.examples()[(size_t)i].src);
  std::vector<rt::Hypothesis> hyps = runner.decode(srcs, o.beam, o.lengthPenalty);
  rt::ErrorRates er;
  for (int64_t i = 0; i < n; ++i) er.add(hyps[(size_t)i].symbols, data.examples()[(size_t)i].tgt);
  if (o.json) {
    nlohmann::json j = {{"wer", er.wer()},
                        {"per", er.per()},
                        {"loss", tf.loss},
                        {"perplexity", std::exp(tf.loss)},
                        {"count", n},
                        {"beam", o.beam},
                        {"length_penalty", o.beam > 1 ? o.lengthPenalty : 0.0},
                        {"word_errors", er.wordErrors},
                        {"symbol_edits", er.symbolEdits},
                        {"symbols", er.symbols},
                        {"tokens", tf.tokens},
                        {"skipped", st.skipped}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("eval %s (model %s, step %s) on %s: %lld words", rc.path.c_str(), rc.modelName.c_str(),
                rc.meta("heed.step", "?").c_str(), o.data.c_str(), (long long)n);
    if (st.skipped) std::printf(" (%lld pairs skipped as too long)", (long long)st.skipped);
    if (o.beam > 1) std::printf(", beam %lld (length penalty %g)\n", (long long)o.beam, o.lengthPenalty);
    else std::printf(", greedy\n");
    std::printf("loss %.4f nats/token, perplexity %.3f (teacher forcing, %lld target tokens)\n", tf.loss,
                std::exp(tf.loss), (long long)tf.tokens);
    std::printf("WER %.2f%% (%lld of %lld words wrong), PER %.2f%% (%lld edits / %lld symbols)\n", 100 * er.wer(),
                (long long)er.wordErrors, (long long)er.words, 100 * er.per(), (long long)er.symbolEdits,
                (long long)er.symbols);
  }
  return 0;
}

int runEncode(const EncodeOptions &o) {
  return reportErrors([&] {
    if (o.output.empty()) throw rt::Error("heed encode needs -o FILE.npy");
    RunCheckpoint rc = readRunCheckpoint(o.checkpoint);
    requireSeq2Seq(rc, "heed encode needs an encoder-decoder checkpoint");
    std::vector<std::string> words = gatherWords(o.words, o.input);
    LoadedSeq2Seq m = loadSeq2Seq(rc, decodeBatch(o.batch, (int64_t)words.size(), 1), "heed encode");
    std::vector<std::vector<int32_t>> srcs = encodeWords(words, m.vocabs, m.layout.srcLen);
    Seq2SeqRunner runner(*m.program, m.layout, m.params);
    rt::Tensor enc = runner.encode(srcs);
    const int64_t n = (int64_t)srcs.size(), S = m.layout.srcLen;
    rt::Tensor lengths(rt::DType::I32, {n}), mask(rt::DType::Bool, {n, S});
    for (int64_t i = 0; i < n; ++i) {
      lengths.i32()[i] = (int32_t)srcs[(size_t)i].size();
      for (int64_t t = 0; t < S; ++t) mask.b8()[i * S + t] = t >= (int64_t)srcs[(size_t)i].size();
    }
    rt::writeNpy(siblingPath(o.output, "lengths"), lengths);
    rt::writeNpy(siblingPath(o.output, "mask"), mask);
    rt::writeNpy(o.output, enc);
    std::fprintf(stderr, "wrote %s (f32 [%lld, %lld, %lld]), %s and %s\n", o.output.c_str(), (long long)n,
                 (long long)S, (long long)m.layout.dModel, siblingPath(o.output, "lengths").c_str(),
                 siblingPath(o.output, "mask").c_str());
    return 0;
  });
}

}  // namespace heed

//===- Eval.cpp - `heed eval`: loss and perplexity of a checkpoint --------===//
//
// Language models: the mean cross-entropy of the next-token predictions over
// every token of the data file (through the checkpoint's tokenizer), in nats
// per token, and its perplexity exp(loss); for text also per word (whitespace
// words plus one end-of-line per line) and bits per byte, so runs with
// different tokenizers compare. Computed from the logits, so it is the true
// negative log-likelihood even when the training objective uses label smoothing.
// Sequence-to-sequence checkpoints: teacher-forced loss plus the WER/PER of the
// decoded words. The computation is runtime/train/Evaluator.h; this prints it.
//
//===----------------------------------------------------------------------===//

#include "tools/heed/Commands.h"

#include "compiler/session/ModelProgramFactory.h"
#include "runtime/Error.h"
#include "runtime/train/Evaluator.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

namespace heed {

namespace {

int evalSeq2Seq(const EvalOptions &o, const rt::RunCheckpoint &rc, rt::ProgramFactory &factory) {
  rt::Seq2SeqCheckpointEval r =
      rt::evaluateSeq2SeqCheckpoint(factory, rc, o.data, o.batch, o.beam, o.lengthPenalty, o.maxWords, !o.noCache);
  const rt::EncodeStats &st = r.stats;
  const rt::ErrorRates &er = r.rates;
  const rt::Seq2SeqEval &tf = r.teacherForced;
  if (st.srcUnknown || st.tgtUnknown)
    std::fprintf(stderr, "warning: %s: %lld unknown source and %lld unknown target symbols mapped to <unk>\n",
                 o.data.c_str(), (long long)st.srcUnknown, (long long)st.tgtUnknown);
  if (o.json) {
    nlohmann::json j = {{"wer", er.wer()},
                        {"per", er.per()},
                        {"loss", tf.loss},
                        {"perplexity", std::exp(tf.loss)},
                        {"count", r.words},
                        {"beam", o.beam},
                        {"length_penalty", o.beam > 1 ? o.lengthPenalty : 0.0},
                        {"word_errors", er.wordErrors},
                        {"symbol_edits", er.symbolEdits},
                        {"symbols", er.symbols},
                        {"tokens", tf.tokens},
                        {"skipped", st.skipped}};
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("eval %s (model %s, step %s) on %s: %lld words", rc.path.c_str(), rc.modelName.c_str(),
              rc.meta("heed.step", "?").c_str(), o.data.c_str(), (long long)r.words);
  if (st.skipped) std::printf(" (%lld pairs skipped as too long)", (long long)st.skipped);
  if (o.beam > 1) std::printf(", beam %lld (length penalty %g)\n", (long long)o.beam, o.lengthPenalty);
  else std::printf(", greedy\n");
  std::printf("loss %.4f nats/token, perplexity %.3f (teacher forcing, %lld target tokens)\n", tf.loss,
              std::exp(tf.loss), (long long)tf.tokens);
  std::printf("WER %.2f%% (%lld of %lld words wrong), PER %.2f%% (%lld edits / %lld symbols)\n", 100 * er.wer(),
              (long long)er.wordErrors, (long long)er.words, 100 * er.per(), (long long)er.symbolEdits,
              (long long)er.symbols);
  return 0;
}

}  // namespace

int runEval(const EvalOptions &o) {
  return reportErrors([&] {
    ModelProgramFactory factory(o.backend, precisionFlag(o.precision));
    rt::RunCheckpoint rc = rt::readRunCheckpoint(o.checkpoint);
    rejectOtherKindFlags(o.given, rc.task() == "seq2seq", rc.path, rc.modelName);
    if (rc.task() == "seq2seq") return evalSeq2Seq(o, rc, factory);
    rt::LmCheckpointEval e = rt::evaluateLmCheckpoint(factory, rc, o.data, o.batch, o.maxBatches);
    const rt::LmEvalResult &r = e.r;
    if (o.json) {
      nlohmann::json j = {{"loss", r.loss}, {"perplexity", std::exp(r.loss)}, {"tokens", r.tokens}};
      if (e.text) {
        j["ppl_word"] = e.pplWord();
        j["bits_per_byte"] = e.bitsPerByte();
        j["words"] = e.words;
        j["bytes"] = e.bytes;
      }
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("eval %s (model %s, step %s) on %s: %lld tokens (%s)\n", rc.path.c_str(), rc.modelName.c_str(),
                  rc.meta("heed.step", "?").c_str(), o.data.c_str(), (long long)r.tokens, e.tokenizer.c_str());
      std::printf("loss %.4f nats/token, perplexity %.2f per token\n", r.loss, std::exp(r.loss));
      if (e.text)
        std::printf("per word: perplexity %.2f (%lld words, line ends included); per byte: %.4f bits\n", e.pplWord(),
                    (long long)e.words, e.bitsPerByte());
    }
    return 0;
  });
}

}  // namespace heed

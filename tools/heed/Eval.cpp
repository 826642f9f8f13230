//===- Eval.cpp - `heed eval`: loss and perplexity of a checkpoint --------===//
//
// Rebuilds the model from the source stored in the checkpoint (with the run's
// --set overrides), loads the parameters and reports the mean cross-entropy of
// the model's next-byte predictions over the non-overlapping windows of the
// data file, in nats per byte, and its perplexity exp(loss). Dropout is off.
// The loss is computed from the logits, so it is the true negative
// log-likelihood even when the training objective uses label smoothing.
//
// Sequence-to-sequence checkpoints (heed.task = seq2seq) are evaluated by
// evalSeq2Seq (Seq2SeqCommands.cpp): teacher-forced loss plus WER/PER.
//
//===----------------------------------------------------------------------===//

#include "tools/heed/Commands.h"
#include "tools/heed/LmSession.h"
#include "tools/heed/Seq2SeqSession.h"

#include "runtime/Error.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

namespace heed {

int runEval(const EvalOptions &o) {
  return reportErrors([&] {
    RunCheckpoint rc = readRunCheckpoint(o.checkpoint);
    if (checkpointTask(rc) == "seq2seq") return evalSeq2Seq(o, rc);
    if (o.beam != 1 || o.maxWords != 0)
      throw rt::Error("--beam and --max-words apply to sequence-to-sequence checkpoints; '" + rc.path +
                      "' holds a byte-level language model");
    int64_t batch = o.batch;
    if (batch <= 0) {
      try {
        batch = rt::metadataInt(rc.ckpt, "heed.batch", 16, 1);
      } catch (const std::exception &) {
        batch = 16;
      }
      if (batch <= 0) batch = 16;
    }
    rt::ByteDataset data(o.data);  // before the (slower) build: bad data fails fast
    std::unique_ptr<rt::Program> program = buildFromCheckpoint(rc, batch);
    LmLayout layout = lmLayout(*program, "heed eval");
    data.checkWindow(layout.seq);
    rt::ParamStore params = emptyParams(*program);
    rt::loadTrainingState(rc.ckpt, params, /*withOptimizer=*/false);
    EvalResult r = evaluate(*program, layout, params, data, o.maxBatches);
    if (!std::isfinite(r.loss)) throw rt::Error("the loss is not finite on " + o.data);
    if (o.json) {
      nlohmann::json j = {{"loss", r.loss}, {"perplexity", std::exp(r.loss)}, {"tokens", r.tokens}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("eval %s (model %s, step %s) on %s: %lld tokens\n", rc.path.c_str(),
                  rc.modelName.c_str(), rc.meta("heed.step", "?").c_str(), o.data.c_str(),
                  (long long)r.tokens);
      std::printf("loss %.4f nats/byte (%.3f bits/byte), perplexity %.2f\n", r.loss,
                  r.loss / std::log(2.0), std::exp(r.loss));
    }
    return 0;
  });
}

}  // namespace heed

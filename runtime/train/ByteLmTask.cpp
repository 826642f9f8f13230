//===- ByteLmTask.cpp - training byte-level language models ---------------===//
//
// Decoder-only LMs on text files: every byte is a token; step s trains on
// ByteDataset::batch(s, batch, seq, seed), validation is evaluateLm().
//
//===----------------------------------------------------------------------===//

#include "runtime/train/TrainTask.h"

#include "runtime/Error.h"
#include "runtime/data/ByteDataset.h"
#include "runtime/train/LanguageModel.h"
#include "runtime/train/Progress.h"
#include "runtime/train/TrainSettings.h"

#include <cmath>
#include <optional>

namespace heed::rt {

namespace {

class ByteLmTask : public TrainTask {
public:
  const char *name() const override { return "lm"; }
  void bind(rt::Program &program) override {
    layout = lmLayout(program, "heed train");
    modelName = program.info().name;
    const rt::EntrySpec &e = *program.entry("train_step");
    tokIdx = e.find(layout.tokens);
    tgtIdx = e.find(layout.targets);
  }
  void configure(const Settings &s) override {
    for (const char *key : {"src_tokens", "tgt_tokens", "eval_words", "decode_every", "buckets"})
      if (s.fromFlag(key))
        throw rt::Error(trainFlagName(key) + " applies to sequence-to-sequence models; model '" + modelName +
                        "' is a byte-level language model");
    evalBatches = s.integer("eval_batches", 1);
  }
  void load(const std::string &dataPath, const std::string &validPath, const RunCheckpoint *resume) override {
    if (resume && resume->task() != "lm")
      throw rt::Error("--resume: checkpoint '" + resume->path + "' is from a " + resume->task() +
                      " run, not a byte-level language model");
    data.emplace(dataPath);
    data->checkWindow(layout.seq);
    if (!validPath.empty()) {
      valid.emplace(validPath);
      valid->checkWindow(layout.seq);
    }
  }
  std::string describeData() const override {
    std::string s = "data: " + data->path() + " (" + formatBytes(data->size()) + ")";
    if (valid)
      s += ", valid: " + valid->path() + " (" + formatBytes(valid->size()) + ", " +
           std::to_string(valid->evalWindows(layout.seq)) + " windows)";
    s += "; unigram entropy " + formatNumber("%.3f", rt::unigramEntropyNats(data->path())) + " nats/byte\n";
    return s;
  }
  std::string describeStep(int64_t steps, int64_t batch) const override {
    return std::to_string(steps) + " steps x batch " + std::to_string(batch) + " x seq " +
           std::to_string(layout.seq) + " = " + std::to_string(batch * layout.seq) + " tokens/step";
  }
  int64_t fillBatch(int64_t step, int64_t batch, uint64_t seed, std::vector<rt::Tensor> &inputs) override {
    rt::Tensor tok, tgt;
    data->batch(step, batch, layout.seq, seed, tok, tgt);
    // train_step's inputs are the tokens and targets, in the entry's order.
    inputs.at((size_t)tokIdx) = tok;
    inputs.at((size_t)tgtIdx) = tgt;
    return batch * layout.seq;
  }
  int64_t countTargets(const std::vector<rt::Tensor> &inputs) const override {
    return inputs.at((size_t)tgtIdx).size();
  }
  int lossIndex() const override { return layout.trainLossIndex; }
  bool hasValid() const override { return valid.has_value(); }
  ValidResult validate(rt::Program &program, rt::ParamStore &params, int64_t, bool) override {
    ValidResult r;
    r.loss = evaluateLm(program, layout, params, *valid, evalBatches).loss;
    return r;
  }
  void addMetadata(std::map<std::string, std::string> &meta) const override {
    meta["heed.task"] = "lm";
    meta["heed.seq"] = std::to_string(layout.seq);
  }
  std::string describeValid(const ValidResult &r) const override {
    return "valid loss " + formatNumber("%.4f", *r.loss) + " (perplexity " + formatNumber("%.2f", std::exp(*r.loss)) + ")";
  }

  LmLayout layout;
  int tokIdx = -1, tgtIdx = -1;

private:
  std::string modelName;
  int64_t evalBatches = 50;
  std::optional<rt::ByteDataset> data, valid;
};

}  // namespace

std::unique_ptr<TrainTask> makeByteLmTask() { return std::make_unique<ByteLmTask>(); }

}  // namespace heed::rt

//===- LmTask.cpp - training decoder-only language models -----------------===//
//
// Decoder-only LMs on text files through a tokenizer (--tokenizer: bytes by
// default, SentencePiece bpe/unigram trained on the data or loaded from a
// .model file, or words), or on pre-tokenized ids (.npy / llm.c .bin files).
// Step s trains on TokenDataset::batch(s, batch, seq, seed); validation is
// evaluateLm(). The tokenizer is stored in every checkpoint
// (runtime/text/TokenizerStore.h); --resume takes it from there.
//
//===----------------------------------------------------------------------===//

#include "runtime/train/TrainTask.h"

#include "runtime/Error.h"
#include "runtime/text/TokenFiles.h"
#include "runtime/text/TokenizerStore.h"
#include "runtime/train/LanguageModel.h"
#include "runtime/train/Progress.h"
#include "runtime/train/TrainSettings.h"

#include <cmath>
#include <optional>
#include <unordered_map>
#include <utility>

namespace heed::rt {

namespace {

/// Entropy of the ids' unigram distribution in nats per token: the loss of the
/// best context-free model, a baseline for the first validation losses.
double unigramEntropy(const std::vector<int32_t> &ids) {
  std::unordered_map<int32_t, int64_t> counts;
  for (int32_t id : ids) ++counts[id];
  double h = 0;
  const double n = (double)ids.size();
  for (const auto &[id, c] : counts) {
    const double p = (double)c / n;
    h -= p * std::log(p);
  }
  return h;
}

class LmTask : public TrainTask {
public:
  explicit LmTask(std::string modelName) : modelName(std::move(modelName)) {}
  const char *name() const override { return "lm"; }
  void bind(rt::Program &program) override {
    layout = lmLayout(program, "heed train");
    modelName = program.info().name;
    const rt::EntrySpec &e = *program.entry("train_step");
    tokIdx = e.find(layout.tokens);
    tgtIdx = e.find(layout.targets);
    if (tokenizer) checkTokenizerFits(layout, *tokenizer, "model '" + modelName + "'");
  }
  void configure(const Settings &s) override {
    // The table marks what is seq2seq-only; given by a flag or by the train block, it would be ignored.
    for (const TrainSetting &t : kTrainSettings)
      if (t.seq2seqOnly && s.has(t.key))
        throw rt::Error(s.where(t.key) +
                        " applies to sequence-to-sequence models; model '" + modelName +
                        "' is a decoder-only language model (its text goes through --tokenizer)");
    evalBatches = s.integer("eval_batches", 1);
    spec = s.str("tokenizer");
    specWhere = s.where("tokenizer");
    specFromFlag = s.fromFlag("tokenizer");
    if (!isTokenizerSpec(spec)) throw rt::Error(specWhere + " expects " + kTokenizerValues + ", got '" + spec + "'");
  }
  void load(const std::string &dataPath, const std::string &validPath, const RunCheckpoint *resume) override {
    if (resume && resume->task() != "lm")
      throw rt::Error("--resume: checkpoint '" + resume->path + "' is from a " + resume->task() +
                      " run, not a language model");
    if (resume) {
      tokenizer = tokenizerFromMetadata(resume->ckpt.metadata, "checkpoint '" + resume->path + "'");
      const std::string stored = resume->meta("heed.tokenizer_spec", "bytes");
      if (specFromFlag && spec != stored)
        throw rt::Error("--resume: the run was trained with --tokenizer " + stored + ", not " + spec);
      spec = stored;
    } else if (isTokenFile(dataPath)) {
      if (specFromFlag && spec != "bytes")
        throw rt::Error(specWhere + " " + spec + ": data file '" + dataPath +
                        "' is pre-tokenized (.npy/.bin ids), so there is no text to tokenize");
      // The ids the model can hold; the data's own limit when the model does not say.
      int64_t n = layout.vocab > 0 ? layout.vocab : layout.logitsVocab;
      if (n <= 0) n = TokenDataset(readTokenFile(dataPath), dataPath).idLimit();
      tokenizer = makeIdTokenizer(n);
      spec = "ids";
    } else {
      tokenizer = makeTokenizer(spec, specWhere, dataPath);
    }
    checkTokenizerFits(layout, *tokenizer, "model '" + modelName + "'");
    data.emplace(readLmData(dataPath, *tokenizer));
    data->data.checkWindow(layout.seq);
    if (!validPath.empty()) {
      if (isTokenFile(validPath) != isTokenFile(dataPath))
        throw rt::Error("validation file '" + validPath + "' and data file '" + dataPath +
                        "' must both be text or both pre-tokenized ids");
      valid.emplace(readLmData(validPath, *tokenizer));
      valid->data.checkWindow(layout.seq);
    }
  }
  std::string describeData() const override {
    auto one = [&](const LmData &d) {
      std::string s = d.data.path() + " (";
      if (d.text) s += formatBytes(d.bytes) + ", ";
      return s + std::to_string(d.data.size()) + " tokens";
    };
    std::string s = "tokenizer: " + tokenizer->describe() + "\ndata: " + one(*data) + ")";
    if (valid) s += ", valid: " + one(*valid) + ", " + std::to_string(valid->data.evalRows(layout.seq)) + " windows)";
    s += "; unigram entropy " + formatNumber("%.3f", unigramEntropy(data->data.ids())) + " nats/token\n";
    return s;
  }
  std::string describeStep(int64_t batch) const override {
    return "batch " + std::to_string(batch) + " x seq " +
           std::to_string(layout.seq) + " = " + std::to_string(batch * layout.seq) + " tokens/step";
  }
  int64_t fillBatch(int64_t step, int64_t batch, uint64_t seed, std::vector<rt::Tensor> &inputs) override {
    rt::Tensor tok, tgt;
    data->data.batch(step, batch, layout.seq, seed, tok, tgt);
    // train_step's inputs are the tokens and targets, in the entry's order.
    inputs.at((size_t)tokIdx) = tok;
    inputs.at((size_t)tgtIdx) = tgt;
    return batch * layout.seq;
  }
  int64_t countTargets(const std::vector<rt::Tensor> &inputs) const override {
    return inputs.at((size_t)tgtIdx).size();
  }
  int lossIndex() const override { return layout.trainLossIndex; }
  int64_t lossClasses() const override { return layout.logitsVocab > 0 ? layout.logitsVocab : layout.vocab; }
  bool hasValid() const override { return valid.has_value(); }
  ValidResult validate(rt::Program &program, rt::ParamStore &params, int64_t, bool, rt::Communicator &comm) override {
    ValidResult r;
    r.loss = evaluateLm(program, layout, params, valid->data, evalBatches, &comm).loss;
    return r;
  }
  void addMetadata(std::map<std::string, std::string> &meta) const override {
    meta["heed.task"] = "lm";
    meta["heed.seq"] = std::to_string(layout.seq);
    meta["heed.tokenizer_spec"] = spec;
    storeTokenizer(*tokenizer, meta);
  }
  std::string describeValid(const ValidResult &r) const override {
    return "valid loss " + formatNumber("%.4f", *r.loss) + " (perplexity " + formatNumber("%.2f", std::exp(*r.loss)) +
           " per token)";
  }

  LmLayout layout;
  int tokIdx = -1, tgtIdx = -1;

private:
  std::string modelName, spec, specWhere;
  bool specFromFlag = false;
  int64_t evalBatches = 50;
  std::unique_ptr<TextTokenizer> tokenizer;
  std::optional<LmData> data, valid;
};

}  // namespace

std::unique_ptr<TrainTask> makeLmTask(const std::string &modelName) {
  return std::make_unique<LmTask>(modelName);
}

}  // namespace heed::rt

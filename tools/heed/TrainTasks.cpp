//===- TrainTasks.cpp - byte-level LM and seq2seq training tasks ----------===//

#include "tools/heed/TrainTask.h"

#include "tools/heed/Seq2SeqSession.h"

#include "runtime/Error.h"
#include "runtime/data/ByteDataset.h"
#include "runtime/seq2seq/LengthBuckets.h"
#include "runtime/seq2seq/Metrics.h"
#include "runtime/seq2seq/ParallelData.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace heed {

namespace {

std::string fmt(const char *f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string flagName(const std::string &key) {
  std::string f = key;
  std::replace(f.begin(), f.end(), '_', '-');
  return "--" + f;
}

//===----------------------------------------------------------------------===//
// Byte-level language models
//===----------------------------------------------------------------------===//

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
        throw rt::Error(flagName(key) + " applies to sequence-to-sequence models; model '" + modelName +
                        "' is a byte-level language model");
    evalBatches = s.integer("eval_batches", 50, 1);
  }
  void load(const std::string &dataPath, const std::string &validPath, const RunCheckpoint *resume) override {
    if (resume && checkpointTask(*resume) != "lm")
      throw rt::Error("--resume: checkpoint '" + resume->path + "' is from a " + checkpointTask(*resume) +
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
    s += "; unigram entropy " + fmt("%.3f", rt::unigramEntropyNats(data->path())) + " nats/byte\n";
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
  int lossIndex() const override { return layout.trainLossIndex; }
  bool hasValid() const override { return valid.has_value(); }
  ValidResult validate(rt::Program &program, rt::ParamStore &params, int64_t, bool) override {
    ValidResult r;
    r.loss = evaluate(program, layout, params, *valid, evalBatches).loss;
    return r;
  }
  void addMetadata(std::map<std::string, std::string> &meta) const override {
    meta["heed.task"] = "lm";
    meta["heed.seq"] = std::to_string(layout.seq);
  }
  std::string describeValid(const ValidResult &r) const override {
    return "valid loss " + fmt("%.4f", *r.loss) + " (perplexity " + fmt("%.2f", std::exp(*r.loss)) + ")";
  }

  LmLayout layout;
  int tokIdx = -1, tgtIdx = -1;

private:
  std::string modelName;
  int64_t evalBatches = 50;
  std::optional<rt::ByteDataset> data, valid;
};

//===----------------------------------------------------------------------===//
// Sequence to sequence
//===----------------------------------------------------------------------===//

class Seq2SeqTask : public TrainTask {
public:
  const char *name() const override { return "seq2seq"; }
  void bind(rt::Program &program) override {
    layout = seq2seqLayout(program, "heed train");
    modelName = program.info().name;
    const rt::EntrySpec &e = *program.entry("train_step");
    srcIdx = e.find("src");
    tinIdx = e.find("tgt_in");
    toutIdx = e.find("tgt_out");
    auto dimName = [&](int idx) {
      const rt::TensorSpec &t = e.inputs.at((size_t)idx);
      return t.dims.size() == 2 ? t.dims[1] : std::string();
    };
    srcLenKey = dimName(srcIdx);
    tgtLenKey = dimName(tinIdx);
  }
  void configure(const Settings &s) override {
    vocabs.srcTok = rt::parseTokenizer(s.str("src_tokens", "chars"));
    vocabs.tgtTok = rt::parseTokenizer(s.str("tgt_tokens", "space"));
    tokFromFlag = s.fromFlag("src_tokens") || s.fromFlag("tgt_tokens");
    evalBatches = s.integer("eval_batches", 50, 1);
    evalWords = s.integer("eval_words", 500, 0);
    decodeEvery = s.integer("decode_every", 0, 0);
    bucketsText = s.str("buckets", "");
    bucketsWhere = s.where("buckets");
    bucketsFromFlag = s.fromFlag("buckets");
  }
  void load(const std::string &dataFile, const std::string &validFile, const RunCheckpoint *resume) override {
    dataPath = dataFile;
    validPath = validFile;
    if (resume) {
      if (checkpointTask(*resume) != "seq2seq")
        throw rt::Error("--resume: checkpoint '" + resume->path + "' is from a " + checkpointTask(*resume) +
                        " run, not a sequence-to-sequence one");
      Seq2SeqVocabs stored = Seq2SeqVocabs::fromCheckpoint(*resume);
      if (tokFromFlag && (stored.srcTok != vocabs.srcTok || stored.tgtTok != vocabs.tgtTok))
        throw rt::Error(std::string("--resume: the run tokenized with --src-tokens ") +
                        rt::tokenizerName(stored.srcTok) + " --tgt-tokens " + rt::tokenizerName(stored.tgtTok));
      vocabs = stored;
    }
    rt::ParallelData train = rt::ParallelData::load(dataPath, vocabs.srcTok, vocabs.tgtTok);
    if (!resume) {
      vocabs.src = train.buildSrcVocab();
      vocabs.tgt = train.buildTgtVocab();
    }
    checkVocabsFit(vocabs, layout, modelName);
    data.emplace(train.encode(vocabs.src, vocabs.tgt, layout.srcLen, layout.tgtLen));
    if (data->size() == 0)
      throw rt::Error("data file '" + dataPath + "': no pair fits the model (" + data->stats().summary() + ")");
    // A resumed run keeps its buckets (they decide the batches) unless --buckets is given.
    if (resume && !bucketsFromFlag) {
      bucketsText = resume->meta("heed.buckets");
      bucketsWhere = "the resumed run's buckets";
    }
    buckets.clear();
    if (!bucketsText.empty()) {
      std::vector<int64_t> lengths = rt::parseBucketLengths(bucketsText, bucketsWhere);
      if (!lengths.empty()) {
        if (srcLenKey.empty() || tgtLenKey.empty())
          throw rt::Error(bucketsWhere + ": length buckets need the inputs' lengths to be config values "
                          "(input src : i32[batch, src_len], tgt_in : i32[batch, tgt_len])");
        try {
          buckets = rt::makeBuckets(lengths, layout.srcLen, layout.tgtLen);
        } catch (const rt::Error &e) {
          throw rt::Error(bucketsWhere + ": " + e.what());
        }
      }
    }
    double tgtTokens = 0;
    for (const rt::Example &e : data->examples()) tgtTokens += (double)e.tgt.size() + 1;
    meanTgtTokens = tgtTokens / (double)data->size();
    if (!validPath.empty()) {
      rt::ParallelData v = rt::ParallelData::load(validPath, vocabs.srcTok, vocabs.tgtTok);
      valid.emplace(v.encode(vocabs.src, vocabs.tgt, layout.srcLen, layout.tgtLen));
      if (valid->size() == 0)
        throw rt::Error("validation file '" + validPath + "': no pair fits the model (" +
                        valid->stats().summary() + ")");
      const rt::EncodeStats &st = valid->stats();
      if (st.srcUnknown || st.tgtUnknown)
        std::fprintf(stderr, "warning: %s: %lld unknown source and %lld unknown target symbols mapped to <unk>\n",
                     validPath.c_str(), (long long)st.srcUnknown, (long long)st.tgtUnknown);
    }
  }
  std::string describeData() const override {
    auto part = [](const rt::EncodedData &d, const std::string &path) {
      const rt::EncodeStats &st = d.stats();
      std::string s = path + " (" + std::to_string(st.pairs) + " pairs";
      if (st.skipped)
        s += ", " + std::to_string(st.skipped) + " skipped as too long for src_len " + std::to_string(st.srcLen) +
             " / tgt_len " + std::to_string(st.tgtLen);
      return s + ")";
    };
    std::string s = "data: " + part(*data, dataPath);
    if (valid) s += ", valid: " + part(*valid, validPath);
    s += "\n";
    if (!buckets.empty()) {
      // Counts of each bucket's own pairs (before remainders move up).
      std::vector<rt::Bucket> counted = rt::LengthBuckets(*data, buckets, 1).buckets();
      s += "length buckets (src_len/tgt_len: pairs):";
      for (size_t k = 0; k < counted.size(); ++k)
        s += std::string(k ? "," : "") + " " + std::to_string(counted[k].srcLen) + "/" +
             std::to_string(counted[k].tgtLen) + ": " + fmt("%.1f%%", 100.0 * (double)counted[k].examples /
                                                                       (double)data->size());
      s += "\n";
    }
    auto limit = [](int64_t n, const std::string &key) {
      return n > 0 ? "; model " + (key.empty() ? std::string("limit") : key) + " " + std::to_string(n) : "";
    };
    s += "task: seq2seq; vocab: " + std::to_string(vocabs.src.size()) + " source symbols (" +
         rt::tokenizerName(vocabs.srcTok) + limit(layout.srcVocab, layout.srcVocabKey) + "), " +
         std::to_string(vocabs.tgt.size()) + " target symbols (" + rt::tokenizerName(vocabs.tgtTok) +
         limit(layout.tgtVocab, layout.tgtVocabKey) + "), 4 specials included\n";
    return s;
  }
  std::string describeStep(int64_t steps, int64_t batch) const override {
    return std::to_string(steps) + " steps x batch " + std::to_string(batch) + " (src_len " +
           std::to_string(layout.srcLen) + ", tgt_len " + std::to_string(layout.tgtLen) + ") = ~" +
           fmt("%.0f", meanTgtTokens * (double)batch) + " target tokens/step";
  }
  int64_t fillBatch(int64_t step, int64_t batch, uint64_t seed, std::vector<rt::Tensor> &inputs) override {
    rt::Tensor src, tin, tout;
    current = nullptr;
    if (!buckets.empty()) {
      if (!bucketed || bucketedBatch != batch) {
        bucketed.emplace(*data, buckets, batch);
        bucketedBatch = batch;
      }
      int k = bucketed->batch(step, seed, src, tin, tout);
      if ((size_t)k + 1 < buckets.size()) current = bucketPrograms.at((size_t)k);
    } else {
      data->batch(step, batch, seed, src, tin, tout);
    }
    int64_t tokens = 0;
    for (int64_t i = 0; i < tout.size(); ++i) tokens += tout.i32()[i] != rt::Vocab::PAD;
    inputs.at((size_t)srcIdx) = src;
    inputs.at((size_t)tinIdx) = tin;
    inputs.at((size_t)toutIdx) = tout;
    return tokens;
  }
  std::vector<std::map<std::string, std::string>> extraPrograms() const override {
    std::vector<std::map<std::string, std::string>> out;
    for (size_t k = 0; k + 1 < buckets.size(); ++k)
      out.push_back({{srcLenKey, std::to_string(buckets[k].srcLen)}, {tgtLenKey, std::to_string(buckets[k].tgtLen)}});
    return out;
  }
  void bindExtra(const std::vector<rt::Program *> &programs) override {
    if (programs.empty()) buckets.clear();  // the trainer cannot build them (an artifact)
    for (rt::Program *p : programs) {
      Seq2SeqLayout l = seq2seqLayout(*p, "heed train");
      if (l.trainLossIndex != layout.trainLossIndex)
        throw rt::Error("length buckets: the bucket programs disagree on the loss output");
    }
    bucketPrograms = programs;
  }
  rt::Program *stepProgram() override { return current; }
  int lossIndex() const override { return layout.trainLossIndex; }
  bool hasValid() const override { return valid.has_value(); }
  ValidResult validate(rt::Program &program, rt::ParamStore &params, int64_t step, bool final) override {
    ValidResult r;
    Seq2SeqRunner runner(program, layout, params);
    r.loss = runner.teacherForced(*valid, evalBatches * layout.batch).loss;
    if (evalWords > 0 && (final || (decodeEvery > 0 && step % decodeEvery == 0))) {
      int64_t n = std::min<int64_t>(evalWords, valid->size());
      std::vector<std::vector<int32_t>> srcs;
      for (int64_t i = 0; i < n; ++i) srcs.push_back(valid->examples()[(size_t)i].src);
      std::vector<rt::Hypothesis> hyps = runner.decode(srcs, 1, 0);
      rt::ErrorRates er;
      for (int64_t i = 0; i < n; ++i) er.add(hyps[(size_t)i].symbols, valid->examples()[(size_t)i].tgt);
      r.wer = er.wer();
      r.per = er.per();
      r.words = n;
    }
    return r;
  }
  void addMetadata(std::map<std::string, std::string> &meta) const override {
    vocabs.toMetadata(meta);
    meta["heed.src_len"] = std::to_string(layout.srcLen);
    meta["heed.tgt_len"] = std::to_string(layout.tgtLen);
    std::string b;
    for (size_t k = 0; k + 1 < buckets.size(); ++k)
      b += (k ? " " : "") + std::to_string(std::max(buckets[k].srcLen, buckets[k].tgtLen));
    if (!b.empty()) meta["heed.buckets"] = b;
  }
  std::string describeValid(const ValidResult &r) const override {
    std::string s = "valid loss " + fmt("%.4f", *r.loss) + " nats/token (perplexity " +
                    fmt("%.2f", std::exp(*r.loss)) + ")";
    if (r.wer)
      s += "; greedy WER " + fmt("%.2f", 100 * *r.wer) + "%, PER " + fmt("%.2f", 100 * *r.per) + "% on " +
           std::to_string(r.words) + " words";
    return s;
  }

private:
  Seq2SeqLayout layout;
  std::string modelName, dataPath, validPath;
  Seq2SeqVocabs vocabs;
  bool tokFromFlag = false;
  int64_t evalBatches = 50, evalWords = 500, decodeEvery = 0;
  int srcIdx = -1, tinIdx = -1, toutIdx = -1;
  double meanTgtTokens = 0;
  // Length buckets (LengthBuckets.h): the bucket programs, the last batch's program.
  std::string srcLenKey, tgtLenKey, bucketsText, bucketsWhere;
  bool bucketsFromFlag = false;
  std::vector<rt::Bucket> buckets;
  std::optional<rt::LengthBuckets> bucketed;
  int64_t bucketedBatch = 0;
  std::vector<rt::Program *> bucketPrograms;
  rt::Program *current = nullptr;
  std::optional<rt::EncodedData> data, valid;
};

}  // namespace

//===----------------------------------------------------------------------===//
// Settings
//===----------------------------------------------------------------------===//

std::string Settings::str(const std::string &key, const std::string &def) const {
  const std::string *r = raw(key);
  return r ? *r : def;
}

int64_t Settings::integer(const std::string &key, int64_t def, int64_t min) const {
  const std::string *r = raw(key);
  if (!r) return def;
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(*r, &used);
  } catch (const std::exception &) {
    used = 0;
  }
  if (used == 0 || used != r->size() || v < min)
    throw rt::Error(where(key) + " expects " + (min > 0 ? "a positive" : "a non-negative") + " integer, got '" +
                    *r + "'");
  return v;
}

double Settings::number(const std::string &key, double def, double min, bool strict) const {
  const std::string *r = raw(key);
  if (!r) return def;
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(*r, &used);
  } catch (const std::exception &) {
    used = 0;
  }
  if (used == 0 || used != r->size() || !std::isfinite(v) || v < min || (strict && v <= min))
    throw rt::Error(where(key) + " expects a " + (strict ? "positive" : "non-negative") + " number, got '" + *r +
                    "'");
  return v;
}

std::string Settings::where(const std::string &key) const {
  if (fromFlag(key)) return flagName(key);
  if (resumed.count(key)) return "the resumed run's " + key;
  return "the model's train setting '" + key + "'";
}

const std::string *Settings::raw(const std::string &key) const {
  auto f = flags.find(key);
  if (f != flags.end()) return &f->second;
  auto r = resumed.find(key);
  if (r != resumed.end()) return &r->second;
  auto t = info.train.find(key);
  if (t != info.train.end()) return &t->second;
  return nullptr;
}

std::unique_ptr<TrainTask> makeByteLmTask() { return std::make_unique<ByteLmTask>(); }
std::unique_ptr<TrainTask> makeSeq2SeqTask() { return std::make_unique<Seq2SeqTask>(); }

std::unique_ptr<TrainTask> makeTaskFor(const rt::Program &program) {
  if (looksSeq2Seq(program)) return makeSeq2SeqTask();
  return makeByteLmTask();
}

}  // namespace heed

//===- Seq2SeqTask.cpp - training encoder-decoders on parallel data -------===//
//
// source<TAB>target files, tokenized and mapped to vocabularies built from the
// training data (stored in the checkpoints); optional length buckets train
// each batch with the model compiled at its bucket's lengths. Validation is
// the teacher-forced loss plus greedy WER/PER (Seq2SeqRunner).
//
//===----------------------------------------------------------------------===//

#include "runtime/train/TrainTask.h"

#include "runtime/Error.h"
#include "runtime/seq2seq/LengthBuckets.h"
#include "runtime/seq2seq/Lines.h"
#include "runtime/seq2seq/Metrics.h"
#include "runtime/seq2seq/ParallelData.h"
#include "runtime/seq2seq/Seq2SeqRunner.h"
#include "runtime/text/Tokenizer.h"
#include "runtime/train/Progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <utility>

namespace heed::rt {

namespace {

bool isSide(const std::string &spec) { return spec == "chars" || spec == "space" || spec == "bytes"; }

/// chars/space/bytes, or a tokenizer trained on (or loaded for) one side of the
/// training pairs: `column` 0 the sources, 1 the targets.
rt::Tokenizer sideTokenizer(const std::string &spec, const std::string &where, const std::string &dataPath, int column) {
  if (isSide(spec)) return rt::parseTokenizer(spec);
  std::string side;
  for (const std::string &line : rt::readLines(dataPath)) {
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;  // ParallelData reports it
    side += (column == 0 ? line.substr(0, tab) : line.substr(tab + 1)) + "\n";
  }
  std::shared_ptr<const rt::TextTokenizer> model =
      rt::makeTokenizerFromText(spec, where, side, dataPath + (column == 0 ? " (sources)" : " (targets)"));
  return rt::Tokenizer::pieces(std::move(model), spec);
}

class Seq2SeqTask : public TrainTask {
public:
  explicit Seq2SeqTask(std::string modelName) : modelName(std::move(modelName)) {}
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
    srcSpec = s.str("src_tokens");
    tgtSpec = s.str("tgt_tokens");
    srcWhere = s.where("src_tokens");
    tgtWhere = s.where("tgt_tokens");
    for (const auto &[spec, where] : {std::pair{srcSpec, srcWhere}, std::pair{tgtSpec, tgtWhere}})
      if (!isSide(spec) && !rt::isTokenizerSpec(spec))
        throw rt::Error(where + " expects chars, space, " + rt::kTokenizerValues + ", got '" + spec + "'");
    if (s.has("tokenizer"))  // from a flag or the train block: it would be ignored
      throw rt::Error(s.where("tokenizer") +
                      " applies to language models; model '" + modelName +
                      "' is a sequence-to-sequence model: use --src-tokens and --tgt-tokens");
    tokFromFlag = s.fromFlag("src_tokens") || s.fromFlag("tgt_tokens");
    evalBatches = s.integer("eval_batches", 1);
    evalWords = s.integer("eval_words", 0);
    decodeEvery = s.integer("decode_every", 0);
    bucketsText = s.str("buckets", "");
    bucketsWhere = s.where("buckets");
    bucketsFromFlag = s.fromFlag("buckets");
    if (!bucketsText.empty()) rt::parseBucketLengths(bucketsText, bucketsWhere);  // refused before the data is read
  }
  void load(const std::string &dataFile, const std::string &validFile, const RunCheckpoint *resume) override {
    dataPath = dataFile;
    validPath = validFile;
    if (resume) {
      if (resume->task() != "seq2seq")
        throw rt::Error("--resume: checkpoint '" + resume->path + "' is from a " + resume->task() +
                        " run, not a sequence-to-sequence one");
      Seq2SeqVocabs stored = Seq2SeqVocabs::fromCheckpoint(*resume);
      if (tokFromFlag && (rt::tokenizerName(stored.srcTok) != srcSpec || rt::tokenizerName(stored.tgtTok) != tgtSpec))
        throw rt::Error(std::string("--resume: the run tokenized with --src-tokens ") +
                        rt::tokenizerName(stored.srcTok) + " --tgt-tokens " + rt::tokenizerName(stored.tgtTok));
      vocabs = stored;
    } else {
      vocabs.srcTok = sideTokenizer(srcSpec, srcWhere, dataPath, 0);
      vocabs.tgtTok = sideTokenizer(tgtSpec, tgtWhere, dataPath, 1);
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
             std::to_string(counted[k].tgtLen) + ": " + formatNumber("%.1f%%", 100.0 * (double)counted[k].examples /
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
  std::string describeStep(int64_t batch) const override {
    return "batch " + std::to_string(batch) + " (src_len " +
           std::to_string(layout.srcLen) + ", tgt_len " + std::to_string(layout.tgtLen) + ") = ~" +
           formatNumber("%.0f", meanTgtTokens * (double)batch) + " target tokens/step";
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
    inputs.at((size_t)srcIdx) = src;
    inputs.at((size_t)tinIdx) = tin;
    inputs.at((size_t)toutIdx) = tout;
    return countTargets(inputs);
  }
  /// The loss is a mean over the non-padding targets (`ignore: pad`).
  int64_t countTargets(const std::vector<rt::Tensor> &inputs) const override {
    const rt::Tensor &tout = inputs.at((size_t)toutIdx);
    int64_t tokens = 0;
    for (int64_t i = 0; i < tout.size(); ++i) tokens += tout.i32()[i] != rt::Vocab::PAD;
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
  int64_t lossClasses() const override { return layout.tgtVocab; }
  bool hasValid() const override { return valid.has_value(); }
  ValidResult validate(rt::Program &program, rt::ParamStore &params, int64_t step, bool final,
                       rt::Communicator &comm) override {
    ValidResult r;
    Seq2SeqRunner runner(program, layout, params);
    r.loss = runner.teacherForced(*valid, evalBatches * layout.batch, &comm).loss;
    if (comm.rank() == 0 && evalWords > 0 && (final || (decodeEvery > 0 && step % decodeEvery == 0))) {
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
    std::string s = "valid loss " + formatNumber("%.4f", *r.loss) + " nats/token (perplexity " +
                    formatNumber("%.2f", std::exp(*r.loss)) + ")";
    if (r.wer)
      s += "; greedy WER " + formatNumber("%.2f", 100 * *r.wer) + "%, PER " + formatNumber("%.2f", 100 * *r.per) + "% on " +
           std::to_string(r.words) + " words";
    return s;
  }

private:
  Seq2SeqLayout layout;
  std::string modelName, dataPath, validPath, srcSpec, tgtSpec, srcWhere, tgtWhere;
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

std::unique_ptr<TrainTask> makeSeq2SeqTask(const std::string &modelName) {
  return std::make_unique<Seq2SeqTask>(modelName);
}

std::unique_ptr<TrainTask> makeTaskFor(const Program &program) {
  if (looksSeq2Seq(program)) return makeSeq2SeqTask(program.info().name);
  return makeLmTask(program.info().name);
}

}  // namespace heed::rt

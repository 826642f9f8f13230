//===- Train.cpp - `heed train`: the training loop -------------------------===//
//
// One loop for every task (TrainTask.h): a byte-level language model on a text
// file, or an encoder-decoder (inputs src, tgt_in, tgt_out; encode/decode
// entries) on source<TAB>target lines. The task is chosen from the model.
//
// Settings, in priority order: the command-line flag, the model's `train { }`
// block (same names, underscores for dashes: eval_every), then these defaults:
//
//   steps 1000            batch 16               seed 1
//   schedule noam         optimizer adam         clip 1.0 (0 = off; the paper has none)
//   lr      noam: d_model^-0.5 * warmup^-0.5 (the paper); cosine/constant: 1e-3
//   warmup  noam: min(4000, max(1, steps/10)); others: min(4000, steps/10)
//   eval_every 200 (0: validate only at the end)    eval_batches 50
//   checkpoint_every = eval_every, or 500 if that is 0     log_every 10
//   keep_checkpoints 3 (the newest N stay in the run directory; see heed average)
//   out runs/<model name>
// seq2seq only:
//   src_tokens chars, tgt_tokens space (chars | space | bytes)
//   eval_words 500 (greedy WER/PER on the first N validation words; 0 = off)
//   decode_every 0 (decode at validation steps that are multiples of N; 0 = only
//                   at the end, i.e. the last step or an early stop)
//   buckets ""  (length buckets, e.g. "12 16": each batch holds pairs of one
//                bucket, padded to its lengths and trained by the model compiled
//                at them; see runtime/seq2seq/LengthBuckets.h. A resumed run
//                keeps its buckets unless --buckets is given.)
//
// Each step s (1-based) trains on ByteDataset::batch(s, batch, seq, seed) (or
// EncodedData::batch(s, batch, seed, ...) for seq2seq): the batches are a pure
// function of (seed, step), dropout masks of (the model's
// dropout seed, step, index), and checkpoints hold the parameters, Adam's
// moments and the step, so `--resume` continues exactly where an
// uninterrupted run would be (same losses, bit for bit).
//
// Run directory: ckpt-<step>.safetensors (the last keep_checkpoints kept), `latest`,
// metrics.jsonl (one row per log step, valid_loss on validation steps; seq2seq
// adds valid_wer, valid_per, valid_words on the steps that decoded).
// The validation loss is the cross-entropy of the model's logits in nats per
// byte (seq2seq: per target token, EOS included, teacher forcing), with no label
// smoothing, so exp(valid loss) is the perplexity; the train loss is the model's
// own objective (which may include label smoothing). tokens/s counts the
// predicted tokens: batch x seq for LMs, the non-padding target tokens for seq2seq.
//
//===----------------------------------------------------------------------===//

#include "tools/heed/Commands.h"
#include "tools/heed/LmSession.h"
#include "tools/heed/TrainTask.h"

#include "compiler/ModelLoader.h"
#include "runtime/AtomicFile.h"
#include "runtime/Checkpoint.h"
#include "runtime/Error.h"
#include "runtime/compiled/ArtifactProgram.h"
#include "runtime/data/ByteDataset.h"
#include "runtime/train/Optimizer.h"
#include "runtime/train/Progress.h"
#include "runtime/train/Schedule.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace heed {
namespace {

volatile std::sig_atomic_t gInterrupted = 0;
void onInterrupt(int) {
  gInterrupted = 1;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C kills
}

std::string fmt(const char *f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

struct Config {
  std::string data, valid, out, schedule, optimizer;
  int64_t steps = 1000, batch = 16, warmup = 0, evalEvery = 200, evalBatches = 50,
          ckptEvery = 500, logEvery = 10, keepCheckpoints = 3;
  double lr = 0, clip = 1.0, maxMinutes = 0;
  std::optional<double> weightDecay;
  uint64_t seed = 1;
};

/// metrics.jsonl: rt::MetricsWriter's rows plus the task's validation metrics
/// (valid_wer, valid_per, valid_words) on the steps that decoded.
class MetricsFile {
public:
  MetricsFile(const std::string &path, bool truncate) : path(path) {
    f = std::fopen(path.c_str(), truncate ? "w" : "a");
    if (!f) throw rt::Error("cannot open metrics file '" + path + "': " + std::strerror(errno));
  }
  ~MetricsFile() {
    if (f) std::fclose(f);
  }
  void write(const rt::StepStats &st, const std::optional<ValidResult> &vr) {
    std::string row = rt::MetricsWriter::formatRow(st);
    if (vr && vr->wer && !row.empty() && row.back() == '}') {
      row.pop_back();
      row += ",\"valid_wer\":" + fmt("%.6g", *vr->wer) + ",\"valid_per\":" + fmt("%.6g", *vr->per) +
             ",\"valid_words\":" + std::to_string(vr->words) + "}";
    }
    std::fprintf(f, "%s\n", row.c_str());
    std::fflush(f);
  }

private:
  std::string path;
  std::FILE *f = nullptr;
};

std::string ckptPath(const std::string &out, int64_t step) {
  return (fs::path(out) / rt::checkpointFileName(step)).string();
}

/// Rewrites metrics.jsonl keeping the rows with step <= `step` (a resumed run
/// recomputes the later ones).
void truncateMetrics(const std::string &path, int64_t step) {
  if (!fs::exists(path)) return;
  std::istringstream in(rt::readWholeFile(path, "metrics file"));
  std::string kept, line;
  while (std::getline(in, line)) {
    size_t p = line.find("\"step\":");
    if (p == std::string::npos) continue;
    if (std::atoll(line.c_str() + p + 7) <= step) kept += line + "\n";
  }
  rt::writeFileAtomic(path, kept);
}

/// Bucket programs train the main program's parameters, so they must have the
/// same ones (a parameter sized by a length, e.g. a learned position table, cannot).
void checkSameParams(const rt::Program &main, const rt::Program &other, const std::map<std::string, std::string> &at) {
  std::string where;
  for (const auto &[k, v] : at) where += (where.empty() ? "" : ", ") + k + " = " + v;
  const auto &a = main.params(), &b = other.params();
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    if (i >= a.size() || i >= b.size() || a[i].name != b[i].name)
      throw rt::Error("length buckets: the model has different parameters at " + where +
                      " than at its own lengths");
    if (a[i].shape != b[i].shape)
      throw rt::Error("length buckets: parameter '" + a[i].name + "' has shape " + rt::shapeToString(b[i].shape) +
                      " at " + where + " but " + rt::shapeToString(a[i].shape) +
                      " at the model's own lengths; buckets need parameters that do not depend on the lengths");
  }
}

int train(const TrainOptions &o) {
  ImportOptions parsed;
  if (!parseOverrides(o.sets, parsed)) return 1;
  const std::map<std::string, std::string> &overrides = parsed.overrides;
  if (!fs::is_regular_file(o.model) && !fs::is_directory(o.model))  // a directory: an artifact
    throw rt::Error("cannot read model file '" + o.model + "'");

  // First build: the batch from --batch, else the model's (train block or default).
  std::optional<int64_t> flagBatch;
  std::unique_ptr<rt::Program> program;
  {
    rt::ModelInfo none;
    Settings s(o.flags, none);
    if (s.has("batch")) flagBatch = s.integer("batch", 16, 1);
  }
  program = buildProgram(o.model, overrides, flagBatch);
  const rt::ModelInfo info = program->info();
  Settings s(o.flags, info);
  std::unique_ptr<TrainTask> task = makeTaskFor(*program);
  task->bind(*program);  // reject models that do not fit before anything else
  const bool seq2seq = std::string(task->name()) == "seq2seq";

  Config c;
  c.data = s.str("data", "");
  if (c.data.empty())
    throw rt::Error(seq2seq ? "heed train needs --data FILE (a source<TAB>target file to train on)"
                            : "heed train needs --data FILE (a text file to train on)");
  c.valid = s.str("valid", "");
  c.out = s.str("out", (fs::path("runs") / info.name).string());
  c.steps = s.integer("steps", 1000, 1);
  c.batch = s.integer("batch", 16, 1);
  c.seed = (uint64_t)s.integer("seed", 1, 0);
  c.schedule = s.str("schedule", "noam");
  rt::ScheduleKind kind = rt::parseScheduleKind(c.schedule);
  c.optimizer = s.str("optimizer", "adam");
  c.clip = s.number("clip", 1.0, 0);
  if (s.has("weight_decay")) c.weightDecay = s.number("weight_decay", 0, 0);
  c.evalEvery = s.integer("eval_every", 200, 0);
  c.evalBatches = s.integer("eval_batches", 50, 1);
  task->configure(s);
  c.ckptEvery = s.integer("checkpoint_every", c.evalEvery > 0 ? c.evalEvery : 500, 1);
  c.logEvery = s.integer("log_every", 10, 1);
  c.keepCheckpoints = s.integer("keep_checkpoints", 3, 1);
  c.maxMinutes = s.number("max_minutes", 0, 0, s.has("max_minutes"));

  // Resume: the run directory's latest checkpoint fixes the model and the batch.
  std::optional<RunCheckpoint> resumeFrom;
  int64_t startStep = 0;
  if (o.resume) {
    if (!fs::is_directory(c.out))
      throw rt::Error("--resume: the run directory '" + c.out + "' does not exist");
    resumeFrom = readRunCheckpoint(c.out);
    const RunCheckpoint &rc = *resumeFrom;
    if (rc.meta("heed.source_hash") != sourceHash(info.source))
      throw rt::Error("--resume: " + o.model + " is not the model that checkpoint '" + rc.path +
                      "' was trained with (its source changed); train it in a new --out");
    if (rc.overrides != info.overrides)  // an artifact's are compiled in
      throw rt::Error("--resume: the --set overrides differ from the run's (" +
                      overridesToJson(rc.overrides) + " in '" + rc.path + "')");
    auto mustMatch = [&](const std::string &key, const std::string &mine, bool given) {
      std::string theirs = rc.meta("heed." + key);
      if (given && theirs != mine)
        throw rt::Error("--resume: " + s.where(key) + " is " + mine + " but the run used " + theirs +
                        "; a resumed run keeps its " + key);
    };
    mustMatch("batch", std::to_string(c.batch), s.has("batch"));
    mustMatch("seed", std::to_string(c.seed), s.has("seed"));
    c.batch = rt::metadataInt(rc.ckpt, "heed.batch", c.batch, 1);
    c.seed = rt::metadataUnsigned(rc.ckpt, "heed.seed", c.seed);
    startStep = rt::metadataInt(rc.ckpt, "heed.step", 0);
    if (startStep >= c.steps)
      throw rt::Error("--resume: the run in '" + c.out + "' is already at step " +
                      std::to_string(startStep) + "; pass --steps above that to continue it");
    // Settings not given again are the run's own.
    for (const char *key : {"schedule", "optimizer", "lr", "warmup", "clip"})
      if (!rc.meta(std::string("heed.") + key).empty())
        s.setResumed(key, rc.meta(std::string("heed.") + key));
    c.schedule = s.str("schedule", c.schedule);
    kind = rt::parseScheduleKind(c.schedule);
    c.optimizer = s.str("optimizer", c.optimizer);
    c.clip = s.number("clip", c.clip, 0);
  } else if (!rt::checkpointSteps(c.out).empty() || fs::exists(fs::path(c.out) / "latest")) {
    throw rt::Error("the run directory '" + c.out +
                    "' already holds checkpoints: pass --resume to continue that run, or choose another --out");
  }
  if (program->info().config.count("batch") && (int64_t)program->info().config.at("batch") != c.batch)
    program = buildProgram(o.model, overrides, c.batch);
  task->bind(*program);

  // Schedule and optimizer.
  int64_t defWarmup = kind == rt::ScheduleKind::Noam ? std::min<int64_t>(4000, std::max<int64_t>(1, c.steps / 10))
                                                     : std::min<int64_t>(4000, c.steps / 10);
  c.warmup = s.integer("warmup", defWarmup, kind == rt::ScheduleKind::Noam ? 1 : 0);
  c.lr = s.number("lr", kind == rt::ScheduleKind::Noam ? 0 : 1e-3, 0, true);
  rt::ScheduleConfig sc;
  sc.kind = kind;
  sc.peak = (float)c.lr;
  sc.warmup = c.warmup;
  sc.total = c.steps;
  if (kind == rt::ScheduleKind::Noam && c.lr <= 0) {
    auto d = info.config.find("d_model");
    if (d == info.config.end())
      throw rt::Error("noam's default learning rate needs the model's d_model: the model has none, so pass --lr");
    sc.dModel = (int64_t)d->second;
  }
  rt::LrSchedule schedule(sc);
  c.lr = schedule.peak();
  rt::OptimizerConfig oc;
  const rt::UpdateKernels *updateKernels = updateKernelsFor(o.model);
  oc.kind = c.optimizer;
  oc.clip = (float)c.clip;
  if (c.weightDecay) oc.weightDecay = (float)*c.weightDecay;
  oc.validate();

  // Data.
  task->load(c.data, c.valid, resumeFrom ? &*resumeFrom : nullptr);

  // Length buckets: the same model compiled at shorter lengths, sharing the parameters.
  std::vector<std::unique_ptr<rt::Program>> extra;
  std::vector<std::map<std::string, std::string>> extraSets = task->extraPrograms();
  if (!extraSets.empty() && rt::isArtifactDir(o.model)) {
    if (s.fromFlag("buckets"))
      throw rt::Error("length buckets compile the model at each bucket's lengths, so they need the .heed "
                      "file, not the compiled artifact '" + o.model + "'");
    std::fprintf(stderr, "note: '%s' is compiled for one set of lengths: training without the train block's "
                 "length buckets\n", o.model.c_str());
    task->bindExtra({});
    extraSets.clear();
  }
  for (const std::map<std::string, std::string> &add : extraSets) {
    std::map<std::string, std::string> merged = overrides;
    for (const auto &[k, v] : add) merged[k] = v;
    extra.push_back(buildProgram(o.model, merged, c.batch));
    checkSameParams(*program, *extra.back(), add);
  }
  if (!extra.empty()) {
    std::vector<rt::Program *> ptrs;
    for (auto &p : extra) ptrs.push_back(p.get());
    task->bindExtra(ptrs);
  }

  // Parameters (fresh, or the checkpoint's with Adam state).
  std::string modelDir = fs::path(o.model).parent_path().string();
  rt::ParamStore params = rt::createParams(*program, c.seed, modelDir.empty() ? "." : modelDir);
  if (resumeFrom) rt::loadTrainingState(resumeFrom->ckpt, params, /*withOptimizer=*/true);

  fs::create_directories(c.out);
  std::string metricsPath = (fs::path(c.out) / "metrics.jsonl").string();
  if (resumeFrom) truncateMetrics(metricsPath, startStep);
  MetricsFile metrics(metricsPath, /*truncate=*/!resumeFrom);
  if (!o.quiet) {
    std::printf("heed train: model %s (%s), %s parameters (%s trainable), backend: %s\n",
                info.name.c_str(), o.model.c_str(), formatCount((double)params.totalCount()).c_str(),
                formatCount((double)params.trainableCount()).c_str(),
                rt::isArtifactDir(o.model)      ? "compiled artifact"
                : backendName() == "compiled" ? "compiled (MLIR kernels + oneDNN)"
                                              : "reference interpreter");
    std::printf("%s", task->describeData().c_str());
    std::printf("%s; %s; %s, clip %s; seed %llu\n", task->describeStep(c.steps, c.batch).c_str(),
                schedule.describe().c_str(), c.optimizer.c_str(), c.clip > 0 ? fmt("%g", c.clip).c_str() : "off",
                (unsigned long long)c.seed);
    if (resumeFrom)
      std::printf("resuming from %s at step %lld\n", resumeFrom->path.c_str(), (long long)startStep);
    std::printf("out: %s\n", c.out.c_str());
    std::fflush(stdout);
  }

  // Checkpoint metadata (the step and last loss are filled in at save time).
  std::map<std::string, std::string> meta = {
      {"heed.format", std::to_string(rt::kRunFormatVersion)},
      {"heed.model_name", info.name},
      {"heed.model_file", o.model},
      {"heed.model_source", info.source},
      {"heed.source_hash", sourceHash(info.source)},
      {"heed.overrides", overridesToJson(info.overrides)},
      {"heed.steps", std::to_string(c.steps)},
      {"heed.seed", std::to_string(c.seed)},
      {"heed.batch", std::to_string(c.batch)},
      {"heed.schedule", rt::scheduleKindName(kind)},
      {"heed.lr", fmt("%.9g", c.lr)},
      {"heed.warmup", std::to_string(c.warmup)},
      {"heed.optimizer", c.optimizer},
      {"heed.clip", fmt("%.9g", c.clip)},
      {"heed.data", c.data},
      {"heed.valid", c.valid},
  };
  task->addMetadata(meta);
  std::string lastCkpt = resumeFrom ? resumeFrom->path : "";
  double lastLoss = NAN;
  auto saveCheckpoint = [&](int64_t step) {
    meta["heed.step"] = std::to_string(step);
    meta["heed.train_loss"] = fmt("%.9g", lastLoss);
    std::string path = ckptPath(c.out, step);
    rt::saveTrainingState(path, params, meta);
    rt::writeLatestMarker(c.out, rt::checkpointFileName(step));
    lastCkpt = path;
    std::vector<int64_t> all = rt::checkpointSteps(c.out);
    for (size_t i = 0; i + (size_t)c.keepCheckpoints < all.size(); ++i) {
      std::error_code ec;
      fs::remove(ckptPath(c.out, all[i]), ec);
    }
  };
  auto lastGood = [&]() {
    return lastCkpt.empty() ? std::string("no checkpoint was written yet")
                            : "the last good checkpoint is " + lastCkpt;
  };

  // The loop.
  const rt::EntrySpec &entry = *program->entry("train_step");
  std::vector<rt::Tensor> inputs(entry.inputs.size());
  std::optional<rt::ProgressReporter> progress;
  if (!o.quiet) progress.emplace(c.steps, c.logEvery, stderr, startStep);
  auto note = [&](const std::string &line) {
    if (progress) progress->note(line);
  };

  gInterrupted = 0;
  auto oldHandler = std::signal(SIGINT, onInterrupt);
  struct Restore {
    void (*h)(int);
    ~Restore() { std::signal(SIGINT, h); }
  } restore{oldHandler};

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  double trainSeconds = 0;
  int64_t step = startStep;
  int64_t tokensSeen = 0;
  std::optional<ValidResult> lastValid;
  std::string stopReason;
  while (step < c.steps) {
    ++step;
    auto t0 = Clock::now();
    tokensSeen += task->fillBatch(step, c.batch, c.seed, inputs);
    float lr = schedule.lrAt(step);
    float gradNorm = NAN;
    rt::RunContext ctx;
    ctx.params = &params;
    ctx.step = step;
    ctx.training = true;
    ctx.applyGradients = [&](std::vector<std::pair<std::string, rt::Tensor>> &g) {
      gradNorm = rt::applyUpdate(params, g, oc, lr, step, updateKernels);
    };
    rt::Program *stepProgram = task->stepProgram();
    std::vector<rt::Tensor> out = (stepProgram ? stepProgram : program.get())->run("train_step", inputs, ctx);
    double loss = (double)out.at((size_t)task->lossIndex()).f32()[0];
    trainSeconds += std::chrono::duration<double>(Clock::now() - t0).count();
    if (!std::isfinite(loss))
      throw rt::Error("loss is not finite at step " + std::to_string(step) + "; " + lastGood());
    if (!std::isfinite(gradNorm))
      throw rt::Error("gradient norm is not finite at step " + std::to_string(step) + "; " + lastGood());
    lastLoss = loss;

    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    bool last = step == c.steps;
    if (!last && c.maxMinutes > 0 && elapsed >= c.maxMinutes * 60) stopReason = "max-minutes";
    if (!last && gInterrupted) stopReason = "interrupt";
    bool stopping = last || !stopReason.empty();

    rt::StepStats st;
    st.step = step;
    st.loss = loss;
    st.lr = lr;
    st.tokensPerSec = trainSeconds > 0 ? (double)tokensSeen / trainSeconds : 0;
    st.elapsedSec = elapsed;
    st.gradNorm = gradNorm;
    bool evalNow = task->hasValid() && ((c.evalEvery > 0 && step % c.evalEvery == 0) || stopping);
    std::optional<ValidResult> vr;
    if (evalNow) {
      vr = task->validate(*program, params, step, stopping);
      st.validLoss = vr->loss;
      lastValid = vr;
      // The progress line shows the loss too, unless it is redrawn or not printed at this step.
      if (progress && (progress->isTerminal() || (step % c.logEvery != 0 && !stopping) || vr->wer))
        note("step " + std::to_string(step) + ": " + task->describeValid(*vr));
    }
    if (step % c.logEvery == 0 || stopping || evalNow) metrics.write(st, vr);
    if (progress) progress->update(st);
    if (step % c.ckptEvery == 0 || stopping) saveCheckpoint(step);
    if (!stopReason.empty()) break;
  }
  if (progress) progress->finish();

  double wall = std::chrono::duration<double>(Clock::now() - start).count();
  if (stopReason == "interrupt") {
    std::printf("interrupted at step %lld; checkpoint %s (continue with --resume)\n", (long long)step,
                lastCkpt.c_str());
    return 130;
  }
  if (stopReason == "max-minutes")
    std::printf("stopped after %s at step %lld of %lld (--max-minutes %g); continue with --resume\n",
                rt::formatDuration(wall).c_str(), (long long)step, (long long)c.steps, c.maxMinutes);
  std::printf("trained %lld steps (to step %lld) in %s, %s tok/s\n", (long long)(step - startStep),
              (long long)step, rt::formatDuration(wall).c_str(),
              rt::formatRate(trainSeconds > 0 ? (double)tokensSeen / trainSeconds : 0).c_str());
  std::printf("final train loss %.4f\n", lastLoss);
  if (lastValid && lastValid->loss) {
    std::printf("final valid loss %.4f nats/%s, perplexity %.2f\n", *lastValid->loss, seq2seq ? "token" : "byte",
                std::exp(*lastValid->loss));
    if (lastValid->wer)
      std::printf("final valid greedy WER %.2f%%, PER %.2f%% (%lld words)\n", 100 * *lastValid->wer,
                  100 * *lastValid->per, (long long)lastValid->words);
  }
  std::printf("checkpoint %s\n", lastCkpt.c_str());
  return 0;
}

}  // namespace

int runTrain(const TrainOptions &o) {
  return reportErrors([&] {
    return train(o);
  });
}

}  // namespace heed

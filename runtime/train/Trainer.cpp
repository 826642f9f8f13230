//===- Trainer.cpp - a training run as a library ---------------------------===//

#include "runtime/train/Trainer.h"

#include "runtime/AtomicFile.h"
#include "runtime/Checkpoint.h"
#include "runtime/Error.h"
#include "runtime/Random.h"
#include "runtime/train/Divergence.h"
#include "runtime/train/RunSettings.h"
#include "runtime/train/StepReplay.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>

namespace fs = std::filesystem;

namespace heed::rt {

namespace {

/// Bucket programs train the main program's parameters, so they must have the
/// same ones (a parameter sized by a length, e.g. a learned position table, cannot).
void checkSameParams(const Program &main, const Program &other, const std::map<std::string, std::string> &at) {
  std::string where;
  for (const auto &[k, v] : at) where += (where.empty() ? "" : ", ") + k + " = " + v;
  const auto &a = main.params(), &b = other.params();
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    if (i >= a.size() || i >= b.size() || a[i].name != b[i].name)
      throw Error("length buckets: the model has different parameters at " + where + " than at its own lengths");
    if (a[i].shape != b[i].shape)
      throw Error("length buckets: parameter '" + a[i].name + "' has shape " + shapeToString(b[i].shape) + " at " +
                  where + " but " + shapeToString(a[i].shape) +
                  " at the model's own lengths; buckets need parameters that do not depend on the lengths");
  }
}

/// The first parameter or moment of the store that holds a NaN or an infinity.
struct NonFinite {
  const Param *param;
  std::string what;  // "parameter 'x'" or "Adam moment of 'x'"
};
std::optional<NonFinite> firstNonFinite(const ParamStore &params) {
  for (const Param &p : params)
    for (const Tensor *t : {&p.value, &p.m, &p.v}) {
      if (!t->defined() || t->dtype() != DType::F32) continue;
      const float *x = t->f32();
      for (int64_t i = 0; i < t->size(); ++i)
        if (!std::isfinite(x[i]))
          return NonFinite{&p, std::string(t == &p.value ? "parameter" : "Adam moment of") + " '" + p.name + "'"};
    }
  return std::nullopt;
}

/// Runs f on every rank; if it throws on any, every rank throws at this point:
/// the lowest failing rank its own error (naming the rank when there are
/// several), the others OtherRankFailed (which print nothing).
template <class F>
void collectively(Communicator &comm, F &&f) {
  std::exception_ptr err;
  try {
    f();
  } catch (...) {
    err = std::current_exception();
  }
  if (comm.size() == 1) {
    if (err) std::rethrow_exception(err);
    return;
  }
  const int first = comm.firstTrue(err != nullptr);
  if (first < 0) return;
  if (first != comm.rank()) throw OtherRankFailed{first};
  try {
    std::rethrow_exception(err);
  } catch (const Error &e) {
    if (comm.rank() == 0) throw;
    throw Error("rank " + std::to_string(comm.rank()) + " of " + std::to_string(comm.size()) + ": " + e.what());
  }
}

/// Stop requests, OR-ed over the ranks after every step.
enum StopBits : uint32_t { kStopInterrupt = 1, kStopBudget = 2 };

}  // namespace

/// Time-budgeted runs: the fraction of the budget between the checkpoints kept for averaging.
static constexpr double kMarkSpacing = 0.05;

static double steadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Trainer::Trainer(ProgramFactory &factory, TrainRequest request, TrainObserver *observer, Communicator *comm)
    : factory(factory), req(std::move(request)), observer(observer ? observer : &silent),
      comm(comm ? comm : &local), now(steadySeconds) {}

Trainer::~Trainer() = default;

bool Trainer::seq2seq() const { return std::string(task_->name()) == "seq2seq"; }

void Trainer::prepare() {
  collectively(*comm, [&] {
    if (!fs::is_regular_file(req.model) && !fs::is_directory(req.model))  // a directory: an artifact
      throw Error("cannot read model file '" + req.model + "'");
    resolveConfig();
    checkResume();
    buildPrograms();
    initParams();
    if (isRoot()) openRunDirectory();
  });
  checkSameJob();
}

/// Every rank must train the same model with the same settings: rank 0 compares
/// the hashes of the model text, the overrides and the settings of all ranks.
void Trainer::checkSameJob() {
  if (comm->size() == 1) return;
  std::string job = program->info().source + "\n" + overridesToJson(req.overrides) + "\n" +
                    (req.resume ? "resume\n" : "\n");
  for (const auto &[k, v] : req.settings) job += k + "=" + v + "\n";
  std::vector<uint64_t> all = comm->allgatherU64(hashString(job));
  std::string differ;
  for (size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0]) differ += (differ.empty() ? "" : ", ") + std::to_string(r);
  if (differ.empty()) return;
  if (!isRoot()) throw OtherRankFailed{0};
  throw Error("rank" + std::string(differ.find(',') == std::string::npos ? " " : "s ") + differ +
              " of this mpirun job " + (differ.find(',') == std::string::npos ? "trains" : "train") +
              " a different model, --set overrides or settings than rank 0; every rank must run the same "
              "heed train command");
}

/// The first build (the batch and precision from the flags, else the model's), the task and the settings.
void Trainer::resolveConfig() {
  std::optional<int64_t> flagBatch;
  std::optional<Precision> flagPrecision;
  {
    Settings s(req.settings, {});
    if (s.has("batch")) flagBatch = s.integer("batch", 1);
    if (s.has("precision")) flagPrecision = readPrecision(s);
  }
  // A --data or --valid that cannot be read is refused before the compile, which takes
  // minutes for a large model (a data file named only by the train block is read later).
  for (const char *key : {"data", "valid"})
    if (auto it = req.settings.find(key); it != req.settings.end() && !it->second.empty())
      requireReadableFile(it->second, "data file");
  // An artifact's batch is checked against the slices in buildPrograms.
  program = factory.build(req.model, req.overrides, fs::is_directory(req.model) ? std::nullopt : flagBatch,
                          BuildPurpose::Train, flagPrecision);
  const ModelInfo &info = program->info();
  settings.emplace(req.settings, info.train);
  Settings &s = *settings;
  c.precision = info.precision;  // the flag's, else the train block's (or an artifact's), else fp32
  task_ = makeTaskFor(*program);
  task_->bind(*program);  // reject models that do not fit before anything else

  readRunSettings(s, info.name, c);
  kind = parseScheduleKind(c.schedule);
  if (c.data.empty())
    throw Error(seq2seq() ? "heed train needs --data FILE (a source<TAB>target file to train on)"
                          : "heed train needs --data FILE (a text file to train on)");
  task_->configure(s);
}

/// Resume: the run directory's latest checkpoint fixes the model, the batch, the
/// seed and (unless given again) the schedule and optimizer. A fresh run may not
/// write into a directory that holds one. Either way the directory is locked
/// first, if it exists.
void Trainer::checkResume() {
  Settings &s = *settings;
  const ModelInfo &info = program->info();
  if (isRoot() && fs::is_directory(c.out)) {
    dir = std::make_unique<RunDirectory>(c.out);
    removedTemps = dir->removeStaleTemporaries();
  }
  if (!req.resume) {
    if (dir && dir->holdsRun())
      throw Error("the run directory '" + c.out +
                  "' already holds checkpoints: pass --resume to continue that run, or choose another --out");
    return;
  }
  if (!fs::is_directory(c.out)) throw Error("--resume: the run directory '" + c.out + "' does not exist");
  resumeFrom = readRunCheckpoint(c.out);
  const RunCheckpoint &rc = *resumeFrom;
  if (rc.averaged())
    throw Error("--resume: checkpoint '" + rc.path + "' was written by heed average (the mean of " +
                rc.meta("heed.averaged") +
                "): it holds no optimizer state and is not a point of the run, so it cannot be resumed");
  if (rc.meta("heed.source_hash") != sourceHash(info.source))
    throw Error("--resume: " + req.model + " is not the model that checkpoint '" + rc.path +
                "' was trained with (its source changed); train it in a new --out");
  if (rc.overrides != info.overrides)  // an artifact's are compiled in
    throw Error("--resume: the --set overrides differ from the run's (" + overridesToJson(rc.overrides) + " in '" +
                rc.path + "')");
  if (std::optional<std::string> bad = firstNonFinite(rc.ckpt)) {
    std::string earlier;
    for (int64_t st : dir ? dir->checkpointSteps() : std::vector<int64_t>{}) {
      std::string p = dir->checkpointPath(st);
      if (fs::equivalent(p, rc.path)) continue;
      try {
        if (!firstNonFinite(loadCheckpoint(p))) earlier = fs::path(p).filename().string();
      } catch (const Error &) {
      }
    }
    throw Error("--resume: checkpoint '" + rc.path + "' is not a good checkpoint: " + *bad + " not finite" +
                (earlier.empty() ? "; the run directory holds no finite checkpoint to resume from"
                                 : "; the newest finite one is " + earlier + " (write that name into '" +
                                       (fs::path(c.out) / "latest").string() + "' to resume from it)"));
  }
  auto mustMatch = [&](const std::string &key, const std::string &mine, bool given) {
    std::string theirs = rc.meta("heed." + key);
    if (given && theirs != mine)
      throw Error("--resume: " + s.where(key) + " is " + mine + " but the run used " + theirs +
                  "; a resumed run keeps its " + key);
  };
  const bool runByTime = rc.meta("heed.schedule_by") == "time";
  if (s.fromFlag("schedule_by") && c.byTime != runByTime)
    throw Error(std::string("--resume: the run schedules by ") + (runByTime ? "time" : "steps") + ", not " +
                (c.byTime ? "time" : "steps") + "; a resumed run keeps its schedule_by");
  if (runByTime) {
    // The budget and the bound are the run's own, and so is the budget already used.
    s.setResumed("schedule_by", "time");
    s.setResumed("steps", rc.meta("heed.steps"));
    if (!rc.meta("heed.max_minutes").empty()) s.setResumed("max_minutes", rc.meta("heed.max_minutes"));
    c.byTime = true;
    c.steps = s.integer("steps", kUnboundedSteps, 1);
    c.maxMinutes = s.number("max_minutes", 0, 0, true);
    try {
      elapsedBefore = std::stod(rc.meta("heed.elapsed_s", "0"));
    } catch (const std::exception &) {
      throw Error("checkpoint '" + rc.path + "': its metadata 'heed.elapsed_s' is not a number");
    }
  } else {
    c.byTime = false;
  }
  mustMatch("batch", std::to_string(c.batch), s.has("batch"));
  mustMatch("seed", std::to_string(c.seed), s.has("seed"));
  c.batch = rc.metaInt("heed.batch", c.batch, 1);
  c.seed = metadataUnsigned(rc.ckpt, "heed.seed", c.seed);
  // heed writes checkpoints after a step, so a heed.step of 0 is damage (resuming it would
  // restart the schedule on trained weights and moments).
  startStep_ = rc.metaInt("heed.step", 0, 1);
  if (startStep_ >= c.steps)
    throw Error("--resume: the run in '" + c.out + "' is already at step " + std::to_string(startStep_) +
                "; pass --steps above that to continue it");
  // Settings not given again are the run's own.
  for (const char *key : {"schedule", "optimizer", "lr", "lr_floor", "warmup", "clip"})
    if (!rc.meta(std::string("heed.") + key).empty()) s.setResumed(key, rc.meta(std::string("heed.") + key));
  c.schedule = s.str("schedule", c.schedule);
  kind = parseScheduleKind(c.schedule);
  c.optimizer = s.str("optimizer", c.optimizer);
  c.clip = s.number("clip", c.clip, 0);
  c.lrFloor = s.number("lr_floor", c.lrFloor, 0);
  // The run's precision unless --precision says otherwise: the master weights and
  // Adam's moments are fp32 at either precision, so a switch is allowed (and recorded).
  const Precision runPrecision = checkpointPrecision(rc);
  c.precisionHistory = rc.meta("heed.precision_history");
  if (!s.fromFlag("precision")) {
    c.precision = runPrecision;
  } else if (c.precision != runPrecision) {
    if (c.precisionHistory.empty()) c.precisionHistory = std::string(precisionName(runPrecision)) + "@0";
    c.precisionHistory += std::string(",") + precisionName(c.precision) + "@" + std::to_string(startStep_);
    observer->note(std::string("--resume: the run trained at ") + precisionName(runPrecision) + "; it continues at " +
                   precisionName(c.precision) + " from step " + std::to_string(startStep_));
  }
}

/// The program at the run's batch, the schedule, the optimizer, the data, and
/// the length-bucket programs (the same model compiled at shorter lengths).
void Trainer::buildPrograms() {
  Settings &s = *settings;
  const ModelInfo info0 = program->info();
  const bool artifact = fs::is_directory(req.model);
  const int64_t slices = comm->size() * c.microBatches;
  // An artifact is compiled for one batch: trained in slices, that is the slice's batch.
  const bool artifactSlices = artifact && slices > 1;
  if (artifactSlices) {
    const int64_t b = info0.config.count("batch") ? (int64_t)info0.config.at("batch") : 0;
    if (b * slices != c.batch)
      throw Error("'" + req.model + "' was compiled for batch " + std::to_string(b) + "; trained in " +
                  std::to_string(slices) + " slices (" +
                  (comm->size() > 1 ? std::to_string(comm->size()) + " processes x " : std::string()) +
                  std::to_string(c.microBatches) + " micro-batches), each slice runs it, so the batch is " +
                  std::to_string(b * slices) + ", not " + std::to_string(c.batch) + ": pass --batch " +
                  std::to_string(b * slices) + " or recompile it with heed compile --batch " +
                  std::to_string(c.batch / slices));
  } else if ((info0.config.count("batch") && (int64_t)info0.config.at("batch") != c.batch) ||
             info0.precision != c.precision) {
    program = factory.build(req.model, req.overrides, c.batch, BuildPurpose::Train, c.precision);
  }
  task_->bind(*program);
  const ModelInfo &info = program->info();

  ScheduleConfig sc = readSchedule(s, c, kind, info.config, /*complete=*/true);
  schedule_.emplace(sc);
  c.lr = schedule_->peak();
  oc = readOptimizer(c);

  task_->load(c.data, c.valid, resumeFrom ? &*resumeFrom : nullptr);

  // N processes x M micro-batches: N*M slices, rank r training r*M .. r*M+M-1.
  slices_ = comm->size() * c.microBatches;
  checkBatchSplits(c.batch, comm->size(), c.microBatches);
  sliceRows = c.batch / slices_;
  const int64_t trainBatch = sliceRows;
  if (slices_ > 1 && !artifactSlices) {
    sliceProgram = factory.build(req.model, req.overrides, sliceRows, BuildPurpose::Train, c.precision);
    if (!sliceProgram->entry("train_step")) throw Error("the model at batch " + std::to_string(sliceRows) +
                                                        " has no train_step");
  }

  std::vector<std::map<std::string, std::string>> extraSets = task_->extraPrograms();
  if (!extraSets.empty() && artifact) {
    if (s.fromFlag("buckets"))
      throw Error("length buckets compile the model at each bucket's lengths, so they need the .heed "
                  "file, not the compiled artifact '" +
                  req.model + "'");
    observer->note("'" + req.model +
                   "' is compiled for one set of lengths: training without the train block's length buckets");
    task_->bindExtra({});
    extraSets.clear();
  }
  for (const std::map<std::string, std::string> &add : extraSets) {
    std::map<std::string, std::string> merged = req.overrides;
    for (const auto &[k, v] : add) merged[k] = v;
    extra.push_back(factory.build(req.model, merged, trainBatch, BuildPurpose::Train, c.precision));
    extraOverrides.push_back(merged);
    checkSameParams(*program, *extra.back(), add);
  }
  if (!extra.empty()) {
    std::vector<Program *> ptrs;
    for (auto &p : extra) ptrs.push_back(p.get());
    task_->bindExtra(ptrs);
  }
}

/// Fresh parameters, or the checkpoint's with Adam state; the checkpoint metadata.
void Trainer::initParams() {
  std::string modelDir = fs::path(req.model).parent_path().string();
  params_ = createParams(*program, c.seed, modelDir.empty() ? "." : modelDir);
  if (resumeFrom) loadTrainingState(resumeFrom->ckpt, params_, /*withOptimizer=*/true);
  // A non-finite initial value (a load() file holding a NaN) could never be checkpointed.
  else if (std::optional<NonFinite> bad = firstNonFinite(params_))
    throw Error("the " + bad->what + " is not finite before step 1 (its init is " + bad->param->init +
                "): training could never write a good checkpoint");

  const ModelInfo &info = program->info();
  meta = {
      {"heed.format", std::to_string(kRunFormatVersion)},
      {"heed.model_name", info.name},
      {"heed.model_file", req.model},
      {"heed.model_source", info.source},
      {"heed.source_hash", sourceHash(info.source)},
      {"heed.overrides", overridesToJson(info.overrides)},
      {"heed.steps", std::to_string(c.steps)},
      {"heed.seed", std::to_string(c.seed)},
      {"heed.batch", std::to_string(c.batch)},
      {"heed.schedule", scheduleKindName(kind)},
      {"heed.lr", formatNumber("%.9g", c.lr)},
      {"heed.warmup", std::to_string(c.warmup)},
      {"heed.optimizer", c.optimizer},
      {"heed.clip", formatNumber("%.9g", c.clip)},
      {"heed.data", c.data},
      {"heed.valid", c.valid},
      {"heed.precision", precisionName(c.precision)},
  };
  if (kind == ScheduleKind::Cosine) meta["heed.lr_floor"] = formatNumber("%.9g", c.lrFloor);
  if (!c.precisionHistory.empty()) meta["heed.precision_history"] = c.precisionHistory;
  // How the step was split (the step is the same; kept for the record).
  if (c.microBatches > 1) meta["heed.micro_batches"] = std::to_string(c.microBatches);
  if (comm->size() > 1) meta["heed.world_size"] = std::to_string(comm->size());
  if (c.byTime) {
    meta["heed.schedule_by"] = "time";
    meta["heed.max_minutes"] = formatNumber("%.17g", c.maxMinutes);
  }
  task_->addMetadata(meta);
  lastCkpt = resumeFrom ? resumeFrom->path : "";
}

void Trainer::openRunDirectory() {
  if (!dir) dir = std::make_unique<RunDirectory>(c.out);
  if (resumeFrom) dir->truncateMetrics(startStep_);
  metrics = std::make_unique<MetricsFile>(dir->metricsPath(), /*truncate=*/!resumeFrom);
}

std::string Trainer::lastGood() const {
  return lastCkpt.empty() ? std::string("no checkpoint was written yet") : "the last good checkpoint is " + lastCkpt;
}

std::string Trainer::describeSchedule() const {
  if (!c.byTime) return schedule_->describe();
  return "cosine(peak " + formatNumber("%.1e", schedule_->peak()) + ", warmup " + std::to_string(c.warmup) +
         ", over the " + formatNumber("%g", c.maxMinutes) + " min budget, floor " +
         formatNumber("%.1e", c.lrFloor * schedule_->peak()) + ")";
}

std::string Trainer::saveCheckpoint(int64_t step, double lastLoss, double elapsed, double progress) {
  if (std::optional<NonFinite> bad = firstNonFinite(params_))
    throw Error("the " + bad->what + " is not finite after step " + std::to_string(step) +
                ": not writing that checkpoint; " + lastGood());
  meta["heed.step"] = std::to_string(step);
  meta["heed.train_loss"] = formatNumber("%.9g", lastLoss);
  if (c.byTime) {
    meta["heed.elapsed_s"] = formatNumber("%.17g", elapsed);
    meta["heed.progress"] = formatNumber("%.17g", progress);
  }
  if (isRoot()) lastCkpt = dir->saveTrainingState(step, params_, meta, c.keepCheckpoints);
  else lastCkpt = (fs::path(c.out) / ("ckpt-" + std::to_string(step) + ".safetensors")).string();  // rank 0's
  return lastCkpt;
}

std::vector<std::vector<Tensor>> Trainer::sliceInputs(const std::vector<Tensor> &inputs,
                                                      const EntrySpec &entry) const {
  std::vector<std::vector<Tensor>> in((size_t)slices_);
  for (int64_t s = 0; s < slices_; ++s)
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Tensor &t = inputs[i];
      const Shape &want = entry.inputs.at(i).shape;
      bool split = t.rank() >= 1 && t.shape()[0] == c.batch && !want.empty() && want[0] == sliceRows;
      in[(size_t)s].push_back(split ? batchRows(t, s * sliceRows, sliceRows) : t);
    }
  return in;
}

StepReplayRequest Trainer::replayRequest(int64_t step, const std::vector<Tensor> &inputs) {
  StepReplayRequest r;
  r.model = req.model;
  r.overrides = req.overrides;
  r.step = step;
  r.params = &params_;
  r.precision = c.precision;
  Program *bucket = task_->stepProgram();
  for (size_t i = 0; i < extra.size(); ++i)
    if (extra[i].get() == bucket) r.overrides = extraOverrides[i];
  if (slices_ == 1) {
    r.batch = c.batch;
    r.slices = {inputs};
  } else {
    r.batch = sliceRows;
    r.sliceRows = sliceRows;
    Program *prog = bucket ? bucket : sliceProgram ? sliceProgram.get() : program.get();  // an artifact: itself
    r.slices = sliceInputs(inputs, *prog->entry("train_step"));
  }
  return r;
}

/// A deep copy of the parameters and their moments.
static ParamStore copyParams(const ParamStore &params) {
  ParamStore copy = params;
  for (Param &p : copy)
    for (Tensor *t : {&p.value, &p.m, &p.v})
      if (t->defined()) *t = t->clone();
  return copy;
}

double Trainer::runSlices(int64_t step, std::vector<Tensor> &inputs, GradientSum &grads, int64_t &tokens) {
  tokens = task_->fillBatch(step, c.batch, c.seed, inputs);  // the whole batch, on every rank
  Program *bucket = task_->stepProgram();
  Program &prog = bucket ? *bucket : sliceProgram ? *sliceProgram : *program;  // an artifact: itself
  const EntrySpec &entry = *prog.entry("train_step");
  // Every slice's inputs and targets (every rank knows all weights without talking).
  std::vector<std::vector<Tensor>> in = sliceInputs(inputs, entry);
  std::vector<int64_t> counts((size_t)slices_);
  int64_t total = 0;
  for (int64_t s = 0; s < slices_; ++s) {
    counts[(size_t)s] = task_->countTargets(in[(size_t)s]);
    total += counts[(size_t)s];
  }
  if (total <= 0) throw Error("step " + std::to_string(step) + "'s batch has no targets");
  auto weight = [&](int64_t s) { return (double)counts[(size_t)s] / (double)total; };
  // This process's slices: rank r trains slices r*M .. r*M+M-1 (M = micro_batches).
  const int64_t perRank = slices_ / comm->size(), first = comm->rank() * perRank, end = first + perRank;
  // Overlap the gradient sums with the backward (HEED_OVERLAP_ALLREDUCE=0: sum after it, for measuring).
  static const bool overlap = [] {
    const char *e = std::getenv("HEED_OVERLAP_ALLREDUCE");
    return !e || std::string(e) != "0";
  }();
  std::vector<double> losses((size_t)slices_, 0.0);
  for (int64_t s = first; s < end; ++s) {
    const int term = (int)(s - first);
    const float w = (float)weight(s);
    RunContext ctx;
    ctx.params = &params_;
    ctx.step = step;
    ctx.training = true;
    ctx.rowOffset = s * sliceRows;
    ctx.sliceRows = sliceRows;
    ctx.bf16ShadowsCurrent = shadowsCurrent_;
    ctx.applyGradients = [&](std::vector<std::pair<std::string, Tensor>> &g) { grads.addRest(term, g, w); };
    if (comm->size() > 1 && overlap) {
      ctx.bucketReady = [&](int64_t b, std::vector<std::pair<std::string, Tensor>> &g) {
        grads.addBucket(term, b, g, w);
      };
      ctx.betweenSteps = [&] { grads.progress(); };
    }
    std::vector<Tensor> out = prog.run("train_step", in[(size_t)s], ctx);
    losses[(size_t)s] = (double)out.at((size_t)task_->lossIndex()).f32()[0];
  }
  if (grads.empty()) throw Error("train_step produced no gradients");
  double loss = 0;
  if (comm->size() > 1) {
    std::vector<double> all((size_t)slices_);
    comm->allgather(losses.data() + first, (size_t)perRank * sizeof(double), all.data());
    losses = std::move(all);
  }
  for (int64_t s = 0; s < slices_; ++s) loss += weight(s) * losses[(size_t)s];
  return loss;
}

/// HEED_PROFILE: the loop's wall time by phase, on stderr as the executor's profile.
static void printLoopTimes(const TrainSummary &sum) {
  const TrainSummary::LoopTimes &t = sum.loop;
  const double total = t.batch + t.step + t.update + t.after;
  const int64_t steps = std::max<int64_t>(1, sum.step - sum.startStep);
  if (total <= 0) return;
  std::fprintf(stderr, "heed profile (train loop), total %.3f s over %lld steps\n", total, (long long)steps);
  const std::pair<const char *, double> rows[] = {{"batch (data, bucket)", t.batch},
                                                  {"train_step", t.step},
                                                  {"optimizer update", t.update},
                                                  {"validation, log, ckpt", t.after}};
  for (const auto &[name, s] : rows)
    std::fprintf(stderr, "  %-22s %8.3f s  %5.1f%%  %8.1f us/step\n", name, s, 100 * s / total,
                 1e6 * s / (double)steps);
}

TrainSummary Trainer::run(const std::function<bool()> &stopRequested) {
  const EntrySpec &entry = *program->entry("train_step");
  std::vector<Tensor> inputs(entry.inputs.size());
  const UpdateKernels *updateKernels = program->updateKernels();

  const double start = now(), budget = c.maxMinutes * 60;
  // A time-budgeted run counts the budget across resumes.
  const double offset = c.byTime ? elapsedBefore : 0;
  // Time-budgeted runs keep their last checkpoints for averaging at fixed
  // fractions of the budget, one twentieth apart and ending with it, so that the
  // newest keep_checkpoints cover the annealed end of the run on any host.
  std::vector<double> marks;
  if (c.byTime)
    for (int64_t j = c.keepCheckpoints - 1; j >= 0; --j) marks.push_back(std::max(0.0, 1.0 - kMarkSpacing * (double)j));
  size_t nextMark = 0;
  while (nextMark < marks.size() && offset / budget >= marks[nextMark]) ++nextMark;
  const DivergenceRule divergence(c.divergence, task_->lossClasses(), c.warmup);
  TrainSummary sum;
  sum.startStep = startStep_;
  shadowsCurrent_ = false;
  sum.lastLoss = NAN;
  int64_t step = startStep_;
  while (step < c.steps) {
    ++step;
    const double tLoop = steadySeconds();
    const double t0 = now();
    // Capped at 1: a step can start just past the budget (the previous one ended
    // inside it, then a checkpoint or a validation ran); it trains at the floor.
    double progress = c.byTime ? std::min(1.0, (offset + t0 - start) / budget) : NAN;
    if (c.byTime && comm->size() > 1) comm->broadcast(&progress, sizeof progress, 0);  // one lr for all ranks
    float lr = c.byTime ? schedule_->lrAtProgress(step, progress) : schedule_->lrAt(step);
    float gradNorm = NAN;
    double loss = NAN;
    // A finite loss is applied, unless it breaks the divergence rule: then the
    // update goes to a copy, so that the replay has the state before the step
    // and the report the update's size.
    std::optional<ParamStore> divergedUpdate;
    auto update = [&](const std::vector<std::pair<std::string, Tensor>> &g) -> float {
      if (!std::isfinite(loss)) return NAN;
      if (!divergence.check(step, loss)) return applyUpdate(params_, g, oc, lr, step, updateKernels, &shadowsCurrent_);
      divergedUpdate = copyParams(params_);
      return applyUpdate(*divergedUpdate, g, oc, lr, step, updateKernels);
    };
    double tStep = 0, tUpdate = 0;  // steadySeconds() after the batch, after the step
    if (slices_ == 1) {
      sum.tokens += task_->fillBatch(step, c.batch, c.seed, inputs);
      tStep = steadySeconds();
      RunContext ctx;
      ctx.params = &params_;
      ctx.step = step;
      ctx.training = true;
      ctx.bf16ShadowsCurrent = shadowsCurrent_;
      // Applied once the loss is known to be finite, so that a non-finite step
      // leaves the state before it for the replay (the gradients are alive until
      // the optimizer step anyway: it takes them all).
      std::vector<std::pair<std::string, Tensor>> stepGrads;
      ctx.applyGradients = [&](std::vector<std::pair<std::string, Tensor>> &g) { stepGrads = g; };
      Program *stepProgram = task_->stepProgram();
      std::vector<Tensor> out = (stepProgram ? stepProgram : program.get())->run("train_step", inputs, ctx);
      loss = (double)out.at((size_t)task_->lossIndex()).f32()[0];
      tUpdate = steadySeconds();
      gradNorm = update(stepGrads);
    } else {
      tStep = steadySeconds();
      GradientSum grads(*comm, (int)(slices_ / comm->size()));
      int64_t tokens = 0;
      collectively(*comm, [&] { loss = runSlices(step, inputs, grads, tokens); });
      // Deterministic: slice order, across ranks rank order (Communicator.h).
      std::vector<std::pair<std::string, Tensor>> g = grads.finish();
      if (comm->size() > 1) {
        const GradientSum::Timing &tm = grads.timing();
        sum.allreduce.issueSeconds += tm.issue;
        sum.allreduce.progressSeconds += tm.progress;
        sum.allreduce.waitSeconds += tm.wait;
        sum.allreduce.buckets += tm.buckets;
        sum.allreduce.doneBeforeWait += tm.doneBeforeWait;
        sum.gradientFloats = tm.floats;
      }
      sum.tokens += tokens;
      tUpdate = steadySeconds();
      gradNorm = update(g);
    }
    const double tAfter = steadySeconds();
    sum.loop.batch += tStep - tLoop;  // slices: the batch is built inside the step
    sum.loop.step += tUpdate - tStep;
    sum.loop.update += tAfter - tUpdate;
    const double t1 = now();
    sum.trainSeconds += t1 - t0;
    // The loss and the norm are the same on every rank: every rank stops here
    // (rank 0 reports, after replaying the step while the others wait). Neither
    // a non-finite loss nor a non-finite gradient was applied (applyUpdate
    // refuses the latter), so the parameters and moments are the step's start.
    if (!std::isfinite(loss) || !std::isfinite(gradNorm)) {
      std::string why = std::string(std::isfinite(loss) ? "gradient norm" : "loss") + " is not finite at step " +
                        std::to_string(step) + "; " + lastGood();
      if (isRoot()) why += replayNonFiniteStep(factory, replayRequest(step, inputs));
      if (comm->size() > 1) comm->barrier();
      if (!isRoot()) throw OtherRankFailed{0};
      throw Error(why);
    }
    if (std::optional<std::string> diverged = divergence.check(step, loss)) {
      std::string why = *diverged + "; " + lastGood();
      if (isRoot() && divergedUpdate) why += replayDivergedStep(factory, replayRequest(step, inputs), *divergedUpdate);
      if (comm->size() > 1) comm->barrier();
      if (!isRoot()) throw OtherRankFailed{0};
      throw Error(why);
    }
    sum.lastLoss = loss;

    const double elapsed = offset + t1 - start;
    bool last = step == c.steps;
    uint32_t stopBits = 0;
    if (c.maxMinutes > 0 && elapsed >= budget) stopBits |= kStopBudget;
    if (stopRequested && stopRequested()) stopBits |= kStopInterrupt;
    if (comm->size() > 1) stopBits = comm->anyBits(stopBits);  // any rank's request stops all at this step
    if (!last && (stopBits & kStopBudget)) sum.stop = TrainSummary::Stop::MaxMinutes;
    if (!last && (stopBits & kStopInterrupt)) sum.stop = TrainSummary::Stop::Interrupted;
    const bool stopping = last || sum.stop != TrainSummary::Stop::Finished;

    StepStats st;
    st.step = step;
    st.loss = loss;
    st.lr = lr;
    st.tokensPerSec = sum.trainSeconds > 0 ? (double)sum.tokens / sum.trainSeconds : 0;
    st.elapsedSec = elapsed;
    st.budgetSec = c.maxMinutes * 60;
    st.gradNorm = gradNorm;
    const bool evalNow = task_->hasValid() && ((c.evalEvery > 0 && step % c.evalEvery == 0) || stopping);
    std::string fields = c.byTime ? ",\"progress\":" + formatNumber("%.9g", progress) : "";
    // Every rank validates its share of the batches; rank 0 logs and checkpoints,
    // the others wait for its verdict.
    std::optional<ValidResult> shared;
    if (evalNow) collectively(*comm, [&] { shared = task_->validate(*program, params_, step, stopping, *comm); });
    collectively(*comm, [&] {
      if (!isRoot()) return;
      if (evalNow) {
        ValidResult vr = *shared;
        st.validLoss = vr.loss;
        sum.lastValid = vr;
        if (vr.wer)
          fields += ",\"valid_wer\":" + formatNumber("%.6g", *vr.wer) + ",\"valid_per\":" + formatNumber("%.6g", *vr.per) +
                  ",\"valid_words\":" + std::to_string(vr.words);
        observer->validated(step, vr, stopping);
      }
      if (step % c.logEvery == 0 || stopping || evalNow) metrics->write(st, fields);
      observer->stepDone(st);
      bool save = step % c.ckptEvery == 0 || stopping;
      if (c.byTime) {
        // Inside the averaging window only the marks checkpoint.
        save = stopping || (step % c.ckptEvery == 0 && elapsed / budget < marks.front());
        for (; nextMark < marks.size() && elapsed / budget >= marks[nextMark]; ++nextMark) save = true;
      }
      if (save) saveCheckpoint(step, sum.lastLoss, elapsed, progress);
    });
    sum.loop.after += steadySeconds() - tAfter;
    if (sum.stop != TrainSummary::Stop::Finished) break;
  }
  sum.step = step;
  if (isRoot() && std::getenv("HEED_PROFILE")) printLoopTimes(sum);
  sum.wallSeconds = now() - start;
  sum.lastCheckpoint = lastCkpt;
  return sum;
}

}  // namespace heed::rt

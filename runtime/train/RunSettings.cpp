//===- RunSettings.cpp - a run's settings read and checked ----------------===//

#include "runtime/train/RunSettings.h"

#include "runtime/Error.h"
#include "runtime/train/Progress.h"
#include "runtime/train/TrainTask.h"

#include <algorithm>
#include <filesystem>

namespace heed::rt {

Precision readPrecision(const Settings &s) {
  const std::string text = s.str("precision");
  if (std::optional<Precision> p = parsePrecision(text)) return *p;
  throw Error(s.where("precision") + " expects fp32 or bf16, got '" + text + "'");
}

void readRunSettings(const Settings &s, const std::string &modelName, TrainConfig &c) {
  c.data = s.str("data");
  c.valid = s.str("valid");
  c.out = s.str("out", (std::filesystem::path("runs") / modelName).string());
  const std::string by = s.str("schedule_by");
  if (by != "steps" && by != "time") throw Error(s.where("schedule_by") + " expects steps or time, got '" + by + "'");
  c.byTime = by == "time";
  c.steps = c.byTime ? s.integer("steps", kUnboundedSteps, 1) : s.integer("steps", 1);
  c.batch = s.integer("batch", 1);
  c.seed = (uint64_t)s.integer("seed", 0);
  c.schedule = s.str("schedule");
  parseScheduleKind(c.schedule);  // an unknown name fails here, before the compile
  c.optimizer = s.str("optimizer");
  c.clip = s.number("clip", 0);
  c.lrFloor = s.number("lr_floor", 0);
  c.divergence = s.number("divergence", 0);
  if (s.has("weight_decay")) c.weightDecay = s.number("weight_decay", 0, 0);
  c.evalEvery = s.integer("eval_every", 0);
  c.evalBatches = s.integer("eval_batches", 1);
  c.ckptEvery = s.integer("checkpoint_every", c.evalEvery > 0 ? c.evalEvery : 500, 1);
  c.logEvery = s.integer("log_every", 1);
  c.microBatches = s.integer("micro_batches", 1);
  c.keepCheckpoints = s.integer("keep_checkpoints", 1);
  c.maxMinutes = s.number("max_minutes", 0, 0, s.has("max_minutes"));
}

ScheduleConfig readSchedule(const Settings &s, TrainConfig &c, ScheduleKind kind,
                            const std::map<std::string, double> &modelConfig, bool complete) {
  const int64_t defWarmup = kind == ScheduleKind::Noam
                                ? std::min<int64_t>(4000, std::max<int64_t>(1, c.steps / 10))
                                : std::min<int64_t>(4000, c.steps / 10);
  c.warmup = s.integer("warmup", defWarmup, kind == ScheduleKind::Noam ? 1 : 0);
  c.lr = s.number("lr", kind == ScheduleKind::Noam ? 0 : 1e-3, 0, true);
  ScheduleConfig sc;
  sc.kind = kind;
  sc.peak = (float)c.lr;
  sc.warmup = c.warmup;
  sc.total = c.steps;
  if (s.has("lr_floor") && kind != ScheduleKind::Cosine)
    throw Error(s.where("lr_floor") + " is the end of cosine's decay; schedule " + scheduleKindName(kind) +
                " has none (--schedule cosine)");
  if (c.lrFloor > 1)
    throw Error(s.where("lr_floor") + " is a fraction of the peak rate lr, in [0, 1]; got " +
                formatNumber("%g", c.lrFloor));
  sc.floor = c.lrFloor;
  if (kind == ScheduleKind::Noam && c.lr <= 0) {
    auto d = modelConfig.find("d_model");
    if (d != modelConfig.end()) {
      sc.dModel = (int64_t)d->second;
    } else if (complete) {
      throw Error("noam's default learning rate needs the model's d_model: the model has none, so pass --lr");
    }
  }
  if (c.byTime) {
    if (complete && c.maxMinutes <= 0)
      throw Error("--schedule-by time needs --max-minutes M: the budget the schedule anneals over");
    if (kind != ScheduleKind::Cosine)
      throw Error(std::string("--schedule-by time needs a schedule that decays to an end, --schedule cosine; ") +
                  scheduleKindName(kind) + " has none");
  }
  return sc;
}

OptimizerConfig readOptimizer(const TrainConfig &c) {
  OptimizerConfig oc;
  oc.kind = c.optimizer;
  oc.clip = (float)c.clip;
  if (c.weightDecay) oc.weightDecay = (float)*c.weightDecay;
  oc.validate();
  return oc;
}

void checkBatchSplits(int64_t batch, int64_t processes, int64_t microBatches) {
  const int64_t slices = processes * microBatches;
  if (batch % slices == 0) return;
  std::string into = processes == 1      ? std::to_string(slices) + " micro-batches"
                     : microBatches == 1 ? std::to_string(slices) + " processes"
                                         : std::to_string(processes) + " processes x " +
                                               std::to_string(microBatches) + " micro-batches";
  throw Error("the batch of " + std::to_string(batch) + " does not split into " + into +
              ": the batch must be a multiple of " + std::to_string(slices));
}

void checkTrainBlock(const std::map<std::string, std::string> &trainBlock,
                     const std::map<std::string, double> &modelConfig, const std::string &modelName,
                     bool seq2seq) {
  Settings s({}, trainBlock);
  TrainConfig c;
  readRunSettings(s, modelName, c);
  readPrecision(s);
  std::unique_ptr<TrainTask> task = seq2seq ? makeSeq2SeqTask(modelName) : makeLmTask(modelName);
  task->configure(s);
  readSchedule(s, c, parseScheduleKind(c.schedule), modelConfig, /*complete=*/false);
  readOptimizer(c);
  checkBatchSplits(c.batch, 1, c.microBatches);
}

}  // namespace heed::rt

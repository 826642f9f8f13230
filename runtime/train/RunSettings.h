//===- RunSettings.h - a run's settings read and checked, before any data -*- C++ -*-===//
//
// Everything a training run reads from its settings before it touches data, a
// checkpoint or a compiled program: each value's type and range, and the
// combinations that cannot work (lr_floor without cosine, schedule_by = time
// with noam, a batch that micro-batches do not split). The trainer reads
// through these functions, and `heed check` runs checkTrainBlock on the model's
// `train { }` block alone, so that check refuses every train-block value that
// heed train would, with the same message.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Precision.h"
#include "runtime/train/Optimizer.h"
#include "runtime/train/Schedule.h"
#include "runtime/train/Settings.h"
#include "runtime/train/Trainer.h"

#include <map>
#include <string>

namespace heed::rt {

/// The precision setting (fp32 | bf16); the error names where it came from.
Precision readPrecision(const Settings &s);

/// Data, run directory, step bound, batch, seed, schedule and optimizer names,
/// clip, lr_floor, divergence, weight decay, the eval/checkpoint/log cadences,
/// micro-batches and the time budget. `modelName` gives the default run
/// directory. Does not require data (the trainer does, after).
void readRunSettings(const Settings &s, const std::string &modelName, TrainConfig &c);

/// Warm-up, peak rate and floor of the schedule `kind`, after a resumed run's
/// settings are in `s`. `complete`: the run starts with these settings, so
/// what only flags could still supply is required too (a budget for
/// schedule_by = time, d_model for noam's default rate); `modelConfig` is the
/// model's config (d_model).
ScheduleConfig readSchedule(const Settings &s, TrainConfig &c, ScheduleKind kind,
                            const std::map<std::string, double> &modelConfig, bool complete);

/// The optimizer of c (kind, clip, weight decay), validated.
OptimizerConfig readOptimizer(const TrainConfig &c);

/// Refuses a batch that `processes` x `microBatches` slices do not split evenly.
void checkBatchSplits(int64_t batch, int64_t processes, int64_t microBatches);

/// `heed check`: every check above (and the task's: tokenizers, buckets) on a
/// model's train block, as heed train without flags would run them; settings a
/// flag could still supply (data, a time budget) are not required. Throws Error.
void checkTrainBlock(const std::map<std::string, std::string> &trainBlock,
                     const std::map<std::string, double> &modelConfig, const std::string &modelName,
                     bool seq2seq);

}  // namespace heed::rt

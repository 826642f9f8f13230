//===- Schedule.h - learning-rate schedules ---------------------*- C++ -*-===//
//
//   noam      peak * min(step / warmup, sqrt(warmup / step)): linear warm-up to
//             `peak` at step == warmup, then inverse-square-root decay. Without a
//             peak (peak <= 0) the paper's d_model^-0.5 * warmup^-0.5, i.e.
//             lrate = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5).
//   cosine    linear warm-up to peak (step / warmup), then cosine decay from
//             peak at step == warmup to floor * peak at step == total (floor
//             0.1 unless set: `lr_floor`); floor * peak after.
//   constant  peak, after an optional linear warm-up (step / warmup).
//
// Steps are 1-based; lrAt(0) throws.
//
// Time-budgeted runs (`--schedule-by time`, Trainer.h) keep the warm-up in
// steps and replace cosine's decay progress (step - warmup) / (total - warmup)
// by the fraction of the wall-clock budget used when the step starts:
// lrAtProgress(step, elapsed / budget).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>

namespace heed::rt {

enum class ScheduleKind { Noam, Cosine, Constant };

/// "noam", "cosine", "constant"; anything else throws an rt::Error listing them.
ScheduleKind parseScheduleKind(const std::string &name);
const char *scheduleKindName(ScheduleKind k);

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::Noam;
  float peak = 0;         // <= 0: noam's paper default; required (> 0) for cosine/constant
  int64_t warmup = 4000;  // steps; >= 1 for noam, >= 0 otherwise
  int64_t total = 0;      // cosine: the step at which the decay ends (> warmup)
  double floor = 0.1;     // cosine: the end rate as a fraction of peak, in [0, 1]
  int64_t dModel = 512;   // noam without a peak
};

class LrSchedule {
public:
  /// Validates the configuration (throws rt::Error naming the problem).
  explicit LrSchedule(const ScheduleConfig &cfg);
  /// The learning rate for 1-based `step`.
  float lrAt(int64_t step) const;
  /// Cosine with the decay's progress given (clamped to [0, 1]); the warm-up is
  /// still step / warmup. Other schedules have no progress: this throws.
  float lrAtProgress(int64_t step, double progress) const;
  /// The peak learning rate actually used (noam's default when none was given).
  float peak() const { return peak_; }
  const ScheduleConfig &config() const { return cfg_; }
  /// e.g. "noam(peak 7.0e-04, warmup 4000)" for logs.
  std::string describe() const;

private:
  ScheduleConfig cfg_;
  float peak_ = 0;
};

}  // namespace heed::rt

//===- Schedule.cpp - learning-rate schedules -----------------------------===//

#include "runtime/train/Schedule.h"

#include "runtime/Error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace heed::rt {

ScheduleKind parseScheduleKind(const std::string &name) {
  if (name == "noam") return ScheduleKind::Noam;
  if (name == "cosine") return ScheduleKind::Cosine;
  if (name == "constant") return ScheduleKind::Constant;
  throw Error(fmt::format("unknown learning-rate schedule '{}' (valid: noam, cosine, constant)", name));
}

const char *scheduleKindName(ScheduleKind k) {
  switch (k) {
  case ScheduleKind::Noam: return "noam";
  case ScheduleKind::Cosine: return "cosine";
  case ScheduleKind::Constant: return "constant";
  }
  return "?";
}

LrSchedule::LrSchedule(const ScheduleConfig &cfg) : cfg_(cfg) {
  const char *name = scheduleKindName(cfg.kind);
  if (cfg.warmup < 0) throw Error(fmt::format("schedule {}: warmup must be >= 0, got {}", name, cfg.warmup));
  if (!std::isfinite(cfg.peak)) throw Error(fmt::format("schedule {}: peak is not finite", name));
  switch (cfg.kind) {
  case ScheduleKind::Noam:
    if (cfg.warmup < 1) throw Error("schedule noam: warmup must be >= 1");
    if (cfg.peak > 0) {
      peak_ = cfg.peak;
    } else {
      if (cfg.dModel < 1)
        throw Error("schedule noam: without a peak learning rate, d_model must be >= 1");
      peak_ = (float)(1.0 / std::sqrt((double)cfg.dModel) / std::sqrt((double)cfg.warmup));
    }
    break;
  case ScheduleKind::Cosine:
    if (cfg.peak <= 0) throw Error("schedule cosine needs a peak learning rate > 0");
    if (cfg.total <= cfg.warmup)
      throw Error(fmt::format("schedule cosine: total steps ({}) must exceed warmup ({})", cfg.total,
                              cfg.warmup));
    if (!(cfg.floor >= 0 && cfg.floor <= 1))
      throw Error(fmt::format("schedule cosine: the floor is a fraction of the peak rate, in [0, 1]; got {}",
                              cfg.floor));
    peak_ = cfg.peak;
    break;
  case ScheduleKind::Constant:
    if (cfg.peak <= 0) throw Error("schedule constant needs a learning rate > 0");
    peak_ = cfg.peak;
    break;
  }
}

float LrSchedule::lrAt(int64_t step) const {
  if (step < 1) throw Error(fmt::format("lrAt: steps are 1-based, got {}", step));
  const double s = (double)step, w = (double)cfg_.warmup, peak = peak_;
  switch (cfg_.kind) {
  case ScheduleKind::Noam:
    return (float)(peak * std::min(s / w, std::sqrt(w / s)));
  case ScheduleKind::Cosine:
    return lrAtProgress(step, (s - w) / (double)(cfg_.total - cfg_.warmup));
  case ScheduleKind::Constant:
    if (step < cfg_.warmup) return (float)(peak * s / w);
    return (float)peak;
  }
  return 0;
}

float LrSchedule::lrAtProgress(int64_t step, double progress) const {
  if (step < 1) throw Error(fmt::format("lrAt: steps are 1-based, got {}", step));
  if (cfg_.kind != ScheduleKind::Cosine)
    throw Error(fmt::format("schedule {} has no decay to schedule by progress", scheduleKindName(cfg_.kind)));
  const double s = (double)step, w = (double)cfg_.warmup, peak = peak_;
  if (step < cfg_.warmup) return (float)(peak * s / w);
  progress = std::min(1.0, std::max(0.0, progress));
  const double lo = cfg_.floor * peak;
  return (float)(lo + (peak - lo) * 0.5 * (1.0 + std::cos(M_PI * progress)));
}

std::string LrSchedule::describe() const {
  switch (cfg_.kind) {
  case ScheduleKind::Noam:
    return fmt::format("noam(peak {:.1e}{}, warmup {})", peak_,
                       cfg_.peak > 0 ? "" : fmt::format(" = d_model {}^-0.5 * warmup^-0.5", cfg_.dModel),
                       cfg_.warmup);
  case ScheduleKind::Cosine:
    return fmt::format("cosine(peak {:.1e}, warmup {}, total {}, floor {:.1e})", peak_, cfg_.warmup,
                       cfg_.total, cfg_.floor * peak_);
  case ScheduleKind::Constant:
    return fmt::format("constant({:.1e}, warmup {})", peak_, cfg_.warmup);
  }
  return "?";
}

}  // namespace heed::rt

//===- Progress.cpp - training progress and metrics -----------------------===//

#include "runtime/train/Progress.h"

#include "runtime/Error.h"

#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <unistd.h>

namespace heed::rt {

std::string formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t t = (int64_t)(seconds + 1e-6);  // absorb rounding error (41 / 20 * 1880 = 3853.99..)
  const int64_t h = t / 3600, m = (t / 60) % 60, s = t % 60;
  if (h > 0) return fmt::format("{}:{:02}:{:02}", h, m, s);
  return fmt::format("{}:{:02}", m, s);
}

std::string formatCount(double n) {
  char buf[32];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.2fG", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else if (n >= 1e4) std::snprintf(buf, sizeof buf, "%.1fk", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

std::string formatBytes(int64_t n) {
  char buf[32];
  if (n >= (1 << 20)) std::snprintf(buf, sizeof buf, "%.1f MB", n / 1048576.0);
  else if (n >= 1024) std::snprintf(buf, sizeof buf, "%.1f KB", n / 1024.0);
  else std::snprintf(buf, sizeof buf, "%lld B", (long long)n);
  return buf;
}

std::string formatNumber(const char *f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string formatRate(double v) {
  if (!std::isfinite(v)) return "?";
  if (v < 0) return "-" + formatRate(-v);
  static const char *suffix[] = {"", "k", "M", "G", "T"};
  int i = 0;
  while (v >= 999.5 && i < 4) {
    v /= 1000;
    ++i;
  }
  if (i == 0) return fmt::format("{:.0f}", v);
  // Three significant digits: 1.23k, 12.3k, 123k.
  if (v < 9.995) return fmt::format("{:.2f}{}", v, suffix[i]);
  if (v < 99.95) return fmt::format("{:.1f}{}", v, suffix[i]);
  return fmt::format("{:.0f}{}", v, suffix[i]);
}

std::string formatProgressLine(const StepStats &s, int64_t totalSteps, int64_t startStep) {
  std::string line = totalSteps > 0 ? fmt::format("step {}/{}", s.step, totalSteps)
                                    : fmt::format("step {}", s.step);
  line += fmt::format("  loss {:.4f}", s.loss);
  if (s.validLoss) line += fmt::format("  valid {:.4f}", *s.validLoss);
  line += fmt::format("  lr {:.1e}", s.lr);
  line += fmt::format("  {} tok/s", formatRate(s.tokensPerSec));
  line += fmt::format("  elapsed {}", formatDuration(s.elapsedSec));
  const int64_t done = s.step - startStep;
  // The run ends at the step bound or at the budget, whichever comes first.
  std::optional<double> eta;
  if (totalSteps > 0 && done > 0 && s.step <= totalSteps)
    eta = s.elapsedSec / (double)done * (double)(totalSteps - s.step);
  if (s.budgetSec > 0) eta = std::min(eta.value_or(INFINITY), std::max(0.0, s.budgetSec - s.elapsedSec));
  if (eta) line += fmt::format("  eta {}", formatDuration(*eta));
  return line;
}

ProgressReporter::ProgressReporter(int64_t totalSteps, int64_t every, std::FILE *out,
                                   int64_t startStep, std::optional<bool> tty)
    : total_(totalSteps), every_(every < 1 ? 1 : every), startStep_(startStep), out_(out) {
  tty_ = tty ? *tty : (out_ && ::isatty(::fileno(out_)));
}

ProgressReporter::~ProgressReporter() { finish(); }

void ProgressReporter::update(const StepStats &s) {
  if (!out_) return;
  const bool last = total_ > 0 && s.step >= total_;
  if (tty_) {
    auto now = std::chrono::steady_clock::now();
    last_ = formatProgressLine(s, total_, startStep_);
    if (!drawn_ || last || now - lastDraw_ >= std::chrono::milliseconds(100)) {
      std::fprintf(out_, "\r%s\x1b[K", last_.c_str());
      std::fflush(out_);
      drawn_ = true;
      lastDraw_ = now;
    }
    return;
  }
  if (s.step % every_ == 0 || last || s.validLoss) {
    std::fprintf(out_, "%s\n", formatProgressLine(s, total_, startStep_).c_str());
    std::fflush(out_);
  }
}

void ProgressReporter::note(const std::string &line) {
  if (!out_) return;
  if (tty_ && drawn_) {
    std::fprintf(out_, "\r\x1b[K%s\n%s\x1b[K", line.c_str(), last_.c_str());
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

void ProgressReporter::finish() {
  if (out_ && tty_ && drawn_) {
    // Make sure the final state is on screen (updates may have been rate-limited).
    std::fprintf(out_, "\r%s\x1b[K\n", last_.c_str());
    std::fflush(out_);
  }
  drawn_ = false;
}

MetricsWriter::MetricsWriter(const std::string &path, bool truncate) : path_(path) {
  f_ = std::fopen(path.c_str(), truncate ? "w" : "a");
  if (!f_) throw Error(fmt::format("cannot open metrics file '{}': {}", path, std::strerror(errno)));
}

MetricsWriter::~MetricsWriter() {
  if (f_) std::fclose(f_);
}

std::string MetricsWriter::formatRow(const StepStats &s) {
  nlohmann::ordered_json j;
  auto num = [](double v) -> nlohmann::ordered_json {
    if (!std::isfinite(v)) return nullptr;
    return v;
  };
  j["step"] = s.step;
  j["loss"] = num(s.loss);
  j["lr"] = num(s.lr);
  j["tokens_per_s"] = num(s.tokensPerSec);
  j["elapsed_s"] = num(s.elapsedSec);
  if (s.validLoss) j["valid_loss"] = num(*s.validLoss);
  if (s.gradNorm) j["grad_norm"] = num(*s.gradNorm);
  return j.dump();
}

void MetricsWriter::write(const StepStats &s) {
  const std::string row = formatRow(s) + "\n";
  if (std::fwrite(row.data(), 1, row.size(), f_) != row.size() || std::fflush(f_) != 0)
    throw Error(fmt::format("cannot write metrics file '{}': {}", path_, std::strerror(errno)));
}

}  // namespace heed::rt

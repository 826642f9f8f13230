//===- Progress.h - training progress and metrics ---------------*- C++ -*-===//
//
// ProgressReporter: on a terminal, one status line redrawn in place ('\r' +
// text + clear-to-end-of-line, at most ~10 times a second):
//   step 120/2000  loss 2.3412  lr 3.1e-04  12.3k tok/s  elapsed 0:41  eta 10:22
// When the stream is not a terminal (piped, redirected), a plain line every
// `every` steps and at the last step.
//
// MetricsWriter appends one JSON object per line (JSONL) and flushes each row:
//   {"step":120,"loss":2.3412,"lr":0.00031,"tokens_per_s":12345.0,"elapsed_s":41.2,
//    "valid_loss":2.5,"grad_norm":0.8}     (the last two only when present)
//
//===----------------------------------------------------------------------===//
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace heed::rt {

/// Seconds as "m:ss" below an hour, else "h:mm:ss" (rounded down to whole seconds).
/// Negative or non-finite values give "?".
std::string formatDuration(double seconds);
/// A rate with an SI suffix and three significant digits: 950 -> "950",
/// 12345 -> "12.3k", 1.5e6 -> "1.50M", 2e9 -> "2.00G".
std::string formatRate(double perSecond);
/// Parameter counts: "1.23M", "45.6k", "789".
std::string formatCount(double n);
/// File sizes: "5.2 KB", "1.3 MB", "900 B".
std::string formatBytes(int64_t n);
/// One number through a printf format ("%.4f").
std::string formatNumber(const char *printfFormat, double v);

struct StepStats {
  int64_t step = 0;  // 1-based
  double loss = 0;
  double lr = 0;
  double tokensPerSec = 0;
  double elapsedSec = 0;  // since this run (session) started; a time-budgeted run counts its budget used
  double budgetSec = 0;   // the --max-minutes budget in seconds, 0 = none: the ETA is at most its rest
  std::optional<double> validLoss;
  std::optional<double> gradNorm;
};

/// The status text for one step (without '\r' or newline). `startStep` is the
/// step the session started from (0 for a fresh run, k when resumed at k), so
/// the ETA uses only the steps timed in this session. `totalSteps` 0 means no step
/// bound (a time-budgeted run without --steps): no "/N" and the ETA from the budget.
std::string formatProgressLine(const StepStats &s, int64_t totalSteps, int64_t startStep = 0);

class ProgressReporter {
public:
  /// `tty` overrides terminal detection (isatty on `out`).
  ProgressReporter(int64_t totalSteps, int64_t every = 100, std::FILE *out = stderr,
                   int64_t startStep = 0, std::optional<bool> tty = std::nullopt);
  ~ProgressReporter();

  void update(const StepStats &s);
  /// Prints a whole line (e.g. a validation result or a warning) without
  /// garbling the status line; on a terminal the status line is redrawn below it.
  void note(const std::string &line);
  /// Ends the status line (newline) on a terminal. Called by the destructor.
  void finish();
  bool isTerminal() const { return tty_; }

private:
  int64_t total_, every_, startStep_;
  std::FILE *out_;
  bool tty_;
  bool drawn_ = false;  // a status line is on screen without a newline
  std::string last_;
  std::chrono::steady_clock::time_point lastDraw_{};
};

class MetricsWriter {
public:
  /// Opens (creating or appending to) `path`; throws rt::Error with the errno text.
  explicit MetricsWriter(const std::string &path, bool truncate = false);
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter &) = delete;
  MetricsWriter &operator=(const MetricsWriter &) = delete;

  /// Appends one row and flushes. Non-finite numbers are written as null.
  void write(const StepStats &s);
  /// The JSON text of one row (no newline).
  static std::string formatRow(const StepStats &s);
  const std::string &path() const { return path_; }

private:
  std::string path_;
  std::FILE *f_ = nullptr;
};

}  // namespace heed::rt

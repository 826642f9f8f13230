//===- CompileProgress.h - stages of a long compile on stderr ---*- C++ -*-===//
//
// A model of 1,000 layers takes minutes to compile; instead of silence, heed
// prints each stage of the compile on stderr once the compile has run for more
// than kQuietSeconds (so a compile of a second prints nothing):
//
//   heed: compiling tiny_lm: parse and check shapes 0.4 s
//   heed: compiling tiny_lm: autodiff and passes 1.9 s
//   heed: compiling tiny_lm: lower to LLVM ...
//   heed: compiling tiny_lm: lower to LLVM 31.2 s (33.5 s in all)
//
// On stderr whether or not it is a terminal (stdout stays the command's output;
// training's progress is on stderr too). HEED_COMPILE_PROGRESS=1 prints every
// stage at once (tests), =0 never.
//
// Free of MLIR: it only times and prints.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace heed {

class CompileProgress {
public:
  static constexpr double kQuietSeconds = 2.0;

  /// `out`: where lines go (stderr); the mode comes from HEED_COMPILE_PROGRESS.
  explicit CompileProgress(std::FILE *out = stderr);

  /// Names the model in the lines, once it is known.
  void setModel(const std::string &name) { model_ = name; }
  /// A stage starts; the previous one (if any) ends.
  void begin(const std::string &stage);
  /// The last stage ends; prints the total when lines were printed.
  void finish();

private:
  using Clock = std::chrono::steady_clock;
  enum class Mode { Auto, Always, Never };
  double since(Clock::time_point t) const;
  void endStage();
  void print(const std::string &text);

  std::FILE *out_;
  Mode mode_;
  std::string model_, stage_;
  Clock::time_point start_, stageStart_;
  std::vector<std::string> pending_;  // stages that ended before the compile got slow
  bool printing_ = false;
};

}  // namespace heed

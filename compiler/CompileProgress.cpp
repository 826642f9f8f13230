//===- CompileProgress.cpp - stages of a long compile on stderr -----------===//

#include "compiler/CompileProgress.h"

#include <cstdlib>
#include <cstring>

namespace heed {

CompileProgress::CompileProgress(std::FILE *out) : out_(out), mode_(Mode::Auto), start_(Clock::now()) {
  if (const char *e = std::getenv("HEED_COMPILE_PROGRESS")) {
    if (!std::strcmp(e, "0")) mode_ = Mode::Never;
    else if (!std::strcmp(e, "1")) mode_ = Mode::Always;
  }
  printing_ = mode_ == Mode::Always;
}

double CompileProgress::since(Clock::time_point t) const {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void CompileProgress::print(const std::string &text) {
  std::fprintf(out_, "heed: compiling%s%s: %s\n", model_.empty() ? "" : " ", model_.c_str(), text.c_str());
  std::fflush(out_);
}

void CompileProgress::endStage() {
  if (stage_.empty() || mode_ == Mode::Never) return;
  char buf[32];
  std::snprintf(buf, sizeof buf, " %.1f s", since(stageStart_));
  std::string line = stage_ + buf;
  if (!printing_ && since(start_) > kQuietSeconds) {
    printing_ = true;
    for (const std::string &p : pending_) print(p);
    pending_.clear();
  }
  if (printing_) print(line);
  else pending_.push_back(line);
  stage_.clear();
}

void CompileProgress::begin(const std::string &stage) {
  endStage();
  stage_ = stage;
  stageStart_ = Clock::now();
  // Once the compile is slow, say what it is doing before a stage that may be long.
  if (printing_) print(stage + " ...");
}

void CompileProgress::finish() {
  const bool wasPrinting = printing_;
  endStage();
  if (printing_ && wasPrinting) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "done in %.1f s", since(start_));
    print(buf);
  }
}

}  // namespace heed

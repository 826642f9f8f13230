//===- Average.cpp - `heed average`: checkpoint averaging -----------------===//
//
// The averaging is rt::averageCheckpoints (runtime/train/CheckpointAverage.h:
// what is averaged, what is refused, the run-directory lock); this prints it.
//
//===----------------------------------------------------------------------===//

#include "tools/heed/Commands.h"

#include <cstdio>

namespace heed {

int runAverage(const rt::AverageRequest &o) {
  rt::AverageResult r = rt::averageCheckpoints(o);
  std::printf("averaged %zu checkpoints (%zu parameters) into %s\n", r.files.size(), r.parameters, r.target.c_str());
  for (const std::string &f : r.files) std::printf("  %s\n", f.c_str());
  return 0;
}

}  // namespace heed

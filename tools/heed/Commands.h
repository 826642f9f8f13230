//===- Commands.h - the `heed` subcommands ----------------------*- C++ -*-===//
#pragma once

#include <string>
#include <vector>

namespace heed {

/// Flags every model-reading command shares.
struct ModelArgs {
  std::string path;
  std::vector<std::string> sets;  // --set key=value
  int64_t batch = 0;              // --batch (0: from the model / default)
  bool verifyDiagnostics = false; // --verify-diagnostics (tests)
};

int runCheck(const ModelArgs &m);
int runParams(const ModelArgs &m, bool json);
int runEmit(const ModelArgs &m, const std::string &stage, const std::string &output,
            bool locations);

}  // namespace heed

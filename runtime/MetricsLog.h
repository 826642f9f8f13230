//===- MetricsLog.h - reading a run's metrics.jsonl -------------*- C++ -*-===//
//
// `heed train` appends one JSON object per log step to RUN/metrics.jsonl
// (rt::MetricsWriter; README "metrics.jsonl"). readMetricsLog reads it back
// for `heed plot`: every line must be a complete JSON object with an integer
// "step"; numbers are kept by key, nulls (a non-finite value) are left out.
// An empty file, a line that is not JSON, and a last line cut off without its
// newline (a run interrupted mid-write) are errors "<path>:<line>: ...".
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace heed::rt {

struct MetricsRow {
  int64_t step = 0;
  std::map<std::string, double> values;  // "loss", "lr", "tokens_per_s", "elapsed_s", "valid_loss", ...
  bool has(const std::string &key) const { return values.count(key) != 0; }
};

struct MetricsLog {
  std::string path;
  std::vector<MetricsRow> rows;
};

/// `runOrFile` is a run directory (its metrics.jsonl) or the file itself. Throws rt::Error.
MetricsLog readMetricsLog(const std::string &runOrFile);

}  // namespace heed::rt

//===- CheckpointAverage.h - the mean of several checkpoints ----*- C++ -*-===//
//
// The mean of the parameters of several checkpoints of one run (Vaswani et al.
// average the last 5 or 20 checkpoints of a run). The result holds the
// averaged parameters and the newest input's metadata (model source,
// vocabularies), plus `heed.averaged` listing the inputs. It holds no optimizer
// state: it is not a point of the run, and `heed train --resume` refuses it.
// Written to OUT.safetensors, or into run directory OUT (locked while writing,
// RunDirectory.h) as its latest checkpoint, so that `heed eval OUT` reads it.
//
// Refused: fewer than two checkpoints, one file given twice, checkpoints of
// different models, and an output that is one of the inputs (or the run
// directory they come from).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace heed::rt {

struct AverageRequest {
  std::vector<std::string> inputs;  // checkpoint files, or run directories (their newest `last`)
  int64_t last = 5;
  std::string out;                  // OUT.safetensors, or a run directory
};

struct AverageResult {
  std::vector<std::string> files;  // the checkpoints averaged, oldest first per input
  size_t parameters = 0;
  std::string target;              // the file written
};

/// Throws rt::Error on any refusal above or a bad checkpoint.
AverageResult averageCheckpoints(const AverageRequest &request);

}  // namespace heed::rt

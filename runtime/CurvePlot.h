//===- CurvePlot.h - training curves of several runs, via gnuplot -*- C++ -*-===//
//
// `heed plot`: the curves of one or more runs' metrics.jsonl, overlaid per
// panel with a legend naming the runs:
//
//   loss against step        train ("loss") and validation ("valid_loss")
//   loss against wall time   the same against elapsed_s
//   learning rate            lr against step
//   tokens/s                 tokens_per_s against step
//   WER / PER                valid_wer and valid_per (seq2seq), when any run has them
//
// Drawn by gnuplot (Debian's gnuplot-nox), run as a subprocess on a generated
// script and one data file per curve in a temporary directory; the output
// (.svg, or .png with the cairo terminal) is written to a temporary name and
// renamed into place. Each curve is drawn with lines and points, one point per
// metrics row that has the value.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/MetricsLog.h"

#include <string>
#include <vector>

namespace heed::rt {

struct PlotRun {
  std::string label;  // legend name
  MetricsLog log;
};

struct Curve {
  std::string panel, title;              // panel heading, legend entry
  size_t run = 0, series = 0;            // index into the runs, and the panel's series
  std::vector<std::pair<double, double>> points;
};

/// The curves plotCurves draws, panel by panel (curves without points left out).
std::vector<Curve> curvesOf(const std::vector<PlotRun> &runs);

/// Renders `runs` to `output` (.svg or .png). Throws rt::Error (an unknown
/// extension, gnuplot missing or failing, nothing to draw).
void plotCurves(const std::vector<PlotRun> &runs, const std::string &output);

}  // namespace heed::rt

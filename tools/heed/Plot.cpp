//===- Plot.cpp - `heed plot`: training curves of runs as an image --------===//

#include "tools/heed/Commands.h"

#include "runtime/CurvePlot.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <set>

namespace heed {

namespace {

struct PlotOptions {
  std::vector<std::string> runs;
  std::string output;
};

int plot(const PlotOptions &o) {
  std::vector<rt::PlotRun> runs;
  std::set<std::string> labels;
  for (const std::string &r : o.runs) {
    rt::PlotRun run;
    run.log = rt::readMetricsLog(r);
    // The run directory's name, or the whole path when two runs share a name.
    std::filesystem::path p(r);
    if (!std::filesystem::is_directory(p)) p = p.parent_path();
    run.label = p.lexically_normal().filename().string();
    if (run.label.empty() || run.label == ".") run.label = std::filesystem::absolute(p).filename().string();
    if (!labels.insert(run.label).second) run.label = r;
    labels.insert(run.label);
    runs.push_back(std::move(run));
  }
  rt::plotCurves(runs, o.output);
  size_t curves = rt::curvesOf(runs).size();
  std::printf("%s: %zu curves from %zu runs\n", o.output.c_str(), curves, runs.size());
  return 0;
}

}  // namespace

std::function<int()> addPlotCommand(CLI::App &app) {
  auto o = std::make_shared<PlotOptions>();
  auto *cmd = app.add_subcommand(
      "plot", "draw training curves from runs' metrics.jsonl (train and validation loss against step and wall "
              "time, learning rate, tokens/s, seq2seq WER/PER, a time-budgeted run's schedule progress), runs overlaid with a legend; uses gnuplot");
  cmd->add_option("runs", o->runs, "run directories (or metrics.jsonl files)")->required();
  cmd->add_option("-o,--output", o->output, "the image to write: .svg or .png")->required();
  return [cmd, o] { return cmd->parsed() ? reportErrors([&] { return plot(*o); }) : -1; };
}

}  // namespace heed

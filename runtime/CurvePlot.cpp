//===- CurvePlot.cpp - training curves via a gnuplot subprocess -----------===//

#include "runtime/CurvePlot.h"

#include "runtime/AtomicFile.h"
#include "runtime/Error.h"

#include <fmt/format.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace fs = std::filesystem;

namespace heed::rt {

namespace {

struct Series {
  const char *key, *label;  // metrics key, legend suffix
};

struct Panel {
  const char *title, *x, *xlabel, *ylabel;
  std::vector<Series> series;
};

const std::vector<Panel> &panels() {
  static const std::vector<Panel> p = {
      {"loss against step", "step", "step", "loss (nats)", {{"loss", "train"}, {"valid_loss", "valid"}}},
      {"loss against wall time", "elapsed_s", "seconds", "loss (nats)", {{"loss", "train"}, {"valid_loss", "valid"}}},
      {"learning rate", "step", "step", "learning rate", {{"lr", ""}}},
      {"tokens/s", "step", "step", "tokens/s", {{"tokens_per_s", ""}}},
      {"WER / PER (validation)", "step", "step", "error rate", {{"valid_wer", "WER"}, {"valid_per", "PER"}}},
      // Time-budgeted runs (--schedule-by time): the schedule's progress, the fraction
      // of the budget used, against wall time: a straight line unless the run was resumed
      // or the host stalled.
      {"schedule progress (time-budgeted)", "elapsed_s", "seconds", "fraction of the budget", {{"progress", ""}}},
  };
  return p;
}

std::string gpString(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') continue;
    out += c;
  }
  return out + "\"";
}

struct TempDir {
  std::string path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "heed-plot-XXXXXX").string();
    if (!mkdtemp(t.data())) throw Error("cannot create a temporary directory in " + fs::temp_directory_path().string());
    path = t;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

/// Runs `gnuplot script`, stderr into errFile; returns the exit status (127: not found).
int runGnuplot(const std::string &script, const std::string &errFile) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, errFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::string prog = "gnuplot";
  char *argv[] = {prog.data(), const_cast<char *>(script.c_str()), nullptr};
  pid_t pid;
  int rc = posix_spawnp(&pid, "gnuplot", &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return 127;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace

std::vector<Curve> curvesOf(const std::vector<PlotRun> &runs) {
  std::vector<Curve> out;
  for (const Panel &p : panels())
    for (size_t si = 0; si < p.series.size(); ++si)
      for (size_t ri = 0; ri < runs.size(); ++ri) {
        const Series &s = p.series[si];
        const PlotRun &r = runs[ri];
        Curve c;
        c.panel = p.title;
        c.run = ri;
        c.series = si;
        c.title = r.label + (*s.label ? std::string(" ") + s.label : "");
        for (const MetricsRow &row : r.log.rows) {
          if (!row.has(s.key)) continue;
          double x = std::string(p.x) == "step" ? (double)row.step : row.has(p.x) ? row.values.at(p.x) : -1;
          if (x < 0) continue;
          c.points.push_back({x, row.values.at(s.key)});
        }
        if (!c.points.empty()) out.push_back(std::move(c));
      }
  return out;
}

void plotCurves(const std::vector<PlotRun> &runs, const std::string &output) {
  std::string ext = fs::path(output).extension().string();
  if (ext != ".svg" && ext != ".png")
    throw Error("plot output '" + output + "' must end in .svg or .png");
  std::vector<Curve> curves = curvesOf(runs);
  if (curves.empty()) throw Error("the metrics files hold no values to plot");

  TempDir tmp;
  std::vector<std::string> used;  // panels with curves, in order
  for (const Panel &p : panels())
    for (const Curve &c : curves)
      if (c.panel == p.title) {
        used.push_back(p.title);
        break;
      }
  const int cols = used.size() > 1 ? 2 : 1, rows = (int)(used.size() + cols - 1) / cols;
  const std::string image = tmp.path + "/out" + ext;
  std::string script = fmt::format(
      "set terminal {} size {},{} {}font \"sans,10\"\nset output {}\nset grid\nset key outside right top\n"
      "set multiplot layout {},{}\n",
      ext == ".svg" ? "svg" : "pngcairo", 660 * cols, 360 * rows, ext == ".svg" ? "dynamic " : "",
      gpString(image), rows, cols);
  int file = 0;
  for (const std::string &title : used) {
    const Panel &p = *std::find_if(panels().begin(), panels().end(), [&](const Panel &q) { return q.title == title; });
    script += fmt::format("set title {}\nset xlabel {}\nset ylabel {}\nplot ", gpString(p.title), gpString(p.xlabel),
                          gpString(p.ylabel));
    bool first = true;
    for (const Curve &c : curves) {
      if (c.panel != title) continue;
      std::string data = fmt::format("{}/c{}.dat", tmp.path, file++);
      std::ofstream f(data);
      for (auto &[x, y] : c.points) f << fmt::format("{:.9g} {:.9g}\n", x, y);
      if (!f) throw Error("cannot write plot data in " + tmp.path);
      // One color per run, one point shape and dash per series.
      const size_t run = c.run, series = c.series;
      script += fmt::format("{}{} using 1:2 with linespoints lc {} dt {} pt {} ps 0.5 title {} noenhanced",
                            first ? "" : ", \\\n     ", gpString(data), run + 1, series + 1, series == 0 ? 7 : 5,
                            gpString(c.title));
      first = false;
    }
    script += "\n";
  }
  script += "unset multiplot\nset output\n";
  const std::string scriptPath = tmp.path + "/curves.gp", err = tmp.path + "/gnuplot.err";
  writeFileAtomic(scriptPath, script);
  int rc = runGnuplot(scriptPath, err);
  if (rc == 127)
    throw Error("cannot run gnuplot, which heed plot draws with\nHINT: apt-get install gnuplot-nox");
  if (rc != 0 || !fs::exists(image))
    throw Error(fmt::format("gnuplot failed (exit {}): {}", rc, readWholeFile(err, "gnuplot log").substr(0, 2000)));
  writeFileAtomic(output, readWholeFile(image, "gnuplot output"));
}

}  // namespace heed::rt

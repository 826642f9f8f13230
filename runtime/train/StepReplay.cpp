//===- StepReplay.cpp - locating the op behind a non-finite or diverged step ----===//

#include "runtime/train/StepReplay.h"

#include "runtime/Error.h"
#include "runtime/train/Progress.h"

#include <cmath>
#include <functional>

namespace heed::rt {
namespace {

/// The factory's checked modes, or the note saying why there are none.
std::vector<std::unique_ptr<CheckedStep>> checkedModes(ProgramFactory &factory, const StepReplayRequest &r,
                                                       std::string &why) {
  const std::string step = std::to_string(r.step);
  std::vector<std::unique_ptr<CheckedStep>> modes;
  try {
    modes = factory.buildChecked(r.model, r.overrides, r.batch, r.precision);
  } catch (const ReportedError &) {
    why = "\nnote: step " + step + " was not replayed: the model did not build for the replay";
    return {};
  } catch (const Error &e) {
    why = "\nnote: step " + step + " was not replayed: " + e.what();
    return {};
  }
  if (modes.empty())
    why = "\nnote: step " + step + " was not replayed: '" + r.model +
          "' is a compiled artifact whose manifest keeps no model source, and its kernels alone cannot be checked "
          "op by op; train the .heed file to locate it";
  return modes;
}

/// The context of slice `s`'s replay (applyGradients: `grads`).
RunContext sliceContext(const StepReplayRequest &r, size_t s,
                        const std::function<void(std::vector<std::pair<std::string, Tensor>> &)> &grads) {
  RunContext ctx;
  ctx.params = r.params;
  ctx.step = r.step;
  ctx.training = true;
  ctx.rowOffset = (int64_t)s * r.sliceRows;
  ctx.sliceRows = r.sliceRows;
  ctx.applyGradients = grads;
  return ctx;
}

std::string sliceNote(const StepReplayRequest &r, size_t s) {
  return r.slices.size() > 1
             ? " (slice " + std::to_string(s + 1) + " of " + std::to_string(r.slices.size()) + " of the batch)"
             : "";
}

double rms(const float *x, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += (double)x[i] * x[i];
  return n ? std::sqrt(sum / (double)n) : 0;
}

}  // namespace

std::string replayNonFiniteStep(ProgramFactory &factory, const StepReplayRequest &r) {
  const std::string step = std::to_string(r.step);
  std::string why;
  std::vector<std::unique_ptr<CheckedStep>> modes = checkedModes(factory, r, why);
  if (modes.empty()) return why;

  // The largest gradient element, for a norm that overflows although every
  // gradient is finite (measured in the last mode that ran).
  double largest = 0, sumSquares = 0;
  std::string largestParam, tried, failed;
  for (const std::unique_ptr<CheckedStep> &mode : modes) {
    largest = sumSquares = 0;
    largestParam.clear();
    auto grads = [&](std::vector<std::pair<std::string, Tensor>> &g) {
      for (const auto &[name, t] : g) {
        if (t.dtype() != DType::F32) continue;
        for (int64_t i = 0; i < t.size(); ++i) {
          const double v = std::fabs((double)t.f32()[i]);
          sumSquares += v * v;
          if (v > largest) largest = v, largestParam = name;
        }
      }
    };
    try {
      for (size_t s = 0; s < r.slices.size(); ++s) {
        RunContext ctx = sliceContext(r, s, grads);
        if (std::optional<std::string> found = mode->run(r.slices[s], ctx)) return "\n" + *found + sliceNote(r, s);
      }
      tried += (tried.empty() ? "on " : ", then on ") + mode->describe();
    } catch (const Error &e) {
      failed += "\nnote: the replay of step " + step + " on " + mode->describe() + " failed: " + e.what();
    }
  }
  if (tried.empty()) return failed;
  why = failed + "\nnote: the replay of step " + step + " (" + tried + ") did not reproduce it: every op's result was finite";
  if (!largestParam.empty() && !(std::sqrt(sumSquares) < 3.4e38))
    why += "; the gradients' global norm overflows float (" + formatNumber("%.4g", std::sqrt(sumSquares)) +
           ", the largest gradient is " + formatNumber("%.4g", largest) + " in '" + largestParam + "')";
  else
    why += " (the step ran on " + factory.describe(r.model) + ")";
  return why;
}

std::string replayDivergedStep(ProgramFactory &factory, const StepReplayRequest &r, const ParamStore &after) {
  std::string why;
  std::vector<std::unique_ptr<CheckedStep>> modes = checkedModes(factory, r, why);
  if (modes.empty()) return why;

  // The op where the values blow up: the largest growth over the slices.
  std::optional<Growth> best;
  size_t bestSlice = 0;
  try {
    for (size_t s = 0; s < r.slices.size(); ++s) {
      RunContext ctx = sliceContext(r, s, [](std::vector<std::pair<std::string, Tensor>> &) {});
      std::optional<Growth> g = modes.front()->largestGrowth(r.slices[s], ctx);
      if (g && (!best || g->factor > best->factor)) best = std::move(g), bestSlice = s;
    }
  } catch (const Error &e) {
    why = "\nnote: the replay of step " + std::to_string(r.step) + " on " + modes.front()->describe() +
          " failed: " + e.what();
  }
  if (best) why = "\n" + best->report + sliceNote(r, bestSlice);
  else if (why.empty())
    why = "\nnote: the replay of step " + std::to_string(r.step) + " found no op with a float input that is not all zeros";

  // The parameter whose update is the largest relative to its weights.
  double ratio = -1, upd = 0, weights = 0;
  std::string name;
  for (const Param &p : *r.params) {
    const Param *q = after.find(p.name);
    if (p.frozen || !q || p.value.size() != q->value.size()) continue;
    const int64_t n = p.value.size();
    std::vector<float> d((size_t)n);
    for (int64_t i = 0; i < n; ++i) d[(size_t)i] = q->value.f32()[i] - p.value.f32()[i];
    const double u = rms(d.data(), n), w = rms(p.value.f32(), n);
    if (!(w > 0) || !(u / w > ratio)) continue;  // a zero-initialized weight has no ratio
    ratio = u / w, upd = u, weights = w, name = p.name;
  }
  if (!name.empty())
    why += "\nnote: the parameter with the largest update-to-weight ratio is '" + name +
           "': the step's update has RMS " + formatNumber("%.4g", upd) + ", " + formatNumber("%.4g", ratio) +
           " times its weights' RMS " + formatNumber("%.4g", weights);
  return why;
}

}  // namespace heed::rt

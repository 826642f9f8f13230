//===- StepReplay.cpp - locating the op behind a non-finite step ----------===//

#include "runtime/train/StepReplay.h"

#include "runtime/Error.h"
#include "runtime/train/Progress.h"

#include <cmath>

namespace heed::rt {

std::string replayNonFiniteStep(ProgramFactory &factory, const StepReplayRequest &r) {
  const std::string step = std::to_string(r.step);
  std::unique_ptr<CheckedStep> checked;
  try {
    checked = factory.buildChecked(r.model, r.overrides, r.batch, r.precision);
  } catch (const ReportedError &) {
    return "\nnote: step " + step + " was not replayed: the model did not build for the replay";
  } catch (const Error &e) {
    return "\nnote: step " + step + " was not replayed: " + e.what();
  }
  if (!checked)
    return "\nnote: step " + step + " was not replayed: '" + r.model +
           "' is a compiled artifact, which keeps no IR to check op by op; train the .heed file to locate it";

  // The largest gradient element, for a norm that overflows although every gradient is finite.
  double largest = 0, sumSquares = 0;
  std::string largestParam;
  for (size_t s = 0; s < r.slices.size(); ++s) {
    RunContext ctx;
    ctx.params = r.params;
    ctx.step = r.step;
    ctx.training = true;
    ctx.rowOffset = (int64_t)s * r.sliceRows;
    ctx.sliceRows = r.sliceRows;
    ctx.applyGradients = [&](std::vector<std::pair<std::string, Tensor>> &grads) {
      for (const auto &[name, g] : grads) {
        if (g.dtype() != DType::F32) continue;
        for (int64_t i = 0; i < g.size(); ++i) {
          const double v = std::fabs((double)g.f32()[i]);
          sumSquares += v * v;
          if (v > largest) largest = v, largestParam = name;
        }
      }
    };
    try {
      if (std::optional<std::string> found = checked->run(r.slices[s], ctx)) {
        std::string where = r.slices.size() > 1 ? " (slice " + std::to_string(s + 1) + " of " +
                                                      std::to_string(r.slices.size()) + " of the batch)"
                                                : "";
        return "\n" + *found + where;
      }
    } catch (const Error &e) {
      return "\nnote: the replay of step " + step + " failed: " + e.what();
    }
  }
  std::string why = "\nnote: the replay of step " + step + " (on " + checked->describe() +
                    ") did not reproduce it: every op's result was finite";
  if (!largestParam.empty() && !(std::sqrt(sumSquares) < 3.4e38))
    why += "; the gradients' global norm overflows float (" + formatNumber("%.4g", std::sqrt(sumSquares)) +
           ", the largest gradient is " + formatNumber("%.4g", largest) + " in '" + largestParam + "')";
  else
    why += " (the step ran on " + factory.describe(r.model) + ")";
  return why;
}

}  // namespace heed::rt

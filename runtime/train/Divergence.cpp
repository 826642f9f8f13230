//===- Divergence.cpp - when a finite loss means the run diverged ---------===//

#include "runtime/train/Divergence.h"

#include "runtime/train/Progress.h"

#include <algorithm>
#include <cmath>

namespace heed::rt {

DivergenceRule::DivergenceRule(double factor, int64_t classes, int64_t warmup)
    : factor(factor), classes(classes), warmup(warmup) {}

double DivergenceRule::limit() const { return factor * std::log((double)classes); }

std::optional<std::string> DivergenceRule::check(int64_t step, double loss) const {
  if (!active() || step <= std::max<int64_t>(warmup, 1) || !(loss > limit())) return std::nullopt;
  const std::string n = std::to_string(classes);
  return "training diverged at step " + std::to_string(step) + ": loss " + formatNumber("%.4g", loss) +
         " is above " + formatNumber("%g", factor) + " x ln(" + n + ") = " + formatNumber("%.4g", limit()) + ", " +
         formatNumber("%g", factor) + " times the loss of a uniform guess over the " + n +
         " classes (the divergence rule, from the step after the warm-up of " + std::to_string(warmup) +
         (warmup == 1 ? " step" : " steps") + "; --divergence 0 turns it off): lower --lr or raise --warmup";
}

}  // namespace heed::rt

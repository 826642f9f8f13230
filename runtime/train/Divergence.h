//===- Divergence.h - when a finite loss means the run diverged -*- C++ -*-===//
//
// A non-finite loss or gradient stops training by itself; a loss that stays
// finite but far above chance (a learning rate a thousand times too large
// gives 5e6) would otherwise train on to the end and exit 0. The rule:
//
//   after the warm-up (steps > warmup, and never at step 1, whose loss is the
//   initial parameters'), a training loss above `factor` x ln(V) stops the run
//   with an error, where V is the number of classes the loss scores (the
//   logits' last dimension: the LM's vocabulary, the seq2seq target vocabulary)
//   and ln(V) is the loss of a uniform guess over them.
//
// Label smoothing s does not move that reference: under PyTorch's convention
// (ops table, cross_entropy) a uniform guess scores (1-s) ln V + s ln V = ln V.
// The default factor is 2; 0 turns the rule off (the `divergence` setting).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace heed::rt {

class DivergenceRule {
public:
  /// `classes` <= 1 (unknown) or `factor` 0 make a rule that never fires.
  DivergenceRule(double factor, int64_t classes, int64_t warmup);

  bool active() const { return factor > 0 && classes > 1; }
  /// factor x ln(classes).
  double limit() const;
  /// Why the run stops when `loss` at `step` breaks the rule, else nullopt:
  /// "training diverged at step 7: loss 5.3e+06 is above 2 x ln(256) = 11.09 ...".
  std::optional<std::string> check(int64_t step, double loss) const;

private:
  double factor;
  int64_t classes, warmup;
};

}  // namespace heed::rt

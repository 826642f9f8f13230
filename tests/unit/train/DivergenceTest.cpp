//===- DivergenceTest.cpp - the divergence rule ----------------------------===//
//
// A finite loss above factor x ln(classes) after the warm-up stops the run
// (Divergence.h); during the warm-up, at step 1, with factor 0 or without a
// known class count it never does.
//
//===----------------------------------------------------------------------===//

#include "runtime/train/Divergence.h"

#include <gtest/gtest.h>

#include <cmath>

namespace heed::rt {
namespace {

TEST(Divergence, LossAboveTwiceAUniformGuessAfterWarmupStops) {
  DivergenceRule rule(2, 256, 3);
  ASSERT_TRUE(rule.active());
  EXPECT_NEAR(rule.limit(), 2 * std::log(256.0), 1e-12);
  EXPECT_FALSE(rule.check(3, 1e6));                  // still warming up
  EXPECT_FALSE(rule.check(4, rule.limit()));         // at the limit is not above it
  EXPECT_FALSE(rule.check(4, std::log(256.0)));      // chance is fine
  std::optional<std::string> why = rule.check(4, 5.3e6);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("training diverged at step 4: loss 5.3e+06 is above 2 x ln(256) = 11.09"), std::string::npos)
      << *why;
  EXPECT_NE(why->find("warm-up of 3 steps"), std::string::npos) << *why;
  EXPECT_NE(why->find("--divergence 0 turns it off"), std::string::npos) << *why;
}

TEST(Divergence, NeverAtStepOneOffOrWithoutClasses) {
  EXPECT_FALSE(DivergenceRule(2, 256, 0).check(1, 1e9));  // step 1 scores the initial parameters
  EXPECT_TRUE(DivergenceRule(2, 256, 0).check(2, 1e9));
  EXPECT_FALSE(DivergenceRule(0, 256, 0).active());
  EXPECT_FALSE(DivergenceRule(0, 256, 0).check(9, 1e9));
  EXPECT_FALSE(DivergenceRule(2, 0, 0).check(9, 1e9));
  EXPECT_FALSE(DivergenceRule(2, 1, 0).check(9, 1e9));   // ln 1 = 0: no reference
  EXPECT_TRUE(DivergenceRule(1.5, 10, 0).check(9, 1.5 * std::log(10.0) + 1e-9));
}

}  // namespace
}  // namespace heed::rt

//===- OpTableTest.cpp - every op has its rules and a gradient test -------===//

#include "GradHarness.h"

#include "ops/HeedDialect.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <set>

using namespace mlir;

namespace heed::test {

TEST(OpTable, EveryOpHasItsRules) {
  MLIRContext ctx;
  ctx.loadDialect<HeedDialect>();
  std::set<std::string> tested;
  for (const GradCase &c : gradCases()) tested.insert(c.op);

  int ops = 0;
  for (RegisteredOperationName name : ctx.getRegisteredOperations()) {
    if (name.getDialectNamespace() != "heed") continue;
    ++ops;
    std::string mnemonic = name.stripDialect().str();
    if (name.hasTrait<Layer>()) {
      EXPECT_FALSE(name.hasInterface<ReferenceKernelInterface>()) << mnemonic;
      continue;  // decomposed before autodiff and execution
    }
    EXPECT_TRUE(name.hasInterface<ReferenceKernelInterface>()) << mnemonic << " has no reference kernel";
    bool grad = name.hasInterface<GradientInterface>();
    bool none = name.hasTrait<NoGradient>();
    EXPECT_NE(grad, none) << mnemonic << " must have exactly one of a gradient rule or NoGradient";
    if (grad) EXPECT_TRUE(tested.count(mnemonic)) << mnemonic << " has no finite-difference test";
  }
  EXPECT_GT(ops, 40);
}

}  // namespace heed::test

//===- OpTableTest.cpp - every op has its rules and a gradient test -------===//

#include "GradHarness.h"

#include "ops/HeedDialect.h"
#include "runtime/compiled/LibraryOp.h"
#include "runtime/Error.h"

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
      EXPECT_FALSE(name.hasInterface<LibraryCallInterface>() || name.hasInterface<ScalarBodyInterface>())
          << mnemonic << ": layers lower by heed-decompose only";
      continue;  // decomposed before autodiff and execution
    }
    EXPECT_TRUE(name.hasInterface<ReferenceKernelInterface>()) << mnemonic << " has no reference kernel";
    bool grad = name.hasInterface<GradientInterface>();
    bool none = name.hasTrait<NoGradient>();
    EXPECT_NE(grad, none) << mnemonic << " must have exactly one of a gradient rule or NoGradient";
    if (grad) EXPECT_TRUE(tested.count(mnemonic)) << mnemonic << " has no finite-difference test";

    // How it lowers: at most one linalg template kind, and a linalg lowering
    // or a library call (or both: the library where it applies).
    int linalgKinds = name.hasInterface<ScalarBodyInterface>() + name.hasInterface<ReductionInterface>() +
                      name.hasTrait<Layout>();
    bool library = name.hasInterface<LibraryCallInterface>();
    EXPECT_LE(linalgKinds, 1) << mnemonic << " declares more than one of ScalarBody, Reduction, Layout";
    EXPECT_TRUE(linalgKinds == 1 || library)
        << mnemonic << " has no lowering: declare a ScalarBody, Reduction, Layout or Library in HeedOps.td";
    if (library) {
      bool kernel = true;
      try {
        (void)rt::libraryKindFromName(mnemonic);
      } catch (const rt::Error &) {
        kernel = false;
      }
      EXPECT_TRUE(kernel) << mnemonic << " is a library call but runtime/compiled/LibraryOp has no kernel of that name";
    }
  }
  EXPECT_GT(ops, 40);
}

}  // namespace heed::test

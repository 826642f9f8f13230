//===- UnfusedTest.cpp - the compiled backend with fusion off, op by op ----===//
//
// The checked replay's compiled mode (CompiledProgram.h, ObservableProgram):
// with fusion off every schedule step runs one heed op, runObserved hears each
// op of train_step exactly once, in program order, with its operands and
// results, and each op's results match the reference interpreter's run of the
// same IR (the same ops, heard through the interpreter's after-op hook), each
// op's inputs being the compiled run's own upstream results.
//
//===----------------------------------------------------------------------===//

#include "ParityUtil.h"

#include "compiler/compiled/CompiledProgram.h"
#include "compiler/interp/Interpreter.h"

#include "mlir/IR/Operation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace heed {
namespace {

class Unfused : public ::testing::TestWithParam<const char *> {};

TEST_P(Unfused, EveryOpIsHeardOnceAndMatchesTheReference) {
  ImportOptions opts;
  opts.batch = 2;
  std::unique_ptr<ObservableProgram> p =
      buildUnfusedCompiledProgram(std::string(HEED_EXAMPLES_DIR) + "/" + GetParam() + ".heed", opts);
  ASSERT_TRUE(p);
  rt::ParamStore params = rt::createParams(*p, 6, HEED_EXAMPLES_DIR);
  std::vector<rt::Tensor> in;
  uint64_t stream = 1;
  for (const rt::TensorSpec &s : p->entry("train_step")->inputs) in.push_back(parity::randomInput(s, stream++));
  auto context = [&] {
    rt::RunContext ctx;
    ctx.params = &params;
    ctx.step = 1;
    ctx.training = true;
    ctx.applyGradients = [](std::vector<std::pair<std::string, rt::Tensor>> &) {};
    return ctx;
  };

  mlir::func::FuncOp fn = p->function("train_step");
  std::map<mlir::Operation *, std::vector<rt::Tensor>> reference;
  rt::RunContext rc = context();
  interpret(fn, in, rc, [&](mlir::Operation &op, llvm::ArrayRef<rt::Tensor>, llvm::ArrayRef<rt::Tensor> results) {
    for (const rt::Tensor &r : results) reference[&op].push_back(r.clone());
  });

  std::vector<mlir::Operation *> heard;
  int64_t compared = 0;
  rt::RunContext cc = context();
  p->runObserved("train_step", in, cc,
                 [&](mlir::Operation &op, llvm::ArrayRef<rt::Tensor> operands, llvm::ArrayRef<rt::Tensor> results) {
                   heard.push_back(&op);
                   EXPECT_EQ(operands.size(), op.getNumOperands());
                   const std::vector<rt::Tensor> &want = reference[&op];
                   if (results.size() != want.size() || results.empty()) return;  // an unread result is no output
                   // A sum that cancels (a key bias's gradient) is zero up to rounding in
                   // both: its error counts relative to its inputs' size too.
                   double inputs = 0;
                   for (const rt::Tensor &t : operands)
                     if (t.dtype() == rt::DType::F32) inputs = std::max(inputs, std::sqrt(parity::sumSquares(t)));
                   for (size_t i = 0; i < results.size(); ++i) {
                     if (results[i].dtype() != rt::DType::F32) continue;
                     ASSERT_EQ(results[i].shape(), want[i].shape());
                     double d = 0;
                     for (int64_t k = 0; k < want[i].size(); ++k)
                       d += std::pow((double)results[i].f32()[k] - want[i].f32()[k], 2);
                     EXPECT_LE(std::sqrt(d), 1e-4 * std::sqrt(parity::sumSquares(want[i])) + 1e-5 * inputs)
                         << op.getName().getStringRef().str() << " result " << i;
                     ++compared;
                   }
                 });
  // Every op but the return, once each, in program order.
  std::vector<mlir::Operation *> ops;
  for (mlir::Operation &op : fn.getBody().front())
    if (!op.hasTrait<mlir::OpTrait::IsTerminator>()) ops.push_back(&op);
  EXPECT_EQ(heard, ops);
  EXPECT_GT(compared, (int64_t)ops.size() / 2);
}

INSTANTIATE_TEST_SUITE_P(Examples, Unfused, ::testing::Values("tiny_lm", "g2p"));

}  // namespace
}  // namespace heed

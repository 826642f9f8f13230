//===- InterpreterTest.cpp - the interpreter on hand-computed programs ----===//

#include "compiler/interp/Interpreter.h"
#include "ops/HeedDialect.h"
#include "runtime/Error.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;

namespace heed {
namespace {

struct Fixture {
  MLIRContext ctx;
  OwningOpRef<ModuleOp> module;
  explicit Fixture(const char *ir) {
    DialectRegistry registry;
    registerHeedDialects(registry);
    ctx.appendDialectRegistry(registry);
    ctx.loadAllAvailableDialects();
    module = parseSourceString<ModuleOp>(ir, &ctx);
  }
  func::FuncOp fn(const char *name) { return module->lookupSymbol<func::FuncOp>(name); }
};

TEST(Interpreter, LinearSoftmaxByHand) {
  // y = softmax(x @ w + b) with x = [[1, 2]], w = [[1, 0], [0, 1]], b = [0, 1]:
  // logits [1, 3] -> softmax [1/(1+e^2), e^2/(1+e^2)].
  Fixture f(R"(
    func.func @f(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
      %w = heed.constant dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>
      %b = heed.constant dense<[0.0, 1.0]> : tensor<2xf32>
      %m = heed.matmul %x, %w : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
      %a = heed.add %m, %b : (tensor<1x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
      %s = heed.softmax %a {axis = -1 : i64} : (tensor<1x2xf32>) -> tensor<1x2xf32>
      return %s : tensor<1x2xf32>
    })");
  ASSERT_TRUE(f.module);
  rt::RunContext ctx;
  auto out = interpret(f.fn("f"), {rt::Tensor::fromF32({1, 2}, {1, 2})}, ctx);
  ASSERT_EQ(out.size(), 1u);
  double e2 = std::exp(2.0);
  EXPECT_NEAR(out[0].f32()[0], 1 / (1 + e2), 1e-6);
  EXPECT_NEAR(out[0].f32()[1], e2 / (1 + e2), 1e-6);
}

TEST(Interpreter, ParamsComeFromTheStoreAndMasksSelect) {
  Fixture f(R"(
    func.func @f(%ids: tensor<3xi32>) -> tensor<3x2xf32> {
      %t = heed.param "emb" {init = "zeros"} : tensor<4x2xf32>
      %g = heed.gather %t, %ids : (tensor<4x2xf32>, tensor<3xi32>) -> tensor<3x2xf32>
      %z = heed.constant dense<2> : tensor<i32>
      %m = heed.eq %ids, %z : (tensor<3xi32>, tensor<i32>) -> tensor<3xi1>
      %r = heed.reshape %m : (tensor<3xi1>) -> tensor<3x1xi1>
      %k = heed.constant dense<-1.0> : tensor<f32>
      %w = heed.where %r, %k, %g : (tensor<3x1xi1>, tensor<f32>, tensor<3x2xf32>) -> tensor<3x2xf32>
      return %w : tensor<3x2xf32>
    })");
  ASSERT_TRUE(f.module);
  rt::ParamStore store;
  rt::Param &p = store.add("emb", {4, 2});
  for (int i = 0; i < 8; ++i) p.value.f32()[i] = (float)i;
  rt::RunContext ctx;
  ctx.params = &store;
  auto out = interpret(f.fn("f"), {rt::Tensor::fromI32({3}, {3, 2, 0})}, ctx);
  std::vector<float> got(out[0].f32(), out[0].f32() + 6);
  EXPECT_EQ(got, (std::vector<float>{6, 7, -1, -1, 0, 1}));
}

TEST(Interpreter, OutOfRangeIdsNameTheOp) {
  Fixture f(R"(
    func.func @f(%ids: tensor<2xi32>) -> tensor<2x2xf32> {
      %t = heed.constant dense<1.0> : tensor<4x2xf32>
      %g = heed.gather %t, %ids : (tensor<4x2xf32>, tensor<2xi32>) -> tensor<2x2xf32> loc("m.heed":3:5)
      return %g : tensor<2x2xf32>
    })");
  ASSERT_TRUE(f.module);
  rt::RunContext ctx;
  try {
    interpret(f.fn("f"), {rt::Tensor::fromI32({2}, {1, 9})}, ctx);
    FAIL() << "expected an error";
  } catch (const rt::Error &e) {
    EXPECT_NE(std::string(e.what()).find("m.heed:3:5: "), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace heed

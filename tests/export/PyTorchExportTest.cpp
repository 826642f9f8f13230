//===- PyTorchExportTest.cpp - model.py generation, on IR --------------------===//
//
// The exporter maps the ops of the model language; an op it has no PyTorch form
// for (here scatter_add, which only autodiff emits) must be a located error, not
// a model.py that silently drops it. And the mapping of a linear layer: the heed
// parameter [in, out] becomes nn.Linear's weight [out, in].
//
//===----------------------------------------------------------------------===//

#include "compiler/export/PyTorchExport.h"
#include "ops/HeedDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

namespace heed {
namespace {

struct Parsed {
  mlir::MLIRContext ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::vector<std::string> errors;
  explicit Parsed(const char *text) {
    mlir::DialectRegistry registry;
    registerHeedDialects(registry);
    ctx.appendDialectRegistry(registry);
    ctx.loadAllAvailableDialects();
    module = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx, "t.mlir");
  }
  mlir::FailureOr<PyTorchModel> generate() {
    mlir::ScopedDiagnosticHandler h(&ctx, [&](mlir::Diagnostic &d) {
      std::string loc;
      if (auto f = mlir::dyn_cast<mlir::FileLineColLoc>(d.getLocation()))
        loc = f.getFilename().str() + ":" + std::to_string(f.getLine()) + ": ";
      errors.push_back(loc + d.str());
      return mlir::success();
    });
    return generatePyTorch(*module);
  }
};

TEST(PyTorchExport, AnOpWithoutAPyTorchFormIsALocatedError) {
  Parsed p(R"(
module attributes {heed.model = "m", heed.config = {batch = 2 : i64}} {
  func.func @forward(%x: tensor<2x4xf32> {heed.name = "x", heed.dims = ["batch", ""]},
                     %ids: tensor<2xi32> {heed.name = "ids", heed.dims = ["batch"]})
      -> (tensor<4x4xf32> {heed.name = "y", heed.dims = ["", ""]}) {
    %0 = heed.scatter_add %x, %ids {rows = 4 : i64} : (tensor<2x4xf32>, tensor<2xi32>) -> tensor<4x4xf32>
    return %0 : tensor<4x4xf32>
  }
})");
  ASSERT_TRUE(p.module);
  EXPECT_TRUE(mlir::failed(p.generate()));
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0], "t.mlir:6: heed export: PyTorch has no form for 'heed.scatter_add' here (the exporter maps "
                         "the ops of the model language; see docs/EXPORT.md)");
}

TEST(PyTorchExport, LinearBecomesNnLinearWithItsWeightTransposed) {
  Parsed p(R"(
module attributes {heed.model = "m", heed.config = {batch = 2 : i64}} {
  func.func @forward(%x: tensor<2x3xf32> {heed.name = "x", heed.dims = ["batch", ""]})
      -> (tensor<2x5xf32> {heed.name = "y", heed.dims = ["batch", ""]}) {
    %w = heed.param "block.linear.w" {init = "zeros"} : tensor<3x5xf32>
    %b = heed.param "block.linear.b" {init = "zeros"} : tensor<5xf32>
    %0 = heed.linear %x, %w, %b : (tensor<2x3xf32>, tensor<3x5xf32>, tensor<5xf32>) -> tensor<2x5xf32>
    return %0 : tensor<2x5xf32>
  }
})");
  ASSERT_TRUE(p.module);
  auto m = p.generate();
  ASSERT_TRUE(mlir::succeeded(m)) << (p.errors.empty() ? "" : p.errors[0]);
  ASSERT_EQ(m->params.size(), 2u);
  EXPECT_EQ(m->params[0].heed, "block.linear.w");
  EXPECT_EQ(m->params[0].torch, "block.linear.weight");
  EXPECT_TRUE(m->params[0].transpose);
  EXPECT_EQ(m->params[1].torch, "block.linear.bias");
  EXPECT_FALSE(m->params[1].transpose);
  EXPECT_NE(m->python.find("_put(self, \"block.linear\", nn.Linear(3, 5))"), std::string::npos);
  EXPECT_NE(m->python.find("v0 = self._m(\"block.linear\")(x)"), std::string::npos);
}

// load() sets model.tokenizer: a layer at the top-level path "tokenizer" would be
// overwritten by it, so it is refused like an nn.Module attribute; deeper down it is fine.
TEST(PyTorchExport, ATopLevelTokenizerPathIsRefused) {
  const char *ir = R"(
module attributes {heed.model = "m", heed.config = {batch = 2 : i64}} {
  func.func @forward(%x: tensor<2x3xf32> {heed.name = "x", heed.dims = ["batch", ""]})
      -> (tensor<2x5xf32> {heed.name = "y", heed.dims = ["batch", ""]}) {
    %w = heed.param "PATH.w" {init = "zeros"} : tensor<3x5xf32>
    %b = heed.param "PATH.b" {init = "zeros"} : tensor<5xf32>
    %0 = heed.linear %x, %w, %b : (tensor<2x3xf32>, tensor<3x5xf32>, tensor<5xf32>) -> tensor<2x5xf32>
    return %0 : tensor<2x5xf32>
  }
})";
  auto with = [&](const std::string &path) {
    std::string text = ir;
    for (size_t at; (at = text.find("PATH")) != std::string::npos;) text.replace(at, 4, path);
    return text;
  };
  Parsed top(with("tokenizer.linear").c_str());
  ASSERT_TRUE(top.module);
  EXPECT_TRUE(mlir::failed(top.generate()));
  ASSERT_EQ(top.errors.size(), 1u);
  EXPECT_NE(top.errors[0].find("cannot have a submodule 'tokenizer'"), std::string::npos) << top.errors[0];
  Parsed nested(with("block.tokenizer.linear").c_str());
  ASSERT_TRUE(nested.module);
  EXPECT_TRUE(mlir::succeeded(nested.generate())) << (nested.errors.empty() ? "" : nested.errors[0]);
}

}  // namespace
}  // namespace heed

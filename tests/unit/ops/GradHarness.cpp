//===- GradHarness.cpp ----------------------------------------------------===//

#include "GradHarness.h"

#include "compiler/Pipeline.h"
#include "compiler/interp/Interpreter.h"
#include "ops/HeedDialect.h"
#include "runtime/Error.h"
#include "runtime/ParamStore.h"
#include "runtime/Random.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"

#include <cmath>
#include <map>

using namespace mlir;

namespace heed::test {

static rt::Tensor makeInput(const InputSpec &s, uint64_t stream) {
  const uint64_t seed = 7;
  switch (s.kind) {
  case InputSpec::Ids: {
    rt::Tensor t(rt::DType::I32, s.shape);
    for (int64_t i = 0; i < t.size(); ++i)
      t.i32()[i] = (int32_t)(rt::hash64(seed, stream, i) % (uint64_t)s.idLimit);
    return t;
  }
  case InputSpec::Mask: {
    rt::Tensor t(rt::DType::Bool, s.shape);
    for (int64_t i = 0; i < t.size(); ++i) t.b8()[i] = rt::uniform01(seed, stream, i) < 0.4f;
    return t;
  }
  default: break;
  }
  rt::Tensor t(rt::DType::F64, s.shape);
  for (int64_t i = 0; i < t.size(); ++i) {
    double n = rt::normal(seed, stream, i);
    double u = rt::uniform01(seed, stream, i);
    switch (s.kind) {
    case InputSpec::Positive: t.f64()[i] = 0.5 + 1.5 * u; break;
    case InputSpec::AwayFromZero: t.f64()[i] = (n < 0 ? -1 : 1) * (0.2 + std::fabs(n)); break;
    case InputSpec::Distinct: t.f64()[i] = 0.37 * (double)i + 0.1 * n; break;  // no ties
    default: t.f64()[i] = n; break;
    }
  }
  return t;
}

GradResult checkGradient(const GradCase &c) {
  GradResult result;
  MLIRContext ctx;
  DialectRegistry registry;
  registerHeedDialects(registry);
  ctx.appendDialectRegistry(registry);
  ctx.loadAllAvailableDialects();
  std::string diag;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    diag += d.str() + "\n";
    return success();
  });

  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());

  // Float inputs become parameters (so they get gradients); ids and masks are arguments.
  SmallVector<Type> argTypes;
  for (const InputSpec &s : c.inputs) {
    if (s.kind == InputSpec::Ids)
      argTypes.push_back(RankedTensorType::get(s.shape, b.getI32Type()));
    else if (s.kind == InputSpec::Mask)
      argTypes.push_back(RankedTensorType::get(s.shape, b.getI1Type()));
  }
  auto scalar = RankedTensorType::get({}, b.getF32Type());
  auto fn = b.create<func::FuncOp>(loc, "forward", b.getFunctionType(argTypes, {scalar}));
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  SmallVector<Value> operands;
  unsigned arg = 0;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const InputSpec &s = c.inputs[i];
    if (s.kind == InputSpec::Ids || s.kind == InputSpec::Mask) {
      operands.push_back(entry->getArgument(arg++));
    } else {
      operands.push_back(b.create<ParamOp>(loc, RankedTensorType::get(s.shape, b.getF32Type()),
                                           "in" + std::to_string(i), "zeros", false));
    }
  }
  Value y = c.build(b, loc, operands);
  auto yt = cast<RankedTensorType>(y.getType());
  // loss = sum(y * r)
  std::vector<float> r(yt.getNumElements());
  for (size_t i = 0; i < r.size(); ++i) r[i] = 0.5f + rt::uniform01(99, 1, i);
  auto rt_ = RankedTensorType::get(yt.getShape(), b.getF32Type());
  Value rv = b.create<ConstantOp>(loc, rt_, DenseElementsAttr::get(rt_, llvm::ArrayRef<float>(r)));
  Value prod = b.create<MulOp>(loc, rt_, y, rv);
  auto flat = RankedTensorType::get({yt.getNumElements()}, b.getF32Type());
  Value f = b.create<ReshapeOp>(loc, flat, prod);
  Value loss = b.create<SumOp>(loc, scalar, f, b.getI64IntegerAttr(0), b.getBoolAttr(false));
  b.create<func::ReturnOp>(loc, ValueRange{loss});
  fn.setResultAttr(0, "heed.loss", b.getUnitAttr());
  fn.setResultAttr(0, "heed.name", b.getStringAttr("loss"));

  if (failed(verify(*module)) || failed(runTrainingPipeline(*module))) {
    result.error = "the case does not build: " + diag;
    return result;
  }
  auto train = module->lookupSymbol<func::FuncOp>("train_step");

  rt::ParamStore params;
  std::vector<rt::Tensor> args;
  std::map<std::string, size_t> inputOfParam;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    rt::Tensor t = makeInput(c.inputs[i], 100 + i);
    if (t.dtype() == rt::DType::F64) {
      rt::Param &p = params.add("in" + std::to_string(i), c.inputs[i].shape);
      p.value = t;
      inputOfParam[p.name] = i;
    } else {
      args.push_back(t);
    }
  }
  // Every id and mask input is an operand of the op, so train_step keeps them all, in order.
  std::vector<rt::Tensor> trainArgs = args;

  std::map<std::string, rt::Tensor> grads;
  rt::RunContext rc;
  rc.params = &params;
  rc.f64 = true;
  rc.training = c.training;
  rc.step = 3;
  rc.applyGradients = [&](std::vector<std::pair<std::string, rt::Tensor>> &g) {
    for (auto &[n, t] : g) grads[n] = t;
  };
  auto lossNow = [&]() {
    auto out = interpret(train, trainArgs, rc);
    return out[0].f64()[0];
  };
  try {
    lossNow();  // fills grads
    auto captured = grads;
    for (rt::Param &p : params) {
      auto g = captured.find(p.name);
      double diff2 = 0, a2 = 0, n2 = 0;
      for (int64_t i = 0; i < p.value.size(); ++i) {
        double saved = p.value.f64()[i];
        p.value.f64()[i] = saved + c.eps;
        double up = lossNow();
        p.value.f64()[i] = saved - c.eps;
        double down = lossNow();
        p.value.f64()[i] = saved;
        double numeric = (up - down) / (2 * c.eps);
        double analytic = g == captured.end() ? 0.0 : g->second.f64()[i];
        diff2 += (analytic - numeric) * (analytic - numeric);
        a2 += analytic * analytic;
        n2 += numeric * numeric;
      }
      double scale = std::max(std::sqrt(std::max(a2, n2)), 1e-12);
      result.relError.push_back(std::sqrt(diff2) / scale);
      result.gradNorm.push_back(std::sqrt(a2));
    }
  } catch (const rt::Error &e) {
    result.error = e.what();
  }
  return result;
}

}  // namespace heed::test

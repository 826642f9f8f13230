//===- VectorMathTest.cpp - the vector stage's math against libm -----------===//
//
// Compiles one elementwise kernel per math function through the code generator
// (lowerLinalgToLLVM, then the JIT), once with the vector stage (MLIR's
// polynomial approximations on vector<16xf32>) and once without (scalar libm
// calls), runs both on 2^16 points spread over the range the models use, and
// measures each against the correctly rounded value (the double function rounded
// to float): the largest error in ulps and the largest relative error. The bounds
// are the numerics contract docs/ARCHITECTURE.md states; the scalar path must be
// libm's own float function, bit for bit. Also prints ns per element of both.
//
//===----------------------------------------------------------------------===//

#include "compiler/lowering/Codegen.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace heed {
namespace {

constexpr int kN = 1 << 16;

struct MathCase {
  const char *op;        // the math dialect op
  double lo, hi;         // the sampled range
  bool logSpaced;        // sample |x| geometrically (log, sqrt: many magnitudes)
  double (*exact)(double);
  float (*libm)(float);
  int maxUlp;            // the contract for the vectorized path
  double maxRel;
};

double erfD(double x) { return std::erf(x); }
float erfF(float x) { return std::erf(x); }
double expD(double x) { return std::exp(x); }
float expF(float x) { return std::exp(x); }
double logD(double x) { return std::log(x); }
float logF(float x) { return std::log(x); }
double tanhD(double x) { return std::tanh(x); }
float tanhF(float x) { return std::tanh(x); }
double sqrtD(double x) { return std::sqrt(x); }
float sqrtF(float x) { return std::sqrt(x); }

const MathCase kCases[] = {
    {"math.exp", -87.0, 88.0, false, expD, expF, 2, 3e-7},
    {"math.log", 1e-30, 1e30, true, logD, logF, 2, 3e-7},
    {"math.tanh", -9.0, 9.0, false, tanhD, tanhF, 6, 1e-6},
    {"math.erf", -4.0, 4.0, false, erfD, erfF, 6, 1e-6},
    {"math.sqrt", 1e-30, 1e30, true, sqrtD, sqrtF, 0, 6e-8}  // exact: within half an ulp,
};

std::string kernelText(const char *op) {
  std::string n = std::to_string(kN);
  return "#map = affine_map<(d0) -> (d0)>\n"
         "func.func @k(%a: tensor<" + n + "xf32>) -> tensor<" + n + "xf32> {\n"
         "  %e = tensor.empty() : tensor<" + n + "xf32>\n"
         "  %r = linalg.generic {indexing_maps = [#map, #map], iterator_types = [\"parallel\"]}\n"
         "      ins(%a : tensor<" + n + "xf32>) outs(%e : tensor<" + n + "xf32>) {\n"
         "  ^bb0(%x: f32, %o: f32):\n"
         "    %y = " + op + " %x : f32\n"
         "    linalg.yield %y : f32\n"
         "  } -> tensor<" + n + "xf32>\n"
         "  return %r : tensor<" + n + "xf32>\n"
         "}\n";
}

/// The kernel compiled with or without the vector stage; `vectorOps` says
/// whether its LLVM dialect has 16-lane float vectors.
struct Compiled {
  mlir::MLIRContext ctx;
  std::unique_ptr<JitKernels> jit;
  JitKernels::PackedFn fn = nullptr;
  bool vectorOps = false;
};

void compile(Compiled &c, const char *op, bool vectorize) {
  mlir::DialectRegistry registry;
  registerCodegenDialects(registry);
  c.ctx.appendDialectRegistry(registry);
  c.ctx.loadAllAvailableDialects();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(kernelText(op), &c.ctx);
  ASSERT_TRUE(module);
  ASSERT_TRUE(mlir::succeeded(lowerLinalgToLLVM(*module, vectorize)));
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os);
  c.vectorOps = text.find("vector<16xf32>") != std::string::npos;
  std::string error;
  c.jit = JitKernels::create(*module, error);
  ASSERT_TRUE(c.jit) << error;
  c.fn = c.jit->lookup("k");
  ASSERT_NE(c.fn, nullptr);
}

/// Distance in representable floats (finite values of one sign ordering).
int64_t ulps(float a, float b) {
  auto ordered = [](float f) {
    int32_t i;
    std::memcpy(&i, &f, 4);
    return i < 0 ? int64_t(INT32_MIN) - i : int64_t(i);
  };
  return std::llabs(ordered(a) - ordered(b));
}

struct Error {
  int64_t maxUlp = 0;
  double maxRel = 0;
  float worstX = 0;
};

Error measure(const MathCase &mc, const std::vector<float> &x, const std::vector<float> &y) {
  Error e;
  for (size_t i = 0; i < x.size(); ++i) {
    double exact = mc.exact(x[i]);
    float rounded = float(exact);
    int64_t u = ulps(y[i], rounded);
    double rel = exact == 0 ? std::fabs(y[i]) : std::fabs((y[i] - exact) / exact);
    if (u > e.maxUlp) e.worstX = x[i];
    e.maxUlp = std::max(e.maxUlp, u);
    e.maxRel = std::max(e.maxRel, rel);
  }
  return e;
}

double nsPerElement(JitKernels::PackedFn fn, std::vector<float> &x, std::vector<float> &y) {
  float *in = x.data(), *out = y.data();
  void *args[] = {&in, &out};
  double best = 1e30;
  for (int rep = 0; rep < 20; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    fn(args);
    double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, ns / kN);
  }
  return best;
}

class VectorMath : public ::testing::TestWithParam<MathCase> {};

TEST_P(VectorMath, WithinContractOfCorrectlyRounded) {
  const MathCase &mc = GetParam();
  std::vector<float> x(kN), vec(kN), scalar(kN);
  for (int i = 0; i < kN; ++i) {
    double t = (i + 0.5) / kN;
    x[i] = float(mc.logSpaced ? mc.lo * std::pow(mc.hi / mc.lo, t) : mc.lo + (mc.hi - mc.lo) * t);
  }
  Compiled v, s;
  compile(v, mc.op, true);
  compile(s, mc.op, false);
  ASSERT_TRUE(v.vectorOps) << "the vector stage left " << mc.op << " scalar";
  EXPECT_FALSE(s.vectorOps);
  double vns = nsPerElement(v.fn, x, vec);
  double sns = nsPerElement(s.fn, x, scalar);
  for (int i = 0; i < kN; ++i)
    ASSERT_EQ(scalar[i], mc.libm(x[i])) << "the scalar path is not libm at x = " << x[i];
  Error ve = measure(mc, x, vec), se = measure(mc, x, scalar);
  std::printf("%-10s [%g, %g]  vector: max %lld ulp (x = %g), max rel %.3g, %.3f ns/elt"
              "   libm: max %lld ulp, max rel %.3g, %.3f ns/elt   speedup %.2fx\n",
              mc.op, mc.lo, mc.hi, (long long)ve.maxUlp, ve.worstX, ve.maxRel, vns,
              (long long)se.maxUlp, se.maxRel, sns, sns / vns);
  EXPECT_LE(ve.maxUlp, mc.maxUlp) << "worst at x = " << ve.worstX;
  EXPECT_LE(ve.maxRel, mc.maxRel);
}

INSTANTIATE_TEST_SUITE_P(Functions, VectorMath, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<MathCase> &info) {
                           return std::string(info.param.op + 5);
                         });

}  // namespace
}  // namespace heed

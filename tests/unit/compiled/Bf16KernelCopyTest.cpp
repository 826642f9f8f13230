//===- Bf16KernelCopyTest.cpp - a fused kernel's bf16 result, bit for bit ---===//
//
// A generated kernel whose result a bf16 matmul reads writes the bf16 copy
// itself (compiler/lowering/Bf16Copies.h). This compiles one kernel (r = a * b)
// with its bf16 result through the code generator, with the vector stage (16
// lanes) and without (scalar loops), checks that fusion put the rounding in the
// loop that computes r (one linalg.generic), and that every bf16 value is
// rt::toBf16Bits of the float32 result: ties to even, NaN (quieted, sign and
// payload kept), infinities, overflow to infinity, denormals and zeros, then
// random bit patterns.
//
//===----------------------------------------------------------------------===//

#include "compiler/lowering/Bf16Copies.h"
#include "compiler/lowering/Codegen.h"
#include "runtime/Precision.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace heed {
namespace {

constexpr int kRows = 64, kCols = 1008;  // 63 * 16: the vector stage takes 16 lanes

std::string kernelText() {
  const std::string t = "tensor<" + std::to_string(kRows) + "x" + std::to_string(kCols) + "xf32>";
  return "#map = affine_map<(d0, d1) -> (d0, d1)>\n"
         "func.func @k(%a: " + t + ", %b: " + t + ") -> " + t + " {\n"
         "  %e = tensor.empty() : " + t + "\n"
         "  %r = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = [\"parallel\", \"parallel\"]}\n"
         "      ins(%a, %b : " + t + ", " + t + ") outs(%e : " + t + ") {\n"
         "  ^bb0(%x: f32, %y: f32, %o: f32):\n"
         "    %p = arith.mulf %x, %y : f32\n"
         "    linalg.yield %p : f32\n"
         "  } -> " + t + "\n"
         "  return %r : " + t + "\n"
         "}\n";
}

float fromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

std::vector<float> inputs() {
  const uint32_t special[] = {
      0x3F808000u, 0x3F818000u, 0x3F808001u, 0x3F807FFFu, 0xBF808000u, 0xBF818000u,  // ties, near ties
      0x7F800000u, 0xFF800000u, 0x7F7FFFFFu, 0xFF7FFFFFu, 0x7F7F8000u, 0x7F7F7FFFu,  // inf, overflow
      0x7FC00000u, 0xFFC00000u, 0x7FC00001u, 0x7F800001u, 0xFF812345u, 0x7FFFFFFFu,  // NaNs
      0x00000001u, 0x00008000u, 0x00018000u, 0x007FFFFFu, 0x807FFFFFu, 0x80008000u,  // denormals
      0x00800000u, 0x00000000u, 0x80000000u, 0x3F800000u, 0x40490FDBu, 0xC0490FDBu};
  std::vector<float> a(kRows * kCols);
  std::mt19937 rng(13);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = fromBits(i < std::size(special) ? special[i] : (uint32_t)rng());
  return a;
}

void check(bool vectorize) {
  mlir::MLIRContext ctx;
  mlir::DialectRegistry registry;
  registerCodegenDialects(registry);
  ctx.appendDialectRegistry(registry);
  ctx.loadAllAvailableDialects();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(kernelText(), &ctx);
  ASSERT_TRUE(module);
  auto k = module->lookupSymbol<mlir::func::FuncOp>("k");
  appendBf16Results(k, {0});
  ASSERT_TRUE(mlir::succeeded(fuseLinalg(*module)));
  int generics = 0;
  k.walk([&](mlir::linalg::GenericOp) { ++generics; });
  EXPECT_EQ(generics, 1) << "the rounding is not fused into the loop computing its input";
  ASSERT_EQ(k.getFunctionType().getNumResults(), 2u);
  EXPECT_TRUE(mlir::cast<mlir::ShapedType>(k.getFunctionType().getResult(1)).getElementType().isBF16());
  ASSERT_TRUE(mlir::succeeded(lowerLinalgToLLVM(*module, vectorize)));
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os);
  if (vectorize) EXPECT_NE(text.find("vector<16xbf16>"), std::string::npos) << "no 16-lane bf16 stores";
  std::string error;
  auto jit = JitKernels::create(*module, error);
  ASSERT_TRUE(jit) << error;
  JitKernels::PackedFn fn = jit->lookup("k");
  ASSERT_NE(fn, nullptr);

  std::vector<float> a = inputs(), one(a.size(), 1.0f), r(a.size());
  std::vector<uint16_t> r16(a.size());
  float *pa = a.data(), *pb = one.data(), *pr = r.data();
  uint16_t *p16 = r16.data();
  void *args[] = {&pa, &pb, &pr, &p16};
  fn(args);
  int bad = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    // x * 1 is x (a NaN quieted): the float32 result is the input's value.
    if (!std::isnan(a[i])) ASSERT_EQ(bitsOf(r[i]), bitsOf(a[i])) << i;
    if (r16[i] != rt::toBf16Bits(r[i]) && bad++ < 10)
      ADD_FAILURE() << (vectorize ? "vector" : "scalar") << " element " << i << ": float bits 0x" << std::hex
                    << bitsOf(r[i]) << " gave 0x" << r16[i] << ", rt::toBf16Bits 0x" << rt::toBf16Bits(r[i]);
  }
  EXPECT_EQ(bad, 0);
}

TEST(Bf16KernelCopy, VectorizedKernelRoundsLikeToBf16Bits) { check(true); }
TEST(Bf16KernelCopy, ScalarKernelRoundsLikeToBf16Bits) { check(false); }

/// Why the kernel does not use arith.truncf: LLVM 19 selects vcvtneps2bf16 for
/// it on AVX512_BF16, which flushes denormal inputs to zero; toBf16Bits rounds them.
TEST(Bf16KernelCopy, DenormalsAreRoundedNotFlushed) {
  EXPECT_EQ(rt::toBf16Bits(fromBits(0x00018000u)), 0x0002u);
  EXPECT_EQ(rt::toBf16Bits(fromBits(0x807FFFFFu)), 0x8080u);
}

}  // namespace
}  // namespace heed

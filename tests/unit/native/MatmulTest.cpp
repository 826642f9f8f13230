// native::matmul against ref::matmul (+ bias, activation, accumulate), per batch.
#include "NativeTestUtil.h"

#include <fmt/format.h>

namespace heed::rt::native::test {
namespace {

enum class Stride { Contiguous, Broadcast, Padded };

struct MmCase {
  int64_t batch, M, N, K;
  bool tA, tB;
  bool bias;
  Act act;
  bool acc;
  Stride sa, sb;
};

std::string caseName(const MmCase &c) {
  auto st = [](Stride s) { return s == Stride::Contiguous ? "c" : s == Stride::Broadcast ? "b" : "p"; };
  return fmt::format("b{}_M{}_N{}_K{}_tA{}_tB{}_bias{}_act{}_acc{}_sa{}_sb{}", c.batch, c.M, c.N,
                     c.K, c.tA, c.tB, c.bias, (int)c.act, c.acc, st(c.sa), st(c.sb));
}

int64_t strideFor(Stride s, int64_t matrix) {
  return s == Stride::Contiguous ? matrix : s == Stride::Broadcast ? 0 : matrix + 3;
}

/// The logical [rows, cols] matrix stored at p, either as-is or transposed ([cols, rows]).
Tensor logical(const float *p, int64_t rows, int64_t cols, bool trans) {
  std::vector<float> v((size_t)(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) v[r * cols + c] = trans ? p[c * rows + r] : p[r * cols + c];
  return Tensor::fromF32({rows, cols}, v);
}

void runCase(const MmCase &c) {
  SCOPED_TRACE(caseName(c));
  const int64_t sA = strideFor(c.sa, c.M * c.K), sB = strideFor(c.sb, c.K * c.N);
  const int64_t aLen = (c.sa == Stride::Broadcast ? 0 : (c.batch - 1) * sA) + c.M * c.K;
  const int64_t bLen = (c.sb == Stride::Broadcast ? 0 : (c.batch - 1) * sB) + c.K * c.N;
  auto a = randomVec(aLen, 1), b = randomVec(bLen, 2), bias = randomVec(c.N, 3);
  auto c0 = randomVec(c.batch * c.M * c.N, 4);

  std::vector<float> want;
  for (int64_t i = 0; i < c.batch; ++i) {
    Tensor ai = logical(a.data() + i * sA, c.M, c.K, c.tA);
    Tensor bi = logical(b.data() + i * sB, c.K, c.N, c.tB);
    Tensor r = ref::matmul(ai, bi);
    if (c.bias) r = ref::binary(ref::BinaryKind::Add, r, Tensor::fromF32({c.N}, bias));
    if (c.act == Act::Relu) r = ref::unary(ref::UnaryKind::Relu, r);
    if (c.act == Act::Gelu) r = ref::unary(ref::UnaryKind::Gelu, r);
    if (c.acc) {
      std::vector<float> ci(c0.begin() + i * c.M * c.N, c0.begin() + (i + 1) * c.M * c.N);
      r = ref::binary(ref::BinaryKind::Add, Tensor::fromF32({c.M, c.N}, ci), r);
    }
    auto v = valuesOf(r);
    want.insert(want.end(), v.begin(), v.end());
  }
  forThreadCounts([&] {
    std::vector<float> got = c0;
    matmul(a.data(), b.data(), got.data(), c.batch, c.M, c.N, c.K, c.tA, c.tB,
           c.bias ? bias.data() : nullptr, c.act, c.acc, sA, sB);
    expectClose(got, want);
    // Again, from the primitive cache.
    got = c0;
    matmul(a.data(), b.data(), got.data(), c.batch, c.M, c.N, c.K, c.tA, c.tB,
           c.bias ? bias.data() : nullptr, c.act, c.acc, sA, sB);
    expectClose(got, want);
  });
}

TEST(NativeMatmul, ShapesAndTransposes) {
  const int64_t shapes[][4] = {{1, 1, 1, 1},   {1, 7, 13, 5},   {3, 33, 65, 17},
                               {2, 64, 64, 64}, {1, 256, 96, 130}, {4, 5, 1, 9},
                               {2, 1, 31, 40}};
  for (auto &s : shapes)
    for (bool tA : {false, true})
      for (bool tB : {false, true})
        runCase({s[0], s[1], s[2], s[3], tA, tB, false, Act::None, false, Stride::Contiguous,
                 Stride::Contiguous});
}

TEST(NativeMatmul, BiasAndActivations) {
  for (Act act : {Act::None, Act::Relu, Act::Gelu})
    for (bool bias : {false, true})
      for (bool tB : {false, true})
        runCase({2, 37, 29, 23, false, tB, bias, act, false, Stride::Contiguous,
                 Stride::Contiguous});
}

TEST(NativeMatmul, Accumulate) {
  for (Act act : {Act::None, Act::Relu})
    for (bool bias : {false, true})
      for (bool tA : {false, true})
        runCase({3, 19, 41, 27, tA, false, bias, act, true, Stride::Contiguous,
                 Stride::Contiguous});
}

TEST(NativeMatmul, BatchBroadcastAndStrides) {
  const Stride all[] = {Stride::Contiguous, Stride::Broadcast, Stride::Padded};
  for (Stride sa : all)
    for (Stride sb : all)
      for (bool tA : {false, true})
        for (bool tB : {false, true})
          runCase({4, 9, 14, 11, tA, tB, true, Act::None, false, sa, sb});
}

TEST(NativeMatmul, TinyLmShapes) {
  // [16*128, 128] @ [128, 512] + bias, gelu; attention scores and context.
  runCase({1, 2048, 512, 128, false, false, true, Act::Gelu, false, Stride::Contiguous,
           Stride::Contiguous});
  runCase({64, 128, 128, 32, false, true, false, Act::None, false, Stride::Contiguous,
           Stride::Contiguous});
  runCase({64, 128, 32, 128, false, false, false, Act::None, false, Stride::Contiguous,
           Stride::Contiguous});
  // Weight gradient: x^T @ dy accumulated.
  runCase({1, 128, 512, 2048, true, false, false, Act::None, true, Stride::Contiguous,
           Stride::Contiguous});
}

TEST(NativeMatmul, EmptyContraction) {
  std::vector<float> bias = {1.f, -2.f, 3.f}, c(6, 5.f);
  matmul(nullptr, nullptr, c.data(), 1, 2, 3, 0, false, false, bias.data(), Act::Relu, true, 0, 0);
  EXPECT_EQ(c, (std::vector<float>{6.f, 5.f, 8.f, 6.f, 5.f, 8.f}));
  std::vector<float> d(6, 5.f);
  matmul(nullptr, nullptr, d.data(), 2, 1, 3, 0, false, false, nullptr, Act::None, false, 0, 0);
  EXPECT_EQ(d, std::vector<float>(6, 0.f));
  matmul(nullptr, nullptr, nullptr, 0, 4, 4, 4, false, false, nullptr, Act::None, false, 16, 16);
}

TEST(NativeMatmul, CacheClearAndConvenienceOverload) {
  auto a = randomVec(6 * 4, 5), b = randomVec(4 * 3, 6);
  Tensor want = ref::matmul(Tensor::fromF32({6, 4}, a), Tensor::fromF32({4, 3}, b));
  std::vector<float> got(18);
  matmul(a.data(), b.data(), got.data(), 1, 6, 3, 4);
  expectClose(got, want);
  clearMatmulCache();
  std::fill(got.begin(), got.end(), 0.f);
  matmul(a.data(), b.data(), got.data(), 1, 6, 3, 4);
  expectClose(got, want);
}

}  // namespace
}  // namespace heed::rt::native::test

#include "TestUtil.h"

using namespace heed::rt;
using namespace heed::rt::ref;
using heed::rt::test::expectTensorNear;
using heed::rt::test::randomTensor;

TEST(RuntimeMatmul, TwoByThreeTimesThreeByTwo) {
  Tensor a = Tensor::fromF32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = Tensor::fromF32({3, 2}, {7, 8, 9, 10, 11, 12});
  // [1*7+2*9+3*11, 1*8+2*10+3*12; 4*7+5*9+6*11, 4*8+5*10+6*12]
  expectTensorNear(matmul(a, b), {2, 2}, {58, 64, 139, 154});
}

namespace {
/// Naive triple loop on one [M,K] x [K,N] pair, in double.
std::vector<float> naive(const float *a, const float *b, int M, int K, int N) {
  std::vector<float> c(M * N);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0;
      for (int k = 0; k < K; ++k) s += (double)a[i * K + k] * b[k * N + j];
      c[i * N + j] = (float)s;
    }
  return c;
}
}  // namespace

TEST(RuntimeMatmul, BatchBroadcast) {
  // a [2, 1, 3, 4] @ b [3, 4, 5] -> [2, 3, 3, 5]; b's batch dim broadcasts against a's 1.
  Tensor a = randomTensor({2, 1, 3, 4}, 1);
  Tensor b = randomTensor({3, 4, 5}, 2);
  Tensor c = matmul(a, b);
  ASSERT_EQ(c.shape(), (Shape{2, 3, 3, 5}));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      auto want = naive(a.f32() + i * 12, b.f32() + j * 20, 3, 4, 5);
      for (int e = 0; e < 15; ++e)
        EXPECT_NEAR(c.f32()[(i * 3 + j) * 15 + e], want[e], 1e-5f);
    }
}

TEST(RuntimeMatmul, SharedWeightAndLargeN) {
  // [4, 7, 33] @ [33, 1500]: a 2-D weight shared across the batch; N spans >1 column block.
  Tensor a = randomTensor({4, 7, 33}, 3);
  Tensor b = randomTensor({33, 1500}, 4);
  Tensor c = matmul(a, b);
  ASSERT_EQ(c.shape(), (Shape{4, 7, 1500}));
  for (int i = 0; i < 4; ++i) {
    auto want = naive(a.f32() + i * 7 * 33, b.f32(), 7, 33, 1500);
    for (int e = 0; e < 7 * 1500; ++e) ASSERT_NEAR(c.f32()[i * 7 * 1500 + e], want[e], 1e-4f);
  }
}

TEST(RuntimeMatmul, Errors) {
  EXPECT_THROW(matmul(Tensor(DType::F32, {2, 3}), Tensor(DType::F32, {2, 3})), Error);
  EXPECT_THROW(matmul(Tensor(DType::F32, {3}), Tensor(DType::F32, {3, 2})), Error);
  EXPECT_THROW(matmul(Tensor(DType::F32, {2, 2, 3}), Tensor(DType::F32, {3, 3, 2})), Error);
  Tensor e = matmul(Tensor(DType::F32, {2, 0}), Tensor(DType::F32, {0, 3}));
  expectTensorNear(e, {2, 3}, {0, 0, 0, 0, 0, 0});
}

// native gather / scatterAdd against the reference, bit for bit.
#include "NativeTestUtil.h"

namespace heed::rt::native::test {
namespace {

TEST(NativeEmbedding, GatherBitExact) {
  for (auto [n, V, D] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {7, 5, 3},
                         {2048, 256, 128}, {4096, 1000, 64}, {5, 3, 0}}) {
    auto table = randomVec(V * D, 1);
    auto ids = randomIds(n, V, 2);
    Tensor want = ref::gather(tensorOf({V, D}, table), Tensor::fromI32({n}, ids));
    forThreadCounts([&] {
      std::vector<float> out(n * D);
      gather(table.data(), ids.data(), out.data(), n, V, D);
      expectBitEqual(out, valuesOf(want));
    });
  }
}

TEST(NativeEmbedding, ScatterAddBitExact) {
  for (auto [n, V, D] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {7, 5, 3},
                         {2048, 256, 128}, {4096, 37, 64}, {100, 1000, 16}, {0, 4, 8}}) {
    auto dy = randomVec(n * D, 3);
    auto ids = randomIds(n, V, 4);
    Tensor want = ref::scatterAdd(tensorOf({n, D}, dy), Tensor::fromI32({n}, ids), V);
    forThreadCounts([&] {
      std::vector<float> out(V * D, 5.f);  // overwritten, not accumulated into
      scatterAdd(dy.data(), ids.data(), out.data(), n, V, D);
      expectBitEqual(out, valuesOf(want));
    });
  }
}

TEST(NativeEmbedding, BadIdsThrow) {
  std::vector<float> table(6), out(6);
  std::vector<int32_t> ids = {0, 3};
  EXPECT_THROW(gather(table.data(), ids.data(), out.data(), 2, 3, 2), Error);
  EXPECT_THROW(scatterAdd(table.data(), ids.data(), out.data(), 2, 3, 2), Error);
  ids = {-1, 0};
  EXPECT_THROW(gather(table.data(), ids.data(), out.data(), 2, 3, 2), Error);
  EXPECT_THROW(scatterAdd(table.data(), ids.data(), out.data(), 2, 3, 2), Error);
}

}  // namespace
}  // namespace heed::rt::native::test

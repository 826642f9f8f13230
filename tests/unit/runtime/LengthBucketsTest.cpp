// Length buckets: which pairs go where, every example once per epoch, batches a
// pure function of (seed, step), tensors padded to the bucket's lengths.
#include "TempDir.h"

#include "runtime/Error.h"
#include "runtime/seq2seq/LengthBuckets.h"

#include <map>
#include <set>

using namespace heed::rt;
using namespace heed::rt::test;

namespace {
using Ids = std::vector<int32_t>;

// n examples; example i has a source of 1 + (i % 7) symbols and a target of
// 1 + (i % 5) symbols (ids 10 + i and 100 + i), so lengths mix across buckets.
EncodedData mixed(int64_t n) {
  std::vector<Example> ex;
  for (int64_t i = 0; i < n; ++i) {
    Example e;
    e.src = Ids((size_t)(1 + i % 7), (int32_t)(10 + i));
    e.tgt = Ids((size_t)(1 + i % 5), (int32_t)(100 + i));
    ex.push_back(e);
  }
  return EncodedData(std::move(ex), 8, 8);
}

bool fits(const Example &e, const Bucket &b) {
  return (int64_t)e.src.size() <= b.srcLen && (int64_t)e.tgt.size() + 1 <= b.tgtLen;
}
}  // namespace

TEST(LengthBuckets, ParsesLengths) {
  EXPECT_EQ(parseBucketLengths("12 16", "--buckets"), (std::vector<int64_t>{12, 16}));
  EXPECT_EQ(parseBucketLengths(" 8,12 ,16 ", "--buckets"), (std::vector<int64_t>{8, 12, 16}));
  EXPECT_TRUE(parseBucketLengths("", "--buckets").empty());
  expectErrorContaining([] { parseBucketLengths("12 x", "--buckets"); }, {"--buckets expects lengths", "12 x"});
  expectErrorContaining([] { parseBucketLengths("-3", "--buckets"); }, {"--buckets expects lengths"});
  expectErrorContaining([] { parseBucketLengths("1.5", "--buckets"); }, {"--buckets expects lengths"});
}

TEST(LengthBuckets, MakesBucketsUnderTheModelsLengths) {
  std::vector<Bucket> b = makeBuckets({4, 6}, 10, 8);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].srcLen, 4);
  EXPECT_EQ(b[0].tgtLen, 4);
  EXPECT_EQ(b[2].srcLen, 10);
  EXPECT_EQ(b[2].tgtLen, 8);
  // A length between the two caps only the longer side.
  std::vector<Bucket> c = makeBuckets({9}, 10, 8);
  EXPECT_EQ(c[0].srcLen, 9);
  EXPECT_EQ(c[0].tgtLen, 8);
  expectErrorContaining([] { makeBuckets({6, 6}, 10, 10); }, {"must increase", "6 follows 6"});
  expectErrorContaining([] { makeBuckets({1}, 10, 10); }, {"bucket length 1 is below 2"});
  expectErrorContaining([] { makeBuckets({10}, 10, 10); }, {"not below the model's lengths", "src_len 10"});
}

TEST(LengthBuckets, EveryExampleOncePerEpochInABucketItFits) {
  EncodedData data = mixed(203);
  LengthBuckets lb(data, makeBuckets({3, 5}, 8, 8), 16);
  const std::vector<Bucket> &b = lb.buckets();
  // Each example counted in the first bucket it fits: (3, 3), (5, 5), (8, 8).
  std::vector<int64_t> expect(3, 0);
  for (int64_t i = 0; i < 203; ++i) {
    const int64_t src = 1 + i % 7, tgt1 = 2 + i % 5;
    ++expect[src <= 3 && tgt1 <= 3 ? 0 : src <= 5 && tgt1 <= 5 ? 1 : 2];
  }
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(b[k].examples, expect[k]) << "bucket " << k;
    EXPECT_GT(b[k].examples, 0);
  }
  const int64_t nb = lb.batchesPerEpoch();
  EXPECT_EQ(nb, (203 + 15) / 16);  // remainders move up; only the last batch is completed
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    std::map<int64_t, int> seen;
    std::set<int> bucketsUsed;
    for (int64_t s = epoch * nb; s < (epoch + 1) * nb; ++s) {
      auto [k, rows] = lb.batchExamples(s, 42);
      ASSERT_EQ(rows.size(), 16u);
      bucketsUsed.insert(k);
      for (int64_t i : rows) {
        EXPECT_TRUE(fits(data.examples()[(size_t)i], b[(size_t)k])) << "example " << i << " in bucket " << k;
        ++seen[i];
      }
    }
    EXPECT_EQ((int64_t)seen.size(), 203) << "epoch " << epoch;
    int repeats = 0;
    for (auto &[i, n] : seen) repeats += n - 1;
    EXPECT_EQ(repeats, nb * 16 - 203) << "only the completion of the last batch repeats examples";
    EXPECT_EQ(bucketsUsed.size(), 3u);
  }
}

TEST(LengthBuckets, BatchesArePureFunctionsOfSeedAndStep) {
  EncodedData data = mixed(100);
  LengthBuckets a(data, makeBuckets({4}, 8, 8), 8), b(data, makeBuckets({4}, 8, 8), 8);
  // Out of order and across epochs, from two objects: the same batches.
  for (int64_t s : {37, 3, 0, 12, 25, 3, 13}) EXPECT_EQ(a.batchExamples(s, 5), b.batchExamples(s, 5)) << s;
  // Another seed, another order; another epoch, another order.
  int differ = 0, differEpoch = 0;
  for (int64_t s = 0; s < a.batchesPerEpoch(); ++s) {
    differ += a.batchExamples(s, 5) != a.batchExamples(s, 6);
    differEpoch += a.batchExamples(s, 5) != a.batchExamples(s + a.batchesPerEpoch(), 5);
  }
  EXPECT_GT(differ, 0);
  EXPECT_GT(differEpoch, 0);
}

TEST(LengthBuckets, TensorsArePaddedToTheBucket) {
  EncodedData data = mixed(50);
  LengthBuckets lb(data, makeBuckets({3, 5}, 8, 8), 4);
  std::set<int> kinds;
  for (int64_t s = 0; s < lb.batchesPerEpoch(); ++s) {
    Tensor src, tin, tout;
    int k = lb.batch(s, 9, src, tin, tout);
    auto [k2, rows] = lb.batchExamples(s, 9);
    ASSERT_EQ(k, k2);
    kinds.insert(k);
    const Bucket &bk = lb.buckets()[(size_t)k];
    ASSERT_EQ(src.shape(), (Shape{4, bk.srcLen}));
    ASSERT_EQ(tin.shape(), (Shape{4, bk.tgtLen}));
    ASSERT_EQ(tout.shape(), (Shape{4, bk.tgtLen}));
    for (int64_t r = 0; r < 4; ++r) {
      Ids es(bk.srcLen), ei(bk.tgtLen), eo(bk.tgtLen);
      EncodedData::fillRow(data.examples()[(size_t)rows[(size_t)r]], bk.srcLen, bk.tgtLen, es.data(), ei.data(),
                           eo.data());
      EXPECT_EQ(Ids(src.i32() + r * bk.srcLen, src.i32() + (r + 1) * bk.srcLen), es);
      EXPECT_EQ(Ids(tin.i32() + r * bk.tgtLen, tin.i32() + (r + 1) * bk.tgtLen), ei);
      EXPECT_EQ(Ids(tout.i32() + r * bk.tgtLen, tout.i32() + (r + 1) * bk.tgtLen), eo);
    }
  }
  EXPECT_GT(kinds.size(), 1u);
}

TEST(LengthBuckets, RejectsBucketsThatDoNotEndAtTheDataLengths) {
  EncodedData data = mixed(10);
  expectErrorContaining([&] { LengthBuckets(data, makeBuckets({4}, 9, 9), 4); }, {"last bucket"});
  expectErrorContaining([&] { LengthBuckets(data, makeBuckets({4}, 8, 8), 0); }, {"batch must be >= 1"});
}

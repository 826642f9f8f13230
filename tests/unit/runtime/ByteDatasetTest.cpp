#include "TempDir.h"

#include "runtime/Error.h"
#include "runtime/data/ByteDataset.h"

#include <cmath>
#include <set>

using namespace heed::rt;
using namespace heed::rt::test;

namespace {
std::string corpus(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back((char)('a' + (i * 7 + i / 26) % 26));
  return s;
}
std::vector<int32_t> ids(const Tensor &t) { return std::vector<int32_t>(t.i32(), t.i32() + t.size()); }
}  // namespace

TEST(RuntimeByteDataset, LoadsFileAndEncodes) {
  TempDir d;
  writeBytes(d.file("t.txt"), std::string("hi\xff\n", 4));
  ByteDataset ds(d.file("t.txt"));
  EXPECT_EQ(ds.size(), 4);
  EXPECT_EQ(ByteDataset::encode(std::string("hi\xff", 3)), (std::vector<int32_t>{104, 105, 255}));
  EXPECT_EQ(ByteDataset::decode({104, 105, 255}), std::string("hi\xff", 3));
  EXPECT_THROW(ByteDataset::decode({256}), Error);
  EXPECT_THROW(ByteDataset::decode({-1}), Error);
}

// A UTF-8 byte-order mark is not text: it is neither trained on nor counted.
TEST(RuntimeByteDataset, ByteOrderMarkStripped) {
  TempDir d;
  writeBytes(d.file("bom.txt"), "\xEF\xBB\xBF" "ab\n");
  ByteDataset ds(d.file("bom.txt"));
  EXPECT_EQ(ds.size(), 3);
  writeBytes(d.file("plain.txt"), "ab\n");
  EXPECT_EQ(unigramEntropyNats(d.file("bom.txt")), unigramEntropyNats(d.file("plain.txt")));
}

TEST(RuntimeByteDataset, FileErrors) {
  TempDir d;
  expectErrorContaining([&] { ByteDataset ds(d.file("missing.txt")); }, {"missing.txt", "No such file"});
  writeBytes(d.file("empty.txt"), "");
  expectErrorContaining([&] { ByteDataset ds(d.file("empty.txt")); }, {"empty.txt", "is empty"});
  writeBytes(d.file("bom-only.txt"), "\xEF\xBB\xBF");
  expectErrorContaining([&] { ByteDataset ds(d.file("bom-only.txt")); }, {"bom-only.txt", "is empty"});
  expectErrorContaining([&] { ByteDataset ds(d.path()); }, {"Is a directory"});
  expectErrorContaining([&] { ByteDataset ds("/dev/zero"); }, {"character device, not a regular file"});
  writeBytes(d.file("short.txt"), std::string(100, 'x'));
  ByteDataset ds(d.file("short.txt"));
  Tensor tok, tgt;
  expectErrorContaining([&] { ds.batch(1, 2, 128, 0, tok, tgt); },
                        {"data file '", "short.txt' has 100 bytes; a window needs seq + 1 = 129"});
  ds.batch(1, 2, 99, 0, tok, tgt);  // exactly one window fits
  EXPECT_EQ(tok.i32()[0], 'x');
}

TEST(RuntimeByteDataset, BatchesReproducibleAndShifted) {
  ByteDataset ds = ByteDataset::fromString(corpus(5000));
  const int64_t B = 8, T = 32;
  Tensor tok, tgt, tok2, tgt2;
  ds.batch(17, B, T, 1234, tok, tgt);
  ASSERT_EQ(tok.dtype(), DType::I32);
  EXPECT_EQ(tok.shape(), Shape({B, T}));
  EXPECT_EQ(tgt.shape(), Shape({B, T}));
  // Same (seed, step) -> same batch, independently of what was drawn before.
  ds.batch(3, B, T, 1234, tok2, tgt2);
  ds.batch(17, B, T, 1234, tok2, tgt2);
  EXPECT_EQ(ids(tok), ids(tok2));
  EXPECT_EQ(ids(tgt), ids(tgt2));
  // Other step or seed -> another batch.
  ds.batch(18, B, T, 1234, tok2, tgt2);
  EXPECT_NE(ids(tok), ids(tok2));
  ds.batch(17, B, T, 1235, tok2, tgt2);
  EXPECT_NE(ids(tok), ids(tok2));
  // Row r does not depend on the batch size.
  ds.batch(17, 2, T, 1234, tok2, tgt2);
  EXPECT_EQ(std::vector<int32_t>(tok.i32(), tok.i32() + 2 * T), ids(tok2));

  const std::string bytes = ByteDataset::decode(ds.ids());
  for (int64_t r = 0; r < B; ++r) {
    const int32_t *a = tok.i32() + r * T, *b = tgt.i32() + r * T;
    for (int64_t t = 0; t + 1 < T; ++t) EXPECT_EQ(b[t], a[t + 1]);
    // The row is a contiguous window of the data.
    std::string window;
    for (int64_t t = 0; t < T; ++t) window.push_back((char)a[t]);
    window.push_back((char)b[T - 1]);
    EXPECT_NE(bytes.find(window), std::string::npos) << "row " << r;
  }
}

TEST(RuntimeByteDataset, StartsCoverTheWholeRange) {
  // 12 bytes, seq 10: starts 0 and 1 only; both must occur, and nothing past the end.
  std::string s = "0123456789AB";
  ByteDataset ds = ByteDataset::fromString(s);
  std::set<int32_t> firsts;
  Tensor tok, tgt;
  for (int step = 1; step <= 50; ++step) {
    ds.batch(step, 4, 10, 9, tok, tgt);
    for (int r = 0; r < 4; ++r) firsts.insert(tok.i32()[r * 10]);
  }
  EXPECT_EQ(firsts, (std::set<int32_t>{'0', '1'}));
}

TEST(RuntimeByteDataset, EvalWindowsInFileOrder) {
  // 11 bytes, seq 3: windows at 0, 3, 6 (the last target is byte 9); byte 10 unused.
  ByteDataset ds = ByteDataset::fromString("abcdefghijk");
  EXPECT_EQ(ds.evalWindows(3), 3);
  EXPECT_EQ(ds.evalWindows(10), 1);
  Tensor tok, tgt;
  EXPECT_EQ(ds.evalBatch(0, 2, 3, tok, tgt), 2);
  EXPECT_EQ(ByteDataset::decode(ids(tok)), "abcdef");
  EXPECT_EQ(ByteDataset::decode(ids(tgt)), "bcdefg");
  // Last partial batch: one real row, the others repeat it.
  EXPECT_EQ(ds.evalBatch(2, 3, 3, tok, tgt), 1);
  EXPECT_EQ(ByteDataset::decode(ids(tok)), "ghighighi");
  EXPECT_EQ(ByteDataset::decode(ids(tgt)), "hijhijhij");
  EXPECT_THROW(ds.evalBatch(3, 2, 3, tok, tgt), Error);
  EXPECT_THROW(ds.evalBatch(-1, 2, 3, tok, tgt), Error);
}

TEST(RuntimeByteDataset, UnigramEntropy) {
  TempDir d;
  writeBytes(d.file("aabb"), "aabb");
  EXPECT_NEAR(unigramEntropyNats(d.file("aabb")), std::log(2.0), 1e-12);
  writeBytes(d.file("aaaa"), "aaaa");
  EXPECT_NEAR(unigramEntropyNats(d.file("aaaa")), 0.0, 1e-12);
  writeBytes(d.file("abcd"), "abcdabcd");
  EXPECT_NEAR(unigramEntropyNats(d.file("abcd")), std::log(4.0), 1e-12);
  EXPECT_THROW(unigramEntropyNats(d.file("nope")), Error);
}

#include "TempDir.h"
#include "TestUtil.h"

#include "runtime/Error.h"
#include "runtime/Npz.h"

using namespace heed::rt;
using namespace heed::rt::test;

namespace {

std::string unhex(const std::string &h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back((char)std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

// Written by numpy 1.24 (Debian 12): np.savez(f, a=np.arange(6, dtype=np.float32).reshape(2, 3),
// ids=np.array([1, 2], dtype=np.int32)); local headers carry ZIP64 extra fields.
const char *kNumpySavez =
    "504b0304140000000000000021004fe9002a980000009800000005001400612e6e707901001000980000000000000098"
    "00000000000000934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572"
    "273a2046616c73652c20277368617065273a2028322c2033292c207d2020202020202020202020202020202020202020"
    "20202020202020202020202020202020202020202020202020202020202020202020202020200a000000000000803f00"
    "00004000004040000080400000a040504b0304140000000000000021000bf9aa2d880000008800000007001400696473"
    "2e6e70790100100088000000000000008800000000000000934e554d5059010076007b276465736372273a20273c6934"
    "272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c292c207d2020202020"
    "202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020"
    "202020202020200a0100000002000000504b01021403140000000000000021004fe9002a980000009800000005000000"
    "0000000000000000800100000000612e6e7079504b01021403140000000000000021000bf9aa2d880000008800000007"
    "00000000000000000000008001cf0000006964732e6e7079504b0506000000000200020068000000900100000000";
// np.savez_compressed(f, a=np.zeros(3, dtype=np.float32))
const char *kNumpyCompressed =
    "504b030414000000080000002100a9f69b18470000008c00000005001400612e6e7079010010008c000000000000004700"
    "0000000000009bec17ea1b10c9c850c650ad9e925a9c5ca46ea5a06e9366a2aea3a09e965f54529498179f5f94920a1277"
    "4bcc294e058a17672416a402f91ac63a9a3a0ab50a14002e06240000504b0102140314000000080000002100a9f69b1847"
    "0000008c000000050000000000000000000000800100000000612e6e7079504b05060000000001000100330000007e0000"
    "000000";

std::string errorOf(const std::string &bytes) {
  try {
    parseNpz(bytes, "t.npz");
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(RuntimeNpz, Crc32MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32("123456789"), 0xcbf43926u);
  EXPECT_EQ(crc32(""), 0u);
}

TEST(RuntimeNpz, ReadsWhatNumpyWrites) {
  NamedTensors a = parseNpz(unhex(kNumpySavez));
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].first, "a");
  expectTensorNear(a[0].second, {2, 3}, {0, 1, 2, 3, 4, 5}, 0);
  EXPECT_EQ(a[1].first, "ids");
  ASSERT_EQ(a[1].second.dtype(), DType::I32);
  EXPECT_EQ(a[1].second.i32()[1], 2);
}

TEST(RuntimeNpz, RoundTripKeepsNamesOrderAndDtypes) {
  TempDir d;
  NamedTensors in = {{"logits", Tensor::fromF32({2, 2}, {1, -2, 3.5f, 0})},
                     {"grad/linear.w", Tensor::fromF32({3}, {7, 8, 9})},
                     {"ids", Tensor::fromI32({2}, {4, 5})}};
  writeNpz(d.file("o.npz"), in);
  NamedTensors out = readNpz(d.file("o.npz"));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].first, "grad/linear.w");
  expectTensorNear(out[0].second, {2, 2}, {1, -2, 3.5f, 0}, 0);
  EXPECT_EQ(out[2].second.i32()[0], 4);
  // Byte for byte reproducible (fixed dates).
  EXPECT_EQ(encodeNpz(in), encodeNpz(in));
}

TEST(RuntimeNpz, InflatesWhatSavezCompressedWrites) {
  NamedTensors a = parseNpz(unhex(kNumpyCompressed));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].first, "a");
  expectTensorNear(a[0].second, {3}, {0, 0, 0}, 0);
}

TEST(RuntimeNpz, RejectsOtherMethodsAndBadDeflate) {
  std::string z = unhex(kNumpyCompressed);
  std::string bzip = z;
  bzip[8] = 12;                            // local header method
  bzip[z.rfind("PK\x01\x02", std::string::npos) + 10] = 12;  // central directory method
  std::string e = errorOf(bzip);
  EXPECT_NE(e.find("member 'a.npy' uses zip compression method 12"), std::string::npos) << e;
  std::string broken = z;
  broken[z.find("a.npy") + 5 + 20 + 3] ^= 0x55;  // inside the deflate stream
  e = errorOf(broken);
  EXPECT_NE(e.find("member 'a.npy' is corrupt"), std::string::npos) << e;
}

TEST(RuntimeNpz, RejectsCorruptAndTruncatedArchives) {
  std::string good = encodeNpz({{"x", Tensor::fromF32({4}, {1, 2, 3, 4})}});
  std::string flipped = good;
  flipped[100] ^= 1;  // inside the .npy data
  EXPECT_NE(errorOf(flipped).find("is corrupt (CRC-32"), std::string::npos) << errorOf(flipped);
  EXPECT_NE(errorOf(good.substr(0, good.size() - 30)).find("no end-of-central-directory"), std::string::npos);
  EXPECT_NE(errorOf("hello").find("not a zip archive"), std::string::npos);
  std::string cut = good.substr(0, 60) + good.substr(good.size() - 22);  // directory points past the end
  EXPECT_NE(errorOf(cut).find("npz 't.npz': truncated zip archive"), std::string::npos) << errorOf(cut);
  EXPECT_THROW(encodeNpz({{"x", Tensor::scalarF32(1)}, {"x", Tensor::scalarF32(2)}}), Error);
}

#include "TempDir.h"
#include "TestUtil.h"

#include "runtime/Error.h"
#include "runtime/Npy.h"

#include <cstring>

using namespace heed::rt;
using namespace heed::rt::test;

namespace {
/// A hand-built .npy v1.0 file (header padded to 64 bytes).
std::string npyV1(const std::string &dict, const std::string &data) {
  std::string header = dict;
  size_t total = 10 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out.push_back(1);
  out.push_back(0);
  out.push_back((char)(header.size() & 0xff));
  out.push_back((char)(header.size() >> 8));
  return out + header + data;
}
std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), std::data(v), s.size());
  return s;
}
}  // namespace

TEST(RuntimeNpy, RoundTripF32) {
  TempDir d;
  Tensor t = Tensor::fromF32({2, 3}, {1, -2, 3.5f, 0, 1e-30f, -7});
  writeNpy(d.file("a.npy"), t);
  Tensor r = readNpy(d.file("a.npy"));
  expectTensorNear(r, {2, 3}, values(t), 0);
  // The header is padded so the data starts on a 64-byte boundary.
  EXPECT_EQ((encodeNpy(t).size() - 24) % 64, 0u);
}

TEST(RuntimeNpy, RoundTripI32I64BoolScalarEmpty) {
  TempDir d;
  Tensor i = Tensor::fromI32({4}, {0, -1, 2147483647, 7});
  writeNpy(d.file("i.npy"), i);
  Tensor ri = readNpy(d.file("i.npy"));
  ASSERT_EQ(ri.dtype(), DType::I32);
  EXPECT_EQ(ri.shape(), Shape({4}));
  EXPECT_EQ(std::vector<int32_t>(ri.i32(), ri.i32() + 4), std::vector<int32_t>({0, -1, 2147483647, 7}));

  Tensor l(DType::I64, {2});
  l.i64()[0] = -5;
  l.i64()[1] = (int64_t)1 << 40;
  Tensor rl = parseNpy(encodeNpy(l));
  ASSERT_EQ(rl.dtype(), DType::I64);
  EXPECT_EQ(rl.i64()[1], (int64_t)1 << 40);

  Tensor b(DType::Bool, {2, 2});
  b.b8()[1] = 1;
  b.b8()[2] = 1;
  writeNpy(d.file("b.npy"), b);
  expectBools(readNpy(d.file("b.npy")), {2, 2}, {0, 1, 1, 0});

  Tensor s = Tensor::scalarF32(3.25f);
  Tensor rs = parseNpy(encodeNpy(s));
  EXPECT_EQ(rs.rank(), 0);
  EXPECT_EQ(rs.f32()[0], 3.25f);

  Tensor e(DType::F32, {0, 5});
  Tensor re = parseNpy(encodeNpy(e));
  EXPECT_EQ(re.shape(), Shape({0, 5}));
}

TEST(RuntimeNpy, ReadsHandWrittenHeaders) {
  // numpy's own formatting, with double-quoted strings and a 1-tuple.
  Tensor t = parseNpy(npyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", floats({1, 2})));
  expectTensorNear(t, {2}, {1, 2}, 0);
  Tensor u = parseNpy(npyV1("{\"shape\": (1, 2), \"descr\": \"<f4\", \"fortran_order\": False}",
                            floats({3, 4})));
  expectTensorNear(u, {1, 2}, {3, 4}, 0);
  // Version 2.0: a 4-byte header length.
  std::string v1 = npyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats({5}));
  std::string v2 = v1.substr(0, 6) + std::string("\x02\x00", 2);
  std::string hdr = v1.substr(10);
  uint16_t hl = (uint8_t)v1[8] | ((uint8_t)v1[9] << 8);
  v2 += std::string{(char)(hl & 0xff), (char)(hl >> 8), 0, 0} + hdr;
  expectTensorNear(parseNpy(v2), {1}, {5}, 0);
}

TEST(RuntimeNpy, MalformedFiles) {
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  expectErrorContaining([] { parseNpy("PK\x03\x04 not numpy", "x.npy"); }, {"x.npy", "bad magic"});
  expectErrorContaining([] { parseNpy(""); }, {"bad magic"});
  expectErrorContaining(
      [] { parseNpy(npyV1("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", floats({1}))); },
      {"unsupported dtype '>f4'"});
  expectErrorContaining(
      [] { parseNpy(npyV1("{'descr': '<u2', 'fortran_order': False, 'shape': (1,), }", std::string(8, 0))); },
      {"unsupported dtype '<u2'"});
  expectErrorContaining(
      [] { parseNpy(npyV1("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", floats({1}))); },
      {"fortran_order"});
  expectErrorContaining([&] { parseNpy(npyV1(ok, floats({1}))); }, {"truncated data", "needs 8 bytes"});
  expectErrorContaining([&] { parseNpy(npyV1(ok, floats({1, 2, 3}))); }, {"trailing"});
  expectErrorContaining([] { parseNpy(npyV1("{'descr': '<f4', 'shape': (1,), }", floats({1}))); },
                        {"missing 'fortran_order'"});
  expectErrorContaining([] { parseNpy(npyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (1,", floats({1}))); },
                        {"malformed header"});
  expectErrorContaining(
      [] { parseNpy(npyV1("{'descr': '|b1', 'fortran_order': False, 'shape': (1,), }", std::string(1, 2))); },
      {"byte value 2"});
  // Header length beyond the file.
  std::string trunc = npyV1(ok, floats({1, 2})).substr(0, 30);
  expectErrorContaining([&] { parseNpy(trunc); }, {"truncated header"});
  // Header too large (v2.0 with a 2 GiB header length).
  std::string huge = std::string("\x93NUMPY\x02\x00", 8) + std::string("\x00\x00\x00\x80", 4);
  expectErrorContaining([&] { parseNpy(huge); }, {"header too large"});
  expectErrorContaining([] { parseNpy(std::string("\x93NUMPY\x04\x00", 8)); }, {"unsupported format version 4.0"});
}

TEST(RuntimeNpy, MissingFileNamesPath) {
  expectErrorContaining([] { readNpy("/nonexistent/dir/w.npy"); }, {"/nonexistent/dir/w.npy", "No such file"});
}

#include "TempDir.h"

#include <sys/stat.h>
#include "TestUtil.h"

#include "runtime/Checkpoint.h"
#include "runtime/Error.h"

#include <cstring>
#include <filesystem>

using namespace heed::rt;
using namespace heed::rt::test;
namespace fs = std::filesystem;

namespace {
/// A safetensors file from a literal JSON header and data bytes.
std::string stFile(const std::string &json, const std::string &data) {
  std::string out(8, '\0');
  uint64_t n = json.size();
  for (int k = 0; k < 8; ++k) out[k] = (char)((n >> (8 * k)) & 0xff);
  return out + json + data;
}
std::string f32Bytes(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), std::data(v), s.size());
  return s;
}
}  // namespace

TEST(RuntimeCheckpoint, RoundTripWithMetadata) {
  TempDir d;
  Tensor a = Tensor::fromF32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = Tensor::fromI32({3}, {7, -8, 9});
  Tensor c(DType::Bool, {5});
  c.b8()[2] = 1;
  Tensor e(DType::I64, {1});
  e.i64()[0] = -((int64_t)1 << 50);
  Tensor empty(DType::F32, {0, 4});
  Tensor scalar = Tensor::scalarF32(0.5f);
  const std::string p = d.file("ck.safetensors");
  saveCheckpoint(p, {{"z/a", &a}, {"b", &b}, {"mask", &c}, {"big", &e}, {"empty", &empty}, {"s", &scalar}},
                 {{"step", "1200"}, {"model", "tiny"}});

  // The data section starts 8-byte aligned.
  std::string raw = readBytes(p);
  uint64_t n = 0;
  for (int k = 0; k < 8; ++k) n |= (uint64_t)(uint8_t)raw[k] << (8 * k);
  EXPECT_EQ((8 + n) % 8, 0u);
  EXPECT_EQ(raw.size(), 8 + n + 24 + 12 + 5 + 8 + 0 + 4);

  Checkpoint ck = loadCheckpoint(p);
  EXPECT_EQ(ck.order, (std::vector<std::string>{"z/a", "b", "mask", "big", "empty", "s"}));
  EXPECT_EQ(ck.metadata.at("step"), "1200");
  EXPECT_EQ(ck.metadata.at("model"), "tiny");
  expectTensorNear(ck.tensors.at("z/a"), {2, 3}, {1, 2, 3, 4, 5, 6}, 0);
  EXPECT_EQ(ck.tensors.at("b").i32()[1], -8);
  expectBools(ck.tensors.at("mask"), {5}, {0, 0, 1, 0, 0});
  EXPECT_EQ(ck.tensors.at("big").i64()[0], -((int64_t)1 << 50));
  EXPECT_EQ(ck.tensors.at("empty").shape(), Shape({0, 4}));
  EXPECT_EQ(ck.tensors.at("s").rank(), 0);
  EXPECT_EQ(ck.tensors.at("s").f32()[0], 0.5f);
  EXPECT_EQ(ck.path, p);
}

TEST(RuntimeCheckpoint, ReadsForeignHeaderOrder) {
  // Keys in any order, tensors stored in the opposite order of the keys.
  TempDir d;
  std::string json = R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                     R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}  )";
  writeBytes(d.file("x.safetensors"), stFile(json, f32Bytes({2, 1})));
  Checkpoint ck = loadCheckpoint(d.file("x.safetensors"));
  EXPECT_EQ(ck.order, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(ck.tensors.at("a").f32()[0], 1.0f);
  EXPECT_EQ(ck.metadata.at("format"), "pt");
}

TEST(RuntimeCheckpoint, SaveRejectsBadInput) {
  TempDir d;
  Tensor a = Tensor::fromF32({1}, {1});
  EXPECT_THROW(saveCheckpoint(d.file("x"), {{"a", &a}, {"a", &a}}), Error);
  EXPECT_THROW(saveCheckpoint(d.file("x"), {{"__metadata__", &a}}), Error);
  Tensor undef;
  EXPECT_THROW(saveCheckpoint(d.file("x"), {{"u", &undef}}), Error);
  EXPECT_FALSE(fs::exists(d.file("x")));
}

TEST(RuntimeCheckpoint, CorruptFiles) {
  TempDir d;
  const std::string p = d.file("bad.safetensors");
  auto expectBad = [&](const std::string &bytes, std::initializer_list<const char *> phrases) {
    writeBytes(p, bytes);
    expectErrorContaining([&] { loadCheckpoint(p); }, phrases);
  };
  const std::string okEntry = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string good = stFile("{" + okEntry + "}", f32Bytes({1, 2}));

  expectBad("abc", {"checkpoint '", "file too short"});
  expectBad(good.substr(0, good.size() - 3), {"out of range"});          // truncated data
  expectBad(good.substr(0, 20), {"beyond the end of the file"});         // truncated header
  expectBad(stFile("{" + okEntry + "}", f32Bytes({1, 2, 3})), {"trailing garbage"});
  std::string absurd(8, '\0');
  absurd[7] = 1;  // 2^56
  expectBad(absurd + "{}", {"absurd"});
  expectBad(stFile("{\"w\": {\"dtype\": ", ""), {"not valid JSON"});
  expectBad(stFile("[1, 2]", ""), {"does not start with '{'"});
  expectBad(stFile(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", f32Bytes({1, 2})), {"'w'", "missing 'dtype'"});
  expectBad(stFile(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", f32Bytes({1, 2})), {"missing 'shape'"});
  expectBad(stFile(R"({"w":{"dtype":"F32","shape":[2]}})", f32Bytes({1, 2})), {"missing 'data_offsets'"});
  expectBad(stFile(R"({"w":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})", f32Bytes({1, 2})),
            {"unsupported dtype 'F16'"});
  expectBad(stFile(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", f32Bytes({1, 2})),
            {"'w'", "out of range"});
  expectBad(stFile(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", f32Bytes({1, 2})),
            {"'w'", "hold 8 bytes", "F32 [3] needs 12"});
  expectBad(stFile(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", f32Bytes({1, 2})),
            {"non-negative"});
  // Empty, but its other dimensions would overflow any element count.
  expectBad(stFile(R"({"w":{"dtype":"F32","shape":[1099511627776,1099511627776,0],"data_offsets":[0,0]}})", ""),
            {"'w'", "too large (its non-zero dimensions multiply past 2^62)"});
  expectBad(stFile(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                   R"("v":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
                   f32Bytes({1, 2})),
            {"overlap"});
  expectBad(stFile(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f32Bytes({1, 2})),
            {"unused bytes"});
  expectBad(stFile(R"({"__metadata__":{"step":3}})", ""), {"__metadata__", "not a string"});
  expectBad(stFile(R"({"m":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}})", std::string(1, 7)),
            {"byte value 7"});
  expectErrorContaining([&] { loadCheckpoint(d.file("missing.safetensors")); },
                        {"missing.safetensors", "No such file"});
}

// The same reader from memory (what the data fuzzer drives).
TEST(RuntimeCheckpoint, ParsesFromMemory) {
  const std::string good = stFile(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", f32Bytes({1, 2}));
  Checkpoint ck = parseCheckpoint(good, "mem");
  ASSERT_EQ(ck.order, std::vector<std::string>{"w"});
  EXPECT_EQ(ck.tensors.at("w").f32()[1], 2.0f);
  expectErrorContaining([&] { parseCheckpoint(good.substr(0, good.size() - 4), "mem"); },
                        {"checkpoint 'mem'", "out of range"});
}

TEST(RuntimeCheckpoint, NonRegularFilesRefused) {
  TempDir d;
  const std::string fifo = d.file("fifo.safetensors");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);  // no writer: a blocking open would hang
  expectErrorContaining([&] { loadCheckpoint(fifo); }, {"fifo.safetensors", "is not a regular file"});
  expectErrorContaining([&] { loadCheckpoint("/dev/zero"); }, {"/dev/zero", "is not a regular file"});
}

TEST(RuntimeCheckpoint, ResolvePathInDirectory) {
  TempDir d;
  Tensor a = Tensor::fromF32({1}, {1});
  expectErrorContaining([&] { resolveCheckpointPath(d.path()); }, {"no checkpoint in directory"});
  expectErrorContaining([&] { resolveCheckpointPath(d.file("nope")); }, {"does not exist"});
  for (int step : {100, 2000, 300}) saveCheckpoint(d.file(checkpointFileName(step)), {{"a", &a}});
  writeBytes(d.file("ckpt-99999.safetensors.tmp.123"), "partial");
  writeBytes(d.file("ckpt-abc.safetensors"), "x");
  EXPECT_EQ(resolveCheckpointPath(d.path()), d.file("ckpt-2000.safetensors"));
  EXPECT_EQ(resolveCheckpointPath(d.file("ckpt-300.safetensors")), d.file("ckpt-300.safetensors"));
  // A `latest` marker wins.
  writeLatestMarker(d.path(), "ckpt-300.safetensors");
  EXPECT_EQ(resolveCheckpointPath(d.path()), d.file("ckpt-300.safetensors"));
  writeLatestMarker(d.path(), "ckpt-5.safetensors");
  expectErrorContaining([&] { resolveCheckpointPath(d.path()); }, {"ckpt-5.safetensors", "does not exist"});
}

namespace {
ParamStore makeStore() {
  ParamStore s;
  s.add("enc.w", {2, 3}, "normal(0.5)");
  s.add("enc.b", {3}, "ones");
  s.initializeAll(11);
  return s;
}
}  // namespace

TEST(RuntimeCheckpoint, TrainingStateRoundTrip) {
  TempDir d;
  ParamStore s = makeStore();
  Param &w = s.get("enc.w");
  w.m = Tensor::fromF32({2, 3}, {1, 2, 3, 4, 5, 6});
  w.v = Tensor::fromF32({2, 3}, {6, 5, 4, 3, 2, 1});
  saveTrainingState(d.file("t.safetensors"), s, {{"step", "7"}});
  Checkpoint ck = loadCheckpoint(d.file("t.safetensors"));
  EXPECT_EQ(ck.order, (std::vector<std::string>{"param/enc.w", "param/enc.b", "adam_m/enc.w", "adam_v/enc.w"}));

  ParamStore t;
  t.add("enc.w", {2, 3});
  t.add("enc.b", {3});
  loadTrainingState(ck, t, /*withOptimizer=*/true);
  expectTensorNear(t.get("enc.w").value, {2, 3}, values(w.value), 0);
  expectTensorNear(t.get("enc.b").value, {3}, {1, 1, 1}, 0);
  expectTensorNear(t.get("enc.w").m, {2, 3}, {1, 2, 3, 4, 5, 6}, 0);
  expectTensorNear(t.get("enc.w").v, {2, 3}, {6, 5, 4, 3, 2, 1}, 0);
  EXPECT_FALSE(t.get("enc.b").m.defined());
  // The loaded values are copies, not views of the checkpoint.
  t.get("enc.b").value.f32()[0] = 9;
  EXPECT_EQ(ck.tensors.at("param/enc.b").f32()[0], 1.0f);

  loadTrainingState(ck, t, /*withOptimizer=*/false);
  EXPECT_FALSE(t.get("enc.w").m.defined());
}

TEST(RuntimeCheckpoint, TrainingStateErrors) {
  TempDir d;
  ParamStore s = makeStore();
  saveTrainingState(d.file("t.safetensors"), s);
  Checkpoint ck = loadCheckpoint(d.file("t.safetensors"));

  ParamStore wrongShape;
  wrongShape.add("enc.w", {3, 2});
  wrongShape.add("enc.b", {3});
  expectErrorContaining([&] { loadTrainingState(ck, wrongShape, false); },
                        {"t.safetensors", "'enc.w'", "[2, 3]", "[3, 2]"});
  // Nothing was changed by the failed load.
  EXPECT_EQ(wrongShape.get("enc.b").value.f32()[0], 0.0f);

  ParamStore missing;
  missing.add("enc.w", {2, 3});
  missing.add("enc.b", {3});
  missing.add("dec.w", {4});
  expectErrorContaining([&] { loadTrainingState(ck, missing, false); }, {"'dec.w'", "[4]", "missing"});

  ParamStore extra;
  extra.add("enc.w", {2, 3});
  expectErrorContaining([&] { loadTrainingState(ck, extra, false); },
                        {"param/enc.b", "[3]", "does not have"});

  // Optimizer state with the wrong shape.
  Checkpoint bad = ck;
  bad.tensors["adam_m/enc.b"] = Tensor(DType::F32, {4});
  bad.tensors["adam_v/enc.b"] = Tensor(DType::F32, {3});
  bad.order.push_back("adam_m/enc.b");
  bad.order.push_back("adam_v/enc.b");
  ParamStore ok;
  ok.add("enc.w", {2, 3});
  ok.add("enc.b", {3});
  expectErrorContaining([&] { loadTrainingState(bad, ok, true); }, {"adam_m", "'enc.b'", "[4]", "[3]"});
  loadTrainingState(bad, ok, false);  // optimizer state ignored
}

TEST(RuntimeCheckpoint, MetadataIntegersAndFormat) {
  Checkpoint ck;
  ck.path = "c.safetensors";
  ck.metadata = {{"a", "42"}, {"b", "4x"}, {"c", "99999999999999999999"}, {"d", "-3"}, {"e", ""}};
  EXPECT_EQ(metadataInt(ck, "a", 0), 42);
  EXPECT_EQ(metadataInt(ck, "missing", 7), 7);
  EXPECT_EQ(metadataUnsigned(ck, "a", 0), 42u);
  expectErrorContaining([&] { metadataInt(ck, "b", 0); }, {"checkpoint 'c.safetensors'", "'b' is '4x', not an integer"});
  expectErrorContaining([&] { metadataInt(ck, "c", 0); }, {"out of range"});
  expectErrorContaining([&] { metadataInt(ck, "d", 0); }, {"'d' is '-3', below 0"});
  expectErrorContaining([&] { metadataInt(ck, "e", 0); }, {"not an integer"});
  expectErrorContaining([&] { metadataUnsigned(ck, "d", 0); }, {"not a non-negative integer"});
  checkRunFormat(ck);  // absent: accepted
  ck.metadata["heed.format"] = "1";
  checkRunFormat(ck);
  ck.metadata["heed.format"] = "7";
  expectErrorContaining([&] { checkRunFormat(ck); }, {"heed.format '7'", "this heed reads version 1"});
}

#include "TempDir.h"
#include "TestUtil.h"

#include "runtime/Error.h"
#include "runtime/Npy.h"
#include "runtime/ParamStore.h"
#include "runtime/Random.h"

#include <cmath>

using namespace heed::rt;
using namespace heed::rt::test;

TEST(RuntimeParamStore, InsertionOrderLookupAndCounts) {
  ParamStore s;
  s.add("z.w", {3, 4}, "normal(0.02)");
  s.add("a.b", {4}, "zeros", /*frozen=*/true);
  s.add("m", {2, 2, 2}, "ones");
  std::vector<std::string> names;
  for (const Param &p : s) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"z.w", "a.b", "m"}));
  EXPECT_EQ(s.totalCount(), 12 + 4 + 8);
  EXPECT_EQ(s.trainableCount(), 12 + 8);
  ASSERT_NE(s.find("a.b"), nullptr);
  EXPECT_TRUE(s.get("a.b").frozen);
  EXPECT_EQ(s.find("nope"), nullptr);
  expectErrorContaining([&] { s.get("nope"); }, {"no parameter named 'nope'"});
  expectErrorContaining([&] { s.add("m", {1}); }, {"duplicate parameter 'm'"});
  // References stay valid as parameters are added.
  Param &first = s.get("z.w");
  for (int i = 0; i < 100; ++i) s.add("extra" + std::to_string(i), {1});
  EXPECT_EQ(first.name, "z.w");
}

TEST(RuntimeParamStore, ConstantInits) {
  ParamStore s;
  s.add("o", {3}, "ones");
  s.add("z", {2}, " zeros ");
  s.initializeAll(1);
  expectTensorNear(s.get("o").value, {3}, {1, 1, 1}, 0);
  expectTensorNear(s.get("z").value, {2}, {0, 0}, 0);
}

TEST(RuntimeParamStore, RandomInitDependsOnlyOnSeedAndName) {
  ParamStore a, b;
  a.add("enc.w", {5, 7}, "normal(0.1)");
  a.add("enc.u", {9}, "uniform(-2, 3)");
  // Different order, an extra parameter in between.
  b.add("other", {11}, "normal(1)");
  b.add("enc.u", {9}, "uniform(-2, 3)");
  b.add("enc.w", {5, 7}, "normal(0.1)");
  a.initializeAll(42);
  b.initializeAll(42);
  expectTensorNear(a.get("enc.w").value, {5, 7}, values(b.get("enc.w").value), 0);
  expectTensorNear(a.get("enc.u").value, {9}, values(b.get("enc.u").value), 0);
  // By hand: element i is std * normal(seed, hashString(name), i).
  EXPECT_EQ(a.get("enc.w").value.f32()[3], (float)(0.1 * normal(42, hashString("enc.w"), 3)));
  EXPECT_EQ(a.get("enc.u").value.f32()[4],
            (float)(-2.0 + 5.0 * (double)uniform01(42, hashString("enc.u"), 4)));
  for (int i = 0; i < 9; ++i) {
    EXPECT_GE(a.get("enc.u").value.f32()[i], -2.0f);
    EXPECT_LT(a.get("enc.u").value.f32()[i], 3.0f);
  }
  // Another seed or another name gives other values.
  ParamStore c;
  c.add("enc.w", {5, 7}, "normal(0.1)");
  c.add("enc.w2", {5, 7}, "normal(0.1)");
  c.initializeAll(43);
  EXPECT_NE(c.get("enc.w").value.f32()[0], a.get("enc.w").value.f32()[0]);
  c.initializeAll(42);
  EXPECT_EQ(c.get("enc.w").value.f32()[0], a.get("enc.w").value.f32()[0]);
  EXPECT_NE(c.get("enc.w2").value.f32()[0], a.get("enc.w").value.f32()[0]);
}

TEST(RuntimeParamStore, NormalStdWithinFivePercent) {
  ParamStore s;
  Param &p = s.add("big", {100000}, "normal(0.02)");
  initialize(p, 7);
  double sum = 0, sq = 0;
  for (int64_t i = 0; i < p.value.size(); ++i) {
    sum += p.value.f32()[i];
    sq += (double)p.value.f32()[i] * p.value.f32()[i];
  }
  const double n = (double)p.value.size(), mean = sum / n, std = std::sqrt(sq / n - mean * mean);
  EXPECT_NEAR(std, 0.02, 0.02 * 0.05);
  EXPECT_NEAR(mean, 0.0, 0.02 * 0.05);
}

TEST(RuntimeParamStore, LoadFromNpy) {
  TempDir d;
  writeNpy(d.file("w.npy"), Tensor::fromF32({2, 2}, {1, 2, 3, 4}));
  ParamStore s;
  Param &p = s.add("w", {2, 2}, "load(\"w.npy\")");
  initialize(p, 0, d.path());
  expectTensorNear(p.value, {2, 2}, {1, 2, 3, 4}, 0);
  Param &q = s.add("q", {2, 2}, "load(" + d.file("w.npy") + ")");  // absolute, unquoted
  initialize(q, 0, "/nonexistent");
  expectTensorNear(q.value, {2, 2}, {1, 2, 3, 4}, 0);

  Param &bad = s.add("enc.w", {4, 4}, "load('w.npy')");
  expectErrorContaining([&] { initialize(bad, 0, d.path()); },
                        {"parameter 'enc.w'", "[2, 2]", "[4, 4]"});
  Param &missing = s.add("m", {1}, "load(\"nope.npy\")");
  expectErrorContaining([&] { initialize(missing, 0, d.path()); }, {"parameter 'm'", "nope.npy", "No such file"});
  writeNpy(d.file("i.npy"), Tensor::fromI32({1}, {1}));
  Param &ints = s.add("i", {1}, "load(i.npy)");
  expectErrorContaining([&] { initialize(ints, 0, d.path()); }, {"parameter 'i'", "i32"});
}

TEST(RuntimeParamStore, BadInitStrings) {
  ParamStore s;
  for (const char *init : {"gaussian(1)", "normal", "normal(-1)", "normal(a)", "uniform(1)",
                           "uniform(3, 1)", "load()", "xavier"}) {
    Param &p = s.add(std::string("p_") + init, {2}, init);
    expectErrorContaining([&] { initialize(p, 0); }, {"parameter 'p_"});
  }
  Param &p = s.add("u", {2}, "unknown");
  expectErrorContaining([&] { initialize(p, 0); }, {"unknown init 'unknown'", "normal(STD)"});
}

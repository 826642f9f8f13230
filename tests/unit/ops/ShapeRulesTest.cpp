//===- ShapeRulesTest.cpp - the shape rules, in the user's names ----------===//

#include "ops/ShapeRules.h"

#include <gtest/gtest.h>

namespace heed {
namespace {

NShape S(std::initializer_list<std::pair<int64_t, const char *>> dims) {
  NShape s;
  for (auto &[n, name] : dims) s.push_back({n, name});
  return s;
}

TEST(ShapeRules, BroadcastKeepsNamesAndStretchesOnes) {
  ShapeResult r = broadcastShapes("add", S({{8, "batch"}, {16, "seq"}, {64, "d_model"}}), "x",
                                  S({{16, "seq"}, {64, "d_model"}}), "pe");
  ASSERT_TRUE(r);
  EXPECT_EQ(toString(*r.shape), "[batch, seq, d_model]");
  ShapeResult ones = broadcastShapes("mul", S({{3, ""}, {1, ""}}), "", S({{4, "n"}}), "");
  ASSERT_TRUE(ones);
  EXPECT_EQ(toString(*ones.shape), "[3, n]");
}

TEST(ShapeRules, BroadcastMismatchNamesBothShapes) {
  ShapeResult r = broadcastShapes("add", S({{8, "batch"}, {16, "seq"}}), "x",
                                  S({{8, "batch"}, {12, "other"}}), "y");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error, "add: shapes do not broadcast (dimension seq vs other): 'x' is [batch, seq] "
                     "but 'y' is [batch, other]");
}

TEST(ShapeRules, MatmulInnerAndBatch) {
  ShapeResult ok = matmulShape(S({{2, "b"}, {3, "t"}, {4, "d"}}), "x", S({{4, "d"}, {5, "v"}}), "w");
  ASSERT_TRUE(ok);
  EXPECT_EQ(toString(*ok.shape), "[b, t, v]");
  ShapeResult bad = matmulShape(S({{3, "t"}, {4, "d"}}), "x", S({{5, "v"}, {4, "d"}}), "w");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error, "matmul: inner dimensions differ (d vs v): 'x' is [t, d] but 'w' is [v, d]");
  EXPECT_FALSE(matmulShape(S({{4, ""}}), "", S({{4, ""}, {2, ""}}), ""));
  EXPECT_FALSE(matmulShape(S({{2, ""}, {3, ""}, {4, ""}}), "", S({{3, ""}, {4, ""}, {5, ""}}), ""));
}

TEST(ShapeRules, ReshapeCountsElements) {
  EXPECT_TRUE(reshapeShape(S({{2, ""}, {6, ""}}), "x", S({{3, ""}, {4, ""}})));
  ShapeResult bad = reshapeShape(S({{2, "a"}, {6, "b"}}), "x", S({{5, ""}}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error, "reshape: element counts differ: 'x' is [a, b] (12 elements) but the target [5] has 5");
}

TEST(ShapeRules, ReductionsAndAxes) {
  EXPECT_EQ(toString(*reduceShape("sum", S({{2, "a"}, {3, "b"}, {4, "c"}}), 1, false).shape), "[a, c]");
  EXPECT_EQ(toString(*reduceShape("sum", S({{2, "a"}, {3, "b"}}), -1, true).shape), "[a, 1]");
  ShapeResult bad = axisShape("softmax", S({{2, "a"}}), 1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error, "softmax: axis 1 is out of range for [a] (rank 1)");
}

TEST(ShapeRules, CrossEntropyLeadingDims) {
  EXPECT_TRUE(crossEntropyShape(S({{2, "b"}, {3, "t"}, {9, "v"}}), "l", S({{2, "b"}, {3, "t"}}), "y"));
  ShapeResult bad = crossEntropyShape(S({{2, "b"}, {3, "t"}, {9, "v"}}), "l", S({{2, "b"}, {4, "u"}}), "y");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error.find("leading dimensions of logits and targets differ (t vs u)"), std::string::npos);
  EXPECT_FALSE(crossEntropyShape(S({{2, "b"}, {9, "v"}}), "l", S({{2, "b"}, {3, "t"}}), "y"));
}

TEST(ShapeRules, AttentionHeadsAndMask) {
  NShape x = S({{2, "batch"}, {5, "seq"}, {12, "d_model"}});
  EXPECT_TRUE(attentionShape(x, "x", x, "x", 4, nullptr, ""));
  ShapeResult heads = attentionShape(x, "x", x, "x", 5, nullptr, "");
  ASSERT_FALSE(heads);
  EXPECT_EQ(heads.error, "attention: d_model (12) is not divisible by heads (5)");
  NShape mask = S({{2, "batch"}, {7, "src_len"}});
  ShapeResult m = attentionShape(x, "x", x, "x", 4, &mask, "pad");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error, "attention: key_padding mask must be [batch, seq] to mask scores [batch, heads, "
                     "seq, seq], but 'pad' is [batch, src_len]");
}

TEST(ShapeRules, LinearAndLayerNorm) {
  ShapeResult l = linearShape(S({{2, "b"}, {4, "d"}}), "x", S({{4, "d"}, {6, "h"}}), nullptr);
  ASSERT_TRUE(l);
  EXPECT_EQ(toString(*l.shape), "[b, h]");
  EXPECT_FALSE(linearShape(S({{2, "b"}, {5, "e"}}), "x", S({{4, "d"}, {6, "h"}}), nullptr));
  EXPECT_FALSE(layerNormShape(S({{2, ""}, {4, ""}}), S({{3, ""}}), S({{4, ""}})));
  EXPECT_TRUE(layerNormShape(S({{2, ""}, {4, ""}}), S({{4, ""}}), S({{4, ""}})));
}

TEST(ShapeRules, TransposeAndGather) {
  EXPECT_EQ(toString(*transposeShape(S({{2, "a"}, {3, "b"}, {4, "c"}}), {0, 2, 1}).shape), "[a, c, b]");
  EXPECT_FALSE(transposeShape(S({{2, "a"}, {3, "b"}}), {0, 0}));
  EXPECT_EQ(toString(*gatherShape(S({{256, "vocab"}, {64, "d"}}), S({{2, "b"}, {8, "t"}})).shape),
            "[b, t, d]");
}

}  // namespace
}  // namespace heed

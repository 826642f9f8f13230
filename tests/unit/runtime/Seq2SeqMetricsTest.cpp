#include "runtime/seq2seq/Metrics.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace heed::rt;

namespace {
using Ids = std::vector<int32_t>;
}

TEST(RuntimeMetrics, EditDistance) {
  EXPECT_EQ(editDistance({}, {}), 0);
  EXPECT_EQ(editDistance({1, 2, 3}, {}), 3);
  EXPECT_EQ(editDistance({}, {4, 5}), 2);
  EXPECT_EQ(editDistance({1, 2, 3}, {1, 2, 3}), 0);
  EXPECT_EQ(editDistance({1, 2, 3}, {1, 9, 3}), 1);     // substitution
  EXPECT_EQ(editDistance({1, 2, 3}, {1, 3}), 1);        // deletion
  EXPECT_EQ(editDistance({1, 3}, {1, 2, 3}), 1);        // insertion
  EXPECT_EQ(editDistance({1, 2}, {2, 1}), 2);           // no transpositions
  // kitten -> sitting = 3
  const Ids kitten = {'k', 'i', 't', 't', 'e', 'n'}, sitting = {'s', 'i', 't', 't', 'i', 'n', 'g'};
  EXPECT_EQ(editDistance(kitten, sitting), 3);
  EXPECT_EQ(editDistance(sitting, kitten), 3);
  // flaw -> lawn = 2
  EXPECT_EQ(editDistance({'f', 'l', 'a', 'w'}, {'l', 'a', 'w', 'n'}), 2);
  EXPECT_EQ(editDistance({7, 7, 7, 7}, {8}), 4);
}

TEST(RuntimeMetrics, WerAndPer) {
  ErrorRates none;
  EXPECT_EQ(none.wer(), 0.0);
  EXPECT_EQ(none.per(), 0.0);
  // ids: K=4 AE1=5 T=6 D=7
  ErrorRates r;
  r.add(/*hyp*/ {4, 5, 7}, /*ref*/ {4, 5, 6});  // "K AE1 D" vs "K AE1 T"
  EXPECT_EQ(r.words, 1);
  EXPECT_EQ(r.wordErrors, 1);
  EXPECT_EQ(r.symbols, 3);
  EXPECT_EQ(r.symbolEdits, 1);
  EXPECT_DOUBLE_EQ(r.wer(), 1.0);
  EXPECT_DOUBLE_EQ(r.per(), 1.0 / 3.0);
  r.add({4, 5, 6}, {4, 5, 6});  // correct
  r.add({4}, {4, 5, 6, 7});     // 3 deletions
  r.add({4, 5, 6, 7, 7}, {4, 5, 6});  // 2 insertions: PER can exceed the reference length
  EXPECT_EQ(r.words, 4);
  EXPECT_EQ(r.wordErrors, 3);
  EXPECT_EQ(r.symbols, 13);
  EXPECT_EQ(r.symbolEdits, 6);
  EXPECT_DOUBLE_EQ(r.wer(), 0.75);
  EXPECT_DOUBLE_EQ(r.per(), 6.0 / 13.0);
  // PER is total edits over total reference length, not a mean of per-word rates.
  ErrorRates a, b;
  a.add({1}, {2});                 // 1 / 1
  b.add({1, 2, 3, 4}, {1, 2, 3, 5});  // 1 / 4
  ErrorRates ab = a;
  ab += b;
  EXPECT_EQ(ab.words, 2);
  EXPECT_DOUBLE_EQ(ab.per(), 2.0 / 5.0);
  EXPECT_DOUBLE_EQ(ab.wer(), 1.0);
  ErrorRates emptyRef;
  emptyRef.add({1}, {});
  EXPECT_TRUE(std::isinf(emptyRef.per()));
  emptyRef.add({}, {});
  EXPECT_DOUBLE_EQ(emptyRef.wer(), 0.5);
}

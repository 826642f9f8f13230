#include "TempDir.h"

#include "runtime/Error.h"
#include "runtime/seq2seq/Vocab.h"

#include <algorithm>

using namespace heed::rt;
using namespace heed::rt::test;

namespace {
using Seqs = std::vector<std::vector<std::string>>;
}

TEST(RuntimeVocab, SpecialsAtFixedIds) {
  Vocab v;
  EXPECT_EQ(v.size(), 4);
  EXPECT_EQ(Vocab::PAD, 0);
  EXPECT_EQ(Vocab::BOS, 1);
  EXPECT_EQ(Vocab::EOS, 2);
  EXPECT_EQ(Vocab::UNK, 3);
  EXPECT_EQ(v.symbol(Vocab::PAD), "<pad>");
  EXPECT_EQ(v.symbol(Vocab::BOS), "<bos>");
  EXPECT_EQ(v.symbol(Vocab::EOS), "<eos>");
  EXPECT_EQ(v.symbol(Vocab::UNK), "<unk>");
  EXPECT_EQ(Vocab::specialName(2), "<eos>");
  EXPECT_EQ(v.id("<bos>"), Vocab::BOS);
  EXPECT_EQ(v.id("anything"), Vocab::UNK);
  expectErrorContaining([&] { v.symbol(4); }, {"id 4 out of range [0, 4)"});
  expectErrorContaining([&] { v.symbol(-1); }, {"id -1"});
}

TEST(RuntimeVocab, BuildSortsByFrequencyThenLexicographically) {
  // counts: N 3, AH0 2, K 2, T 1, B 1
  const Seqs seqs = {{"K", "AH0", "N"}, {"N", "T"}, {"AH0", "N", "K", "B"}};
  Vocab v = Vocab::build(seqs);
  EXPECT_EQ(v.symbols(), (std::vector<std::string>{"<pad>", "<bos>", "<eos>", "<unk>", "N", "AH0", "K",
                                                   "B", "T"}));
  EXPECT_EQ(v.id("N"), 4);
  EXPECT_EQ(v.id("T"), 8);
  EXPECT_EQ(v.id("Q"), Vocab::UNK);
  // Deterministic: the order of the data does not matter.
  Seqs shuffled = {seqs[2], seqs[0], seqs[1]};
  std::reverse(shuffled[0].begin(), shuffled[0].end());
  EXPECT_EQ(Vocab::build(shuffled), v);
  // minCount and maxSize.
  EXPECT_EQ(Vocab::build(seqs, 2).size(), 7);
  EXPECT_EQ(Vocab::build(seqs, 1, 6).symbols().back(), "AH0");
  EXPECT_THROW(Vocab::build(seqs, 1, 3), Error);
}

TEST(RuntimeVocab, SpecialNamesInDataMapToSpecials) {
  Vocab v = Vocab::build({{"<unk>", "a", "<eos>"}});
  EXPECT_EQ(v.size(), 5);
  EXPECT_EQ(v.id("<unk>"), Vocab::UNK);
  EXPECT_EQ(v.id("<eos>"), Vocab::EOS);
  EXPECT_THROW(Vocab::fromSymbols({"a", "<pad>"}), Error);
  EXPECT_THROW(Vocab::fromSymbols({"a", "a"}), Error);
  EXPECT_THROW(Vocab::fromSymbols({""}), Error);
  EXPECT_THROW(Vocab::fromSymbols({"a\nb"}), Error);
}

TEST(RuntimeVocab, EncodeDecode) {
  Vocab v = Vocab::fromSymbols({"K", "AE1", "T"});
  int64_t unknown = 0;
  EXPECT_EQ(v.encode({"K", "AE1", "D", "T", "Z"}, &unknown), (std::vector<int32_t>{4, 5, 3, 6, 3}));
  EXPECT_EQ(unknown, 2);
  EXPECT_EQ(v.decode({1, 4, 5, 3, 6, 2, 0}), (std::vector<std::string>{"K", "AE1", "<unk>", "T"}));
  EXPECT_EQ(v.decode({1, 4, 2}, false), (std::vector<std::string>{"<bos>", "K", "<eos>"}));
  EXPECT_THROW(v.decode({7}), Error);
}

TEST(RuntimeVocab, SerializeRoundTrip) {
  Vocab v = Vocab::build({{"é", "a", "b b", "\t", "a"}});
  const std::string text = v.serialize();
  EXPECT_EQ(text, "<pad>\n<bos>\n<eos>\n<unk>\na\n\t\nb b\né\n");
  Vocab w = Vocab::deserialize(text);
  EXPECT_EQ(w, v);
  EXPECT_EQ(w.id("é"), 7);
  EXPECT_EQ(Vocab::deserialize(Vocab().serialize()), Vocab());
}

TEST(RuntimeVocab, DeserializeErrors) {
  expectErrorContaining([] { Vocab::deserialize("", "ck"); }, {"vocabulary 'ck' is empty"});
  expectErrorContaining([] { Vocab::deserialize("<pad>\n<bos>\n<eos>\n<unk>\nA", "ck"); },
                        {"does not end with a newline"});
  expectErrorContaining([] { Vocab::deserialize("<pad>\n<eos>\n<bos>\n<unk>\n", "ck"); },
                        {"vocabulary 'ck' line 2", "expected the special token '<bos>'", "'<eos>'"});
  expectErrorContaining([] { Vocab::deserialize("<pad>\n<bos>\n", "ck"); },
                        {"has 2 lines", "special tokens are missing"});
  expectErrorContaining([] { Vocab::deserialize("<pad>\n<bos>\n<eos>\n<unk>\nA\nB\nA\n", "ck"); },
                        {"line 7", "duplicate symbol 'A' (first on line 5)"});
  expectErrorContaining([] { Vocab::deserialize("<pad>\n<bos>\n<eos>\n<unk>\nA\n\nB\n", "ck"); },
                        {"line 6", "empty symbol"});
  expectErrorContaining([] { Vocab::deserialize("<pad>\n<bos>\n<eos>\n<unk>\n<unk>\n", "ck"); },
                        {"line 5", "out of place"});
}

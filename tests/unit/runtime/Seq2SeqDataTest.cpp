#include "TempDir.h"

#include "runtime/Error.h"
#include "runtime/seq2seq/Lines.h"
#include "runtime/seq2seq/ParallelData.h"
#include "runtime/seq2seq/Tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <sys/stat.h>

using namespace heed::rt;
using namespace heed::rt::test;

namespace {
using Strs = std::vector<std::string>;
using Ids = std::vector<int32_t>;

Ids row(const Tensor &t, int64_t r) {
  const int64_t n = t.dim(1);
  return Ids(t.i32() + r * n, t.i32() + (r + 1) * n);
}

// n examples; example i has source {10 + i} and target {100 + i} repeated (i % 3) + 1 times.
EncodedData numbered(int64_t n, int64_t srcLen = 4, int64_t tgtLen = 5) {
  std::vector<Example> ex;
  for (int64_t i = 0; i < n; ++i) {
    Example e;
    e.src = Ids((size_t)(i % 3) + 1, (int32_t)(10 + i));
    e.tgt = Ids((size_t)(i % 3) + 1, (int32_t)(100 + i));
    ex.push_back(e);
  }
  return EncodedData(std::move(ex), srcLen, tgtLen);
}
}  // namespace

//===----------------------------------------------------------------------===//
// Lines and tokenizers
//===----------------------------------------------------------------------===//

TEST(RuntimeLines, SplitLinesAndReadLines) {
  EXPECT_EQ(splitLines("a\r\nb\n\nc"), (std::vector<std::string_view>{"a", "b", "", "c"}));
  EXPECT_EQ(splitLines("a\n"), (std::vector<std::string_view>{"a"}));
  EXPECT_TRUE(splitLines("").empty());
  EXPECT_TRUE(isBlank(" \t\r"));
  EXPECT_FALSE(isBlank(" x "));
  EXPECT_EQ(trimWhitespace("  hi there\t"), "hi there");
  TempDir d;
  writeBytes(d.file("words.txt"), "hello\r\n\n  world \n   \nlast");
  EXPECT_EQ(readLines(d.file("words.txt")), (Strs{"hello", "world", "last"}));
  // readRows keeps blank lines as empty rows: row i is line i + 1.
  EXPECT_EQ(readRows(d.file("words.txt")), (Strs{"hello", "", "world", "", "last"}));
  writeBytes(d.file("empty.txt"), "");
  EXPECT_TRUE(readRows(d.file("empty.txt")).empty());
  EXPECT_TRUE(readLines(d.file("empty.txt")).empty());
  expectErrorContaining([&] { readLines(d.file("nope.txt")); }, {"cannot read input file", "nope.txt"});
}

TEST(RuntimeTokenizer, Kinds) {
  EXPECT_EQ(tokenize("h\xC3\xA9llo", Tokenizer::Chars), (Strs{"h", "\xC3\xA9", "l", "l", "o"}));
  EXPECT_EQ(tokenize("a b", Tokenizer::Chars), (Strs{"a", " ", "b"}));
  EXPECT_EQ(tokenize("\xF0\x9F\x98\x80!", Tokenizer::Chars), (Strs{"\xF0\x9F\x98\x80", "!"}));
  EXPECT_EQ(tokenize("  M OW1\tSH  ", Tokenizer::Space), (Strs{"M", "OW1", "SH"}));
  EXPECT_TRUE(tokenize("   ", Tokenizer::Space).empty());
  EXPECT_EQ(tokenize("h\xC3\xA9", Tokenizer::Bytes), (Strs{"h", "\xC3", "\xA9"}));
  expectErrorContaining([] { tokenize("ab\xC3", Tokenizer::Chars); }, {"invalid UTF-8 at byte 2"});
  expectErrorContaining([] { tokenize("\x80", Tokenizer::Chars); }, {"invalid UTF-8 at byte 0"});
  expectErrorContaining([] { tokenize("\xC0\xAF", Tokenizer::Chars); }, {"invalid UTF-8"});      // overlong
  expectErrorContaining([] { tokenize("\xED\xA0\x80", Tokenizer::Chars); }, {"invalid UTF-8"});  // surrogate
  EXPECT_EQ(parseTokenizer("chars"), Tokenizer::Chars);
  EXPECT_EQ(parseTokenizer("space"), Tokenizer::Space);
  EXPECT_EQ(parseTokenizer("bytes"), Tokenizer::Bytes);
  EXPECT_EQ(tokenizerName(Tokenizer::Space), "space");
  expectErrorContaining([] { parseTokenizer("words"); },
                        {"unknown tokenizer 'words': expected chars, space or bytes"});
  EXPECT_EQ(detokenize({"M", "OW1"}, Tokenizer::Space), "M OW1");
  EXPECT_EQ(detokenize({"c", "a", "t"}, Tokenizer::Chars), "cat");
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

TEST(RuntimeParallelData, LoadsTsvWithBlankLinesAndCrlf) {
  TempDir d;
  writeBytes(d.file("t.tsv"), "CAT\tK AE1 T\r\n\r\n\nDOG\tD AO1 G\r\n  \nAT\tAE1 T");
  ParallelData pd = ParallelData::load(d.file("t.tsv"), Tokenizer::Chars, Tokenizer::Space);
  ASSERT_EQ(pd.size(), 3);
  EXPECT_EQ(pd.blankLines(), 3);
  EXPECT_EQ(pd.path(), d.file("t.tsv"));
  EXPECT_EQ(pd.pairs()[0].src, (Strs{"C", "A", "T"}));
  EXPECT_EQ(pd.pairs()[0].tgt, (Strs{"K", "AE1", "T"}));  // no "T\r"
  EXPECT_EQ(pd.pairs()[1].line, 4);
  EXPECT_EQ(pd.pairs()[2].line, 6);
  EXPECT_EQ(pd.pairs()[2].tgt, (Strs{"AE1", "T"}));
  auto [sv, tv] = pd.buildVocabs();
  // Source counts: A 2, T 2, C 1, D 1, G 1, O 1.
  EXPECT_EQ(sv.symbols(), (Strs{"<pad>", "<bos>", "<eos>", "<unk>", "A", "T", "C", "D", "G", "O"}));
  // Target counts: AE1 2, T 2, AO1 1, D 1, G 1, K 1.
  EXPECT_EQ(tv.symbols(), (Strs{"<pad>", "<bos>", "<eos>", "<unk>", "AE1", "T", "AO1", "D", "G", "K"}));
}

// A byte-order mark before the first line is not a source symbol (it would take a
// vocabulary slot and make the first word unknown at test time).
TEST(RuntimeParallelData, ByteOrderMarkIsNoSymbol) {
  TempDir d;
  writeBytes(d.file("bom.tsv"), "\xEF\xBB\xBF" "CAT\tK AE1 T\nAT\tAE1 T\n");
  ParallelData pd = ParallelData::load(d.file("bom.tsv"), Tokenizer::Chars, Tokenizer::Space);
  ASSERT_EQ(pd.size(), 2);
  EXPECT_EQ(pd.pairs()[0].src, (Strs{"C", "A", "T"}));
  auto [sv, tv] = pd.buildVocabs();
  EXPECT_EQ(sv.symbols(), (Strs{"<pad>", "<bos>", "<eos>", "<unk>", "A", "T", "C"}));
  writeBytes(d.file("words.txt"), "\xEF\xBB\xBF" "cat\ndog\n");
  EXPECT_EQ(readLines(d.file("words.txt")), (Strs{"cat", "dog"}));
  const std::string fifo = d.file("fifo.tsv");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expectErrorContaining([&] { ParallelData::load(fifo, Tokenizer::Chars, Tokenizer::Space); },
                        {"fifo.tsv': it is a FIFO (named pipe), not a regular file"});
}

TEST(RuntimeParallelData, LoadErrors) {
  TempDir d;
  expectErrorContaining([&] { ParallelData::load(d.file("missing.tsv"), Tokenizer::Chars, Tokenizer::Space); },
                        {"missing.tsv", "No such file"});
  writeBytes(d.file("empty.tsv"), "");
  expectErrorContaining([&] { ParallelData::load(d.file("empty.tsv"), Tokenizer::Chars, Tokenizer::Space); },
                        {"empty.tsv' is empty"});
  writeBytes(d.file("blank.tsv"), "\n\r\n \n");
  expectErrorContaining([&] { ParallelData::load(d.file("blank.tsv"), Tokenizer::Chars, Tokenizer::Space); },
                        {"blank.tsv' has no examples (3 blank lines)"});
  std::string text;
  for (int i = 1; i <= 16; ++i) text += "A\tB\n";
  text += "NOTAB C D\nE\tF\n";
  writeBytes(d.file("notab.tsv"), text);
  expectErrorContaining([&] { ParallelData::load(d.file("notab.tsv"), Tokenizer::Chars, Tokenizer::Space); },
                        {"notab.tsv", "line 17 has no tab: expected 'source<TAB>target'"});
  auto parse = [](const std::string &s) { return ParallelData::parse(s, Tokenizer::Chars, Tokenizer::Space, "x.tsv"); };
  expectErrorContaining([&] { parse("A\tB\nA\tB\tC\n"); }, {"'x.tsv': line 2 has 2 tabs"});
  expectErrorContaining([&] { parse("A\tB\nA\t  \n"); }, {"line 2 has an empty target"});
  expectErrorContaining([&] { parse("\tB\n"); }, {"line 1 has an empty source"});
  expectErrorContaining([&] { parse("A\tB\nA\xFF\tB\n"); }, {"line 2 source: invalid UTF-8 at byte 1"});
}

//===----------------------------------------------------------------------===//
// Encoding
//===----------------------------------------------------------------------===//

TEST(RuntimeParallelData, EncodeMapsUnknownToUnk) {
  ParallelData train = ParallelData::parse("CAT\tK AE1 T\n", Tokenizer::Chars, Tokenizer::Space);
  ParallelData dev = ParallelData::parse("CUT\tK AH1 T\n", Tokenizer::Chars, Tokenizer::Space);
  auto [sv, tv] = train.buildVocabs();
  EncodedData e = dev.encode(sv, tv, 8, 8);
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e.examples()[0].src, (Ids{sv.id("C"), Vocab::UNK, sv.id("T")}));
  EXPECT_EQ(e.examples()[0].tgt, (Ids{tv.id("K"), Vocab::UNK, tv.id("T")}));
  EXPECT_EQ(e.stats().srcUnknown, 1);
  EXPECT_EQ(e.stats().tgtUnknown, 1);
  EXPECT_EQ(e.stats().kept, 1);
  EXPECT_EQ(e.stats().skipped, 0);
}

TEST(RuntimeParallelData, OverlongEntriesSkippedNotTruncated) {
  // srcLen 3, tgtLen 3: src <= 3 symbols, tgt <= 2 symbols.
  ParallelData pd = ParallelData::parse(
      "ABC\tX Y\n"      // fits exactly
      "ABCD\tX\n"       // src too long
      "AB\tX Y Z\n"     // tgt + 1 > 3
      "ABCDE\tX Y Z\n"  // both
      "\n"
      "A\tX\n",
      Tokenizer::Chars, Tokenizer::Space);
  auto [sv, tv] = pd.buildVocabs();
  EncodedData e = pd.encode(sv, tv, 3, 3);
  const EncodeStats &st = e.stats();
  EXPECT_EQ(st.pairs, 5);
  EXPECT_EQ(st.blankLines, 1);
  EXPECT_EQ(st.kept, 2);
  EXPECT_EQ(st.skipped, 3);
  EXPECT_EQ(st.srcTooLong, 2);
  EXPECT_EQ(st.tgtTooLong, 2);
  EXPECT_EQ(st.maxSrc, 5);
  EXPECT_EQ(st.maxTgt, 3);
  ASSERT_EQ(e.size(), 2);
  EXPECT_EQ(e.examples()[0].src.size(), 3u);
  EXPECT_EQ(e.examples()[0].tgt.size(), 2u);
  EXPECT_EQ(e.examples()[1].src, (Ids{sv.id("A")}));
  const std::string sum = st.summary();
  EXPECT_NE(sum.find("kept 2 of 5 pairs"), std::string::npos) << sum;
  EXPECT_NE(sum.find("src > 3: 2, tgt + 1 > 3: 2"), std::string::npos) << sum;
  EXPECT_THROW(pd.encode(sv, tv, 3, 1), Error);
  EXPECT_THROW(pd.encode(sv, tv, 0, 3), Error);
  // Hand-made examples must fit as well.
  EXPECT_THROW(EncodedData({Example{{1, 2}, {3, 4}}}, 2, 2), Error);
  EXPECT_THROW(EncodedData({Example{{1, 2, 3}, {4}}}, 2, 2), Error);
}

//===----------------------------------------------------------------------===//
// Batching
//===----------------------------------------------------------------------===//

TEST(RuntimeParallelData, BatchPaddingAndBosEos) {
  EncodedData e(std::vector<Example>{Example{{7, 8}, {20, 21, 22}}}, 4, 5);
  Tensor src, ti, to;
  e.batch(0, 2, 1, src, ti, to);
  ASSERT_EQ(src.dtype(), DType::I32);
  EXPECT_EQ(src.shape(), Shape({2, 4}));
  EXPECT_EQ(ti.shape(), Shape({2, 5}));
  EXPECT_EQ(to.shape(), Shape({2, 5}));
  for (int64_t r = 0; r < 2; ++r) {  // one example: both rows (epochs 0 and 1) are it
    EXPECT_EQ(row(src, r), (Ids{7, 8, 0, 0}));
    EXPECT_EQ(row(ti, r), (Ids{Vocab::BOS, 20, 21, 22, 0}));
    EXPECT_EQ(row(to, r), (Ids{20, 21, 22, Vocab::EOS, 0}));
  }
  // A target of exactly tgtLen - 1 symbols: no padding left.
  EncodedData full(std::vector<Example>{Example{{7, 8, 9, 6}, {20, 21, 22, 23}}}, 4, 5);
  full.batch(3, 1, 1, src, ti, to);
  EXPECT_EQ(row(src, 0), (Ids{7, 8, 9, 6}));
  EXPECT_EQ(row(ti, 0), (Ids{1, 20, 21, 22, 23}));
  EXPECT_EQ(row(to, 0), (Ids{20, 21, 22, 23, 2}));
}

TEST(RuntimeParallelData, BatchesReproducibleBySeedAndStep) {
  EncodedData e = numbered(50);
  Tensor s1, i1, o1, s2, i2, o2;
  e.batch(7, 8, 42, s1, i1, o1);
  EncodedData copy = e;  // a fresh object (or a resumed run) gives the same batch
  copy.batch(2, 8, 42, s2, i2, o2);
  copy.batch(7, 8, 42, s2, i2, o2);
  for (int64_t r = 0; r < 8; ++r) {
    EXPECT_EQ(row(s1, r), row(s2, r));
    EXPECT_EQ(row(i1, r), row(i2, r));
    EXPECT_EQ(row(o1, r), row(o2, r));
  }
  EncodedData fresh = numbered(50);
  fresh.batch(7, 8, 42, s2, i2, o2);
  EXPECT_EQ(row(s1, 3), row(s2, 3));
  // Another seed gives another order.
  std::vector<int64_t> a, b;
  for (int64_t r = 0; r < 8; ++r) {
    a.push_back(e.exampleIndex(7, 8, r, 42));
    b.push_back(e.exampleIndex(7, 8, r, 43));
  }
  EXPECT_NE(a, b);
  // Rows of the batch are the examples exampleIndex names.
  for (int64_t r = 0; r < 8; ++r) EXPECT_EQ(row(s1, r)[0], 10 + a[(size_t)r]);
}

TEST(RuntimeParallelData, EveryExampleOncePerEpoch) {
  const int64_t n = 23, batch = 5, steps = 13;  // 65 rows: epochs 0, 1 and part of 2
  EncodedData e = numbered(n);
  std::vector<int64_t> seen;
  Tensor src, ti, to;
  for (int64_t s = 0; s < steps; ++s) {
    e.batch(s, batch, 9, src, ti, to);
    for (int64_t r = 0; r < batch; ++r) seen.push_back(row(src, r)[0] - 10);
  }
  std::vector<std::vector<int64_t>> epochs;
  for (int64_t ep = 0; ep < 2; ++ep) {
    std::vector<int64_t> v(seen.begin() + ep * n, seen.begin() + (ep + 1) * n);
    epochs.push_back(v);
    std::sort(v.begin(), v.end());
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(v[(size_t)i], i) << "epoch " << ep;
  }
  EXPECT_NE(epochs[0], epochs[1]);  // reshuffled each epoch
  std::vector<int64_t> identity(n);
  for (int64_t i = 0; i < n; ++i) identity[(size_t)i] = i;
  EXPECT_NE(epochs[0], identity);
  std::set<int64_t> third(seen.begin() + 2 * n, seen.end());  // no repeats within an epoch
  EXPECT_EQ((int64_t)third.size(), (int64_t)seen.size() - 2 * n);
  // The draw depends on (seed, step * batch + row) only, not on the call order.
  EXPECT_EQ(e.exampleIndex(12, batch, 4, 9), seen.back());
  EXPECT_EQ(e.exampleIndex(0, batch, 0, 9), seen.front());
  EXPECT_THROW(e.exampleIndex(-1, batch, 0, 9), Error);
  EXPECT_THROW(EncodedData({}, 2, 2).batch(0, 1, 0, src, ti, to), Error);
}

TEST(RuntimeParallelData, EvalBatchesInOrder) {
  EncodedData e = numbered(5);
  EXPECT_EQ(e.evalBatches(2), 3);
  EXPECT_EQ(e.evalBatches(5), 1);
  Tensor src, ti, to;
  EXPECT_EQ(e.evalBatch(0, 2, src, ti, to), 2);
  EXPECT_EQ(row(src, 0), (Ids{10, 0, 0, 0}));
  EXPECT_EQ(row(src, 1), (Ids{11, 11, 0, 0}));
  EXPECT_EQ(row(to, 1), (Ids{101, 101, 2, 0, 0}));
  EXPECT_EQ(e.evalBatch(4, 3, src, ti, to), 1);  // rows 1 and 2 repeat the real row
  for (int64_t r = 0; r < 3; ++r) {
    EXPECT_EQ(row(src, r), (Ids{14, 14, 0, 0}));
    EXPECT_EQ(row(ti, r), (Ids{1, 104, 104, 0, 0}));
  }
  EXPECT_THROW(e.evalBatch(5, 2, src, ti, to), Error);
  EXPECT_THROW(e.evalBatch(-1, 2, src, ti, to), Error);
}

TEST(RuntimeParallelData, PadSequences) {
  Tensor t = padSequences({{5, 6}, {7}}, 3, 4);
  EXPECT_EQ(t.shape(), Shape({4, 3}));
  EXPECT_EQ(row(t, 0), (Ids{5, 6, 0}));
  EXPECT_EQ(row(t, 1), (Ids{7, 0, 0}));
  EXPECT_EQ(row(t, 3), (Ids{0, 0, 0}));
  expectErrorContaining([] { padSequences({{1}, {1, 2, 3}}, 2); }, {"sequence 1 has 3 symbols"});
}

TEST(RuntimeParallelData, CmudictDevSplit) {
  const std::filesystem::path path =
      std::filesystem::path(__FILE__).parent_path() / "../../../examples/data/cmudict/dev.tsv";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no " << path;
  ParallelData pd = ParallelData::load(path.string(), Tokenizer::Chars, Tokenizer::Space);
  EXPECT_EQ(pd.size(), 5789);
  auto [sv, tv] = pd.buildVocabs();
  EXPECT_LE(sv.size(), 4 + 27);
  EXPECT_LE(tv.size(), 4 + 69);
  EXPECT_EQ(sv.id("'") == Vocab::UNK, false);
  EncodedData e = pd.encode(sv, tv, 24, 24);
  EXPECT_EQ(e.size(), 5789);
  EXPECT_EQ(e.stats().skipped, 0);
  EXPECT_EQ(e.stats().maxSrc, 18);
  EXPECT_EQ(e.stats().maxTgt, 16);
  EXPECT_EQ(sv.decode(e.examples()[0].src).size(), pd.pairs()[0].src.size());
}

//===- TokenizerTest.cpp - tokenizers, token files, token windows ---------===//
//
// Round trips of every tokenizer (bytes, SentencePiece bpe and unigram trained
// on real text, words with <unk>), their stored form (checkpoint metadata),
// determinism of SentencePiece training (same pieces), the pre-tokenized .bin
// and .npy readers and their errors, bad SentencePiece model files, and the
// validation windows' tail (every target scored exactly once).
//
//===----------------------------------------------------------------------===//

#include "runtime/Error.h"
#include "runtime/Npy.h"
#include "runtime/data/TokenDataset.h"
#include "runtime/text/TokenFiles.h"
#include "runtime/text/Tokenizer.h"
#include "runtime/text/TokenizerStore.h"
#include "tests/unit/runtime/TempDir.h"

#include <gtest/gtest.h>

#ifndef HEED_SOURCE_DIR
#error "HEED_SOURCE_DIR must be defined"
#endif

namespace heed::rt {
namespace {

using test::expectErrorContaining;
using test::readBytes;
using test::TempDir;
using test::writeBytes;

const std::string kMoby = std::string(HEED_SOURCE_DIR) + "/examples/data/moby-dick/moby_dick.valid.txt";

/// The stored form, as a checkpoint holds it.
std::unique_ptr<TextTokenizer> throughMetadata(const TextTokenizer &t) {
  std::map<std::string, std::string> meta;
  storeTokenizer(t, meta);
  return tokenizerFromMetadata(meta, "test");
}

void expectRoundTrip(const TextTokenizer &t, const std::string &text) {
  std::vector<int32_t> ids = t.encode(text);
  for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < t.size()) << id;
  EXPECT_EQ(t.decode(ids), text);
  std::unique_ptr<TextTokenizer> back = throughMetadata(t);
  EXPECT_EQ(back->identity(), t.identity());
  EXPECT_EQ(back->encode(text), ids);
  EXPECT_EQ(back->size(), t.size());
}

TEST(Tokenizer, BytesRoundTrip) {
  std::unique_ptr<TextTokenizer> t = makeTokenizer("bytes", "--tokenizer", "");
  EXPECT_EQ(t->size(), 256);
  expectRoundTrip(*t, std::string("a\n\xff\x01 b", 6));
  EXPECT_FALSE(t->startId());
  EXPECT_THROW(t->decode({256}), Error);
}

TEST(Tokenizer, SentencePieceBpeAndUnigramRoundTripAndAreDeterministic) {
  const std::string text = readBytes(kMoby);
  const std::string sample = text.substr(0, 4000);
  for (const char *kind : {"bpe", "unigram"}) {
    SCOPED_TRACE(kind);
    std::unique_ptr<TextTokenizer> t = makeTokenizer(std::string(kind) + ":400", "--tokenizer", kMoby);
    EXPECT_EQ(t->size(), 400);
    EXPECT_EQ(t->kind(), "sentencepiece");
    EXPECT_NE(t->describe().find(kind), std::string::npos) << t->describe();
    // Sentences round-trip exactly; '\n' is the end-of-sentence piece.
    const std::string lines = "Call me Ishmael.\nSome years ago, never mind how long precisely.\n";
    expectRoundTrip(*t, lines);
    std::vector<int32_t> ids = t->encode(lines);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), *t->startId()), 2);
    EXPECT_LT(ids.size() * 3, lines.size() * 2);  // pieces are longer than bytes
    std::vector<int32_t> doc = t->encodeDocument(lines);
    EXPECT_EQ(doc.front(), *t->startId());
    // Training again gives the same pieces.
    EXPECT_EQ(makeTokenizer(std::string(kind) + ":400", "--tokenizer", kMoby)->identity(), t->identity());
    // A .model file written from it loads as the same tokenizer.
    TempDir d;
    writeBytes(d.file("m.model"), t->serialize());
    EXPECT_EQ(makeTokenizer(d.file("m.model"), "--tokenizer", "")->identity(), t->identity());
  }
  EXPECT_NE(makeTokenizer("bpe:400", "x", kMoby)->identity(), makeTokenizer("unigram:400", "x", kMoby)->identity());
}

TEST(Tokenizer, WordsKeepFrequentWordsAndMapTheRestToUnk) {
  TempDir d;
  writeBytes(d.file("w.txt"), "the cat sat\nthe dog sat\nthe  cat\tran\n");
  std::unique_ptr<TextTokenizer> t = makeTokenizer("words:2", "--tokenizer", d.file("w.txt"));
  // <unk>, <eos>, then the (3x), sat (2x), cat (2x) by count then bytes.
  EXPECT_EQ(t->size(), 5);
  EXPECT_EQ(t->encode("the cat sat\n"), (std::vector<int32_t>{2, 3, 4, 1}));
  EXPECT_EQ(t->encode("the dog\n"), (std::vector<int32_t>{2, 0, 1}));
  EXPECT_EQ(t->decode({2, 0, 1, 2}), "the <unk>\nthe");
  expectRoundTrip(*t, "the cat sat\nsat the cat\n");
  EXPECT_EQ(*t->startId(), 1);
  expectErrorContaining([&] { makeTokenizer("words:9", "--tokenizer", d.file("w.txt")); },
                        {"words:9", "seen 9 times or more"});
}

TEST(Tokenizer, CountWordsCountsLineEnds) {
  EXPECT_EQ(countWords("a b\nc\n"), 5);
  EXPECT_EQ(countWords("a  b"), 3);  // a last line without '\n' still ends
  EXPECT_EQ(countWords(""), 0);
  EXPECT_EQ(countWords("\n\n"), 2);
}

// The settings check (heed check, the trainer before any data) reads the count too.
TEST(Tokenizer, SpecCheckReadsTheCount) {
  for (const char *ok : {"bytes", "bpe:8000", "unigram:2", "words:1", "my.model"}) EXPECT_TRUE(isTokenizerSpec(ok)) << ok;
  for (const char *bad : {"bpe", "bpe:", "bpe:x", "bpe:1", "unigram:8k", "words:0", "words:-3", "wordpiece:8"})
    EXPECT_FALSE(isTokenizerSpec(bad)) << bad;
}

TEST(Tokenizer, BadSpecsAndBadModelFiles) {
  expectErrorContaining([] { makeTokenizer("bpe", "--tokenizer", kMoby); }, {"--tokenizer", "bpe:N"});
  expectErrorContaining([] { makeTokenizer("bpe:x", "--tokenizer", kMoby); }, {"integer"});
  expectErrorContaining([] { makeTokenizer("wordpiece", "--tokenizer", kMoby); }, {"expects bytes, bpe:N"});
  TempDir d;
  expectErrorContaining([&] { makeTokenizer(d.file("none.model"), "--tokenizer", ""); }, {"cannot read"});
  writeBytes(d.file("text.model"), "this is not a model proto\n");
  expectErrorContaining([&] { makeTokenizer(d.file("text.model"), "--tokenizer", ""); },
                        {"is not a SentencePiece model"});
  std::string good = makeTokenizer("bpe:300", "x", kMoby)->serialize();
  writeBytes(d.file("cut.model"), good.substr(0, good.size() / 2));
  expectErrorContaining([&] { makeTokenizer(d.file("cut.model"), "--tokenizer", ""); },
                        {"is not a SentencePiece model"});
  // More pieces than the data has material for: SentencePiece's own reason.
  writeBytes(d.file("tiny.txt"), "ab ab ab\n");
  expectErrorContaining([&] { makeTokenizer("bpe:5000", "--tokenizer", d.file("tiny.txt")); },
                        {"SentencePiece cannot train", "tiny.txt"});
  std::map<std::string, std::string> meta = {{"heed.tokenizer", "words"}, {"heed.tokenizer_data", "@@@@"}};
  expectErrorContaining([&] { tokenizerFromMetadata(meta, "ckpt"); }, {"ckpt", "not base64"});
}

TEST(Tokenizer, Base64RoundTrip) {
  for (std::string s : {std::string(""), std::string("a"), std::string("ab"), std::string("abc"),
                        std::string("\0\xff\x10\x80", 4)})
    EXPECT_EQ(base64Decode(base64Encode(s), "t"), s);
  EXPECT_EQ(base64Encode("Man"), "TWFu");
}

TEST(TokenFiles, LlmcBinAndNpyRoundTripAndErrors) {
  TempDir d;
  writeBytes(d.file("t.bin"), encodeLlmcTokens({5, 0, 65535, 7}));
  EXPECT_EQ(readTokenFile(d.file("t.bin")), (std::vector<int32_t>{5, 0, 65535, 7}));
  std::string bin = encodeLlmcTokens({1, 2, 3});
  std::string bad = bin;
  bad[0] = 'X';
  writeBytes(d.file("magic.bin"), bad);
  expectErrorContaining([&] { readTokenFile(d.file("magic.bin")); }, {"magic.bin", "magic", "20240520"});
  writeBytes(d.file("cut.bin"), bin.substr(0, bin.size() - 2));
  expectErrorContaining([&] { readTokenFile(d.file("cut.bin")); }, {"cut.bin", "says 3 tokens", "holds 2", "truncated"});
  writeBytes(d.file("short.bin"), bin.substr(0, 100));
  expectErrorContaining([&] { readTokenFile(d.file("short.bin")); }, {"short.bin", "1024-byte header"});

  Tensor ids(DType::I32, {3});
  ids.i32()[0] = 4;
  ids.i32()[1] = 0;
  ids.i32()[2] = 9;
  writeNpy(d.file("t.npy"), ids);
  EXPECT_EQ(readTokenFile(d.file("t.npy")), (std::vector<int32_t>{4, 0, 9}));
  writeNpy(d.file("f.npy"), Tensor(DType::F32, {3}));
  expectErrorContaining([&] { readTokenFile(d.file("f.npy")); }, {"f.npy", "1-d int32"});
  ids.i32()[1] = -2;
  writeNpy(d.file("neg.npy"), ids);
  expectErrorContaining([&] { readTokenFile(d.file("neg.npy")); }, {"neg.npy", "negative"});
}

TEST(TokenDataset, ValidationRowsScoreEveryTargetOnce) {
  for (int64_t n : {9, 10, 11, 17}) {
    SCOPED_TRACE(n);
    std::vector<int32_t> ids;
    for (int64_t i = 0; i < n; ++i) ids.push_back((int32_t)i);
    TokenDataset ds(ids, "mem");
    const int64_t S = 4, B = 2;
    std::vector<int> scored((size_t)n, 0);
    Tensor tok, tgt;
    std::vector<int64_t> first;
    for (int64_t b = 0; b * B < ds.evalRows(S); ++b) {
      int64_t real = ds.evalBatch(b * B, B, S, tok, tgt, first);
      for (int64_t r = 0; r < real; ++r)
        for (int64_t t = first[(size_t)r]; t < S; ++t) {
          EXPECT_EQ(tgt.i32()[r * S + t], tok.i32()[r * S + t] + 1);
          ++scored[(size_t)tgt.i32()[r * S + t]];
        }
    }
    EXPECT_EQ(scored[0], 0);  // the first token is context only
    for (int64_t i = 1; i < n; ++i) EXPECT_EQ(scored[(size_t)i], 1) << "token " << i;
  }
  TokenDataset small({1, 2, 3}, "short.txt");
  small.setUnit("tokens with words");
  expectErrorContaining([&] { small.checkWindow(4); }, {"short.txt' has 3 tokens with words; a window needs seq + 1 = 5"});
}

}  // namespace
}  // namespace heed::rt

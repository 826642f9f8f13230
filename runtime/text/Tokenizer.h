//===- Tokenizer.h - text <-> token ids for language models -----*- C++ -*-===//
//
// One small interface for every way heed turns text into ids:
//
//   bytes           every byte is a token (ids 0..255); the default
//   bpe:N           a SentencePiece BPE model of N pieces, trained on the data
//   unigram:N       a SentencePiece unigram model of N pieces, trained on the data
//   FILE.model      an existing SentencePiece model
//   words:MIN       whitespace-separated words seen at least MIN times in the
//                   data; rarer words become <unk>
//   ids             pre-tokenized data (an int32 .npy or an llm.c .bin file,
//                   TokenFiles.h): text is whitespace-separated decimal ids
//
// Lines: for the SentencePiece and word tokenizers a line end is a token of its
// own (SentencePiece's </s>, the words' <eos>), so '\n' in the text encodes to
// it and it decodes back to '\n'. A document's stream starts with that token
// (startId()): the first real token then has a context too, so every token of a
// file is predicted (and scored) exactly once. Bytes keep the newline byte and
// have no start token.
//
// A tokenizer travels with the run: kind() and serialize() are stored in the
// checkpoint's metadata (TokenizerStore.h), restoreTokenizer() rebuilds it. A
// SentencePiece model is identified by its pieces, not by its bytes (which embed
// the trainer's num_threads): sameTokenizer() compares pieces.
//
// SentencePiece is linked only in this directory (SentencePieceTokenizer.cpp).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace heed::rt {

class TextTokenizer {
public:
  virtual ~TextTokenizer() = default;
  /// "bytes" | "sentencepiece" | "words" | "ids" (the stored kind).
  virtual std::string kind() const = 0;
  /// "SentencePiece bpe, 8000 pieces", "bytes (256 ids)", ... for logs.
  virtual std::string describe() const = 0;
  /// Number of ids: every id encode() returns is in [0, size()).
  virtual int64_t size() const = 0;
  /// Text -> ids ('\n' -> the line-end token where there is one).
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  /// Ids -> text; throws rt::Error on an id outside [0, size()).
  virtual std::string decode(const std::vector<int32_t> &ids) const = 0;
  /// The token a document stream starts with (the line end), if any.
  virtual std::optional<int32_t> startId() const { return std::nullopt; }
  /// The bytes restoreTokenizer() rebuilds it from.
  virtual std::string serialize() const = 0;
  /// What identifies it (the pieces or words, in id order; the kind for bytes).
  virtual std::string identity() const = 0;

  /// Text -> piece strings, for sequence-to-sequence symbols (runtime/seq2seq/
  /// Tokenizer.h); join() is its inverse. Throws for kinds without pieces.
  virtual std::vector<std::string> split(std::string_view text) const;
  virtual std::string join(const std::vector<std::string> &pieces) const;

  /// [startId] + encode(text): what an LM trains on and is scored on.
  std::vector<int32_t> encodeDocument(std::string_view text) const;
};

/// Parses a --tokenizer value and builds the tokenizer; bpe/unigram/words are
/// trained on the text of `trainingFile`. `where` names the setting in errors
/// ("--tokenizer"). Throws rt::Error on a bad value, an unreadable or invalid
/// model file, or data the trainer rejects.
std::unique_ptr<TextTokenizer> makeTokenizer(const std::string &spec, const std::string &where,
                                         const std::string &trainingFile);

/// The same, trained on `text` (named `name` in errors) instead of a file.
std::unique_ptr<TextTokenizer> makeTokenizerFromText(const std::string &spec, const std::string &where,
                                                     const std::string &text, const std::string &name);

/// True if `spec` is a value makeTokenizer() accepts, its count included (without building it).
bool isTokenizerSpec(const std::string &spec);
/// The accepted values, for errors and help.
inline constexpr const char *kTokenizerValues = "bytes, bpe:N, unigram:N, words:MIN or FILE.model";

/// Rebuilds a stored tokenizer; `where` names the checkpoint in errors.
std::unique_ptr<TextTokenizer> restoreTokenizer(const std::string &kind, const std::string &bytes,
                                            const std::string &where);

std::unique_ptr<TextTokenizer> makeByteTokenizer();
/// Pre-tokenized data: `size` ids.
std::unique_ptr<TextTokenizer> makeIdTokenizer(int64_t size);

/// SentencePiece (SentencePieceTokenizer.cpp).
std::unique_ptr<TextTokenizer> trainSentencePiece(const std::string &modelType, int64_t pieces,
                                                  const std::string &text, const std::string &name);
std::unique_ptr<TextTokenizer> loadSentencePiece(const std::string &modelBytes, const std::string &name);

/// Words (WordTokenizer.cpp).
std::unique_ptr<TextTokenizer> trainWords(int64_t minCount, const std::string &text, const std::string &name);
std::unique_ptr<TextTokenizer> loadWords(const std::string &bytes, const std::string &name);

/// Words for word-level perplexity: whitespace-separated words plus one
/// end-of-line per line (a last line without '\n' counts too).
int64_t countWords(std::string_view text);

}  // namespace heed::rt

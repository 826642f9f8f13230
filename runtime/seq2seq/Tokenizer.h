//===- Tokenizer.h - text <-> symbol sequences ------------------*- C++ -*-===//
//
// How one side of a parallel corpus is split into symbols:
//
//   chars  each UTF-8 character is a symbol ("héllo" -> h é l l o); spaces are
//          symbols too. Invalid UTF-8 (bad lead or continuation byte, overlong
//          form, surrogate, > U+10FFFF, truncated sequence) throws.
//          The source side of grapheme-to-phoneme data.
//   space  whitespace-separated symbols ("M OW1 SH" -> M OW1 SH); runs of spaces,
//          tabs, '\r', '\v', '\f' separate, leading/trailing ones are ignored.
//          The target side of G2P.
//   bytes  each byte is a symbol (a one-byte string), whatever the encoding.
//   pieces a subword or word tokenizer (runtime/text/Tokenizer.h: bpe:N,
//          unigram:N, words:MIN, FILE.model) splits the text; its pieces are
//          the symbols ("▁the", "▁cat"), joined back by the tokenizer.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace heed::rt {

class TextTokenizer;

/// How one side is split: a value (compare with ==), cheap to copy.
class Tokenizer {
public:
  enum class Kind : uint8_t { Chars, Space, Bytes, Pieces };
  static const Tokenizer Chars, Space, Bytes;
  Tokenizer() = default;
  /// Pieces of `model`; `spec` is its --src-tokens/--tgt-tokens value ("bpe:300").
  static Tokenizer pieces(std::shared_ptr<const TextTokenizer> model, std::string spec);
  Kind kind() const { return kind_; }
  /// The pieces' tokenizer (null unless kind() == Pieces).
  const std::shared_ptr<const TextTokenizer> &model() const { return model_; }
  const std::string &spec() const { return spec_; }
  bool operator==(const Tokenizer &o) const;
  bool operator!=(const Tokenizer &o) const { return !(*this == o); }

private:
  explicit Tokenizer(Kind k) : kind_(k) {}
  Kind kind_ = Kind::Chars;
  std::shared_ptr<const TextTokenizer> model_;
  std::string spec_;
};
inline const Tokenizer Tokenizer::Chars{Tokenizer::Kind::Chars};
inline const Tokenizer Tokenizer::Space{Tokenizer::Kind::Space};
inline const Tokenizer Tokenizer::Bytes{Tokenizer::Kind::Bytes};

/// "chars", "space", "bytes", or the pieces' spec ("bpe:300").
std::string tokenizerName(const Tokenizer &t);
/// Inverse of tokenizerName for chars, space and bytes; anything else throws
/// rt::Error "unknown tokenizer 'x': expected chars, space or bytes".
Tokenizer parseTokenizer(std::string_view name);

/// Splits text into symbols. Only Chars can throw (rt::Error "invalid UTF-8 at
/// byte N" with N 0-based within `text`).
std::vector<std::string> tokenize(std::string_view text, const Tokenizer &t);

/// Inverse for output: Chars and Bytes concatenate, Space joins with one ' ',
/// Pieces as their tokenizer does.
std::string detokenize(const std::vector<std::string> &symbols, const Tokenizer &t);

}  // namespace heed::rt

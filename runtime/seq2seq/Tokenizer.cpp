//===- Tokenizer.cpp - text <-> symbol sequences --------------------------===//

#include "runtime/seq2seq/Tokenizer.h"

#include "runtime/text/Tokenizer.h"

#include "runtime/Error.h"

#include <fmt/format.h>

namespace heed::rt {

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\n'; }

// Length of the valid UTF-8 sequence starting at text[i], or 0 if invalid.
size_t utf8Length(std::string_view text, size_t i) {
  const auto b = [&](size_t k) { return (unsigned char)text[k]; };
  const unsigned char c = b(i);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07;
  else return 0;  // continuation byte, overlong 2-byte lead (C0/C1) or > F4
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;  // overlong, surrogate
  if (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return n;
}

}  // namespace

Tokenizer Tokenizer::pieces(std::shared_ptr<const TextTokenizer> model, std::string spec) {
  Tokenizer t(Kind::Pieces);
  t.model_ = std::move(model);
  t.spec_ = std::move(spec);
  return t;
}

bool Tokenizer::operator==(const Tokenizer &o) const {
  if (kind_ != o.kind_) return false;
  if (kind_ != Kind::Pieces) return true;
  return model_ == o.model_ || (model_ && o.model_ && model_->identity() == o.model_->identity());
}

std::string tokenizerName(const Tokenizer &t) {
  switch (t.kind()) {
  case Tokenizer::Kind::Chars: return "chars";
  case Tokenizer::Kind::Space: return "space";
  case Tokenizer::Kind::Bytes: return "bytes";
  case Tokenizer::Kind::Pieces: return t.spec();
  }
  return "?";
}

Tokenizer parseTokenizer(std::string_view name) {
  if (name == "chars") return Tokenizer::Chars;
  if (name == "space") return Tokenizer::Space;
  if (name == "bytes") return Tokenizer::Bytes;
  throw Error(fmt::format("unknown tokenizer '{}': expected chars, space or bytes", name));
}

std::vector<std::string> tokenize(std::string_view text, const Tokenizer &t) {
  std::vector<std::string> out;
  switch (t.kind()) {
  case Tokenizer::Kind::Pieces: return t.model()->split(text);
  case Tokenizer::Kind::Bytes:
    out.reserve(text.size());
    for (char c : text) out.emplace_back(1, c);
    break;
  case Tokenizer::Kind::Chars:
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
      const size_t n = utf8Length(text, i);
      if (n == 0) throw Error(fmt::format("invalid UTF-8 at byte {}", i));
      out.emplace_back(text.substr(i, n));
      i += n;
    }
    break;
  case Tokenizer::Kind::Space:
    for (size_t i = 0; i < text.size();) {
      while (i < text.size() && isSpace(text[i])) ++i;
      size_t j = i;
      while (j < text.size() && !isSpace(text[j])) ++j;
      if (j > i) out.emplace_back(text.substr(i, j - i));
      i = j;
    }
    break;
  }
  return out;
}

std::string detokenize(const std::vector<std::string> &symbols, const Tokenizer &t) {
  if (t.kind() == Tokenizer::Kind::Pieces) return t.model()->join(symbols);
  std::string out;
  for (size_t i = 0; i < symbols.size(); ++i) {
    if (t == Tokenizer::Space && i > 0) out.push_back(' ');
    out += symbols[i];
  }
  return out;
}

}  // namespace heed::rt

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
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace heed::rt {

enum class Tokenizer { Chars, Space, Bytes };

/// "chars", "space", "bytes".
const char *tokenizerName(Tokenizer t);
/// Inverse of tokenizerName; anything else throws rt::Error
/// "unknown tokenizer 'x': expected chars, space or bytes".
Tokenizer parseTokenizer(std::string_view name);

/// Splits text into symbols. Only Chars can throw (rt::Error "invalid UTF-8 at
/// byte N" with N 0-based within `text`).
std::vector<std::string> tokenize(std::string_view text, Tokenizer t);

/// Inverse for output: Chars and Bytes concatenate, Space joins with one ' '.
std::string detokenize(const std::vector<std::string> &symbols, Tokenizer t);

}  // namespace heed::rt

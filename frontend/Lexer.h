//===- Lexer.h - tokens of the .heed model language -------------*- C++ -*-===//
//
// A hand-written lexer over one SourceMgr buffer. Newlines are not
// significant; `#` starts a comment that runs to the end of the line.
// Lexical errors are reported to the DiagSink at the offending character and
// the lexer carries on:
//   - an unexpected character (a run of them: `$%$` is one error) or an
//     unterminated string yields a Tok::Error token (the parser stays quiet
//     about it, the lexer already spoke);
//   - a malformed or out-of-range number or a bad escape still yields a
//     Number / String token, so parsing continues without a cascade.
// The lexer never reads past the end of the buffer and accepts embedded NULs.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/Diagnostics.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SMLoc.h"

#include <string>

namespace llvm {
class SourceMgr;
}

namespace heed {

enum class Tok {
  Eof,
  Error,  // an unexpected character or unterminated string (already reported)
  Ident,
  Number,
  String,
  // keywords
  KwModel, KwConfig, KwTrain, KwInput, KwBlock, KwReturn, KwOutput, KwMinimize,
  KwRepeat, KwTrue, KwFalse,
  // punctuation
  LParen, RParen, LBrace, RBrace, LSquare, RSquare, Comma, Colon,
  Assign,       // =
  EqEq,         // ==
  NotEq,        // !=
  Less,         // <
  LessEq,       // <=
  Greater,      // >
  GreaterEq,    // >=
  Plus, Minus, Star, Slash, At,
};

/// A fixed spelling for a token kind: "'('", "'model'", "identifier", "end of file".
const char *tokKindName(Tok kind);

/// Maps an identifier spelling to its keyword kind, or Tok::Ident.
Tok keywordKind(llvm::StringRef text);

/// True for the keywords that start a top-level statement (model, config,
/// train, input, block, output, minimize).
bool isStatementKeyword(Tok kind);

struct Token {
  Tok kind = Tok::Eof;
  llvm::StringRef text;  // the exact source text (for String: with the quotes)
  llvm::SMLoc loc;       // first character

  // Number
  double number = 0;
  bool isInteger = false;  // written without '.', 'e' or 'E'
  // String: the value, escapes resolved
  std::string str;

  bool is(Tok k) const { return kind == k; }
};

/// Quotes `text` for an error message: 'text', with control characters and
/// invalid UTF-8 escaped as \xNN, cut after ~40 characters.
std::string quoteForMessage(llvm::StringRef text);

/// How a token is named in "found X" messages: 'text' or "end of file".
std::string describeToken(const Token &tok);

class Lexer {
public:
  Lexer(llvm::SourceMgr &sm, unsigned bufferId, DiagSink &diags);
  Lexer(llvm::StringRef buffer, DiagSink &diags);

  /// Lexes and returns the next token; Tok::Eof forever at the end.
  Token next();

private:
  void skipWhitespaceAndComments();
  Token make(Tok kind, const char *start);
  Token lexIdent(const char *start);
  Token lexNumber(const char *start);
  Token lexString(const char *start);
  Token lexUnexpected(const char *start);

  const char *cur;
  const char *end;
  DiagSink &diags;
};

}  // namespace heed

//===- Lexer.cpp - tokens of the .heed model language ---------------------===//

#include "frontend/Lexer.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/ConvertUTF.h"
#include "llvm/Support/SourceMgr.h"

#include <cmath>
#include <cstdlib>

namespace heed {

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool isIdentChar(char c) { return isIdentStart(c) || isDigit(c); }
bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/// Characters that can begin some token (or whitespace / a comment).
bool canStartToken(char c) {
  if (isIdentChar(c) || isSpace(c))
    return true;
  switch (c) {
  case '"': case '#': case '(': case ')': case '{': case '}': case '[': case ']':
  case ',': case ':': case '=': case '!': case '<': case '>': case '+': case '-':
  case '*': case '/': case '@':
    return true;
  default:
    return false;
  }
}

/// Length of the (valid) UTF-8 sequence at p, or 1 for a lone/invalid byte.
size_t utf8Length(const char *p, const char *end) {
  auto *s = reinterpret_cast<const llvm::UTF8 *>(p);
  unsigned n = llvm::getNumBytesForUTF8(*s);
  if (n <= 1 || static_cast<size_t>(end - p) < n)
    return 1;
  if (!llvm::isLegalUTF8Sequence(s, s + n))
    return 1;
  return n;
}

// Integers are kept as doubles in the AST; above 2^53 they would lose precision.
constexpr unsigned long long kMaxExactInteger = 1ULL << 53;

}  // namespace

const char *tokKindName(Tok kind) {
  switch (kind) {
  case Tok::Eof: return "end of file";
  case Tok::Error: return "invalid character";
  case Tok::Ident: return "identifier";
  case Tok::Number: return "number";
  case Tok::String: return "string";
  case Tok::KwModel: return "'model'";
  case Tok::KwConfig: return "'config'";
  case Tok::KwTrain: return "'train'";
  case Tok::KwInput: return "'input'";
  case Tok::KwBlock: return "'block'";
  case Tok::KwReturn: return "'return'";
  case Tok::KwOutput: return "'output'";
  case Tok::KwMinimize: return "'minimize'";
  case Tok::KwRepeat: return "'repeat'";
  case Tok::KwTrue: return "'true'";
  case Tok::KwFalse: return "'false'";
  case Tok::LParen: return "'('";
  case Tok::RParen: return "')'";
  case Tok::LBrace: return "'{'";
  case Tok::RBrace: return "'}'";
  case Tok::LSquare: return "'['";
  case Tok::RSquare: return "']'";
  case Tok::Comma: return "','";
  case Tok::Colon: return "':'";
  case Tok::Assign: return "'='";
  case Tok::EqEq: return "'=='";
  case Tok::NotEq: return "'!='";
  case Tok::Less: return "'<'";
  case Tok::LessEq: return "'<='";
  case Tok::Greater: return "'>'";
  case Tok::GreaterEq: return "'>='";
  case Tok::Plus: return "'+'";
  case Tok::Minus: return "'-'";
  case Tok::Star: return "'*'";
  case Tok::Slash: return "'/'";
  case Tok::At: return "'@'";
  }
  return "token";
}

Tok keywordKind(llvm::StringRef text) {
  return llvm::StringSwitch<Tok>(text)
      .Case("model", Tok::KwModel)
      .Case("config", Tok::KwConfig)
      .Case("train", Tok::KwTrain)
      .Case("input", Tok::KwInput)
      .Case("block", Tok::KwBlock)
      .Case("return", Tok::KwReturn)
      .Case("output", Tok::KwOutput)
      .Case("minimize", Tok::KwMinimize)
      .Case("repeat", Tok::KwRepeat)
      .Case("true", Tok::KwTrue)
      .Case("false", Tok::KwFalse)
      .Default(Tok::Ident);
}

bool isStatementKeyword(Tok kind) {
  switch (kind) {
  case Tok::KwModel: case Tok::KwConfig: case Tok::KwTrain: case Tok::KwInput:
  case Tok::KwBlock: case Tok::KwOutput: case Tok::KwMinimize:
    return true;
  default:
    return false;
  }
}

std::string quoteForMessage(llvm::StringRef text) {
  constexpr size_t kMaxShown = 40;
  static const char hex[] = "0123456789abcdef";
  std::string out = "'";
  const char *p = text.begin(), *end = text.end();
  size_t shown = 0;
  while (p < end) {
    if (shown == kMaxShown) {
      out += "...";
      break;
    }
    unsigned char c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++p;
    } else if (c == '\n') {
      out += "\\n";
      ++p;
    } else if (c == '\t') {
      out += "\\t";
      ++p;
    } else if (c >= 0x80 && utf8Length(p, end) > 1) {
      size_t n = utf8Length(p, end);
      out.append(p, n);
      p += n;
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
      ++p;
    }
    ++shown;
  }
  out += "'";
  return out;
}

std::string describeToken(const Token &tok) {
  if (tok.is(Tok::Eof))
    return "end of file";
  return quoteForMessage(tok.text);
}

Lexer::Lexer(llvm::SourceMgr &sm, unsigned bufferId, DiagSink &diags)
    : Lexer(sm.getMemoryBuffer(bufferId)->getBuffer(), diags) {}

Lexer::Lexer(llvm::StringRef buffer, DiagSink &diags)
    : cur(buffer.begin()), end(buffer.end()), diags(diags) {}

void Lexer::skipWhitespaceAndComments() {
  while (cur < end) {
    if (isSpace(*cur)) {
      ++cur;
    } else if (*cur == '#') {
      while (cur < end && *cur != '\n')
        ++cur;
    } else {
      return;
    }
  }
}

Token Lexer::make(Tok kind, const char *start) {
  Token t;
  t.kind = kind;
  t.text = llvm::StringRef(start, cur - start);
  t.loc = llvm::SMLoc::getFromPointer(start);
  return t;
}

Token Lexer::next() {
  skipWhitespaceAndComments();
  if (cur >= end) {
    Token t;
    t.kind = Tok::Eof;
    t.text = llvm::StringRef(end, 0);
    t.loc = llvm::SMLoc::getFromPointer(end);
    return t;
  }
  const char *start = cur;
  char c = *cur;
  if (isIdentStart(c))
    return lexIdent(start);
  if (isDigit(c))
    return lexNumber(start);
  if (c == '"')
    return lexString(start);

  auto two = [&](char second, Tok ifTwo, Tok ifOne) {
    if (cur + 1 < end && cur[1] == second) {
      cur += 2;
      return make(ifTwo, start);
    }
    ++cur;
    return make(ifOne, start);
  };
  switch (c) {
  case '(': ++cur; return make(Tok::LParen, start);
  case ')': ++cur; return make(Tok::RParen, start);
  case '{': ++cur; return make(Tok::LBrace, start);
  case '}': ++cur; return make(Tok::RBrace, start);
  case '[': ++cur; return make(Tok::LSquare, start);
  case ']': ++cur; return make(Tok::RSquare, start);
  case ',': ++cur; return make(Tok::Comma, start);
  case ':': ++cur; return make(Tok::Colon, start);
  case '+': ++cur; return make(Tok::Plus, start);
  case '-': ++cur; return make(Tok::Minus, start);
  case '*': ++cur; return make(Tok::Star, start);
  case '/': ++cur; return make(Tok::Slash, start);
  case '@': ++cur; return make(Tok::At, start);
  case '=': return two('=', Tok::EqEq, Tok::Assign);
  case '<': return two('=', Tok::LessEq, Tok::Less);
  case '>': return two('=', Tok::GreaterEq, Tok::Greater);
  case '!':
    if (cur + 1 < end && cur[1] == '=') {
      cur += 2;
      return make(Tok::NotEq, start);
    }
    return lexUnexpected(start);
  default:
    return lexUnexpected(start);
  }
}

Token Lexer::lexIdent(const char *start) {
  while (cur < end && isIdentChar(*cur))
    ++cur;
  Token t = make(Tok::Ident, start);
  t.kind = keywordKind(t.text);
  return t;
}

Token Lexer::lexNumber(const char *start) {
  const char *p = start;
  bool isInteger = true, malformed = false;
  while (p < end && isDigit(*p))
    ++p;
  if (p < end && *p == '.') {
    isInteger = false;
    ++p;
    if (p >= end || !isDigit(*p))
      malformed = true;
    while (p < end && isDigit(*p))
      ++p;
  }
  if (!malformed && p < end && (*p == 'e' || *p == 'E')) {
    isInteger = false;
    ++p;
    if (p < end && (*p == '+' || *p == '-'))
      ++p;
    if (p >= end || !isDigit(*p))
      malformed = true;
    while (p < end && isDigit(*p))
      ++p;
  }
  // Letters, digits or dots glued to the number make it one malformed token
  // (`4x`, `1.2.3`, `1e5f`) rather than a number followed by a surprise.
  while (p < end && (isIdentChar(*p) || *p == '.')) {
    malformed = true;
    ++p;
  }
  cur = p;
  Token t = make(Tok::Number, start);
  t.isInteger = isInteger;
  if (malformed) {
    diags.error(t.loc, "malformed number " + quoteForMessage(t.text));
    return t;
  }
  if (isInteger) {
    unsigned long long v = 0;
    for (char d : t.text) {
      v = v * 10 + static_cast<unsigned>(d - '0');
      if (v > kMaxExactInteger) {
        diags.error(t.loc, "integer " + quoteForMessage(t.text) + " is too large");
        return t;
      }
    }
    t.number = static_cast<double>(v);
    return t;
  }
  std::string copy = t.text.str();
  double v = std::strtod(copy.c_str(), nullptr);
  if (std::isinf(v)) {
    diags.error(t.loc, "number " + quoteForMessage(t.text) + " is out of range");
    return t;
  }
  t.number = v;
  return t;
}

Token Lexer::lexString(const char *start) {
  const char *p = start + 1;
  std::string value;
  bool reportedEscape = false, unterminated = false;
  while (true) {
    if (p >= end || *p == '\n' || *p == '\r') {
      diags.error(llvm::SMLoc::getFromPointer(start), "unterminated string");
      unterminated = true;
      break;
    }
    char c = *p;
    if (c == '"') {
      ++p;
      break;
    }
    if (c != '\\') {
      value += c;
      ++p;
      continue;
    }
    // An escape: the backslash and the character after it.
    if (p + 1 >= end || p[1] == '\n' || p[1] == '\r') {
      ++p;  // the loop head reports the unterminated string
      continue;
    }
    switch (p[1]) {
    case '"': value += '"'; break;
    case '\\': value += '\\'; break;
    case 'n': value += '\n'; break;
    case 't': value += '\t'; break;
    default: {
      size_t n = utf8Length(p + 1, end);
      if (!reportedEscape)
        diags.error(llvm::SMLoc::getFromPointer(p),
                    "unknown escape sequence " +
                        quoteForMessage(llvm::StringRef(p, 1 + n)) + " in string");
      reportedEscape = true;
      p += 1 + n;
      continue;
    }
    }
    p += 2;
  }
  cur = p;
  // An unterminated string is an Error token: whatever should have followed
  // it on the line (a ')', say) was swallowed, so the parser must not go on
  // to complain about its absence.
  Token t = make(unterminated ? Tok::Error : Tok::String, start);
  t.str = std::move(value);
  return t;
}

Token Lexer::lexUnexpected(const char *start) {
  // Swallow a run of characters that cannot start a token: one error for
  // `$$$` or for a stray multi-byte UTF-8 character, not one per byte.
  // Blanks between junk on the same line are part of the run (`$ % $`).
  size_t first = utf8Length(cur, end);
  cur += first;
  while (cur < end) {
    const char *p = cur;
    while (p < end && (*p == ' ' || *p == '\t'))
      ++p;
    if (p >= end || canStartToken(*p))
      break;
    cur = p + utf8Length(p, end);
  }
  diags.error(llvm::SMLoc::getFromPointer(start),
              "unexpected character " + quoteForMessage(llvm::StringRef(start, first)));
  return make(Tok::Error, start);
}

}  // namespace heed

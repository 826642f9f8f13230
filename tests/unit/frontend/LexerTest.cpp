//===- LexerTest.cpp ------------------------------------------------------===//

#include "FrontendTestUtil.h"
#include "frontend/Lexer.h"

#include <gtest/gtest.h>

using namespace heed;
using heed::test::Source;

namespace {

struct Lexed {
  // Tokens point into the source buffer: keep it alive as long as they are.
  std::unique_ptr<Source> src;
  std::vector<Token> toks;
  std::vector<std::string> errors;
};

Lexed lexAll(llvm::StringRef text) {
  Lexed out;
  out.src = std::make_unique<Source>(text);
  Source &src = *out.src;
  Lexer lex(src.sm, src.bufferId, src.sink);
  for (int i = 0; i < 10000; ++i) {
    Token t = lex.next();
    bool eof = t.is(Tok::Eof);
    out.toks.push_back(std::move(t));
    if (eof)
      break;
  }
  out.errors = src.sink.errors;
  return out;
}

std::vector<Tok> kinds(const Lexed &l) {
  std::vector<Tok> k;
  for (const Token &t : l.toks)
    k.push_back(t.kind);
  return k;
}

std::vector<std::string> texts(const Lexed &l) {
  std::vector<std::string> k;
  for (const Token &t : l.toks)
    k.push_back(t.text.str());
  return k;
}

TEST(FrontendLexer, EmptyAndWhitespace) {
  EXPECT_EQ(kinds(lexAll("")), std::vector<Tok>{Tok::Eof});
  EXPECT_EQ(kinds(lexAll("  \n\t\r\n # only a comment")), std::vector<Tok>{Tok::Eof});
  EXPECT_TRUE(lexAll("   ").errors.empty());
}

TEST(FrontendLexer, KeywordsAndIdentifiers) {
  Lexed l = lexAll("model config train input block return output minimize repeat true "
                   "false models _x d_model x2 i32");
  std::vector<Tok> expected = {
      Tok::KwModel,  Tok::KwConfig, Tok::KwTrain,  Tok::KwInput, Tok::KwBlock,
      Tok::KwReturn, Tok::KwOutput, Tok::KwMinimize, Tok::KwRepeat, Tok::KwTrue,
      Tok::KwFalse,  Tok::Ident,    Tok::Ident,    Tok::Ident,   Tok::Ident,
      Tok::Ident,    Tok::Eof};
  EXPECT_EQ(kinds(l), expected);
  EXPECT_EQ(l.toks[11].text, "models");
  EXPECT_EQ(l.toks[13].text, "d_model");
  EXPECT_TRUE(l.errors.empty());
}

TEST(FrontendLexer, Punctuation) {
  Lexed l = lexAll("( ) { } [ ] , : = == != < <= > >= + - * / @ a<=b");
  std::vector<Tok> expected = {
      Tok::LParen, Tok::RParen, Tok::LBrace, Tok::RBrace,  Tok::LSquare, Tok::RSquare,
      Tok::Comma,  Tok::Colon,  Tok::Assign, Tok::EqEq,    Tok::NotEq,   Tok::Less,
      Tok::LessEq, Tok::Greater, Tok::GreaterEq, Tok::Plus, Tok::Minus,  Tok::Star,
      Tok::Slash,  Tok::At,     Tok::Ident,  Tok::LessEq,  Tok::Ident,   Tok::Eof};
  EXPECT_EQ(kinds(l), expected);
  EXPECT_TRUE(l.errors.empty());
}

TEST(FrontendLexer, TokenStreamOfAStatement) {
  Lexed l = lexAll("h = dropout(h, p: p_drop) # comment\nx=[batch,4]");
  std::vector<std::string> expected = {"h", "=", "dropout", "(", "h", ",", "p",  ":", "p_drop",
                                       ")", "x", "=",       "[", "batch", ",", "4", "]", ""};
  EXPECT_EQ(texts(l), expected);
  EXPECT_TRUE(l.errors.empty());
}

TEST(FrontendLexer, Locations) {
  Source src("model m\n  x = 10\n\t\"s\"");
  Lexer lex(src.sm, src.bufferId, src.sink);
  std::vector<std::string> locs;
  for (Token t = lex.next();; t = lex.next()) {
    locs.push_back(src.lineCol(t.loc));
    if (t.is(Tok::Eof))
      break;
  }
  EXPECT_EQ(locs, (std::vector<std::string>{"1:1", "1:7", "2:3", "2:5", "2:7", "3:2", "3:5"}));
}

TEST(FrontendLexer, NumberForms) {
  Lexed l = lexAll("0 42 0.1 3.25 1e-3 1E+4 2e3 256 007");
  ASSERT_TRUE(l.errors.empty());
  ASSERT_EQ(l.toks.size(), 10u);
  struct Want {
    double v;
    bool isInt;
  } want[] = {{0, true},      {42, true},  {0.1, false}, {3.25, false}, {1e-3, false},
              {1e4, false},   {2e3, false}, {256, true},  {7, true}};
  for (size_t i = 0; i < 9; ++i) {
    EXPECT_EQ(l.toks[i].kind, Tok::Number) << i;
    EXPECT_DOUBLE_EQ(l.toks[i].number, want[i].v) << i;
    EXPECT_EQ(l.toks[i].isInteger, want[i].isInt) << i;
  }
}

TEST(FrontendLexer, NumberThenOperator) {
  // `2-1` is three tokens; a minus sign is never part of a number.
  EXPECT_EQ(kinds(lexAll("2-1")), (std::vector<Tok>{Tok::Number, Tok::Minus, Tok::Number, Tok::Eof}));
  EXPECT_EQ(kinds(lexAll("-1e-3")), (std::vector<Tok>{Tok::Minus, Tok::Number, Tok::Eof}));
}

TEST(FrontendLexer, MalformedNumbers) {
  EXPECT_EQ(lexAll("x = 1e").errors, std::vector<std::string>{"1:5: malformed number '1e'"});
  EXPECT_EQ(lexAll("1e+ 2").errors, std::vector<std::string>{"1:1: malformed number '1e+'"});
  EXPECT_EQ(lexAll("  1.").errors, std::vector<std::string>{"1:3: malformed number '1.'"});
  EXPECT_EQ(lexAll("4x").errors, std::vector<std::string>{"1:1: malformed number '4x'"});
  EXPECT_EQ(lexAll("1.2.3").errors, std::vector<std::string>{"1:1: malformed number '1.2.3'"});
  // Still a Number token, so the parser carries on without a cascade.
  Lexed l = lexAll("1e)");
  EXPECT_EQ(kinds(l), (std::vector<Tok>{Tok::Number, Tok::RParen, Tok::Eof}));
}

TEST(FrontendLexer, NumbersOutOfRange) {
  EXPECT_EQ(lexAll("1e999").errors,
            std::vector<std::string>{"1:1: number '1e999' is out of range"});
  EXPECT_EQ(lexAll("x 99999999999999999999").errors,
            std::vector<std::string>{"1:3: integer '99999999999999999999' is too large"});
  EXPECT_TRUE(lexAll("9007199254740992 1e-400").errors.empty());  // 2^53; underflow is 0
}

TEST(FrontendLexer, Strings) {
  Lexed l = lexAll(R"("vectors.npy" "a\"b\\c\nd" "")");
  ASSERT_TRUE(l.errors.empty());
  ASSERT_EQ(l.toks.size(), 4u);
  EXPECT_EQ(l.toks[0].kind, Tok::String);
  EXPECT_EQ(l.toks[0].str, "vectors.npy");
  EXPECT_EQ(l.toks[0].text, "\"vectors.npy\"");
  EXPECT_EQ(l.toks[1].str, "a\"b\\c\nd");
  EXPECT_EQ(l.toks[2].str, "");
}

TEST(FrontendLexer, UnterminatedString) {
  Lexed l = lexAll("x = \"abc\ny");
  EXPECT_EQ(l.errors, std::vector<std::string>{"1:5: unterminated string"});
  EXPECT_EQ(kinds(l), (std::vector<Tok>{Tok::Ident, Tok::Assign, Tok::Error, Tok::Ident, Tok::Eof}));
  EXPECT_EQ(lexAll("\"abc\\").errors, std::vector<std::string>{"1:1: unterminated string"});
  EXPECT_EQ(lexAll("  \"").errors, std::vector<std::string>{"1:3: unterminated string"});
}

TEST(FrontendLexer, BadEscape) {
  Lexed l = lexAll(R"(s = "a\qb\zc")");
  // One report per string, at the backslash.
  EXPECT_EQ(l.errors, std::vector<std::string>{"1:7: unknown escape sequence '\\q' in string"});
  EXPECT_EQ(l.toks[2].kind, Tok::String);
}

TEST(FrontendLexer, UnexpectedCharacters) {
  Lexed l = lexAll("a $ b");
  EXPECT_EQ(l.errors, std::vector<std::string>{"1:3: unexpected character '$'"});
  EXPECT_EQ(kinds(l), (std::vector<Tok>{Tok::Ident, Tok::Error, Tok::Ident, Tok::Eof}));
  // A run of junk is one error.
  EXPECT_EQ(lexAll("a $%^ b").errors, std::vector<std::string>{"1:3: unexpected character '$'"});
  EXPECT_EQ(lexAll("a $ % $\n$").errors,
            (std::vector<std::string>{"1:3: unexpected character '$'", "2:1: unexpected character '$'"}));
  EXPECT_EQ(lexAll("x\n  !y").errors, std::vector<std::string>{"2:3: unexpected character '!'"});
  EXPECT_EQ(lexAll(llvm::StringRef("a\0b", 3)).errors,
            std::vector<std::string>{"1:2: unexpected character '\\x00'"});
  EXPECT_EQ(lexAll("\x01").errors, std::vector<std::string>{"1:1: unexpected character '\\x01'"});
  EXPECT_EQ(lexAll("\xff").errors, std::vector<std::string>{"1:1: unexpected character '\\xff'"});
  // A valid UTF-8 character is shown as itself.
  EXPECT_EQ(lexAll("x \xc3\xa9").errors,
            std::vector<std::string>{"1:3: unexpected character '\xc3\xa9'"});
}

TEST(FrontendLexer, EofIsSticky) {
  Source src("x");
  Lexer lex(src.sm, src.bufferId, src.sink);
  EXPECT_EQ(lex.next().kind, Tok::Ident);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(lex.next().kind, Tok::Eof);
}

TEST(FrontendLexer, QuoteForMessage) {
  EXPECT_EQ(quoteForMessage("abc"), "'abc'");
  EXPECT_EQ(quoteForMessage("a\nb"), "'a\\nb'");
  std::string longText(100, 'x');
  EXPECT_EQ(quoteForMessage(longText), "'" + std::string(40, 'x') + "...'");
}

}  // namespace

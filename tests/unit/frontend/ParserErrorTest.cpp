//===- ParserErrorTest.cpp - malformed input: messages, locations, recovery -===//

#include "FrontendTestUtil.h"

#include <gtest/gtest.h>

using namespace heed;
using heed::test::Source;

namespace {

using Errors = std::vector<std::string>;

/// Parses `text`, expects failure, returns the errors as "line:col: msg".
Errors errorsOf(const std::string &text) {
  Source src(text);
  auto m = src.parse();
  EXPECT_EQ(m, nullptr) << "parse succeeded on:\n" << text;
  EXPECT_EQ(src.sink.errorCount(), src.sink.errors.size());
  return src.sink.errors;
}

TEST(FrontendParserErrors, MissingModelHeader) {
  EXPECT_EQ(errorsOf("config { a = 1 }"),
            Errors{"1:1: expected 'model NAME' at the start of the file"});
  EXPECT_EQ(errorsOf(""), Errors{"1:1: expected 'model NAME' at the start of the file"});
  EXPECT_EQ(errorsOf("# just a comment\n"),
            Errors{"2:1: expected 'model NAME' at the start of the file"});
  // Junk before the header: one error, not one per junk token.
  EXPECT_EQ(errorsOf("foo bar\nmodel m\nx = 1"),
            Errors{"1:1: expected 'model NAME' at the start of the file"});
  EXPECT_EQ(errorsOf("model 3\nx = 1"),
            Errors{"1:7: expected a model name after 'model', found '3'"});
  // Newlines do not matter: this is `model x` followed by a stray '='.
  EXPECT_EQ(errorsOf("model\nx = 1"), Errors{"2:3: expected a statement, found '='"});
  EXPECT_EQ(errorsOf("model a\nmodel b"), Errors{"2:1: duplicate 'model' declaration"});
}

TEST(FrontendParserErrors, UnexpectedCharacter) {
  EXPECT_EQ(errorsOf("model m\nx = 1 $ 2\ny = 3"), Errors{"2:7: unexpected character '$'"});
  EXPECT_EQ(errorsOf("model m\nx = caf\xc3\xa9"), Errors{"2:8: unexpected character '\xc3\xa9'"});
  EXPECT_EQ(errorsOf("$model m"), Errors{"1:1: unexpected character '$'"});
  EXPECT_EQ(errorsOf("model m\nx = f(a, $)"), Errors{"2:10: unexpected character '$'"});
}

TEST(FrontendParserErrors, UnterminatedString) {
  EXPECT_EQ(errorsOf("model m\nx = \"abc\ny = 2"), Errors{"2:5: unterminated string"});
  EXPECT_EQ(errorsOf("model m\nx = load(\"abc"), Errors{"2:10: unterminated string"});
}

TEST(FrontendParserErrors, MalformedNumber) {
  EXPECT_EQ(errorsOf("model m\nx = 1e + 2"), Errors{"2:5: malformed number '1e'"});
  EXPECT_EQ(errorsOf("model m config { a = 1.  b = 2 }"), Errors{"1:22: malformed number '1.'"});
}

TEST(FrontendParserErrors, UnclosedCall) {
  EXPECT_EQ(errorsOf("model m\nx = attention(a, heads: 4\ny = 2"),
            Errors{"3:1: expected ')' to close the call of 'attention'"});
  EXPECT_EQ(errorsOf("model m\nx = f(a b)"), Errors{"2:9: expected ')' to close the call of 'f'"});
  EXPECT_EQ(errorsOf("model m\nx = f(a,"), Errors{"2:9: expected an expression, found end of file"});
}

TEST(FrontendParserErrors, ExpectedExpression) {
  EXPECT_EQ(errorsOf("model m\nx = (a + )"), Errors{"2:10: expected an expression, found ')'"});
  EXPECT_EQ(errorsOf("model m\nx = "), Errors{"2:5: expected an expression, found end of file"});
  EXPECT_EQ(errorsOf("model m\nx = \noutput x"), Errors{"3:1: expected an expression, found 'output'"});
  EXPECT_EQ(errorsOf("model m\nx = (a b"), Errors{"2:8: expected ')', found 'b'"});
  EXPECT_EQ(errorsOf("model m\nx = [a b]"), Errors{"2:8: expected ',' or ']' in the list, found 'b'"});
  EXPECT_EQ(errorsOf("model m\nminimize )"), Errors{"2:10: expected an expression, found ')'"});
}

TEST(FrontendParserErrors, Arguments) {
  EXPECT_EQ(errorsOf("model m\nx = f(p: 1, a)"),
            Errors{"2:13: positional argument after named argument"});
  EXPECT_EQ(errorsOf("model m\nx = f(p: 1, p: 2)"), Errors{"2:13: duplicate named argument 'p'"});
  EXPECT_EQ(errorsOf("model m\nx = f(h, p = 0.1)"),
            Errors{"2:12: named arguments are written 'p: value', not 'p = value'"});
  EXPECT_EQ(errorsOf("model m\nx = f(q: 1, p = 0.1)"),
            Errors{"2:15: named arguments are written 'p: value', not 'p = value'"});
}

TEST(FrontendParserErrors, ChainedComparison) {
  EXPECT_EQ(errorsOf("model m\nx = a < b < c"),
            Errors{"2:11: comparisons cannot be chained; use parentheses"});
}

TEST(FrontendParserErrors, Repeat) {
  EXPECT_EQ(errorsOf("model m\nx = repeat(2) 5"),
            Errors{"2:15: expected a block call such as 'layer(x)' after 'repeat(...)', found '5'"});
  EXPECT_EQ(errorsOf("model m\nx = repeat 2"), Errors{"2:12: expected '(' after 'repeat', found '2'"});
  EXPECT_EQ(errorsOf("model m\nx = repeat(2 b(h)"),
            Errors{"2:14: expected ')' after the repeat count, found 'b'"});
  EXPECT_EQ(errorsOf("model m\nx = repeat(2) b"),
            Errors{"2:15: expected a block call such as 'layer(x)' after 'repeat(...)', found 'b'"});
}

TEST(FrontendParserErrors, Statements) {
  EXPECT_EQ(errorsOf("model m\n} x = 1"), Errors{"2:1: expected a statement, found '}'"});
  EXPECT_EQ(errorsOf("model m\nx + y"), Errors{"2:3: expected '=' after 'x', found '+'"});
  EXPECT_EQ(errorsOf("model m\nreturn x"), Errors{"2:1: 'return' outside of a block"});
  EXPECT_EQ(errorsOf("model m\noutput"), Errors{"2:7: expected a name after 'output', found end of file"});
  EXPECT_EQ(errorsOf("model m\noutput a, 3"), Errors{"2:11: expected a name after ',', found '3'"});
}

TEST(FrontendParserErrors, Inputs) {
  EXPECT_EQ(errorsOf("model m\ninput x : i32[batch, 1.5]"),
            Errors{"2:22: dimension '1.5' is not an integer"});
  EXPECT_EQ(errorsOf("model m\ninput x i32[b]"),
            Errors{"2:9: expected ':' after input 'x', found 'i32'"});
  EXPECT_EQ(errorsOf("model m\ninput : i32[b]"),
            Errors{"2:7: expected an input name after 'input', found ':'"});
  EXPECT_EQ(errorsOf("model m\ninput x : [b]"),
            Errors{"2:11: expected a dtype such as i32 or f32 for input 'x', found '['"});
  EXPECT_EQ(errorsOf("model m\ninput x : i32"),
            Errors{"2:14: expected '[' to begin the shape of input 'x', found end of file"});
  EXPECT_EQ(errorsOf("model m\ninput x : i32[-1]"),
            Errors{"2:15: expected a dimension (a name or an integer), found '-'"});
  EXPECT_EQ(errorsOf("model m\ninput x : i32[a b]"),
            Errors{"2:17: expected ',' or ']' in the shape of input 'x', found 'b'"});
}

TEST(FrontendParserErrors, ConfigBlocks) {
  EXPECT_EQ(errorsOf("model m\nconfig { a 1 b = 2 }"),
            Errors{"2:12: expected '=' after 'a', found '1'"});
  EXPECT_EQ(errorsOf("model m\nconfig a = 1 }\noutput a"),
            Errors{"2:8: expected '{' after 'config', found 'a'"});
  EXPECT_EQ(errorsOf("model m config { a = 1"),
            Errors{"1:23: expected '}' to close 'config', found end of file"});
  EXPECT_EQ(errorsOf("model m train { 3 }"),
            Errors{"1:17: expected 'NAME = value' or '}' in 'train', found '3'"});
  EXPECT_EQ(errorsOf("model m\nconfig { a = 1 + }"),
            Errors{"2:18: expected an expression, found '}'"});
}

TEST(FrontendParserErrors, Blocks) {
  EXPECT_EQ(errorsOf("model m\nblock b(x) {\n  y = x +\n}"),
            Errors{"4:1: expected an expression, found '}'"});
  EXPECT_EQ(errorsOf("model m\nblock b(x) { y = x }"),
            Errors{"2:20: block 'b' must end with 'return EXPR'"});
  EXPECT_EQ(errorsOf("model m\nblock b(x) { return x\noutput x"),
            Errors{"3:1: expected '}' after the return expression of block 'b', found 'output'"});
  EXPECT_EQ(errorsOf("model m\nblock b(x) { return x y = 2 }\nz = 1"),
            Errors{"2:23: expected '}' after the return expression of block 'b', found 'y'"});
  EXPECT_EQ(errorsOf("model m\nblock b(x y) { return x }"),
            Errors{"2:11: expected ',' or ')' in the parameters of block 'b', found 'y'"});
  EXPECT_EQ(errorsOf("model m\nblock b(x, x) { return x }"), Errors{"2:12: duplicate parameter 'x'"});
  EXPECT_EQ(errorsOf("model m\nblock (x) { return x }"),
            Errors{"2:7: expected a block name after 'block', found '('"});
  EXPECT_EQ(errorsOf("model m\nblock b(x) return x"),
            Errors{"2:12: expected '{' to begin the body of block 'b', found 'return'"});
  EXPECT_EQ(errorsOf("model m\nblock b(x) { output x }"),
            Errors{"2:14: expected '}' to close block 'b', found 'output'"});
  EXPECT_EQ(errorsOf("model m\nblock b(x) { 3 }"),
            Errors{"2:14: expected 'NAME = expr' or 'return expr' in block 'b', found '3'"});
  EXPECT_EQ(errorsOf("model m\nconfig { a = 1 input x : i32[b] }"),
            Errors{"2:16: expected '}' to close 'config', found 'input'"});
  // Independent errors inside one body are all reported.
  EXPECT_EQ(errorsOf("model m\nblock b(x) {\n  y = )\n  z = )\n  return y\n}"),
            (Errors{"3:7: expected an expression, found ')'", "4:7: expected an expression, found ')'"}));
}

TEST(FrontendParserErrors, MultipleIndependentErrors) {
  const char *text = "model m\n"
                     "config { a = 1 + }\n"
                     "input x : i32[b, $]\n"
                     "block f(x) { y = (x return y }\n"
                     "z = g(1, 2\n"
                     "output z\n"
                     "minimize )\n"
                     "w = 3\n";
  EXPECT_EQ(errorsOf(text), (Errors{
                                "2:18: expected an expression, found '}'",
                                "3:18: unexpected character '$'",
                                "4:21: expected ')', found 'return'",
                                "6:1: expected ')' to close the call of 'g'",
                                "7:10: expected an expression, found ')'",
                            }));
}

TEST(FrontendParserErrors, StopsAfterTwentyErrors) {
  std::string text = "model m\n";
  for (int i = 0; i < 50; ++i)
    text += "x = )\n";
  Source src(text);
  EXPECT_EQ(src.parse(), nullptr);
  ASSERT_EQ(src.sink.errors.size(), 20u);
  EXPECT_EQ(src.sink.errors[0], "2:5: expected an expression, found ')'");
  EXPECT_EQ(src.sink.errors[19], "21:5: expected an expression, found ')'");
  EXPECT_EQ(src.sink.notes, Errors{"21:5: too many errors, stopping"});
}

TEST(FrontendParserErrors, ManyLexErrorsStopToo) {
  std::string text = "model m\n";
  for (int i = 0; i < 1000; ++i)
    text += "$ ";
  Source src(text);
  EXPECT_EQ(src.parse(), nullptr);
  EXPECT_EQ(src.sink.errors.size(), 1u);  // one run of junk
  std::string spaced = "model m\n";
  for (int i = 0; i < 1000; ++i)
    spaced += "$ x ";
  Source src2(spaced);
  EXPECT_EQ(src2.parse(), nullptr);
  EXPECT_EQ(src2.sink.errors.size(), 20u);
}

std::string oneError(const std::string &text) {
  Source src(text);
  EXPECT_EQ(src.parse(), nullptr);
  EXPECT_EQ(src.sink.errors.size(), 1u) << text.substr(0, 80);
  if (src.sink.errors.empty())
    return "";
  std::string e = src.sink.errors[0];
  return e.substr(e.find(": ") + 2);
}

TEST(FrontendParserErrors, DeepNestingIsAnErrorNotACrash) {
  const int n = 100000;
  EXPECT_EQ(oneError("model m\nx = " + std::string(n, '(') + "1" + std::string(n, ')')),
            "expression nested too deeply");
  EXPECT_EQ(oneError("model m\nx = " + std::string(n, '-') + "1"), "expression nested too deeply");
  EXPECT_EQ(oneError("model m\nx = " + std::string(n, '[') + std::string(n, ']')),
            "expression nested too deeply");
  std::string calls = "model m\nx = ";
  for (int i = 0; i < n; ++i)
    calls += "f(";
  calls += "1";
  calls += std::string(n, ')');
  EXPECT_EQ(oneError(calls), "expression nested too deeply");
  std::string named = "model m\nx = ";
  for (int i = 0; i < n; ++i)
    named += "f(p: ";
  EXPECT_EQ(oneError(named), "expression nested too deeply");
  std::string rep = "model m\nx = ";
  for (int i = 0; i < n; ++i)
    rep += "repeat(";
  EXPECT_EQ(oneError(rep), "expression nested too deeply");
  // A long flat chain builds a deep tree: rejected by height, not by recursion.
  std::string sum = "model m\nx = a";
  for (int i = 0; i < n; ++i)
    sum += " + a";
  EXPECT_EQ(oneError(sum), "expression nested too deeply");
  std::string mixed = "model m\nx = a";
  for (int i = 0; i < 150; ++i)
    mixed += " * (a";
  for (int i = 0; i < 150; ++i)
    mixed += " + a)";
  EXPECT_EQ(oneError(mixed), "expression nested too deeply");
}

TEST(FrontendParserErrors, NestingErrorThenMoreErrors) {
  std::string text = "model m\nx = " + std::string(300, '(') + "1" + std::string(300, ')') +
                     "\ny = )\n";
  Source src(text);
  EXPECT_EQ(src.parse(), nullptr);
  ASSERT_EQ(src.sink.errors.size(), 2u);
  EXPECT_EQ(src.sink.errors[1], "3:5: expected an expression, found ')'");
}

}  // namespace

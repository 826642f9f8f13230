//===- ASTPrinterTest.cpp -------------------------------------------------===//

#include "FrontendTestUtil.h"

#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace heed;
using heed::test::Source;

namespace {

std::string printed(const std::string &text) {
  Source src(text);
  auto m = src.parse();
  if (!m)
    return "PARSE ERROR: " + (src.sink.errors.empty() ? "" : src.sink.errors[0]);
  std::string out;
  llvm::raw_string_ostream os(out);
  printAST(*m, src.sm, os);
  os.flush();
  return out;
}

TEST(FrontendASTPrinter, WholeModule) {
  const char *text = "model m\n"
                     "config { d = 4 * 2  p = 0.1 }\n"
                     "train { lr = 1e-3 }\n"
                     "input tokens : i32[batch, 16]\n"
                     "block layer(x, y) {\n"
                     "  a = f(x, -1, k: true, s: \"v\\\"q\")\n"
                     "  return a @ [y, 2]\n"
                     "}\n"
                     "h = repeat(3) layer(tokens, tokens) == 1\n"
                     "output h, h\n"
                     "minimize h\n";
  const char *expected = R"(Module m <1:1>
  Config
    Assign d <2:10>
      Binary * <2:14>
        Number 4 <2:14>
        Number 2 <2:18>
    Assign p <2:21>
      Number 0.1 <2:25>
  Train
    Assign lr <3:9>
      Number 0.001 <3:14>
  Input tokens : i32[batch, 16] <4:7>
  Block layer(x, y) <5:7>
    Assign a <6:3>
      Call f <6:7>
        Ident x <6:9>
        Unary - <6:12>
          Number 1 <6:13>
        NamedArg k <6:16>
          Bool true <6:19>
        NamedArg s <6:25>
          String "v\"q" <6:28>
    Return <7:3>
      Binary @ <7:10>
        Ident a <7:10>
        List <7:14>
          Ident y <7:15>
          Number 2 <7:18>
  Assign h <9:1>
    Binary == <9:5>
      Repeat <9:5>
        Number 3 <9:12>
        Call layer <9:15>
          Ident tokens <9:21>
          Ident tokens <9:29>
      Number 1 <9:40>
  Output h, h <10:1>
  Minimize <11:1>
    Ident h <11:10>
)";
  EXPECT_EQ(printed(text), expected);
}

TEST(FrontendASTPrinter, NumbersRoundTrip) {
  std::string out = printed("model m\nx = [0.1, 2.5e-7, 1e10, 123456789, 0.30000000000000004]");
  EXPECT_NE(out.find("Number 0.1 <2:6>"), std::string::npos) << out;
  EXPECT_NE(out.find("Number 2.5e-07 <"), std::string::npos) << out;
  EXPECT_NE(out.find("Number 1e+10 <"), std::string::npos) << out;
  EXPECT_NE(out.find("Number 123456789 <"), std::string::npos) << out;
  EXPECT_NE(out.find("Number 0.30000000000000004 <"), std::string::npos) << out;
}

TEST(FrontendASTPrinter, BinOpSpelling) {
  using ast::BinOp;
  EXPECT_STREQ(ast::binOpSpelling(BinOp::Eq), "==");
  EXPECT_STREQ(ast::binOpSpelling(BinOp::Ne), "!=");
  EXPECT_STREQ(ast::binOpSpelling(BinOp::Lt), "<");
  EXPECT_STREQ(ast::binOpSpelling(BinOp::Le), "<=");
  EXPECT_STREQ(ast::binOpSpelling(BinOp::Gt), ">");
  EXPECT_STREQ(ast::binOpSpelling(BinOp::Ge), ">=");
  EXPECT_STREQ(ast::binOpSpelling(BinOp::Add), "+");
  EXPECT_STREQ(ast::binOpSpelling(BinOp::Sub), "-");
  EXPECT_STREQ(ast::binOpSpelling(BinOp::Mul), "*");
  EXPECT_STREQ(ast::binOpSpelling(BinOp::Div), "/");
  EXPECT_STREQ(ast::binOpSpelling(BinOp::MatMul), "@");
}

}  // namespace

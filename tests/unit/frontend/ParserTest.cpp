//===- ParserTest.cpp - well-formed input ---------------------------------===//

#include "FrontendTestUtil.h"

#include <gtest/gtest.h>

#include <sstream>

using namespace heed;
using heed::test::Source;

namespace {

/// A compact S-expression of an expression: (+ a (* b c)), (call f x :p 1).
std::string sx(const ast::Expr &e) {
  std::ostringstream os;
  switch (e.kind) {
  case ast::ExprKind::Number:
    if (e.isInteger)
      os << static_cast<long long>(e.number);
    else
      os << e.number << 'f';
    return os.str();
  case ast::ExprKind::String:
    return "\"" + e.text + "\"";
  case ast::ExprKind::Bool:
    return e.boolean ? "true" : "false";
  case ast::ExprKind::Ident:
    return e.text;
  case ast::ExprKind::Binary:
    return std::string("(") + ast::binOpSpelling(e.binOp) + " " + sx(*e.operands[0]) + " " +
           sx(*e.operands[1]) + ")";
  case ast::ExprKind::Unary:
    return "(neg " + sx(*e.operands[0]) + ")";
  case ast::ExprKind::List: {
    std::string s = "[";
    for (size_t i = 0; i < e.operands.size(); ++i)
      s += (i ? " " : "") + sx(*e.operands[i]);
    return s + "]";
  }
  case ast::ExprKind::Call: {
    std::string s = "(call " + e.text;
    for (const auto &op : e.operands)
      s += " " + sx(*op);
    for (const auto &na : e.namedArgs)
      s += " :" + na.name + " " + sx(*na.value);
    return s + ")";
  }
  case ast::ExprKind::Repeat:
    return "(repeat " + sx(*e.operands[0]) + " " + sx(*e.operands[1]) + ")";
  }
  return "?";
}

/// Parses `model m\nx = <expr>` and returns the S-expression of x's value.
std::string parseExpr(const std::string &expr) {
  Source src("model m\nx = " + expr + "\n");
  auto m = src.parse();
  if (!m) {
    std::string all = "ERROR";
    for (auto &e : src.sink.errors)
      all += " | " + e;
    return all;
  }
  if (m->stmts.size() != 1 || m->stmts[0].kind != ast::TopStmt::AssignStmt)
    return "WRONG STATEMENTS";
  return sx(*m->stmts[0].assign.value);
}

const char *kTinyLM = R"(model tiny_lm

config {
  vocab   = 256
  d_model = 128
  heads   = 4
  d_ff    = 4 * d_model
  layers  = 4
  seq     = 128
  p_drop  = 0.1
}

input tokens  : i32[batch, seq]
input targets : i32[batch, seq]

block decoder_layer(x) {
  a = attention(layer_norm(x), heads: heads, causal: true)
  x = x + dropout(a, p: p_drop)
  f = feed_forward(layer_norm(x), hidden: d_ff, act: relu)
  return x + dropout(f, p: p_drop)
}

h      = embedding(tokens, vocab: vocab, dim: d_model) * sqrt(d_model)
h      = dropout(h + positional_encoding(seq, d_model, kind: sinusoidal), p: p_drop)
h      = repeat(layers) decoder_layer(h)
logits = linear(layer_norm(h), out: vocab)
loss   = cross_entropy(logits, targets, smoothing: 0.1)

output logits
minimize loss
)";

const char *kTranslate = R"(model translate
config { src_vocab = 64  tgt_vocab = 64  d_model = 128  heads = 4  d_ff = 512
         layers = 3  src_len = 24  tgt_len = 24  pad = 0  p_drop = 0.1 }

input src     : i32[batch, src_len]
input tgt_in  : i32[batch, tgt_len]      # target shifted right, starts with BOS
input tgt_out : i32[batch, tgt_len]

block encoder_layer(x, src_pad) {
  x = layer_norm(x + dropout(attention(x, heads: heads, key_padding: src_pad), p: p_drop))
  return layer_norm(x + dropout(feed_forward(x, hidden: d_ff), p: p_drop))
}
src_pad = src == pad
memory  = repeat(layers) encoder_layer(enc, src_pad)
loss    = cross_entropy(logits, tgt_out, smoothing: 0.1, ignore: pad)
output memory, logits
minimize loss
)";

TEST(FrontendParser, TinyLMExample) {
  Source src(kTinyLM);
  auto m = src.parse();
  ASSERT_TRUE(m) << (src.sink.errors.empty() ? "" : src.sink.errors[0]);
  EXPECT_TRUE(src.sink.errors.empty());
  EXPECT_EQ(m->name, "tiny_lm");
  EXPECT_EQ(src.lineCol(m->loc), "1:1");
  ASSERT_EQ(m->config.size(), 7u);
  EXPECT_EQ(m->config[0].name, "vocab");
  EXPECT_EQ(sx(*m->config[3].value), "(* 4 d_model)");
  EXPECT_EQ(sx(*m->config[6].value), "0.1f");
  EXPECT_EQ(src.lineCol(m->config[6].loc), "10:3");
  EXPECT_TRUE(m->train.empty());

  ASSERT_EQ(m->inputs.size(), 2u);
  EXPECT_EQ(m->inputs[1].name, "targets");
  EXPECT_EQ(m->inputs[1].dtype, "i32");
  ASSERT_EQ(m->inputs[1].dims.size(), 2u);
  EXPECT_EQ(m->inputs[1].dims[0].name, "batch");
  EXPECT_EQ(m->inputs[1].dims[1].name, "seq");
  EXPECT_EQ(src.lineCol(m->inputs[1].loc), "14:7");
  EXPECT_EQ(src.lineCol(m->inputs[1].dtypeLoc), "14:17");

  ASSERT_EQ(m->blocks.size(), 1u);
  const ast::Block &b = m->blocks[0];
  EXPECT_EQ(b.name, "decoder_layer");
  EXPECT_EQ(b.params, std::vector<std::string>{"x"});
  ASSERT_EQ(b.body.size(), 3u);
  EXPECT_EQ(sx(*b.body[0].value),
            "(call attention (call layer_norm x) :heads heads :causal true)");
  EXPECT_EQ(sx(*b.result), "(+ x (call dropout f :p p_drop))");
  EXPECT_EQ(src.lineCol(b.returnLoc), "20:3");

  ASSERT_EQ(m->stmts.size(), 7u);
  EXPECT_EQ(sx(*m->stmts[0].assign.value),
            "(* (call embedding tokens :vocab vocab :dim d_model) (call sqrt d_model))");
  EXPECT_EQ(sx(*m->stmts[2].assign.value), "(repeat layers (call decoder_layer h))");
  EXPECT_EQ(sx(*m->stmts[4].assign.value),
            "(call cross_entropy logits targets :smoothing 0.1f)");
  EXPECT_EQ(m->stmts[5].kind, ast::TopStmt::OutputStmt);
  EXPECT_EQ(m->stmts[5].names, std::vector<std::string>{"logits"});
  EXPECT_EQ(m->stmts[6].kind, ast::TopStmt::MinimizeStmt);
  EXPECT_EQ(sx(*m->stmts[6].target), "loss");
  EXPECT_EQ(src.lineCol(m->stmts[6].loc), "30:1");
}

TEST(FrontendParser, TranslateExample) {
  Source src(kTranslate);
  auto m = src.parse();
  ASSERT_TRUE(m) << (src.sink.errors.empty() ? "" : src.sink.errors[0]);
  EXPECT_EQ(m->name, "translate");
  ASSERT_EQ(m->config.size(), 10u);
  EXPECT_EQ(m->config[9].name, "p_drop");
  EXPECT_EQ(m->config[5].name, "layers");
  EXPECT_EQ(src.lineCol(m->config[5].loc), "3:10");
  EXPECT_EQ(m->inputs.size(), 3u);
  ASSERT_EQ(m->blocks.size(), 1u);
  EXPECT_EQ(m->blocks[0].params, (std::vector<std::string>{"x", "src_pad"}));
  EXPECT_EQ(m->blocks[0].body.size(), 1u);
  EXPECT_EQ(sx(*m->blocks[0].body[0].value),
            "(call layer_norm (+ x (call dropout (call attention x :heads heads :key_padding "
            "src_pad) :p p_drop)))");
  ASSERT_EQ(m->stmts.size(), 5u);
  EXPECT_EQ(sx(*m->stmts[0].assign.value), "(== src pad)");
  EXPECT_EQ(sx(*m->stmts[1].assign.value), "(repeat layers (call encoder_layer enc src_pad))");
  EXPECT_EQ(m->stmts[3].names, (std::vector<std::string>{"memory", "logits"}));
  EXPECT_EQ(m->stmts[3].nameLocs.size(), 2u);
}

TEST(FrontendParser, HandWrittenAttentionBlock) {
  Source src(R"(model m
block attn(q, k, v) {
  w = softmax(q @ transpose(k, -1, -2) / sqrt(d_model), axis: -1)
  return w @ v
})");
  auto m = src.parse();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->blocks.size(), 1u);
  EXPECT_EQ(sx(*m->blocks[0].body[0].value),
            "(call softmax (/ (@ q (call transpose k (neg 1) (neg 2))) (call sqrt d_model)) "
            ":axis (neg 1))");
  EXPECT_EQ(sx(*m->blocks[0].result), "(@ w v)");
}

TEST(FrontendParser, TrainBlockOnOneLine) {
  Source src("model m\ntrain { steps = 2000  batch = 32  lr = 1e-3  schedule = noam  optimizer = adam }");
  auto m = src.parse();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->train.size(), 5u);
  EXPECT_EQ(sx(*m->train[2].value), "0.001f");
  EXPECT_EQ(sx(*m->train[3].value), "noam");
  EXPECT_EQ(m->train[4].name, "optimizer");
  EXPECT_TRUE(m->config.empty());
}

TEST(FrontendParser, ConfigOnOneLineWithExpressions) {
  // An expression ends where the next token cannot continue it.
  Source src("model m config { a = 2 b = a * 3 - 1 c = -b d = (a) e = [a, b] }");
  auto m = src.parse();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->config.size(), 5u);
  EXPECT_EQ(sx(*m->config[1].value), "(- (* a 3) 1)");
  EXPECT_EQ(sx(*m->config[2].value), "(neg b)");
  EXPECT_EQ(sx(*m->config[3].value), "a");
  EXPECT_EQ(sx(*m->config[4].value), "[a b]");
}

TEST(FrontendParser, SeveralConfigBlocksAccumulate) {
  Source src("model m config { a = 1 } config { b = 2 } config {}");
  auto m = src.parse();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->config.size(), 2u);
  EXPECT_EQ(m->config[1].name, "b");
}

TEST(FrontendParser, Precedence) {
  EXPECT_EQ(parseExpr("a + b * c"), "(+ a (* b c))");
  EXPECT_EQ(parseExpr("a * b + c"), "(+ (* a b) c)");
  EXPECT_EQ(parseExpr("a @ b / c"), "(/ (@ a b) c)");
  EXPECT_EQ(parseExpr("a / b @ c"), "(@ (/ a b) c)");
  EXPECT_EQ(parseExpr("a - b - c"), "(- (- a b) c)");
  EXPECT_EQ(parseExpr("-a * b"), "(* (neg a) b)");
  EXPECT_EQ(parseExpr("- -a"), "(neg (neg a))");
  EXPECT_EQ(parseExpr("a * -b"), "(* a (neg b))");
  EXPECT_EQ(parseExpr("(a + b) * c"), "(* (+ a b) c)");
  EXPECT_EQ(parseExpr("a + b == c * d"), "(== (+ a b) (* c d))");
  EXPECT_EQ(parseExpr("a != b"), "(!= a b)");
  EXPECT_EQ(parseExpr("a < b + 1"), "(< a (+ b 1))");
  EXPECT_EQ(parseExpr("a <= b"), "(<= a b)");
  EXPECT_EQ(parseExpr("a > b"), "(> a b)");
  EXPECT_EQ(parseExpr("a >= -b"), "(>= a (neg b))");
  EXPECT_EQ(parseExpr("(a < b) == c"), "(== (< a b) c)");
}

TEST(FrontendParser, OperatorLocations) {
  Source src("model m\nx = a + b * c");
  auto m = src.parse();
  ASSERT_TRUE(m);
  const ast::Expr &e = *m->stmts[0].assign.value;
  EXPECT_EQ(src.lineCol(e.loc), "2:5");
  EXPECT_EQ(src.lineCol(e.opLoc), "2:7");
  EXPECT_EQ(src.lineCol(e.operands[1]->loc), "2:9");
  EXPECT_EQ(src.lineCol(e.operands[1]->opLoc), "2:11");
  EXPECT_EQ(e.height, 3u);
}

TEST(FrontendParser, Literals) {
  EXPECT_EQ(parseExpr("\"vectors.npy\""), "\"vectors.npy\"");
  EXPECT_EQ(parseExpr("true"), "true");
  EXPECT_EQ(parseExpr("false"), "false");
  EXPECT_EQ(parseExpr("1e-3"), "0.001f");
  EXPECT_EQ(parseExpr("[batch, seq, 4, 32]"), "[batch seq 4 32]");
  EXPECT_EQ(parseExpr("[]"), "[]");
  EXPECT_EQ(parseExpr("[a, b,]"), "[a b]");
  EXPECT_EQ(parseExpr("[[1, 2], [3]]"), "[[1 2] [3]]");
}

TEST(FrontendParser, Calls) {
  EXPECT_EQ(parseExpr("f()"), "(call f)");
  EXPECT_EQ(parseExpr("f(a, b)"), "(call f a b)");
  EXPECT_EQ(parseExpr("f(a, p: 1, q: g(2))"), "(call f a :p 1 :q (call g 2))");
  EXPECT_EQ(parseExpr("f(p: 1,)"), "(call f :p 1)");
  EXPECT_EQ(parseExpr("linear(x, out: d, init: normal(0.02))"),
            "(call linear x :out d :init (call normal 0.02f))");
  EXPECT_EQ(parseExpr("embedding(t, init: load(\"vectors.npy\"))"),
            "(call embedding t :init (call load \"vectors.npy\"))");
  EXPECT_EQ(parseExpr("reshape(x, [batch, seq, 4, 32])"),
            "(call reshape x [batch seq 4 32])");
}

TEST(FrontendParser, NamedArgsKeepOrderAndLocations) {
  Source src("model m\nx = f(a, z: 1, b: 2, m: 3)");
  auto m = src.parse();
  ASSERT_TRUE(m);
  const ast::Expr &e = *m->stmts[0].assign.value;
  ASSERT_EQ(e.namedArgs.size(), 3u);
  EXPECT_EQ(e.namedArgs[0].name, "z");
  EXPECT_EQ(e.namedArgs[1].name, "b");
  EXPECT_EQ(e.namedArgs[2].name, "m");
  EXPECT_EQ(src.lineCol(e.namedArgs[1].nameLoc), "2:16");
  EXPECT_EQ(src.lineCol(e.namedArgs[1].value->loc), "2:19");
  EXPECT_EQ(src.lineCol(e.opLoc), "2:5");
}

TEST(FrontendParser, Repeat) {
  EXPECT_EQ(parseExpr("repeat(layers) decoder_layer(h)"), "(repeat layers (call decoder_layer h))");
  EXPECT_EQ(parseExpr("repeat(n * 2) blk(h, mask)"), "(repeat (* n 2) (call blk h mask))");
  EXPECT_EQ(parseExpr("repeat(2) blk(h) + h"), "(+ (repeat 2 (call blk h)) h)");
  Source src("model m\nh = repeat(3) blk(h)");
  auto m = src.parse();
  ASSERT_TRUE(m);
  const ast::Expr &e = *m->stmts[0].assign.value;
  EXPECT_EQ(e.kind, ast::ExprKind::Repeat);
  ASSERT_EQ(e.operands.size(), 2u);
  EXPECT_EQ(e.operands[1]->kind, ast::ExprKind::Call);
  EXPECT_EQ(src.lineCol(e.loc), "2:5");
  EXPECT_EQ(src.lineCol(e.operands[1]->loc), "2:15");
}

TEST(FrontendParser, Inputs) {
  Source src("model m input x : f32[batch, 16, d] input s : f32[] input k : bool[4,]");
  auto m = src.parse();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->inputs.size(), 3u);
  ASSERT_EQ(m->inputs[0].dims.size(), 3u);
  EXPECT_EQ(m->inputs[0].dims[1].name, "");
  EXPECT_EQ(m->inputs[0].dims[1].value, 16);
  EXPECT_EQ(src.lineCol(m->inputs[0].dims[1].loc), "1:30");
  EXPECT_TRUE(m->inputs[1].dims.empty());
  EXPECT_EQ(m->inputs[2].dtype, "bool");
  EXPECT_EQ(m->inputs[2].dims.size(), 1u);
}

TEST(FrontendParser, BlocksAndStatementsKeepSourceOrder) {
  Source src("model m\nblock a() { return 1 }\nx = a()\nblock b(p, q) { t = p return t }\n"
             "output x\nminimize x + 0\ny = b(x, x)");
  auto m = src.parse();
  ASSERT_TRUE(m);
  ASSERT_EQ(m->blocks.size(), 2u);
  EXPECT_TRUE(m->blocks[0].params.empty());
  EXPECT_EQ(m->blocks[1].paramLocs.size(), 2u);
  ASSERT_EQ(m->stmts.size(), 4u);
  EXPECT_EQ(m->stmts[0].kind, ast::TopStmt::AssignStmt);
  EXPECT_EQ(m->stmts[1].kind, ast::TopStmt::OutputStmt);
  EXPECT_EQ(m->stmts[2].kind, ast::TopStmt::MinimizeStmt);
  EXPECT_TRUE(m->stmts[2].names.empty());  // not a plain name
  EXPECT_EQ(m->stmts[3].assign.name, "y");
}

TEST(FrontendParser, CommentsAnywhere) {
  Source src("# header\nmodel m # name\nconfig { # open\n a = 1 # one\n}\n# end");
  auto m = src.parse();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->config.size(), 1u);
}

TEST(FrontendParser, DeepButAllowedNesting) {
  std::string e = std::string(150, '(') + "x" + std::string(150, ')');
  EXPECT_EQ(parseExpr(e), "x");
  std::string sum = "a";
  for (int i = 0; i < 150; ++i)
    sum += " + a";
  EXPECT_NE(parseExpr(sum).rfind("(+", 0), std::string::npos);
}

}  // namespace

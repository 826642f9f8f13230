//===- OpParityTest.cpp - every language op: compiled == reference --------===//
//
// One tiny model per op (or per op form that lowers differently: the reduced
// axis, the batch axis moved or reduced, library vs fused softmax, ...): a
// linear layer feeds the op, so its parameters' gradients run through the op's
// backward. Forward outputs and the loss must agree to 1e-5 normwise, every
// parameter gradient to 1e-5 (as in ParityTest), with dropout on, at the default
// compile and with every row-wise kernel split into row chunks; poisoned buffers
// (HEED_POISON_BUFFERS=1, set by CMake) turn any unwritten result element into NaN.
//
//===----------------------------------------------------------------------===//

#include "ParityUtil.h"

#include "compiler/compiled/CompiledProgram.h"
#include "compiler/interp/InterpretedProgram.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <tuple>

namespace heed {
namespace {

struct OpCase {
  const char *name;
  const char *expr;            // y, from h (f32 [batch, 6, 8]), x (the same shape), ids (i32 [batch, 6], < 8)
  const char *loss = nullptr;  // default: mean(y^2) + mean(h)
  const char *inputs = nullptr;  // default: x f32[batch, 6, 8], ids i32[batch, 6]
};

// Attention lowers to the fused sdpa kernels; these cover its mask forms and
// lengths: odd (not a multiple of the 32-query block or the 16-key padding),
// Tq != Tk both ways (Tq > Tk under the causal mask has rows with every key
// hidden), one query against 37 keys, one head. m f32[batch, T, 8] and kid
// i32[batch, T] (< 8, so kid == 0 pads about one key in 8) give the keys.
const char *kOdd = "input x : f32[batch, 7, 8]\ninput ids : i32[batch, 7]\n";
const char *kLongKeys = "input x : f32[batch, 6, 8]\ninput ids : i32[batch, 6]\n"
                        "input m : f32[batch, 37, 8]\ninput kid : i32[batch, 37]\n";
const char *kOneQuery = "input x : f32[batch, 1, 8]\ninput ids : i32[batch, 1]\n"
                        "input m : f32[batch, 37, 8]\ninput kid : i32[batch, 37]\n";
const char *kShortKeys = "input x : f32[batch, 9, 8]\ninput ids : i32[batch, 9]\n"
                         "input m : f32[batch, 4, 8]\ninput kid : i32[batch, 4]\n";

const OpCase kCases[] = {
    {"add", "h + x"},
    {"sub", "h - x"},
    {"mul", "h * x"},
    {"div", "h / (x * x + 1)"},
    {"neg", "-h"},
    {"scalar_ops", "h * 2 + 1 - 0.5 / (h * h + 1)"},
    {"exp", "exp(h)"},
    {"log", "log(h * h + 1)"},
    {"sqrt", "sqrt(h * h + 1)"},
    {"rsqrt", "rsqrt(h * h + 1)"},
    {"tanh", "tanh(h)"},
    {"relu", "relu(h)"},
    {"gelu", "gelu(h)"},
    {"matmul", "h @ transpose(x)"},
    {"matmul_nn", "transpose(h) @ x"},
    {"softmax_last", "softmax(h)"},
    {"softmax_seq", "softmax(h, axis: 1)"},
    {"softmax_batch", "softmax(h, axis: 0)"},
    {"log_softmax", "log_softmax(h)"},
    {"transpose_inner", "transpose(h, 1, 2) * 3"},
    {"transpose_batch", "transpose(h, 0, 1) * 3"},
    {"reshape_rows", "reshape(h, [batch, 48]) * 2"},
    {"reshape_flat", "reshape(h, [-1]) * 2"},
    {"reshape_cols", "reshape(h, [-1, 4]) * 2"},
    {"sum_last", "sum(h)"},
    {"sum_seq", "sum(h, axis: 1)"},
    {"sum_batch", "sum(h, axis: 0)"},
    {"mean_keepdim", "h - mean(h, keepdim: true)"},
    {"max_last", "max(h, axis: 2)"},
    {"max_batch", "max(h, axis: 0, keepdim: true) + h"},
    {"broadcast", "broadcast(sum(h, axis: 1, keepdim: true), [batch, 6, 8]) * h"},
    {"broadcast_batch", "broadcast(sum(h, axis: 0, keepdim: true), [batch, 6, 8]) * h"},
    {"where_compare", "where(h > x, h, x) + where(h <= 0, 0.5 * h, h) + where(h == x, 1, 0)"},
    {"where_lt_ge_ne", "where(h < 0.1, h * h, h) + where(h >= x, 1, h) + where(h != h, 0, h)"},
    {"causal_mask", "softmax(where(causal_mask(6), -1e9, h @ transpose(h)))"},
    {"layer_norm", "layer_norm(h)"},
    {"dropout", "dropout(h, p: 0.3)"},
    {"feed_forward_relu", "feed_forward(h, hidden: 16)"},
    {"feed_forward_gelu", "feed_forward(h, hidden: 16, act: gelu)"},
    {"attention", "attention(h, heads: 2, causal: true)"},
    {"cross_attention", "attention(h, x, heads: 2, key_padding: ids == 0)"},
    {"sdpa_self_plain_odd", "attention(h, heads: 2)", nullptr, kOdd},
    {"sdpa_self_causal_odd", "attention(h, heads: 2, causal: true)", nullptr, kOdd},
    {"sdpa_self_padding_causal_odd", "attention(h, heads: 2, causal: true, key_padding: ids == 0)", nullptr, kOdd},
    {"sdpa_one_head", "attention(h, heads: 1, key_padding: ids == 0)", nullptr, kOdd},
    {"sdpa_cross_long_keys_padding", "attention(h, linear(m, out: 8), heads: 2, key_padding: kid == 0)", nullptr, kLongKeys},
    {"sdpa_cross_long_keys_causal", "attention(h, linear(m, out: 8), heads: 2, causal: true)", nullptr, kLongKeys},
    {"sdpa_one_query_causal_padding", "attention(h, linear(m, out: 8), heads: 1, causal: true, key_padding: kid == 0)",
     nullptr, kOneQuery},
    {"sdpa_short_keys_causal_padding", "attention(h, linear(m, out: 8), heads: 2, causal: true, key_padding: kid == 0)",
     nullptr, kShortKeys},
    {"embedding", "embedding(ids, vocab: 8, dim: 8) + h"},
    {"positional", "positional_encoding(6, 8) + h"},
    {"learned_positional", "positional_encoding(6, 8, kind: learned) + h"},
    {"gather", "gather(reshape(h, [-1, 8]), ids)"},
    {"linear_nobias", "linear(h, out: 5, bias: false)"},
    {"cross_entropy", "h * x", "cross_entropy(y, ids, smoothing: 0.1, ignore: 0)"},
};

std::string modelSource(const OpCase &c) {
  std::string s = std::string("model op_") + c.name + "\n" +
                  (c.inputs ? c.inputs : "input x : f32[batch, 6, 8]\ninput ids : i32[batch, 6]\n") +
                  "h = linear(x, out: 8)\n"
                  "y = " + c.expr + "\n";
  if (c.loss) {
    s += std::string("loss = ") + c.loss + "\n";
  } else {
    s += "flat = reshape(y, [-1])\n"
         "loss = mean(flat * flat) + mean(reshape(h, [-1]))\n";
  }
  return s + "output y\nminimize loss\n";
}

class OpParity : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(OpParity, ForwardAndGradientsMatch) {
  const OpCase &c = kCases[std::get<0>(GetParam())];
  const bool splitAll = std::get<1>(GetParam());
  std::string path = ::testing::TempDir() + "/op_" + c.name + (splitAll ? "_split" : "") + ".heed";
  {
    std::ofstream f(path);
    f << modelSource(c);
  }
  auto built = parity::buildBoth(path, 4, splitAll);
  std::unique_ptr<rt::Program> &ref = built.first, &cmp = built.second;
  ASSERT_TRUE(ref && cmp) << modelSource(c);

  rt::ParamStore pr = rt::createParams(*ref, 7, ".");
  rt::ParamStore pc = rt::createParams(*cmp, 7, ".");
  std::map<std::string, rt::Tensor> inputs;
  uint64_t stream = 1;
  for (const rt::TensorSpec &s : ref->entry("train_step")->inputs) {
    rt::TensorSpec spec = s;
    if (spec.dtype == rt::DType::I32) spec.idLimit = 8;
    inputs[s.name] = parity::randomInput(spec, stream++);
  }
  auto bind = [&](const char *entry) {
    std::vector<rt::Tensor> in;
    for (const rt::TensorSpec &s : ref->entry(entry)->inputs) in.push_back(inputs.at(s.name));
    return in;
  };

  rt::RunContext cr, cc;
  cr.params = &pr;
  cc.params = &pc;
  auto a = ref->run("forward", bind("forward"), cr);
  auto b = cmp->run("forward", bind("forward"), cc);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_LT(parity::normwiseError(b[i], a[i]), 1e-5) << "forward output " << i;

  std::string worstName;
  double worst = parity::worstGradientError(*ref, pr, bind("train_step"), *cmp, pc,
                                            bind("train_step"), /*training=*/true, worstName);
  EXPECT_LT(worst, 1e-5) << "worst gradient: " << worstName;
}

INSTANTIATE_TEST_SUITE_P(Ops, OpParity,
                         ::testing::Combine(::testing::Range(0, (int)std::size(kCases)), ::testing::Bool()),
                         [](const auto &info) {
                           return std::string(kCases[std::get<0>(info.param)].name) +
                                  (std::get<1>(info.param) ? "_split" : "");
                         });

}  // namespace
}  // namespace heed

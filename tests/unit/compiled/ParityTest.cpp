//===- ParityTest.cpp - compiled backend == reference interpreter ---------===//
//
// For every example model: the same parameters and inputs through both
// backends give the same forward outputs (normwise relative error <= 1e-5) and
// the same first 20 training losses (relative 1e-4), dropout masks included.
//
//===----------------------------------------------------------------------===//

#include "compiler/compiled/CompiledProgram.h"
#include "compiler/interp/InterpretedProgram.h"
#include "runtime/Random.h"
#include "runtime/train/Optimizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace heed {
namespace {

rt::Tensor randomInput(const rt::TensorSpec &spec, uint64_t stream) {
  rt::Tensor t(spec.dtype, spec.shape);
  for (int64_t i = 0; i < t.size(); ++i) {
    float u = rt::uniform01(3, stream, i);
    if (spec.dtype == rt::DType::F32) t.f32()[i] = rt::normal(3, stream, i);
    else if (spec.dtype == rt::DType::I32) t.i32()[i] = (int32_t)(u * (spec.idLimit > 0 ? spec.idLimit : 2));
    else if (spec.dtype == rt::DType::Bool) t.b8()[i] = u < 0.3f;
  }
  return t;
}

double normwiseError(const rt::Tensor &a, const rt::Tensor &b) {
  double d = 0, n = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    double x = a.dtype() == rt::DType::F32 ? a.f32()[i] : (double)a.b8()[i];
    double y = b.dtype() == rt::DType::F32 ? b.f32()[i] : (double)b.b8()[i];
    d += (x - y) * (x - y);
    n += y * y;
  }
  return std::sqrt(d) / std::max(std::sqrt(n), 1e-30);
}

double sumSquares(const rt::Tensor &t) {
  double s = 0;
  for (int64_t i = 0; i < t.size(); ++i) s += (double)t.f32()[i] * t.f32()[i];
  return s;
}

class Parity : public ::testing::TestWithParam<std::string> {};

TEST_P(Parity, ForwardAndTrainingLossesMatch) {
  std::string path = std::string(HEED_EXAMPLES_DIR) + "/" + GetParam() + ".heed";
  ImportOptions opts;
  opts.batch = 2;
  auto ref = buildReferenceProgram(path, opts);
  auto cmp = buildCompiledProgram(path, opts);
  ASSERT_TRUE(ref && cmp);

  rt::ParamStore pr = rt::createParams(*ref, 5, HEED_EXAMPLES_DIR);
  rt::ParamStore pc = rt::createParams(*cmp, 5, HEED_EXAMPLES_DIR);
  std::map<std::string, rt::Tensor> inputs;
  uint64_t stream = 1;
  for (const char *e : {"train_step", "forward", "encode", "decode"})
    if (const rt::EntrySpec *spec = ref->entry(e))
      for (const rt::TensorSpec &s : spec->inputs)
        if (!inputs.count(s.name)) inputs[s.name] = randomInput(s, stream++);
  auto bind = [&](rt::Program &p, const std::string &entry) {
    std::vector<rt::Tensor> in;
    for (const rt::TensorSpec &s : p.entry(entry)->inputs) in.push_back(inputs.at(s.name));
    return in;
  };

  // Forward outputs.
  for (const char *entry : {"forward", "encode", "decode"}) {
    if (!ref->entry(entry)) continue;
    rt::RunContext cr, cc;
    cr.params = &pr;
    cc.params = &pc;
    auto a = ref->run(entry, bind(*ref, entry), cr);
    auto b = cmp->run(entry, bind(*cmp, entry), cc);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_LT(normwiseError(b[i], a[i]), 1e-5) << entry << " output " << i;
  }

  // Gradients of one training step (dropout on): every parameter's gradient agrees.
  {
    std::map<std::string, rt::Tensor> g[2];
    int k = 0;
    for (auto [prog, store] : {std::pair{ref.get(), &pr}, std::pair{cmp.get(), &pc}}) {
      rt::RunContext ctx;
      ctx.params = store;
      ctx.step = 1;
      ctx.training = true;
      auto &sink = g[k++];
      ctx.applyGradients = [&sink](std::vector<std::pair<std::string, rt::Tensor>> &grads) {
        for (auto &[n, t] : grads) sink[n] = t;
      };
      prog->run("train_step", bind(*prog, "train_step"), ctx);
    }
    ASSERT_EQ(g[0].size(), g[1].size());
    // Per parameter, relative to its own norm but never to less than 1% of the largest
    // gradient norm: a key bias's gradient is zero up to rounding in both backends.
    double largest = 0;
    for (auto &[name, t] : g[0]) largest = std::max(largest, std::sqrt(sumSquares(t)));
    double worst = 0;
    std::string worstName;
    for (auto &[name, t] : g[0]) {
      const rt::Tensor &c = g[1].at(name);
      double d = 0;
      for (int64_t i = 0; i < t.size(); ++i) d += (c.f32()[i] - t.f32()[i]) * (double)(c.f32()[i] - t.f32()[i]);
      double e = std::sqrt(d) / std::max(std::sqrt(sumSquares(t)), 1e-2 * largest);
      if (e > worst) worst = e, worstName = name;
    }
    EXPECT_LT(worst, 1e-5) << "worst gradient: " << worstName;
    std::printf("%s: worst gradient error %.3g (%s)\n", GetParam().c_str(), worst, worstName.c_str());
  }

  // Twenty training steps with dropout and Adam: the losses stay together. Adam
  // normalizes each gradient element, so an element whose gradient is rounding
  // noise moves by +-lr in a direction the noise picks; at a large lr those
  // moves (identical in exact arithmetic) make any two float implementations
  // drift apart. 1e-4 is an ordinary early-training learning rate.
  const float kLr = 1e-4f;
  rt::OptimizerConfig oc;
  for (int64_t step = 1; step <= 20; ++step) {
    float losses[2];
    int k = 0;
    for (auto [prog, store] : {std::pair{ref.get(), &pr}, std::pair{cmp.get(), &pc}}) {
      rt::RunContext ctx;
      ctx.params = store;
      ctx.step = step;
      ctx.training = true;
      ctx.applyGradients = [&, store = store](std::vector<std::pair<std::string, rt::Tensor>> &g) {
        rt::applyUpdate(*store, g, oc, kLr, step);
      };
      losses[k++] = prog->run("train_step", bind(*prog, "train_step"), ctx)[0].f32()[0];
    }
    EXPECT_NEAR(losses[1], losses[0], 1e-4 * std::fabs(losses[0])) << "step " << step;
  }
}

INSTANTIATE_TEST_SUITE_P(Examples, Parity,
                         ::testing::Values("tiny_lm", "self_attention", "causal_self_attention",
                                           "translate"));

}  // namespace
}  // namespace heed

//===- NanReplayTest.cpp - a non-finite step located at its op -------------===//
//
// rt::Trainer on tiny models that produce a NaN at a known op: the step is
// replayed with a check after every op (a compiled run on the compiled backend
// with fusion off first, then on the reference interpreter; a reference run on
// the interpreter), and the error names the op's model line and column with a
// caret, forward or backward, its inputs' ranges and the mode that found it; on
// both backends, whole and in micro-batches. A NaN the replay does not see is
// reported as not reproduced. A diverged step (a finite loss above the
// divergence rule) is replayed with per-op root mean squares, and the error
// names the op where the values blow up and the parameter with the largest
// update-to-weight ratio.
//
//===----------------------------------------------------------------------===//

#include "compiler/session/ModelProgramFactory.h"
#include "runtime/Error.h"
#include "runtime/train/Trainer.h"
#include "tests/unit/runtime/TempDir.h"

#include <gtest/gtest.h>

#include <cmath>

#ifndef HEED_SOURCE_DIR
#error "HEED_SOURCE_DIR must be defined"
#endif

namespace heed::rt {
namespace {

using test::expectErrorContaining;
using test::TempDir;

const std::string kSrc = HEED_SOURCE_DIR;

/// A byte-level LM whose line 6 is `line6`.
std::string model(const std::string &line6) {
  return "model nan_at_a_line\n"
         "config { vocab = 256  d_model = 8  seq = 8 }\n"
         "input tokens  : i32[batch, seq]\n"
         "input targets : i32[batch, seq]\n"
         "h = embedding(tokens, vocab: vocab, dim: d_model)\n" +
         line6 + "\n" +
         "logits = linear(r, out: vocab)\n"
         "loss = cross_entropy(logits, targets)\n"
         "output logits\n"
         "minimize loss\n";
}

TrainRequest run(const TempDir &t, const std::string &source, const std::string &micro = "1") {
  test::writeBytes(t.file("m.heed"), source);
  TrainRequest r;
  r.model = t.file("m.heed");
  r.settings = {{"data", kSrc + "/tests/lit/cli/Inputs/moby_train.txt"},
                {"batch", "2"},
                {"steps", "3"},
                {"warmup", "1"},
                {"micro_batches", micro},
                {"out", t.file("run")}};
  return r;
}

class NanReplay : public ::testing::TestWithParam<const char *> {
protected:
  /// The mode that reproduces a NaN of this backend's run: the first it tries.
  const char *foundBy() const {
    return std::string(GetParam()) == "compiled"
               ? "note: found by replaying step 1 on the compiled backend with fusion off (every op its own kernel "
                 "or library call), a finiteness check after every op"
               : "note: found by replaying step 1 on the reference interpreter, a finiteness check after every op";
  }
};

TEST_P(NanReplay, ForwardNaNIsLocatedAtItsOp) {
  TempDir t;
  ModelProgramFactory factory(GetParam());
  Trainer tr(factory, run(t, model("r = sqrt(h)")));
  tr.prepare();
  expectErrorContaining([&] { tr.run(); },
                        {"loss is not finite at step 1; no checkpoint was written yet\n",
                         "m.heed:6:5: error: sqrt produced NaN in the forward of step 1 (",
                         "\nr = sqrt(h)\n    ^\n", "note: sqrt's input 1 of 1: f32[2, 8, 8] in [-",
                         "], finite\n",
                         foundBy()});
}

TEST_P(NanReplay, BackwardInfIsLocatedAtTheForwardOpWhoseGradientMadeIt) {
  TempDir t;
  ModelProgramFactory factory(GetParam());
  // sqrt(0) is finite, its gradient 0.5 / sqrt(0) is not; h - h turns that into NaN for h.
  Trainer tr(factory, run(t, model("r = h + sqrt(h - h)")));
  tr.prepare();
  expectErrorContaining([&] { tr.run(); },
                        {"gradient norm is not finite at step 1; ", "m.heed:6:9: error: sqrt produced ",
                         " in the backward of step 1 (", ", in its gradient's div)",
                         "\nr = h + sqrt(h - h)\n        ^\n", "note: div's input 2 of 2: f32[2, 8, 8] in [0, 0], finite",
                         foundBy()});
}

INSTANTIATE_TEST_SUITE_P(Backends, NanReplay, ::testing::Values("reference", "compiled"));

TEST(NanReplaySlices, MicroBatchesReplayEachSlice) {
  TempDir t;
  ModelProgramFactory factory("reference");
  Trainer tr(factory, run(t, model("r = sqrt(h)"), "2"));
  tr.prepare();
  expectErrorContaining([&] { tr.run(); },
                        {"m.heed:6:5: error: sqrt produced NaN in the forward of step 1",
                         "f32[1, 8, 8]", "(slice 1 of 2 of the batch)"});
}

/// The tools' factory, whose programs put a NaN into the first gradient: a
/// non-finite step that a replay of the model itself cannot reproduce.
class PoisonedGradients : public ProgramFactory {
public:
  ModelProgramFactory inner{"reference"};
  struct Poisoned : Program {
    std::unique_ptr<Program> p;
    const ModelInfo &info() const override { return p->info(); }
    const std::vector<ParamSpec> &params() const override { return p->params(); }
    const EntrySpec *entry(const std::string &name) const override { return p->entry(name); }
    std::vector<Tensor> run(const std::string &entry, const std::vector<Tensor> &inputs, RunContext &ctx) override {
      auto apply = ctx.applyGradients;
      RunContext c = ctx;
      c.applyGradients = [&](std::vector<std::pair<std::string, Tensor>> &g) {
        g.at(0).second = g.at(0).second.clone();
        g.at(0).second.f32()[0] = NAN;
        apply(g);
      };
      return p->run(entry, inputs, entry == "train_step" ? c : ctx);
    }
  };
  std::unique_ptr<Program> build(const std::string &model, const std::map<std::string, std::string> &overrides,
                                 std::optional<int64_t> batch, BuildPurpose purpose,
                                 std::optional<Precision> precision, const std::vector<std::string> &entries) override {
    auto p = std::make_unique<Poisoned>();
    p->p = inner.build(model, overrides, batch, purpose, precision, entries);
    return p;
  }
  std::string describe(const std::string &model) const override { return "a poisoned backend"; }
  std::vector<std::unique_ptr<CheckedStep>> buildChecked(const std::string &model,
                                            const std::map<std::string, std::string> &overrides,
                                            int64_t batch, std::optional<Precision> precision) override {
    return inner.buildChecked(model, overrides, batch, precision);
  }
};

TEST(NanReplayNotReproduced, SaysSo) {
  TempDir t;
  PoisonedGradients factory;
  Trainer tr(factory, run(t, model("r = h")));
  tr.prepare();
  expectErrorContaining([&] { tr.run(); },
                        {"gradient norm is not finite at step 1; ",
                         "note: the replay of step 1 (on the reference interpreter, a finiteness check after every "
                         "op) did not reproduce it: every op's result was finite (the step ran on a poisoned backend)"});
}

/// The tools' factory, whose checked modes come after one that never finds
/// anything: the replay goes on to the next mode and names the one that found it.
class BlindFirstMode : public ModelProgramFactory {
public:
  BlindFirstMode() : ModelProgramFactory("reference") {}
  struct Blind : CheckedStep {
    std::string describe() const override { return "a blind mode"; }
    std::optional<std::string> run(const std::vector<Tensor> &, RunContext &) override { return std::nullopt; }
    std::optional<Growth> largestGrowth(const std::vector<Tensor> &, RunContext &) override { return std::nullopt; }
  };
  std::vector<std::unique_ptr<CheckedStep>> buildChecked(const std::string &model,
                                                         const std::map<std::string, std::string> &overrides,
                                                         int64_t batch, std::optional<Precision> precision) override {
    std::vector<std::unique_ptr<CheckedStep>> modes;
    modes.push_back(std::make_unique<Blind>());
    for (auto &m : ModelProgramFactory::buildChecked(model, overrides, batch, precision)) modes.push_back(std::move(m));
    return modes;
  }
};

TEST(NanReplayModes, TheNextModeLocatesWhatTheFirstDidNotSee) {
  TempDir t;
  BlindFirstMode factory;
  Trainer tr(factory, run(t, model("r = sqrt(h)")));
  tr.prepare();
  expectErrorContaining([&] { tr.run(); },
                        {"m.heed:6:5: error: sqrt produced NaN in the forward of step 1",
                         "note: found by replaying step 1 on the reference interpreter, a finiteness check after "
                         "every op"});
}

TEST(NanReplayModes, NeitherModeReproducingItSaysWhichRan) {
  TempDir t;
  ModelProgramFactory compiled("compiled");
  struct Both : PoisonedGradients {
    ModelProgramFactory *c;
    std::vector<std::unique_ptr<CheckedStep>> buildChecked(const std::string &model,
                                                           const std::map<std::string, std::string> &overrides,
                                                           int64_t batch, std::optional<Precision> precision) override {
      return c->buildChecked(model, overrides, batch, precision);
    }
  } both;
  both.c = &compiled;
  Trainer tr(both, run(t, model("r = h")));
  tr.prepare();
  expectErrorContaining([&] { tr.run(); },
                        {"note: the replay of step 1 (on the compiled backend with fusion off (every op its own kernel "
                         "or library call), a finiteness check after every op, then on the reference interpreter, a "
                         "finiteness check after every op) did not reproduce it: every op's result was finite"});
}

/// A diverged step is located at the op where its values blow up.
class DivergenceReplay : public ::testing::TestWithParam<const char *> {};

TEST_P(DivergenceReplay, NamesTheOpThatScalesTheValuesUp) {
  TempDir t;
  ModelProgramFactory factory(GetParam());
  // A loss far above 2 ln 256 from the start: the rule fires at step 2 (warm-up 1);
  // the literal is a constant, so the growth is the product's over h's.
  Trainer tr(factory, run(t, model("r = h * 1000000")));
  tr.prepare();
  expectErrorContaining([&] { tr.run(); },
                        {"training diverged at step 2: loss ", "no checkpoint was written yet\n",
                         "m.heed:6:7: error: mul is where the values blow up in the forward of step 2: its result's "
                         "RMS is 1e+06 times its largest input's (",
                         "), the largest ratio of any op the loss depends on\nr = h * 1000000\n      ^\n",
                         "note: mul's input 1 of 2: f32[2, 8, 8] in [", "note: mul's result: f32[2, 8, 8] in [",
                         "note: found by replaying step 2 on ", " (per-op root mean squares)\n",
                         "note: the parameter with the largest update-to-weight ratio is '",
                         "': the step's update has RMS "});
}

TEST_P(DivergenceReplay, ARealLearningRateBlowUpIsLocatedInTheModelFile) {
  TempDir t;
  ModelProgramFactory factory(GetParam());
  TrainRequest r = run(t, "");
  r.model = kSrc + "/examples/tiny_lm.heed";
  r.overrides = {{"d_model", "32"}, {"layers", "1"}, {"heads", "2"}, {"seq", "32"}, {"d_ff", "64"}};
  r.settings["batch"] = "4";
  r.settings["lr"] = "1e3";
  r.settings["warmup"] = "2";
  r.settings["steps"] = "20";
  Trainer tr(factory, r);
  tr.prepare();
  try {
    tr.run();
    FAIL() << "lr 1e3 did not diverge";
  } catch (const Error &e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("training diverged at step 3: loss "), std::string::npos) << m;
    // file:line:col, the line and a caret, in the model file: the attention's
    // scores (its second result, the softmax's log-sum-exp) grow as the square
    // of the queries' and keys' scale, which a thousandfold lr blew up.
    const size_t at = m.find("tiny_lm.heed:18:7: error: attention is where the values blow up in the forward of "
                             "step 3: its result 2's RMS is ");
    ASSERT_NE(at, std::string::npos) << m;
    EXPECT_NE(m.find("\n  a = attention(layer_norm(x), heads: heads, causal: true)\n      ^\n", at), std::string::npos)
        << m;
    EXPECT_NE(m.find("^\nnote: ", at), std::string::npos) << m;
    EXPECT_NE(m.find("note: the parameter with the largest update-to-weight ratio is '", at), std::string::npos) << m;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, DivergenceReplay, ::testing::Values("reference", "compiled"));

}  // namespace
}  // namespace heed::rt

//===- TrainerTest.cpp - the training job through its library API ---------===//
//
// rt::Trainer driven directly (no CLI) on a small tiny_lm and the bundled
// Moby-Dick excerpt: steps and metrics rows, checkpoint rotation, a resumed run
// equal to an uninterrupted one bit for bit, the run-directory lock, what
// --resume refuses (averaged or non-finite checkpoints), and which optimizer
// loops each backend reports.
//
//===----------------------------------------------------------------------===//

#include "compiler/session/ModelProgramFactory.h"
#include "runtime/Checkpoint.h"
#include "runtime/Error.h"
#include "runtime/train/CheckpointAverage.h"
#include "runtime/train/Evaluator.h"
#include "runtime/train/Trainer.h"
#include "runtime/text/Tokenizer.h"
#include "tests/unit/runtime/TempDir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>

#ifndef HEED_SOURCE_DIR
#error "HEED_SOURCE_DIR must be defined"
#endif

namespace heed::rt {
namespace {

using test::expectErrorContaining;
using test::readBytes;
using test::TempDir;

const std::string kSrc = HEED_SOURCE_DIR;

TrainRequest tinyRun(const std::string &out, int64_t steps) {
  TrainRequest r;
  r.model = kSrc + "/examples/tiny_lm.heed";
  r.overrides = {{"d_model", "16"}, {"layers", "1"}, {"heads", "2"}, {"seq", "16"}, {"d_ff", "32"}};
  r.settings = {{"data", kSrc + "/tests/lit/cli/Inputs/moby_train.txt"},
                {"valid", kSrc + "/tests/lit/cli/Inputs/moby_valid.txt"},
                {"batch", "2"},
                {"warmup", "2"},
                {"steps", std::to_string(steps)},
                {"log_every", "1"},
                {"eval_every", "3"},
                {"eval_batches", "2"},
                {"checkpoint_every", "1"},
                {"keep_checkpoints", "2"},
                {"out", out}};
  return r;
}

struct Recorder : TrainObserver {
  std::vector<int64_t> steps, validSteps;
  void validated(int64_t step, const ValidResult &r, bool) override {
    EXPECT_TRUE(r.loss && std::isfinite(*r.loss));
    validSteps.push_back(step);
  }
  void stepDone(const StepStats &st) override { steps.push_back(st.step); }
};

int64_t lines(const std::string &text) { return std::count(text.begin(), text.end(), '\n'); }

TEST(Trainer, TrainsStepsWritesMetricsAndRotatesCheckpoints) {
  TempDir t;
  ModelProgramFactory factory("reference");
  Recorder rec;
  Trainer trainer(factory, tinyRun(t.file("run"), 5), &rec);
  trainer.prepare();
  EXPECT_EQ(trainer.config().steps, 5);
  EXPECT_EQ(trainer.config().batch, 2);
  EXPECT_EQ(std::string(trainer.task().name()), "lm");
  TrainSummary s = trainer.run();
  EXPECT_EQ(s.stop, TrainSummary::Stop::Finished);
  EXPECT_EQ(s.step, 5);
  EXPECT_TRUE(std::isfinite(s.lastLoss));
  EXPECT_EQ(s.tokens, 5 * 2 * 16);
  EXPECT_EQ(rec.steps, (std::vector<int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(rec.validSteps, (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(checkpointSteps(t.file("run")), (std::vector<int64_t>{4, 5}));  // keep_checkpoints 2
  EXPECT_EQ(s.lastCheckpoint, t.file("run") + "/ckpt-5.safetensors");
  std::string metrics = readBytes(t.file("run/metrics.jsonl"));
  EXPECT_EQ(lines(metrics), 5);
  EXPECT_NE(metrics.find("{\"step\":5,\"loss\":"), std::string::npos);
  EXPECT_NE(metrics.find("\"valid_loss\":"), std::string::npos);
  RunCheckpoint rc = readRunCheckpoint(t.file("run"));
  EXPECT_EQ(rc.metaInt("heed.step", 0), 5);
  EXPECT_TRUE(rc.ckpt.tensors.count("adam_m/" + trainer.params().begin()->name));
}

TEST(Trainer, StopRequestCheckpointsAndResumeEqualsAnUninterruptedRun) {
  TempDir t;
  ModelProgramFactory factory("reference");
  {
    Trainer whole(factory, tinyRun(t.file("whole"), 6));
    whole.prepare();
    whole.run();
  }
  {
    Trainer first(factory, tinyRun(t.file("split"), 6));
    first.prepare();
    int calls = 0;
    TrainSummary s = first.run([&] { return ++calls == 2; });  // "Ctrl-C" after step 2
    EXPECT_EQ(s.stop, TrainSummary::Stop::Interrupted);
    EXPECT_EQ(s.step, 2);
  }
  TrainRequest again = tinyRun(t.file("split"), 6);
  again.resume = true;
  again.settings.erase("batch");  // the resumed run's own
  again.settings.erase("warmup");
  Trainer resumed(factory, again);
  resumed.prepare();
  EXPECT_EQ(resumed.startStep(), 2);
  EXPECT_EQ(resumed.config().batch, 2);
  EXPECT_EQ(resumed.config().warmup, 2);
  TrainSummary s = resumed.run();
  EXPECT_EQ(s.step, 6);
  EXPECT_EQ(readBytes(t.file("whole/ckpt-6.safetensors")), readBytes(t.file("split/ckpt-6.safetensors")));
  std::string a = readBytes(t.file("whole/metrics.jsonl")), b = readBytes(t.file("split/metrics.jsonl"));
  // Rows equal apart from the timing fields.
  auto strip = [](std::string s) {
    std::string out;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);) out += line.substr(0, line.find(",\"lr\"")) + "\n";
    return out;
  };
  EXPECT_EQ(lines(b), 6);
  EXPECT_EQ(strip(a), strip(b));
}

TEST(Trainer, SecondTrainerOnTheSameDirectoryIsRefused) {
  TempDir t;
  ModelProgramFactory factory("reference");
  Trainer first(factory, tinyRun(t.file("run"), 2));
  first.prepare();
  Trainer second(factory, tinyRun(t.file("run"), 2));
  expectErrorContaining([&] { second.prepare(); },
                        {"run directory", "is in use by process", std::to_string((long)::getpid()).c_str()});
}

TEST(Trainer, ResumeRefusesAveragedAndNonFiniteCheckpoints) {
  TempDir t;
  ModelProgramFactory factory("reference");
  {
    Trainer tr(factory, tinyRun(t.file("run"), 3));
    tr.prepare();
    tr.run();
  }
  TrainRequest resume = tinyRun(t.file("run"), 5);
  resume.resume = true;

  // A NaN in the latest checkpoint's parameters: not a good checkpoint.
  const std::string latest = t.file("run/ckpt-3.safetensors");
  const std::string saved = readBytes(latest);
  {
    Checkpoint c = loadCheckpoint(latest);
    std::vector<std::pair<std::string, const Tensor *>> list;
    for (const std::string &n : c.order) list.emplace_back(n, &c.tensors.at(n));
    Tensor &first = c.tensors.at(c.order.front());
    std::fill(first.f32(), first.f32() + first.size(), NAN);
    saveCheckpoint(latest, list, c.metadata);
  }
  {
    Trainer tr(factory, resume);
    expectErrorContaining([&] { tr.prepare(); },
                          {"is not a good checkpoint", "not finite", "the newest finite one is ckpt-2.safetensors"});
  }
  expectErrorContaining(
      [&] {
        evaluateLmCheckpoint(factory, readRunCheckpoint(latest), kSrc + "/tests/lit/cli/Inputs/moby_valid.txt", 0, 0);
      },
      {"the loss is not finite on", "holds non-finite values in 'param/"});
  test::writeBytes(latest, saved);

  // An average of the run's checkpoints, written into the run directory as its latest.
  AverageRequest avg;
  avg.inputs = {t.file("run/ckpt-2.safetensors"), latest};
  avg.out = t.file("avgrun");
  AverageResult r = averageCheckpoints(avg);
  Checkpoint a = loadCheckpoint(r.target);
  for (const auto &[name, tensor] : a.tensors) EXPECT_EQ(name.rfind("param/", 0), 0u) << name << " kept";
  EXPECT_EQ(a.metadata.at("heed.averaged"), "ckpt-2.safetensors,ckpt-3.safetensors");
  resume.settings["out"] = t.file("avgrun");
  Trainer tr(factory, resume);
  expectErrorContaining([&] { tr.prepare(); }, {"was written by heed average", "cannot be resumed"});
}

TEST(Trainer, AverageRefusesItsOwnInputsAsOutput) {
  TempDir t;
  ModelProgramFactory factory("reference");
  {
    Trainer tr(factory, tinyRun(t.file("run"), 2));
    tr.prepare();
    tr.run();
  }
  const std::string a = t.file("run/ckpt-1.safetensors"), b = t.file("run/ckpt-2.safetensors");
  const std::string before = readBytes(b);
  expectErrorContaining([&] { averageCheckpoints({{a, b}, 5, b}); }, {"is one of the inputs"});
  expectErrorContaining([&] { averageCheckpoints({{t.file("run")}, 5, t.file("run")}); }, {"is one of the inputs"});
  expectErrorContaining([&] { averageCheckpoints({{a, a}, 5, t.file("x.safetensors")}); }, {"is given twice"});
  EXPECT_EQ(readBytes(b), before);
  // Into a run directory that a run holds: the lock refuses it.
  RunDirectory held(t.file("busy"));
  expectErrorContaining([&] { averageCheckpoints({{a, b}, 5, t.file("busy")}); }, {"is in use by process"});
}

TEST(Trainer, CheckpointsEvaluateAndSampleThroughTheLibrary) {
  TempDir t;
  ModelProgramFactory factory("reference");
  {
    Trainer tr(factory, tinyRun(t.file("run"), 3));
    tr.prepare();
    tr.run();
  }
  RunCheckpoint rc = readRunCheckpoint(t.file("run"));
  LmEvalResult ev = evaluateLmCheckpoint(factory, rc, kSrc + "/tests/lit/cli/Inputs/moby_valid.txt", 0, 0).r;
  EXPECT_GT(ev.tokens, 0);
  EXPECT_TRUE(ev.loss > 0 && ev.loss < 10) << ev.loss;
  std::unique_ptr<Program> p = buildFromCheckpoint(factory, rc, 1);
  LmLayout layout = lmLayout(*p, "test");
  ParamStore params = loadParams(*p, rc);
  auto sample = [&](double temperature, int64_t topK, uint64_t seed) {
    SampleOptions o;
    o.maxTokens = 12;
    o.temperature = temperature;
    o.topK = topK;
    o.seed = seed;
    std::string text;
    sampleTokens(*p, layout, params, *makeByteTokenizer(), "Call me", o, [&](std::string_view s) { text += s; });
    return text;
  };
  std::string greedy = sample(0, 0, 1);
  EXPECT_EQ(greedy.size(), 7u + 12u);
  EXPECT_EQ(greedy.rfind("Call me", 0), 0u);
  EXPECT_EQ(sample(0.8, 1, 5), greedy);  // top-1 sampling is greedy
  EXPECT_EQ(sample(2.0, 0, 9), sample(2.0, 0, 9));  // a seed reproduces its text
  EXPECT_NE(sample(50.0, 0, 9), sample(50.0, 0, 10));  // near-uniform draws differ by seed
}

/// A BPE tokenizer trained when the run starts travels in every checkpoint: eval
/// restores the same pieces, an average keeps it, a resume keeps it (and refuses
/// another), and a model whose vocabulary is too small is rejected up front.
TEST(Trainer, TokenizerTravelsWithTheCheckpoint) {
  TempDir t;
  ModelProgramFactory factory("reference");
  const std::string text = kSrc + "/examples/data/moby-dick/moby_dick.valid.txt";
  TrainRequest req = tinyRun(t.file("run"), 3);
  req.overrides["vocab"] = "300";
  req.settings["tokenizer"] = "bpe:300";
  req.settings["data"] = text;
  {
    Trainer tr(factory, req);
    tr.prepare();
    tr.run();
  }
  const std::string pieces = makeTokenizer("bpe:300", "test", text)->identity();
  RunCheckpoint rc = readRunCheckpoint(t.file("run"));
  EXPECT_EQ(rc.meta("heed.tokenizer"), "sentencepiece");
  EXPECT_EQ(checkpointTokenizer(rc)->identity(), pieces);
  LmCheckpointEval ev = evaluateLmCheckpoint(factory, rc, kSrc + "/tests/lit/cli/Inputs/moby_valid.txt", 0, 0);
  EXPECT_TRUE(ev.r.complete);
  EXPECT_EQ(ev.words, countWords(readBytes(kSrc + "/tests/lit/cli/Inputs/moby_valid.txt")));
  EXPECT_NEAR(ev.pplWord(), std::exp(ev.r.nll / (double)ev.words), 1e-9);
  EXPECT_TRUE(ev.r.loss > 0 && ev.r.loss < 10) << ev.r.loss;

  AverageRequest avg;
  avg.inputs = {t.file("run")};
  avg.last = 2;
  avg.out = t.file("avg.safetensors");
  averageCheckpoints(avg);
  EXPECT_EQ(checkpointTokenizer(readRunCheckpoint(t.file("avg.safetensors")))->identity(), pieces);

  TrainRequest more = req;
  more.resume = true;
  more.settings["steps"] = "4";
  more.settings.erase("tokenizer");
  {
    Trainer tr(factory, more);
    tr.prepare();
    tr.run();
  }
  EXPECT_EQ(checkpointTokenizer(readRunCheckpoint(t.file("run")))->identity(), pieces);
  more.settings["tokenizer"] = "unigram:300";
  more.settings["steps"] = "5";
  {
    Trainer tr(factory, more);
    expectErrorContaining([&] { tr.prepare(); }, {"--resume", "bpe:300", "unigram:300"});
  }

  TrainRequest small = req;
  small.overrides["vocab"] = "256";
  small.settings["out"] = t.file("small");
  Trainer tr(factory, small);
  expectErrorContaining([&] { tr.prepare(); }, {"a vocabulary of 256", "has 300 ids", "--set vocab=300", "--tokenizer"});
}

/// A time-budgeted run on a fake clock that ticks 1 s per reading: the trainer
/// reads it once at the start and twice per step (before and after), so step k
/// starts at 2k - 1 s into the run and ends at 2k s.
TrainRequest timedRun(const std::string &out) {
  TrainRequest r = tinyRun(out, 0);
  r.settings.erase("steps");  // a bound only; none by default
  r.settings["schedule"] = "cosine";
  r.settings["schedule_by"] = "time";
  r.settings["max_minutes"] = "0.2";  // 12 s
  r.settings["lr"] = "0.01";
  return r;
}

std::function<double()> fakeClock() {
  auto t = std::make_shared<double>(0);
  return [t] { return *t += 1.0; };
}

TEST(Trainer, TimeBudgetedScheduleAnnealsOverTheBudget) {
  TempDir t;
  ModelProgramFactory factory("reference");
  Trainer tr(factory, timedRun(t.file("run")));
  tr.setClock(fakeClock());
  tr.prepare();
  EXPECT_TRUE(tr.config().byTime);
  TrainSummary s = tr.run();
  EXPECT_EQ(s.stop, TrainSummary::Stop::MaxMinutes);
  EXPECT_EQ(s.step, 6);  // 2 s per step in a 12 s budget
  std::istringstream rows(readBytes(t.file("run/metrics.jsonl")));
  int64_t k = 0;
  for (std::string line; std::getline(rows, line);) {
    ++k;
    const double progress = (2.0 * (double)k - 1) / 12.0;
    size_t p = line.find("\"progress\":");
    ASSERT_NE(p, std::string::npos) << line;
    EXPECT_NEAR(std::stod(line.substr(p + 11)), progress, 1e-8) << line;
    size_t l = line.find("\"lr\":");
    EXPECT_NEAR(std::stod(line.substr(l + 5)), tr.schedule().lrAtProgress(k, progress), 1e-9) << line;
  }
  EXPECT_EQ(k, 6);
  RunCheckpoint rc = readRunCheckpoint(t.file("run"));
  EXPECT_EQ(rc.meta("heed.schedule_by"), "time");
  EXPECT_EQ(rc.meta("heed.elapsed_s"), "12");
  // The learning rate decays with the budget: near the floor (10% of peak) at its end.
  EXPECT_LT(tr.schedule().lrAtProgress(6, 11.0 / 12.0), 0.012 * 0.01 * 10);
}

TEST(Trainer, TimeBudgetedResumeContinuesTheSameSchedule) {
  TempDir t;
  ModelProgramFactory factory("reference");
  {
    Trainer whole(factory, timedRun(t.file("whole")));
    whole.setClock(fakeClock());
    whole.prepare();
    EXPECT_EQ(whole.run().step, 6);
  }
  {
    Trainer first(factory, timedRun(t.file("split")));
    first.setClock(fakeClock());
    first.prepare();
    int calls = 0;
    EXPECT_EQ(first.run([&] { return ++calls == 3; }).step, 3);
  }
  TrainRequest again;
  again.model = timedRun("").model;
  again.overrides = timedRun("").overrides;
  again.settings = {{"data", kSrc + "/tests/lit/cli/Inputs/moby_train.txt"},
                    {"valid", kSrc + "/tests/lit/cli/Inputs/moby_valid.txt"},
                    {"log_every", "1"}, {"eval_every", "3"}, {"eval_batches", "2"},
                    {"checkpoint_every", "1"}, {"keep_checkpoints", "2"}, {"out", t.file("split")}};
  again.resume = true;  // budget, schedule_by, lr, warmup, batch: the run's own
  {
    Trainer resumed(factory, again);
    resumed.setClock(fakeClock());
    resumed.prepare();
    EXPECT_TRUE(resumed.config().byTime);
    EXPECT_DOUBLE_EQ(resumed.config().maxMinutes, 0.2);
    TrainSummary s = resumed.run();
    EXPECT_EQ(s.stop, TrainSummary::Stop::MaxMinutes);
    EXPECT_EQ(s.step, 6);
  }
  EXPECT_EQ(readBytes(t.file("whole/ckpt-6.safetensors")), readBytes(t.file("split/ckpt-6.safetensors")));

  // A step-scheduled run cannot be resumed by time, nor the other way round.
  TrainRequest bySteps = again;
  bySteps.settings["schedule_by"] = "steps";
  bySteps.settings["steps"] = "9";
  Trainer refused(factory, bySteps);
  expectErrorContaining([&] { refused.prepare(); }, {"the run schedules by time, not steps"});
}

TEST(Trainer, TimeBudgetedRunKeepsCheckpointsAtTheEndOfTheBudget) {
  TempDir t;
  ModelProgramFactory factory("reference");
  TrainRequest r = timedRun(t.file("run"));
  r.settings["max_minutes"] = "1.0166666666666666";  // 61 s: 31 steps of 2 s
  r.settings["keep_checkpoints"] = "3";
  r.settings["eval_every"] = "0";
  Trainer tr(factory, r);
  tr.setClock(fakeClock());
  tr.prepare();
  EXPECT_EQ(tr.run().step, 31);
  // Marks at 90%, 95% and 100% of the budget (54.9, 57.95, 61 s): the steps ending at
  // 56, 58 and 62 s. checkpoint_every 1 wrote every step before the first mark.
  EXPECT_EQ(checkpointSteps(t.file("run")), (std::vector<int64_t>{28, 29, 31}));
}

TEST(Trainer, TimeBudgetNeedsMaxMinutesAndCosine) {
  TempDir t;
  ModelProgramFactory factory("reference");
  TrainRequest r = timedRun(t.file("a"));
  r.settings.erase("max_minutes");
  Trainer noBudget(factory, r);
  expectErrorContaining([&] { noBudget.prepare(); }, {"--schedule-by time needs --max-minutes M"});
  r = timedRun(t.file("b"));
  r.settings["schedule"] = "noam";
  Trainer noam(factory, r);
  expectErrorContaining([&] { noam.prepare(); }, {"needs a schedule that decays to an end", "noam has none"});
}

TEST(Program, BackendsReportTheirOwnUpdateKernels) {
  TrainRequest r = tinyRun("unused", 1);
  ModelProgramFactory reference("reference"), compiled("compiled");
  EXPECT_EQ(reference.build(r.model, r.overrides, 2)->updateKernels(), nullptr);
  const UpdateKernels *k = compiled.build(r.model, r.overrides, 2)->updateKernels();
  ASSERT_NE(k, nullptr);
  EXPECT_NE(k->adam, nullptr);
  EXPECT_NE(k->sumSquares, nullptr);
}

// A program built for some entry points (ProgramFactory::build's `entries`,
// what eval/generate/encode ask for) compiles only those: they compute what a
// full build computes, the others keep their signatures but cannot run.
TEST(Program, BuildsOnlyTheEntriesAskedFor) {
  TrainRequest r = tinyRun("unused", 1);
  for (const char *backend : {"reference", "compiled"}) {
    SCOPED_TRACE(backend);
    ModelProgramFactory factory(backend);
    std::unique_ptr<Program> full = factory.build(r.model, r.overrides, 2, BuildPurpose::FromCheckpoint);
    std::unique_ptr<Program> part =
        factory.build(r.model, r.overrides, 2, BuildPurpose::FromCheckpoint, std::nullopt, {"forward", "no_such"});
    ASSERT_NE(part->entry("train_step"), nullptr);
    EXPECT_EQ(part->entry("train_step")->inputs.size(), full->entry("train_step")->inputs.size());
    ParamStore params;
    for (const ParamSpec &p : full->params()) params.add(p.name, p.shape, p.init, p.frozen);
    params.initializeAll(7, kSrc + "/examples");
    RunContext ctx;
    ctx.params = &params;
    ctx.training = false;
    const TensorSpec &in = full->entry("forward")->inputs.at(0);
    std::vector<int32_t> ids((size_t)(in.shape[0] * in.shape[1]));
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = (int32_t)(i * 37 % 256);
    Tensor tokens = Tensor::fromI32(in.shape, ids);
    Tensor a = full->run("forward", {tokens}, ctx).at(0), b = part->run("forward", {tokens}, ctx).at(0);
    ASSERT_EQ(a.shape(), b.shape());
    EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.bytes()), 0);
    try {
      part->run("eval", {tokens, tokens}, ctx);
      ADD_FAILURE() << "eval ran without being compiled";
    } catch (const Error &e) {
      EXPECT_NE(std::string(e.what()).find("'eval' of model 'tiny_lm' was not compiled into this program (it was "
                                           "built to run forward only)"),
                std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace heed::rt

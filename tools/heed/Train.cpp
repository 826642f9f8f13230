//===- Train.cpp - `heed train`: flags in, progress out --------------------===//
//
// The run itself is rt::Trainer (runtime/train/Trainer.h: settings, resume,
// checkpoints, metrics, the step loop); its settings and defaults are the
// table of runtime/train/TrainSettings.h. This file prints the header, the
// progress line and the summary, and turns Ctrl-C into a clean stop (exit 130,
// with a checkpoint).
//
//===----------------------------------------------------------------------===//

#include "tools/heed/Commands.h"

#include "compiler/ModelLoader.h"
#include "compiler/session/ModelProgramFactory.h"
#include "runtime/compiled/ExecProfile.h"
#include "runtime/compiled/Executor.h"
#include "runtime/dist/MpiCommunicator.h"
#include "runtime/train/Progress.h"
#include "runtime/train/Trainer.h"

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>

namespace heed {
namespace {

volatile std::sig_atomic_t gInterrupted = 0;
void onInterrupt(int) {
  gInterrupted = 1;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C kills
}

/// The progress line on stderr (unless --quiet) and the validation notes.
class Printer : public rt::TrainObserver {
public:
  const rt::Trainer *trainer = nullptr;
  std::optional<rt::ProgressReporter> progress;

  void note(const std::string &line) override { std::fprintf(stderr, "note: %s\n", line.c_str()); }
  void validated(int64_t step, const rt::ValidResult &r, bool stopping) override {
    // The progress line shows the loss too, unless it is redrawn or not printed at this step.
    if (progress && (progress->isTerminal() || (step % trainer->config().logEvery != 0 && !stopping) || r.wer))
      progress->note("step " + std::to_string(step) + ": " + trainer->task().describeValid(r));
  }
  void stepDone(const rt::StepStats &st) override {
    if (progress) progress->update(st);
  }
};

void printHeader(const rt::Trainer &t, const TrainOptions &o, const rt::ProgramFactory &factory) {
  const rt::TrainConfig &c = t.config();
  std::printf("heed train: model %s (%s), %s parameters (%s trainable), backend: %s, precision %s\n",
              t.info().name.c_str(), o.model.c_str(), rt::formatCount((double)t.params().totalCount()).c_str(),
              rt::formatCount((double)t.params().trainableCount()).c_str(), factory.describe(o.model).c_str(),
              rt::precisionName(c.precision));
  std::printf("%s", t.task().describeData().c_str());
  // A time-budgeted run without --steps runs until its budget ends.
  const std::string steps = c.steps >= rt::kUnboundedSteps
                                ? t.task().describeStep(c.batch) + ", steps until the budget ends"
                                : std::to_string(c.steps) + " steps x " + t.task().describeStep(c.batch);
  std::printf("%s; %s; %s, clip %s; seed %llu\n", steps.c_str(),
              t.describeSchedule().c_str(), c.optimizer.c_str(),
              c.clip > 0 ? rt::formatNumber("%g", c.clip).c_str() : "off", (unsigned long long)c.seed);
  if (const rt::RunCheckpoint *rc = t.resumedFrom())
    std::printf("resuming from %s at step %lld\n", rc->path.c_str(), (long long)t.startStep());
  if (t.slices() > 1) {
    std::string how = "micro-batches";
    if (t.worldSize() > 1) {
      how = "data parallel, " + std::to_string(t.worldSize()) + " processes";
      if (c.microBatches > 1) how += " x " + std::to_string(c.microBatches) + " micro-batches";
    }
    std::printf("%s: %lld slices of batch %lld per step, gradients summed in slice order\n", how.c_str(),
                (long long)t.slices(), (long long)(c.batch / t.slices()));
  }
  std::printf("out: %s\n", c.out.c_str());
  std::fflush(stdout);
}

int printSummary(const rt::Trainer &t, const rt::TrainSummary &s) {
  const rt::TrainConfig &c = t.config();
  if (s.stop == rt::TrainSummary::Stop::Interrupted) {
    std::printf("interrupted at step %lld; checkpoint %s (continue with --resume)\n", (long long)s.step,
                s.lastCheckpoint.c_str());
    return 130;
  }
  if (s.stop == rt::TrainSummary::Stop::MaxMinutes && c.byTime)
    std::printf("used the %g-minute budget at step %lld (--schedule-by time: the schedule has annealed)\n",
                c.maxMinutes, (long long)s.step);
  else if (s.stop == rt::TrainSummary::Stop::MaxMinutes)
    std::printf("stopped after %s at step %lld of %lld (--max-minutes %g); continue with --resume\n",
                rt::formatDuration(s.wallSeconds).c_str(), (long long)s.step, (long long)c.steps, c.maxMinutes);
  std::printf("trained %lld steps (to step %lld) in %s, %s tok/s\n", (long long)(s.step - s.startStep),
              (long long)s.step, rt::formatDuration(s.wallSeconds).c_str(),
              rt::formatRate(s.trainSeconds > 0 ? (double)s.tokens / s.trainSeconds : 0).c_str());
  if (t.worldSize() > 1 && s.step > s.startStep) {
    // What the backward did not hide is the wait before the optimizer step.
    const rt::TrainSummary::Allreduce &a = s.allreduce;
    const double steps = (double)(s.step - s.startStep);
    std::printf("allreduce of %s gradient bytes in %.0f buckets: %.2f ms/step (%.1f%% of the step time): issue "
                "%.2f, progress %.2f, wait %.2f ms; %.0f%% of the buckets done before the optimizer step\n",
                rt::formatBytes(s.gradientFloats * 4).c_str(), (double)a.buckets / steps, 1e3 * a.seconds() / steps,
                s.trainSeconds > 0 ? 100 * a.seconds() / s.trainSeconds : 0.0, 1e3 * a.issueSeconds / steps,
                1e3 * a.progressSeconds / steps, 1e3 * a.waitSeconds / steps,
                a.buckets > 0 ? 100.0 * (double)a.doneBeforeWait / (double)a.buckets : 0.0);
    if (std::getenv("HEED_PROFILE")) {
      rt::ExecProfile allreduce;
      allreduce["allreduce issue"].seconds = a.issueSeconds;
      allreduce["allreduce progress"].seconds = a.progressSeconds;
      allreduce["allreduce wait"].seconds = a.waitSeconds;
      for (auto &[name, row] : allreduce) row.calls = (int64_t)steps;
      rt::printProfile(allreduce, "gradient allreduce, rank 0", stderr, nullptr);
    }
  }
  std::printf("final train loss %.4f\n", s.lastLoss);
  if (s.lastValid && s.lastValid->loss) {
    std::printf("final valid loss %.4f nats/%s, perplexity %.2f\n", *s.lastValid->loss, "token",
                std::exp(*s.lastValid->loss));
    if (s.lastValid->wer)
      std::printf("final valid greedy WER %.2f%%, PER %.2f%% (%lld words)\n", 100 * *s.lastValid->wer,
                  100 * *s.lastValid->per, (long long)s.lastValid->words);
  }
  std::printf("checkpoint %s\n", s.lastCheckpoint.c_str());
  return 0;
}

}  // namespace

int runTrain(const TrainOptions &o) {
  return reportErrors([&] {
    ImportOptions parsed;
    if (!parseOverrides(o.sets, parsed)) return 1;
    ModelProgramFactory factory(o.backend);
    rt::TrainRequest req;
    req.model = o.model;
    req.overrides = parsed.overrides;
    req.settings = o.flags;
    req.resume = o.resume;
    // Under mpirun: one process per rank, one slice of each batch each; rank 0 prints.
    std::unique_ptr<rt::Communicator> comm;
    if (rt::launchedByMpirun()) comm = rt::makeMpiCommunicator();
    const bool root = !comm || comm->rank() == 0;
    Printer printer;
    rt::TrainObserver quiet;
    rt::Trainer trainer(factory, req, root ? &printer : &quiet, comm.get());
    printer.trainer = &trainer;
    try {
      trainer.prepare();
    } catch (const rt::OtherRankFailed &) {
      return 1;  // that rank reports it
    }
    for (const std::string &f : trainer.removedTemporaries())
      std::fprintf(stderr, "note: removed %s, left in the run directory by a process that died\n", f.c_str());
    if (!o.quiet && root) {
      printHeader(trainer, o, factory);
      // A time-budgeted run without --steps has no step count to show or to estimate from.
      const int64_t steps = trainer.config().steps >= rt::kUnboundedSteps ? 0 : trainer.config().steps;
      printer.progress.emplace(steps, trainer.config().logEvery, stderr, trainer.startStep());
    }
    gInterrupted = 0;
    auto oldHandler = std::signal(SIGINT, onInterrupt);
    struct Restore {
      void (*h)(int);
      ~Restore() { std::signal(SIGINT, h); }
    } restore{oldHandler};
    rt::TrainSummary summary;
    try {
      summary = trainer.run([] { return gInterrupted != 0; });
    } catch (const rt::OtherRankFailed &) {
      return 1;
    }
    if (printer.progress) printer.progress->finish();
    if (!root) return summary.stop == rt::TrainSummary::Stop::Interrupted ? 130 : 0;
    return printSummary(trainer, summary);
  });
}

}  // namespace heed

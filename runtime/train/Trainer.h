//===- Trainer.h - a training run as a library ------------------*- C++ -*-===//
//
// One loop for every task (TrainTask.h): a language model on a text
// file, or an encoder-decoder on source<TAB>target lines; the task is chosen
// from the model. `heed train` is flag parsing around this class plus printing
// (tools/heed/Train.cpp); anything else (a test, another front end) drives it
// the same way:
//
//   Trainer t(factory, request, &observer);
//   t.prepare();                    // settings, resume, programs, data, params, run directory
//   TrainSummary s = t.run(stop);   // the steps; `stop` is polled after each
//
// Settings: Settings.h (flag > resumed run > `train { }` block > default);
// the defaults are the table of TrainSettings.h, plus these computed ones:
//   lr      noam: d_model^-0.5 * warmup^-0.5 (the paper); cosine/constant: 1e-3
//   warmup  noam: min(4000, max(1, steps/10)); others: min(4000, steps/10)
//   checkpoint_every = eval_every, or 500 if that is 0
//   out runs/<model name>
//
// Each step s (1-based) trains on the task's batch for (seed, s): batches are a
// pure function of (seed, step), dropout masks of (the model's dropout seed,
// step, index), and checkpoints hold the parameters, Adam's moments and the
// step, so a resumed run continues exactly where an uninterrupted run would be
// (same losses, same checkpoint bytes).
//
// The run directory (RunDirectory.h) is locked for the whole run. A checkpoint
// is "good" when every parameter and moment is finite: saving refuses a state
// that is not, and --resume checks the checkpoint it continues from (and
// refuses averaged ones, which have no optimizer state).
//
// A step whose loss or gradient norm is not finite stops the run; that step is
// then replayed in the factory's checked modes (StepReplay.h), and the error
// names the first op that produced a NaN or an infinity, at its model line. A
// finite loss above the divergence rule's limit (Divergence.h) stops it too:
// that step's update is not applied (it goes to a copy), the step is replayed
// with per-op statistics and the error names the op where the values blow up
// and the parameter with the largest update-to-weight ratio.
//
// Time-budgeted runs (schedule_by = time, with max_minutes and the cosine
// schedule): after the warm-up (in steps), the decay's progress is the fraction
// of the budget used when a step starts, so the learning rate reaches its floor
// when the budget ends, on a fast host and on a slow one. steps is then only a
// bound (default: none). Each step's progress is in metrics.jsonl ("progress")
// and the checkpoint holds the budget used so far (heed.elapsed_s), so --resume
// continues the same schedule where it stopped. The newest keep_checkpoints
// checkpoints are written at fixed fractions of the budget (..., 90%, 95%,
// 100%; checkpoint_every applies before them), so `heed average --last N`
// averages the annealed end of the run on any host. What a time-budgeted run cannot
// reproduce is the number of steps a budget buys, which depends on the host.
//
// Micro-batches and data-parallel ranks (micro_batches = M and a Communicator
// of N ranks): the step's batch is cut into S = N x M slices
// of batch/S contiguous rows (rank r trains slices r*M .. r*M+M-1), trained by the model compiled at batch/S (length
// buckets: all slices take the global batch's bucket). Slice s runs with
// RunContext::rowOffset = s * batch/S, so its dropout masks are the whole
// batch's; its gradient is weighted by its share of the step's targets and the
// weighted gradients are summed in slice order (GradientSum.h; across ranks by
// Communicator's nonblocking sums, bucket by bucket as the compiled schedule
// produces them, overlapping the backward), then one optimizer step. The logged
// loss is the targets-weighted sum of the slice losses. So a run under
// `mpirun -np N` with M micro-batches equals --micro-batches N*M bit for bit,
// and both equal a plain run up to rounding (the order of the gradient sums).
// Validation runs the model at the whole batch, its batches shared out among
// the ranks (batch b on rank b % N) and their losses summed in batch order, so
// it is the single-process validation loss bit for bit (seq2seq's greedy
// decoding for WER runs on rank 0). A resumed run may use another M or N.
//
// With N ranks, every rank does the same work up to its slice, rank 0 alone
// writes the run directory, and every decision to stop is collective: a stop
// request or the time budget on any rank stops all after the same step, and
// an error on one rank makes every rank throw at the same point (the lowest
// failing rank its own error, the others OtherRankFailed), never a deadlock.
// prepare() ends by checking that every rank runs the same model, overrides
// and settings.
//
// Validation loss: the cross-entropy of the model's logits in nats per token
// (seq2seq: per target token, EOS included, teacher forcing), with no label
// smoothing, so exp(valid loss) is the perplexity; the train loss is the
// model's own objective (which may include label smoothing). tokens/s counts
// the predicted tokens: batch x seq for LMs, non-padding targets for seq2seq.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Precision.h"

#include "runtime/ParamStore.h"
#include "runtime/Program.h"
#include "runtime/dist/Communicator.h"
#include "runtime/train/Optimizer.h"
#include "runtime/train/ProgramFactory.h"
#include "runtime/train/StepReplay.h"
#include "runtime/train/Progress.h"
#include "runtime/train/RunCheckpoint.h"
#include "runtime/train/RunDirectory.h"
#include "runtime/train/Schedule.h"
#include "runtime/train/GradientSum.h"
#include "runtime/train/Settings.h"
#include "runtime/train/TrainTask.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace heed::rt {

/// What the caller asks for.
struct TrainRequest {
  std::string model;                             // model file, or a `heed compile` artifact directory
  std::map<std::string, std::string> overrides;  // --set key=value
  std::map<std::string, std::string> settings;   // settings given explicitly (TrainSettings.h keys)
  bool resume = false;                           // continue the run in `out`
};

/// The step bound of a time-budgeted run whose steps are not given.
inline constexpr int64_t kUnboundedSteps = 1000000000;

/// The resolved settings of the run.
struct TrainConfig {
  std::string data, valid, out, schedule, optimizer;
  int64_t steps = 0, batch = 0, warmup = 0, evalEvery = 0, evalBatches = 0, ckptEvery = 0, logEvery = 0,
          keepCheckpoints = 0, microBatches = 1;
  double lr = 0, clip = 0, maxMinutes = 0;
  double lrFloor = 0.1;  // cosine: the end rate as a fraction of lr
  double divergence = 2;  // the divergence rule's factor (Divergence.h), 0 = off
  std::optional<double> weightDecay;
  uint64_t seed = 0;
  bool byTime = false;  // schedule_by = time: progress is elapsed / (maxMinutes * 60)
  Precision precision = Precision::F32;  // the matmul precision every program is compiled at
  std::string precisionHistory;          // resumed runs that switched: "bf16@0,fp32@200"
};

/// Receives what happens during a run (the CLI prints it).
class TrainObserver {
public:
  virtual ~TrainObserver() = default;
  /// A remark during prepare() (e.g. the train block's buckets do not apply).
  virtual void note(const std::string &line) {}
  /// After the validation at `step`; `stopping`: it is the run's last step.
  virtual void validated(int64_t step, const ValidResult &r, bool stopping) {}
  /// After every step, with the numbers of its metrics row.
  virtual void stepDone(const StepStats &st) {}
};

struct TrainSummary {
  enum class Stop { Finished, MaxMinutes, Interrupted } stop = Stop::Finished;
  int64_t startStep = 0, step = 0;
  double wallSeconds = 0, trainSeconds = 0;
  int64_t tokens = 0;  // predicted tokens trained on (tokens/s = tokens / trainSeconds)
  /// Data-parallel runs: the gradient allreduce (GradientSum.h), summed over the
  /// steps: seconds issuing the buckets' sums (the products and the nonblocking
  /// calls, during the backward), progressing them between schedule steps, and
  /// waiting for them before the optimizer step (the part the backward did not
  /// hide); the buckets, and those already complete when the wait began.
  struct Allreduce {
    double issueSeconds = 0, progressSeconds = 0, waitSeconds = 0;
    int64_t buckets = 0, doneBeforeWait = 0;
    double seconds() const { return issueSeconds + progressSeconds + waitSeconds; }
  } allreduce;
  int64_t gradientFloats = 0;  // per step
  /// Where the loop's wall time went, summed over the steps (steady clock, not
  /// setClock's): building the batch (and choosing its bucket's program), the
  /// train_step entry, the optimizer update, and after the step (validation,
  /// metrics, checkpoints). HEED_PROFILE=1 prints it when run() returns.
  struct LoopTimes {
    double batch = 0, step = 0, update = 0, after = 0;
  } loop;
  double lastLoss = 0;
  std::optional<ValidResult> lastValid;
  std::string lastCheckpoint;
};

class Trainer {
public:
  /// `comm`: the ranks of a data-parallel run (null: this process alone).
  Trainer(ProgramFactory &factory, TrainRequest request, TrainObserver *observer = nullptr,
          Communicator *comm = nullptr);
  ~Trainer();

  /// Everything before the first step; throws rt::Error (or ReportedError).
  void prepare();
  /// Trains to config().steps, or until `stopRequested` returns true after a
  /// step (then checkpoints and stops), or until --max-minutes. Throws rt::Error
  /// when the loss or the gradient norm is not finite (with the op the replay
  /// located) or the loss breaks the divergence rule, naming the last good checkpoint.
  TrainSummary run(const std::function<bool()> &stopRequested = {});
  /// The clock (seconds, monotonic) that times steps and the budget; tests pass
  /// a fake one to make time-budgeted runs deterministic.
  void setClock(std::function<double()> secondsNow) { now = std::move(secondsNow); }

  const TrainConfig &config() const { return c; }
  /// The processes of the run (1 without mpirun); rank 0 writes and prints.
  int worldSize() const { return comm->size(); }
  bool isRoot() const { return comm->rank() == 0; }
  /// Slices per step: micro_batches, or the world size.
  int64_t slices() const { return slices_; }
  const ModelInfo &info() const { return program->info(); }
  const TrainTask &task() const { return *task_; }
  bool seq2seq() const;
  const ParamStore &params() const { return params_; }
  const LrSchedule &schedule() const { return *schedule_; }
  /// The schedule for logs, e.g. "cosine(peak 1.0e-03, warmup 100, total 2000, floor 1.0e-04)"
  /// or, by time, "cosine(peak 1.0e-03, warmup 100, over the 60 min budget, floor 1.0e-04)".
  std::string describeSchedule() const;
  /// The checkpoint the run continues from (resume), else null.
  const RunCheckpoint *resumedFrom() const { return resumeFrom ? &*resumeFrom : nullptr; }
  int64_t startStep() const { return startStep_; }
  /// The temporary files of dead processes that prepare() removed from the run directory.
  const std::vector<std::string> &removedTemporaries() const { return removedTemps; }
  /// The checkpoint metadata written at every save (plus heed.step, heed.train_loss).
  const std::map<std::string, std::string> &metadata() const { return meta; }

private:
  void resolveConfig();
  void checkResume();
  void buildPrograms();
  void initParams();
  void openRunDirectory();
  void checkSameJob();
  /// One step's forward and backward over this process's slices; fills `grads`
  /// (the step's summed gradient) and returns the step's loss and target count.
  double runSlices(int64_t step, std::vector<Tensor> &inputs, GradientSum &grads, int64_t &tokens);
  /// Each slice's train_step inputs: the rows of `inputs` (the whole batch) it trains.
  std::vector<std::vector<Tensor>> sliceInputs(const std::vector<Tensor> &inputs, const EntrySpec &entry) const;
  /// The replay of a step (StepReplay.h), from the parameters and moments
  /// before the step (it was not applied).
  StepReplayRequest replayRequest(int64_t step, const std::vector<Tensor> &inputs);
  std::string saveCheckpoint(int64_t step, double lastLoss, double elapsed, double progress);
  std::string lastGood() const;

  ProgramFactory &factory;
  TrainRequest req;
  TrainObserver *observer;
  TrainObserver silent;

  LocalCommunicator local;
  Communicator *comm;
  int64_t slices_ = 1, sliceRows = 0;
  std::unique_ptr<Program> program;
  std::unique_ptr<Program> sliceProgram;  // slices_ > 1: the model at batch / slices_ (an artifact: `program`)
  std::vector<std::unique_ptr<Program>> extra;  // length buckets
  std::vector<std::map<std::string, std::string>> extraOverrides;  // each bucket's --set values
  std::unique_ptr<TrainTask> task_;
  std::optional<Settings> settings;
  TrainConfig c;
  ScheduleKind kind = ScheduleKind::Noam;
  std::optional<LrSchedule> schedule_;
  OptimizerConfig oc;
  std::optional<RunCheckpoint> resumeFrom;
  int64_t startStep_ = 0;
  ParamStore params_;
  std::unique_ptr<RunDirectory> dir;
  std::unique_ptr<MetricsFile> metrics;
  std::vector<std::string> removedTemps;
  std::map<std::string, std::string> meta;
  std::string lastCkpt;
  double elapsedBefore = 0;  // time-budgeted resume: the budget the run had used
  /// The last update rewrote the parameters' bf16 shadows (RunContext::bf16ShadowsCurrent);
  /// false until the first update of run(), so anything done to params_ before it counts.
  bool shadowsCurrent_ = false;
  std::function<double()> now;
};

}  // namespace heed::rt

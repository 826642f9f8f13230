//===- TrainTask.h - what the trainer trains on -----------------*- C++ -*-===//
//
// The training loop (Trainer.h) is the same for every kind of model: settings,
// schedule, optimizer, checkpoints, resume, progress and metrics. What differs
// is behind TrainTask, chosen from the model's inputs:
//
//   LmTask         decoder-only LMs: two i32 [batch, seq] inputs
//                  (tokens, targets); --data/--valid are text files (through
//                  --tokenizer) or pre-tokenized ids.
//   Seq2SeqTask    encoder-decoders with encode/decode entries and inputs src,
//                  tgt_in, tgt_out; --data/--valid are source<TAB>target files
//                  (see runtime/seq2seq/Seq2SeqRunner.h).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/ParamStore.h"
#include "runtime/Program.h"
#include "runtime/dist/Communicator.h"
#include "runtime/train/RunCheckpoint.h"
#include "runtime/train/Settings.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace heed::rt {

struct ValidResult {
  std::optional<double> loss;      // mean nats per target token
  std::optional<double> wer, per;  // seq2seq greedy decoding
  int64_t words = 0;               // words decoded for wer/per
};

class TrainTask {
public:
  virtual ~TrainTask() = default;
  /// "lm" or "seq2seq" (stored as heed.task).
  virtual const char *name() const = 0;
  /// Checks that the program fits the task (throws rt::Error); after every build.
  virtual void bind(rt::Program &program) = 0;
  /// Task settings (flags / train block); before load.
  virtual void configure(const Settings &s) = 0;
  /// Reads the data. `resume`: the checkpoint the run continues from, or null.
  virtual void load(const std::string &data, const std::string &valid, const RunCheckpoint *resume) = 0;
  /// The header's data line(s), each ending in '\n'.
  virtual std::string describeData() const = 0;
  /// One step's size: "batch 16 x seq 128 = 2048 tokens/step".
  virtual std::string describeStep(int64_t batch) const = 0;
  /// Fills the train_step inputs for `step`; returns the target tokens in it
  /// (the tokens counted by tokens/s).
  virtual int64_t fillBatch(int64_t step, int64_t batch, uint64_t seed, std::vector<rt::Tensor> &inputs) = 0;
  /// More programs the task trains with (seq2seq length buckets): the --set
  /// overrides each one adds to the run's (after load). Empty: only the main one.
  virtual std::vector<std::map<std::string, std::string>> extraPrograms() const { return {}; }
  /// The programs built from extraPrograms(), in order (they share the parameters);
  /// none: train with the main program only.
  virtual void bindExtra(const std::vector<rt::Program *> &) {}
  /// The program that trains on the last fillBatch's inputs; nullptr: the main one.
  virtual rt::Program *stepProgram() { return nullptr; }
  /// The targets the loss averages over in these train_step inputs (a slice of
  /// the batch: its weight in the step's gradient and loss); fillBatch's count.
  virtual int64_t countTargets(const std::vector<rt::Tensor> &inputs) const = 0;
  virtual int lossIndex() const = 0;
  /// The classes the loss scores (the logits' last dimension), 0 if unknown:
  /// ln of it is the loss of a uniform guess (Divergence.h).
  virtual int64_t lossClasses() const = 0;
  virtual bool hasValid() const = 0;
  /// Validation at `step`; `final` at the run's last step (or when it stops early).
  /// Collective: every rank calls it and scores its share of the batches
  /// (Communicator.h shardedBatchSums); the result is meant for rank 0 (seq2seq's
  /// greedy decoding runs there alone).
  virtual ValidResult validate(rt::Program &program, rt::ParamStore &params, int64_t step, bool final,
                               rt::Communicator &comm) = 0;
  /// Task metadata for the checkpoints (heed.task, vocabularies, ...).
  virtual void addMetadata(std::map<std::string, std::string> &meta) const = 0;
  /// One line describing a validation result (progress notes and the summary).
  virtual std::string describeValid(const ValidResult &r) const = 0;
};

/// `modelName` names the model in configure()'s errors until bind() takes the program's
/// (`heed check` configures a task on the train block alone, without a program).
std::unique_ptr<TrainTask> makeLmTask(const std::string &modelName = "");
std::unique_ptr<TrainTask> makeSeq2SeqTask(const std::string &modelName = "");

/// The task for a program: seq2seq if it looks like an encoder-decoder (see
/// looksSeq2Seq), else the decoder-only LM.
std::unique_ptr<TrainTask> makeTaskFor(const rt::Program &program);

}  // namespace heed::rt

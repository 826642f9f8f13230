//===- LmSession.h - shared pieces of train / eval / generate --*- C++ -*-===//
//
// What `heed train`, `heed eval` and `heed generate` share for byte-level
// (decoder-only) language models:
//
//   * LmLayout: which inputs of the program are the tokens and the targets,
//     seq, vocab and the forward output that holds the logits; rejects models
//     that do not fit (an encoder-decoder, vocab < 256, ...);
//   * building a program from a model file or from the model source stored in
//     a checkpoint's metadata (so a checkpoint alone is enough to evaluate or
//     sample), with the --set overrides recorded at train time;
//   * evaluate(): mean cross-entropy per byte over the non-overlapping
//     validation windows of a ByteDataset, with dropout off.
//
// Checkpoint metadata keys written by `heed train` (all strings):
//   heed.format          "1"
//   heed.model_name      the model's name
//   heed.model_file      the model file's path at train time (informational)
//   heed.model_source    the model file's whole text
//   heed.source_hash     hex of hashString(source): resume checks it
//   heed.overrides       JSON object of the --set key=value pairs
//   heed.step            the optimizer steps taken
//   heed.steps           the run's --steps
//   heed.seed, heed.batch, heed.seq, heed.schedule, heed.lr (peak), heed.warmup,
//   heed.optimizer, heed.clip, heed.data, heed.valid, heed.train_loss
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Checkpoint.h"
#include "runtime/ParamStore.h"
#include "runtime/Program.h"
#include "runtime/data/ByteDataset.h"
#include "runtime/train/Optimizer.h"

#include <cstdint>
#include <map>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace heed {

/// Thrown after the errors were already printed (e.g. by the model loader).
struct ReportedError {};

/// How to feed a decoder-only byte-level LM.
struct LmLayout {
  std::string tokens, targets;  // input names
  int64_t batch = 0, seq = 0;
  int64_t vocab = 0;            // the smallest id limit of tokens/targets (0: unknown)
  int logitsIndex = -1;         // "forward" output [batch, seq, V>=256] f32, or -1
  int trainLossIndex = -1;      // train_step output holding the loss
};

/// Throws rt::Error if the program is not a byte-level LM (see LmSession.cpp).
LmLayout lmLayout(const rt::Program &program, const std::string &what);

/// buildReferenceProgram with error reporting; throws ReportedError on failure.
/// A directory written by `heed compile` is loaded as a compiled artifact instead
/// (throws rt::Error if `batch` or `overrides` differ from what it was compiled with).
/// Runs a command body: an rt::Error or other exception becomes "error: ..." on
/// stderr and exit code 1; ReportedError (already printed) becomes exit code 1.
int reportErrors(const std::function<int()> &body);

/// The index of train_step's loss output (the result the compiler marks heed.loss).
int trainLossIndex(const rt::EntrySpec &train, const std::string &model);

/// The backend for model files: "compiled" (default) or "reference" (--backend).
std::string &backendName();

/// The optimizer loops for a run on `modelPath`: runtime/native's threaded ones for
/// the compiled backend and artifacts, nullptr (the reference loops) otherwise.
const rt::UpdateKernels *updateKernelsFor(const std::string &modelPath);

std::unique_ptr<rt::Program> buildProgram(const std::string &modelPath,
                                          const std::map<std::string, std::string> &overrides,
                                          std::optional<int64_t> batch, bool fromCheckpoint = false);

/// A checkpoint written by `heed train`, with its model source.
struct RunCheckpoint {
  std::string path;  // the resolved file
  rt::Checkpoint ckpt;
  std::string source, modelName, modelFile;
  std::map<std::string, std::string> overrides;
  std::string meta(const std::string &key, const std::string &fallback = "") const;
};

/// resolveCheckpointPath + loadCheckpoint + metadata checks (throws rt::Error).
RunCheckpoint readRunCheckpoint(const std::string &fileOrDir);

/// Rebuilds the checkpoint's model (stored source, stored overrides) at `batch`.
std::unique_ptr<rt::Program> buildFromCheckpoint(const RunCheckpoint &rc, int64_t batch);

/// Every parameter of the program, zero-filled (to be loaded from a checkpoint).
rt::ParamStore emptyParams(const rt::Program &program);

/// JSON text of the overrides map, and back.
std::string overridesToJson(const std::map<std::string, std::string> &o);
std::map<std::string, std::string> overridesFromJson(const std::string &json);

std::string sourceHash(const std::string &source);

struct EvalResult {
  double loss = 0;     // mean nats per predicted byte
  int64_t tokens = 0;  // predicted bytes
};

/// Mean cross-entropy per byte over the validation windows (at most `maxBatches`
/// batches; 0 = all), dropout off. Computed from the forward logits (the true
/// negative log-likelihood, without the training loss' label smoothing) when the
/// model outputs logits; otherwise the mean of the "eval" entry's loss.
EvalResult evaluate(rt::Program &program, const LmLayout &layout, rt::ParamStore &params,
                    const rt::ByteDataset &data, int64_t maxBatches);

/// "1.23M", "45.6k", "789"
std::string formatCount(double n);
/// "5.2 KB", "1.3 MB", "900 B"
std::string formatBytes(int64_t n);

}  // namespace heed

//===- RunCheckpoint.h - the checkpoints a training run writes --*- C++ -*-===//
//
// A checkpoint of a run is a safetensors file (runtime/Checkpoint.h) holding
// param/<name>, adam_m/<name>, adam_v/<name> and this metadata (all strings);
// the Trainer writes it, eval/generate/encode/average/--resume read it:
//
//   heed.format          kRunFormatVersion (Checkpoint.h); others are refused
//   heed.model_name      the model's name
//   heed.model_file      the model file's path at train time (informational)
//   heed.model_source    the model file's whole text (a checkpoint alone is
//                        enough to rebuild the model: ProgramFactory.h)
//   heed.source_hash     hex of hashString(source): --resume checks it
//   heed.overrides       JSON object of the --set key=value pairs
//   heed.step            the optimizer steps taken
//   heed.steps           the run's --steps
//   heed.seed, heed.batch, heed.schedule, heed.lr (peak), heed.warmup,
//   heed.optimizer, heed.clip, heed.data, heed.valid, heed.train_loss
//   heed.lr_floor        cosine runs: the floor, a fraction of heed.lr (absent
//                        in older runs: 0.1)
//   heed.task            "lm" (or absent) | "seq2seq"
//   heed.seq             LMs: the window length
//   heed.tokenizer, heed.tokenizer_data, heed.tokenizer_spec
//                        LMs: the tokenizer (runtime/text/TokenizerStore.h;
//                        absent: bytes)
//   heed.src_vocab, heed.tgt_vocab, heed.src_tokens, heed.tgt_tokens,
//   heed.src_len, heed.tgt_len, heed.buckets
//                        seq2seq (runtime/seq2seq/Seq2SeqRunner.h)
//   heed.averaged        written by heed average (CheckpointAverage.h): the
//                        input files; such a checkpoint has no optimizer
//                        state and cannot be resumed
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Checkpoint.h"
#include "runtime/ParamStore.h"
#include "runtime/Program.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace heed::rt {

/// A checkpoint written by the Trainer, with its model source.
struct RunCheckpoint {
  std::string path;  // the resolved file
  Checkpoint ckpt;
  std::string source, modelName, modelFile;
  std::map<std::string, std::string> overrides;

  std::string meta(const std::string &key, const std::string &fallback = "") const;
  /// An integer metadata value (rt::metadataInt): throws naming the key and the file if it
  /// is malformed or below `min`.
  int64_t metaInt(const std::string &key, int64_t fallback, int64_t min = 0) const;
  /// "lm" or "seq2seq" (old checkpoints: "lm").
  std::string task() const;
  bool averaged() const { return ckpt.metadata.count("heed.averaged") != 0; }
};

/// resolveCheckpointPath + loadCheckpoint + metadata checks (throws rt::Error).
RunCheckpoint readRunCheckpoint(const std::string &fileOrDir);

/// The first tensor of the checkpoint (parameters and optimizer moments) that
/// holds a NaN or an infinity, as "'param/x' (3 of 64 values)"; nullopt if all are finite.
std::optional<std::string> firstNonFinite(const Checkpoint &ckpt);

/// Every parameter of the program, zero-filled (to be loaded from a checkpoint).
ParamStore emptyParams(const Program &program);
/// The checkpoint's parameters for `program` (no optimizer state).
ParamStore loadParams(const Program &program, const RunCheckpoint &rc);

/// JSON text of the overrides map, and back (throws on anything but an object of strings).
std::string overridesToJson(const std::map<std::string, std::string> &o);
std::map<std::string, std::string> overridesFromJson(const std::string &json);

std::string sourceHash(const std::string &source);

/// The checkpoint's model source as a file the compiler can read: written to a
/// private temporary directory under its original file name (so diagnostics
/// name it) and removed again by the destructor.
class StoredModelFile {
public:
  explicit StoredModelFile(const RunCheckpoint &rc);
  ~StoredModelFile();
  StoredModelFile(const StoredModelFile &) = delete;
  StoredModelFile &operator=(const StoredModelFile &) = delete;
  const std::string &path() const { return path_; }

private:
  std::string dir_, path_;
};

}  // namespace heed::rt

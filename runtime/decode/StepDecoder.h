//===- StepDecoder.h - incremental decoding with a key/value cache -*- C++ -*-===//
//
// Drives the compiler's @decode_init / @decode_step entry points
// (compiler/passes/DecodeStep.cpp): each step feeds one token and its
// position per batch row and gets the logits at that position, while the
// per-layer self-attention keys/values (cache.k.N / cache.v.N, [B,H,T,dh])
// and the per-batch invariants (init.N: cross-attention keys/values, source
// padding) stay here between steps. A row's cache holds positions
// 0..position; later slots are masked by the step itself, so rows of
// different lengths share one batch.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Program.h"
#include "runtime/RunContext.h"
#include "runtime/Tensor.h"

#include <map>
#include <string>
#include <vector>

namespace heed::rt {

class StepDecoder {
public:
  /// Does `program` have a decode_step with positions, and is the cache not switched off
  /// (HEED_KV_CACHE=0, or `allowed` false for --no-cache)?
  static bool usable(const Program &program, bool allowed = true);

  /// `logits`: the name of the step output to return. Throws rt::Error when
  /// the program has no decode_step.
  StepDecoder(Program &program, RunContext &ctx, const std::string &logits);

  /// Starts a batch: runs decode_init on `inputs` (by name: memory, src, ...)
  /// when the program has it, and empties every cache.
  void start(const std::map<std::string, Tensor> &inputs = {});

  /// One position per row: tokens[b] at positions[b] (< T). Returns the logits
  /// [B, 1, V] at that position.
  const Tensor &step(const std::vector<int32_t> &tokens, const std::vector<int32_t> &positions);

  /// Row b of the new state is row rows[b] of the old (beam search keeps the
  /// selected hypotheses' caches).
  void reorder(const std::vector<int> &rows);

  int64_t batch() const { return batch_; }
  /// The longest sequence a row's cache holds (the model's T).
  int64_t length() const { return length_; }

private:
  Program &program_;
  RunContext &ctx_;
  const EntrySpec *step_;
  int logitsIndex_ = -1;
  int64_t batch_ = 0, length_ = 0;
  std::map<std::string, Tensor> state_;  // cache.* and init.*, by name
  Tensor logits_;
};

}  // namespace heed::rt

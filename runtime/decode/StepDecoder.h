//===- StepDecoder.h - incremental decoding with a key/value cache -*- C++ -*-===//
//
// Drives the compiler's @decode_init / @decode_step entry points
// (compiler/passes/DecodeStep.cpp): each step feeds one token and its
// position per row and gets the logits at that position, while the per-layer
// self-attention keys/values (cache.k.N / cache.v.N, [B,T,H,dh] or [B,H,T,dh]:
// the layout of the step's sdpa, opaque here; only batch rows are moved) and the
// per-source invariants (init.N: cross-attention keys/values, source padding,
// from decode_init once per batch of sources) stay here between steps. A row's
// cache holds positions 0..position; later slots are masked by the step
// itself, so rows of different lengths share one batch.
//
// The program has a fixed batch B, but a search may keep any number of rows
// (beam search: beams x sources). stepRows keeps them in slots, B per block,
// each block with a cache of its own, and runs the blocks that hold a live
// row. A row names its source (a row of start()'s inputs, whose init.N it
// attends to) and its parent (the row of the previous step it continues). The
// first row to continue a parent takes over the parent's slot, cache and all;
// another row continuing it (a second beam from one hypothesis) gets a free
// slot and a copy of the parent's cache: that is the reorder beam search needs
// when it selects hypotheses, and greedy search, whose rows only end, copies
// nothing. When the rows would fit in fewer blocks than their slots span,
// they are packed into the first slots.
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

  /// Starts a batch: runs decode_init on `inputs` (by name: memory, src, ...;
  /// B rows, one per source) when the program has it, and empties every cache.
  void start(const std::map<std::string, Tensor> &inputs = {});

  /// B rows, row b continuing row b of the previous step (the first step after
  /// start(): a new sequence): tokens[b] at positions[b] (< T). Returns the
  /// logits [B, 1, V] at that position.
  const Tensor &step(const std::vector<int32_t> &tokens, const std::vector<int32_t> &positions);

  /// Any number n of rows (see the file comment): row i of source sources[i]
  /// (< B) continues row parents[i] of the previous call (-1: a new sequence,
  /// an empty cache), feeding tokens[i] at positions[i]. Returns the logits
  /// [n, 1, V].
  const Tensor &stepRows(const std::vector<int64_t> &sources, const std::vector<int64_t> &parents,
                         const std::vector<int32_t> &tokens, const std::vector<int32_t> &positions);

  int64_t batch() const { return batch_; }
  /// The longest sequence a row's cache holds (the model's T).
  int64_t length() const { return length_; }
  /// decode_step runs so far.
  int64_t calls() const { return calls_; }

private:
  struct Block {
    std::map<std::string, Tensor> cache;  // cache.*, B slots
    std::vector<int64_t> sources;         // the source of each slot whose init.* `init` holds
    std::map<std::string, Tensor> init;   // init.* gathered for these sources
  };
  /// The slot of each row given its parent (see the file comment); moves and
  /// copies the caches.
  std::vector<int64_t> assignSlots(const std::vector<int64_t> &parents);
  Block emptyBlock() const;
  void copySlot(int64_t from, int64_t to);
  void clearSlot(int64_t slot);

  Program &program_;
  RunContext &ctx_;
  const EntrySpec *step_;
  int logitsIndex_ = -1;
  int64_t batch_ = 0, length_ = 0, calls_ = 0;
  std::map<std::string, Tensor> init_;  // decode_init's outputs, one row per source
  std::vector<Block> blocks_;
  std::vector<int64_t> slotOf_;  // the slot of each row of the previous call
  Tensor logits_;
};

}  // namespace heed::rt

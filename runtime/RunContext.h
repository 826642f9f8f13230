//===- RunContext.h - what one run of an entry point sees -------*- C++ -*-===//
//
// Passed to every kernel of a run: where parameters live, which training step
// this is (dropout masks are keyed by (seed, step, index)), whether dropout is
// active, and how the optimizer step applies gradients. No MLIR here: the
// reference interpreter and compiled code share it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Error.h"
#include "runtime/ParamStore.h"
#include "runtime/Tensor.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace heed::rt {

struct RunContext {
  ParamStore *params = nullptr;
  /// 1-based training step (0 outside training); keys the dropout masks.
  int64_t step = 0;
  /// Dropout is applied only when training.
  bool training = false;
  /// A run over a slice of the step's batch (gradient accumulation, a data-parallel
  /// rank): the slice holds `sliceRows` rows starting at row `rowOffset` of the whole
  /// batch. Dropout keys its masks by the element's flat index in the whole batch, so
  /// the slices together draw the masks of one full-batch run. 0: the whole batch.
  int64_t rowOffset = 0, sliceRows = 0;
  /// Run all float math in double precision (gradient checks): f32 inputs,
  /// constants and tables become f64; parameters are expected as f64 already.
  bool f64 = false;
  /// The caller vouches that every parameter's bf16 shadow on this thread (where one
  /// exists) holds the rounding of its current values: since the last run wrote them,
  /// the parameters changed only through applyUpdate reporting shadowsCurrent. The
  /// param op then skips its rounding pass. Only step loops set it (the trainer's,
  /// heed_bench_step's).
  bool bf16ShadowsCurrent = false;
  /// Called by the optimizer_step op with (parameter name, gradient) pairs.
  std::function<void(std::vector<std::pair<std::string, Tensor>> &)> applyGradients;
  /// Data-parallel training (both optional; the compiled backend calls them):
  /// bucketReady gets a gradient bucket of the schedule (runtime/compiled/
  /// GradientBuckets.h) as soon as its last gradient is computed, so that its
  /// sum across ranks starts while the backward runs; betweenSteps runs after
  /// every step of the schedule (nonblocking MPI progresses only inside MPI calls).
  /// The optimizer step still receives every gradient (applyGradients).
  std::function<void(int64_t bucket, std::vector<std::pair<std::string, Tensor>> &)> bucketReady;
  std::function<void()> betweenSteps;

  /// The flat index in the whole batch of element 0 of an n-element tensor of this
  /// slice. Dropped tensors lead with the batch axis (row-major, so the whole batch's
  /// flat index is rowOffset * (n / sliceRows) + i); one that does not divide into
  /// the slice's rows cannot be placed and throws.
  uint64_t dropoutIndexOffset(int64_t n) const {
    if (sliceRows <= 0 || rowOffset == 0) return 0;
    if (n % sliceRows != 0)
      throw Error("dropout on a tensor of " + std::to_string(n) + " elements in a slice of " +
                  std::to_string(sliceRows) + " batch rows: its masks cannot be keyed by the whole batch's "
                  "element index (micro-batches and data-parallel training need dropout on batch-major tensors)");
    return (uint64_t)(rowOffset * (n / sliceRows));
  }
};

}  // namespace heed::rt

//===- GradientBuckets.h - the gradient allreduce in the schedule -*- C++ -*-===//
//
// Data-parallel training sums every gradient across the ranks before the
// optimizer step. So that the sums overlap the backward (as PyTorch DDP does),
// train_step's schedule groups the gradients into buckets in the order the
// schedule produces them (DDP's sizes: the first bucket 1 MiB, then 25 MiB; a
// bucket closes at the first gradient that reaches its size) and a
// gradient_bucket step follows the step that produces each bucket's last
// gradient. The executor runs it like any library call: it hands the bucket to
// RunContext::bucketReady, where the trainer starts the bucket's nonblocking
// sum (runtime/train/GradientSum.h); RunContext::betweenSteps progresses the
// sums while the rest of the backward runs; the trainer waits for them before
// the optimizer step. In one process bucketReady is unset and the steps do
// nothing. `heed compile --stats` prints the buckets; artifacts store the steps.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/compiled/Executor.h"

#include <cstdint>
#include <vector>

namespace heed::rt {

/// DDP's defaults (torch.nn.parallel.DistributedDataParallel: bucket_cap_mb 25,
/// the first bucket 1 MiB).
constexpr int64_t kFirstBucketBytes = 1 << 20, kBucketBytes = 25 << 20;

/// Adds the gradient_bucket steps to a plan with an optimizer_step (others are
/// left alone) and recomputes its liveness; returns the number of buckets.
/// Sizes 0: HEED_BUCKET_BYTES=FIRST,REST if set (tests: many buckets on small
/// models), else DDP's.
int addGradientBucketSteps(Plan &plan, int64_t firstBytes = 0, int64_t bucketBytes = 0);

struct GradientBucketInfo {
  int64_t gradients = 0, bytes = 0;
  /// Its position: the steps of the schedule before it and those after it
  /// (before the optimizer step), i.e. the work left to hide its sum behind.
  int64_t stepsBefore = 0, stepsAfter = 0;
  /// The matmul FLOPs of the steps after it, as a share of the plan's.
  double flopsAfterShare = 0;
};

/// The gradient_bucket steps of a plan, in schedule order.
std::vector<GradientBucketInfo> gradientBuckets(const Plan &plan);

}  // namespace heed::rt

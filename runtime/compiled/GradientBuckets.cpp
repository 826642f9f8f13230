//===- GradientBuckets.cpp - the gradient allreduce in the schedule --------===//

#include "runtime/compiled/GradientBuckets.h"

#include "runtime/Error.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>

namespace heed::rt {

namespace {

int findOptimizerStep(const Plan &plan) {
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const PlanStep &s = plan.steps[i];
    if (s.kind == PlanStep::Kind::Library && s.op.kind == LibraryOp::Kind::OptimizerStep) return (int)i;
  }
  return -1;
}

bool isBucket(const PlanStep &s) {
  return s.kind == PlanStep::Kind::Library && s.op.kind == LibraryOp::Kind::GradientBucket;
}

/// 2 M N K of a matmul step (0 for other steps).
double matmulFlops(const Plan &plan, const PlanStep &s) {
  if (s.kind != PlanStep::Kind::Library || s.op.kind != LibraryOp::Kind::Matmul || s.outputs.empty()) return 0;
  const Shape &lhs = plan.values[s.inputs[0]].shape;
  if (lhs.size() < 2) return 0;
  const int64_t k = s.op.transposeLhs ? lhs[lhs.size() - 2] : lhs.back();
  return 2.0 * (double)numElements(plan.values[s.outputs[0]].shape) * (double)k;
}

}  // namespace

int addGradientBucketSteps(Plan &plan, int64_t firstBytes, int64_t bucketBytes) {
  if (firstBytes <= 0 || bucketBytes <= 0) {
    firstBytes = kFirstBucketBytes;
    bucketBytes = kBucketBytes;
    if (const char *e = std::getenv("HEED_BUCKET_BYTES")) {
      long long a = 0, b = 0;
      if (std::sscanf(e, "%lld,%lld", &a, &b) != 2 || a <= 0 || b <= 0)
        throw Error(std::string("HEED_BUCKET_BYTES must be FIRST,REST (two byte counts > 0), got '") + e + "'");
      firstBytes = a;
      bucketBytes = b;
    }
  }
  const int opt = findOptimizerStep(plan);
  if (opt < 0) return 0;
  for (const PlanStep &s : plan.steps)
    if (isBucket(s)) return (int)gradientBuckets(plan).size();  // already bucketed (an artifact's plan)
  const PlanStep &optimizer = plan.steps[(size_t)opt];
  // The step that writes each gradient (-1: an entry argument).
  std::vector<int> producer(plan.values.size(), -1);
  for (size_t i = 0; i < plan.steps.size(); ++i)
    for (int v : plan.steps[i].outputs) producer[(size_t)v] = (int)i;
  const size_t n = optimizer.inputs.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return producer[(size_t)optimizer.inputs[a]] < producer[(size_t)optimizer.inputs[b]];
  });
  // Buckets in ready order, DDP's way: a bucket closes at the gradient that
  // brings it to its size.
  struct Bucket {
    std::vector<size_t> grads;  // indices into the optimizer step's inputs
    int64_t bytes = 0;
    int after = -1;  // the step producing its last gradient
  };
  std::vector<Bucket> buckets(1);
  for (size_t g : order) {
    Bucket &b = buckets.back();
    const int v = optimizer.inputs[g];
    b.grads.push_back(g);
    b.bytes += plan.values[(size_t)v].bytes();
    b.after = std::max(b.after, producer[(size_t)v]);
    if (b.bytes >= (buckets.size() == 1 ? firstBytes : bucketBytes)) buckets.emplace_back();
  }
  if (buckets.back().grads.empty()) buckets.pop_back();

  std::vector<PlanStep> steps;
  steps.reserve(plan.steps.size() + buckets.size());
  size_t next = 0;
  auto emitUpTo = [&](int after) {
    for (; next < buckets.size() && buckets[next].after <= after; ++next) {
      PlanStep s;
      s.kind = PlanStep::Kind::Library;
      s.op.kind = LibraryOp::Kind::GradientBucket;
      s.op.bucket = (int64_t)next;
      for (size_t g : buckets[next].grads) {
        s.inputs.push_back(optimizer.inputs[g]);
        s.op.names.push_back(optimizer.op.names.at(g));
      }
      steps.push_back(std::move(s));
    }
  };
  emitUpTo(-1);
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    steps.push_back(std::move(plan.steps[i]));
    emitUpTo((int)i);
  }
  plan.steps = std::move(steps);
  plan.validate();
  plan.computeLiveness();
  return (int)buckets.size();
}

std::vector<GradientBucketInfo> gradientBuckets(const Plan &plan) {
  const int opt = findOptimizerStep(plan);
  std::vector<GradientBucketInfo> out;
  if (opt < 0) return out;
  double total = 0;
  for (const PlanStep &s : plan.steps) total += matmulFlops(plan, s);
  int64_t before = 0;
  for (size_t i = 0; i < (size_t)opt; ++i) {
    const PlanStep &s = plan.steps[i];
    if (!isBucket(s)) {
      ++before;
      continue;
    }
    GradientBucketInfo b;
    b.gradients = (int64_t)s.inputs.size();
    for (int v : s.inputs) b.bytes += plan.values[(size_t)v].bytes();
    b.stepsBefore = before;
    double after = 0;
    for (size_t j = i + 1; j < (size_t)opt; ++j) {
      if (isBucket(plan.steps[j])) continue;
      ++b.stepsAfter;
      after += matmulFlops(plan, plan.steps[j]);
    }
    b.flopsAfterShare = total > 0 ? after / total : 0;
    out.push_back(b);
  }
  return out;
}

}  // namespace heed::rt

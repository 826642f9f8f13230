//===- GradientSum.h - a step's gradient from its slices --------*- C++ -*-===//
//
// With --micro-batches M, or N data-parallel ranks (each with M micro-batches),
// a step's batch is run as S = N x M slices of batch/S rows. Each slice's
// program computes the gradient of ITS mean loss; the step's gradient is the
// mean over all targets, so slice s contributes w_s * g_s with w_s = targets_s /
// targets of the step (1/S for LMs; seq2seq slices differ in their
// non-padding targets).
//
// The arithmetic is fixed so that one process and N ranks agree bit for bit:
// each product w_s * g_s is rounded to f32 on its own, then the products are
// added in slice order, ((p_0 + p_1) + p_2) + ..., which is the order of
// Communicator's sums (rank r's terms are slices r*M .. r*M+M-1).
//
// The gradients arrive in buckets (runtime/compiled/GradientBuckets.h): the
// compiled schedule hands each bucket over as soon as it has produced it
// (addBucket, starting that bucket's nonblocking sum while the backward goes
// on); the optimizer step hands over every gradient (addRest: those no bucket
// covered form one more bucket, which is all of them on the reference backend);
// finish() waits for the sums before the optimizer step.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"
#include "runtime/dist/Communicator.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace heed::rt {

class GradientSum {
public:
  using Grads = std::vector<std::pair<std::string, Tensor>>;
  /// `terms`: the slices this process trains per step (every rank the same number).
  GradientSum(Communicator &comm, int terms);

  /// Slice `term` of this process (weight w) has produced the gradients of the
  /// schedule's bucket `bucket`: their products go to the communicator, whose
  /// sum of them starts (with term 0) or gets its next term now.
  void addBucket(int term, int64_t bucket, const Grads &grads, float w);
  /// Slice `term`'s optimizer step, with every gradient, which fixes their order.
  void addRest(int term, const Grads &grads, float w);
  /// Advances the started sums (called between the steps of the schedule).
  void progress();
  /// Waits for every sum: the step's gradient, in the optimizer step's order.
  Grads finish();
  bool empty() const { return order.empty(); }

  struct Timing {
    double issue = 0, progress = 0, wait = 0;  // seconds in addBucket/addRest, progress(), finish()
    int64_t buckets = 0, doneBeforeWait = 0;   // sums, and those complete when finish() began
    int64_t floats = 0;                        // gradient floats summed
  };
  const Timing &timing() const { return timing_; }

private:
  struct Bucket {
    std::vector<std::string> names;
    std::vector<Shape> shapes;
    std::vector<float> result;
    int id = -1, added = 0;
  };
  void add(Bucket &b, int term, const Grads &grads, float w);

  static constexpr int64_t kRest = -1;  // the bucket of the gradients no schedule bucket covered
  Communicator &comm;
  int terms;
  std::map<int64_t, std::unique_ptr<Bucket>> buckets;
  std::vector<std::unique_ptr<Bucket> *> started;  // in the order their sums started
  std::map<std::string, int> covered;              // gradients in schedule buckets
  std::vector<std::string> order;                  // the optimizer step's
  Timing timing_;
};

/// Rows [row0, row0 + rows) of a tensor whose leading axis is the batch (a copy).
Tensor batchRows(const Tensor &t, int64_t row0, int64_t rows);

}  // namespace heed::rt

//===- GradientSum.h - a step's gradient from its slices --------*- C++ -*-===//
//
// With --micro-batches N (or N data-parallel ranks) a step's batch is run as N
// slices of batch/N rows. Each slice's program computes the gradient of ITS
// mean loss; the step's gradient is the mean over all targets, so slice s
// contributes w_s * g_s with w_s = targets_s / targets of the step (1/N for
// LMs; seq2seq slices differ in their non-padding targets).
//
// The arithmetic is fixed so that one process and N ranks agree bit for bit:
// each product w_s * g_s is rounded to f32 on its own, then the products are
// added in slice order, ((p_0 + p_1) + p_2) + ..., which is what
// Communicator::allreduceSumInRankOrder does with rank s's p_s.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace heed::rt {

class GradientSum {
public:
  /// Adds w * g, the first call fixing the gradients' names, order and shapes.
  void add(const std::vector<std::pair<std::string, Tensor>> &grads, float w);
  bool empty() const { return names.empty(); }
  /// The sum, flattened in the order of the first add (for a collective sum).
  float *data() { return flat.data(); }
  int64_t size() const { return (int64_t)flat.size(); }
  /// The sum as (parameter name, gradient) pairs, for applyUpdate.
  std::vector<std::pair<std::string, Tensor>> tensors() const;

private:
  std::vector<std::string> names;
  std::vector<Shape> shapes;
  std::vector<float> flat, product;
};

/// Rows [row0, row0 + rows) of a tensor whose leading axis is the batch (a copy).
Tensor batchRows(const Tensor &t, int64_t row0, int64_t rows);

}  // namespace heed::rt

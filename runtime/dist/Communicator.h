//===- Communicator.h - the collectives data-parallel training needs -*- C++ -*-===//
//
// The trainer (runtime/train/Trainer.h) runs one process per rank; this is all
// it asks of the transport. Implementations: LocalCommunicator (one process,
// here) and MpiCommunicator (MpiCommunicator.h, linked only into `heed`); a
// Gloo backend would implement the same five calls.
//
// Every call is collective: every rank makes the same calls in the same order.
// Sums are DETERMINISTIC: allreduceSumInRankOrder adds the ranks' buffers in
// rank order, ((x_0 + x_1) + x_2) + ..., so N ranks reproduce, bit for bit, one
// process that accumulates the same N slices in order (--micro-batches N).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace heed::rt {

class Communicator {
public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// data[i] = the sum over ranks, in rank order, of each rank's data[i]; the same
  /// bits on every rank.
  virtual void allreduceSumInRankOrder(float *data, int64_t n) = 0;
  /// all (size() * bytes) = every rank's `mine` (bytes each), in rank order.
  virtual void allgather(const void *mine, size_t bytes, void *all) = 0;
  /// Copies `root`'s bytes to every rank.
  virtual void broadcast(void *data, size_t bytes, int root) = 0;
  virtual void barrier() = 0;

  /// The OR over ranks of each rank's bits (stop requests of any rank).
  uint32_t anyBits(uint32_t mine);
  /// The lowest rank that passes true, or -1 if none does (a failure in any rank).
  int firstTrue(bool mine);
  /// Every rank's value, in rank order.
  std::vector<double> allgatherDouble(double mine);
  std::vector<uint64_t> allgatherU64(uint64_t mine);
};

/// One process: rank 0 of 1; every collective is the identity.
class LocalCommunicator : public Communicator {
public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void allreduceSumInRankOrder(float *, int64_t) override {}
  void allgather(const void *mine, size_t bytes, void *all) override;
  void broadcast(void *, size_t, int) override {}
  void barrier() override {}
};

/// Thrown on the ranks that did not fail when another rank did: that rank
/// reports its own error, so this one prints nothing (exit 1).
struct OtherRankFailed {
  int rank;
};

}  // namespace heed::rt

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
// The nonblocking sums (startSum .. waitSums) are the same sum for the
// gradient buckets of a data-parallel step: a bucket's reduction starts when
// the schedule has produced its last gradient and runs while the backward goes
// on. Each rank may hand over several terms (its micro-batches): the sum is
// over rank 0's terms in order, then rank 1's, ..., which is what one process
// computes from all N x M slices in order (--micro-batches N*M).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace heed::rt {

class Communicator {
public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// data[i] = the sum over ranks, in rank order, of each rank's data[i]; the same
  /// bits on every rank. (A nonblocking sum of one term, waited for: it also waits
  /// for the sums started before it.)
  void allreduceSumInRankOrder(float *data, int64_t n);

  /// Starts a sum whose result[0, n) will be, on every rank, the sum in order of
  /// `terms` terms per rank (rank 0's terms 0..terms-1, then rank 1's, ...).
  /// Returns its id. Every rank starts the same sums in the same order.
  virtual int startSum(float *result, int64_t n, int terms) = 0;
  /// Where this rank writes term `term` of sum `id` (n floats), before addTerm.
  virtual float *termBuffer(int id, int term) = 0;
  /// Hands over the written term (terms in order 0, 1, ...); does not block.
  virtual void addTerm(int id, int term) = 0;
  /// Advances the started sums without blocking (MPI progresses nonblocking
  /// collectives only inside MPI calls, so call it often); returns how many of
  /// them are complete.
  virtual int progressSums() = 0;
  /// Blocks until every started sum is complete (every result written); ids
  /// start from 0 again.
  virtual void waitSums() = 0;
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
  int startSum(float *result, int64_t n, int terms) override;
  float *termBuffer(int id, int term) override;
  void addTerm(int id, int term) override;
  int progressSums() override { return (int)sums.size(); }
  void waitSums() override { sums.clear(); }
  void allgather(const void *mine, size_t bytes, void *all) override;
  void broadcast(void *, size_t, int) override {}
  void barrier() override {}

private:
  // Term 0 is written into the result, later terms into `scratch` and added at once.
  struct Sum {
    float *result;
    int64_t n;
  };
  std::vector<Sum> sums;
  std::vector<float> scratch;
};

/// The batch-order sums of `width` scores per batch over batches [0, batches):
/// batch b is scored (score(b, out[width])) by rank b % size() alone and every
/// batch's scores reach every rank, which adds them in batch order, so the sums
/// have the same bits on every rank and for any number of ranks (sharded
/// validation). `comm` null: this process scores every batch.
std::vector<double> shardedBatchSums(Communicator *comm, int64_t batches, int width,
                                     const std::function<void(int64_t batch, double *out)> &score);

/// Thrown on the ranks that did not fail when another rank did: that rank
/// reports its own error, so this one prints nothing (exit 1).
struct OtherRankFailed {
  int rank;
};

}  // namespace heed::rt

// Run under mpirun (any -np): MpiCommunicator's collectives against what each
// rank computes alone from every rank's (deterministic) data. Exit 0 iff all agree.
#include "runtime/Random.h"
#include "runtime/dist/MpiCommunicator.h"

#include <cstdio>
#include <vector>

using namespace heed::rt;

static float valueOf(int rank, int64_t i) {
  // Magnitudes spread over 2^-10..2^10 so that the order of the sum matters.
  float u = uniform01(7, (uint64_t)rank, (uint64_t)i);
  return (u - 0.5f) * (float)(1 << (int)(hash64(8, (uint64_t)rank, (uint64_t)i) % 21)) / 1024.0f;
}

int main() {
  std::unique_ptr<Communicator> comm = makeMpiCommunicator();
  const int r = comm->rank(), n = comm->size();
  int bad = 0;
  for (int64_t len : {1, 7, 1000, 100003}) {
    std::vector<float> x((size_t)len);
    for (int64_t i = 0; i < len; ++i) x[(size_t)i] = valueOf(r, i);
    comm->allreduceSumInRankOrder(x.data(), len);
    for (int64_t i = 0; i < len; ++i) {
      float want = valueOf(0, i);
      for (int q = 1; q < n; ++q) want += valueOf(q, i);  // rank order
      if (x[(size_t)i] != want) {
        if (bad++ < 3) std::fprintf(stderr, "rank %d: len %lld [%lld] = %a, want %a\n", r, (long long)len,
                                    (long long)i, x[(size_t)i], want);
      }
    }
  }
  // Nonblocking sums of two buckets with three terms per rank, their terms
  // interleaved and progressed as the trainer does: each element is the sum of
  // the N*3 terms in global order (rank-major), as one process summing N*3 slices.
  {
    const int terms = 3;
    const int64_t lens[2] = {5, 40001};
    std::vector<float> result[2];
    int id[2];
    for (int b = 0; b < 2; ++b) {
      result[b].assign((size_t)lens[b], -1.0f);
      id[b] = comm->startSum(result[b].data(), lens[b], terms);
    }
    for (int j = 0; j < terms; ++j)
      for (int b = 0; b < 2; ++b) {
        float *t = comm->termBuffer(id[b], j);
        for (int64_t i = 0; i < lens[b]; ++i) t[i] = valueOf(r * terms + j, i + 17 * b);
        comm->addTerm(id[b], j);
        comm->progressSums();
      }
    comm->waitSums();
    for (int b = 0; b < 2; ++b)
      for (int64_t i = 0; i < lens[b]; ++i) {
        float want = valueOf(0, i + 17 * b);
        for (int q = 1; q < n * terms; ++q) want += valueOf(q, i + 17 * b);
        if (result[b][(size_t)i] != want && bad++ < 3)
          std::fprintf(stderr, "rank %d: bucket %d [%lld] = %a, want %a\n", r, b, (long long)i, result[b][(size_t)i],
                       want);
      }
  }
  // Sharded batch sums: batch b scored by rank b % n, summed in batch order.
  {
    std::vector<double> s = shardedBatchSums(comm.get(), 7, 2, [&](int64_t b, double *out) {
      if (b % n != r) ++bad;
      out[0] = 0.1 * (double)(b + 1);
      out[1] = 1.0;
    });
    double want = 0;
    for (int b = 0; b < 7; ++b) want += 0.1 * (double)(b + 1);
    bad += s[0] != want || s[1] != 7.0;
  }
  if (comm->anyBits(1u << r) != (n >= 32 ? ~0u : (1u << n) - 1)) ++bad;
  if (comm->firstTrue(r == n - 1) != n - 1) ++bad;
  std::vector<uint64_t> all = comm->allgatherU64((uint64_t)r * 10);
  for (int q = 0; q < n; ++q) bad += all[(size_t)q] != (uint64_t)q * 10;
  double b = r == 0 ? 2.5 : 0.0;
  comm->broadcast(&b, sizeof b, 0);
  bad += b != 2.5;
  comm->barrier();
  bad = comm->firstTrue(bad != 0) >= 0;
  if (r == 0) std::printf("%s: MpiCommunicator on %d ranks\n", bad ? "FAIL" : "ok", n);
  return bad ? 1 : 0;
}

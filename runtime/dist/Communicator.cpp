//===- Communicator.cpp - collectives built on allgather -------------------===//

#include "runtime/dist/Communicator.h"

#include <cstring>

namespace heed::rt {

uint32_t Communicator::anyBits(uint32_t mine) {
  std::vector<uint32_t> all((size_t)size());
  allgather(&mine, sizeof mine, all.data());
  uint32_t bits = 0;
  for (uint32_t b : all) bits |= b;
  return bits;
}

int Communicator::firstTrue(bool mine) {
  std::vector<uint8_t> all((size_t)size());
  uint8_t m = mine ? 1 : 0;
  allgather(&m, 1, all.data());
  for (size_t r = 0; r < all.size(); ++r)
    if (all[r]) return (int)r;
  return -1;
}

std::vector<double> Communicator::allgatherDouble(double mine) {
  std::vector<double> all((size_t)size());
  allgather(&mine, sizeof mine, all.data());
  return all;
}

std::vector<uint64_t> Communicator::allgatherU64(uint64_t mine) {
  std::vector<uint64_t> all((size_t)size());
  allgather(&mine, sizeof mine, all.data());
  return all;
}

void Communicator::allreduceSumInRankOrder(float *data, int64_t n) {
  if (n == 0) return;
  const int id = startSum(data, n, 1);
  float *term = termBuffer(id, 0);
  if (term != data) std::memcpy(term, data, (size_t)n * sizeof(float));
  addTerm(id, 0);
  waitSums();
}

std::vector<double> shardedBatchSums(Communicator *comm, int64_t batches, int width,
                                     const std::function<void(int64_t, double *)> &score) {
  const int rank = comm ? comm->rank() : 0, size = comm ? comm->size() : 1;
  const size_t row = (size_t)width, per = (size_t)batches * row;
  std::vector<double> mine(per, 0.0);
  for (int64_t b = rank; b < batches; b += size) score(b, mine.data() + (size_t)b * row);
  std::vector<double> all;
  if (size > 1) {
    all.resize(per * (size_t)size);
    comm->allgather(mine.data(), per * sizeof(double), all.data());
  } else {
    all = std::move(mine);
  }
  std::vector<double> sum(row, 0.0);
  for (int64_t b = 0; b < batches; ++b) {
    const double *x = all.data() + (size_t)(b % size) * per + (size_t)b * row;  // from its scorer
    for (size_t k = 0; k < row; ++k) sum[k] += x[k];
  }
  return sum;
}

int LocalCommunicator::startSum(float *result, int64_t n, int) {
  sums.push_back({result, n});
  return (int)sums.size() - 1;
}

float *LocalCommunicator::termBuffer(int id, int term) {
  const Sum &s = sums.at((size_t)id);
  if (term == 0) return s.result;
  scratch.resize((size_t)s.n);
  return scratch.data();
}

void LocalCommunicator::addTerm(int id, int term) {
  if (term == 0) return;
  const Sum &s = sums.at((size_t)id);
  // The term was rounded when it was stored: a plain add (no fused multiply-add).
  for (int64_t i = 0; i < s.n; ++i) s.result[i] += scratch[(size_t)i];
}

void LocalCommunicator::allgather(const void *mine, size_t bytes, void *all) {
  if (bytes) std::memcpy(all, mine, bytes);
}

}  // namespace heed::rt

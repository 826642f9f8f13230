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

void LocalCommunicator::allgather(const void *mine, size_t bytes, void *all) {
  if (bytes) std::memcpy(all, mine, bytes);
}

}  // namespace heed::rt

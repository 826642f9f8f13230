//===- Random.cpp - counter-based random numbers --------------------------===//

#include "runtime/Random.h"

#include <cmath>

namespace heed::rt {

namespace {
constexpr uint64_t kGolden = kHashGolden;
}

uint64_t hash64(uint64_t seed, uint64_t stream, uint64_t index) {
  uint64_t h = mix64(seed + kGolden);
  h = mix64(h ^ (stream + 2 * kGolden));
  h = mix64(h ^ (index + 3 * kGolden));
  return h;
}

uint64_t hashString(std::string_view s) {
  uint64_t h = 0xCBF29CE484222325ULL;  // FNV-1a offset basis
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001B3ULL;  // FNV prime
  }
  return mix64(h);
}

float uniform01(uint64_t seed, uint64_t stream, uint64_t index) {
  return (float)(hash64(seed, stream, index) >> 40) * (1.0f / 16777216.0f);
}

float normal(uint64_t seed, uint64_t stream, uint64_t index) {
  double u1 = uniform01(seed, stream, 2 * index);
  double u2 = uniform01(seed, stream, 2 * index + 1);
  double r = std::sqrt(-2.0 * std::log(1.0 - u1));
  return (float)(r * std::cos(2.0 * 3.14159265358979323846 * u2));
}

}  // namespace heed::rt

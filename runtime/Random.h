//===- Random.h - counter-based random numbers ------------------*- C++ -*-===//
//
// A stateless, counter-based generator: every random number is a pure function
// of (seed, stream, index), so every backend, thread count and resumed run
// reproduces the same values without carrying generator state around.
//
//   * dropout uses stream = the training step and index = the flat element index;
//   * parameter init uses stream = hashString(parameter name), index = element index.
//
// hash64 chains the splitmix64 finaliser (Steele, Lea, Flood 2014; the mixer of
// java.util.SplittableRandom) over the three keys:
//
//   h = mix(seed   + G)
//   h = mix(h ^ (stream + 2G))
//   h = mix(h ^ (index  + 3G))        with G = 0x9E3779B97F4A7C15 (golden ratio),
//
//   mix(z) = z ^= z >> 30; z *= 0xBF58476D1CE4E5B9;
//            z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31
//
// The values are part of the on-disk/reproducibility contract: do not change them.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace heed::rt {

/// The splitmix64 finaliser (a bijection on uint64_t). Inline: the native
/// dropout kernel calls it per element.
inline uint64_t mix64(uint64_t z) {
  z ^= z >> 30;
  z *= 0xBF58476D1CE4E5B9ULL;
  z ^= z >> 27;
  z *= 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return z;
}

/// The golden-ratio increment that separates hash64's three rounds.
constexpr uint64_t kHashGolden = 0x9E3779B97F4A7C15ULL;

/// 64 well-mixed bits for (seed, stream, index).
uint64_t hash64(uint64_t seed, uint64_t stream, uint64_t index);

/// FNV-1a of the bytes, then mix64: a stable stream id for a parameter name.
uint64_t hashString(std::string_view s);

/// Uniform in [0, 1): the top 24 bits of hash64, times 2^-24 (exact in f32).
float uniform01(uint64_t seed, uint64_t stream, uint64_t index);

/// Standard normal by Box-Muller from u1 = uniform01(.., 2*index), u2 = uniform01(.., 2*index+1):
/// sqrt(-2 ln(1 - u1)) * cos(2 pi u2), computed in double (1 - u1 is in (0, 1], so finite).
float normal(uint64_t seed, uint64_t stream, uint64_t index);

/// Fisher-Yates shuffle driven by hash64(seed, stream, i): for i = n-1 down to 1, swap
/// v[i] with v[j], j = the high 64 bits of hash64(...) * (i + 1) (a multiply-shift map
/// to [0, i]). The same (seed, stream, size) always gives the same order.
template <typename T>
void shuffleHashed(std::vector<T> &v, uint64_t seed, uint64_t stream) {
  for (int64_t i = (int64_t)v.size() - 1; i > 0; --i) {
    const uint64_t bits = hash64(seed, stream, (uint64_t)i);
    const auto j = (size_t)(((unsigned __int128)bits * (uint64_t)(i + 1)) >> 64);
    std::swap(v[(size_t)i], v[j]);
  }
}

}  // namespace heed::rt

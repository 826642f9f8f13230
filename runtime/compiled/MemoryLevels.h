//===- MemoryLevels.h - cache sizes and measured bandwidth per level -*- C++ -*-===//
//
// HEED_PROFILE=kernels rates each kernel's achieved GB/s against the memory
// level its data fits in. The levels are the host's L2 and L3 (sizes from
// /sys/devices/system/cpu/cpu0/cache) and DRAM; the bandwidth of each is
// measured in the same process, with 1 thread and with all OpenMP threads, by
// a streaming loop (dst = a + b, the shape of a binary elementwise kernel) over
// a working set of half the level's size (DRAM: four times the L3).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace heed::rt {

struct MemoryLevel {
  std::string name;       // "L2", "L3", "DRAM"
  int64_t capacity = 0;   // bytes; 0: unbounded (DRAM)
  bool perCore = false;   // a private cache: each thread has `capacity` of its own
  /// Measured GB/s (1e9 bytes read + written per second), indexed by threads - 1.
  std::vector<double> gbps;
};

class MemoryLevels {
public:
  /// Reads the cache sizes of this host (no measurement).
  static MemoryLevels ofHost();
  /// Measures every level's bandwidth for 1 and for `maxThreads` threads (a few
  /// hundred milliseconds). Other thread counts interpolate to the nearest measured.
  void measure(int maxThreads);

  /// The smallest level whose capacity holds `bytes` touched by `threads` threads:
  /// a per-core level holds bytes / threads per core, a shared one holds `bytes`.
  /// A level counts as holding data up to 3/4 of its size.
  const MemoryLevel &levelFor(double bytes, int threads) const;
  /// The measured bandwidth of `level` with `threads` threads (0 if not measured).
  static double bandwidth(const MemoryLevel &level, int threads);

  std::vector<MemoryLevel> levels;  // smallest first; the last is DRAM
};

}  // namespace heed::rt

//===- ExecProfile.h - time, calls and bytes per step kind -----*- C++ -*-===//
//
// HEED_PROFILE=1 times the executor's steps by kind ("fused kernels",
// "matmul", ...); HEED_PROFILE=kernels by kernel symbol and library call site,
// and also rates each row's achieved bandwidth (bytes of its operands and
// results per second) against the memory level those bytes fit in (measured
// when the profile is printed, runtime/compiled/MemoryLevels.h).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

namespace heed::rt {

class MemoryLevels;

struct ProfileRow {
  double seconds = 0;
  int64_t calls = 0;
  double bytes = 0;  // operands read + results written, summed over the calls
  int threads = 1;   // threads one call runs on (a row-split kernel: its chunks)
  /// The fastest call: on a loaded machine the mean includes time slices lost to
  /// other processes, the best call mostly does not.
  double best = 0;
  void add(double s, double b, int t) {
    best = calls == 0 ? s : std::min(best, s);
    seconds += s;
    calls += 1;
    bytes += b;
    threads = t;
  }
};
using ExecProfile = std::map<std::string, ProfileRow>;

/// True when HEED_PROFILE=kernels (one row per kernel / call site).
bool profilePerKernel();

/// Prints `profile` to `out`, largest first. With `levels` (HEED_PROFILE=kernels)
/// the table also has calls, time (mean and best) and MB per call, achieved GB/s,
/// the memory level the per-call bytes fit in, its measured GB/s and the
/// percentage reached.
void printProfile(const ExecProfile &profile, const std::string &title, std::FILE *out,
                  const MemoryLevels *levels);
/// printProfile to stderr; measures the host's memory levels if HEED_PROFILE=kernels.
/// The backends call it when they are destroyed.
void printProfile(const ExecProfile &profile, const std::string &title);

}  // namespace heed::rt

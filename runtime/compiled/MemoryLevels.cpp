//===- MemoryLevels.cpp ---------------------------------------------------===//

#include "runtime/compiled/MemoryLevels.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>

namespace heed::rt {
namespace {

std::string readLine(const std::string &path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

/// "1024K" / "32M" -> bytes; 0 if unreadable.
int64_t parseSize(const std::string &s) {
  if (s.empty()) return 0;
  int64_t v = std::atoll(s.c_str());
  switch (s.back()) {
  case 'K': return v << 10;
  case 'M': return v << 20;
  case 'G': return v << 30;
  default: return v;
  }
}

/// How many CPUs share a cache: "0-1" -> 2, "0,2,4" -> 3, "0" -> 1.
int countCpus(const std::string &list) {
  int n = 0;
  std::stringstream ss(list);
  std::string part;
  while (std::getline(ss, part, ',')) {
    auto dash = part.find('-');
    n += dash == std::string::npos ? 1 : std::atoi(part.c_str() + dash + 1) - std::atoi(part.c_str()) + 1;
  }
  return std::max(n, 1);
}

/// dst = a + b over n floats: two streams read, one written, like a binary
/// elementwise kernel. Cloned so that it runs with the widest vectors the host has
/// (the library itself is built for baseline x86-64).
__attribute__((target_clones("avx512f", "avx2", "default"), noinline)) void addArrays(
    float *__restrict dst, const float *__restrict a, const float *__restrict b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = a[i] + b[i];
}

/// GB/s of addArrays with `threads` threads, each over its own arrays of
/// `bytesPerThread` bytes in total; the best of 3 trials.
double measureAdd(int64_t bytesPerThread, int threads) {
  const int64_t n = std::max<int64_t>(bytesPerThread / (3 * (int64_t)sizeof(float)), 1024);
  const int64_t passBytes = 3 * n * (int64_t)sizeof(float);
  // Enough passes that a trial moves 256 MB per thread (at least 3 passes).
  const int reps = (int)std::max<int64_t>(3, (256 << 20) / passBytes);
  double best = 0;
#pragma omp parallel num_threads(threads)
  {
    // Each thread touches its arrays first, so they live near it.
    std::unique_ptr<float[]> a(new float[n]), b(new float[n]), d(new float[n]);
    for (int64_t i = 0; i < n; ++i) a[i] = b[i] = d[i] = (float)(i & 7);
    for (int trial = 0; trial < 3; ++trial) {
      addArrays(d.get(), a.get(), b.get(), n);  // warm the level
#pragma omp barrier
      auto t0 = std::chrono::steady_clock::now();
      for (int r = 0; r < reps; ++r) addArrays(d.get(), a.get(), b.get(), n);
#pragma omp barrier
#pragma omp master
      {
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::max(best, (double)passBytes * reps * omp_get_num_threads() / s / 1e9);
      }
#pragma omp barrier
    }
  }
  return best;
}

}  // namespace

MemoryLevels MemoryLevels::ofHost() {
  MemoryLevels m;
  const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index";
  for (int i = 0; i < 8; ++i) {
    std::string base = dir + std::to_string(i) + "/";
    std::string level = readLine(base + "level"), type = readLine(base + "type");
    if (level.empty()) break;
    if (type == "Instruction" || (level != "2" && level != "3")) continue;
    MemoryLevel l;
    l.name = "L" + level;
    l.capacity = parseSize(readLine(base + "size"));
    l.perCore = countCpus(readLine(base + "shared_cpu_list")) == 1;
    if (l.capacity > 0) m.levels.push_back(l);
  }
  std::sort(m.levels.begin(), m.levels.end(),
            [](const MemoryLevel &a, const MemoryLevel &b) { return a.name < b.name; });
  MemoryLevel dram;
  dram.name = "DRAM";
  m.levels.push_back(dram);
  return m;
}

void MemoryLevels::measure(int maxThreads) {
  maxThreads = std::max(maxThreads, 1);
  int64_t largest = 0;
  for (const MemoryLevel &l : levels) largest = std::max(largest, l.capacity);
  for (MemoryLevel &l : levels) {
    l.gbps.assign(maxThreads, 0.0);
    for (int t : {1, maxThreads}) {
      // Half a cache level; four times the largest cache (at least 64 MiB) for DRAM.
      int64_t total = l.capacity ? l.capacity / 2 : std::max<int64_t>(4 * largest, 64 << 20);
      int64_t perThread = l.capacity && l.perCore ? total : total / t;
      l.gbps[t - 1] = measureAdd(perThread, t);
    }
  }
}

const MemoryLevel &MemoryLevels::levelFor(double bytes, int threads) const {
  threads = std::max(threads, 1);
  for (const MemoryLevel &l : levels) {
    if (l.capacity == 0) return l;
    double held = l.perCore ? bytes / threads : bytes;
    if (held <= 0.75 * (double)l.capacity) return l;
  }
  return levels.back();
}

double MemoryLevels::bandwidth(const MemoryLevel &level, int threads) {
  if (level.gbps.empty()) return 0;
  int i = std::clamp(threads, 1, (int)level.gbps.size()) - 1;
  // Measured at 1 and at the most threads: take the nearest measured count.
  if (level.gbps[i] == 0) i = (i + 1) * 2 <= (int)level.gbps.size() ? 0 : (int)level.gbps.size() - 1;
  return level.gbps[i];
}

}  // namespace heed::rt

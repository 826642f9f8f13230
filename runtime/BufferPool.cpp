//===- BufferPool.cpp -----------------------------------------------------===//

#include "runtime/BufferPool.h"

#include "runtime/Error.h"
#include "runtime/MemoryBudget.h"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace heed::rt {
namespace {

constexpr size_t kPooledMin = 64 * 1024;
constexpr size_t kAlign = 64;
/// Beyond this many cached bytes, freed buffers go back to the system.
constexpr size_t kMaxCached = size_t(8) << 30;

struct Pool {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void *>> free;
  BufferPoolStats stats;
};

Pool &pool() {
  static Pool *p = new Pool();  // never destroyed: tensors may outlive static destructors
  return *p;
}

bool poison() {
  static const bool on = [] {
    const char *e = std::getenv("HEED_POISON_BUFFERS");
    return e && *e && *e != '0';
  }();
  return on;
}

struct ReturnToPool {
  size_t size;
  void operator()(uint8_t *p) const {
    Pool &pl = pool();
    std::lock_guard<std::mutex> lock(pl.mu);
    if (pl.stats.cachedBytes + size > kMaxCached) {
      std::free(p);
      return;
    }
    pl.free[size].push_back(p);
    pl.stats.cachedBytes += size;
  }
};

/// Gives every cached buffer back to the system (before a failed allocation is retried).
void releaseCache() {
  Pool &pl = pool();
  std::lock_guard<std::mutex> lock(pl.mu);
  for (auto &[size, list] : pl.free)
    for (void *p : list) std::free(p);
  pl.free.clear();
  pl.stats.cachedBytes = 0;
}

[[noreturn]] void outOfMemory(size_t bytes) {
  throw Error(fmt::format("out of memory: allocating a tensor of {} failed (the model, --batch or the "
                          "data need more memory than this process can get)",
                          formatMemorySize((int64_t)bytes)));
}

}  // namespace

std::shared_ptr<uint8_t[]> allocateStorage(size_t bytes, bool zero) {
  if (bytes < kPooledMin) {
    uint8_t *p = nullptr;
    try {
      p = zero ? new uint8_t[bytes ? bytes : 1]() : new uint8_t[bytes ? bytes : 1];
    } catch (const std::bad_alloc &) {
      outOfMemory(bytes);
    }
    if (!zero && poison()) std::memset(p, 0xFF, bytes);
    return std::shared_ptr<uint8_t[]>(p);
  }
  const size_t size = (bytes + kAlign - 1) / kAlign * kAlign;
  void *p = nullptr;
  {
    Pool &pl = pool();
    std::lock_guard<std::mutex> lock(pl.mu);
    auto it = pl.free.find(size);
    if (it != pl.free.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
      pl.stats.cachedBytes -= size;
      ++pl.stats.hits;
    } else {
      ++pl.stats.misses;
    }
  }
  if (!p) {
    p = std::aligned_alloc(kAlign, size);
    if (!p) {
      releaseCache();
      p = std::aligned_alloc(kAlign, size);
    }
    if (!p) outOfMemory(size);
  }
  if (zero) std::memset(p, 0, bytes);
  else if (poison()) std::memset(p, 0xFF, bytes);
  return std::shared_ptr<uint8_t[]>(static_cast<uint8_t *>(p), ReturnToPool{size});
}

BufferPoolStats bufferPoolStats() {
  Pool &pl = pool();
  std::lock_guard<std::mutex> lock(pl.mu);
  return pl.stats;
}

}  // namespace heed::rt

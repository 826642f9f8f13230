//===- Dnnl.h - oneDNN plumbing shared by the native kernels ----*- C++ -*-===//
//
// Internal to heed_native. One CPU engine per process, one stream per thread,
// and a small per-thread cache of primitives keyed by their full configuration
// (including the thread count: oneDNN primitives built for N OpenMP threads
// must run with N).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <dnnl.hpp>
#include <omp.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <unordered_map>

namespace heed::rt::native::detail {

dnnl::engine &cpuEngine();
/// This thread's stream on cpuEngine().
dnnl::stream &cpuStream();

/// A plain key: a fixed array of int64 fields, compared and hashed bytewise.
template <int N>
struct Key {
  int64_t f[N] = {};
  bool operator==(const Key &o) const { return std::memcmp(f, o.f, sizeof f) == 0; }
};
template <int N>
struct KeyHash {
  size_t operator()(const Key<N> &k) const {
    uint64_t h = 0xCBF29CE484222325ULL;
    for (int i = 0; i < N; ++i) {
      h ^= (uint64_t)k.f[i];
      h *= 0x100000001B3ULL;
      h ^= h >> 29;
    }
    return (size_t)h;
  }
};

/// A per-thread map Key -> Entry, cleared wholesale when it grows past `cap`
/// (training loops use a handful of shapes; this bounds pathological growth).
template <int N, class Entry>
class PrimCache {
public:
  explicit PrimCache(size_t cap = 512) : cap_(cap) {}
  template <class Make>
  Entry &get(const Key<N> &k, Make make) {
    auto it = map_.find(k);
    if (it != map_.end()) return *it->second;
    if (map_.size() >= cap_) map_.clear();
    auto e = std::make_unique<Entry>(make());
    Entry &ref = *e;
    map_.emplace(k, std::move(e));
    return ref;
  }
  void clear() { map_.clear(); }

private:
  size_t cap_;
  std::unordered_map<Key<N>, std::unique_ptr<Entry>, KeyHash<N>> map_;
};

/// Runs a small oneDNN call on the calling thread alone: oneDNN parallelises
/// even tiny problems, and waking a (passive) OpenMP team costs 5-10 us, more
/// than a 32^3 matmul. Construct before building the cache key (keys include
/// omp_get_max_threads()), so the primitive is created and run with 1 thread.
class SerialIfSmall {
public:
  explicit SerialIfSmall(bool small) {
    if (small && (saved_ = omp_get_max_threads()) > 1) omp_set_num_threads(1);
    else saved_ = 0;
  }
  ~SerialIfSmall() {
    if (saved_) omp_set_num_threads(saved_);
  }
  SerialIfSmall(const SerialIfSmall &) = delete;
  SerialIfSmall &operator=(const SerialIfSmall &) = delete;

private:
  int saved_ = 0;
};

/// Element counts below which the oneDNN calls run serially (as the loops do, see VecMath.h).
constexpr int64_t kDnnlSerialElems = 1 << 15;
/// Matmul flops (2 batch M N K) below which the matmul runs serially.
constexpr double kDnnlSerialFlops = 4.0e6;

/// A plain f32 row-major memory descriptor.
inline dnnl::memory::desc plainDesc(const dnnl::memory::dims &dims) {
  dnnl::memory::dims strides(dims.size());
  int64_t s = 1;
  for (int i = (int)dims.size() - 1; i >= 0; --i) {
    strides[i] = s;
    s *= dims[i];
  }
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

/// A memory object with no buffer of its own; callers set the handle per call.
inline dnnl::memory userMemory(const dnnl::memory::desc &md) {
  return dnnl::memory(md, cpuEngine(), DNNL_MEMORY_NONE);
}

inline void setHandle(dnnl::memory &m, const void *p) {
  m.set_data_handle(const_cast<void *>(p));
}

}  // namespace heed::rt::native::detail

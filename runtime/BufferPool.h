//===- BufferPool.h - reused storage for large tensors ----------*- C++ -*-===//
//
// A training step allocates and frees the same few hundred buffers every step.
// Fresh large allocations come from mmap, so each one page-faults and is
// zero-filled by the kernel before a kernel writes it: measured on the g2p
// benchmark step, that was about 10% of the step. Large storage (>= 64 KiB) is
// therefore kept in free lists keyed by exact size and handed out again; the
// steady state holds about the step's peak live set. Thread-safe.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace heed::rt {

/// Storage of `bytes` bytes (64-byte aligned when pooled). `zero`: zero-filled;
/// otherwise the contents are unspecified (all bytes 0xFF, i.e. NaN floats, when
/// HEED_POISON_BUFFERS=1, so that a kernel that leaves an element unwritten
/// shows up in tests).
std::shared_ptr<uint8_t[]> allocateStorage(size_t bytes, bool zero);

struct BufferPoolStats {
  size_t cachedBytes = 0;  // held in free lists now
  size_t hits = 0, misses = 0;
};
BufferPoolStats bufferPoolStats();

}  // namespace heed::rt

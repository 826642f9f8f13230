//===- LengthBuckets.h - training batches grouped by length -----*- C++ -*-===//
//
// Most pairs of a G2P corpus are far shorter than the model's src_len/tgt_len
// (CMUdict: 96% fit 12/12 of a 24/24 model), so a batch padded to the full
// lengths spends most of its compute on padding. With length buckets, each
// batch holds pairs of one bucket and is padded only to that bucket's lengths;
// the trainer runs it through a program compiled for those lengths (same
// parameters: nothing in a heed model's weights depends on the lengths, and a
// padded position never changes the non-padded ones, so the loss and the
// gradients of a batch are the same at any lengths it fits).
//
// Buckets are (srcLen, tgtLen) pairs, strictly growing, the last one the data's
// own lengths. A pair belongs to the first bucket it fits (src <= srcLen and
// tgt + 1 <= tgtLen).
//
// The batches of epoch e (a pure function of seed, e and the batch size, so a
// resumed run sees the batches an uninterrupted one would):
//   1. the examples in the order of a Fisher-Yates shuffle driven by
//      hash64(seed ^ hashString("heed.seq2seq.buckets"), 2e, i);
//   2. walked bucket by bucket, shortest first: full batches of `batch`
//      examples; the remainder of a bucket moves up into the next one (it fits
//      there too); the last bucket's remainder is completed with the first
//      examples of the epoch's order (so those few are seen twice);
//   3. the batch order shuffled with hash64(..., 2e + 1, i).
// The number of batches per epoch depends only on the bucket sizes, so step s
// is batch (s mod N) of epoch (s div N), N = batchesPerEpoch().
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"
#include "runtime/seq2seq/ParallelData.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace heed::rt {

struct Bucket {
  int64_t srcLen = 0, tgtLen = 0;
  int64_t examples = 0;  // examples whose first fitting bucket this is
};

/// The buckets for `lengths` (each one caps both lengths: bucket L is
/// (min(L, srcLen), min(L, tgtLen))) on top of the full (srcLen, tgtLen).
/// Throws rt::Error for lengths that are not strictly increasing, below 2, or
/// not below max(srcLen, tgtLen) (the full lengths are always the last bucket).
std::vector<Bucket> makeBuckets(const std::vector<int64_t> &lengths, int64_t srcLen, int64_t tgtLen);

/// "12 16" or "12,16" -> {12, 16}; rt::Error naming `what` for anything else.
std::vector<int64_t> parseBucketLengths(const std::string &text, const std::string &what);

class LengthBuckets {
public:
  /// `buckets` from makeBuckets for data.srcLen()/tgtLen(); counts filled in here.
  LengthBuckets(const EncodedData &data, std::vector<Bucket> buckets, int64_t batch);

  const std::vector<Bucket> &buckets() const { return buckets_; }
  int64_t batchesPerEpoch() const { return batchesPerEpoch_; }
  /// Batches per epoch in each bucket (after remainders moved up).
  const std::vector<int64_t> &batchesPerBucket() const { return perBucket_; }

  /// Fills the batch of training step `step` (>= 0) padded to its bucket's
  /// lengths: src i32 [batch, srcLen], tgtIn/tgtOut i32 [batch, tgtLen] as
  /// EncodedData::batch. Returns the bucket index. Thread-safe.
  int batch(int64_t step, uint64_t seed, Tensor &src, Tensor &tgtIn, Tensor &tgtOut) const;

  /// The example indices of step `step`'s batch and its bucket (for tests).
  std::pair<int, std::vector<int64_t>> batchExamples(int64_t step, uint64_t seed) const;

private:
  struct Plan;
  std::shared_ptr<const Plan> planFor(int64_t epoch, uint64_t seed) const;

  const EncodedData &data_;
  std::vector<Bucket> buckets_;
  std::vector<int> bucketOf_;  // per example
  int64_t batch_ = 0, batchesPerEpoch_ = 0;
  std::vector<int64_t> perBucket_;
  struct Cache;
  std::shared_ptr<Cache> cache_;
};

}  // namespace heed::rt

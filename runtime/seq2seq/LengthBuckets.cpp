//===- LengthBuckets.cpp - training batches grouped by length -------------===//

#include "runtime/seq2seq/LengthBuckets.h"

#include "runtime/Error.h"
#include "runtime/Random.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <numeric>

namespace heed::rt {

namespace {

uint64_t bucketDomain() {
  static const uint64_t d = hashString("heed.seq2seq.buckets");
  return d;
}

}  // namespace

std::vector<int64_t> parseBucketLengths(const std::string &text, const std::string &what) {
  std::vector<int64_t> out;
  size_t i = 0;
  while (i < text.size()) {
    if (std::isspace((unsigned char)text[i]) || text[i] == ',') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && std::isdigit((unsigned char)text[j])) ++j;
    if (j == i || (j < text.size() && !std::isspace((unsigned char)text[j]) && text[j] != ','))
      throw Error(fmt::format("{} expects lengths separated by spaces or commas (e.g. \"12 16\"), got '{}'",
                              what, text));
    if (j - i > 9) throw Error(fmt::format("{}: length '{}' is too large", what, text.substr(i, j - i)));
    out.push_back(std::stoll(text.substr(i, j - i)));
    i = j;
  }
  return out;
}

std::vector<Bucket> makeBuckets(const std::vector<int64_t> &lengths, int64_t srcLen, int64_t tgtLen) {
  std::vector<Bucket> out;
  const int64_t full = std::max(srcLen, tgtLen);
  for (size_t i = 0; i < lengths.size(); ++i) {
    const int64_t l = lengths[i];
    if (l < 2) throw Error(fmt::format("bucket length {} is below 2 (tgt_in needs BOS and one symbol)", l));
    if (i > 0 && l <= lengths[i - 1])
      throw Error(fmt::format("bucket lengths must increase: {} follows {}", l, lengths[i - 1]));
    if (l >= full)
      throw Error(fmt::format("bucket length {} is not below the model's lengths (src_len {}, tgt_len {}), "
                              "which are always the last bucket",
                              l, srcLen, tgtLen));
    out.push_back({std::min(l, srcLen), std::min(l, tgtLen), 0});
  }
  out.push_back({srcLen, tgtLen, 0});
  return out;
}

struct LengthBuckets::Plan {
  std::vector<std::pair<int, std::vector<int64_t>>> batches;  // (bucket, example indices)
};

struct LengthBuckets::Cache {
  std::mutex mu;
  uint64_t seed = 0;
  int64_t epoch = -1;
  std::shared_ptr<const Plan> plan;
};

LengthBuckets::LengthBuckets(const EncodedData &data, std::vector<Bucket> buckets, int64_t batch)
    : data_(data), buckets_(std::move(buckets)), batch_(batch), cache_(std::make_shared<Cache>()) {
  if (batch < 1) throw Error(fmt::format("LengthBuckets: batch must be >= 1, got {}", batch));
  if (data.size() == 0) throw Error("LengthBuckets: no examples to draw a batch from");
  if (buckets_.empty() || buckets_.back().srcLen != data.srcLen() || buckets_.back().tgtLen != data.tgtLen())
    throw Error("LengthBuckets: the last bucket must be the data's own lengths");
  for (auto &b : buckets_) b.examples = 0;
  bucketOf_.resize((size_t)data.size());
  for (int64_t i = 0; i < data.size(); ++i) {
    const Example &e = data.examples()[(size_t)i];
    int k = 0;
    while ((int64_t)e.src.size() > buckets_[(size_t)k].srcLen || (int64_t)e.tgt.size() + 1 > buckets_[(size_t)k].tgtLen)
      ++k;  // the last bucket always fits (EncodedData checked it)
    bucketOf_[(size_t)i] = k;
    ++buckets_[(size_t)k].examples;
  }
  int64_t carry = 0;
  for (size_t k = 0; k < buckets_.size(); ++k) {
    const int64_t n = carry + buckets_[k].examples;
    const bool last = k + 1 == buckets_.size();
    const int64_t full = last ? (n + batch - 1) / batch : n / batch;
    perBucket_.push_back(full);
    carry = last ? 0 : n - full * batch;
    batchesPerEpoch_ += full;
  }
}

std::shared_ptr<const LengthBuckets::Plan> LengthBuckets::planFor(int64_t epoch, uint64_t seed) const {
  std::lock_guard<std::mutex> lock(cache_->mu);
  if (cache_->plan && cache_->epoch == epoch && cache_->seed == seed) return cache_->plan;

  const uint64_t s = seed ^ bucketDomain();
  std::vector<int64_t> order((size_t)data_.size());
  std::iota(order.begin(), order.end(), int64_t(0));
  shuffleHashed(order, s, 2 * (uint64_t)epoch);

  std::vector<std::vector<int64_t>> members(buckets_.size());
  for (int64_t i : order) members[(size_t)bucketOf_[(size_t)i]].push_back(i);

  auto plan = std::make_shared<Plan>();
  std::vector<int64_t> carry;
  for (size_t k = 0; k < buckets_.size(); ++k) {
    std::vector<int64_t> pool = std::move(carry);
    pool.insert(pool.end(), members[k].begin(), members[k].end());
    carry.clear();
    const bool last = k + 1 == buckets_.size();
    size_t at = 0;
    for (; at + (size_t)batch_ <= pool.size(); at += (size_t)batch_)
      plan->batches.push_back({(int)k, std::vector<int64_t>(pool.begin() + (ptrdiff_t)at,
                                                            pool.begin() + (ptrdiff_t)at + batch_)});
    if (at < pool.size()) {
      std::vector<int64_t> rest(pool.begin() + (ptrdiff_t)at, pool.end());
      if (last) {
        // Complete the final batch with the epoch's first examples (all fit here).
        for (size_t i = 0; rest.size() < (size_t)batch_; ++i) rest.push_back(order[i % order.size()]);
        plan->batches.push_back({(int)k, std::move(rest)});
      } else {
        carry = std::move(rest);
      }
    }
  }
  shuffleHashed(plan->batches, s, 2 * (uint64_t)epoch + 1);
  if ((int64_t)plan->batches.size() != batchesPerEpoch_)
    throw Error(fmt::format("LengthBuckets: internal error: epoch {} has {} batches, expected {}", epoch,
                            plan->batches.size(), batchesPerEpoch_));
  cache_->epoch = epoch;
  cache_->seed = seed;
  cache_->plan = plan;
  return plan;
}

std::pair<int, std::vector<int64_t>> LengthBuckets::batchExamples(int64_t step, uint64_t seed) const {
  if (step < 0) throw Error(fmt::format("LengthBuckets: invalid step {}", step));
  std::shared_ptr<const Plan> plan = planFor(step / batchesPerEpoch_, seed);
  return plan->batches[(size_t)(step % batchesPerEpoch_)];
}

int LengthBuckets::batch(int64_t step, uint64_t seed, Tensor &src, Tensor &tgtIn, Tensor &tgtOut) const {
  auto [k, rows] = batchExamples(step, seed);
  const int64_t sl = buckets_[(size_t)k].srcLen, tl = buckets_[(size_t)k].tgtLen;
  Tensor s(DType::I32, {batch_, sl}), ti(DType::I32, {batch_, tl}), to(DType::I32, {batch_, tl});
  for (int64_t r = 0; r < batch_; ++r)
    EncodedData::fillRow(data_.examples()[(size_t)rows[(size_t)r]], sl, tl, s.i32() + r * sl, ti.i32() + r * tl,
                         to.i32() + r * tl);
  src = std::move(s);
  tgtIn = std::move(ti);
  tgtOut = std::move(to);
  return k;
}

}  // namespace heed::rt

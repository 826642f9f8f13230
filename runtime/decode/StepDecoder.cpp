//===- StepDecoder.cpp ----------------------------------------------------===//

#include "runtime/decode/StepDecoder.h"

#include "runtime/Error.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace heed::rt {

namespace {

bool isCache(const std::string &name) { return name.rfind("cache.", 0) == 0; }

/// Row r of `to` = row rows[r] of `from` (both [B, ...] of one dtype).
void copyRows(const Tensor &from, Tensor &to, const std::vector<int64_t> &rows, int64_t B) {
  const size_t row = from.bytes() / (size_t)B;
  const auto *src = static_cast<const uint8_t *>(from.raw());
  auto *dst = static_cast<uint8_t *>(to.raw());
  for (size_t r = 0; r < rows.size(); ++r) std::memcpy(dst + r * row, src + (size_t)rows[r] * row, row);
}

}  // namespace

bool StepDecoder::usable(const Program &program, bool allowed) {
  const char *env = std::getenv("HEED_KV_CACHE");
  if (env && std::string(env) == "0") return false;
  // A model with no positions (no positional encoding, no attention) gets a
  // decode_step without a `position` input: nothing to cache, so recompute.
  const EntrySpec *step = program.entry("decode_step");
  return allowed && step != nullptr && step->find("position") >= 0;
}

StepDecoder::StepDecoder(Program &program, RunContext &ctx, const std::string &logits)
    : program_(program), ctx_(ctx), step_(program.entry("decode_step")) {
  if (!step_) throw Error("model '" + program.info().name + "' has no decode_step entry point");
  for (size_t i = 0; i < step_->outputs.size(); ++i)
    if (step_->outputs[i].name == logits) logitsIndex_ = (int)i;
  if (logitsIndex_ < 0) throw Error("decode_step has no output '" + logits + "'");
  int pos = step_->find("position");
  if (pos < 0) throw Error("decode_step has no input 'position'");
  batch_ = step_->inputs[pos].shape.at(0);
  for (const TensorSpec &s : step_->inputs)
    if (isCache(s.name)) length_ = s.shape.at(2);
}

void StepDecoder::start(const std::map<std::string, Tensor> &inputs) {
  init_.clear();
  blocks_.clear();
  rows_ = 0;
  if (const EntrySpec *init = program_.entry("decode_init")) {
    std::vector<Tensor> in;
    for (const TensorSpec &s : init->inputs) {
      auto it = inputs.find(s.name);
      if (it == inputs.end()) throw Error("decode_init needs input '" + s.name + "'");
      in.push_back(it->second);
    }
    std::vector<Tensor> out = program_.run("decode_init", in, ctx_);
    for (size_t i = 0; i < out.size(); ++i) init_[init->outputs[i].name] = out[i];
  }
}

StepDecoder::Block StepDecoder::emptyBlock() const {
  Block b;
  for (const TensorSpec &s : step_->inputs)
    if (isCache(s.name)) b.cache[s.name] = Tensor(s.dtype, s.shape);
  return b;
}

void StepDecoder::gather(const std::vector<int64_t> &parents) {
  const int64_t n = (int64_t)parents.size(), B = batch_;
  const size_t blocks = (size_t)((n + B - 1) / B);
  bool inPlace = n <= rows_;
  for (int64_t i = 0; i < n && inPlace; ++i) inPlace = parents[(size_t)i] == i;
  if (inPlace) {  // the same rows, maybe fewer: no copy
    blocks_.resize(blocks);
    return;
  }
  std::vector<Block> next(blocks);
  for (size_t c = 0; c < blocks; ++c) {
    next[c] = emptyBlock();
    // Rows of this block by the old block they come from.
    std::map<int64_t, std::pair<std::vector<int64_t>, std::vector<int64_t>>> from;  // old block -> (old rows, new rows)
    for (int64_t r = 0; r < B && (int64_t)c * B + r < n; ++r) {
      const int64_t p = parents[c * (size_t)B + (size_t)r];
      if (p < 0) continue;  // a new sequence: the zero cache
      if (p >= rows_) throw Error("decode_step: parent row " + std::to_string(p) + " of " + std::to_string(rows_));
      from[p / B].first.push_back(p % B);
      from[p / B].second.push_back(r);
    }
    for (auto &[old, rows] : from)
      for (auto &[name, t] : next[c].cache) {
        const Tensor &src = blocks_[(size_t)old].cache.at(name);
        const size_t row = src.bytes() / (size_t)B;
        const auto *s = static_cast<const uint8_t *>(src.raw());
        auto *d = static_cast<uint8_t *>(t.raw());
        for (size_t k = 0; k < rows.first.size(); ++k)
          std::memcpy(d + (size_t)rows.second[k] * row, s + (size_t)rows.first[k] * row, row);
      }
  }
  blocks_ = std::move(next);
}

const Tensor &StepDecoder::stepRows(const std::vector<int64_t> &sources, const std::vector<int64_t> &parents,
                                    const std::vector<int32_t> &tokens, const std::vector<int32_t> &positions) {
  const int64_t n = (int64_t)sources.size(), B = batch_;
  if (n == 0 || parents.size() != sources.size() || tokens.size() != sources.size() ||
      positions.size() != sources.size())
    throw Error("decode_step: expected one source, parent, token and position per row");
  for (int32_t p : positions)
    if (p < 0 || (length_ > 0 && p >= length_))
      throw Error("decode_step: position " + std::to_string(p) + " outside the model's " + std::to_string(length_) +
                  " positions");
  for (int64_t s : sources)
    if (s < 0 || s >= B) throw Error("decode_step: source " + std::to_string(s) + " outside the batch of " + std::to_string(B));
  gather(parents);
  const bool whole = n == B;  // one block of exactly the program's rows: its logits are the result
  for (size_t c = 0; c < blocks_.size(); ++c) {
    Block &blk = blocks_[c];
    const int64_t first = (int64_t)c * B, real = std::min(B, n - first);
    // Rows past the last real one repeat it; their outputs are ignored.
    auto at = [&](int64_t r) { return (size_t)(first + std::min(r, real - 1)); };
    std::vector<int64_t> src((size_t)B);
    std::vector<int32_t> tok((size_t)B), pos((size_t)B);
    for (int64_t r = 0; r < B; ++r) {
      src[(size_t)r] = sources[at(r)];
      tok[(size_t)r] = tokens[at(r)];
      pos[(size_t)r] = positions[at(r)];
    }
    if (blk.sources != src) {  // the per-source invariants of these rows
      bool identity = true;
      for (int64_t r = 0; r < B && identity; ++r) identity = src[(size_t)r] == r;
      blk.init.clear();
      for (auto &[name, t] : init_) {
        if (identity || t.rank() == 0 || t.dim(0) != B) {
          blk.init[name] = t;
          continue;
        }
        Tensor g = Tensor::uninitialized(t.dtype(), t.shape());
        copyRows(t, g, src, B);
        blk.init[name] = g;
      }
      blk.sources = src;
    }
    std::vector<Tensor> in;
    for (const TensorSpec &s : step_->inputs) {
      if (s.name == "position") in.push_back(Tensor::fromI32(s.shape, pos));
      else if (auto it = blk.cache.find(s.name); it != blk.cache.end()) in.push_back(it->second);
      else if (auto it = blk.init.find(s.name); it != blk.init.end()) in.push_back(it->second);
      else if (s.dtype == DType::I32 && s.shape == Shape{B, 1}) in.push_back(Tensor::fromI32(s.shape, tok));
      else throw Error("decode_step: no value for input '" + s.name + "' (call start() first)");
    }
    std::vector<Tensor> out = program_.run("decode_step", in, ctx_);
    ++calls_;
    for (size_t i = 0; i < out.size(); ++i)
      if (isCache(step_->outputs[i].name)) blk.cache[step_->outputs[i].name] = out[i];
    const Tensor &lg = out.at((size_t)logitsIndex_);
    if (whole) {
      logits_ = lg;
      continue;
    }
    const int64_t V = lg.dim(2);
    if (c == 0) logits_ = Tensor::uninitialized(DType::F32, {n, 1, V});
    std::memcpy(logits_.f32() + first * V, lg.f32(), sizeof(float) * (size_t)(real * V));
  }
  rows_ = n;
  return logits_;
}

const Tensor &StepDecoder::step(const std::vector<int32_t> &tokens, const std::vector<int32_t> &positions) {
  if ((int64_t)tokens.size() != batch_ || (int64_t)positions.size() != batch_)
    throw Error("decode_step: expected " + std::to_string(batch_) + " tokens and positions");
  std::vector<int64_t> sources((size_t)batch_), parents((size_t)batch_);
  for (int64_t b = 0; b < batch_; ++b) {
    sources[(size_t)b] = b;
    parents[(size_t)b] = rows_ == batch_ ? b : -1;
  }
  return stepRows(sources, parents, tokens, positions);
}

void StepDecoder::reorder(const std::vector<int> &rows) {
  if ((int64_t)rows.size() != batch_ || rows_ != batch_)
    throw Error("StepDecoder::reorder: one source row per batch row, after a step of the whole batch");
  gather(std::vector<int64_t>(rows.begin(), rows.end()));
}

}  // namespace heed::rt

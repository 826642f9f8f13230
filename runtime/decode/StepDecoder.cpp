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
  // The window: the length of the token input of the entry decode_step was
  // derived from (the caches' length axis depends on their layout).
  const EntrySpec *source = program.entry("decode");
  if (!source) source = program.entry("forward");
  for (const TensorSpec &s : step_->inputs) {
    const int i = source ? source->find(s.name) : -1;
    if (i >= 0 && s.dtype == DType::I32 && s.shape.size() == 2 && s.shape[1] == 1 &&
        source->inputs[(size_t)i].shape.size() == 2)
      length_ = source->inputs[(size_t)i].shape[1];
  }
}

void StepDecoder::start(const std::map<std::string, Tensor> &inputs) {
  init_.clear();
  blocks_.clear();
  slotOf_.clear();
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

void StepDecoder::copySlot(int64_t from, int64_t to) {
  const int64_t B = batch_;
  Block &dst = blocks_[(size_t)(to / B)];
  for (auto &[name, t] : dst.cache) {
    const Tensor &src = blocks_[(size_t)(from / B)].cache.at(name);
    const size_t row = src.bytes() / (size_t)B;
    std::memcpy(static_cast<uint8_t *>(t.raw()) + (size_t)(to % B) * row,
                static_cast<const uint8_t *>(src.raw()) + (size_t)(from % B) * row, row);
  }
}

void StepDecoder::clearSlot(int64_t slot) {
  const int64_t B = batch_;
  for (auto &[name, t] : blocks_[(size_t)(slot / B)].cache) {
    const size_t row = t.bytes() / (size_t)B;
    std::memset(static_cast<uint8_t *>(t.raw()) + (size_t)(slot % B) * row, 0, row);
  }
}

std::vector<int64_t> StepDecoder::assignSlots(const std::vector<int64_t> &parents) {
  const int64_t n = (int64_t)parents.size(), B = batch_;
  for (int64_t p : parents)
    if (p >= (int64_t)slotOf_.size())
      throw Error("decode_step: parent row " + std::to_string(p) + " of " + std::to_string(slotOf_.size()));
  std::vector<int64_t> slot((size_t)n, -1);
  std::vector<char> taken(blocks_.size() * (size_t)B, 0);
  // The first row to continue a parent keeps its slot (no copy).
  for (int64_t i = 0; i < n; ++i) {
    const int64_t p = parents[(size_t)i];
    if (p >= 0 && !taken[(size_t)slotOf_[(size_t)p]]) {
      slot[(size_t)i] = slotOf_[(size_t)p];
      taken[(size_t)slot[(size_t)i]] = 1;
    }
  }
  // Packing: the rows fit in fewer blocks than the kept slots span.
  std::vector<char> live(blocks_.size(), 0);
  for (size_t s = 0; s < taken.size(); ++s) live[s / (size_t)B] |= taken[s];
  const int64_t need = (n + B - 1) / B;
  if (std::count(live.begin(), live.end(), 1) > need) {
    std::vector<Block> packed;
    for (int64_t c = 0; c < need; ++c) packed.push_back(emptyBlock());
    for (int64_t i = 0; i < n; ++i) {
      const int64_t p = parents[(size_t)i];
      if (p < 0) continue;
      const int64_t from = slotOf_[(size_t)p];
      for (auto &[name, t] : packed[(size_t)(i / B)].cache) {
        const Tensor &src = blocks_[(size_t)(from / B)].cache.at(name);
        const size_t row = src.bytes() / (size_t)B;
        std::memcpy(static_cast<uint8_t *>(t.raw()) + (size_t)(i % B) * row,
                    static_cast<const uint8_t *>(src.raw()) + (size_t)(from % B) * row, row);
      }
      slot[(size_t)i] = i;
    }
    blocks_ = std::move(packed);
    for (int64_t i = 0; i < n; ++i) slot[(size_t)i] = i;
    return slot;
  }
  // The others take free slots (of rows that ended: nobody needs those caches)
  // and a copy of their parent's cache, whose slot is not written before the step.
  size_t next = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (slot[(size_t)i] >= 0) continue;
    while (next < taken.size() && taken[next]) ++next;
    if (next == taken.size()) {
      blocks_.push_back(emptyBlock());
      taken.resize(taken.size() + (size_t)B, 0);
    }
    taken[next] = 1;
    slot[(size_t)i] = (int64_t)next;
    const int64_t p = parents[(size_t)i];
    if (p >= 0) copySlot(slotOf_[(size_t)p], (int64_t)next);
    else clearSlot((int64_t)next);
  }
  // Blocks past the last slot in use are dropped.
  while (!blocks_.empty()) {
    const size_t c = blocks_.size() - 1;
    if (std::any_of(taken.begin() + (long)(c * (size_t)B), taken.begin() + (long)((c + 1) * (size_t)B),
                    [](char t) { return t != 0; }))
      break;
    blocks_.pop_back();
  }
  return slot;
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
  std::vector<int64_t> slot = assignSlots(parents);
  std::vector<int64_t> rowAt(blocks_.size() * (size_t)B, -1);
  for (int64_t i = 0; i < n; ++i) rowAt[(size_t)slot[(size_t)i]] = i;
  bool whole = n == B && blocks_.size() == 1;  // the step's logits are the result as they are
  for (int64_t i = 0; i < n && whole; ++i) whole = slot[(size_t)i] == i;
  int64_t V = 0;
  for (size_t c = 0; c < blocks_.size(); ++c) {
    Block &blk = blocks_[c];
    const int64_t *at = rowAt.data() + c * (size_t)B;
    const int64_t any = *std::max_element(at, at + B);
    if (any < 0) continue;  // no live row here
    // Free slots feed a live row's token at position 0 of their own cache; their outputs are ignored.
    std::vector<int64_t> src((size_t)B);
    std::vector<int32_t> tok((size_t)B), pos((size_t)B);
    for (int64_t r = 0; r < B; ++r) {
      const int64_t i = at[r];
      src[(size_t)r] = i >= 0 ? sources[(size_t)i] : blk.sources.empty() ? sources[(size_t)any] : blk.sources[(size_t)r];
      tok[(size_t)r] = tokens[(size_t)(i >= 0 ? i : any)];
      pos[(size_t)r] = i >= 0 ? positions[(size_t)i] : 0;
    }
    if (blk.sources != src) {  // the per-source invariants of these slots
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
    for (size_t k = 0; k < out.size(); ++k)
      if (isCache(step_->outputs[k].name)) blk.cache[step_->outputs[k].name] = out[k];
    const Tensor &lg = out.at((size_t)logitsIndex_);
    if (whole) {
      logits_ = lg;
      continue;
    }
    if (V == 0) {
      V = lg.dim(2);
      logits_ = Tensor::uninitialized(DType::F32, {n, 1, V});
    }
    for (int64_t r = 0; r < B; ++r)
      if (at[r] >= 0) std::memcpy(logits_.f32() + at[r] * V, lg.f32() + r * V, sizeof(float) * (size_t)V);
  }
  slotOf_ = std::move(slot);
  return logits_;
}

const Tensor &StepDecoder::step(const std::vector<int32_t> &tokens, const std::vector<int32_t> &positions) {
  if ((int64_t)tokens.size() != batch_ || (int64_t)positions.size() != batch_)
    throw Error("decode_step: expected " + std::to_string(batch_) + " tokens and positions");
  std::vector<int64_t> sources((size_t)batch_), parents((size_t)batch_);
  for (int64_t b = 0; b < batch_; ++b) {
    sources[(size_t)b] = b;
    parents[(size_t)b] = (int64_t)slotOf_.size() == batch_ ? b : -1;
  }
  return stepRows(sources, parents, tokens, positions);
}

}  // namespace heed::rt

//===- StepDecoder.cpp ----------------------------------------------------===//

#include "runtime/decode/StepDecoder.h"

#include "runtime/Error.h"

#include <cstdlib>
#include <cstring>

namespace heed::rt {

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
    if (s.name.rfind("cache.", 0) == 0) length_ = s.shape.at(2);
}

void StepDecoder::start(const std::map<std::string, Tensor> &inputs) {
  state_.clear();
  if (const EntrySpec *init = program_.entry("decode_init")) {
    std::vector<Tensor> in;
    for (const TensorSpec &s : init->inputs) {
      auto it = inputs.find(s.name);
      if (it == inputs.end()) throw Error("decode_init needs input '" + s.name + "'");
      in.push_back(it->second);
    }
    std::vector<Tensor> out = program_.run("decode_init", in, ctx_);
    for (size_t i = 0; i < out.size(); ++i) state_[init->outputs[i].name] = out[i];
  }
  for (const TensorSpec &s : step_->inputs)
    if (s.name.rfind("cache.", 0) == 0) state_[s.name] = Tensor(s.dtype, s.shape);
}

const Tensor &StepDecoder::step(const std::vector<int32_t> &tokens, const std::vector<int32_t> &positions) {
  if ((int64_t)tokens.size() != batch_ || (int64_t)positions.size() != batch_)
    throw Error("decode_step: expected " + std::to_string(batch_) + " tokens and positions");
  std::vector<Tensor> in;
  for (const TensorSpec &s : step_->inputs) {
    if (s.name == "position") {
      for (int32_t p : positions)
        if (p < 0 || (length_ > 0 && p >= length_))
          throw Error("decode_step: position " + std::to_string(p) + " outside the model's " +
                      std::to_string(length_) + " positions");
      in.push_back(Tensor::fromI32(s.shape, positions));
    } else if (auto it = state_.find(s.name); it != state_.end()) {
      in.push_back(it->second);
    } else if (s.dtype == DType::I32 && s.shape == Shape{batch_, 1}) {
      in.push_back(Tensor::fromI32(s.shape, tokens));
    } else {
      throw Error("decode_step: no value for input '" + s.name + "' (call start() first)");
    }
  }
  std::vector<Tensor> out = program_.run("decode_step", in, ctx_);
  for (size_t i = 0; i < out.size(); ++i)
    if (step_->outputs[i].name.rfind("cache.", 0) == 0) state_[step_->outputs[i].name] = out[i];
  logits_ = out.at(logitsIndex_);
  return logits_;
}

void StepDecoder::reorder(const std::vector<int> &rows) {
  if ((int64_t)rows.size() != batch_) throw Error("StepDecoder::reorder: one source row per batch row");
  for (auto &[name, t] : state_) {
    if (t.rank() == 0 || t.dim(0) != batch_) continue;
    Tensor r(t.dtype(), t.shape());
    const size_t row = t.bytes() / (size_t)batch_;
    const auto *src = static_cast<const uint8_t *>(t.raw());
    auto *dst = static_cast<uint8_t *>(r.raw());
    for (int64_t b = 0; b < batch_; ++b) std::memcpy(dst + b * row, src + (size_t)rows[b] * row, row);
    t = r;
  }
}

}  // namespace heed::rt

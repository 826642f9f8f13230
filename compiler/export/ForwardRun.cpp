//===- ForwardRun.cpp -----------------------------------------------------===//

#include "compiler/export/ForwardRun.h"

#include "runtime/Error.h"

#include <fmt/format.h>

#include <limits>
#include <set>

namespace heed {

namespace {

std::string describe(const rt::TensorSpec &s) {
  std::string dims;
  for (size_t i = 0; i < s.shape.size(); ++i) {
    std::string d = i < s.dims.size() && !s.dims[i].empty() ? s.dims[i] + "=" : "";
    dims += (i ? ", " : "") + d + std::to_string(s.shape[i]);
  }
  return fmt::format("{}[{}]", languageDtypeName(s.dtype), dims);
}

std::string names(const std::vector<rt::TensorSpec> &specs) {
  std::string out;
  for (const rt::TensorSpec &s : specs) out += (out.empty() ? "" : ", ") + s.name;
  return out.empty() ? "none" : out;
}

/// The array for `spec`, converted to its dtype and checked.
rt::Tensor bind(const rt::TensorSpec &spec, const rt::Tensor &given) {
  const std::string what = "input '" + spec.name + "'";
  if (given.shape() != spec.shape)
    throw rt::Error(fmt::format("{} has shape {} but the model takes {}", what, rt::shapeToString(given.shape()),
                                describe(spec)));
  rt::DType from = given.dtype(), to = spec.dtype;
  bool ok = from == to || (from == rt::DType::F64 && to == rt::DType::F32) ||
            (from == rt::DType::I64 && to == rt::DType::I32);
  if (!ok)
    throw rt::Error(fmt::format("{} has dtype {} but the model takes {}{}", what, rt::dtypeName(from), describe(spec),
                                to == rt::DType::Bool ? " (a numpy bool array)" : ""));
  if (from == rt::DType::I64) {
    const int64_t *p = given.i64();
    for (int64_t i = 0; i < given.size(); ++i)
      if (p[i] < std::numeric_limits<int32_t>::min() || p[i] > std::numeric_limits<int32_t>::max())
        throw rt::Error(fmt::format("{}: element {} is {}, outside int32", what, i, p[i]));
  }
  rt::Tensor t = rt::castTo(given, to);
  if (to == rt::DType::I32 && spec.idLimit > 0) {
    const int32_t *p = t.i32();
    for (int64_t i = 0; i < t.size(); ++i)
      if (p[i] < 0 || p[i] >= spec.idLimit)
        throw rt::Error(fmt::format("{}: element {} is {}, but the ids index {} rows (0..{})", what, i, p[i],
                                    spec.idLimit, spec.idLimit - 1));
  }
  return t;
}

struct Arrays {
  const rt::NamedTensors &list;
  const rt::Tensor *find(const std::string &name) const {
    for (const auto &[n, t] : list)
      if (n == name) return &t;
    return nullptr;
  }
};

/// The inputs of `entry` in order; every one must be given.
std::vector<rt::Tensor> inputsFor(const rt::EntrySpec &entry, const Arrays &arrays, const std::string &why) {
  std::vector<rt::Tensor> in;
  for (const rt::TensorSpec &s : entry.inputs) {
    const rt::Tensor *t = arrays.find(s.name);
    if (!t) throw rt::Error(fmt::format("no array '{}' in the inputs: {} needs {} {}", s.name, why, s.name, describe(s)));
    in.push_back(bind(s, *t));
  }
  return in;
}

}  // namespace

std::optional<int64_t> impliedBatch(const ModelSignature &sig, const rt::NamedTensors &arrays) {
  std::optional<int64_t> batch;
  std::string from;
  Arrays a{arrays};
  for (const rt::TensorSpec &s : sig.inputs) {
    const rt::Tensor *t = a.find(s.name);
    if (!t || t->rank() != (int64_t)s.shape.size()) continue;  // bind() reports it
    for (size_t i = 0; i < s.dims.size(); ++i) {
      if (s.dims[i] != "batch") continue;
      int64_t b = t->dim((int64_t)i);
      if (batch && *batch != b)
        throw rt::Error(fmt::format("the arrays disagree on the batch: '{}' has {} rows, '{}' has {}", from, *batch,
                                    s.name, b));
      if (b <= 0) throw rt::Error(fmt::format("input '{}' has an empty batch dimension", s.name));
      batch = b;
      from = s.name;
    }
  }
  return batch;
}

rt::NamedTensors runForward(rt::Program &program, rt::ParamStore &params, const rt::NamedTensors &arrays,
                            const ForwardRequest &request, const ModelSignature &sig) {
  const std::string model = "model '" + program.info().name + "'";
  Arrays a{arrays};
  rt::NamedTensors out;
  rt::RunContext ctx;
  ctx.params = &params;
  ctx.training = false;  // dropout off

  // Every array must be named after an input of the model.
  std::set<std::string> accepted;
  for (const rt::TensorSpec &s : sig.inputs) accepted.insert(s.name);
  auto accept = [&](const rt::EntrySpec *e) {
    if (e)
      for (const rt::TensorSpec &s : e->inputs) accepted.insert(s.name);  // decode's memory
  };
  auto checkNames = [&](const rt::EntrySpec &primary) {
    for (const auto &[name, t] : arrays)
      if (!accepted.count(name))
        throw rt::Error(fmt::format("array '{}' is not an input of model {} (its inputs: {}{})", name,
                                    program.info().name, names(sig.inputs),
                                    primary.name == "decode" ? ", and for decode: memory" : ""));
  };

  if (!request.entry.empty()) {
    if (request.grads) throw rt::Error("--grads needs the default entry (forward and the loss), not --entry");
    const rt::EntrySpec *e = program.entry(request.entry);
    if (!e || (request.entry != "encode" && request.entry != "decode"))
      throw rt::Error(fmt::format("{} has no '{}' entry (encode and decode exist for encoder-decoders, whose "
                                  "decoder reads an output of the encoder)",
                                  model, request.entry));
    accept(e);
    checkNames(*e);
    std::vector<rt::Tensor> res = program.run(e->name, inputsFor(*e, a, e->name), ctx);
    for (size_t i = 0; i < res.size(); ++i) out.emplace_back(e->outputs[i].name, res[i]);
    return out;
  }

  const rt::EntrySpec *fwd = program.entry("forward");
  const rt::EntrySpec *eval = program.entry("eval");
  const rt::EntrySpec *train = program.entry("train_step");
  if (!fwd) throw rt::Error(model + " has no forward entry");
  accept(fwd);
  accept(eval);
  accept(train);
  checkNames(train ? *train : *fwd);

  std::vector<rt::Tensor> res = program.run("forward", inputsFor(*fwd, a, "its forward pass"), ctx);
  for (size_t i = 0; i < res.size(); ++i) out.emplace_back(fwd->outputs[i].name, res[i]);

  // The loss when its inputs (the targets) are all there; some of them is a mistake.
  bool anyLossInput = false, allLossInputs = eval != nullptr;
  if (eval)
    for (const rt::TensorSpec &s : eval->inputs) {
      bool given = a.find(s.name) != nullptr;
      if (fwd->find(s.name) < 0) anyLossInput |= given;
      allLossInputs &= given;
    }
  if (request.grads) {
    if (!train) throw rt::Error(model + " minimizes nothing: --grads needs a loss");
    std::vector<std::pair<std::string, rt::Tensor>> grads;
    ctx.applyGradients = [&](std::vector<std::pair<std::string, rt::Tensor>> &g) { grads = g; };
    std::vector<rt::Tensor> r = program.run("train_step", inputsFor(*train, a, "the loss (for --grads)"), ctx);
    if (train->lossIndex >= 0) out.emplace_back("loss", r.at(train->lossIndex));
    for (auto &[name, g] : grads) out.emplace_back("grad/" + name, g);
  } else if (allLossInputs) {
    std::vector<rt::Tensor> r = program.run("eval", inputsFor(*eval, a, "the loss"), ctx);
    out.emplace_back("loss", r.at(eval->lossIndex >= 0 ? eval->lossIndex : 0));
  } else if (anyLossInput) {
    inputsFor(*eval, a, "the loss");  // names the missing one
  }
  return out;
}

}  // namespace heed

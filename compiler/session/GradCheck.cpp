//===- GradCheck.cpp - autodiff gradients vs finite differences -----------===//

#include "compiler/session/GradCheck.h"

#include "compiler/compiled/CompiledProgram.h"
#include "compiler/interp/InterpretedProgram.h"
#include "runtime/Error.h"
#include "runtime/Program.h"
#include "runtime/Random.h"
#include "runtime/train/ProgramFactory.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

namespace heed {

namespace {

rt::Tensor randomInput(const rt::TensorSpec &spec, uint64_t seed, uint64_t stream) {
  rt::Tensor t(spec.dtype, spec.shape);
  for (int64_t i = 0; i < t.size(); ++i) {
    float u = rt::uniform01(seed, stream, (uint64_t)i);
    switch (spec.dtype) {
    case rt::DType::F32: t.f32()[i] = rt::normal(seed, stream, (uint64_t)i); break;
    case rt::DType::I32: {
      int64_t limit = spec.idLimit > 0 ? spec.idLimit : 2;
      t.i32()[i] = std::min<int64_t>(limit - 1, (int64_t)(u * limit));
      break;
    }
    case rt::DType::Bool: t.b8()[i] = u < 0.5f; break;
    case rt::DType::I64: t.i64()[i] = 0; break;
    case rt::DType::F64: t.f64()[i] = rt::normal(seed, stream, (uint64_t)i); break;
    }
  }
  return t;
}

/// Gradient magnitude (per element) below which differences are judged absolutely:
/// below it, rounding of the loss dominates the finite difference.
constexpr double kFloor64 = 1e-7;
constexpr double kFloor32 = 1e-3;
/// ... and never less than this fraction of the model's largest gradient (per element).
constexpr double kRelativeFloor = 1e-2;

}  // namespace

GradcheckReport checkGradients(const std::string &modelPath, ImportOptions opts, const GradcheckOptions &o) {
  if (!opts.batch) opts.batch = 2;
  std::unique_ptr<rt::Program> program = buildReferenceProgram(modelPath, opts);
  if (!program) throw rt::ReportedError{};
  const rt::EntrySpec *train = program->entry("train_step");
  const rt::EntrySpec *eval = program->entry("eval");
  if (!train || !eval) throw rt::Error(modelPath + ": the model has no 'minimize': nothing to differentiate");
  GradcheckReport rep;
  rep.compiled = o.backend == "compiled";
  std::unique_ptr<rt::Program> compiledProgram;
  if (rep.compiled && !(compiledProgram = buildCompiledProgram(modelPath, opts))) throw rt::ReportedError{};
  rep.eps = o.eps > 0 ? o.eps : (o.f32 ? 1e-2 : 1e-6);
  rep.tolerance = o.tolerance > 0 ? o.tolerance : (o.f32 ? 5e-2 : rep.compiled ? 1e-3 : 1e-4);
  rep.batch = *opts.batch;
  rep.f64 = !o.f32;
  const bool f64 = rep.f64;

  std::string dir = std::filesystem::path(modelPath).parent_path().string();
  rt::ParamStore params = rt::createParams(*program, o.seed, dir.empty() ? "." : dir);
  if (f64)
    for (rt::Param &p : params) p.value = rt::castTo(p.value, rt::DType::F64);

  std::map<std::string, rt::Tensor> inputs;
  uint64_t stream = 1000;
  for (const rt::TensorSpec &s : train->inputs) inputs[s.name] = randomInput(s, o.seed, stream++);
  auto bind = [&](const rt::EntrySpec &e) {
    std::vector<rt::Tensor> in;
    for (const rt::TensorSpec &s : e.inputs) in.push_back(inputs.at(s.name));
    return in;
  };
  std::vector<rt::Tensor> evalIn = bind(*eval), trainIn = bind(*train);

  // Autodiff gradients: run train_step with dropout off and capture, not apply, the update.
  std::map<std::string, rt::Tensor> grads;
  rt::RunContext ctx;
  ctx.params = &params;
  ctx.training = false;
  ctx.f64 = f64;
  ctx.applyGradients = [&](std::vector<std::pair<std::string, rt::Tensor>> &g) {
    for (auto &[name, t] : g) grads[name] = t;
  };
  if (rep.compiled) {
    // The compiled step runs in float32: a float32 copy of the parameters.
    rt::ParamStore params32;
    for (rt::Param &p : params) {
      rt::Param &q = params32.add(p.name, p.value.shape(), "zeros", p.frozen);
      q.value = rt::castTo(p.value, rt::DType::F32);
    }
    rt::RunContext cctx;
    cctx.params = &params32;
    cctx.training = false;
    cctx.applyGradients = [&](std::vector<std::pair<std::string, rt::Tensor>> &g) {
      for (auto &[name, t] : g) grads[name] = rt::castTo(t, f64 ? rt::DType::F64 : rt::DType::F32);
    };
    std::vector<rt::Tensor> in32;
    for (const rt::Tensor &t : trainIn)
      in32.push_back(t.dtype() == rt::DType::F64 ? rt::castTo(t, rt::DType::F32) : t);
    compiledProgram->run("train_step", in32, cctx);
  } else {
    program->run("train_step", trainIn, ctx);
  }
  rt::RunContext evalCtx;
  evalCtx.params = &params;
  evalCtx.f64 = f64;
  auto lossAt = [&]() {
    rt::Tensor loss = program->run("eval", evalIn, evalCtx)[0];
    return f64 ? loss.f64()[0] : (double)loss.f32()[0];
  };
  // Element access in whichever precision the parameters are held.
  auto elem = [&](rt::Tensor &t, int64_t i) -> double { return f64 ? t.f64()[i] : t.f32()[i]; };
  auto setElem = [&](rt::Tensor &t, int64_t i, double v) {
    if (f64) t.f64()[i] = v;
    else t.f32()[i] = (float)v;
  };
  rep.loss = lossAt();
  if (!std::isfinite(rep.loss)) throw rt::Error("the loss is not finite at the initial parameters");

  // First measure every parameter, then judge: a parameter whose gradient is
  // (mathematically) zero, like a key bias under softmax, is compared against a
  // floor tied to the model's largest gradient instead of its own noise-level size.
  struct Sums { double diff, autodiff, numeric; };
  std::vector<Sums> sums;
  double largest = 0;
  for (rt::Param &p : params) {
    if (p.frozen) continue;
    auto g = grads.find(p.name);
    int64_t n = p.value.size();
    int64_t count = std::min<int64_t>(n, o.samples);
    double diff2 = 0, auto2 = 0, num2 = 0;
    for (int64_t k = 0; k < count; ++k) {
      int64_t i = count == n ? k : (int64_t)(rt::hash64(o.seed, rt::hashString(p.name), k) % n);
      double saved = elem(p.value, i);
      setElem(p.value, i, saved + rep.eps);
      double up = lossAt();
      setElem(p.value, i, saved - rep.eps);
      double down = lossAt();
      setElem(p.value, i, saved);
      double numeric = (up - down) / (2 * rep.eps);
      double analytic = g == grads.end() ? 0.0 : elem(g->second, i);
      diff2 += (analytic - numeric) * (analytic - numeric);
      auto2 += analytic * analytic;
      num2 += numeric * numeric;
    }
    GradcheckRow row;
    row.name = p.name;
    row.checked = count;
    row.autodiff = std::sqrt(auto2);
    row.numeric = std::sqrt(num2);
    rep.rows.push_back(row);
    sums.push_back({std::sqrt(diff2), row.autodiff, row.numeric});
    largest = std::max(largest, std::sqrt(auto2 / (double)count));
  }
  rep.anyNonZero = largest > 0;
  for (size_t k = 0; k < rep.rows.size(); ++k) {
    GradcheckRow &r = rep.rows[k];
    // Relative to the gradient's size, but never to less than a floor per element:
    // below it, rounding of the loss dominates the finite difference.
    double floor = std::max(f64 ? kFloor64 : kFloor32, kRelativeFloor * largest) * std::sqrt((double)r.checked);
    r.relError = sums[k].diff / std::max(std::max(r.autodiff, r.numeric), floor);
    r.failed = !(r.relError <= rep.tolerance);  // a NaN gradient fails too
    rep.failures += r.failed;
  }
  return rep;
}

}  // namespace heed

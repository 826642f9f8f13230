//===- ParityUtil.h - compare the compiled backend with the reference -*- C++ -*-===//
#pragma once

#include "compiler/compiled/CompiledProgram.h"
#include "compiler/interp/InterpretedProgram.h"
#include "runtime/ParamStore.h"
#include "runtime/Program.h"
#include "runtime/Random.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace heed::parity {

inline rt::Tensor randomInput(const rt::TensorSpec &spec, uint64_t stream) {
  rt::Tensor t(spec.dtype, spec.shape);
  for (int64_t i = 0; i < t.size(); ++i) {
    float u = rt::uniform01(3, stream, i);
    if (spec.dtype == rt::DType::F32) t.f32()[i] = rt::normal(3, stream, i);
    else if (spec.dtype == rt::DType::I32) t.i32()[i] = (int32_t)(u * (spec.idLimit > 0 ? spec.idLimit : 2));
    else if (spec.dtype == rt::DType::Bool) t.b8()[i] = u < 0.3f;
  }
  return t;
}

/// The reference and the compiled program of `path` at `batch`; with `splitAll`,
/// every row-wise kernel is compiled as row chunks, however small.
inline std::pair<std::unique_ptr<rt::Program>, std::unique_ptr<rt::Program>>
buildBoth(const std::string &path, int64_t batch, bool splitAll) {
  ImportOptions opts;
  opts.batch = batch;
  auto ref = buildReferenceProgram(path, opts);
  if (splitAll) setenv("HEED_ROW_SPLIT_MIN_ELEMENTS", "1", 1);
  auto cmp = buildCompiledProgram(path, opts);
  unsetenv("HEED_ROW_SPLIT_MIN_ELEMENTS");
  return {std::move(ref), std::move(cmp)};
}

inline double normwiseError(const rt::Tensor &a, const rt::Tensor &b) {
  double d = 0, n = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    double x = a.dtype() == rt::DType::F32 ? a.f32()[i] : (double)a.b8()[i];
    double y = b.dtype() == rt::DType::F32 ? b.f32()[i] : (double)b.b8()[i];
    d += (x - y) * (x - y);
    n += y * y;
  }
  return std::sqrt(d) / std::max(std::sqrt(n), 1e-30);
}

inline double sumSquares(const rt::Tensor &t) {
  double s = 0;
  for (int64_t i = 0; i < t.size(); ++i) s += (double)t.f32()[i] * t.f32()[i];
  return s;
}

/// One train_step of each program (no update applied) from the same parameters:
/// the largest per-parameter gradient error, relative to the parameter's own
/// gradient norm but never to less than 1% of the largest one (a key bias's
/// gradient is zero up to rounding in both backends). `worstName` gets its name.
inline double worstGradientError(rt::Program &ref, rt::ParamStore &pr, const std::vector<rt::Tensor> &inRef,
                                 rt::Program &cmp, rt::ParamStore &pc, const std::vector<rt::Tensor> &inCmp,
                                 bool training, std::string &worstName) {
  std::map<std::string, rt::Tensor> g[2];
  int k = 0;
  for (auto [prog, store, in] : {std::tuple{&ref, &pr, &inRef}, std::tuple{&cmp, &pc, &inCmp}}) {
    rt::RunContext ctx;
    ctx.params = store;
    ctx.step = 1;
    ctx.training = training;
    auto &sink = g[k++];
    ctx.applyGradients = [&sink](std::vector<std::pair<std::string, rt::Tensor>> &grads) {
      for (auto &[n, t] : grads) sink[n] = t;
    };
    prog->run("train_step", *in, ctx);
  }
  if (g[0].size() != g[1].size()) {
    worstName = "(different gradient sets)";
    return INFINITY;
  }
  double largest = 0;
  for (auto &[name, t] : g[0]) largest = std::max(largest, std::sqrt(sumSquares(t)));
  double worst = 0;
  for (auto &[name, t] : g[0]) {
    const rt::Tensor &c = g[1].at(name);
    double d = 0;
    for (int64_t i = 0; i < t.size(); ++i) d += (c.f32()[i] - t.f32()[i]) * (double)(c.f32()[i] - t.f32()[i]);
    double e = std::sqrt(d) / std::max(std::sqrt(sumSquares(t)), 1e-2 * largest);
    if (!(e <= worst)) worst = e, worstName = name;
  }
  return worst;
}

}  // namespace heed::parity

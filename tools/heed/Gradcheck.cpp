//===- Gradcheck.cpp - `heed gradcheck`: autodiff vs finite differences ---===//
//
// For every trainable parameter, compares the gradient that @train_step's
// backward pass computes with central differences of @eval's loss, on small
// random inputs with dropout off. Large tensors are sampled. Everything runs in
// float64 (the reference kernels have f64 instantiations), so a small step
// (1e-6) keeps both truncation and rounding error far below the tolerance;
// `--f32` runs the same check in f32 with a larger step, for comparison.
// `--backend compiled` takes the autodiff gradients from the compiled backend's
// train_step (float32, fused kernels and oneDNN) and compares them with the same
// float64 finite differences of the reference: the compiled backward pass
// against the exact derivative, limited only by float32 rounding.
//
//===----------------------------------------------------------------------===//

#include "tools/heed/Commands.h"

#include "compiler/ModelLoader.h"
#include "compiler/compiled/CompiledProgram.h"
#include "compiler/interp/InterpretedProgram.h"
#include "runtime/Error.h"
#include "runtime/Program.h"
#include "runtime/Random.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

namespace heed {

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
static constexpr double kFloor64 = 1e-7;
static constexpr double kFloor32 = 1e-3;
/// ... and never less than this fraction of the model's largest gradient (per element).
static constexpr double kRelativeFloor = 1e-2;

int runGradcheck(const ModelArgs &m, const GradcheckOptions &o) {
  ImportOptions opts;
  if (!parseOverrides(m.sets, opts)) return 1;
  opts.batch = m.batch > 0 ? m.batch : 2;
  std::unique_ptr<rt::Program> program = buildReferenceProgram(m.path, opts);
  if (!program) return 1;
  const rt::EntrySpec *train = program->entry("train_step");
  const rt::EntrySpec *eval = program->entry("eval");
  if (!train || !eval) {
    llvm::errs() << "error: " << m.path << ": the model has no 'minimize': nothing to differentiate\n";
    return 1;
  }
  const bool compiled = o.backend == "compiled";
  std::unique_ptr<rt::Program> compiledProgram;
  if (compiled && !(compiledProgram = buildCompiledProgram(m.path, opts))) return 1;
  const double eps = o.eps > 0 ? o.eps : (o.f32 ? 1e-2 : 1e-6);
  const double tolerance = o.tolerance > 0 ? o.tolerance : (o.f32 ? 5e-2 : compiled ? 1e-3 : 1e-4);
  try {
    std::string dir = llvm::sys::path::parent_path(m.path).str();
    rt::ParamStore params = rt::createParams(*program, o.seed, dir.empty() ? "." : dir);
    const bool f64 = !o.f32;
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
    if (compiled) {
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
      for (const rt::Tensor &t : trainIn) in32.push_back(t.dtype() == rt::DType::F64 ? rt::castTo(t, rt::DType::F32) : t);
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
    double base = lossAt();
    if (!std::isfinite(base)) throw rt::Error("the loss is not finite at the initial parameters");

    llvm::outs() << llvm::format("gradcheck %s: loss %.6f, batch %lld, %s, eps %g, tolerance %g%s\n",
                                 m.path.c_str(), base, (long long)*opts.batch,
                                 f64 ? (const char *)"float64" : (const char *)"float32", eps,
                                 tolerance,
                                 compiled ? (const char *)", autodiff: compiled backend (float32)" : "");
    const char *cols[] = {"parameter", "checked", "|autodiff|", "|numeric|", "rel. error"};
    llvm::outs() << llvm::format("%-44s %8s %12s %12s %12s\n", cols[0], cols[1], cols[2], cols[3], cols[4]);
    // First measure every parameter, then judge: a parameter whose gradient is
    // (mathematically) zero, like a key bias under softmax, is compared against a
    // floor tied to the model's largest gradient instead of its own noise-level size.
    struct Row { std::string name; int64_t count; double diff, autodiff, numeric; };
    std::vector<Row> rows;
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
        setElem(p.value, i, saved + eps);
        double up = lossAt();
        setElem(p.value, i, saved - eps);
        double down = lossAt();
        setElem(p.value, i, saved);
        double numeric = (up - down) / (2 * eps);
        double analytic = g == grads.end() ? 0.0 : elem(g->second, i);
        diff2 += (analytic - numeric) * (analytic - numeric);
        auto2 += analytic * analytic;
        num2 += numeric * numeric;
      }
      rows.push_back({p.name, count, std::sqrt(diff2), std::sqrt(auto2), std::sqrt(num2)});
      largest = std::max(largest, std::sqrt(auto2 / (double)count));
    }
    int failures = 0;
    bool anyNonZero = largest > 0;
    for (const Row &r : rows) {
      // Relative to the gradient's size, but never to less than a floor per element:
      // below it, rounding of the loss dominates the finite difference.
      double floor = std::max(f64 ? kFloor64 : kFloor32, kRelativeFloor * largest) *
                     std::sqrt((double)r.count);
      double err = r.diff / std::max(std::max(r.autodiff, r.numeric), floor);
      bool bad = !(err <= tolerance);  // a NaN gradient fails too
      failures += bad;
      llvm::outs() << llvm::format("%-44s %8lld %12.4e %12.4e %12.4e  %s\n", r.name.c_str(),
                                   (long long)r.count, r.autodiff, r.numeric, err,
                                   bad ? (const char *)"FAIL" : (const char *)"ok");
    }
    if (!anyNonZero) {
      llvm::errs() << "error: every gradient is zero: the loss does not depend on any parameter\n";
      return 1;
    }
    if (failures) {
      llvm::errs() << "error: " << failures << " parameter(s) exceed the tolerance " << tolerance << "\n";
      return 1;
    }
    llvm::outs() << "gradcheck passed\n";
    return 0;
  } catch (const rt::Error &e) {
    llvm::errs() << "error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace heed

//===- Executor.cpp -------------------------------------------------------===//

#include "runtime/compiled/Executor.h"

#include "runtime/Error.h"
#include "runtime/native/Bf16.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <omp.h>

namespace heed::rt {

void Plan::computeLiveness() {
  const int n = (int)values.size();
  std::vector<int> last(n, -1);
  for (size_t i = 0; i < steps.size(); ++i)
    for (int v : steps[i].inputs) last[v] = (int)i;
  std::vector<char> pinned(n, 0);  // entry arguments and results are never released
  for (int v : inputs) pinned[v] = 1;
  for (int v : outputs) pinned[v] = 1;
  int64_t live = 0, peak = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    PlanStep &s = steps[i];
    s.release.clear();
    for (int v : s.outputs) live += values[v].bytes();
    peak = std::max(peak, live);
    for (int v : s.inputs) {
      if (last[v] != (int)i || pinned[v]) continue;
      if (std::find(s.release.begin(), s.release.end(), v) != s.release.end()) continue;
      s.release.push_back(v);
      live -= values[v].bytes();
    }
  }
  peakBytes = peak;
}

void Plan::validate() const {
  const int n = (int)values.size();
  std::vector<char> defined(n, 0);
  auto check = [&](int v, const std::string &what) {
    if (v < 0 || v >= n)
      throw Error("entry '" + entry + "': " + what + " refers to value " + std::to_string(v) +
                  " of " + std::to_string(n));
  };
  for (int v : inputs) {
    check(v, "an input");
    defined[v] = 1;
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    const PlanStep &s = steps[i];
    std::string where = "step " + std::to_string(i);
    if (s.kind == PlanStep::Kind::Kernel && s.kernel.empty())
      throw Error("entry '" + entry + "': " + where + " is a kernel without a symbol");
    for (int v : s.inputs) {
      check(v, where);
      if (!defined[v])
        throw Error("entry '" + entry + "': " + where + " reads value " + std::to_string(v) +
                    " before it is written");
    }
    for (int v : s.outputs) {
      check(v, where);
      defined[v] = 1;
    }
    if (s.chunks < 1 || (s.chunks > 1 && s.chunkBytes.size() != s.inputs.size() + s.outputs.size()))
      throw Error("entry '" + entry + "': " + where + " has " + std::to_string(s.chunks) + " chunks and " +
                  std::to_string(s.chunkBytes.size()) + " chunk sizes for " +
                  std::to_string(s.inputs.size() + s.outputs.size()) + " arguments");
    for (int j : s.partialOutputs)
      if (s.chunks < 2 || j < 0 || j >= (int)s.outputs.size() ||
          values[s.outputs[j]].dtype != DType::F32 ||
          s.chunkBytes[s.inputs.size() + j] != values[s.outputs[j]].bytes())
        throw Error("entry '" + entry + "': " + where + ": bad partial-sum output " + std::to_string(j));
    for (int j : s.bf16Outputs)
      if (s.kind != PlanStep::Kind::Kernel || j < 0 || j >= (int)s.outputs.size() ||
          values[s.outputs[j]].dtype != DType::F32 ||
          std::count(s.partialOutputs.begin(), s.partialOutputs.end(), j))
        throw Error("entry '" + entry + "': " + where + ": bad bf16 output " + std::to_string(j));
    for (size_t a = 0; s.chunks > 1 && a < s.chunkBytes.size(); ++a) {
      int v = a < s.inputs.size() ? s.inputs[a] : s.outputs[a - s.inputs.size()];
      bool partial = a >= s.inputs.size() &&
                     std::find(s.partialOutputs.begin(), s.partialOutputs.end(),
                               (int)(a - s.inputs.size())) != s.partialOutputs.end();
      if (partial) continue;
      if (s.chunkBytes[a] < 0 || s.chunkBytes[a] * s.chunks > values[v].bytes())
        throw Error("entry '" + entry + "': " + where + ": chunks of " + std::to_string(s.chunkBytes[a]) +
                    " bytes overrun value " + std::to_string(v));
    }
    if (s.kind == PlanStep::Kind::Alias) {
      if (s.aliasOf.size() != s.outputs.size())
        throw Error("entry '" + entry + "': " + where + " aliases " + std::to_string(s.aliasOf.size()) +
                    " of its " + std::to_string(s.outputs.size()) + " outputs");
      for (size_t j = 0; j < s.aliasOf.size(); ++j) {
        int a = s.aliasOf[j];
        if (a < 0 || a >= (int)s.inputs.size() || values[s.inputs[a]].bytes() != values[s.outputs[j]].bytes() ||
            values[s.inputs[a]].dtype != values[s.outputs[j]].dtype)
          throw Error("entry '" + entry + "': " + where + ": output " + std::to_string(j) +
                      " is not a reshape of input " + std::to_string(a));
      }
    }
    if (s.kind == PlanStep::Kind::Library && s.op.resultTypes.size() != s.outputs.size() &&
        s.op.kind != LibraryOp::Kind::OptimizerStep)
      throw Error("entry '" + entry + "': " + where + " has " + std::to_string(s.outputs.size()) +
                  " outputs but its call describes " + std::to_string(s.op.resultTypes.size()));
  }
  for (int v : outputs) {
    check(v, "a result");
    if (!defined[v]) throw Error("entry '" + entry + "': result value " + std::to_string(v) + " is never written");
  }
}

namespace {
/// Runs a row-split kernel's chunks on the OpenMP threads (see PlanStep). The
/// chunks' argument arrays are laid out before the region (one allocation per
/// call, none inside it: a bucketed g2p step runs ~140 of these regions).
void runChunks(const PlanStep &s, const std::vector<void *> &base, std::vector<void *> &ptrs,
               std::vector<void *> &args) {
  const int64_t n = s.chunks;
  const size_t nargs = base.size();
  ptrs.resize((size_t)n * nargs);
  args.resize((size_t)n * nargs);
  const size_t plain = s.chunkBytes.size();  // then the bf16 copies: half their output's bytes
  auto chunkBytes = [&](size_t i) {
    return i < plain ? s.chunkBytes[i] : s.chunkBytes[s.inputs.size() + s.bf16Outputs[i - plain]] / 2;
  };
  for (int64_t c = 0; c < n; ++c)
    for (size_t i = 0; i < nargs; ++i) {
      ptrs[c * nargs + i] = static_cast<char *>(base[i]) + c * chunkBytes(i);
      args[c * nargs + i] = &ptrs[c * nargs + i];
    }
#pragma omp parallel for schedule(static) num_threads(std::min<int64_t>(n, omp_get_max_threads()))
  for (int64_t c = 0; c < n; ++c) s.fn(args.data() + c * nargs);
}
}  // namespace

std::vector<Tensor> execute(const Plan &plan, const std::vector<Tensor> &inputs, RunContext &ctx,
                            ExecProfile *profile, const StepObserver &observe) {
  if (ctx.f64) throw Error("the compiled backend runs in float32 only; use --backend reference");
  const std::string &entry = plan.entry;
  if (inputs.size() != plan.inputs.size())
    throw Error(entry + ": expected " + std::to_string(plan.inputs.size()) + " inputs, got " +
                std::to_string(inputs.size()));
  std::vector<Tensor> values(plan.values.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ValueInfo &vi = plan.values[plan.inputs[i]];
    if (inputs[i].shape() != vi.shape || inputs[i].dtype() != vi.dtype)
      throw Error(entry + ": input " + std::to_string(i) + " must be " + dtypeName(vi.dtype) +
                  shapeToString(vi.shape) + ", got " + dtypeName(inputs[i].dtype()) +
                  shapeToString(inputs[i].shape()));
    values[plan.inputs[i]] = inputs[i];
  }
  std::vector<Tensor> in, out, scratch;
  std::vector<void *> ptrs, args, chunkPtrs, chunkArgs;
  using Clock = std::chrono::steady_clock;
  for (const PlanStep &s : plan.steps) {
    Clock::time_point t0;
    if (profile) t0 = Clock::now();
    in.clear();
    for (int v : s.inputs) in.push_back(values[v]);
    if (s.kind == PlanStep::Kind::Library && s.op.kind == LibraryOp::Kind::Matmul && s.op.residual) {
      // A residual input that dies here is handed over rather than shared, so the
      // matmul can accumulate into its buffer in place (no copy).
      const int v = s.inputs.back();
      if (std::count(s.inputs.begin(), s.inputs.end(), v) == 1 &&
          std::find(s.release.begin(), s.release.end(), v) != s.release.end())
        values[v] = Tensor();
    }
    if (s.kind == PlanStep::Kind::Alias) {
      out.clear();
      for (size_t j = 0; j < s.outputs.size(); ++j) out.push_back(in[s.aliasOf[j]].reshaped(plan.values[s.outputs[j]].shape));
    } else if (s.kind == PlanStep::Kind::Library) {
      if (observe && s.op.bf16Only) {  // the observer reads every result's float32 values
        LibraryOp full = s.op;
        full.bf16Only = false;
        runLibraryOp(full, in, out, ctx);
      } else {
        runLibraryOp(s.op, in, out, ctx);
      }
      if (out.size() != s.outputs.size())
        throw Error(entry + ": library call '" + libraryKindName(s.op.kind) + "' gave " +
                    std::to_string(out.size()) + " results, expected " +
                    std::to_string(s.outputs.size()));
    } else {
      if (!s.fn) throw Error(entry + ": kernel '" + s.kernel + "' is not bound");
      out.clear();
      // Generated kernels write every element of their results.
      for (int v : s.outputs) out.push_back(Tensor::uninitialized(plan.values[v].dtype, plan.values[v].shape));
      ptrs.clear();
      for (Tensor &t : in) ptrs.push_back(t.raw());
      for (Tensor &t : out) ptrs.push_back(t.raw());
      for (int j : s.bf16Outputs) ptrs.push_back(native::bf16CopyFor(out[j].f32(), out[j].size()));
      if (s.chunks > 1) {
        // Partial sums: chunk c writes slot c of a scratch buffer; add the slots.
        scratch.clear();
        for (int j : s.partialOutputs) {
          scratch.push_back(Tensor::uninitialized(DType::F32, {s.chunks * out[j].size()}));
          ptrs[in.size() + j] = scratch.back().raw();
        }
        runChunks(s, ptrs, chunkPtrs, chunkArgs);
        for (size_t k = 0; k < s.partialOutputs.size(); ++k) {
          float *dst = out[s.partialOutputs[k]].f32();
          const float *src = scratch[k].f32();
          const int64_t n = out[s.partialOutputs[k]].size();
          for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
          for (int64_t c = 1; c < s.chunks; ++c)
            for (int64_t i = 0; i < n; ++i) dst[i] += src[c * n + i];
        }
      } else {
        args.clear();
        for (void *&p : ptrs) args.push_back(&p);
        s.fn(args.data());
      }
    }
    if (profile) {
      // HEED_PROFILE=kernels: one row per kernel symbol / library call site.
      const bool perKernel = profilePerKernel();
      std::string key = s.kind == PlanStep::Kind::Kernel  ? (perKernel ? s.kernel : "fused kernels")
                        : s.kind == PlanStep::Kind::Alias ? "reshapes (no copy)"
                                                          : libraryKindName(s.op.kind);
      if (perKernel && s.kind == PlanStep::Kind::Library)
        key += " " + shapeToString(plan.values[s.outputs.empty() ? s.inputs[0] : s.outputs[0]].shape);
      double bytes = 0;  // an alias moves none
      for (int v : s.inputs) bytes += s.kind == PlanStep::Kind::Alias ? 0.0 : (double)plan.values[v].bytes();
      for (int v : s.outputs) bytes += s.kind == PlanStep::Kind::Alias ? 0.0 : (double)plan.values[v].bytes();
      // Row-split kernels also write their partial sums to scratch and read them back.
      for (int j : s.partialOutputs) bytes += 2.0 * (double)s.chunks * plan.values[s.outputs[j]].bytes();
      for (int j : s.bf16Outputs) bytes += 0.5 * (double)plan.values[s.outputs[j]].bytes();
      int threads = s.kind == PlanStep::Kind::Library ? omp_get_max_threads()
                    : (int)std::min<int64_t>(s.chunks, omp_get_max_threads());
      (*profile)[key].add(std::chrono::duration<double>(Clock::now() - t0).count(), bytes, threads);
    }
    if (observe) observe((size_t)(&s - plan.steps.data()), in, out);
    for (size_t i = 0; i < s.outputs.size(); ++i) values[s.outputs[i]] = std::move(out[i]);
    for (int v : s.release) values[v] = Tensor();
    if (ctx.betweenSteps) ctx.betweenSteps();  // progresses the gradient buckets' sums
  }
  std::vector<Tensor> results;
  results.reserve(plan.outputs.size());
  for (int v : plan.outputs) results.push_back(values[v]);
  return results;
}

nlohmann::json toJson(const Plan &plan) {
  nlohmann::json j;
  j["entry"] = plan.entry;
  nlohmann::json values = nlohmann::json::array();
  for (const ValueInfo &v : plan.values) values.push_back({dtypeName(v.dtype), v.shape});
  j["values"] = values;
  j["inputs"] = plan.inputs;
  j["outputs"] = plan.outputs;
  nlohmann::json steps = nlohmann::json::array();
  for (const PlanStep &s : plan.steps) {
    nlohmann::json js;
    if (s.kind == PlanStep::Kind::Kernel) {
      js["kernel"] = s.kernel;
      if (s.chunks > 1) {
        js["chunks"] = s.chunks;
        js["chunk_bytes"] = s.chunkBytes;
        if (!s.partialOutputs.empty()) js["partial_outputs"] = s.partialOutputs;
      }
      if (!s.bf16Outputs.empty()) js["bf16_outputs"] = s.bf16Outputs;
    } else if (s.kind == PlanStep::Kind::Alias) {
      js["alias"] = s.aliasOf;
    } else {
      js["library"] = toJson(s.op);
    }
    js["in"] = s.inputs;
    js["out"] = s.outputs;
    steps.push_back(js);
  }
  j["steps"] = steps;
  j["stats"] = {{"kernels", plan.kernels},
                {"library_calls", plan.libraryCalls},
                {"matmul_flops", plan.flops},
                {"planned_peak_bytes", plan.peakBytes}};
  return j;
}

Plan planFromJson(const nlohmann::json &j) {
  Plan p;
  p.entry = j.at("entry").get<std::string>();
  for (const nlohmann::json &v : j.at("values")) {
    if (!v.is_array() || v.size() != 2) throw Error("entry '" + p.entry + "': a value is not [dtype, shape]");
    p.values.push_back({dtypeFromName(v[0].get<std::string>()), v[1].get<Shape>()});
  }
  p.inputs = j.at("inputs").get<std::vector<int>>();
  p.outputs = j.at("outputs").get<std::vector<int>>();
  for (const nlohmann::json &js : j.at("steps")) {
    PlanStep s;
    if (js.contains("kernel")) {
      s.kind = PlanStep::Kind::Kernel;
      s.kernel = js.at("kernel").get<std::string>();
      s.chunks = js.value("chunks", (int64_t)1);
      if (js.contains("chunk_bytes")) s.chunkBytes = js.at("chunk_bytes").get<std::vector<int64_t>>();
      if (js.contains("partial_outputs")) s.partialOutputs = js.at("partial_outputs").get<std::vector<int>>();
      if (js.contains("bf16_outputs")) s.bf16Outputs = js.at("bf16_outputs").get<std::vector<int>>();
    } else if (js.contains("alias")) {
      s.kind = PlanStep::Kind::Alias;
      s.aliasOf = js.at("alias").get<std::vector<int>>();
    } else {
      s.kind = PlanStep::Kind::Library;
      s.op = libraryOpFromJson(js.at("library"));
    }
    s.inputs = js.at("in").get<std::vector<int>>();
    s.outputs = js.at("out").get<std::vector<int>>();
    p.steps.push_back(std::move(s));
  }
  if (j.contains("stats")) {
    const nlohmann::json &st = j.at("stats");
    p.kernels = st.value("kernels", (int64_t)0);
    p.libraryCalls = st.value("library_calls", (int64_t)0);
    p.flops = st.value("matmul_flops", 0.0);
  }
  p.validate();
  p.computeLiveness();
  return p;
}

}  // namespace heed::rt

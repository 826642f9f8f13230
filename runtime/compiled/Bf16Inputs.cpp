//===- Bf16Inputs.cpp -----------------------------------------------------===//

#include "runtime/compiled/Bf16Inputs.h"

#include "runtime/Error.h"

#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace heed::rt {

namespace {

using Kind = LibraryOp::Kind;
using native::Bf16Source;

/// Producers whose kernel can write the bf16 copy of result 0 in its own pass.
bool writesOwnCopy(const PlanStep &s) {
  if (s.kind != PlanStep::Kind::Library) return false;
  return s.op.kind == Kind::Param || s.op.kind == Kind::LayerNorm || s.op.kind == Kind::LayerNormGrad ||
         s.op.kind == Kind::CrossEntropyGrad;
}

struct Read {
  size_t step;
  int operand;  // 0: lhs, 1: rhs
};

}  // namespace

void assignBf16Inputs(Plan &plan) {
  // HEED_BF16_COPIES=0: only weights' shadows, every activation rounded at each
  // matmul that reads it (the earlier scheme; to measure what the copies buy).
  const char *env = std::getenv("HEED_BF16_COPIES");
  const bool activations = !(env && std::string(env) == "0");
  // The storage each value lives in: a reshape's output is its input's.
  std::vector<int> root(plan.values.size());
  for (size_t v = 0; v < root.size(); ++v) root[v] = (int)v;
  // (step, result 0) that produced each storage, if a library call.
  std::map<int, size_t> producer;
  std::map<int, std::vector<Read>> reads;  // in schedule order
  std::map<int, size_t> anyReads;            // by any step, bf16 matmul operands included
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    PlanStep &s = plan.steps[i];
    if (s.kind == PlanStep::Kind::Alias) {
      for (size_t j = 0; j < s.outputs.size() && j < s.aliasOf.size(); ++j)
        root[s.outputs[j]] = root[s.inputs.at(s.aliasOf[j])];
      continue;
    }
    for (int v : s.inputs) ++anyReads[root[v]];
    if (s.kind == PlanStep::Kind::Library) s.op.bf16Only = false;
    // A fused kernel compiled with bf16 results (PlanStep::bf16Outputs) writes
    // those copies in the loop that computes them, whatever HEED_BF16_COPIES says.
    if (s.kind == PlanStep::Kind::Kernel) {
      for (int j : s.bf16Outputs) producer[s.outputs.at(j)] = i;
      continue;
    }
    if (s.kind != PlanStep::Kind::Library) continue;
    if (s.op.kind == Kind::Matmul && s.op.bf16) {
      for (int k = 0; k < 2; ++k) reads[root[s.inputs.at(k)]].push_back({i, k});
      s.op.bf16Lhs = s.op.bf16Rhs = Bf16Source::Round;
      s.op.dropLhs = s.op.dropRhs = false;
    }
    if (writesOwnCopy(s) && !s.outputs.empty() && (activations || s.op.kind == Kind::Param)) {
      producer[s.outputs[0]] = i;
      s.op.writesBf16 = false;
    }
  }
  std::set<int> outputs;  // storages the caller gets back
  for (int v : plan.outputs) outputs.insert(root[v]);
  for (auto &[value, step] : producer)
    if (plan.steps[step].kind == PlanStep::Kind::Kernel && !reads.count(value))
      throw Error("internal error: entry '" + plan.entry + "': kernel '" + plan.steps[step].kernel +
                  "' writes a bf16 copy of value " + std::to_string(value) + " that no bf16 matmul reads");
  for (auto &[value, rs] : reads) {
    auto p = producer.find(value);
    const bool produced = p != producer.end();
    if (!produced && (rs.size() < 2 || !activations)) continue;  // each matmul rounds it into scratch
    bool weight = false;
    if (produced && plan.steps[p->second].kind == PlanStep::Kind::Library) {
      PlanStep &prod = plan.steps[p->second];
      prod.op.writesBf16 = true;
      weight = prod.op.kind == Kind::Param;
      // Read by bf16 matmuls alone (not by a kernel, another call, a matmul's residual or
      // the caller): the float32 values would be written for nobody.
      prod.op.bf16Only = canLeaveFloat32Unwritten(prod.op.kind) && anyReads[value] == rs.size() && !outputs.count(value);
    }
    for (size_t r = 0; r < rs.size(); ++r) {
      LibraryOp &op = plan.steps[rs[r].step].op;
      const Bf16Source src = produced || r > 0 ? Bf16Source::Copy : Bf16Source::RoundKeep;
      const bool drop = !weight && r + 1 == rs.size();
      (rs[r].operand == 0 ? op.bf16Lhs : op.bf16Rhs) = src;
      (rs[r].operand == 0 ? op.dropLhs : op.dropRhs) = drop;
    }
  }
}

}  // namespace heed::rt

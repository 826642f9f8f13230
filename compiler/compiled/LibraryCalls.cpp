//===- LibraryCalls.cpp ---------------------------------------------------===//

#include "compiler/compiled/LibraryCalls.h"

#include "ops/RuntimeTypes.h"

#include "ops/HeedDialect.h"
#include "runtime/Error.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace heed {

rt::LibraryOp describe(Operation *op, bool transposeLhs, bool transposeRhs) {
  using Kind = rt::LibraryOp::Kind;
  rt::LibraryOp d;
  if (isa<MatmulOp>(op)) {
    d.kind = Kind::Matmul;
    d.transposeLhs = transposeLhs;
    d.transposeRhs = transposeRhs;
  } else if (auto s = dyn_cast<SoftmaxOp>(op)) {
    d.kind = Kind::Softmax;
    d.axis = s.getAxis();
  } else if (auto s = dyn_cast<SoftmaxGradOp>(op)) {
    d.kind = Kind::SoftmaxGrad;
    d.axis = s.getAxis();
  } else if (auto ln = dyn_cast<LayerNormOp>(op)) {
    d.kind = Kind::LayerNorm;
    d.eps = ln.getEps().convertToFloat();
  } else if (auto lg = dyn_cast<LayerNormGradOp>(op)) {
    d.kind = Kind::LayerNormGrad;
    d.eps = lg.getEps().convertToFloat();
  } else if (auto ce = dyn_cast<CrossEntropyOp>(op)) {
    d.kind = Kind::CrossEntropy;
    d.smoothing = ce.getSmoothing().convertToFloat();
    d.ignoreIndex = ce.getIgnoreIndex();
  } else if (auto cg = dyn_cast<CrossEntropyGradOp>(op)) {
    d.kind = Kind::CrossEntropyGrad;
    d.smoothing = cg.getSmoothing().convertToFloat();
    d.ignoreIndex = cg.getIgnoreIndex();
  } else if (isa<GatherOp>(op)) {
    d.kind = Kind::Gather;
  } else if (isa<ScatterAddOp>(op)) {
    d.kind = Kind::ScatterAdd;
  } else if (auto dr = dyn_cast<DropoutOp>(op)) {
    d.kind = Kind::Dropout;
    d.p = dr.getP().convertToFloat();
    d.seed = dr.getSeed();
  } else if (auto a = dyn_cast<SdpaOp>(op)) {
    d.kind = Kind::Sdpa;
    d.causal = a.getCausal();
    d.scale = a.getScale().convertToFloat();
    d.keyPadding = (bool)a.getKeyPadding();
  } else if (auto a = dyn_cast<SdpaGradOp>(op)) {
    d.kind = Kind::SdpaGrad;
    d.causal = a.getCausal();
    d.scale = a.getScale().convertToFloat();
    d.keyPadding = (bool)a.getKeyPadding();
    d.dlse = (bool)a.getDlse();
  } else if (auto p = dyn_cast<ParamOp>(op)) {
    d.kind = Kind::Param;
    d.name = p.getName().str();
  } else if (auto o = dyn_cast<OptimizerStepOp>(op)) {
    d.kind = Kind::OptimizerStep;
    for (Attribute a : o.getNames()) d.names.push_back(cast<StringAttr>(a).str());
  } else {
    throw rt::Error(locationPrefix(op->getLoc()) + "'" + op->getName().getStringRef().str() +
                    "' has neither a linalg lowering nor a library kernel");
  }
  for (Type t : op->getResultTypes()) {
    d.resultTypes.push_back(dtypeOf(t));
    d.resultShapes.push_back(shapeOf(t));
  }
  d.location = locationPrefix(op->getLoc());
  return d;
}

rt::Plan makePlan(func::FuncOp fn, const Schedule &schedule) {
  rt::Plan plan;
  plan.entry = fn.getName().str();
  llvm::DenseMap<Value, int> ids;
  auto define = [&](Value v) {
    int id = (int)plan.values.size();
    ids[v] = id;
    plan.values.push_back({dtypeOf(v.getType()), shapeOf(v.getType())});
    return id;
  };
  auto use = [&](Value v) {
    auto it = ids.find(v);
    if (it == ids.end())
      throw rt::Error("internal error: entry '" + plan.entry +
                      "': a scheduled step reads a value no earlier step writes");
    return it->second;
  };
  Block &body = fn.getBody().front();
  for (BlockArgument a : body.getArguments()) plan.inputs.push_back(define(a));
  for (const Step &s : schedule.steps) {
    rt::PlanStep ps;
    if (s.kind == Step::Kernel) {
      ps.kind = rt::PlanStep::Kind::Kernel;
      ps.kernel = s.kernel;
    } else {
      ps.kind = rt::PlanStep::Kind::Library;
      ps.op = describe(s.op, s.transposeLhs, s.transposeRhs);
      ps.op.bias = s.bias;
      ps.op.act = s.act;
    }
    for (Value v : s.inputs) ps.inputs.push_back(use(v));
    for (Value v : s.outputs) ps.outputs.push_back(define(v));
    if (s.chunks > 1) {
      ps.chunks = s.chunks;
      std::vector<int> args = ps.inputs;
      args.insert(args.end(), ps.outputs.begin(), ps.outputs.end());
      for (size_t i = 0; i < args.size(); ++i) {
        const int64_t bytes = plan.values[args[i]].bytes();
        const bool partial = i >= ps.inputs.size() && s.partialOutputs.at(i - ps.inputs.size());
        if (partial) ps.partialOutputs.push_back((int)(i - ps.inputs.size()));
        ps.chunkBytes.push_back(partial ? bytes : s.splitArgs.at(i) ? bytes / s.chunks : 0);
      }
    }
    plan.steps.push_back(std::move(ps));
  }
  for (Value v : body.getTerminator()->getOperands()) plan.outputs.push_back(use(v));
  plan.kernels = schedule.kernels;
  plan.libraryCalls = schedule.libraryCalls;
  plan.flops = schedule.flops;
  plan.validate();
  plan.computeLiveness();
  return plan;
}

}  // namespace heed

//===- LibraryCalls.cpp ---------------------------------------------------===//

#include "compiler/compiled/LibraryCalls.h"

#include "ops/RuntimeTypes.h"

#include "ops/HeedDialect.h"
#include "ops/ModulePrecision.h"
#include "runtime/Error.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace heed {

rt::LibraryOp describe(Operation *op, bool transposeLhs, bool transposeRhs) {
  using Kind = rt::LibraryOp::Kind;
  // The op's record says it is a library call; the runtime kernel is the one
  // named by its mnemonic (OpTableTest checks that every such name exists).
  if (!isa<LibraryCallInterface>(op))
    throw rt::Error(locationPrefix(op->getLoc()) + "'" + op->getName().getStringRef().str() +
                    "' has neither a linalg lowering nor a library kernel");
  rt::LibraryOp d;
  d.kind = rt::libraryKindFromName(op->getName().stripDialect().str());
  // The attributes each kernel reads (a switch, so a new kind without them warns).
  switch (d.kind) {
  case Kind::Matmul:
    d.transposeLhs = transposeLhs;
    d.transposeRhs = transposeRhs;
    // Who rounds each input is decided on the plan (rt::assignBf16Inputs).
    d.bf16 = precisionOf(op) == rt::Precision::BF16;
    break;
  case Kind::Softmax: d.axis = cast<SoftmaxOp>(op).getAxis(); break;
  case Kind::SoftmaxGrad: d.axis = cast<SoftmaxGradOp>(op).getAxis(); break;
  case Kind::LayerNorm: d.eps = cast<LayerNormOp>(op).getEps().convertToFloat(); break;
  case Kind::LayerNormGrad: d.eps = cast<LayerNormGradOp>(op).getEps().convertToFloat(); break;
  case Kind::CrossEntropy: {
    auto ce = cast<CrossEntropyOp>(op);
    d.smoothing = ce.getSmoothing().convertToFloat();
    d.ignoreIndex = ce.getIgnoreIndex();
    break;
  }
  case Kind::CrossEntropyGrad: {
    auto cg = cast<CrossEntropyGradOp>(op);
    d.smoothing = cg.getSmoothing().convertToFloat();
    d.ignoreIndex = cg.getIgnoreIndex();
    break;
  }
  case Kind::Gather:
  case Kind::ScatterAdd: break;
  case Kind::Dropout: {
    auto dr = cast<DropoutOp>(op);
    d.p = dr.getP().convertToFloat();
    d.seed = dr.getSeed();
    break;
  }
  case Kind::Sdpa: {
    auto a = cast<SdpaOp>(op);
    d.causal = a.getCausal();
    d.scale = a.getScale().convertToFloat();
    d.keyPadding = (bool)a.getKeyPadding();
    d.tokenMajor = a.getTokenMajor();
    d.bf16 = precisionOf(op) == rt::Precision::BF16;  // products in bf16: native::AttentionShape
    break;
  }
  case Kind::SdpaGrad: {
    auto a = cast<SdpaGradOp>(op);
    d.causal = a.getCausal();
    d.scale = a.getScale().convertToFloat();
    d.keyPadding = (bool)a.getKeyPadding();
    d.dlse = (bool)a.getDlse();
    d.tokenMajor = a.getTokenMajor();
    d.bf16 = precisionOf(op) == rt::Precision::BF16;
    break;
  }
  case Kind::Param:
    d.name = cast<ParamOp>(op).getName().str();
    d.bf16 = precisionOf(op) == rt::Precision::BF16;  // its shadow: rt::assignBf16Inputs
    break;
  case Kind::OptimizerStep:
    for (Attribute a : cast<OptimizerStepOp>(op).getNames()) d.names.push_back(cast<StringAttr>(a).str());
    break;
  case Kind::GradientBucket: break;  // no heed op: added to the plan by rt::addGradientBucketSteps
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
      ps.bf16Outputs = s.bf16Outputs;
    } else {
      ps.kind = rt::PlanStep::Kind::Library;
      ps.op = describe(s.op, s.transposeLhs, s.transposeRhs);
      ps.op.bias = s.bias;
      ps.op.act = s.act;
      ps.op.residual = s.residual;
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

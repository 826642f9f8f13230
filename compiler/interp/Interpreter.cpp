//===- Interpreter.cpp ----------------------------------------------------===//

#include "compiler/interp/Interpreter.h"

#include "ops/HeedDialect.h"
#include "ops/RuntimeTypes.h"
#include "runtime/Error.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace heed {

std::vector<rt::Tensor> interpret(func::FuncOp fn, llvm::ArrayRef<rt::Tensor> inputs,
                                  rt::RunContext &ctx, AfterOp afterOp) {
  Block &body = fn.getBody().front();
  if (inputs.size() != body.getNumArguments())
    throw rt::Error(fn.getName().str() + ": expected " + std::to_string(body.getNumArguments()) +
                    " inputs, got " + std::to_string(inputs.size()));

  llvm::DenseMap<Value, rt::Tensor> values;
  for (unsigned i = 0; i < body.getNumArguments(); ++i) {
    auto type = cast<RankedTensorType>(body.getArgument(i).getType());
    rt::Shape want(type.getShape().begin(), type.getShape().end());
    rt::Tensor in = inputs[i];
    if (ctx.f64 && in.dtype() == rt::DType::F32) in = rt::castTo(in, rt::DType::F64);
    rt::DType wantType = ctx.f64 && dtypeOf(type) == rt::DType::F32 ? rt::DType::F64 : dtypeOf(type);
    if (in.shape() != want || in.dtype() != wantType) {
      auto name = fn.getArgAttrOfType<StringAttr>(i, "heed.name");
      throw rt::Error(fn.getName().str() + ": input '" + (name ? name.str() : std::to_string(i)) +
                      "' must be " + rt::dtypeName(dtypeOf(type)) + rt::shapeToString(want) +
                      ", got " + rt::dtypeName(inputs[i].dtype()) +
                      rt::shapeToString(inputs[i].shape()));
    }
    values[body.getArgument(i)] = in;
  }

  // Last user of each value, so intermediates are released as soon as possible.
  llvm::DenseMap<Operation *, SmallVector<Value>> releaseAfter;
  for (Operation &op : body) {
    for (Value r : op.getResults()) {
      Operation *last = nullptr;
      for (Operation *user : r.getUsers())
        if (!last || last->isBeforeInBlock(user)) last = user;
      if (last && !isa<func::ReturnOp>(last)) releaseAfter[last].push_back(r);
    }
  }

  std::vector<rt::Tensor> outputs;
  SmallVector<rt::Tensor> operands, results;
  for (Operation &op : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (Value v : ret.getOperands()) outputs.push_back(values.lookup(v));
      break;
    }
    auto kernel = dyn_cast<ReferenceKernelInterface>(op);
    if (!kernel)
      throw rt::Error(locationPrefix(op.getLoc()) + "'" + op.getName().getStringRef().str() +
                      "' has no reference kernel (layers must be decomposed first)");
    operands.clear();
    results.clear();
    for (Value v : op.getOperands()) operands.push_back(values.lookup(v));
    try {
      kernel.evaluate(operands, results, ctx);
    } catch (const rt::Error &e) {
      throw rt::Error(locationPrefix(op.getLoc()) + e.what());
    }
    if (afterOp) afterOp(op, operands, results);
    for (unsigned i = 0; i < op.getNumResults(); ++i) values[op.getResult(i)] = results[i];
    auto it = releaseAfter.find(&op);
    if (it != releaseAfter.end())
      for (Value v : it->second) values.erase(v);
  }
  return outputs;
}

}  // namespace heed

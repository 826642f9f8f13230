//===- HeedInterfaces.td - the rules every heed op provides --*- tablegen -*-===//
//
// Declared with DeclareOpInterfaceMethods on each op, so an op without its
// gradient rule or reference kernel is a link error, not a run-time surprise.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_INTERFACES
#define HEED_INTERFACES

include "mlir/IR/OpBase.td"

def Heed_GradientInterface : OpInterface<"GradientInterface"> {
  let cppNamespace = "::heed";
  let description = [{
    Reverse-mode rule: given the gradients of the op's results (null for a result
    that does not reach the loss), builds the gradients of its operands out of
    heed ops at the builder's insertion point. Returns one value per operand;
    null for operands that take no gradient (ids, masks).
  }];
  let methods = [
    InterfaceMethod<"builds the operand gradients",
      "::llvm::SmallVector<::mlir::Value>", "buildGradient",
      (ins "::mlir::OpBuilder &":$b, "::llvm::ArrayRef<::mlir::Value>":$resultGrads)>,
  ];
}

def Heed_ReferenceKernelInterface : OpInterface<"ReferenceKernelInterface"> {
  let cppNamespace = "::heed";
  let description = [{
    Runs the op on runtime tensors with the plain-loop reference kernels: the
    oracle every compiled kernel is checked against.
  }];
  let methods = [
    InterfaceMethod<"computes the results from the operands",
      "void", "evaluate",
      (ins "::llvm::ArrayRef<::heed::rt::Tensor>":$operands,
           "::llvm::SmallVectorImpl<::heed::rt::Tensor> &":$results,
           "::heed::rt::RunContext &":$ctx)>,
  ];
}

/// Ops whose results carry no gradient (masks, constants, backward-only ops).
def Heed_NoGradient : NativeOpTrait<"NoGradient"> {
  let cppNamespace = "::heed";
}
/// Layer ops: rewritten into primitives by heed-decompose before autodiff and execution.
def Heed_Layer : NativeOpTrait<"Layer"> {
  let cppNamespace = "::heed";
}

#endif // HEED_INTERFACES

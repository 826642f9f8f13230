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


//===----------------------------------------------------------------------===//
// How an op lowers in the compiled backend. Every primitive declares exactly
// one linalg lowering kind (scalar body, reduction, layout) or a library call,
// or both (a library call preferred where it applies, linalg elsewhere); layer
// ops are decomposed. OpTableTest checks it; Partition, HeedToLinalg, RowSplit
// and LibraryCalls read it.
//===----------------------------------------------------------------------===//

def Heed_ScalarBodyInterface : OpInterface<"ScalarBodyInterface"> {
  let cppNamespace = "::heed";
  let description = [{
    Elementwise with numpy broadcasting: the op is one linalg.generic whose
    body is `buildScalar` applied to the (broadcast) operand elements. Declared
    in the op's record (see Heed_ScalarBody in HeedOps.td).
  }];
  let methods = [
    InterfaceMethod<"builds the result element from the operand elements `args`",
      "::mlir::Value", "buildScalar",
      (ins "::mlir::OpBuilder &":$b, "::mlir::Location":$loc, "::mlir::ValueRange":$args)>,
  ];
}

def Heed_ReductionInterface : OpInterface<"ReductionInterface"> {
  let cppNamespace = "::heed";
  let description = [{
    Reduces (or normalizes) along an axis of operand 0: lowered to linalg.generic
    with a reduction iterator by its template in HeedToLinalg.
  }];
  let methods = [
    InterfaceMethod<[{the reduced axis of operand 0 in [0, rank), or -1 when the
                      reduced dims follow from the result shape (sum_to)}],
      "int64_t", "reducedAxis", (ins), "",
      [{
        int64_t a = $_op.getAxis();
        int64_t r = ::mlir::cast<::mlir::RankedTensorType>($_op->getOperand(0).getType()).getRank();
        return a < 0 ? a + r : a;
      }]>,
  ];
}

def Heed_LibraryCallInterface : OpInterface<"LibraryCallInterface"> {
  let cppNamespace = "::heed";
  let description = [{
    Runs as a call of the runtime's library kernel named by the op's mnemonic
    (runtime/compiled/LibraryOp.h, oneDNN or native).
  }];
  let methods = [
    InterfaceMethod<[{whether this instance goes to the library; an op that also
                      has a linalg lowering is fused where this says no}],
      "bool", "prefersLibrary", (ins), "", [{ return true; }]>,
  ];
}

/// Layout ops and compile-time data (transpose, reshape, constants): lowered
/// by their own template in HeedToLinalg, no arithmetic.
def Heed_Layout : NativeOpTrait<"Layout"> {
  let cppNamespace = "::heed";
}

#endif // HEED_INTERFACES

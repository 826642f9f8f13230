//===- Bf16Inputs.h - each bf16 matmul input rounded once per run -*- C++ -*-===//
//
// At bf16 precision every matmul input is rounded to bf16 (docs/PRECISION.md).
// This pass over a plan decides, per value that bf16 matmuls read, who rounds
// it (runtime/native/Bf16.h, "bf16 copies"):
//  - its producer, in the pass that writes the float32 value, where the kernel
//    can (a param call: the weight's shadow; layer norm; the cross-entropy
//    gradient; a generated fused kernel compiled with the bf16 result,
//    PlanStep::bf16Outputs, compiler/lowering/Bf16Copies.h): every matmul reads
//    that copy;
//  - otherwise, if several matmuls read it (an activation x read by the forward
//    and the weight-gradient matmul, a gradient dy by the input- and
//    weight-gradient ones), the first of them, keeping the copy for the others;
//  - otherwise the matmul itself, into scratch.
// A layer norm or cross-entropy gradient whose result only bf16 matmuls read
// (not a kernel, another call, a residual or the caller) writes the copy alone
// (LibraryOp::bf16Only): its float32 values would be written for nobody.
// The last matmul reading an activation's copy drops it (weights' shadows stay
// for the next run's param call to rewrite). Values are followed through
// reshapes (Alias steps: the same storage). The rounding is the same in every
// case, so results are bit for bit those of rounding at every matmul.
// HEED_BF16_COPIES=0 keeps only the weights' shadows and the fused kernels'
// copies (which cost no pass of their own), to measure the difference.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/compiled/Executor.h"

namespace heed::rt {

/// Sets the bf16 matmuls' bf16Lhs/bf16Rhs/dropLhs/dropRhs and the producers'
/// writesBf16 and bf16Only in `plan` (after its Alias steps are known). A plan without bf16
/// matmuls is left as it is.
void assignBf16Inputs(Plan &plan);

}  // namespace heed::rt

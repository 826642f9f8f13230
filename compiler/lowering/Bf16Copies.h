//===- Bf16Copies.h - fused kernels write their results' bf16 copies -*- C++ -*-===//
//
// At bf16 precision every matmul input is rounded to bf16 once per run
// (runtime/compiled/Bf16Inputs.h). Where that input is a result of a generated
// fused kernel (a residual sum, GELU's gradient, a gradient sum), the kernel
// writes the bf16 copy itself: a second result, the rounding of the float32
// one, appended after the kernel's results and fused into the loop that
// computes them (FuseMultiUseProducer in Codegen.cpp), so no separate pass over
// memory rounds it. The schedule step lists those results (Step::bf16Outputs);
// the executor hands the kernel the copy's buffer (rt::native::bf16CopyFor).
//
// The rounding is integer arithmetic on the float's bits, exactly
// rt::toBf16Bits (round to nearest, ties to even; NaN kept, quieted; denormals
// rounded). Not arith.truncf: LLVM 19 lowers that to vcvtneps2bf16 on AVX512_BF16
// CPUs, which treats denormal inputs as zero, so its bits would differ from the
// reference interpreter's (tests/unit/compiled/Bf16KernelCopyTest.cpp).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <vector>

namespace heed {

struct KernelModule;

/// HEED_BF16_KERNEL_COPIES=0 turns the kernels' bf16 results off (the first
/// matmul reading such a value rounds it, as before), to measure them and to
/// test that they leave the results bit for bit alike. Read at each compile.
bool bf16KernelCopies();

/// Appends to kernel `k` a bf16 result per index in `results` (ascending): the
/// round-to-nearest-even of that float32 result, computed by a linalg.generic
/// before the return (fuseLinalg then fuses it into the producing loop).
void appendBf16Results(mlir::func::FuncOp k, const std::vector<int> &results);

/// For every kernel result that a bf16 matmul reads (followed through reshape
/// aliases), float32 and not a row-split partial sum: records it in the step's
/// bf16Outputs and appends its bf16 result to the kernel. Run after
/// aliasReshapeKernels, before fusion. Returns whether any kernel changed.
/// Results that only reshape a kernel argument are left to the matmul.
bool addBf16Copies(KernelModule &km);

}  // namespace heed

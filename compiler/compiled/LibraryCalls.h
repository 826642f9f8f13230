//===- LibraryCalls.h - heed ops to library-call descriptors ----*- C++ -*-===//
//
// The compiled backend runs the ops that Partition does not fuse (matmul, layer
// norm, softmax, loss, gather/scatter, dropout, param, optimizer step) as
// library calls. This file turns those heed ops into MLIR-free descriptors
// (runtime/compiled/LibraryOp.h) and a partitioned entry function into an
// executable plan (runtime/compiled/Executor.h); the runtime executes both,
// for the JIT backend and for compiled artifacts alike.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "compiler/lowering/Partition.h"
#include "runtime/compiled/Executor.h"
#include "runtime/compiled/LibraryOp.h"

namespace mlir {
class Operation;
}

namespace heed {

/// The library call that runs `op`. `transposeLhs/Rhs` (matmul only): that input
/// holds the operand with its last two dims swapped (an absorbed transpose).
/// Throws rt::Error (naming the op) for an op without a library kernel.
rt::LibraryOp describe(mlir::Operation *op, bool transposeLhs = false, bool transposeRhs = false);

/// The plan of one partitioned entry function: values numbered with the
/// function's arguments first, then every step's outputs in schedule order;
/// kernel steps name their kernel (fn unbound); liveness computed. Throws rt::Error.
rt::Plan makePlan(mlir::func::FuncOp fn, const Schedule &schedule);


}  // namespace heed

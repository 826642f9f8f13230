//===- CodegenVectorize.h - explicit vectorization of bufferized kernels -*- C++ -*-===//
//
// The code generator's vector stage (Codegen.cpp runs it between bufferization and
// the loops): every linalg op of a kernel whose innermost loop reads and writes
// memory contiguously is tiled by 1 on its outer loops and by a vector width on its
// innermost loop, and the tile becomes vector ops (linalg::vectorize), lowered to
// 1-D loads, stores and arithmetic on vector<16xf32> (or 8/4 lanes when 16 does not
// divide the row). Math ops on those vectors become MLIR's polynomial
// approximations (exp, log, tanh, erf; sqrt stays the exact vsqrtps) instead of
// scalarized libm calls.
//
// Numerics: the tiles run in the scalar loops' order, and a reduction along the
// innermost loop stays an ordered (sequential) sum into its accumulator, so every
// sum adds the same values in the same order as the scalar loops and is bit for bit
// theirs; only the approximated math functions round differently from libm
// (docs/ARCHITECTURE.md states the bounds, tests/unit/compiled/VectorMathTest.cpp
// measures them).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <memory>

namespace mlir {
class Pass;
}  // namespace mlir

namespace heed {

/// HEED_VECTORIZE: "0" keeps today's scalar loops (left to LLVM's loop
/// vectorizer, libm math); anything else, or unset, vectorizes. Read at each compile.
bool vectorizeKernelsEnabled();

/// The vector stage on func.func kernels of linalg on memrefs (see above).
std::unique_ptr<mlir::Pass> createVectorizeKernelsPass();

}  // namespace heed

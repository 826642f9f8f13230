//===- RowSplit.h - run a fused kernel as independent row chunks -*- C++ -*-===//
//
// Generated kernels are single-threaded loops. Most fused groups of a
// transformer step are row-wise: every output row (leading dim) depends only on
// the same rows of some inputs and on whole other inputs (biases, gains,
// positional tables). Such a group is compiled for 1/C of the rows, and the
// executor calls it C times in parallel with the row-split buffers offset by
// c * bytes / C; the other inputs are passed whole.
//
// The analysis is on heed ops (before lowering): values that must be split
// together are unioned (an elementwise result with its full-row operands, a
// reshape with its operand, a reduction over a non-leading axis with its
// operand); values that must stay whole are marked (broadcast operands, anything
// reduced or transposed across the leading axis, non-splat constants). A group
// splits if every output is in a split class, no class is both, and every split
// value's leading dim is a multiple of C (then the flat halves of a reshape's
// operand and result are the same elements).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseSet.h"

#include <optional>

namespace heed {

struct RowSplit {
  /// Values (group inputs and op results) compiled at 1/chunks of their rows.
  llvm::DenseSet<mlir::Value> split;
  /// Outputs that sum over the leading (split) axis and are not used inside the
  /// group: each chunk writes its partial sum at the full shape into its own
  /// slot, and the executor adds the slots (a bias gradient, sum_to [d] of
  /// [batch, seq, d]).
  llvm::DenseSet<mlir::Value> partial;
};

/// How to split the group `ops` with results `outputs` into `chunks` row
/// blocks, or nullopt if it is not row-wise for that count.
std::optional<RowSplit> rowSplitValues(llvm::ArrayRef<mlir::Operation *> ops,
                                       llvm::ArrayRef<mlir::Value> outputs, int64_t chunks);

/// `t` with its leading dim divided by `chunks`.
mlir::Type chunkType(mlir::Type t, int64_t chunks);

}  // namespace heed

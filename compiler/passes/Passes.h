//===- Passes.h - heed's compiler passes ------------------------*- C++ -*-===//
#pragma once

#include <memory>

namespace mlir {
class Pass;
class PassManager;
}  // namespace mlir

namespace heed {

/// heed-decompose: rewrites layer ops (embedding, positional_encoding, linear,
/// feed_forward, attention) into primitives.
std::unique_ptr<mlir::Pass> createDecomposePass();

/// heed-autodiff: builds @train_step, @eval and @forward from the decomposed @forward.
std::unique_ptr<mlir::Pass> createAutodiffPass();

/// heed-split-stages: adds @encode/@decode when one @forward output feeds another.
std::unique_ptr<mlir::Pass> createSplitStagesPass();

/// heed-decode-step: adds @decode_step (one position per row with a key/value
/// cache) and @decode_init (its per-batch invariants) from @decode or @forward.
std::unique_ptr<mlir::Pass> createDecodeStepPass();

/// Registers every heed pass (and the upstream ones heed pipelines use) for
/// textual pipelines (`heed-opt -heed-decompose`).
void registerHeedPasses();

}  // namespace heed

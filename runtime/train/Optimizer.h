//===- Optimizer.h - gradient clipping and parameter updates ----*- C++ -*-===//
//
// applyUpdate does one optimizer step over a ParamStore:
//   1. the global L2 norm of the gradients of the non-frozen parameters;
//   2. if clip > 0 and norm > clip, every gradient is scaled by clip / norm
//      (so the clipped global norm equals clip);
//   3. the update, for every non-frozen parameter that has a gradient:
//        adam   Adam; weightDecay (default 0) is an L2 term added to the
//               (clipped) gradient, as in torch.optim.Adam
//        adamw  Adam with decoupled weight decay (default 0.01), as in
//               torch.optim.AdamW
//        sgd    p -= lr * (g + weightDecay * p)  (default weightDecay 0)
//      Adam's m and v are allocated (zeros) on first use.
// If the norm is not finite (a NaN or inf gradient) nothing is changed; the
// norm is still returned so the caller can stop or skip.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/ParamStore.h"
#include "runtime/Tensor.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace heed::rt {

struct OptimizerConfig {
  std::string kind = "adam";  // "adam", "adamw", "sgd"
  float beta1 = 0.9f, beta2 = 0.98f, eps = 1e-9f;  // the paper's Adam settings
  std::optional<float> weightDecay;  // unset: 0.01 for adamw, 0 otherwise
  float clip = 0;                    // global-norm clip; 0 = off

  float effectiveWeightDecay() const { return weightDecay.value_or(kind == "adamw" ? 0.01f : 0.0f); }
  /// Throws rt::Error on an unknown kind (listing the valid ones) or bad numbers.
  void validate() const;
};

/// One parameter's buffers for UpdateKernels::adamAll (n floats each).
struct AdamBuffers {
  float *param, *m, *v;
  const float *grad;
  int64_t n;
  /// The bf16 shadow of param that the matmuls of a bf16 run read (null: none):
  /// written with the updated values in the same pass, rounded as the param op would.
  uint16_t *shadow = nullptr;
};

/// Faster kernels for the update loops (the compiled backend passes the
/// threaded ones of runtime/native; this library cannot depend on them). Each
/// computes what its reference counterpart does; only sumSquares may round
/// differently (it sums in blocks), so the clip factor can differ in the last bit.
struct UpdateKernels {
  void (*adam)(float *param, float *m, float *v, const float *grad, int64_t n, float lr,
               float beta1, float beta2, float eps, float weightDecay, int64_t step) = nullptr;
  double (*sumSquares)(const float *x, int64_t n) = nullptr;
  void (*scale)(float *x, int64_t n, float factor) = nullptr;
  /// Batched forms, one threaded pass over all parameters. adamAll updates each
  /// tensor as adam does with the gradient g * gradScale + gradDecay * param
  /// (the multiply skipped when gradScale == 1, the add when gradDecay == 0),
  /// rounded as applyUpdate computes its clipped, decayed copy, so the bits are
  /// those of scale + the decay loop + adam. sumSquaresAll(x, n, count) equals
  /// adding sumSquares(x[i], n[i]) for i in order.
  void (*adamAll)(const AdamBuffers *t, int64_t count, float gradScale, float gradDecay,
                  float lr, float beta1, float beta2, float eps, float weightDecay,
                  int64_t step) = nullptr;
  double (*sumSquaresAll)(const float *const *x, const int64_t *n, int64_t count) = nullptr;
  /// The bf16 shadow of parameter x[0, n) on this thread (native::bf16CopyFor), or
  /// null when no bf16 run wrote one: adamAll refreshes it as it updates x.
  uint16_t *(*bf16Shadow)(const float *x, int64_t n) = nullptr;
};

/// One optimizer step (see above). Every gradient must name a parameter of the
/// store and match its shape (f32); duplicates throw. `step` is 1-based.
/// Returns the global gradient norm before clipping. *shadowsCurrent (when given) says
/// whether every updated parameter's bf16 shadow, where it has one, now holds the
/// rounding of its new values (kernels with adamAll and bf16Shadow; see
/// RunContext::bf16ShadowsCurrent).
float applyUpdate(ParamStore &store, const std::vector<std::pair<std::string, Tensor>> &grads,
                  const OptimizerConfig &cfg, float lr, int64_t step,
                  const UpdateKernels *kernels = nullptr, bool *shadowsCurrent = nullptr);

}  // namespace heed::rt

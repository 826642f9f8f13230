//===- Variants.h - alternative implementations, for benchmarks -*- C++ -*-===//
//
// Internal to heed_native (and bench/native_kernels.cpp, which measures them):
// hand-written OpenMP loops and oneDNN-primitive versions of the kernels that
// could go either way. The public functions in Native.h forward to whichever
// measured faster here (see the comments in the .cpp files).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

namespace heed::rt::native {
struct AttentionShape;  // Native.h
}

namespace heed::rt::native::variant {

// Layer norm: loops (statistics as mean/rstd) ...
void layerNormForwardLoops(const float *x, const float *gamma, const float *beta, float *y,
                           float *mean, float *rstd, int64_t rows, int64_t dim, float eps,
                           uint16_t *y16 = nullptr);
void layerNormBackwardLoops(const float *x, const float *gamma, const float *mean,
                            const float *rstd, const float *dy, float *dx, float *dgamma,
                            float *dbeta, int64_t rows, int64_t dim, float eps,
                            const float *residual = nullptr, uint16_t *dx16 = nullptr);
// ... and oneDNN (statistics as mean/variance, both required).
void layerNormForwardDnnl(const float *x, const float *gamma, const float *beta, float *y,
                          float *mean, float *var, int64_t rows, int64_t dim, float eps);
void layerNormBackwardDnnl(const float *x, const float *gamma, const float *mean,
                           const float *var, const float *dy, float *dx, float *dgamma,
                           float *dbeta, int64_t rows, int64_t dim, float eps);

void softmaxForwardLoops(const float *x, float *y, int64_t rows, int64_t n, bool log);
void softmaxBackwardLoops(const float *y, const float *dy, float *dx, int64_t rows, int64_t n,
                          bool log);
void softmaxForwardDnnl(const float *x, float *y, int64_t rows, int64_t n, bool log);
void softmaxBackwardDnnl(const float *y, const float *dy, float *dx, int64_t rows, int64_t n,
                         bool log);
/// flags[r] = row r of x holds a NaN or +inf, or only -infs: the rows whose
/// (log-)softmax is all NaN in the reference, which oneDNN does not reproduce.
/// Returns whether any row is flagged.
bool markSpecialRows(const float *x, int64_t rows, int64_t n, uint8_t *flags);
/// Overwrites the flagged rows of y with NaN.
void fillNaNRows(float *y, int64_t rows, int64_t n, const uint8_t *flags);

void geluForwardLoops(const float *x, float *y, int64_t n);
void geluBackwardLoops(const float *x, const float *dy, float *dx, int64_t n);
void geluForwardDnnl(const float *x, float *y, int64_t n);
void geluBackwardDnnl(const float *x, const float *dy, float *dx, int64_t n);

// Cross entropy (both validate targets and throw like the public functions).
float crossEntropyForwardLoops(const float *logits, const int32_t *targets, int64_t rows,
                               int64_t V, float smoothing, int64_t ignoreIndex);
void crossEntropyBackwardLoops(const float *logits, const int32_t *targets, float dloss,
                               float *dlogits, int64_t rows, int64_t V, float smoothing,
                               int64_t ignoreIndex, uint16_t *dlogits16 = nullptr);
float crossEntropyForwardDnnl(const float *logits, const int32_t *targets, int64_t rows,
                              int64_t V, float smoothing, int64_t ignoreIndex);
void crossEntropyBackwardDnnl(const float *logits, const int32_t *targets, float dloss,
                              float *dlogits, int64_t rows, int64_t V, float smoothing,
                              int64_t ignoreIndex);

// Fused attention, built twice: for AVX-512 and for baseline x86-64. The public
// functions take the AVX-512 one when the CPU has it (attentionHasAvx512).
bool attentionHasAvx512();
void attentionForward(bool avx512, const AttentionShape &s, const float *q, const float *k,
                      const float *v, const uint8_t *keyPadding, float *out, float *lse);
void attentionBackward(bool avx512, const AttentionShape &s, const float *q, const float *k,
                       const float *v, const uint8_t *keyPadding, const float *out,
                       const float *lse, const float *dout, const float *dlse, float *dq,
                       float *dk, float *dv);

}  // namespace heed::rt::native::variant

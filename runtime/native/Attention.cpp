//===- Attention.cpp - fused scaled dot-product attention (sdpa) ----------===//
//
// Flash-style: the forward runs one task per (batch, head, query block of
// kQueryBlock rows). A task computes the block's scores against every key it
// can see (one key block: at heed's lengths the whole row fits in L2), applies
// scale, key padding and the causal mask, softmaxes the rows, multiplies by v
// and keeps only the log-sum-exp. The backward runs one task per (batch, head),
// over its query blocks in order: it recomputes the probabilities from the lse
// block by block, so no [B, H, Tq, Tk] tensor exists, and accumulates dk and dv
// in a fixed order, so results do not depend on the thread count. With the
// causal mask a query block stops at the last key its last row sees: the key
// blocks after it are skipped, not computed and masked.
//
// Masking follows the op (ref::sdpa): a masked key contributes exactly
// nothing (the decomposed form's exp(-1e9 - max) is 0 in float), except in a
// row where every key is masked, which attends uniformly to all Tk keys.
//
// The block products are register-tiled loops over GCC vector types, compiled
// twice: for AVX-512 (chosen at run time when the CPU has it) and for baseline
// x86-64 (SSE2). Key counts are padded to 16 so every tile is full: k and v
// are transposed into zero-padded scratch (16 x 16 register transposes in the
// AVX-512 build), and the row loops (mask, exp, sums) run the padded width in
// whole vectors, masking by a loaded step function rather than an index test.
// A head_dim that is a multiple of 16 (g2p's and tiny's 32) is used in place:
// q, v, dout and the outputs are read and written directly, dk and dv
// accumulate in the output; other head_dims go through zero-padded copies.
// Rows of one (batch, head) are dh apart in the [B, H, T, dh] layout and
// H * dh apart in the token-major [B, T, H, dh] one (the attention layer's
// projections reshaped, so no head split or merge is copied); every access
// goes through that row stride, so both layouts run the same code.
// At short lengths (g2p: T = 24) these fixed costs per (batch, head) are what
// the kernel spends most of its time on, not the products.
//
//===----------------------------------------------------------------------===//

#include "runtime/native/Native.h"

#include "runtime/Error.h"
#include "runtime/Precision.h"
#include "runtime/native/Variants.h"
#include "runtime/native/VecMath.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace heed::rt::native {

using namespace detail;

namespace {

constexpr int64_t kQueryBlock = 32;
constexpr int64_t kPad = 16;  // head_dim and key counts are padded to a multiple of this
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

int64_t roundUp(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

template <int W>
struct Vec;
template <>
struct Vec<16> {
  typedef float V __attribute__((vector_size(64)));
  typedef float U __attribute__((vector_size(64), aligned(4), may_alias));
};
template <>
struct Vec<4> {
  typedef float V __attribute__((vector_size(16)));
  typedef float U __attribute__((vector_size(16), aligned(4), may_alias));
};

/// C[R, NV*W] (=|+=) A[R, K] @ B[K, NV*W], accumulators in registers.
/// A(r, k) is A[r * lda + k], or A[k * lda + r] when TA.
template <int W, int R, int NV, bool TA>
HEED_AI void tile(const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc,
                  int64_t K, bool accumulate) {
  using V = typename Vec<W>::V;
  using U = typename Vec<W>::U;
  V c[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) c[r][v] = accumulate ? *(const U *)(C + r * ldc + v * W) : V{};
  for (int64_t k = 0; k < K; ++k) {
    V b[NV];
    for (int v = 0; v < NV; ++v) b[v] = *(const U *)(B + k * ldb + v * W);
    for (int r = 0; r < R; ++r) {
      const float a = TA ? A[k * lda + r] : A[r * lda + k];
      for (int v = 0; v < NV; ++v) c[r][v] += b[v] * a;
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) *(U *)(C + r * ldc + v * W) = c[r][v];
}

/// C[M, N] (=|+=) op(A)[M, K] @ B[K, N]; N a multiple of kPad. Fixed order of
/// operations for given sizes, whatever thread runs it.
template <int W, bool TA>
HEED_AI void gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                  int64_t ldb, float *C, int64_t ldc, bool accumulate) {
  // Register budget: 8 zmm accumulators for AVX-512, 8 xmm for SSE (16 registers).
  constexpr int R = W == 16 ? 4 : 2, NV = W == 16 ? 2 : 4;
  auto at = [&](int64_t r) { return TA ? A + r : A + r * lda; };
  int64_t r = 0;
  for (; r + R <= M; r += R) {
    int64_t c = 0;
    for (; c + NV * W <= N; c += NV * W)
      tile<W, R, NV, TA>(at(r), lda, B + c, ldb, C + r * ldc + c, ldc, K, accumulate);
    for (; c < N; c += W) tile<W, R, 1, TA>(at(r), lda, B + c, ldb, C + r * ldc + c, ldc, K, accumulate);
  }
  for (; r < M; ++r) {
    int64_t c = 0;
    for (; c + NV * W <= N; c += NV * W)
      tile<W, 1, NV, TA>(at(r), lda, B + c, ldb, C + r * ldc + c, ldc, K, accumulate);
    for (; c < N; c += W) tile<W, 1, 1, TA>(at(r), lda, B + c, ldb, C + r * ldc + c, ldc, K, accumulate);
  }
}

/// Everything a task needs; pointers are contiguous [B, H, T, dh], or
/// [B, T, H, dh] token-major (lse [B, H, Tq] either way).
struct Problem {
  AttentionShape s;
  const float *q, *k, *v, *out, *lse, *dout, *dlse;
  const uint8_t *pad;
  float *o, *l, *dq, *dk, *dv;
  int64_t dhP, TkP, blocks;
  int64_t ld;  // row stride of q, k, v, out and the gradients: dh, or H * dh token-major

  /// Number of leading keys query i may see before padding: all of them, or
  /// with the causal mask those with j <= i + Tk - Tq.
  int64_t limit(int64_t i) const {
    if (!s.causal) return s.Tk;
    return std::clamp<int64_t>(i + s.Tk - s.Tq + 1, 0, s.Tk);
  }
  /// Every key of query i is masked: it attends uniformly to all Tk keys.
  bool fullyMasked(int64_t b, int64_t i) const {
    const int64_t L = limit(i);
    if (!pad) return L == 0;
    for (int64_t j = 0; j < L; ++j)
      if (!pad[b * s.Tk + j]) return false;
    return true;
  }
  /// Where row 0 of (batch, head) bh starts in a tensor of length T.
  int64_t offset(int64_t bh, int64_t T) const {
    if (!s.tokenMajor) return bh * T * s.dh;
    const int64_t b = bh / s.H, h = bh % s.H;
    return (b * T * s.H + h) * s.dh;
  }
  int64_t qOffset(int64_t bh) const { return offset(bh, s.Tq); }
  int64_t kOffset(int64_t bh) const { return offset(bh, s.Tk); }
};

/// Per-thread scratch, grown as needed and fully rewritten by each task.
struct Scratch {
  std::vector<float> kt, vt, kp, vp, qp, gp, sc, dp, acc1, acc2, madd, step;
  static float *get(std::vector<float> &v, int64_t n) {
    if ((int64_t)v.size() < n) v.resize((size_t)n);
    return v.data();
  }
};
thread_local Scratch tScratch;

/// dst[rows, ldd] = src[rows, cols] (row stride lds), zero beyond cols.
HEED_AI void copyPadded(const float *src, int64_t lds, int64_t rows, int64_t cols, float *dst,
                        int64_t ldd) {
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(dst + r * ldd, src + r * lds, (size_t)cols * sizeof(float));
    std::memset(dst + r * ldd + cols, 0, (size_t)(ldd - cols) * sizeof(float));
  }
}

/// dst[cols, ldd] = src[rows, cols]^T (row stride lds), zero in columns >= rows.
template <int W>
HEED_AI void transposePadded(const float *src, int64_t lds, int64_t rows, int64_t cols, float *dst,
                             int64_t ldd) {
  for (int64_t c = 0; c < cols; ++c) {
    for (int64_t r = 0; r < rows; ++r) dst[c * ldd + r] = src[r * lds + c];
    std::memset(dst + c * ldd + rows, 0, (size_t)(ldd - rows) * sizeof(float));
  }
}

// GCC 12's AVX-512 intrinsic headers trip -Wmaybe-uninitialized on their own
// _mm512_undefined operands (GCC bug 105593); nothing here is uninitialized.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

/// Per 128-bit lane: the low (high) float pairs of a and b.
HEED_AVX512 HEED_AI __m512 unpackLoPairs(__m512 a, __m512 b) {
  return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}
HEED_AVX512 HEED_AI __m512 unpackHiPairs(__m512 a, __m512 b) {
  return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}

/// The AVX-512 build (not inlined: its intrinsics need the target attribute
/// on the caller): 16 x 16 blocks transposed in registers (unpack, then
/// 128-bit lane shuffles); rows past the end load as zeros, which fills the
/// padding when ldd == roundUp(rows, 16), as every caller's is.
template <>
HEED_AVX512 void transposePadded<16>(const float *src, int64_t lds, int64_t rows, int64_t cols,
                                     float *dst, int64_t ldd) {
  for (int64_t r0 = 0; r0 < ldd; r0 += 16) {
    for (int64_t c0 = 0; c0 < cols; c0 += 16) {
      const int64_t nc = std::min<int64_t>(16, cols - c0);
      const __mmask16 cm = (__mmask16)((1u << nc) - 1);
      __m512 r[16], t[16];
      for (int i = 0; i < 16; ++i)
        r[i] = r0 + i < rows ? _mm512_maskz_loadu_ps(cm, src + (r0 + i) * lds + c0)
                             : _mm512_setzero_ps();
      for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
      }
      for (int i = 0; i < 16; i += 4) {
        r[i] = unpackLoPairs(t[i], t[i + 2]);
        r[i + 1] = unpackHiPairs(t[i], t[i + 2]);
        r[i + 2] = unpackLoPairs(t[i + 1], t[i + 3]);
        r[i + 3] = unpackHiPairs(t[i + 1], t[i + 3]);
      }
      for (int g = 0; g < 2; ++g)
        for (int k = 0; k < 4; ++k) {
          t[8 * g + k] = _mm512_shuffle_f32x4(r[8 * g + k], r[8 * g + 4 + k], 0x88);
          t[8 * g + 4 + k] = _mm512_shuffle_f32x4(r[8 * g + k], r[8 * g + 4 + k], 0xdd);
        }
      for (int k = 0; k < 8; ++k) {
        r[k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88);
        r[8 + k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0xdd);
      }
      for (int64_t c = 0; c < nc; ++c) _mm512_storeu_ps(dst + (c0 + c) * ldd + r0, r[c]);
    }
  }
}

#pragma GCC diagnostic pop

/// madd[j] = 0 for a key query rows may see, -inf for padding; j < n, and 0
/// for the columns past Tk (they are masked by each row's limit).
HEED_AI void keyMask(const Problem &P, int64_t b, float *madd, int64_t n) {
  const int64_t m = std::min(n, P.s.Tk);
  for (int64_t j = 0; j < m; ++j) madd[j] = P.pad && P.pad[b * P.s.Tk + j] ? kNegInf : 0.0f;
  for (int64_t j = m; j < n; ++j) madd[j] = 0.0f;
}

/// out_i = mean of v over all keys (a fully masked row), in double like the reference.
HEED_AI void uniformRow(const Problem &P, int64_t bh, float *orow) {
  const float *vb = P.v + P.kOffset(bh);
  for (int64_t c = 0; c < P.s.dh; ++c) {
    double sum = 0;
    for (int64_t j = 0; j < P.s.Tk; ++j) sum += vb[j * P.ld + c];
    orow[c] = (float)(sum / (double)P.s.Tk);
  }
}

float uniformLse(int64_t Tk) { return (float)(-1e9 + std::log((double)Tk)); }

/// step[0, 2n) = n zeros then n -infs: step + n - L is 0 for j < L and -inf
/// after. The row loops test that (a load) rather than j < L, which GCC would
/// split into a vector loop and a scalar one at L.
HEED_AI float *stepMask(std::vector<float> &buf, int64_t n) {
  float *m = Scratch::get(buf, 2 * n);
  std::fill(m, m + n, 0.0f);
  std::fill(m + n, m + 2 * n, kNegInf);
  return m;
}

/// Row r of a score block, full width n (a multiple of kPad, so the loops run
/// whole vectors): x_j = score_j * scale + madd_j for the L keys the row sees,
/// -inf past them. Returns the row's max (-inf: every key masked).
HEED_AI float maskedScores(float *row, int64_t n, int64_t L, const float *madd, const float *step,
                           float scale) {
  const float *lim = step + n - L;
  float m = kNegInf;
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < n; ++j) {
    const float x = lim[j] == 0.0f ? row[j] * scale + madd[j] : kNegInf;
    row[j] = x;
    m = x > m ? x : m;
  }
  return m;
}

template <int W>
HEED_AI void forwardTask(const Problem &P, int64_t task) {
  const AttentionShape &s = P.s;
  const int64_t bh = task / P.blocks, b = bh / s.H, dh = s.dh;
  const int64_t q0 = task % P.blocks * kQueryBlock, rows = std::min(kQueryBlock, s.Tq - q0);
  const int64_t kEnd = P.limit(q0 + rows - 1), kEndP = roundUp(std::max<int64_t>(kEnd, 1), kPad);
  // A head_dim that is a multiple of kPad needs no padded copies: v is read
  // and the output written in place.
  const bool direct = P.dhP == dh;
  const int64_t ld = P.ld;
  const float *qb = P.q + P.qOffset(bh) + q0 * ld;
  float *ob = P.o + P.qOffset(bh) + q0 * ld;
  float *lb = P.l + bh * s.Tq + q0;
  Scratch &t = tScratch;
  float *sc = Scratch::get(t.sc, rows * kEndP);
  float *op = direct ? ob : Scratch::get(t.acc1, rows * P.dhP);
  const int64_t ldo = direct ? ld : P.dhP;
  float *madd = Scratch::get(t.madd, kEndP);
  bool uniform[kQueryBlock];
  float inv[kQueryBlock];
  std::fill(uniform, uniform + rows, true);
  if (kEnd > 0) {
    float *kt = Scratch::get(t.kt, dh * kEndP);
    const float *vb = P.v + P.kOffset(bh);
    if (!direct) {
      float *vp = Scratch::get(t.vp, kEnd * P.dhP);
      copyPadded(vb, ld, kEnd, dh, vp, P.dhP);
      vb = vp;
    }
    transposePadded<W>(P.k + P.kOffset(bh), ld, kEnd, dh, kt, kEndP);
    keyMask(P, b, madd, kEndP);
    const float *step = stepMask(t.step, kEndP);
    gemm<W, false>(rows, kEndP, dh, qb, ld, kt, kEndP, sc, kEndP, false);
    for (int64_t r = 0; r < rows; ++r) {
      float *row = sc + r * kEndP;
      const float m = maskedScores(row, kEndP, P.limit(q0 + r), madd, step, s.scale);
      if (m == kNegInf) {  // every key masked: uniform, below
        std::memset(row, 0, (size_t)kEndP * sizeof(float));
        continue;
      }
      float sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < kEndP; ++j) {
        const float e = fastExp(row[j] - m);  // exp(-inf) = 0 past the visible keys
        row[j] = e;
        sum += e;
      }
      inv[r] = 1.0f / sum;  // applied to the output row: one pass fewer over the scores
      lb[r] = m + std::log(sum);
      uniform[r] = false;
    }
    gemm<W, false>(rows, P.dhP, kEnd, sc, kEndP, vb, direct ? ld : P.dhP, op, ldo, false);
  }
  for (int64_t r = 0; r < rows; ++r) {
    if (!uniform[r]) {
      float *orow = ob + r * ld;
      const float *prow = op + r * ldo;
      const float f = inv[r];
#pragma omp simd
      for (int64_t c = 0; c < dh; ++c) orow[c] = prow[c] * f;
    } else {
      uniformRow(P, bh, ob + r * ld);
      lb[r] = uniformLse(s.Tk);
    }
  }
}

// The softmax backward's row terms of a query block, shared by the float32 and the bf16
// backward: whether a row sees no key (its gradient is 0) and D = dout . out - dlse.
HEED_AI void rowTerms(const Problem &P, int64_t b, int64_t q0, int64_t rows, int64_t kEnd, const float *gr,
                      const float *ob, const float *dlb, bool *uniform, float *D) {
  const int64_t ld = P.ld, dh = P.s.dh;
  for (int64_t r = 0; r < rows; ++r) {
    uniform[r] = kEnd == 0 || P.fullyMasked(b, q0 + r);
    float d = 0;
#pragma omp simd reduction(+ : d)
    for (int64_t c = 0; c < dh; ++c) d += gr[r * ld + c] * ob[(q0 + r) * ld + c];
    D[r] = d - (dlb ? dlb[q0 + r] : 0.0f);
  }
}

// In place over a query block's scores sc and dout v^T dp ([rows, kEndP]): the
// probabilities p = exp(scale * score + mask - lse) and ds = p * (dp - D) * scale. Full
// width (kEndP): p = 0 past the keys the row sees.
HEED_AI void probsAndScoreGrads(const Problem &P, int64_t q0, int64_t rows, int64_t kEndP, const bool *uniform,
                                const float *lb, const float *D, const float *madd, const float *step, float *sc,
                                float *dp) {
  const float scale = P.s.scale;
  for (int64_t r = 0; r < rows; ++r) {
    float *pr = sc + r * kEndP, *dr = dp + r * kEndP;
    const int64_t L = uniform[r] ? 0 : P.limit(q0 + r);
    const float lse = lb[q0 + r], Dr = D[r];
    const float *lim = step + kEndP - L;
#pragma omp simd
    for (int64_t j = 0; j < kEndP; ++j) {
      const float p = lim[j] == 0.0f ? fastExp(pr[j] * scale + madd[j] - lse) : 0.0f;
      pr[j] = p;
      dr[j] = p * (dr[j] - Dr) * scale;
    }
  }
}

template <int W>
HEED_AI void backwardTask(const Problem &P, int64_t bh) {
  const AttentionShape &s = P.s;
  const int64_t b = bh / s.H, Tk = s.Tk, dh = s.dh, dhP = P.dhP, TkP = P.TkP, ld = P.ld;
  const bool direct = dhP == dh;  // as in forwardTask: no padded copies
  const int64_t lacc = direct ? ld : dhP;  // row stride of dka, dva, and the gemm operands
  const float *qb = P.q + P.qOffset(bh), *gb = P.dout + P.qOffset(bh), *ob = P.out + P.qOffset(bh);
  const float *lb = P.lse + bh * s.Tq, *dlb = P.dlse ? P.dlse + bh * s.Tq : nullptr;
  float *dkb = P.dk + P.kOffset(bh), *dvb = P.dv + P.kOffset(bh);
  Scratch &t = tScratch;
  float *kt = Scratch::get(t.kt, dh * TkP), *vt = Scratch::get(t.vt, dh * TkP);
  float *sc = Scratch::get(t.sc, kQueryBlock * TkP), *dp = Scratch::get(t.dp, kQueryBlock * TkP);
  float *madd = Scratch::get(t.madd, TkP);
  const float *kp = P.k + P.kOffset(bh);
  float *dka = dkb, *dva = dvb, *qp = nullptr, *gp = nullptr, *dqa = nullptr;
  if (!direct) {
    float *kc = Scratch::get(t.kp, Tk * dhP);
    copyPadded(kp, ld, Tk, dh, kc, dhP);
    kp = kc;
    dka = Scratch::get(t.acc1, Tk * dhP), dva = Scratch::get(t.acc2, Tk * dhP);
    qp = Scratch::get(t.qp, kQueryBlock * dhP), gp = Scratch::get(t.gp, kQueryBlock * dhP);
    dqa = Scratch::get(t.vp, kQueryBlock * dhP);
  }
  transposePadded<W>(P.k + P.kOffset(bh), ld, Tk, dh, kt, TkP);
  transposePadded<W>(P.v + P.kOffset(bh), ld, Tk, dh, vt, TkP);
  keyMask(P, b, madd, TkP);
  for (int64_t j = 0; j < Tk; ++j) {  // row by row: token-major rows interleave heads
    std::memset(dka + j * lacc, 0, (size_t)dhP * sizeof(float));
    std::memset(dva + j * lacc, 0, (size_t)dhP * sizeof(float));
  }
  float D[kQueryBlock];
  bool uniform[kQueryBlock];
  for (int64_t q0 = 0; q0 < s.Tq; q0 += kQueryBlock) {
    const int64_t rows = std::min(kQueryBlock, s.Tq - q0);
    const int64_t kEnd = P.limit(q0 + rows - 1), kEndP = roundUp(std::max<int64_t>(kEnd, 1), kPad);
    const float *qr = qb + q0 * ld, *gr = gb + q0 * ld;
    float *dqr = P.dq + P.qOffset(bh) + q0 * ld;
    rowTerms(P, b, q0, rows, kEnd, gr, ob, dlb, uniform, D);
    if (kEnd > 0) {
      const float *qs = qr, *gs = gr;
      if (!direct) {
        copyPadded(qr, ld, rows, dh, qp, dhP);
        copyPadded(gr, ld, rows, dh, gp, dhP);
        qs = qp, gs = gp;
      }
      gemm<W, false>(rows, kEndP, dh, qr, ld, kt, TkP, sc, kEndP, false);  // scores
      gemm<W, false>(rows, kEndP, dh, gr, ld, vt, TkP, dp, kEndP, false);  // dout v^T
      const float *step = stepMask(t.step, kEndP);
      probsAndScoreGrads(P, q0, rows, kEndP, uniform, lb, D, madd, step, sc, dp);
      gemm<W, true>(kEnd, dhP, rows, sc, kEndP, gs, lacc, dva, lacc, true);  // dv += p^T dout
      gemm<W, true>(kEnd, dhP, rows, dp, kEndP, qs, lacc, dka, lacc, true);  // dk += ds^T q
      gemm<W, false>(rows, dhP, kEnd, dp, kEndP, kp, lacc, direct ? dqr : dqa, lacc, false);  // dq = ds k
    }
    for (int64_t r = 0; r < rows; ++r) {
      if (!uniform[r]) {
        if (!direct) std::memcpy(dqr + r * ld, dqa + r * dhP, (size_t)dh * sizeof(float));
        continue;
      }
      // Every key masked: p = 1/Tk on all keys, no gradient reaches the scores.
      std::memset(dqr + r * ld, 0, (size_t)dh * sizeof(float));
      const float w = 1.0f / (float)Tk;
      for (int64_t j = 0; j < Tk; ++j)
        for (int64_t c = 0; c < dh; ++c) dva[j * lacc + c] += w * gr[r * ld + c];
    }
  }
  if (direct) return;
  for (int64_t j = 0; j < Tk; ++j) {
    std::memcpy(dkb + j * ld, dka + j * dhP, (size_t)dh * sizeof(float));
    std::memcpy(dvb + j * ld, dva + j * dhP, (size_t)dh * sizeof(float));
  }
}


//===--- bf16 products (AVX512_BF16) -------------------------------------===//
//
// At bf16 the five products read bf16 operands and accumulate in float32 with
// _mm512_dpbf16_ps, which multiplies pairs along the reduction dimension. An
// operand is a matrix of 32-bit words, each a pair of bf16 values adjacent in
// that dimension (the low half first): A[M, K/2] (or A^T) broadcast a word at
// a time, B[K/2, N] loaded 16 words at a time, N padded to 16. Which values
// are rounded is the reference's (runtime/kernels/Attention.cpp): q, k, v,
// dout, the normalized probabilities and ds; the softmax, lse, D and every
// sum stay float32. The products' sums run in a fixed order, as above.

#define HEED_AVX512BF16                                                                          \
  __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx512bf16,avx2,fma,"             \
                        "prefer-vector-width=512")))

/// A bf16 value inside an operand's words: written through this type, which may
/// alias the uint32_t words that the products read.
typedef uint16_t Bf16Half __attribute__((may_alias));

HEED_AVX512BF16 HEED_AI uint32_t pairBits(float lo, float hi) {
  return (uint32_t)toBf16Bits(lo) | (uint32_t)toBf16Bits(hi) << 16;
}

/// dst[r, ldd) words = src row r (stride lds, cols floats) rounded to bf16
/// pairs, zero past cols.
HEED_AVX512BF16 HEED_AI void packRows(const float *src, int64_t lds, int64_t rows, int64_t cols, uint32_t *dst,
                      int64_t ldd) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *x = src + r * lds;
    uint32_t *y = dst + r * ldd;
    const int64_t full = cols / 2;
#pragma omp simd
    for (int64_t p = 0; p < full; ++p) y[p] = pairBits(x[2 * p], x[2 * p + 1]);
    for (int64_t p = full; p < ldd; ++p)
      y[p] = 2 * p < cols ? pairBits(x[2 * p], 0.0f) : 0u;
  }
}

/// dst[p, ldd) words = rows 2p and 2p + 1 of src[rows, cols] (stride lds)
/// rounded and paired column by column, zero past cols and past the last row:
/// the B operand of a product along src's rows, or A^T.
HEED_AVX512BF16 HEED_AI void packColumnPairs(const float *src, int64_t lds, int64_t rows, int64_t cols,
                             uint32_t *dst, int64_t ldd) {
  for (int64_t p = 0; 2 * p < rows; ++p) {
    const float *a = src + 2 * p * lds;
    const float *b = 2 * p + 1 < rows ? a + lds : nullptr;
    uint32_t *y = dst + p * ldd;
    if (b) {
#pragma omp simd
      for (int64_t c = 0; c < cols; ++c) y[c] = pairBits(a[c], b[c]);
    } else {
#pragma omp simd
      for (int64_t c = 0; c < cols; ++c) y[c] = pairBits(a[c], 0.0f);
    }
    std::memset(y + cols, 0, (size_t)(ldd - cols) * sizeof(uint32_t));
  }
}

/// C[R, NV*16] (=|+=) A[R, 2*KH] @ B[2*KH, NV*16] in bf16 pairs, float32 sums.
/// A(r, p) is A[r * lda + p], or A[p * lda + r] when TA.
template <int R, int NV, bool TA>
HEED_AVX512BF16 HEED_AI void tileBf16(const uint32_t *A, int64_t lda, const uint32_t *B, int64_t ldb, float *C,
                      int64_t ldc, int64_t KH, bool accumulate) {
  __m512 c[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v)
      c[r][v] = accumulate ? _mm512_loadu_ps(C + r * ldc + v * 16) : _mm512_setzero_ps();
  for (int64_t p = 0; p < KH; ++p) {
    __m512bh b[NV];
    for (int v = 0; v < NV; ++v) b[v] = (__m512bh)_mm512_loadu_si512(B + p * ldb + v * 16);
    for (int r = 0; r < R; ++r) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32((int)(TA ? A[p * lda + r] : A[r * lda + p]));
      for (int v = 0; v < NV; ++v) c[r][v] = _mm512_dpbf16_ps(c[r][v], a, b[v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(C + r * ldc + v * 16, c[r][v]);
}

/// Rows [r, r + R) of gemmBf16.
template <int R, bool TA>
HEED_AVX512BF16 HEED_AI void rowsBf16(int64_t N, int64_t KH, const uint32_t *A, int64_t lda, const uint32_t *B,
                      int64_t ldb, float *C, int64_t ldc, bool accumulate) {
  int64_t c = 0;
  for (; c + 32 <= N; c += 32) tileBf16<R, 2, TA>(A, lda, B + c, ldb, C + c, ldc, KH, accumulate);
  for (; c < N; c += 16) tileBf16<R, 1, TA>(A, lda, B + c, ldb, C + c, ldc, KH, accumulate);
}

/// C[M, N] (=|+=) op(A)[M, 2*KH] @ B[2*KH, N]; N a multiple of 16. Row tiles
/// of 8 (16 zmm accumulators: dpbf16's latency needs many independent sums).
template <bool TA>
HEED_AVX512BF16 HEED_AI void gemmBf16(int64_t M, int64_t N, int64_t KH, const uint32_t *A, int64_t lda,
                      const uint32_t *B, int64_t ldb, float *C, int64_t ldc, bool accumulate) {
  auto at = [&](int64_t r) { return TA ? A + r : A + r * lda; };
  int64_t r = 0;
  for (; r + 8 <= M; r += 8) rowsBf16<8, TA>(N, KH, at(r), lda, B, ldb, C + r * ldc, ldc, accumulate);
  for (; r + 4 <= M; r += 4) rowsBf16<4, TA>(N, KH, at(r), lda, B, ldb, C + r * ldc, ldc, accumulate);
  for (; r < M; ++r) rowsBf16<1, TA>(N, KH, at(r), lda, B, ldb, C + r * ldc, ldc, accumulate);
}

/// Per-thread bf16 operands (words), fully rewritten by each task.
struct Scratch16 {
  std::vector<uint32_t> qa, ga, kb, vb, kc, pa, da, gb, qb, ds, tmp;
  static uint32_t *get(std::vector<uint32_t> &v, int64_t n) {
    if ((int64_t)v.size() < n) v.resize((size_t)n);
    return v.data();
  }
};
thread_local Scratch16 tScratch16;

/// k's rows [n, dh] as the B operand of q k^T: words [dh/2 pairs, nP keys].
HEED_AVX512BF16 HEED_AI void packKeysTransposed(const float *k, int64_t ld, int64_t n, int64_t dh, int64_t nP,
                                uint32_t *dst) {
  const int64_t dhH = (dh + 1) / 2;
  uint32_t *rows = Scratch16::get(tScratch16.tmp, n * dhH);
  packRows(k, ld, n, dh, rows, dhH);
  // Words move as floats: the transpose only shuffles bits.
  transposePadded<16>((const float *)rows, dhH, n, dhH, (float *)dst, nP);
}

/// One query block (rows from q0) of the bf16 forward, on keys and values packed by
/// the caller: kb the B operand of q k^T (words [dhH, ldk], at least the block's
/// kEndP columns) and vb that of p v (words [at least kH, dhP]). Columns or pairs past
/// the block's keys may hold later keys: their probabilities are 0.
HEED_AVX512BF16 HEED_AI void forwardBlockBf16(const Problem &P, int64_t bh, int64_t q0, const uint32_t *kb,
                                              int64_t ldk, const uint32_t *vb) {
  const AttentionShape &s = P.s;
  const int64_t b = bh / s.H, dh = s.dh, dhH = (dh + 1) / 2;
  const int64_t rows = std::min(kQueryBlock, s.Tq - q0);
  const int64_t kEnd = P.limit(q0 + rows - 1), kEndP = roundUp(std::max<int64_t>(kEnd, 1), kPad);
  const int64_t ld = P.ld, kH = (kEnd + 1) / 2;
  float *ob = P.o + P.qOffset(bh) + q0 * ld;
  float *lb = P.l + bh * s.Tq + q0;
  Scratch &t = tScratch;
  Scratch16 &u = tScratch16;
  float *sc = Scratch::get(t.sc, rows * kEndP);
  float *op = Scratch::get(t.acc1, rows * P.dhP);
  float *madd = Scratch::get(t.madd, kEndP);
  bool uniform[kQueryBlock];
  std::fill(uniform, uniform + rows, true);
  if (kEnd > 0) {
    uint32_t *qa = Scratch16::get(u.qa, rows * dhH), *pa = Scratch16::get(u.pa, rows * kH);
    packRows(P.q + P.qOffset(bh) + q0 * ld, ld, rows, dh, qa, dhH);
    keyMask(P, b, madd, kEndP);
    const float *step = stepMask(t.step, kEndP);
    gemmBf16<false>(rows, kEndP, dhH, qa, dhH, kb, ldk, sc, kEndP, false);
    for (int64_t r = 0; r < rows; ++r) {
      float *row = sc + r * kEndP;
      const float m = maskedScores(row, kEndP, P.limit(q0 + r), madd, step, s.scale);
      if (m == kNegInf) {  // every key masked: uniform, below (p = 0 in the product)
        std::memset(pa + r * kH, 0, (size_t)kH * sizeof(uint32_t));
        continue;
      }
      float sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < kEndP; ++j) {
        const float e = fastExp(row[j] - m);
        row[j] = e;
        sum += e;
      }
      // The probabilities are normalized before they are rounded (as the reference), in
      // the pass that packs them: the words of a row are its bf16 values in order (low
      // half first), and the exps past kEnd are 0, the padding packRows would write.
      const float inv = 1.0f / sum;
      Bf16Half *prow = (Bf16Half *)(pa + r * kH);
#pragma omp simd
      for (int64_t j = 0; j < 2 * kH; ++j) prow[j] = toBf16Bits(row[j] * inv);
      lb[r] = m + std::log(sum);
      uniform[r] = false;
    }
    gemmBf16<false>(rows, P.dhP, kH, pa, kH, vb, P.dhP, op, P.dhP, false);
  }
  for (int64_t r = 0; r < rows; ++r) {
    if (uniform[r]) {
      uniformRow(P, bh, ob + r * ld);
      lb[r] = uniformLse(s.Tk);
    } else {
      std::memcpy(ob + r * ld, op + r * P.dhP, (size_t)dh * sizeof(float));
    }
  }
}

/// k and v of (batch, head) bh packed for the blocks that see their first n keys.
HEED_AVX512BF16 HEED_AI void packKeysAndValuesBf16(const Problem &P, int64_t bh, int64_t n, uint32_t *&kb,
                                                   int64_t &ldk, uint32_t *&vb) {
  const int64_t dhH = (P.s.dh + 1) / 2;
  ldk = roundUp(std::max<int64_t>(n, 1), kPad);
  kb = Scratch16::get(tScratch16.kb, dhH * ldk);
  vb = Scratch16::get(tScratch16.vb, (n + 1) / 2 * P.dhP);
  if (n == 0) return;
  packKeysTransposed(P.k + P.kOffset(bh), P.ld, n, P.s.dh, ldk, kb);
  packColumnPairs(P.v + P.kOffset(bh), P.ld, n, P.s.dh, vb, P.dhP);
}

/// A task per query block: keys and values packed for it alone.
HEED_AVX512BF16 void forwardTaskBf16(const Problem &P, int64_t task) {
  const int64_t bh = task / P.blocks, q0 = task % P.blocks * kQueryBlock;
  const int64_t rows = std::min(kQueryBlock, P.s.Tq - q0);
  uint32_t *kb, *vb;
  int64_t ldk;
  packKeysAndValuesBf16(P, bh, P.limit(q0 + rows - 1), kb, ldk, vb);
  forwardBlockBf16(P, bh, q0, kb, ldk, vb);
}

/// A task per (batch, head) when there are enough of them for the threads: keys and
/// values packed once for all its query blocks (three passes over them at bf16, not
/// one as the float32 transpose, so packing per block cost as much as the products
/// at the small LM's 256 positions). The same values as forwardTaskBf16's blocks.
HEED_AVX512BF16 void forwardHeadBf16(const Problem &P, int64_t bh) {
  uint32_t *kb, *vb;
  int64_t ldk;
  packKeysAndValuesBf16(P, bh, P.limit(P.s.Tq - 1), kb, ldk, vb);
  for (int64_t q0 = 0; q0 < P.s.Tq; q0 += kQueryBlock) forwardBlockBf16(P, bh, q0, kb, ldk, vb);
}

/// Rows r and r + 1 (Pair) or row r alone of probsAndScoreGradsBf16.
template <bool Pair>
HEED_AVX512BF16 HEED_AI void scoreGradRowsBf16(const Problem &P, int64_t q0, int64_t r, int64_t kEnd, int64_t kEndP,
                                               const bool *uniform, const float *lb, const float *D, const float *madd,
                                               const float *step, const float *sc, const float *dp, uint32_t *pw,
                                               uint32_t *dw, Bf16Half *h0, Bf16Half *h1) {
  const float scale = P.s.scale;
  const int64_t r1 = Pair ? r + 1 : r;
  const float *s0 = sc + r * kEndP, *s1 = sc + r1 * kEndP, *g0 = dp + r * kEndP, *g1 = dp + r1 * kEndP;
  const float *lim0 = step + kEndP - (uniform[r] ? 0 : P.limit(q0 + r));
  const float *lim1 = step + kEndP - (uniform[r1] ? 0 : P.limit(q0 + r1));
  const float lse0 = lb[q0 + r], lse1 = lb[q0 + r1], D0 = D[r], D1 = D[r1];
#pragma omp simd
  for (int64_t j = 0; j < kEndP; ++j) {
    const float p0 = lim0[j] == 0.0f ? fastExp(s0[j] * scale + madd[j] - lse0) : 0.0f;
    const float d0 = p0 * (g0[j] - D0) * scale;
    float p1 = 0.0f, d1 = 0.0f;
    if (Pair) {
      p1 = lim1[j] == 0.0f ? fastExp(s1[j] * scale + madd[j] - lse1) : 0.0f;
      d1 = p1 * (g1[j] - D1) * scale;
    }
    // ds rounded once for both of its layouts.
    const uint16_t e0 = toBf16Bits(d0), e1 = toBf16Bits(d1);
    pw[j] = pairBits(p0, p1);
    dw[j] = (uint32_t)e0 | (uint32_t)e1 << 16;
    h0[j] = j < kEnd ? e0 : (uint16_t)0;
    if (Pair) h1[j] = j < kEnd ? e1 : (uint16_t)0;
  }
}

/// probsAndScoreGrads at bf16, writing only what the products read, from the same float32
/// values: p^T and ds^T as pairs along queries (pa, da: row pair r/2 at r/2 * kEndP words)
/// and ds along keys (dsw: row r at r * kEndP / 2 words, its bf16 values in order, zero
/// from kEnd), rounded as packColumnPairs and packRows round them. One pass over the
/// scores instead of four.
HEED_AVX512BF16 HEED_AI void probsAndScoreGradsBf16(const Problem &P, int64_t q0, int64_t rows, int64_t kEnd,
                                                    int64_t kEndP, const bool *uniform, const float *lb, const float *D,
                                                    const float *madd, const float *step, const float *sc,
                                                    const float *dp, uint32_t *pa, uint32_t *da, uint32_t *dsw) {
  const int64_t ldw = kEndP / 2;
  int64_t r = 0;
  for (; r + 2 <= rows; r += 2)
    scoreGradRowsBf16<true>(P, q0, r, kEnd, kEndP, uniform, lb, D, madd, step, sc, dp, pa + r / 2 * kEndP,
                            da + r / 2 * kEndP, (Bf16Half *)(dsw + r * ldw), (Bf16Half *)(dsw + (r + 1) * ldw));
  if (r < rows)
    scoreGradRowsBf16<false>(P, q0, r, kEnd, kEndP, uniform, lb, D, madd, step, sc, dp, pa + r / 2 * kEndP,
                             da + r / 2 * kEndP, (Bf16Half *)(dsw + r * ldw), nullptr);
}

HEED_AVX512BF16 void backwardTaskBf16(const Problem &P, int64_t bh) {
  const AttentionShape &s = P.s;
  const int64_t b = bh / s.H, Tk = s.Tk, dh = s.dh, dhP = P.dhP, TkP = P.TkP, ld = P.ld;
  const int64_t dhH = (dh + 1) / 2, TkH = (Tk + 1) / 2, qH = kQueryBlock / 2;
  const float *qb = P.q + P.qOffset(bh), *gb = P.dout + P.qOffset(bh), *ob = P.out + P.qOffset(bh);
  const float *lb = P.lse + bh * s.Tq, *dlb = P.dlse ? P.dlse + bh * s.Tq : nullptr;
  float *dkb = P.dk + P.kOffset(bh), *dvb = P.dv + P.kOffset(bh);
  const float *kf = P.k + P.kOffset(bh);
  Scratch &t = tScratch;
  Scratch16 &u = tScratch16;
  float *sc = Scratch::get(t.sc, kQueryBlock * TkP), *dp = Scratch::get(t.dp, kQueryBlock * TkP);
  float *madd = Scratch::get(t.madd, TkP);
  float *dka = Scratch::get(t.acc1, Tk * dhP), *dva = Scratch::get(t.acc2, Tk * dhP);
  float *dqa = Scratch::get(t.vp, kQueryBlock * dhP);
  uint32_t *kt = Scratch16::get(u.kb, dhH * TkP), *vt = Scratch16::get(u.vb, dhH * TkP);
  uint32_t *kc = Scratch16::get(u.kc, TkH * dhP);  // k along keys: dq = ds k
  uint32_t *qa = Scratch16::get(u.qa, kQueryBlock * dhH), *ga = Scratch16::get(u.ga, kQueryBlock * dhH);
  uint32_t *gbw = Scratch16::get(u.gb, qH * dhP), *qbw = Scratch16::get(u.qb, qH * dhP);
  uint32_t *pa = Scratch16::get(u.pa, qH * TkP), *da = Scratch16::get(u.da, qH * TkP);
  uint32_t *dsw = Scratch16::get(u.ds, kQueryBlock * TkP / 2);
  packKeysTransposed(kf, ld, Tk, dh, TkP, kt);
  packKeysTransposed(P.v + P.kOffset(bh), ld, Tk, dh, TkP, vt);
  packColumnPairs(kf, ld, Tk, dh, kc, dhP);
  keyMask(P, b, madd, TkP);
  std::memset(dka, 0, (size_t)(Tk * dhP) * sizeof(float));
  std::memset(dva, 0, (size_t)(Tk * dhP) * sizeof(float));
  float D[kQueryBlock];
  bool uniform[kQueryBlock];
  for (int64_t q0 = 0; q0 < s.Tq; q0 += kQueryBlock) {
    const int64_t rows = std::min(kQueryBlock, s.Tq - q0), rH = (rows + 1) / 2;
    const int64_t kEnd = P.limit(q0 + rows - 1), kEndP = roundUp(std::max<int64_t>(kEnd, 1), kPad);
    const int64_t kH = (kEnd + 1) / 2;
    const float *qr = qb + q0 * ld, *gr = gb + q0 * ld;
    float *dqr = P.dq + P.qOffset(bh) + q0 * ld;
    rowTerms(P, b, q0, rows, kEnd, gr, ob, dlb, uniform, D);
    if (kEnd > 0) {
      packRows(qr, ld, rows, dh, qa, dhH);
      packRows(gr, ld, rows, dh, ga, dhH);
      packColumnPairs(qr, ld, rows, dh, qbw, dhP);
      packColumnPairs(gr, ld, rows, dh, gbw, dhP);
      gemmBf16<false>(rows, kEndP, dhH, qa, dhH, kt, TkP, sc, kEndP, false);  // scores
      gemmBf16<false>(rows, kEndP, dhH, ga, dhH, vt, TkP, dp, kEndP, false);  // dout v^T
      const float *step = stepMask(t.step, kEndP);
      // p^T and ds^T in pairs along queries, ds along keys
      probsAndScoreGradsBf16(P, q0, rows, kEnd, kEndP, uniform, lb, D, madd, step, sc, dp, pa, da, dsw);
      gemmBf16<true>(kEnd, dhP, rH, pa, kEndP, gbw, dhP, dva, dhP, true);  // dv += p^T dout
      gemmBf16<true>(kEnd, dhP, rH, da, kEndP, qbw, dhP, dka, dhP, true);  // dk += ds^T q
      gemmBf16<false>(rows, dhP, kH, dsw, kEndP / 2, kc, dhP, dqa, dhP, false);  // dq = ds k
    }
    for (int64_t r = 0; r < rows; ++r) {
      if (!uniform[r]) {
        std::memcpy(dqr + r * ld, dqa + r * dhP, (size_t)dh * sizeof(float));
        continue;
      }
      // Every key masked: p = 1/Tk on all keys (float32), no gradient reaches the scores.
      std::memset(dqr + r * ld, 0, (size_t)dh * sizeof(float));
      const float w = 1.0f / (float)Tk;
      for (int64_t j = 0; j < Tk; ++j)
        for (int64_t c = 0; c < dh; ++c) dva[j * dhP + c] += w * gr[r * ld + c];
    }
  }
  for (int64_t j = 0; j < Tk; ++j) {
    std::memcpy(dkb + j * ld, dka + j * dhP, (size_t)dh * sizeof(float));
    std::memcpy(dvb + j * ld, dva + j * dhP, (size_t)dh * sizeof(float));
  }
}

HEED_AVX512 void forwardTaskAvx512(const Problem &P, int64_t task) { forwardTask<16>(P, task); }
HEED_AVX512 void backwardTaskAvx512(const Problem &P, int64_t bh) { backwardTask<16>(P, bh); }
void forwardTaskGeneric(const Problem &P, int64_t task) { forwardTask<4>(P, task); }
void backwardTaskGeneric(const Problem &P, int64_t bh) { backwardTask<4>(P, bh); }

Problem problem(const AttentionShape &s) {
  Problem P{};
  P.s = s;
  P.dhP = roundUp(s.dh, kPad);
  P.TkP = roundUp(s.Tk, kPad);
  P.blocks = (s.Tq + kQueryBlock - 1) / kQueryBlock;
  P.ld = s.tokenMajor ? s.H * s.dh : s.dh;
  return P;
}

/// bf16 runs only where requireBf16Cpu passed: never on the baseline build.
void requireBf16Attention(bool avx512) {
  if (!avx512 || !__builtin_cpu_supports("avx512bf16"))
    throw Error("sdpa at bf16 precision needs a CPU with avx512_bf16");
}

/// Work large enough to wake the OpenMP team for.
bool worthThreads(const AttentionShape &s) { return s.Tq * s.Tk * s.dh * s.B * s.H >= kParallelMin * 4; }

}  // namespace

namespace variant {

void attentionForward(bool avx512, const AttentionShape &s, const float *q, const float *k,
                      const float *v, const uint8_t *keyPadding, float *out, float *lse) {
  if (s.B * s.H * s.Tq == 0 || s.dh == 0) return;
  Problem P = problem(s);
  P.q = q, P.k = k, P.v = v, P.pad = keyPadding, P.o = out, P.l = lse;
  if (s.bf16) requireBf16Attention(avx512);
  // bf16 with several query blocks and heads enough to share: a task per (batch, head).
  const bool perHead = s.bf16 && P.blocks > 1 && s.B * s.H >= 4 * omp_get_max_threads();
  auto task = perHead ? forwardHeadBf16 : s.bf16 ? forwardTaskBf16 : avx512 ? forwardTaskAvx512 : forwardTaskGeneric;
  const int64_t tasks = perHead ? s.B * s.H : s.B * s.H * P.blocks;
#pragma omp parallel for schedule(dynamic, 1) if (tasks > 1 && worthThreads(s))
  for (int64_t i = 0; i < tasks; ++i) task(P, i);
}

void attentionBackward(bool avx512, const AttentionShape &s, const float *q, const float *k,
                       const float *v, const uint8_t *keyPadding, const float *out,
                       const float *lse, const float *dout, const float *dlse, float *dq,
                       float *dk, float *dv) {
  if (s.B * s.H == 0 || s.dh == 0) return;
  Problem P = problem(s);
  P.q = q, P.k = k, P.v = v, P.pad = keyPadding, P.out = out, P.lse = lse, P.dout = dout,
  P.dlse = dlse, P.dq = dq, P.dk = dk, P.dv = dv;
  if (s.Tq == 0) {  // no queries: no gradient reaches k or v
    std::memset(dk, 0, (size_t)(s.B * s.H * s.Tk * s.dh) * sizeof(float));
    std::memset(dv, 0, (size_t)(s.B * s.H * s.Tk * s.dh) * sizeof(float));
    return;
  }
  auto task = s.bf16 ? backwardTaskBf16 : avx512 ? backwardTaskAvx512 : backwardTaskGeneric;
  if (s.bf16) requireBf16Attention(avx512);
  const int64_t tasks = s.B * s.H;
#pragma omp parallel for schedule(dynamic, 1) if (tasks > 1 && worthThreads(s))
  for (int64_t i = 0; i < tasks; ++i) task(P, i);
}

bool attentionHasAvx512() { return cpuHasAvx512(); }

}  // namespace variant

void attentionForward(const AttentionShape &s, const float *q, const float *k, const float *v,
                      const uint8_t *keyPadding, float *out, float *lse) {
  variant::attentionForward(cpuHasAvx512(), s, q, k, v, keyPadding, out, lse);
}

void attentionBackward(const AttentionShape &s, const float *q, const float *k, const float *v,
                       const uint8_t *keyPadding, const float *out, const float *lse,
                       const float *dout, const float *dlse, float *dq, float *dk, float *dv) {
  variant::attentionBackward(cpuHasAvx512(), s, q, k, v, keyPadding, out, lse, dout, dlse, dq, dk,
                             dv);
}

}  // namespace heed::rt::native

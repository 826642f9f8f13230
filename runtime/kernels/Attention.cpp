//===- Attention.cpp - sdpa and sdpa_grad, plain loops ---------------------===//
//
// The oracle for the fused attention kernel (runtime/native/Attention.cpp):
// every score row is materialized, masked by replacement with -1e9 (as the
// decomposed attention layer does), and softmaxed in double. The backward
// recomputes the probabilities the same way and does not read the forward's
// out or lse, so it checks the fast kernel's use of them rather than sharing it.
// The token-major layout ([B, T, H, dh]) is computed by transposing to
// [B, H, T, dh] and back, so both layouts share one set of loops and the fast
// kernel's strided indexing is checked against plain copies.
//
// At bf16 (a program compiled with precision bf16) the operands of the five
// products are rounded to bf16 (round-to-nearest-even, rt::roundToBf16), as
// the fast kernel's AVX512_BF16 products read them: q, k, v and dout, the
// normalized probabilities before p v and p^T dout, and ds before ds k and
// ds^T q. The softmax, lse, D = dout . out and every sum stay exact (double
// here). A row whose keys are all masked averages v unrounded (as the kernel
// does in float32), and D uses the rounded forward's out, as the kernel
// reads it.
//
//===----------------------------------------------------------------------===//

#include "runtime/kernels/Broadcast.h"
#include "runtime/kernels/Reference.h"
#include "runtime/Precision.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

namespace heed::rt::ref {

using namespace detail;

namespace {

constexpr double kMasked = -1e9;

struct Dims {
  int64_t B, H, Tq, Tk, dh;
};

Dims checkSdpa(const Tensor &q, const Tensor &k, const Tensor &v, const Tensor *pad,
               const char *op) {
  const DType dt = expectFloat(q, op, "q");
  expectDType(k, dt, op, "k");
  expectDType(v, dt, op, "v");
  if (q.rank() != 4 || k.rank() != 4 || k.shape() != v.shape() || q.dim(0) != k.dim(0) ||
      q.dim(1) != k.dim(1) || q.dim(3) != k.dim(3))
    throw Error(fmt::format("{}: q {} k {} v {} must be [B, H, Tq, dh], [B, H, Tk, dh] twice", op,
                            shapeToString(q.shape()), shapeToString(k.shape()),
                            shapeToString(v.shape())));
  Dims d{q.dim(0), q.dim(1), q.dim(2), k.dim(2), q.dim(3)};
  if (pad && (pad->dtype() != DType::Bool || pad->shape() != Shape{d.B, d.Tk}))
    throw Error(fmt::format("{}: key_padding must be bool [{}, {}], got {} {}", op, d.B, d.Tk,
                            dtypeName(pad->dtype()), shapeToString(pad->shape())));
  return d;
}

/// Key j is hidden from query i: padding, or (causal) after i + Tk - Tq.
bool masked(const Dims &d, const uint8_t *pad, bool causal, int64_t b, int64_t i, int64_t j) {
  return (pad && pad[b * d.Tk + j]) || (causal && j > i + d.Tk - d.Tq);
}

/// p[j] = softmax_j(masked scale * q_i . k_j) for one (b, h, i), in double;
/// returns the log-sum-exp.
template <class T>
double probabilities(const Dims &d, const T *q, const T *k, const uint8_t *pad, bool causal,
                     double scale, int64_t b, int64_t i, std::vector<double> &p) {
  double mx = -INFINITY;
  for (int64_t j = 0; j < d.Tk; ++j) {
    double s = 0;
    for (int64_t c = 0; c < d.dh; ++c) s += (double)q[i * d.dh + c] * k[j * d.dh + c];
    p[j] = masked(d, pad, causal, b, i, j) ? kMasked : s * scale;
    mx = std::max(mx, p[j]);
  }
  double sum = 0;
  for (int64_t j = 0; j < d.Tk; ++j) sum += (p[j] = std::exp(p[j] - mx));
  for (int64_t j = 0; j < d.Tk; ++j) p[j] /= sum;
  return mx + std::log(sum);
}

/// Every key of query i is masked.
bool fullyMasked(const Dims &d, const uint8_t *pad, bool causal, int64_t b, int64_t i) {
  for (int64_t j = 0; j < d.Tk; ++j)
    if (!masked(d, pad, causal, b, i, j)) return false;
  return true;
}

/// x rounded to bf16 when `round` (an f32 program at bf16), else x.
double maybeBf16(double x, bool round) { return round ? (double)rt::roundToBf16((float)x) : x; }

/// out_i = sum_j p_j v_j for one row (p rounded to bf16 when `round`, v as given).
template <class T>
void outputRow(const Dims &d, const std::vector<double> &p, const T *vb, bool round, double *o) {
  for (int64_t c = 0; c < d.dh; ++c) o[c] = 0;
  for (int64_t j = 0; j < d.Tk; ++j) {
    const double pj = maybeBf16(p[j], round);
    for (int64_t c = 0; c < d.dh; ++c) o[c] += pj * vb[j * d.dh + c];
  }
}

/// The operands the products read: q, k, v (and dout) rounded at bf16.
struct Operands {
  Tensor q, k, v, dout;
};
Operands productOperands(const Tensor &q, const Tensor &k, const Tensor &v, const Tensor *dout,
                         bool round) {
  if (!round) return {q, k, v, dout ? *dout : Tensor()};
  return {roundToBf16(q), roundToBf16(k), roundToBf16(v), dout ? roundToBf16(*dout) : Tensor()};
}

template <class T>
void sdpaTyped(const Dims &d, const Tensor &q, const Tensor &k, const Tensor &v,
               const uint8_t *pad, bool causal, double scale, bool bf16, SdpaResult &r) {
  const bool round = bf16 && std::is_same_v<T, float>;
  const Operands x = productOperands(q, k, v, nullptr, round);
  std::vector<double> p((size_t)d.Tk), o((size_t)d.dh);
  for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
    const int64_t b = bh / d.H;
    const T *qb = elems<T>(x.q) + bh * d.Tq * d.dh;  // [Tq, dh]
    const T *kb = elems<T>(x.k) + bh * d.Tk * d.dh;  // [Tk, dh]
    const T *vb = elems<T>(x.v) + bh * d.Tk * d.dh;
    T *ob = elems<T>(r.out) + bh * d.Tq * d.dh;
    for (int64_t i = 0; i < d.Tq; ++i) {
      elems<T>(r.lse)[bh * d.Tq + i] = (T)probabilities(d, qb, kb, pad, causal, scale, b, i, p);
      if (round && fullyMasked(d, pad, causal, b, i))  // the uniform average, unrounded
        outputRow(d, p, elems<T>(v) + bh * d.Tk * d.dh, false, o.data());
      else
        outputRow(d, p, vb, round, o.data());
      for (int64_t c = 0; c < d.dh; ++c) ob[i * d.dh + c] = (T)o[c];
    }
  }
}

template <class T>
void sdpaGradTyped(const Dims &d, const Tensor &q, const Tensor &k, const Tensor &v,
                   const Tensor &dout, const Tensor *dlse, const uint8_t *pad, bool causal,
                   double scale, bool bf16, SdpaGrads &g) {
  const bool round = bf16 && std::is_same_v<T, float>;
  const Operands x = productOperands(q, k, v, &dout, round);
  std::vector<double> p((size_t)d.Tk), dp((size_t)d.Tk), o((size_t)d.dh);
  std::vector<double> dk((size_t)(d.Tk * d.dh)), dv((size_t)(d.Tk * d.dh));
  for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
    const int64_t b = bh / d.H;
    const T *qb = elems<T>(x.q) + bh * d.Tq * d.dh;
    const T *kb = elems<T>(x.k) + bh * d.Tk * d.dh;
    const T *vb = elems<T>(x.v) + bh * d.Tk * d.dh;
    const T *gb = elems<T>(x.dout) + bh * d.Tq * d.dh;  // rounded at bf16
    const T *g32 = elems<T>(dout) + bh * d.Tq * d.dh;   // as given
    T *dqb = elems<T>(g.dq) + bh * d.Tq * d.dh;
    std::fill(dk.begin(), dk.end(), 0.0);
    std::fill(dv.begin(), dv.end(), 0.0);
    for (int64_t i = 0; i < d.Tq; ++i) {
      probabilities(d, qb, kb, pad, causal, scale, b, i, p);
      // dp_j = dout_i . v_j;  D = dout_i . out_i - dlse_i;  ds_j = p_j (dp_j - D)
      // (dout . out = sum_j p_j dp_j when nothing is rounded.)
      const bool full = round && fullyMasked(d, pad, causal, b, i);  // float32, as the kernel
      double D = dlse ? -(double)elems<T>(*dlse)[bh * d.Tq + i] : 0.0;
      if (round) {
        outputRow(d, p, vb, true, o.data());
        for (int64_t c = 0; c < d.dh; ++c) D += (double)g32[i * d.dh + c] * o[c];
      }
      for (int64_t j = 0; j < d.Tk; ++j) {
        double s = 0;
        for (int64_t c = 0; c < d.dh; ++c) s += (double)gb[i * d.dh + c] * vb[j * d.dh + c];
        dp[j] = s;
        if (!round) D += p[j] * s;
        const double pj = maybeBf16(p[j], round && !full);
        const T *gi = (full ? g32 : gb) + i * d.dh;
        for (int64_t c = 0; c < d.dh; ++c) dv[j * d.dh + c] += pj * gi[c];
      }
      std::vector<double> dq((size_t)d.dh, 0.0);
      for (int64_t j = 0; j < d.Tk; ++j) {
        if (masked(d, pad, causal, b, i, j)) continue;  // the score there is the constant -1e9
        const double ds = maybeBf16(p[j] * (dp[j] - D) * scale, round);
        for (int64_t c = 0; c < d.dh; ++c) {
          dq[c] += ds * kb[j * d.dh + c];
          dk[j * d.dh + c] += ds * qb[i * d.dh + c];
        }
      }
      for (int64_t c = 0; c < d.dh; ++c) dqb[i * d.dh + c] = (T)dq[c];
    }
    T *dkb = elems<T>(g.dk) + bh * d.Tk * d.dh, *dvb = elems<T>(g.dv) + bh * d.Tk * d.dh;
    for (int64_t e = 0; e < d.Tk * d.dh; ++e) {
      dkb[e] = (T)dk[e];
      dvb[e] = (T)dv[e];
    }
  }
}

/// [B, T, H, dh] <-> [B, H, T, dh] (the permutation is its own inverse).
Tensor swapHeadsAndLength(const Tensor &x) {
  if (x.rank() != 4)
    throw Error(fmt::format("sdpa: token_major operands must be [B, T, H, dh], got {}",
                            shapeToString(x.shape())));
  return transpose(x, {0, 2, 1, 3});
}

}  // namespace

SdpaResult sdpa(const Tensor &q, const Tensor &k, const Tensor &v, const Tensor *keyPadding,
                bool causal, float scale, bool tokenMajor, bool bf16) {
  if (tokenMajor) {
    SdpaResult r = sdpa(swapHeadsAndLength(q), swapHeadsAndLength(k), swapHeadsAndLength(v),
                        keyPadding, causal, scale, false, bf16);
    r.out = swapHeadsAndLength(r.out);
    return r;
  }
  const Dims d = checkSdpa(q, k, v, keyPadding, "sdpa");
  SdpaResult r{Tensor(q.dtype(), q.shape()), Tensor(q.dtype(), {d.B, d.H, d.Tq})};
  const uint8_t *pad = keyPadding ? keyPadding->b8() : nullptr;
  if (d.Tk == 0) throw Error("sdpa: no keys (Tk == 0)");
  dispatchFloat(q.dtype(), [&](auto tag) {
    sdpaTyped<decltype(tag)>(d, q, k, v, pad, causal, scale, bf16, r);
  });
  return r;
}

SdpaGrads sdpaGrad(const Tensor &q, const Tensor &k, const Tensor &v, const Tensor &dout,
                   const Tensor *dlse, const Tensor *keyPadding, bool causal, float scale,
                   bool tokenMajor, bool bf16) {
  if (tokenMajor) {
    SdpaGrads g = sdpaGrad(swapHeadsAndLength(q), swapHeadsAndLength(k), swapHeadsAndLength(v),
                           swapHeadsAndLength(dout), dlse, keyPadding, causal, scale, false, bf16);
    return {swapHeadsAndLength(g.dq), swapHeadsAndLength(g.dk), swapHeadsAndLength(g.dv)};
  }
  const Dims d = checkSdpa(q, k, v, keyPadding, "sdpa_grad");
  expectDType(dout, q.dtype(), "sdpa_grad", "dout");
  if (dout.shape() != q.shape())
    throw Error(fmt::format("sdpa_grad: dout {} must match q {}", shapeToString(dout.shape()),
                            shapeToString(q.shape())));
  if (dlse) {
    expectDType(*dlse, q.dtype(), "sdpa_grad", "dlse");
    if (dlse->shape() != Shape{d.B, d.H, d.Tq})
      throw Error(fmt::format("sdpa_grad: dlse {} must be [{}, {}, {}]",
                              shapeToString(dlse->shape()), d.B, d.H, d.Tq));
  }
  if (d.Tk == 0) throw Error("sdpa_grad: no keys (Tk == 0)");
  SdpaGrads g{Tensor(q.dtype(), q.shape()), Tensor(q.dtype(), k.shape()),
              Tensor(q.dtype(), v.shape())};
  const uint8_t *pad = keyPadding ? keyPadding->b8() : nullptr;
  dispatchFloat(q.dtype(), [&](auto tag) {
    sdpaGradTyped<decltype(tag)>(d, q, k, v, dout, dlse, pad, causal, scale, bf16, g);
  });
  return g;
}

}  // namespace heed::rt::ref

//===- LayerNorm.cpp - layer_norm and layer_norm_grad ---------------------===//

#include "runtime/kernels/Broadcast.h"
#include "runtime/kernels/Reference.h"

#include <fmt/format.h>

#include <cmath>
#include <vector>

namespace heed::rt::ref {

using namespace detail;

namespace {

DType checkParams(const Tensor &x, const Tensor &gamma, const char *op) {
  const DType dt = expectFloat(x, op, "x");
  expectDType(gamma, dt, op, "gamma");
  if (x.rank() < 1)
    throw Error(fmt::format("{}: x must have rank >= 1, got {}", op, shapeToString(x.shape())));
  if (gamma.rank() != 1 || gamma.dim(0) != x.dim(-1))
    throw Error(fmt::format("{}: gamma {} must be [{}] for x {}", op,
                            shapeToString(gamma.shape()), x.dim(-1), shapeToString(x.shape())));
  return dt;
}

/// Mean and 1/sqrt(biased var + eps) of one row, two-pass, in double.
template <class T>
void rowStats(const T *row, int64_t D, float eps, double &mean, double &rstd) {
  double s = 0.0;
  for (int64_t j = 0; j < D; ++j) s += row[j];
  mean = s / (double)D;
  double v = 0.0;
  for (int64_t j = 0; j < D; ++j) {
    double d = row[j] - mean;
    v += d * d;
  }
  rstd = 1.0 / std::sqrt(v / (double)D + (double)eps);
}

template <class T>
void layerNormTyped(const Tensor &x, const Tensor &gamma, const Tensor &beta, float eps,
                    Tensor &out) {
  const int64_t D = x.dim(-1);
  const int64_t rows = x.size() / D;
  const T *px = elems<T>(x), *pg = elems<T>(gamma), *pb = elems<T>(beta);
  T *po = elems<T>(out);
  for (int64_t r = 0; r < rows; ++r) {
    const T *row = px + r * D;
    T *orow = po + r * D;
    double mean, rstd;
    rowStats(row, D, eps, mean, rstd);
    for (int64_t j = 0; j < D; ++j)
      orow[j] = (T)((row[j] - mean) * rstd * pg[j] + pb[j]);
  }
}

// With xhat = (x - mean) * rstd and g = dy * gamma (per row):
//   dx     = rstd * (g - mean(g) - xhat * mean(g * xhat))
//   dgamma = sum over rows of dy * xhat
//   dbeta  = sum over rows of dy
template <class T>
void layerNormGradTyped(const Tensor &x, const Tensor &gamma, const Tensor &dy, float eps,
                        LayerNormGrads &g) {
  const int64_t D = x.dim(-1);
  const int64_t rows = x.size() / D;
  const T *px = elems<T>(x), *pg = elems<T>(gamma), *pd = elems<T>(dy);
  T *pdx = elems<T>(g.dx);
  std::vector<double> dgamma((size_t)D, 0.0), dbeta((size_t)D, 0.0), xhat((size_t)D);
  for (int64_t r = 0; r < rows; ++r) {
    const T *row = px + r * D;
    const T *drow = pd + r * D;
    T *dxrow = pdx + r * D;
    double mean, rstd;
    rowStats(row, D, eps, mean, rstd);
    double sumG = 0.0, sumGX = 0.0;
    for (int64_t j = 0; j < D; ++j) {
      xhat[j] = (row[j] - mean) * rstd;
      const double gj = (double)drow[j] * pg[j];
      sumG += gj;
      sumGX += gj * xhat[j];
      dgamma[j] += (double)drow[j] * xhat[j];
      dbeta[j] += drow[j];
    }
    const double meanG = sumG / (double)D, meanGX = sumGX / (double)D;
    for (int64_t j = 0; j < D; ++j) {
      const double gj = (double)drow[j] * pg[j];
      dxrow[j] = (T)(rstd * (gj - meanG - xhat[j] * meanGX));
    }
  }
  T *pdg = elems<T>(g.dgamma), *pdb = elems<T>(g.dbeta);
  for (int64_t j = 0; j < D; ++j) {
    pdg[j] = (T)dgamma[j];
    pdb[j] = (T)dbeta[j];
  }
}

}  // namespace

Tensor layerNorm(const Tensor &x, const Tensor &gamma, const Tensor &beta, float eps) {
  const DType dt = checkParams(x, gamma, "layer_norm");
  expectDType(beta, dt, "layer_norm", "beta");
  if (beta.shape() != gamma.shape())
    throw Error(fmt::format("layer_norm: beta {} must be [{}] for x {}",
                            shapeToString(beta.shape()), x.dim(-1), shapeToString(x.shape())));
  const int64_t D = x.dim(-1);
  Tensor out(dt, x.shape());
  if (D == 0) return out;
  dispatchFloat(dt, [&](auto tag) { layerNormTyped<decltype(tag)>(x, gamma, beta, eps, out); });
  return out;
}

LayerNormGrads layerNormGrad(const Tensor &x, const Tensor &gamma, const Tensor &dy, float eps) {
  const DType dt = checkParams(x, gamma, "layer_norm_grad");
  expectDType(dy, dt, "layer_norm_grad", "dy");
  if (dy.shape() != x.shape())
    throw Error(fmt::format("layer_norm_grad: dy {} and x {} differ in shape",
                            shapeToString(dy.shape()), shapeToString(x.shape())));
  const int64_t D = x.dim(-1);
  LayerNormGrads g{Tensor(dt, x.shape()), Tensor(dt, {D}), Tensor(dt, {D})};
  if (D == 0) return g;
  dispatchFloat(dt, [&](auto tag) { layerNormGradTyped<decltype(tag)>(x, gamma, dy, eps, g); });
  return g;
}

}  // namespace heed::rt::ref

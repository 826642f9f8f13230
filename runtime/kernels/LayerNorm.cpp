//===- LayerNorm.cpp - layer_norm and layer_norm_grad ---------------------===//

#include "runtime/kernels/Broadcast.h"
#include "runtime/kernels/Reference.h"

#include <fmt/format.h>

#include <cmath>
#include <vector>

namespace heed::rt::ref {

using namespace detail;

namespace {

void checkParams(const Tensor &x, const Tensor &gamma, const char *op) {
  expectDType(x, DType::F32, op, "x");
  expectDType(gamma, DType::F32, op, "gamma");
  if (x.rank() < 1)
    throw Error(fmt::format("{}: x must have rank >= 1, got {}", op, shapeToString(x.shape())));
  if (gamma.rank() != 1 || gamma.dim(0) != x.dim(-1))
    throw Error(fmt::format("{}: gamma {} must be [{}] for x {}", op,
                            shapeToString(gamma.shape()), x.dim(-1), shapeToString(x.shape())));
}

/// Mean and 1/sqrt(biased var + eps) of one row, two-pass, in double.
void rowStats(const float *row, int64_t D, float eps, double &mean, double &rstd) {
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

}  // namespace

Tensor layerNorm(const Tensor &x, const Tensor &gamma, const Tensor &beta, float eps) {
  checkParams(x, gamma, "layer_norm");
  expectDType(beta, DType::F32, "layer_norm", "beta");
  if (beta.shape() != gamma.shape())
    throw Error(fmt::format("layer_norm: beta {} must be [{}] for x {}",
                            shapeToString(beta.shape()), x.dim(-1), shapeToString(x.shape())));
  const int64_t D = x.dim(-1);
  Tensor out(DType::F32, x.shape());
  if (D == 0) return out;
  const int64_t rows = x.size() / D;
  const float *px = x.f32(), *pg = gamma.f32(), *pb = beta.f32();
  float *po = out.f32();
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = px + r * D;
    float *orow = po + r * D;
    double mean, rstd;
    rowStats(row, D, eps, mean, rstd);
    for (int64_t j = 0; j < D; ++j)
      orow[j] = (float)((row[j] - mean) * rstd * pg[j] + pb[j]);
  }
  return out;
}

// With xhat = (x - mean) * rstd and g = dy * gamma (per row):
//   dx     = rstd * (g - mean(g) - xhat * mean(g * xhat))
//   dgamma = sum over rows of dy * xhat
//   dbeta  = sum over rows of dy
LayerNormGrads layerNormGrad(const Tensor &x, const Tensor &gamma, const Tensor &dy, float eps) {
  checkParams(x, gamma, "layer_norm_grad");
  expectDType(dy, DType::F32, "layer_norm_grad", "dy");
  if (dy.shape() != x.shape())
    throw Error(fmt::format("layer_norm_grad: dy {} and x {} differ in shape",
                            shapeToString(dy.shape()), shapeToString(x.shape())));
  const int64_t D = x.dim(-1);
  LayerNormGrads g{Tensor(DType::F32, x.shape()), Tensor(DType::F32, {D}),
                   Tensor(DType::F32, {D})};
  if (D == 0) return g;
  const int64_t rows = x.size() / D;
  const float *px = x.f32(), *pg = gamma.f32(), *pd = dy.f32();
  float *pdx = g.dx.f32();
  std::vector<double> dgamma((size_t)D, 0.0), dbeta((size_t)D, 0.0), xhat((size_t)D);
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = px + r * D;
    const float *drow = pd + r * D;
    float *dxrow = pdx + r * D;
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
      dxrow[j] = (float)(rstd * (gj - meanG - xhat[j] * meanGX));
    }
  }
  float *pdg = g.dgamma.f32(), *pdb = g.dbeta.f32();
  for (int64_t j = 0; j < D; ++j) {
    pdg[j] = (float)dgamma[j];
    pdb[j] = (float)dbeta[j];
  }
  return g;
}

}  // namespace heed::rt::ref

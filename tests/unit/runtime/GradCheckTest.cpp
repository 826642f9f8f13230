// Finite-difference checks of the fused backward kernels against central
// differences of the forward kernels. The forward kernels return f32, so the
// step is moderately large (h = 1e-2 / 5e-3) and tolerances are ~1e-3.
#include "TestUtil.h"

#include <cmath>
#include <functional>

using namespace heed::rt;
using namespace heed::rt::ref;
using heed::rt::test::randomTensor;

namespace {

double sumProduct(const Tensor &a, const Tensor &w) {
  double s = 0;
  for (int64_t i = 0; i < a.size(); ++i) s += (double)a.f32()[i] * w.f32()[i];
  return s;
}

/// Central difference of the scalar f with respect to every element of t (perturbed in place).
std::vector<double> numericGrad(Tensor &t, double h, const std::function<double()> &f) {
  std::vector<double> g((size_t)t.size());
  for (int64_t i = 0; i < t.size(); ++i) {
    const float orig = t.f32()[i];
    t.f32()[i] = orig + (float)h;
    const double up = f();
    t.f32()[i] = orig - (float)h;
    const double down = f();
    t.f32()[i] = orig;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

void expectGradNear(const Tensor &analytic, const std::vector<double> &numeric, double tol,
                    const char *what) {
  ASSERT_EQ((size_t)analytic.size(), numeric.size());
  for (size_t i = 0; i < numeric.size(); ++i)
    EXPECT_NEAR(analytic.f32()[i], numeric[i], tol * (1 + std::fabs(numeric[i])))
        << what << " at " << i;
}

}  // namespace

TEST(RuntimeGradCheck, GeluGrad) {
  Tensor x = randomTensor({40}, 21, -3.0f, 3.0f);
  Tensor dy = randomTensor({40}, 22);
  Tensor g = geluGrad(x, dy);
  auto num = numericGrad(x, 1e-2, [&] { return sumProduct(unary(UnaryKind::Gelu, x), dy); });
  expectGradNear(g, num, 1e-3, "dx");
}

TEST(RuntimeGradCheck, LayerNormGrad) {
  Tensor x = randomTensor({3, 5}, 31, -2.0f, 2.0f);
  Tensor gamma = randomTensor({5}, 32, 0.5f, 1.5f);
  Tensor beta = randomTensor({5}, 33);
  Tensor w = randomTensor({3, 5}, 34);  // L = sum(layer_norm(x) * w), so dy = w
  const float eps = 1e-5f;
  LayerNormGrads g = layerNormGrad(x, gamma, w, eps);
  auto loss = [&] { return sumProduct(layerNorm(x, gamma, beta, eps), w); };
  expectGradNear(g.dx, numericGrad(x, 5e-3, loss), 2e-3, "dx");
  expectGradNear(g.dgamma, numericGrad(gamma, 5e-3, loss), 2e-3, "dgamma");
  expectGradNear(g.dbeta, numericGrad(beta, 5e-3, loss), 2e-3, "dbeta");
}

TEST(RuntimeGradCheck, CrossEntropyGradSmoothingAndIgnore) {
  Tensor logits = randomTensor({2, 3, 7}, 41, -2.0f, 2.0f);
  Tensor targets = Tensor::fromI32({2, 3}, {3, 0, -100, 6, -100, 2});
  const float dloss = 1.7f;
  Tensor g = crossEntropyGrad(logits, targets, Tensor::scalarF32(dloss), 0.1f, -100);
  auto num = numericGrad(logits, 5e-3, [&] {
    return (double)dloss * crossEntropy(logits, targets, 0.1f, -100).f32()[0];
  });
  expectGradNear(g, num, 2e-3, "dlogits");
  // The ignored positions get exactly zero gradient.
  for (int c = 0; c < 7; ++c) {
    EXPECT_EQ(g.f32()[2 * 7 + c], 0.0f);
    EXPECT_EQ(g.f32()[4 * 7 + c], 0.0f);
  }
}

//===- Optimizer.cpp - gradient clipping and parameter updates ------------===//

#include "runtime/train/Optimizer.h"

#include "runtime/Error.h"
#include "runtime/kernels/Reference.h"

#include <fmt/format.h>

#include <cmath>
#include <set>
#include <vector>

namespace heed::rt {

void OptimizerConfig::validate() const {
  if (kind != "adam" && kind != "adamw" && kind != "sgd")
    throw Error(fmt::format("unknown optimizer '{}' (valid: adam, adamw, sgd)", kind));
  if (kind != "sgd") {
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
      throw Error(fmt::format("optimizer {}: betas must be in [0, 1), got {} and {}", kind, beta1, beta2));
    if (!(eps >= 0)) throw Error(fmt::format("optimizer {}: eps must be >= 0, got {}", kind, eps));
  }
  if (!(effectiveWeightDecay() >= 0))
    throw Error(fmt::format("optimizer {}: weight decay must be >= 0, got {}", kind, effectiveWeightDecay()));
  if (!(clip >= 0)) throw Error(fmt::format("optimizer {}: clip must be >= 0, got {}", kind, clip));
}

float applyUpdate(ParamStore &store, const std::vector<std::pair<std::string, Tensor>> &grads,
                  const OptimizerConfig &cfg, float lr, int64_t step, const UpdateKernels *kernels,
                  bool *shadowsCurrent) {
  if (shadowsCurrent) *shadowsCurrent = false;
  const UpdateKernels none;
  const UpdateKernels &k = kernels ? *kernels : none;
  cfg.validate();
  if (step < 1) throw Error(fmt::format("applyUpdate: step must be >= 1 (1-based), got {}", step));

  // Match gradients to parameters and check them before touching anything.
  std::vector<std::pair<Param *, const Tensor *>> work;
  std::set<std::string> seen;
  for (const auto &[name, g] : grads) {
    Param *p = store.find(name);
    if (!p) throw Error(fmt::format("applyUpdate: gradient for unknown parameter '{}'", name));
    if (!seen.insert(name).second)
      throw Error(fmt::format("applyUpdate: two gradients for parameter '{}'", name));
    if (!g.defined() || g.dtype() != DType::F32)
      throw Error(fmt::format("applyUpdate: gradient of '{}' must be a defined f32 tensor", name));
    if (g.shape() != p->value.shape())
      throw Error(fmt::format("applyUpdate: gradient of '{}' has shape {} but the parameter is {}", name,
                              shapeToString(g.shape()), shapeToString(p->value.shape())));
    if (!p->frozen) work.emplace_back(p, &g);
  }

  std::vector<const Tensor *> gs;
  for (auto &w : work) gs.push_back(w.second);
  float norm;
  if (k.sumSquaresAll) {
    std::vector<const float *> xs;
    std::vector<int64_t> ns;
    for (const Tensor *g : gs) {
      xs.push_back(g->f32());
      ns.push_back(g->size());
    }
    norm = (float)std::sqrt(k.sumSquaresAll(xs.data(), ns.data(), (int64_t)xs.size()));
  } else if (k.sumSquares) {
    double sq = 0.0;
    for (const Tensor *g : gs) sq += k.sumSquares(g->f32(), g->size());
    norm = (float)std::sqrt(sq);
  } else {
    norm = ref::globalNorm(gs);
  }
  if (!std::isfinite(norm)) return norm;

  const float scale = (cfg.clip > 0 && norm > cfg.clip) ? cfg.clip / norm : 1.0f;
  const float wd = cfg.effectiveWeightDecay();
  const bool coupledDecay = cfg.kind != "adamw" && wd != 0;

  const float decoupled = cfg.kind == "adamw" ? wd : 0.0f;
  auto allocateMoments = [](Param *p) {
    if (!p->m.defined() || p->m.shape() != p->value.shape()) p->m = Tensor(DType::F32, p->value.shape());
    if (!p->v.defined() || p->v.shape() != p->value.shape()) p->v = Tensor(DType::F32, p->value.shape());
  };
  if (k.adamAll && cfg.kind != "sgd") {
    // One pass over everything; the kernel forms the clipped, decayed gradient
    // itself, rounded as the copy below would be.
    std::vector<AdamBuffers> bufs;
    for (auto &[p, gp] : work) {
      allocateMoments(p);
      uint16_t *shadow = k.bf16Shadow ? k.bf16Shadow(p->value.f32(), p->value.size()) : nullptr;
      bufs.push_back({p->value.f32(), p->m.f32(), p->v.f32(), gp->f32(), gp->size(), shadow});
    }
    k.adamAll(bufs.data(), (int64_t)bufs.size(), scale, coupledDecay ? wd : 0.0f, lr, cfg.beta1,
              cfg.beta2, cfg.eps, decoupled, step);
    if (shadowsCurrent) *shadowsCurrent = k.bf16Shadow != nullptr;
    return norm;
  }

  for (auto &[p, gp] : work) {
    // The gradient actually used: clipped, plus the L2 term for adam/sgd.
    Tensor gbuf;
    const Tensor *g = gp;
    if (scale != 1.0f || coupledDecay) {
      gbuf = gp->clone();
      if (scale != 1.0f) {
        if (k.scale) k.scale(gbuf.f32(), gbuf.size(), scale);
        else ref::scaleInPlace(gbuf, scale);
      }
      if (coupledDecay) {
        float *d = gbuf.f32();
        const float *x = p->value.f32();
        for (int64_t i = 0, n = gbuf.size(); i < n; ++i) d[i] += wd * x[i];
      }
      g = &gbuf;
    }
    if (cfg.kind == "sgd") {
      ref::sgdUpdate(p->value, *g, lr);
      continue;
    }
    allocateMoments(p);
    if (k.adam)
      k.adam(p->value.f32(), p->m.f32(), p->v.f32(), g->f32(), g->size(), lr, cfg.beta1, cfg.beta2,
             cfg.eps, decoupled, step);
    else
      ref::adamUpdate(p->value, p->m, p->v, *g, lr, cfg.beta1, cfg.beta2, cfg.eps, decoupled, step);
  }
  return norm;
}

}  // namespace heed::rt

//===- GradientSum.cpp - a step's gradient from its slices -----------------===//

#include "runtime/train/GradientSum.h"

#include "runtime/Error.h"

#include <cstring>

namespace heed::rt {

void GradientSum::add(const std::vector<std::pair<std::string, Tensor>> &grads, float w) {
  const bool first = names.empty();
  if (!first && grads.size() != names.size())
    throw Error("gradient accumulation: a slice produced " + std::to_string(grads.size()) + " gradients, not " +
                std::to_string(names.size()));
  int64_t at = 0;
  for (size_t k = 0; k < grads.size(); ++k) {
    const auto &[name, g] = grads[k];
    if (!g.defined() || g.dtype() != DType::F32)
      throw Error("gradient accumulation: the gradient of '" + name + "' is not an f32 tensor");
    if (first) {
      names.push_back(name);
      shapes.push_back(g.shape());
      flat.resize(flat.size() + (size_t)g.size());
    } else if (names[k] != name || shapes[k] != g.shape()) {
      throw Error("gradient accumulation: slices disagree on gradient " + std::to_string(k) + " ('" + names[k] +
                  "' " + shapeToString(shapes[k]) + " vs '" + name + "' " + shapeToString(g.shape()) + ")");
    }
    const float *x = g.f32();
    float *acc = flat.data() + at;
    const int64_t n = g.size();
    if (first) {
      for (int64_t i = 0; i < n; ++i) acc[i] = w * x[i];
    } else {
      // Round the product first, then add (two loops: no fused multiply-add).
      product.resize((size_t)n);
      for (int64_t i = 0; i < n; ++i) product[(size_t)i] = w * x[i];
      for (int64_t i = 0; i < n; ++i) acc[i] += product[(size_t)i];
    }
    at += n;
  }
}

std::vector<std::pair<std::string, Tensor>> GradientSum::tensors() const {
  std::vector<std::pair<std::string, Tensor>> out;
  int64_t at = 0;
  for (size_t k = 0; k < names.size(); ++k) {
    Tensor t(DType::F32, shapes[k]);
    std::memcpy(t.f32(), flat.data() + at, t.bytes());
    at += t.size();
    out.emplace_back(names[k], std::move(t));
  }
  return out;
}

Tensor batchRows(const Tensor &t, int64_t row0, int64_t rows) {
  if (t.rank() < 1 || row0 < 0 || row0 + rows > t.shape()[0])
    throw Error("cannot take batch rows " + std::to_string(row0) + ".." + std::to_string(row0 + rows) + " of a " +
                shapeToString(t.shape()) + " input");
  Shape s = t.shape();
  const size_t rowBytes = t.bytes() / (size_t)s[0];
  s[0] = rows;
  Tensor out(t.dtype(), s);
  std::memcpy(out.raw(), (const char *)t.raw() + (size_t)row0 * rowBytes, (size_t)rows * rowBytes);
  return out;
}

}  // namespace heed::rt

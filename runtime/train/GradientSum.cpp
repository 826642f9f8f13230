//===- GradientSum.cpp - a step's gradient from its slices -----------------===//

#include "runtime/train/GradientSum.h"

#include "runtime/Error.h"

#include <chrono>
#include <cstring>

namespace heed::rt {

namespace {
double seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

GradientSum::GradientSum(Communicator &comm, int terms) : comm(comm), terms(terms) {}

void GradientSum::add(Bucket &b, int term, const Grads &grads, float w) {
  const bool first = b.id < 0;
  if (!first && grads.size() != b.names.size())
    throw Error("gradient accumulation: a slice produced " + std::to_string(grads.size()) + " gradients, not " +
                std::to_string(b.names.size()));
  if (term != b.added) throw Error("gradient accumulation: slice " + std::to_string(term) + " out of order");
  int64_t n = 0;
  for (size_t k = 0; k < grads.size(); ++k) {
    const auto &[name, g] = grads[k];
    if (!g.defined() || g.dtype() != DType::F32)
      throw Error("gradient accumulation: the gradient of '" + name + "' is not an f32 tensor");
    if (first) {
      b.names.push_back(name);
      b.shapes.push_back(g.shape());
    } else if (b.names[k] != name || b.shapes[k] != g.shape()) {
      throw Error("gradient accumulation: slices disagree on gradient " + std::to_string(k) + " ('" + b.names[k] +
                  "' " + shapeToString(b.shapes[k]) + " vs '" + name + "' " + shapeToString(g.shape()) + ")");
    }
    n += g.size();
  }
  if (first) {
    b.result.resize((size_t)n);
    b.id = comm.startSum(b.result.data(), n, terms);
    timing_.floats += n;
    ++timing_.buckets;
  }
  // Each product rounded to f32 on its own; the communicator adds them.
  float *p = comm.termBuffer(b.id, term);
  for (const auto &[name, g] : grads) {
    const float *x = g.f32();
    for (int64_t i = 0, m = g.size(); i < m; ++i) p[i] = w * x[i];
    p += g.size();
  }
  comm.addTerm(b.id, term);
  ++b.added;
}

void GradientSum::addBucket(int term, int64_t bucket, const Grads &grads, float w) {
  const double t0 = seconds();
  std::unique_ptr<Bucket> &b = buckets[bucket];
  if (!b) {
    if (term != 0) throw Error("gradient accumulation: bucket " + std::to_string(bucket) + " missing in slice 0");
    b = std::make_unique<Bucket>();
    started.push_back(&b);
    for (const auto &[name, g] : grads) covered[name] = 1;
  }
  add(*b, term, grads, w);
  timing_.issue += seconds() - t0;
}

void GradientSum::addRest(int term, const Grads &grads, float w) {
  const double t0 = seconds();
  if (term == 0) {
    if (!order.empty()) throw Error("gradient accumulation: slice 0's optimizer step ran twice");
    for (const auto &[name, g] : grads) order.push_back(name);
  } else if (grads.size() != order.size()) {
    throw Error("gradient accumulation: a slice produced " + std::to_string(grads.size()) + " gradients, not " +
                std::to_string(order.size()));
  }
  Grads rest;
  for (const auto &ng : grads)
    if (!covered.count(ng.first)) rest.push_back(ng);
  if (!rest.empty()) {
    std::unique_ptr<Bucket> &b = buckets[kRest];
    if (!b) {
      if (term != 0) throw Error("gradient accumulation: the slices' schedules differ");
      b = std::make_unique<Bucket>();
      started.push_back(&b);
    }
    add(*b, term, rest, w);
  }
  timing_.issue += seconds() - t0;
}

void GradientSum::progress() {
  if (started.empty()) return;
  const double t0 = seconds();
  comm.progressSums();
  timing_.progress += seconds() - t0;
}

GradientSum::Grads GradientSum::finish() {
  const double t0 = seconds();
  for (auto &[key, b] : buckets)
    if (b->added != terms)
      throw Error("gradient accumulation: bucket " + std::to_string(key) + " has " + std::to_string(b->added) +
                  " of " + std::to_string(terms) + " slices");
  if (!started.empty()) timing_.doneBeforeWait = comm.progressSums();
  comm.waitSums();
  timing_.wait += seconds() - t0;
  std::map<std::string, std::pair<const Bucket *, size_t>> where;
  for (auto &[key, b] : buckets)
    for (size_t k = 0, at = 0; k < b->names.size(); at += (size_t)numElements(b->shapes[k]), ++k)
      where[b->names[k]] = {b.get(), at};
  Grads out;
  for (const std::string &name : order) {
    auto it = where.find(name);
    if (it == where.end()) throw Error("gradient accumulation: no bucket holds the gradient of '" + name + "'");
    const Bucket &b = *it->second.first;
    size_t k = 0;
    while (b.names[k] != name) ++k;
    Tensor t(DType::F32, b.shapes[k]);
    std::memcpy(t.f32(), b.result.data() + it->second.second, t.bytes());
    out.emplace_back(name, std::move(t));
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

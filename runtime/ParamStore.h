//===- ParamStore.h - named model parameters --------------------*- C++ -*-===//
//
// An insertion-ordered collection of named f32 parameters with their optimizer
// state (Adam's m and v, allocated lazily by the optimizer) and init rule.
//
// Init strings (whitespace is ignored):
//   normal(STD)        STD * rt::normal(seed, hashString(name), i)
//   uniform(A, B)      A + (B - A) * rt::uniform01(seed, hashString(name), i)
//   zeros, ones
//   load("file.npy")   an f32 .npy file (path relative to the base dir unless
//                      absolute; quotes optional); the shape must match exactly.
//
// Random inits use stream = hashString(parameter name) and index = the flat
// element index, so a parameter's initial values depend only on (seed, name):
// adding, removing or reordering other parameters does not change them.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

namespace heed::rt {

struct Param {
  std::string name;
  Tensor value;  // f32
  Tensor m, v;   // optimizer state; undefined until the optimizer first touches the param
  bool frozen = false;
  std::string init = "zeros";
};

/// Fills p.value (already allocated with its shape) according to p.init.
/// Errors name the parameter: an unknown init string, bad arguments (std < 0,
/// B < A), or for load(): the file's errors, a non-f32 file, or a shape mismatch
/// ("parameter 'w': load(\"w.npy\") has shape [3, 4] but the parameter is [4, 4]").
void initialize(Param &p, uint64_t seed, const std::string &baseDir = ".");

class ParamStore {
public:
  using iterator = std::deque<Param>::iterator;
  using const_iterator = std::deque<Param>::const_iterator;

  /// Adds a parameter with a zero-filled value of the given shape (not yet
  /// initialised; call initialize/initializeAll). Throws on a duplicate name.
  /// The returned reference stays valid as more parameters are added.
  Param &add(const std::string &name, const Shape &shape, const std::string &init = "zeros",
             bool frozen = false);

  /// nullptr if absent.
  Param *find(const std::string &name);
  const Param *find(const std::string &name) const;
  /// Throws rt::Error "no parameter named 'x'" if absent.
  Param &get(const std::string &name);
  const Param &get(const std::string &name) const;
  bool contains(const std::string &name) const { return index_.count(name) != 0; }

  /// initialize() every parameter.
  void initializeAll(uint64_t seed, const std::string &baseDir = ".");

  /// Number of scalar elements over all parameters / over the non-frozen ones.
  int64_t totalCount() const;
  int64_t trainableCount() const;

  size_t size() const { return params_.size(); }
  bool empty() const { return params_.empty(); }
  iterator begin() { return params_.begin(); }
  iterator end() { return params_.end(); }
  const_iterator begin() const { return params_.begin(); }
  const_iterator end() const { return params_.end(); }

private:
  std::deque<Param> params_;  // deque: references stay valid on push_back
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace heed::rt

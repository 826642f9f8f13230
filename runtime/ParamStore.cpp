//===- ParamStore.cpp - named model parameters ----------------------------===//

#include "runtime/ParamStore.h"

#include "runtime/Error.h"
#include "runtime/Npy.h"
#include "runtime/Random.h"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

namespace heed::rt {

namespace {

const char *kInitHelp =
    "expected normal(STD), uniform(A, B), zeros, ones or load(\"file.npy\")";

std::string stripSpaces(const std::string &s) {
  std::string out;
  bool inQuote = false;
  char quote = 0;
  for (char c : s) {
    if (inQuote) {
      out.push_back(c);
      if (c == quote) inQuote = false;
    } else if (c == '"' || c == '\'') {
      inQuote = true;
      quote = c;
      out.push_back(c);
    } else if (!std::isspace((unsigned char)c)) {
      out.push_back(c);
    }
  }
  return out;
}

/// "fn(a,b)" -> fn = "fn", args = {"a", "b"}; false if not of that form.
bool splitCall(const std::string &s, std::string &fn, std::vector<std::string> &args) {
  size_t open = s.find('(');
  if (open == std::string::npos || s.back() != ')') return false;
  fn = s.substr(0, open);
  std::string inner = s.substr(open + 1, s.size() - open - 2);
  args.clear();
  if (inner.empty()) return true;
  size_t start = 0;
  for (;;) {
    size_t comma = inner.find(',', start);
    args.push_back(inner.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return true;
}

bool parseFloat(const std::string &s, double &out) {
  if (s.empty()) return false;
  errno = 0;
  char *end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return errno == 0 && end == s.c_str() + s.size() && std::isfinite(out);
}

}  // namespace

void initialize(Param &p, uint64_t seed, const std::string &baseDir) {
  auto fail = [&](const std::string &what) {
    throw Error(fmt::format("parameter '{}': {}", p.name, what));
  };
  if (!p.value.defined() || p.value.dtype() != DType::F32)
    fail("value must be an allocated f32 tensor before initialisation");

  const std::string spec = stripSpaces(p.init);
  float *out = p.value.f32();
  const int64_t n = p.value.size();
  const uint64_t stream = hashString(p.name);

  if (spec == "zeros" || spec == "ones") {
    float c = spec == "ones" ? 1.0f : 0.0f;
    for (int64_t i = 0; i < n; ++i) out[i] = c;
    return;
  }
  std::string fn;
  std::vector<std::string> args;
  if (!splitCall(spec, fn, args)) fail(fmt::format("unknown init '{}' ({})", p.init, kInitHelp));

  if (fn == "normal") {
    double std = 0;
    if (args.size() != 1 || !parseFloat(args[0], std) || std < 0)
      fail(fmt::format("bad init '{}': normal takes one non-negative standard deviation", p.init));
    for (int64_t i = 0; i < n; ++i) out[i] = (float)(std * normal(seed, stream, (uint64_t)i));
    return;
  }
  if (fn == "uniform") {
    double a = 0, b = 0;
    if (args.size() != 2 || !parseFloat(args[0], a) || !parseFloat(args[1], b) || b < a)
      fail(fmt::format("bad init '{}': uniform takes two bounds A <= B", p.init));
    for (int64_t i = 0; i < n; ++i)
      out[i] = (float)(a + (b - a) * (double)uniform01(seed, stream, (uint64_t)i));
    return;
  }
  if (fn == "load") {
    if (args.size() != 1 || args[0].empty())
      fail(fmt::format("bad init '{}': load takes one file name", p.init));
    std::string file = args[0];
    if (file.size() >= 2 && (file.front() == '"' || file.front() == '\'') && file.back() == file.front())
      file = file.substr(1, file.size() - 2);
    std::filesystem::path path(file);
    if (path.is_relative()) path = std::filesystem::path(baseDir) / path;
    Tensor t;
    try {
      t = readNpy(path.string());
    } catch (const Error &e) {
      fail(fmt::format("{}: {}", p.init, e.what()));
    }
    if (t.dtype() != DType::F32)
      fail(fmt::format("{} holds {} values; parameters are f32", p.init, dtypeName(t.dtype())));
    if (t.shape() != p.value.shape())
      fail(fmt::format("{} has shape {} but the parameter is {}", p.init, shapeToString(t.shape()),
                       shapeToString(p.value.shape())));
    p.value = t;
    return;
  }
  fail(fmt::format("unknown init '{}' ({})", p.init, kInitHelp));
}

Param &ParamStore::add(const std::string &name, const Shape &shape, const std::string &init,
                       bool frozen) {
  if (name.empty()) throw Error("ParamStore: empty parameter name");
  if (index_.count(name)) throw Error(fmt::format("ParamStore: duplicate parameter '{}'", name));
  Param p;
  p.name = name;
  p.value = Tensor(DType::F32, shape);
  p.frozen = frozen;
  p.init = init;
  index_.emplace(name, params_.size());
  params_.push_back(std::move(p));
  return params_.back();
}

Param *ParamStore::find(const std::string &name) {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &params_[it->second];
}
const Param *ParamStore::find(const std::string &name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &params_[it->second];
}
Param &ParamStore::get(const std::string &name) {
  if (Param *p = find(name)) return *p;
  throw Error(fmt::format("no parameter named '{}'", name));
}
const Param &ParamStore::get(const std::string &name) const {
  if (const Param *p = find(name)) return *p;
  throw Error(fmt::format("no parameter named '{}'", name));
}

void ParamStore::initializeAll(uint64_t seed, const std::string &baseDir) {
  for (Param &p : params_) initialize(p, seed, baseDir);
}

int64_t ParamStore::totalCount() const {
  int64_t n = 0;
  for (const Param &p : params_) n += p.value.size();
  return n;
}
int64_t ParamStore::trainableCount() const {
  int64_t n = 0;
  for (const Param &p : params_)
    if (!p.frozen) n += p.value.size();
  return n;
}

}  // namespace heed::rt

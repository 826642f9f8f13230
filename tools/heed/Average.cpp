//===- Average.cpp - `heed average`: checkpoint averaging -----------------===//
//
// The mean of the parameters of several checkpoints of one run (Vaswani et al.
// average the last 5 or 20 checkpoints of a run). The result is an ordinary
// checkpoint: the newest input's metadata (model source, vocabularies) and
// optimizer state, the averaged parameters, and `heed.averaged` listing the
// inputs. Written to OUT.safetensors, or as the latest checkpoint of run
// directory OUT, so that `heed eval OUT` / `heed generate OUT` read it.
//
//===----------------------------------------------------------------------===//

#include "tools/heed/Commands.h"

#include "runtime/Checkpoint.h"
#include "runtime/Error.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

namespace fs = std::filesystem;

namespace heed {
namespace {

/// The checkpoint files named by `inputs`: files as given; a run directory
/// contributes its newest `last` checkpoints (all with last = 0).
std::vector<std::string> checkpointFiles(const std::vector<std::string> &inputs, int64_t last) {
  std::vector<std::string> files;
  for (const std::string &in : inputs) {
    if (!fs::exists(in)) throw rt::Error("'" + in + "': no such checkpoint file or run directory");
    if (!fs::is_directory(in)) {
      files.push_back(in);
      continue;
    }
    std::vector<int64_t> steps = rt::checkpointSteps(in);
    if (steps.empty()) throw rt::Error("'" + in + "' has no ckpt-<step>.safetensors files");
    size_t from = last > 0 && (size_t)last < steps.size() ? steps.size() - (size_t)last : 0;
    for (size_t i = from; i < steps.size(); ++i)
      files.push_back((fs::path(in) / rt::checkpointFileName(steps[i])).string());
  }
  return files;
}

bool isParam(const std::string &name) { return name.rfind("param/", 0) == 0; }

}  // namespace

int runAverage(const AverageOptions &o) {
  std::vector<std::string> files = checkpointFiles(o.inputs, o.last);
  if (files.size() < 2)
    throw rt::Error(fmt::format("averaging needs at least 2 checkpoints, got {}", files.size()));
  std::vector<rt::Checkpoint> ckpts;
  for (const std::string &f : files) ckpts.push_back(rt::loadCheckpoint(f));

  // The newest (last) checkpoint decides the parameter set; every other must match it.
  const rt::Checkpoint &base = ckpts.back();
  auto modelOf = [](const rt::Checkpoint &c) {
    auto get = [&](const char *k) {
      auto it = c.metadata.find(k);
      return it == c.metadata.end() ? std::string() : it->second;
    };
    return get("heed.source_hash") + "|" + get("heed.overrides");
  };
  std::map<std::string, std::vector<double>> sums;
  for (const auto &[name, t] : base.tensors)
    if (isParam(name)) {
      if (t.dtype() != rt::DType::F32)
        throw rt::Error(fmt::format("{}: parameter tensor '{}' is {}, expected f32", base.path, name,
                                    rt::dtypeName(t.dtype())));
      sums[name].assign((size_t)t.size(), 0.0);
    }
  if (sums.empty()) throw rt::Error(base.path + ": no parameters (param/...) in this checkpoint");
  for (const rt::Checkpoint &c : ckpts) {
    if (modelOf(c) != modelOf(base))
      throw rt::Error(fmt::format("{} and {} were trained from different models (source or --set overrides differ)", c.path, base.path));
    size_t count = 0;
    for (const auto &[name, t] : c.tensors) {
      if (!isParam(name)) continue;
      auto it = sums.find(name);
      if (it == sums.end())
        throw rt::Error(fmt::format("{} has parameter '{}', which {} lacks", c.path, name.substr(6), base.path));
      const rt::Tensor &want = base.tensors.at(name);
      if (t.dtype() != rt::DType::F32 || t.shape() != want.shape())
        throw rt::Error(fmt::format("parameter '{}' is {}{} in {} but {}{} in {}", name.substr(6),
                                    rt::dtypeName(t.dtype()), rt::shapeToString(t.shape()), c.path,
                                    rt::dtypeName(want.dtype()), rt::shapeToString(want.shape()), base.path));
      const float *p = t.f32();
      std::vector<double> &s = it->second;
      for (size_t i = 0; i < s.size(); ++i) s[i] += p[i];
      ++count;
    }
    if (count != sums.size())
      throw rt::Error(fmt::format("{} has {} parameters but {} has {}", c.path, count, base.path, sums.size()));
  }

  // Averaged parameters, then the newest checkpoint's other tensors (optimizer state).
  std::map<std::string, rt::Tensor> averaged;
  for (auto &[name, s] : sums) {
    rt::Tensor t = rt::Tensor::uninitialized(rt::DType::F32, base.tensors.at(name).shape());
    for (size_t i = 0; i < s.size(); ++i) t.f32()[i] = (float)(s[i] / (double)ckpts.size());
    averaged[name] = t;
  }
  std::vector<std::pair<std::string, const rt::Tensor *>> out;
  for (const std::string &name : base.order)
    out.emplace_back(name, isParam(name) ? &averaged.at(name) : &base.tensors.at(name));
  std::map<std::string, std::string> meta = base.metadata;
  std::string list;
  for (const std::string &f : files) list += (list.empty() ? "" : ",") + fs::path(f).filename().string();
  meta["heed.averaged"] = list;

  std::string target = o.out;
  bool asFile = fs::path(target).extension() == ".safetensors";
  if (!asFile) {
    if (fs::exists(target) && !fs::is_directory(target))
      throw rt::Error("'" + target + "' exists and is not a directory");
    fs::create_directories(target);
    auto it = base.metadata.find("heed.step");
    std::string name = it != base.metadata.end() ? rt::checkpointFileName(std::stoll(it->second))
                                                 : fs::path(base.path).filename().string();
    target = (fs::path(o.out) / name).string();
  }
  rt::saveCheckpoint(target, out, meta);
  if (!asFile) rt::writeLatestMarker(o.out, fs::path(target).filename().string());
  std::printf("averaged %zu checkpoints (%zu parameters) into %s\n", ckpts.size(), sums.size(), target.c_str());
  for (const std::string &f : files) std::printf("  %s\n", f.c_str());
  return 0;
}

}  // namespace heed

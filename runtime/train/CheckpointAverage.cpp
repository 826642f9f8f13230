//===- CheckpointAverage.cpp - the mean of several checkpoints ------------===//

#include "runtime/train/CheckpointAverage.h"

#include "runtime/Checkpoint.h"
#include "runtime/Error.h"
#include "runtime/train/RunCheckpoint.h"
#include "runtime/train/RunDirectory.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <memory>

namespace fs = std::filesystem;

namespace heed::rt {

namespace {

/// The checkpoint files named by `inputs`: files as given; a run directory
/// contributes its newest `last` checkpoints (all with last = 0).
std::vector<std::string> checkpointFiles(const std::vector<std::string> &inputs, int64_t last) {
  std::vector<std::string> files;
  for (const std::string &in : inputs) {
    if (!fs::exists(in)) throw Error("'" + in + "': no such checkpoint file or run directory");
    if (!fs::is_directory(in)) {
      files.push_back(in);
      continue;
    }
    std::vector<int64_t> steps = checkpointSteps(in);
    if (steps.empty()) throw Error("'" + in + "' has no ckpt-<step>.safetensors files");
    size_t from = last > 0 && (size_t)last < steps.size() ? steps.size() - (size_t)last : 0;
    for (size_t i = from; i < steps.size(); ++i) files.push_back((fs::path(in) / checkpointFileName(steps[i])).string());
  }
  return files;
}

bool isParam(const std::string &name) { return name.rfind("param/", 0) == 0; }

bool samePath(const std::string &a, const std::string &b) {
  std::error_code ec;
  return fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec);
}

std::string metaOf(const Checkpoint &c, const char *key) {
  auto it = c.metadata.find(key);
  return it == c.metadata.end() ? std::string() : it->second;
}

}  // namespace

AverageResult averageCheckpoints(const AverageRequest &o) {
  AverageResult result;
  std::vector<std::string> &files = result.files;
  files = checkpointFiles(o.inputs, o.last);
  for (size_t i = 0; i < files.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (samePath(files[i], files[j]))
        throw Error(files[i] == files[j] ? "checkpoint '" + files[i] + "' is given twice"
                                         : "'" + files[j] + "' and '" + files[i] + "' are the same checkpoint");
  if (files.size() < 2) throw Error(fmt::format("averaging needs at least 2 checkpoints, got {}", files.size()));
  const bool asFile = fs::path(o.out).extension() == ".safetensors";
  for (const std::string &in : o.inputs)
    if (samePath(o.out, in))
      throw Error("the output '" + o.out + "' is one of the inputs: averaging would overwrite " +
                  (asFile ? "it" : "that run's checkpoints") + "; write to another file or directory");
  for (const std::string &f : files)
    if (samePath(o.out, f))
      throw Error("the output '" + o.out + "' is one of the inputs: averaging would overwrite it; write to "
                  "another file or directory");
  std::vector<Checkpoint> ckpts;
  for (const std::string &f : files) ckpts.push_back(loadCheckpoint(f));
  // A NaN or an infinity in one input would be in the mean: refuse it, as --resume does.
  for (const Checkpoint &c : ckpts)
    if (std::optional<std::string> bad = firstNonFinite(c))
      throw Error("checkpoint '" + c.path + "' is not finite: " + *bad +
                  " not finite; the mean would be too, so leave it out of the average");

  // The newest (last) checkpoint decides the parameter set; every other must match it.
  const Checkpoint &base = ckpts.back();
  auto modelOf = [](const Checkpoint &c) { return metaOf(c, "heed.source_hash") + "|" + metaOf(c, "heed.overrides"); };
  std::map<std::string, std::vector<double>> sums;
  for (const auto &[name, t] : base.tensors)
    if (isParam(name)) {
      if (t.dtype() != DType::F32)
        throw Error(fmt::format("{}: parameter tensor '{}' is {}, expected f32", base.path, name, dtypeName(t.dtype())));
      sums[name].assign((size_t)t.size(), 0.0);
    }
  if (sums.empty()) throw Error(base.path + ": no parameters (param/...) in this checkpoint");
  for (const Checkpoint &c : ckpts) {
    if (modelOf(c) != modelOf(base))
      throw Error(fmt::format("{} and {} were trained from different models (source or --set overrides differ)",
                              c.path, base.path));
    size_t count = 0;
    for (const auto &[name, t] : c.tensors) {
      if (!isParam(name)) continue;
      auto it = sums.find(name);
      if (it == sums.end())
        throw Error(fmt::format("{} has parameter '{}', which {} lacks", c.path, name.substr(6), base.path));
      const Tensor &want = base.tensors.at(name);
      if (t.dtype() != DType::F32 || t.shape() != want.shape())
        throw Error(fmt::format("parameter '{}' is {}{} in {} but {}{} in {}", name.substr(6), dtypeName(t.dtype()),
                                shapeToString(t.shape()), c.path, dtypeName(want.dtype()), shapeToString(want.shape()),
                                base.path));
      const float *p = t.f32();
      std::vector<double> &s = it->second;
      for (size_t i = 0; i < s.size(); ++i) s[i] += p[i];
      ++count;
    }
    if (count != sums.size())
      throw Error(fmt::format("{} has {} parameters but {} has {}", c.path, count, base.path, sums.size()));
  }

  // The averaged parameters only: the inputs' optimizer state belongs to their own steps.
  std::map<std::string, Tensor> averaged;
  for (auto &[name, s] : sums) {
    Tensor t = Tensor::uninitialized(DType::F32, base.tensors.at(name).shape());
    for (size_t i = 0; i < s.size(); ++i) t.f32()[i] = (float)(s[i] / (double)ckpts.size());
    averaged[name] = t;
  }
  std::vector<std::pair<std::string, const Tensor *>> out;
  for (const std::string &name : base.order)
    if (isParam(name)) out.emplace_back(name, &averaged.at(name));
  std::map<std::string, std::string> meta = base.metadata;
  std::string list;
  for (const std::string &f : files) list += (list.empty() ? "" : ",") + fs::path(f).filename().string();
  meta["heed.averaged"] = list;
  result.parameters = sums.size();

  if (asFile) {
    saveCheckpoint(o.out, out, meta);
    result.target = o.out;
    return result;
  }
  std::string name = fs::path(base.path).filename().string();
  if (base.metadata.count("heed.step")) name = checkpointFileName(metadataInt(base, "heed.step", 0));
  RunDirectory dir(o.out);  // locked: not while a run writes there
  for (const std::string &f : files)
    if (samePath(dir.file(name), f))
      throw Error("the output '" + dir.file(name) + "' is one of the inputs: averaging would overwrite it; write to "
                  "another file or directory");
  result.target = dir.saveCheckpoint(name, out, meta);
  return result;
}

}  // namespace heed::rt

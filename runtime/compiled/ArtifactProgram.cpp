//===- ArtifactProgram.cpp ------------------------------------------------===//

#include "runtime/compiled/ArtifactProgram.h"

#include "runtime/native/Bf16.h"

#include "runtime/AtomicFile.h"
#include "runtime/Error.h"
#include "runtime/MemoryBudget.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <dlfcn.h>
#include <filesystem>

namespace fs = std::filesystem;

namespace heed::rt {

namespace {
/// The artifact's memory to train: parameters, Adam's moments and the largest
/// planned live set (plan.peakBytes counts the parameters a step reads too: an
/// over-estimate by at most their size) plus the entry's inputs.
MemoryNeed artifactNeed(const Manifest &m) {
  MemoryNeed need = parameterNeed(m.params, /*training=*/true);
  const TensorNeed largestParam = need.largest;
  for (const auto &[name, plan] : m.plans) {
    int64_t bytes = plan.peakBytes;
    for (int v : plan.inputs) bytes += plan.values[v].bytes();
    if (bytes <= need.activationBytes) continue;
    need.activationBytes = bytes;
    need.activationEntry = name;
    need.largest = largestParam;
    std::vector<char> isParam(plan.values.size(), 0);
    for (const PlanStep &s : plan.steps)
      if (s.kind == PlanStep::Kind::Library && s.op.kind == LibraryOp::Kind::Param)
        for (int v : s.outputs) isParam[v] = 1;
    for (size_t v = 0; v < plan.values.size(); ++v)
      if (!isParam[v])
        need.consider({"a value of " + name, plan.values[v].dtype, plan.values[v].shape});
  }
  return need;
}
}  // namespace

bool isArtifactDir(const std::string &path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_regular_file(fs::path(path) / "manifest.json", ec);
}

std::unique_ptr<ArtifactProgram> ArtifactProgram::load(const std::string &dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("'" + dir + "' is not a compiled artifact directory");
  std::string file = (fs::path(dir) / "manifest.json").string();
  if (!fs::is_regular_file(file, ec))
    throw Error("'" + dir + "' is not a compiled artifact: it has no manifest.json (write one with heed compile)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(readWholeFile(file, "manifest"));
  } catch (const nlohmann::json::exception &e) {
    throw Error("'" + file + "' is corrupt: " + e.what());
  }
  std::unique_ptr<ArtifactProgram> p(new ArtifactProgram());
  p->dir_ = dir;
  p->manifest_ = manifestFromJson(j, file);

  std::string lib = (fs::path(dir) / p->manifest_.kernelLibrary).string();
  if (!fs::is_regular_file(lib, ec)) throw Error("'" + file + "' names the kernel library '" + lib + "', which does not exist");
  if (p->manifest_.info.precision == Precision::BF16)
    native::requireBf16Cpu("the artifact '" + dir + "', compiled at bf16 precision,");
  checkMemory(artifactNeed(p->manifest_), availableMemory(), p->manifest_.info, "train");
  verifyKernelLibrary(p->manifest_, lib);  // before dlopen: a damaged library crashes the loader
  p->handle_ = dlopen(fs::absolute(lib).c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!p->handle_) throw Error("cannot load the kernel library '" + lib + "': " + dlerror());
  std::string missing;
  int nMissing = 0;
  for (auto &[name, plan] : p->manifest_.plans)
    for (PlanStep &s : plan.steps) {
      if (s.kind != PlanStep::Kind::Kernel) continue;
      std::string sym = s.kernel + "_packed";
      s.fn = reinterpret_cast<PackedKernelFn>(dlsym(p->handle_, sym.c_str()));
      if (!s.fn && nMissing++ < 5) missing += (missing.empty() ? "" : ", ") + sym;
    }
  if (nMissing)
    throw Error("the kernel library '" + lib + "' lacks " + std::to_string(nMissing) +
                " kernel symbol(s) the manifest needs: " + missing + (nMissing > 5 ? ", ..." : ""));
  p->profiling_ = std::getenv("HEED_PROFILE") != nullptr;
  return p;
}

ArtifactProgram::~ArtifactProgram() {
  if (profiling_) printProfile(profile_, "compiled artifact");
  if (handle_) dlclose(handle_);
}

const EntrySpec *ArtifactProgram::entry(const std::string &name) const {
  for (const EntrySpec &e : manifest_.entries)
    if (e.name == name) return &e;
  return nullptr;
}

std::vector<Tensor> ArtifactProgram::run(const std::string &entry, const std::vector<Tensor> &inputs,
                                         RunContext &ctx) {
  auto it = manifest_.plans.find(entry);
  if (it == manifest_.plans.end()) throw Error("the model has no entry point '" + entry + "'");
  return execute(it->second, inputs, ctx, profiling_ ? &profile_ : nullptr);
}

}  // namespace heed::rt

//===- Manifest.cpp -------------------------------------------------------===//

#include "runtime/compiled/Manifest.h"

#include "runtime/AtomicFile.h"
#include "runtime/Error.h"
#include "runtime/Sha256.h"

#include <nlohmann/json.hpp>

namespace heed::rt {
namespace {

using json = nlohmann::json;

json specToJson(const TensorSpec &s) {
  return {{"name", s.name},
          {"dtype", dtypeName(s.dtype)},
          {"shape", s.shape},
          {"dims", s.dims},
          {"id_limit", s.idLimit}};
}

TensorSpec specFromJson(const json &j) {
  TensorSpec s;
  s.name = j.at("name").get<std::string>();
  s.dtype = dtypeFromName(j.at("dtype").get<std::string>());
  s.shape = j.at("shape").get<Shape>();
  s.dims = j.value("dims", std::vector<std::string>());
  s.idLimit = j.value("id_limit", (int64_t)0);
  return s;
}

}  // namespace

json manifestToJson(const Manifest &m) {
  json j;
  j["format"] = "heed-artifact";
  j["version"] = m.version;
  j["model"] = {{"name", m.info.name},
                {"source_path", m.info.sourcePath},
                {"source", m.info.source},
                {"config", m.info.config},
                {"train", m.info.train},
                {"overrides", m.info.overrides},
                {"precision", precisionName(m.info.precision)}};
  j["target"] = {{"triple", m.targetTriple}, {"cpu", m.targetCpu}};
  j["kernels"] = {{"library", m.kernelLibrary},
                  {"library_bytes", m.kernelLibraryBytes},
                  {"library_sha256", m.kernelLibrarySha256},
                  {"object", m.kernelObject},
                  {"symbols", m.kernelSymbols}};
  json params = json::array();
  for (const ParamSpec &p : m.params)
    params.push_back({{"name", p.name}, {"shape", p.shape}, {"init", p.init}, {"frozen", p.frozen}});
  j["params"] = params;
  json entries = json::array();
  for (const EntrySpec &e : m.entries) {
    json je;
    je["name"] = e.name;
    je["inputs"] = json::array();
    for (const TensorSpec &s : e.inputs) je["inputs"].push_back(specToJson(s));
    je["outputs"] = json::array();
    for (const TensorSpec &s : e.outputs) je["outputs"].push_back(specToJson(s));
    je["loss_index"] = e.lossIndex;
    auto plan = m.plans.find(e.name);
    if (plan != m.plans.end()) je["schedule"] = toJson(plan->second);
    entries.push_back(je);
  }
  j["entries"] = entries;
  j["stats"] = {{"compile_seconds", m.compileSeconds}};
  return j;
}

Manifest manifestFromJson(const json &j, const std::string &file) {
  if (!j.is_object() || j.value("format", std::string()) != "heed-artifact")
    throw Error("'" + file + "' is not a heed artifact manifest (no \"format\": \"heed-artifact\")");
  Manifest m;
  if (!j.contains("version") || !j["version"].is_number_integer())
    throw Error("'" + file + "': the manifest has no format version");
  m.version = j["version"].get<int>();
  if (m.version != kArtifactVersion)
    throw Error("'" + file + "' has artifact format version " + std::to_string(m.version) +
                ", but this heed reads version " + std::to_string(kArtifactVersion) +
                ": recompile the model with this heed (heed compile)");
  try {
    const json &model = j.at("model");
    m.info.name = model.at("name").get<std::string>();
    m.info.sourcePath = model.value("source_path", std::string());
    m.info.source = model.value("source", std::string());
    m.info.config = model.value("config", std::map<std::string, double>());
    m.info.train = model.value("train", std::map<std::string, std::string>());
    m.info.overrides = model.value("overrides", std::map<std::string, std::string>());
    const std::string precision = model.value("precision", std::string("fp32"));
    if (std::optional<Precision> pr = parsePrecision(precision)) m.info.precision = *pr;
    else throw Error("'" + file + "': unknown precision '" + precision + "' (fp32 or bf16)");
    if (j.contains("target")) {
      m.targetTriple = j["target"].value("triple", std::string());
      m.targetCpu = j["target"].value("cpu", std::string());
    }
    const json &k = j.at("kernels");
    m.kernelLibrary = k.at("library").get<std::string>();
    m.kernelLibraryBytes = k.at("library_bytes").get<int64_t>();
    m.kernelLibrarySha256 = k.at("library_sha256").get<std::string>();
    m.kernelObject = k.value("object", std::string());
    m.kernelSymbols = k.value("symbols", std::vector<std::string>());
    for (const json &p : j.at("params"))
      m.params.push_back({p.at("name").get<std::string>(), p.at("shape").get<Shape>(),
                          p.value("init", std::string()), p.value("frozen", false)});
    for (const json &je : j.at("entries")) {
      EntrySpec e;
      e.name = je.at("name").get<std::string>();
      for (const json &s : je.at("inputs")) e.inputs.push_back(specFromJson(s));
      for (const json &s : je.at("outputs")) e.outputs.push_back(specFromJson(s));
      e.lossIndex = je.value("loss_index", -1);
      Plan plan = planFromJson(je.at("schedule"));
      if (plan.inputs.size() != e.inputs.size() || plan.outputs.size() != e.outputs.size())
        throw Error("entry '" + e.name + "': its schedule's inputs/outputs do not match the entry's");
      for (size_t i = 0; i < e.inputs.size(); ++i)
        if (plan.values[plan.inputs[i]].shape != e.inputs[i].shape ||
            plan.values[plan.inputs[i]].dtype != e.inputs[i].dtype)
          throw Error("entry '" + e.name + "': input '" + e.inputs[i].name +
                      "' differs from its schedule's value");
      m.plans[e.name] = std::move(plan);
      m.entries.push_back(std::move(e));
    }
    if (j.contains("stats")) m.compileSeconds = j["stats"].value("compile_seconds", 0.0);
  } catch (const json::exception &e) {
    throw Error("'" + file + "': malformed manifest: " + e.what());
  } catch (const Error &e) {
    throw Error("'" + file + "': malformed manifest: " + e.what());
  }
  return m;
}

void recordKernelLibrary(Manifest &m, const std::string &library) {
  std::string bytes = readWholeFile(library, "kernel library");
  m.kernelLibraryBytes = (int64_t)bytes.size();
  m.kernelLibrarySha256 = sha256Hex(bytes);
}

void verifyKernelLibrary(const Manifest &m, const std::string &library) {
  std::string bytes = readWholeFile(library, "kernel library");
  const char *fix = ": the file is truncated or corrupt; recompile the model (heed compile)";
  if ((int64_t)bytes.size() != m.kernelLibraryBytes)
    throw Error("the kernel library '" + library + "' has " + std::to_string(bytes.size()) +
                " bytes, but the manifest recorded " + std::to_string(m.kernelLibraryBytes) + fix);
  std::string digest = sha256Hex(bytes);
  if (digest != m.kernelLibrarySha256)
    throw Error("the kernel library '" + library + "' has SHA-256 " + digest + ", but the manifest recorded " +
                m.kernelLibrarySha256 + fix);
}

}  // namespace heed::rt

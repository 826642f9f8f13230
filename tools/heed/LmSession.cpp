//===- LmSession.cpp - shared pieces of train / eval / generate -----------===//

#include "tools/heed/LmSession.h"

#include "compiler/interp/InterpretedProgram.h"
#include "runtime/AtomicFile.h"
#include "runtime/Error.h"
#include "runtime/Random.h"
#include "compiler/compiled/CompiledProgram.h"
#include "runtime/compiled/ArtifactProgram.h"
#include "runtime/native/Native.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

namespace fs = std::filesystem;

namespace heed {

namespace {

std::string joinNames(const std::vector<const rt::TensorSpec *> &v) {
  std::string s;
  for (const rt::TensorSpec *t : v) s += (s.empty() ? "" : ", ") + t->name;
  return s;
}

}  // namespace

LmLayout lmLayout(const rt::Program &program, const std::string &what) {
  const std::string model = "model '" + program.info().name + "'";
  const rt::EntrySpec *train = program.entry("train_step");
  const rt::EntrySpec *forward = program.entry("forward");
  if (!train || !program.entry("eval"))
    throw rt::Error(model + " has no 'minimize': " + what + " needs a loss to minimize");
  if (!forward) throw rt::Error(model + " has no forward entry point");

  std::vector<const rt::TensorSpec *> ids, other;
  for (const rt::TensorSpec &s : train->inputs) (s.dtype == rt::DType::I32 ? ids : other).push_back(&s);
  const std::string notLm =
      ": --data text files train decoder-only byte-level language models, which take two i32 "
      "[batch, seq] inputs (tokens and targets); encoder-decoders need inputs src, tgt_in and tgt_out "
      "and source<TAB>target data";
  if (ids.size() != 2 || !other.empty()) {
    std::string have = std::to_string(ids.size()) + " i32 input(s) (" + joinNames(ids) + ")";
    if (!other.empty()) have += " and other inputs (" + joinNames(other) + ")";
    throw rt::Error(model + " has " + have + notLm);
  }
  auto usedByForward = [&](const rt::TensorSpec *s) { return forward->find(s->name) >= 0; };
  const rt::TensorSpec *tok = nullptr, *tgt = nullptr;
  if (usedByForward(ids[0]) != usedByForward(ids[1])) {
    tok = usedByForward(ids[0]) ? ids[0] : ids[1];
    tgt = tok == ids[0] ? ids[1] : ids[0];
  } else {
    for (const rt::TensorSpec *s : ids) {
      if (s->name == "tokens") tok = s;
      if (s->name == "targets") tgt = s;
    }
    if (!tok || !tgt)
      throw rt::Error(model + ": cannot tell which of its inputs (" + joinNames(ids) +
                      ") are the tokens and which the targets; name them 'tokens' and 'targets'");
  }
  if (tok->shape.size() != 2 || tok->shape != tgt->shape)
    throw rt::Error(model + ": inputs '" + tok->name + "' " + rt::shapeToString(tok->shape) +
                    " and '" + tgt->name + "' " + rt::shapeToString(tgt->shape) +
                    " must both be [batch, seq]" + notLm);
  for (const rt::TensorSpec &s : forward->inputs)
    if (s.name != tok->name)
      throw rt::Error(model + ": its forward pass needs input '" + s.name + "' besides '" +
                      tok->name + "'" + notLm);

  LmLayout l;
  l.tokens = tok->name;
  l.targets = tgt->name;
  l.batch = tok->shape[0];
  l.seq = tok->shape[1];
  for (int64_t lim : {tok->idLimit, tgt->idLimit})
    if (lim > 0) l.vocab = l.vocab == 0 ? lim : std::min(l.vocab, lim);
  if (l.vocab > 0 && l.vocab < 256)
    throw rt::Error(model + " has a vocabulary of " + std::to_string(l.vocab) +
                    " ids, but byte data has ids up to 255: it needs vocab >= 256 (e.g. --set vocab=256)");
  for (size_t i = 0; i < forward->outputs.size(); ++i) {
    const rt::TensorSpec &o = forward->outputs[i];
    if (o.dtype != rt::DType::F32 || o.shape.size() != 3 || o.shape[0] != l.batch ||
        o.shape[1] != l.seq || o.shape[2] < 256)
      continue;
    if (l.logitsIndex < 0 || o.name == "logits") l.logitsIndex = (int)i;
  }
  l.trainLossIndex = trainLossIndex(*train, model);
  return l;
}

/// A directory written by `heed compile`: its compiled batch and --set values are fixed.
static std::unique_ptr<rt::Program> loadArtifact(const std::string &dir,
                                                 const std::map<std::string, std::string> &overrides,
                                                 std::optional<int64_t> batch) {
  std::unique_ptr<rt::ArtifactProgram> p = rt::ArtifactProgram::load(dir);
  const rt::ModelInfo &info = p->info();
  auto b = info.config.find("batch");
  if (batch && b != info.config.end() && (int64_t)b->second != *batch)
    throw rt::Error("'" + dir + "' was compiled for batch " + std::to_string((int64_t)b->second) +
                    ", not " + std::to_string(*batch) + ": pass --batch " +
                    std::to_string((int64_t)b->second) + " or recompile it with heed compile --batch " +
                    std::to_string(*batch));
  if (!overrides.empty() && overrides != info.overrides)
    throw rt::Error("'" + dir + "' is a compiled artifact (compiled with --set " +
                    overridesToJson(info.overrides) + "): --set cannot change it; recompile it with "
                    "heed compile --set ...");
  return p;
}

std::unique_ptr<rt::Program> buildProgram(const std::string &modelPath,
                                          const std::map<std::string, std::string> &overrides,
                                          std::optional<int64_t> batch, bool fromCheckpoint) {
  if (fs::is_directory(modelPath)) return loadArtifact(modelPath, overrides, batch);
  ImportOptions opts;
  opts.overrides = overrides;
  opts.batch = batch;
  // Rebuilt from a checkpoint to evaluate or decode: its parameters come from the
  // checkpoint (no load() files), and it does not train (memory check).
  opts.checkInitFiles = opts.training = !fromCheckpoint;
  std::unique_ptr<rt::Program> p = heed::buildProgram(backendName(), modelPath, opts);
  if (!p) throw ReportedError{};
  return p;
}

int reportErrors(const std::function<int()> &body) {
  try {
    return body();
  } catch (const ReportedError &) {
    return 1;
  } catch (const std::exception &e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

int trainLossIndex(const rt::EntrySpec &train, const std::string &model) {
  if (train.lossIndex < 0) throw rt::Error(model + ": train_step returns no loss");
  return train.lossIndex;
}

std::string &backendName() {
  static std::string name = "compiled";
  return name;
}

const rt::UpdateKernels *updateKernelsFor(const std::string &modelPath) {
  static const rt::UpdateKernels native = [] {
    rt::UpdateKernels k;
    k.adam = rt::native::adam;
    k.sumSquares = rt::native::sumSquares;
    k.scale = rt::native::scale;
    return k;
  }();
  if (rt::isArtifactDir(modelPath) || backendName() == "compiled") return &native;
  return nullptr;
}

std::string RunCheckpoint::meta(const std::string &key, const std::string &fallback) const {
  auto it = ckpt.metadata.find(key);
  return it == ckpt.metadata.end() ? fallback : it->second;
}

RunCheckpoint readRunCheckpoint(const std::string &fileOrDir) {
  RunCheckpoint rc;
  rc.path = rt::resolveCheckpointPath(fileOrDir);
  rc.ckpt = rt::loadCheckpoint(rc.path);
  rt::checkRunFormat(rc.ckpt);
  rc.source = rc.meta("heed.model_source");
  if (rc.source.empty())
    throw rt::Error("checkpoint '" + rc.path +
                    "' was not written by heed train: its metadata holds no model source");
  rc.modelName = rc.meta("heed.model_name", "model");
  rc.modelFile = rc.meta("heed.model_file", rc.modelName + ".heed");
  try {
    rc.overrides = overridesFromJson(rc.meta("heed.overrides", "{}"));
  } catch (const std::exception &) {
    throw rt::Error("checkpoint '" + rc.path + "': its metadata 'heed.overrides' is not a JSON object");
  }
  return rc;
}

std::unique_ptr<rt::Program> buildFromCheckpoint(const RunCheckpoint &rc, int64_t batch) {
  // The compiler reads models from files: write the stored source to a private
  // temporary directory under the original file name (so diagnostics name it).
  std::string base = fs::temp_directory_path().string() + "/heed-model-XXXXXX";
  std::vector<char> tmpl(base.begin(), base.end());
  tmpl.push_back('\0');
  if (!mkdtemp(tmpl.data())) throw rt::Error("cannot create a temporary directory in " + fs::temp_directory_path().string());
  std::string dir = tmpl.data();
  std::string name = fs::path(rc.modelFile).filename().string();
  if (name.empty() || name == "." || name == "..") name = "model.heed";
  std::string file = dir + "/" + name;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  rt::writeFileAtomic(file, rc.source);
  try {
    return buildProgram(file, rc.overrides, batch, /*fromCheckpoint=*/true);
  } catch (const ReportedError &) {
    std::fprintf(stderr, "error: cannot rebuild the model stored in checkpoint '%s'\n", rc.path.c_str());
    throw;
  }
}

rt::ParamStore emptyParams(const rt::Program &program) {
  rt::ParamStore store;
  for (const rt::ParamSpec &p : program.params()) store.add(p.name, p.shape, p.init, p.frozen);
  return store;
}

std::string overridesToJson(const std::map<std::string, std::string> &o) {
  nlohmann::json j = nlohmann::json::object();
  for (auto &[k, v] : o) j[k] = v;
  return j.dump();
}

std::map<std::string, std::string> overridesFromJson(const std::string &text) {
  nlohmann::json j = nlohmann::json::parse(text);
  if (!j.is_object()) throw std::runtime_error("not an object");
  std::map<std::string, std::string> o;
  for (auto &[k, v] : j.items()) o[k] = v.get<std::string>();
  return o;
}

std::string sourceHash(const std::string &source) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)rt::hashString(source));
  return buf;
}

EvalResult evaluate(rt::Program &program, const LmLayout &layout, rt::ParamStore &params,
                    const rt::ByteDataset &data, int64_t maxBatches) {
  const int64_t B = layout.batch, S = layout.seq;
  data.checkWindow(S);
  int64_t windows = data.evalWindows(S);
  int64_t batches = (windows + B - 1) / B;
  if (maxBatches > 0) batches = std::min(batches, maxBatches);

  rt::RunContext ctx;
  ctx.params = &params;
  ctx.training = false;
  const bool viaLogits = layout.logitsIndex >= 0;
  const rt::EntrySpec &entry = *program.entry(viaLogits ? "forward" : "eval");
  double total = 0;
  int64_t tokens = 0;
  rt::Tensor tok, tgt;
  for (int64_t b = 0; b < batches; ++b) {
    int64_t real = data.evalBatch(b * B, B, S, tok, tgt);
    std::vector<rt::Tensor> in;
    for (const rt::TensorSpec &s : entry.inputs) in.push_back(s.name == layout.tokens ? tok : tgt);
    std::vector<rt::Tensor> out = program.run(entry.name, in, ctx);
    if (viaLogits) {
      const rt::Tensor &logits = out.at(layout.logitsIndex);
      const int64_t V = logits.dim(2);
      const float *L = logits.f32();
      const int32_t *T = tgt.i32();
      for (int64_t r = 0; r < real; ++r)
        for (int64_t t = 0; t < S; ++t) {
          const float *row = L + (r * S + t) * V;
          double mx = row[0];
          for (int64_t v = 1; v < V; ++v) mx = std::max(mx, (double)row[v]);
          double sum = 0;
          for (int64_t v = 0; v < V; ++v) sum += std::exp((double)row[v] - mx);
          total += mx + std::log(sum) - (double)row[T[r * S + t]];
        }
      tokens += real * S;
    } else {
      // The eval loss is a mean over the whole batch, padding rows included:
      // weight it by the real rows (exact for full batches).
      const rt::Tensor &loss = out.at(entry.lossIndex >= 0 ? entry.lossIndex : 0);
      total += (double)loss.f32()[0] * (double)(real * S);
      tokens += real * S;
    }
  }
  EvalResult r;
  r.tokens = tokens;
  r.loss = tokens > 0 ? total / (double)tokens : NAN;
  return r;
}

std::string formatCount(double n) {
  char buf[32];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.2fG", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else if (n >= 1e4) std::snprintf(buf, sizeof buf, "%.1fk", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

std::string formatBytes(int64_t n) {
  char buf[32];
  if (n >= (1 << 20)) std::snprintf(buf, sizeof buf, "%.1f MB", n / 1048576.0);
  else if (n >= 1024) std::snprintf(buf, sizeof buf, "%.1f KB", n / 1024.0);
  else std::snprintf(buf, sizeof buf, "%lld B", (long long)n);
  return buf;
}

}  // namespace heed

//===- CheckParams.cpp - `heed check` and `heed params` -------------------===//

#include "tools/heed/Commands.h"
#include "compiler/ModelLoader.h"
#include "compiler/ModelSettings.h"
#include "compiler/export/ModelSignature.h"
#include "runtime/Error.h"
#include "runtime/seq2seq/Seq2SeqRunner.h"
#include "runtime/train/RunSettings.h"

#include "ops/HeedDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

using namespace mlir;

namespace heed {

/// Loads the model, or returns an exit code (1) after errors were printed.
static bool loadModel(const ModelArgs &m, ModelLoader &loader, LoadedModel &out) {
  ImportOptions opts;
  if (!parseOverrides(m.sets, opts)) return false;
  if (m.batch > 0) opts.batch = m.batch;
  out = loader.load(m.path, opts);
  return (bool)out.module;
}

/// Shared by check/params/emit: `--verify-diagnostics` turns the run into a test of the
/// `# expected-error` annotations in the model file.
int finishVerify(ModelLoader &loader) {
  if (loader.verified()) return 0;
  return 1;
}

struct ParamInfo {
  std::string name, init;
  std::vector<int64_t> shape;
  std::vector<std::string> dims;
  int64_t count;
  bool frozen;
};

static std::vector<ParamInfo> collectParams(ModuleOp module) {
  std::vector<ParamInfo> out;
  module.walk([&](ParamOp p) {
    ParamInfo info;
    info.name = p.getName().str();
    info.init = p.getInit().str();
    info.frozen = p.getFrozen();
    auto shape = p.getType().getShape();
    info.shape.assign(shape.begin(), shape.end());
    info.count = 1;
    for (int64_t d : shape) info.count *= d;
    out.push_back(info);
  });
  return out;
}

static std::string shapeStr(const std::vector<int64_t> &s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

static std::string withThousands(int64_t n) {
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

/// Where to point a train-block error: at the value of the setting it names
/// ("train setting 'clip'"), else at the setting whose value it quotes
/// ("unknown optimizer 'lion'"), else at the block's first setting (a
/// combination, "the batch of 16 does not split into 3 micro-batches").
static llvm::SMLoc blamedTrainSetting(const std::vector<ast::Assign> &train, const std::string &message) {
  for (const ast::Assign &a : train)
    if (message.find("train setting '" + a.name + "'") != std::string::npos) return a.value->loc;
  for (const ast::Assign &a : train)
    if (!a.value->text.empty() && message.find("'" + a.value->text + "'") != std::string::npos)
      return a.value->loc;
  return train.empty() ? llvm::SMLoc() : train.front().loc;
}

int runCheck(const ModelArgs &m, bool json) {
  ModelLoader loader(m.verifyDiagnostics);
  LoadedModel model;
  bool ok = loadModel(m, loader, model);
  if (m.verifyDiagnostics) return finishVerify(loader);
  if (!ok) return 1;
  ModuleOp mod = *model.module;
  ModelSignature sig = signatureOf(mod);
  // The train block's values as heed train reads them (a bad value fails here, not minutes into a run).
  try {
    rt::checkTrainBlock(trainBlockOf(mod), modelConfigOf(mod), sig.model, rt::hasSeq2SeqInputs(sig.inputs));
  } catch (const rt::Error &e) {
    loader.sourceMgr().PrintMessage(llvm::errs(), blamedTrainSetting(model.ast->train, e.what()),
                                    llvm::SourceMgr::DK_Error, e.what());
    return 1;
  }
  auto fn = mod.lookupSymbol<func::FuncOp>("forward");
  int64_t ops = 0, layers = 0;
  fn.walk([&](Operation *op) {
    if (isa<HeedDialect>(op->getDialect()) && !isa<ParamOp>(op)) ++ops;
    if (isa<EmbeddingOp, PositionalEncodingOp, LinearOp, FeedForwardOp, AttentionOp, LayerNormOp>(op))
      ++layers;
  });
  std::vector<ParamInfo> params = collectParams(mod);
  int64_t total = 0;
  for (auto &p : params) total += p.count;
  bool trainable = false;
  for (unsigned i = 0; i < fn.getNumResults(); ++i)
    if (fn.getResultAttr(i, "heed.loss")) trainable = true;
  int64_t batch = cast<IntegerAttr>(cast<DictionaryAttr>(mod->getAttr("heed.config")).get("batch")).getInt();
  if (json) {
    auto tensors = [](const std::vector<rt::TensorSpec> &specs) {
      nlohmann::ordered_json a = nlohmann::ordered_json::array();
      for (const rt::TensorSpec &s : specs)
        a.push_back({{"name", s.name}, {"shape", s.shape}, {"dtype", languageDtypeName(s.dtype)}, {"dims", s.dims}});
      return a;
    };
    nlohmann::ordered_json out = {{"file", m.path},
                          {"ok", true},
                          {"model", sig.model},
                          {"batch", batch},
                          {"inputs", tensors(sig.inputs)},
                          {"outputs", tensors(sig.outputs)},
                          {"loss", sig.loss.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(sig.loss)},
                          {"parameter_tensors", params.size()},
                          {"parameter_values", total},
                          {"ops", ops},
                          {"layers", layers}};
    llvm::outs() << out.dump(2) << "\n";
    return 0;
  }
  llvm::outs() << llvm::formatv("{0}: ok: model {1}, {2} inputs, {3} outputs, {4} parameter tensors "
                                "({5} values), {6} ops ({7} layers), batch {8}, {9}\n",
                                m.path, mod->getAttrOfType<StringAttr>("heed.model").getValue(),
                                fn.getNumArguments(), fn.getNumResults() - (trainable ? 1 : 0),
                                params.size(), withThousands(total), ops, layers, batch,
                                trainable ? "trainable (minimize)" : "inference only");
  return 0;
}

/// The model's `train { precision }`, or fp32 (what `heed train` compiles unless --precision says otherwise).
static std::string trainPrecision(ModuleOp mod) {
  if (auto train = mod->getAttrOfType<DictionaryAttr>("heed.train"))
    if (auto p = train.getAs<StringAttr>("precision")) return p.str();
  return "fp32";
}

int runParams(const ModelArgs &m, bool json) {
  ModelLoader loader(m.verifyDiagnostics);
  LoadedModel model;
  bool ok = loadModel(m, loader, model);
  if (m.verifyDiagnostics) return finishVerify(loader);
  if (!ok) return 1;
  std::vector<ParamInfo> params = collectParams(*model.module);
  int64_t total = 0;
  for (auto &p : params) total += p.count;
  if (json) {
    nlohmann::json out = nlohmann::json::object();
    out["model"] = model.module->getOperation()->getAttrOfType<StringAttr>("heed.model").str();
    out["total"] = total;
    out["precision"] = trainPrecision(*model.module);
    out["params"] = nlohmann::json::array();
    for (auto &p : params)
      out["params"].push_back({{"name", p.name}, {"shape", p.shape}, {"count", p.count},
                               {"init", p.init}, {"frozen", p.frozen}});
    llvm::outs() << out.dump(2) << "\n";
    return 0;
  }
  size_t w = 4;
  for (auto &p : params) w = std::max(w, p.name.size());
  auto row = [&](const std::string &name, const std::string &shape, const std::string &count,
                 const std::string &init) {
    llvm::outs() << llvm::left_justify(name, w) << "  " << llvm::left_justify(shape, 14) << " "
                 << llvm::right_justify(count, 12) << "  " << init << "\n";
  };
  row("name", "shape", "count", "init");
  for (auto &p : params)
    row(p.name, shapeStr(p.shape), withThousands(p.count), p.init + (p.frozen ? " (frozen)" : ""));
  llvm::outs() << llvm::formatv("{0} parameter tensors, {1} values ({2:f2} MiB as f32)\n",
                                params.size(), withThousands(total), total * 4.0 / (1 << 20));
  // Master weights are f32 at either precision; bf16 only changes the matmul inputs.
  llvm::outs() << "precision: " << trainPrecision(*model.module) << " (matmuls; weights are stored as f32)\n";
  return 0;
}

}  // namespace heed
